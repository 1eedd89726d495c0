//! One instance's enforcement data, in memory: keys by hash, consumers with their groups and
//! direct grants, groups with theirs, and per environment the model APIs by base path. Built
//! from plain rows (so it can be tested and measured without a database) and then only read.
//! Expiry is kept as a time and compared with the clock at each decision.

use super::limits::{self, Admission, Limit};
use super::quotas::{Quota, QuotaVerdict};
use super::trace::{GrantSeen, Names, Trace, Verdict};
use crate::domain::authorization::{ends_at, ExpireMode};
use crate::domain::credentials::HmacAlgorithm;
use crate::domain::request_path::prefixes;
use crate::store::snapshot::{
    ConsumerSlice, GroupSlice, HmacCredential, JwtCredential, JwtKey, KeyRow, Patch, RuleRow,
    SnapshotRows,
};
use sha2::Digest as _;
use smallvec::SmallVec;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Maps keyed by IDs and paths: foldhash (seeded per process) instead of SipHash, several
/// times faster on short keys, which a full load of a million keys hashes millions of times.
type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The key map is keyed by SHA-256 values, already uniformly spread: their first eight bytes
/// are the hash. (They are the hashes of stored keys; a client cannot choose them.)
type KeyMap = HashMap<[u8; 32], KeyEntry, BuildHasherDefault<FirstBytes>>;

#[derive(Default)]
struct FirstBytes(u64);

impl Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // `[u8; 32]` hashes as its length, then its bytes: the bytes are the longer write.
        if bytes.len() >= 8 {
            let mut first = [0u8; 8];
            first.copy_from_slice(&bytes[..8]);
            self.0 = u64::from_le_bytes(first);
        }
    }

    fn write_usize(&mut self, _: usize) {}
}

/// Above this many rows, the rows a full load is done with are freed on a thread of their
/// own (millions of small strings take a while to free, and the check is waiting).
const FREE_APART: usize = 50_000;

/// "Never expires".
const NEVER: i64 = i64::MAX;

#[derive(Debug, Clone, Copy, Default)]
struct KeyEntry {
    consumer: u32,
    /// Where the key's ID is in the snapshot's `key_ids`.
    key: u32,
    enabled: bool,
    expires_at: i64,
}

/// An HMAC credential, by its access key ID in `Snapshot::hmac`.
#[derive(Debug)]
struct HmacEntry {
    consumer: u32,
    /// Where the credential's ID is in the snapshot's `key_ids`.
    id: u32,
    enabled: bool,
    algorithm: HmacAlgorithm,
    clock_skew_secs: i64,
    secret: Box<[u8]>,
    /// During a rotation's grace period: the previous secret and when it stops (ms).
    previous: Option<(Box<[u8]>, i64)>,
}

/// A JWT credential, among its issuer's in `Snapshot::jwt`.
struct JwtEntry {
    issuer: Box<str>,
    consumer: u32,
    /// Where the credential's ID is in the snapshot's `key_ids`.
    id: u32,
    enabled: bool,
    consumer_claim: Box<str>,
    subject: Box<str>,
    audience: Option<Box<str>>,
    algorithms: Box<[jsonwebtoken::Algorithm]>,
    max_lifetime_secs: i64,
    clock_skew_secs: i64,
    /// What verifies its tokens.
    keys: EntryKeys,
    /// What the keys are, for comparing snapshots (a hash, never a secret).
    fingerprint: Box<str>,
    /// Tokens this entry verified (their SHA-256), each until when it stays good (ms): a
    /// token is verified once, not at every request. Any change to the credential or its
    /// consumer builds a new entry, so nothing verified under the old settings carries over.
    verified: std::sync::RwLock<VerifiedTokens>,
}

/// What verifies a JWT credential's tokens in the snapshot.
enum EntryKeys {
    /// A public key, or a generated secret (and during a grace period the previous one),
    /// each until when (ms; `NEVER` but for a rotated-out secret).
    Fixed(Box<[(jsonwebtoken::DecodingKey, i64)]>),
    /// The keys of a JWKS URL as the check last fetched them (`super::jwks::Jwks`), and the
    /// generation of the set the entry's verified tokens were verified with.
    Jwks {
        url: Box<str>,
        refresh_ms: i64,
        generation: std::sync::atomic::AtomicU64,
    },
}

/// Where `Snapshot::jwt` keeps the credentials of `issuer` whose `claim` must be `value`
/// (none of the three holds a control character: the domain refuses them in the first two
/// and in a stored value, so a token's value with one finds nothing).
fn jwt_key(issuer: &str, claim: &str, value: &str) -> String {
    [issuer, claim, value].join("\0")
}

/// Verified tokens by SHA-256 (see `JwtEntry::verified`).
type VerifiedTokens = HashMap<[u8; 32], i64, BuildHasherDefault<FirstBytes>>;

/// At most this many verified tokens are remembered per credential; past it the expired
/// ones are dropped, and if none has expired, all of them.
const MAX_VERIFIED: usize = 10_000;

/// Never the keys.
impl std::fmt::Debug for JwtEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtEntry")
            .field("consumer", &self.consumer)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// What a token is verified with: the credential's policy (algorithms, issuer, audience,
/// lifetime, skew), and the keys that verify now.
pub struct TokenKey<'a> {
    pub policy: super::jwt::Policy<'a>,
    pub keys: Vec<&'a jsonwebtoken::DecodingKey>,
}

/// What a signature is verified with: the credential's algorithm and clock skew, and the
/// secrets that verify now (the current one, and the previous one during a grace period).
pub struct SigningKey<'a> {
    pub algorithm: HmacAlgorithm,
    pub clock_skew_secs: i64,
    pub secrets: Vec<&'a [u8]>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Grant {
    api: u32,
    environment: u32,
    expires_at: i64,
}

#[derive(Debug)]
struct ConsumerEntry {
    id: Box<str>,
    name: Box<str>,
    enabled: bool,
    groups: Box<[u32]>,
    grants: Box<[Grant]>,
    /// The hashes in `keys` that point here, to remove them when the consumer changes.
    hashes: Box<[[u8; 32]]>,
}

/// What one subject (a key, consumer or consumer group) is held to: its rate limit and its
/// quotas (up to one per metric and period). A subject with neither has no entry.
#[derive(Debug, Default)]
struct Controls {
    limit: Option<Limit>,
    quotas: Vec<Quota>,
}

/// The controls of every subject that a request is made by (its key, its consumer, the
/// consumer's groups), looked up once for the check to judge its quotas, apply its rate
/// limits and count its quotas.
#[derive(Debug, Default)]
pub struct Covering<'a>(SmallVec<[&'a Controls; 4]>);

impl<'a> Covering<'a> {
    fn limits(&self) -> impl Iterator<Item = &'a Limit> + Clone + '_ {
        self.0.iter().filter_map(|c| c.limit.as_ref())
    }

    fn quotas(&self) -> impl Iterator<Item = &'a Quota> + '_ {
        self.0.iter().flat_map(|c| c.quotas.iter())
    }

    /// Judges the request by its quotas at `now` (ms).
    pub fn judge_quotas(&self, now: i64) -> QuotaVerdict<'a> {
        super::quotas::judge(self.quotas(), now)
    }

    /// Applies its rate limits at `now_ns`.
    pub fn admit(&self, now_ns: i64) -> Admission<'a> {
        limits::admit(self.limits(), now_ns)
    }

    /// Counts the admitted request against its request quotas.
    pub fn count_quotas(&self) {
        for q in self.quotas() {
            q.count();
        }
    }
}

#[derive(Debug)]
struct GroupEntry {
    id: Box<str>,
    enabled: bool,
    grants: Box<[Grant]>,
}

/// Why a request was refused. Key failures and an unknown gateway are authentication
/// failures (401, so a caller cannot tell a gateway that does not exist from a bad key); the
/// rest are authorization failures (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoKey,
    UnknownKey,
    DisabledKey,
    ExpiredKey,
    DisabledConsumer,
    /// A signed request whose signature, date or signature header does not verify.
    BadSignature,
    /// A JWT whose signature, issuer, audience, times or algorithm do not verify.
    BadToken,
    UnknownInstance,
    UnknownEnvironment,
    BadPath,
    /// The path matches a base path only when case is ignored.
    CaseMismatch,
    NoApi,
    NoRule,
}

impl Refusal {
    pub fn is_authentication(self) -> bool {
        matches!(
            self,
            Refusal::NoKey
                | Refusal::UnknownKey
                | Refusal::DisabledKey
                | Refusal::ExpiredKey
                | Refusal::DisabledConsumer
                | Refusal::BadSignature
                | Refusal::BadToken
                | Refusal::UnknownInstance
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoKey => "no key",
            Refusal::UnknownKey => "unknown key",
            Refusal::DisabledKey => "disabled key",
            Refusal::ExpiredKey => "expired key",
            Refusal::DisabledConsumer => "disabled consumer",
            Refusal::BadSignature => "bad signature",
            Refusal::BadToken => "bad token",
            Refusal::UnknownInstance => "unknown gateway",
            Refusal::UnknownEnvironment => "unknown environment",
            Refusal::BadPath => "refused path",
            Refusal::CaseMismatch => "the path matches a base path only when case is ignored",
            Refusal::NoApi => "no model API at this path",
            Refusal::NoRule => "no rule in effect",
        }
    }

    /// The reason as usage counts it (an outcome other than `allowed`).
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::NoKey => "no-key",
            Refusal::UnknownKey => "unknown-key",
            Refusal::DisabledKey => "disabled-key",
            Refusal::ExpiredKey => "expired-key",
            Refusal::DisabledConsumer => "disabled-consumer",
            Refusal::BadSignature => "bad-signature",
            Refusal::BadToken => "bad-token",
            Refusal::UnknownInstance => "unknown-gateway",
            Refusal::UnknownEnvironment => "unknown-environment",
            Refusal::BadPath => "refused-path",
            Refusal::CaseMismatch => "case-mismatch",
            Refusal::NoApi => "no-api",
            Refusal::NoRule => "no-rule",
        }
    }

    /// The reason as a metric label value.
    pub fn label(self) -> &'static str {
        match self {
            Refusal::NoKey => "no_key",
            Refusal::UnknownKey => "unknown_key",
            Refusal::DisabledKey => "disabled_key",
            Refusal::ExpiredKey => "expired_key",
            Refusal::DisabledConsumer => "disabled_consumer",
            Refusal::BadSignature => "bad_signature",
            Refusal::BadToken => "bad_token",
            Refusal::UnknownInstance => "unknown_gateway",
            Refusal::UnknownEnvironment => "unknown_environment",
            Refusal::BadPath => "refused_path",
            Refusal::CaseMismatch => "case_mismatch",
            Refusal::NoApi => "no_api",
            Refusal::NoRule => "no_rule",
        }
    }
}

/// Who may pass, and to which API.
#[derive(Debug, PartialEq, Eq)]
pub struct Allowed<'a> {
    pub consumer_id: &'a str,
    pub consumer_name: &'a str,
    pub api_id: &'a str,
}

/// The positions a decision reached (the key and its consumer, the environment, the model
/// API), recorded as it decides so that the check can count it; see [`Snapshot::usage_ids`].
#[derive(Debug, Default, Clone, Copy)]
pub struct Seen {
    key: Option<(u32, u32)>,
    environment: Option<u32>,
    api: Option<u32>,
}

impl Trace for Seen {
    fn key_at(&mut self, consumer: u32, key: u32) {
        self.key = Some((consumer, key));
    }

    fn environment(&mut self, _names: &dyn Names, at: u32) {
        self.environment = Some(at);
    }

    fn route(&mut self, _names: &dyn Names, _base_path: &str, api: u32) {
        self.api = Some(api);
    }
}

/// The IDs a decision is counted under ('' where it did not get that far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageIds<'a> {
    pub environment: &'a str,
    pub consumer: &'a str,
    pub key: &'a str,
    pub api: &'a str,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    keys: KeyMap,
    key_ids: KeyIds,
    consumers: Vec<ConsumerEntry>,
    consumer_index: Map<Box<str>, u32>,
    groups: Vec<GroupEntry>,
    group_index: Map<Box<str>, u32>,
    apis: Vec<Box<str>>,
    api_index: Map<Box<str>, u32>,
    environment_ids: Map<Box<str>, u32>,
    /// Environment IDs by position.
    environment_list: Vec<Box<str>>,
    /// By environment ID and by lowercased name.
    environments: Map<Box<str>, u32>,
    default_environment: Option<u32>,
    /// Per environment: ASCII-lowercased base path -> route.
    routes: Vec<Map<Box<str>, Route>>,
    /// Rate limits and quotas by the ID of their subject (a key, consumer or consumer
    /// group): one lookup per subject finds both.
    controls: Map<Box<str>, Controls>,
    /// Whether a limit or a quota has a subject other than a consumer (a key or a group):
    /// without one, a request's limits and quotas are looked up by its consumer alone.
    beyond_consumers: bool,
    /// HMAC credentials by access key ID.
    hmac: Map<Box<str>, HmacEntry>,
    /// JWT credentials by issuer, consumer claim and the value it must have (`jwt_key`):
    /// a token finds its credential in one lookup per claim its issuer's credentials use,
    /// however many consumers that issuer has.
    jwt: Map<Box<str>, Vec<JwtEntry>>,
    /// The consumer claims the JWT credentials of each issuer use (most use only `sub`).
    jwt_claims: Map<Box<str>, Vec<Box<str>>>,
    /// How many JWT credentials verify with a JWKS URL: with none, a token needs no look
    /// for a key set to fetch before it is decided.
    jwks_entries: usize,
}

/// A base path as enforcement matches it. Routes are keyed by the lowercased base path, so a
/// request that matches a base path only when case is ignored is seen and refused: an
/// upstream that ignores case would serve it under that API, one that does not under
/// another, and the check cannot know which.
#[derive(Debug, Clone)]
enum Route {
    One {
        base_path: Box<str>,
        api: u32,
    },
    /// Two base paths that differ only in case: neither can be told apart from the other.
    CaseTwins,
}

/// Eight bytes of a secret's or key's SHA-256, in hex: enough to tell two apart in a
/// comparison of snapshots, nothing of the secret itself.
fn fingerprint_of(secret: &[u8]) -> String {
    hex::encode(&sha2::Sha256::digest(secret)[..8])
}

/// The entries a bound key puts in the key map: its value, and during a rotation's grace
/// period its previous value.
fn key_entries(
    k: &KeyRow,
    consumer: u32,
    key: u32,
) -> impl Iterator<Item = ([u8; 32], KeyEntry)> + '_ {
    let expires_at = k.expires_at.unwrap_or(NEVER);
    let enabled = k.enabled;
    let current = k.key_hash.map(|h| {
        let e = KeyEntry {
            consumer,
            key,
            enabled,
            expires_at,
        };
        (h.0, e)
    });
    let previous = match (&k.previous_hash, k.previous_expires_at) {
        (Some(prev), Some(until)) => Some((
            prev.0,
            KeyEntry {
                consumer,
                key,
                enabled,
                expires_at: expires_at.min(until),
            },
        )),
        _ => None,
    };
    current.into_iter().chain(previous)
}

/// The key map of the bound keys, each consumer's hashes in it, and the keys' IDs (see
/// [`KeyIds`]).
fn key_map(
    keys: &[KeyRow],
    consumer_index: &Map<Box<str>, u32>,
    consumers: usize,
) -> (KeyMap, Vec<Box<[[u8; 32]]>>, KeyIds) {
    let mut map = KeyMap::default();
    map.reserve(keys.len());
    let mut owned = Vec::with_capacity(keys.len());
    let mut ids = KeyIds::with_capacity(keys.len() * 25);
    for k in keys {
        let Some(consumer) = consumer_index.get(k.consumer_id.as_str()).copied() else {
            continue;
        };
        let at = ids.push(&k.id);
        for (h, e) in key_entries(k, consumer, at) {
            map.insert(h, e);
            owned.push((consumer, h));
        }
    }
    (map, per_owner(consumers, owned.into_iter()), ids)
}

/// The IDs of the bound keys, one after another in one string, each after a byte that gives
/// its length: a key entry points at its ID by offset. One allocation for a million keys
/// instead of a million. A patch appends the IDs of the keys it re-reads, so the old ones
/// stay until the next full load (about 25 bytes a key).
#[derive(Debug, Default)]
struct KeyIds(Vec<u8>);

impl KeyIds {
    fn with_capacity(n: usize) -> KeyIds {
        KeyIds(Vec::with_capacity(n))
    }

    /// Appends an ID (IDs are short ASCII; one longer than 255 bytes is cut, on a character
    /// boundary) and returns where it is.
    fn push(&mut self, id: &str) -> u32 {
        let mut end = id.len().min(255);
        while !id.is_char_boundary(end) {
            end -= 1;
        }
        let at = self.0.len() as u32;
        self.0.push(end as u8);
        self.0.extend_from_slice(&id.as_bytes()[..end]);
        at
    }

    fn get(&self, at: u32) -> &str {
        let at = at as usize;
        let Some(&len) = self.0.get(at) else {
            return "";
        };
        self.0
            .get(at + 1..at + 1 + len as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

/// Groups `(owner, item)` pairs into one exactly sized list per owner `0..owners`, in the
/// order given (a counting sort: no list grows, and an owner with none allocates nothing).
fn per_owner<T: Copy + Default>(
    owners: usize,
    pairs: impl Iterator<Item = (u32, T)>,
) -> Vec<Box<[T]>> {
    let pairs: Vec<(u32, T)> = pairs.collect();
    let mut starts = vec![0usize; owners + 1];
    for (o, _) in &pairs {
        starts[*o as usize + 1] += 1;
    }
    for i in 0..owners {
        starts[i + 1] += starts[i];
    }
    let mut flat = vec![T::default(); pairs.len()];
    let mut next = starts.clone();
    for (o, item) in pairs {
        flat[next[o as usize]] = item;
        next[o as usize] += 1;
    }
    (0..owners)
        .map(|o| Box::from(&flat[starts[o]..starts[o + 1]]))
        .collect()
}

impl Snapshot {
    pub fn build(rows: SnapshotRows) -> Snapshot {
        let mut s = Snapshot {
            revision: rows.revision,
            ..Snapshot::default()
        };
        for (i, e) in rows.environments.iter().enumerate() {
            let i = i as u32;
            s.environment_ids.insert(e.id.as_str().into(), i);
            s.environment_list.push(e.id.as_str().into());
            s.environments.insert(e.id.as_str().into(), i);
            s.environments.insert(e.name_key.as_str().into(), i);
            if e.is_default {
                s.default_environment = Some(i);
            }
        }
        s.routes = vec![Map::default(); rows.environments.len()];
        for d in &rows.deployments {
            let api = match s.api_index.get(d.api_id.as_str()) {
                Some(i) => *i,
                None => {
                    let i = s.apis.len() as u32;
                    s.apis.push(d.api_id.as_str().into());
                    s.api_index.insert(d.api_id.as_str().into(), i);
                    i
                }
            };
            if let Some(env) = s.environment_ids.get(d.environment_id.as_str()) {
                let one = Route::One {
                    base_path: d.base_path.as_str().into(),
                    api,
                };
                s.routes[*env as usize]
                    .entry(d.base_path.to_ascii_lowercase().into_boxed_str())
                    .and_modify(|r| *r = Route::CaseTwins)
                    .or_insert(one);
            }
        }

        s.consumer_index.reserve(rows.consumers.len());
        for (i, c) in rows.consumers.iter().enumerate() {
            s.consumer_index.insert(c.id.as_str().into(), i as u32);
        }
        for (i, g) in rows.groups.iter().enumerate() {
            s.group_index.insert(g.id.as_str().into(), i as u32);
        }
        let n = rows.consumers.len();
        // The key map is built on a second thread while the grants are sorted out here.
        let (keys, (consumer_groups, consumer_grants, group_grants)) = std::thread::scope(|t| {
            let keys = t.spawn(|| key_map(&rows.keys, &s.consumer_index, n));
            let memberships = per_owner(
                n,
                rows.memberships.iter().filter_map(|(g, c)| {
                    let g = *s.group_index.get(g.as_str())?;
                    Some((*s.consumer_index.get(c.as_str())?, g))
                }),
            );
            let mut group_rules = Vec::new();
            let consumer_rules = per_owner(
                n,
                rows.rules.iter().filter_map(|r| {
                    let grant = s.grant(r)?;
                    if let Some(c) = r.consumer_id.as_deref() {
                        return Some((*s.consumer_index.get(c)?, grant));
                    }
                    if let Some(g) = r.group_id.as_deref().and_then(|g| s.group_index.get(g)) {
                        group_rules.push((*g, grant));
                    }
                    None
                }),
            );
            let group_rules = per_owner(rows.groups.len(), group_rules.into_iter());
            let keys = keys.join().expect("building the key map does not panic");
            (keys, (memberships, consumer_rules, group_rules))
        });
        let (key_map, consumer_hashes, key_ids) = keys;
        s.key_ids = key_ids;
        s.keys = key_map;
        for h in &rows.hmac {
            if let Some(consumer) = s.consumer_index.get(h.consumer_id.as_str()).copied() {
                s.insert_hmac(h, consumer);
            }
        }
        for j in &rows.jwt {
            if let Some(consumer) = s.consumer_index.get(j.consumer_id.as_str()).copied() {
                s.insert_jwt(j, consumer);
            }
        }
        s.groups = rows
            .groups
            .into_iter()
            .zip(group_grants)
            .map(|(g, grants)| GroupEntry {
                id: g.id.into_boxed_str(),
                enabled: g.enabled,
                grants,
            })
            .collect();
        s.consumers = rows
            .consumers
            .into_iter()
            .zip(
                consumer_groups
                    .into_iter()
                    .zip(consumer_grants)
                    .zip(consumer_hashes),
            )
            .map(|(c, ((groups, grants), hashes))| ConsumerEntry {
                id: c.id.into_boxed_str(),
                name: c.name.into_boxed_str(),
                enabled: c.enabled,
                groups,
                grants,
                hashes,
            })
            .collect();
        for l in &rows.limits {
            let controls: &mut Controls =
                s.controls.entry(l.subject_id.as_str().into()).or_default();
            controls.limit = Some(Limit::from_row(l));
        }
        for q in &rows.quotas {
            s.controls
                .entry(q.subject_id.as_str().into())
                .or_default()
                .quotas
                .push(Quota::from_row(q));
        }
        s.note_subjects();
        let done_with = (rows.keys, rows.rules, rows.memberships);
        if done_with.0.len() + done_with.1.len() + done_with.2.len() > FREE_APART {
            std::thread::spawn(move || drop(done_with));
        }
        s
    }

    /// What a rule grants, when its API is deployed in its environment somewhere (a rule
    /// for an API deployed nowhere can never match a route).
    fn grant(&self, r: &RuleRow) -> Option<Grant> {
        Some(Grant {
            api: *self.api_index.get(&*r.api_id)?,
            environment: *self.environment_ids.get(&*r.environment_id)?,
            expires_at: ends_at(ExpireMode::parse(&r.expire_mode)?, r.expire_at).unwrap_or(NEVER),
        })
    }

    /// Brings the snapshot to the patch's revision. Groups first, so a consumer can join a
    /// group created in the same patch.
    pub fn apply(&mut self, patch: Patch) {
        for g in patch.groups {
            self.upsert_group(g);
        }
        for c in patch.consumers {
            self.upsert_consumer(c);
        }
        let touched_controls = !patch.limits.is_empty() || !patch.quotas.is_empty();
        for (id, row) in patch.limits {
            let mut before = None;
            for controls in self.controls.values_mut() {
                if let Some(l) = controls.limit.take_if(|l| *l.id == *id) {
                    before = Some(l);
                }
            }
            if let Some(row) = row {
                let mut limit = Limit::from_row(&row);
                if let Some(before) = before {
                    limit.carry_over(&before, limits::now_ns());
                }
                let subject = row.subject_id.into_boxed_str();
                self.controls.entry(subject).or_default().limit = Some(limit);
            }
        }
        for (id, row) in patch.quotas {
            let mut before = None;
            for controls in self.controls.values_mut() {
                if let Some(at) = controls.quotas.iter().position(|q| *q.id == *id) {
                    before = Some(controls.quotas.remove(at));
                }
            }
            if let Some(row) = row {
                let mut quota = Quota::from_row(&row);
                if let Some(before) = before {
                    quota.carry_over(&before);
                }
                let subject = row.subject_id.into_boxed_str();
                self.controls.entry(subject).or_default().quotas.push(quota);
            }
        }
        if touched_controls {
            self.controls
                .retain(|_, c| c.limit.is_some() || !c.quotas.is_empty());
            self.note_subjects();
        }
        self.revision = patch.revision;
    }

    /// Notes whether a limit or a quota has a subject other than a consumer (after the
    /// limits or quotas changed; a deleted consumer takes only its own with it).
    fn note_subjects(&mut self) {
        let consumer = crate::domain::IdKind::Consumer.prefix();
        self.beyond_consumers = self
            .controls
            .keys()
            .any(|subject| !subject.starts_with(consumer));
    }

    /// Takes over the counters of the limits `old` has too (a full load replaces a snapshot
    /// without resetting its limits).
    pub fn adopt_limit_states(&mut self, old: &Snapshot) {
        let old = old.controls.values();
        let limits: Map<&str, &Limit> = old
            .clone()
            .filter_map(|c| c.limit.as_ref())
            .map(|l| (&*l.id, l))
            .collect();
        let quotas: Map<&str, &Quota> = old
            .flat_map(|c| c.quotas.iter())
            .map(|q| (&*q.id, q))
            .collect();
        let now = limits::now_ns();
        for controls in self.controls.values_mut() {
            if let Some(limit) = &mut controls.limit {
                if let Some(before) = limits.get(&*limit.id) {
                    limit.carry_over(before, now);
                }
            }
            for quota in &mut controls.quotas {
                if let Some(before) = quotas.get(&*quota.id) {
                    quota.carry_over(before);
                }
            }
        }
    }

    /// The ID of the key with this hash.
    pub fn key_id(&self, key_hash: &[u8; 32]) -> Option<&str> {
        self.keys.get(key_hash).map(|k| self.key_ids.get(k.key))
    }

    /// The limits that cover a consumer's requests with a key (or any of its keys, when
    /// none is given), by subject: the key's, the consumer's, its groups'.
    pub fn limits_covering<'a>(
        &'a self,
        consumer_id: &str,
        key_id: Option<&'a str>,
    ) -> Vec<(&'a str, &'a Limit)> {
        self.controls_covering(consumer_id, key_id)
            .filter_map(|(subject, c)| Some((subject, c.limit.as_ref()?)))
            .collect()
    }

    /// The controls of a consumer's requests with a key (or any of its keys, when none is
    /// given), by subject: the key's, the consumer's, its groups'.
    fn controls_covering<'a>(
        &'a self,
        consumer_id: &str,
        key_id: Option<&'a str>,
    ) -> impl Iterator<Item = (&'a str, &'a Controls)> {
        let entry = self
            .consumer_index
            .get(consumer_id)
            .and_then(|c| self.consumers.get(*c as usize));
        entry
            .into_iter()
            .flat_map(move |entry| {
                key_id
                    .into_iter()
                    .chain(std::iter::once(&*entry.id))
                    .chain(entry.groups.iter().map(|g| &*self.groups[*g as usize].id))
            })
            .filter_map(|id| self.controls.get_key_value(id))
            .map(|(subject, c)| (&**subject, c))
    }

    /// Every quota, for sharing their counts.
    pub fn all_quotas(&self) -> impl Iterator<Item = &Quota> {
        self.controls.values().flat_map(|c| c.quotas.iter())
    }

    /// The subjects a request traced with `seen` is made by: its key, its consumer, the
    /// consumer's groups (only its consumer while no limit or quota has another subject).
    fn subjects<'a>(&'a self, seen: &Seen) -> Option<impl Iterator<Item = &'a str> + Clone> {
        let (consumer, key) = seen.key?;
        let entry = self.consumers.get(consumer as usize)?;
        let beyond = self.beyond_consumers;
        Some(
            std::iter::once(key)
                .filter(move |_| beyond)
                .map(|key| self.key_ids.get(key))
                .chain(std::iter::once(&*entry.id))
                .chain(
                    entry
                        .groups
                        .iter()
                        .filter(move |_| beyond)
                        .map(|g| &*self.groups[*g as usize].id),
                ),
        )
    }

    /// The limits and quotas that cover a request the rules allowed (traced with `seen`):
    /// its key's, its consumer's and its consumer's groups'.
    pub fn covering(&self, seen: &Seen) -> Covering<'_> {
        let mut found = SmallVec::new();
        if !self.controls.is_empty() {
            if let Some(subjects) = self.subjects(seen) {
                found.extend(subjects.filter_map(|id| self.controls.get(id)));
            }
        }
        Covering(found)
    }

    /// The quotas that cover a consumer's requests with a key, by subject.
    pub fn quotas_covering<'a>(
        &'a self,
        consumer_id: &str,
        key_id: Option<&'a str>,
    ) -> Vec<(&'a str, &'a Quota)> {
        self.controls_covering(consumer_id, key_id)
            .flat_map(|(subject, c)| c.quotas.iter().map(move |q| (subject, q)))
            .collect()
    }

    /// The `cluster` limits, for sharing their counts.
    pub fn cluster_limits(&self) -> impl Iterator<Item = &Limit> {
        self.controls
            .values()
            .filter_map(|c| c.limit.as_ref())
            .filter(|l| l.policy == crate::domain::limits::LimitPolicy::Cluster)
    }

    /// Adds an HMAC credential of the consumer at `consumer`.
    fn insert_hmac(&mut self, h: &HmacCredential, consumer: u32) {
        let id = self.key_ids.push(&h.id);
        self.hmac.insert(
            h.access_key.as_str().into(),
            HmacEntry {
                consumer,
                id,
                enabled: h.enabled,
                algorithm: h.algorithm,
                clock_skew_secs: h.clock_skew_secs,
                secret: h.secret.clone(),
                previous: h.previous.clone(),
            },
        );
    }

    /// The decision for a request signed with the HMAC credential `access_key`: `verify`
    /// is told what to verify the signature with and answers whether it does. The
    /// credential is judged as a key is (unknown, disabled, then its consumer), and a
    /// signature that does not verify is `BadSignature`; then the same rules decide.
    pub fn decide_signed<T: Trace>(
        &self,
        access_key: &str,
        verify: impl FnOnce(&SigningKey<'_>) -> bool,
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
        trace: &mut T,
    ) -> Result<Allowed<'_>, Refusal> {
        let entry = self.hmac.get(access_key);
        trace.key(entry.map(|e| (e.enabled, NEVER)));
        let entry = entry.ok_or(Refusal::UnknownKey)?;
        trace.key_at(entry.consumer, entry.id);
        if !entry.enabled {
            return Err(Refusal::DisabledKey);
        }
        let mut secrets = vec![&*entry.secret];
        if let Some((previous, until)) = &entry.previous {
            if now < *until {
                secrets.push(previous);
            }
        }
        let key = SigningKey {
            algorithm: entry.algorithm,
            clock_skew_secs: entry.clock_skew_secs,
            secrets,
        };
        if !verify(&key) {
            return Err(Refusal::BadSignature);
        }
        self.decide_for(entry.consumer, environment, path, now, trace)
    }

    /// Adds a JWT credential of the consumer at `consumer`. Its public key is parsed here,
    /// once; one that does not parse (none is accepted when a credential is made) leaves the
    /// credential out, and the log names it.
    fn insert_jwt(&mut self, j: &JwtCredential, consumer: u32) {
        let Some(first) = j.algorithms.first() else {
            return;
        };
        let (keys, fingerprint) = match &j.key {
            JwtKey::Public(text) => match super::jwt::public_key(text, first.family()) {
                Ok(key) => (
                    EntryKeys::Fixed(Box::new([(key, NEVER)])),
                    fingerprint_of(text.as_bytes()),
                ),
                Err(why) => {
                    tracing::error!(credential = %j.id, "a JWT credential is left out of enforcement: {why}");
                    return;
                }
            },
            JwtKey::Secret { secret, previous } => {
                let mut keys = Vec::new();
                let mut print = fingerprint_of(secret);
                if let Ok(k) = jsonwebtoken::DecodingKey::from_secret(secret) {
                    keys.push((k, NEVER));
                }
                if let Some((old, until)) = previous {
                    if let Ok(k) = jsonwebtoken::DecodingKey::from_secret(old) {
                        keys.push((k, *until));
                    }
                    print.push_str(&format!("+{}@{until}", fingerprint_of(old)));
                }
                (EntryKeys::Fixed(keys.into_boxed_slice()), print)
            }
            JwtKey::Jwks { url, refresh_secs } => (
                EntryKeys::Jwks {
                    url: url.as_str().into(),
                    refresh_ms: refresh_secs.saturating_mul(1000),
                    generation: Default::default(),
                },
                format!("jwks {url} every {refresh_secs}s"),
            ),
        };
        let id = self.key_ids.push(&j.id);
        if matches!(keys, EntryKeys::Jwks { .. }) {
            self.jwks_entries += 1;
        }
        let claims = self.jwt_claims.entry(j.issuer.as_str().into()).or_default();
        if !claims.iter().any(|c| **c == *j.consumer_claim) {
            claims.push(j.consumer_claim.as_str().into());
        }
        self.jwt
            .entry(jwt_key(&j.issuer, &j.consumer_claim, &j.subject).into())
            .or_default()
            .push(JwtEntry {
                issuer: j.issuer.as_str().into(),
                consumer,
                id,
                enabled: j.enabled,
                consumer_claim: j.consumer_claim.as_str().into(),
                subject: j.subject.as_str().into(),
                audience: j.audience.as_deref().map(Into::into),
                algorithms: j
                    .algorithms
                    .iter()
                    .map(|a| super::jwt::algorithm(*a))
                    .collect(),
                max_lifetime_secs: j.max_lifetime_secs,
                clock_skew_secs: j.clock_skew_secs,
                keys,
                fingerprint: fingerprint.into_boxed_str(),
                verified: Default::default(),
            });
    }

    /// The credential whose tokens `peeked` claims to be: by its issuer and consumer claim.
    fn token_entry(&self, peeked: &super::jwt::Unverified) -> Option<(&str, &JwtEntry)> {
        let claims = self.jwt_claims.get(peeked.issuer.as_str())?;
        let e = claims.iter().find_map(|claim| {
            let value = super::jwt::claim_text(&peeked.claims, claim)?;
            self.jwt
                .get(jwt_key(&peeked.issuer, claim, &value).as_str())?
                .first()
        })?;
        Some((&*e.issuer, e))
    }

    /// The ID (`cred-…`) of the credential whose tokens `peeked` claims to be.
    pub fn token_credential_id(&self, peeked: &super::jwt::Unverified) -> Option<&str> {
        self.token_entry(peeked)
            .map(|(_, e)| self.key_ids.get(e.id))
    }

    /// The JWKS URL (and its refresh interval, ms) that verifies `peeked`, when an enabled
    /// credential of that source claims it: the check makes sure it is fetched before it
    /// decides (see `super::jwks::Jwks::ready`).
    pub fn jwks_source(&self, peeked: &super::jwt::Unverified) -> Option<(Box<str>, i64)> {
        if self.jwks_entries == 0 {
            return None;
        }
        match self.token_entry(peeked)? {
            (
                _,
                JwtEntry {
                    enabled: true,
                    keys:
                        EntryKeys::Jwks {
                            url, refresh_ms, ..
                        },
                    ..
                },
            ) => Some((url.clone(), *refresh_ms)),
            _ => None,
        }
    }

    /// The decision for a JWT whose unverified claims are `peeked`: its issuer and consumer
    /// claim pick the credential (an unknown pair is `UnknownKey`), `verify` is told what to
    /// verify the token with and answers whether it does (`BadToken` if not), and then the
    /// credential's consumer is decided for as a key's is. A credential of a JWKS URL
    /// verifies with the keys `jwks` holds for it, if it holds a usable set.
    #[allow(clippy::too_many_arguments)]
    pub fn decide_token<T: Trace>(
        &self,
        peeked: &super::jwt::Unverified,
        jwks: &super::jwks::Jwks,
        verify: impl FnOnce(&TokenKey<'_>) -> bool,
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
        trace: &mut T,
    ) -> Result<Allowed<'_>, Refusal> {
        let found = self.token_entry(peeked);
        trace.key(found.map(|(_, e)| (e.enabled, NEVER)));
        let (issuer, entry) = found.ok_or(Refusal::UnknownKey)?;
        trace.key_at(entry.consumer, entry.id);
        if !entry.enabled {
            return Err(Refusal::DisabledKey);
        }
        // The keys that verify now, and until when (ms) a token they verify stays verified.
        let set;
        let (keys, keys_until): (Vec<&jsonwebtoken::DecodingKey>, i64) = match &entry.keys {
            EntryKeys::Fixed(keys) => (
                keys.iter()
                    .filter(|(_, until)| now < *until)
                    .map(|(k, _)| k)
                    .collect(),
                keys.iter().map(|(_, until)| *until).min().unwrap_or(NEVER),
            ),
            EntryKeys::Jwks {
                url, generation, ..
            } => {
                set = jwks.keys(url).filter(|s| s.usable(now));
                match &set {
                    Some(set) => {
                        // A set that changed since: what its old keys verified is not kept.
                        let seen =
                            generation.swap(set.generation, std::sync::atomic::Ordering::Relaxed);
                        if seen != set.generation {
                            if let Ok(mut v) = entry.verified.write() {
                                v.clear();
                            }
                        }
                        (
                            set.candidates(peeked.kid.as_deref(), peeked.algorithm)
                                .collect(),
                            set.good_until(),
                        )
                    }
                    None => (Vec::new(), NEVER),
                }
            }
        };
        let remembered = entry
            .verified
            .read()
            .ok()
            .and_then(|v| v.get(&peeked.hash).copied())
            .is_some_and(|until| now < until);
        if remembered {
            return self.decide_for(entry.consumer, environment, path, now, trace);
        }
        let key = TokenKey {
            policy: super::jwt::Policy {
                algorithms: &entry.algorithms,
                issuer,
                audience: entry.audience.as_deref(),
                max_lifetime_secs: entry.max_lifetime_secs,
                clock_skew_secs: entry.clock_skew_secs,
            },
            keys,
        };
        if !verify(&key) {
            return Err(Refusal::BadToken);
        }
        // Good until it expires (with the skew), and no longer than the keys that verify
        // now: a rotated-out secret's tokens are verified again once its grace ends.
        let exp = peeked.claims.get("exp").and_then(serde_json::Value::as_i64);
        if let (Some(exp), Ok(mut v)) = (exp, entry.verified.write()) {
            let until = exp
                .saturating_add(entry.clock_skew_secs)
                .saturating_mul(1000)
                .min(keys_until);
            if v.len() >= MAX_VERIFIED {
                v.retain(|_, good_until| now < *good_until);
                if v.len() >= MAX_VERIFIED {
                    v.clear();
                }
            }
            v.insert(peeked.hash, until);
        }
        self.decide_for(entry.consumer, environment, path, now, trace)
    }

    /// How many JWT credentials the snapshot holds.
    pub fn jwt_count(&self) -> usize {
        self.jwt.values().map(Vec::len).sum()
    }

    /// How many HMAC credentials the snapshot holds.
    pub fn hmac_count(&self) -> usize {
        self.hmac.len()
    }

    fn upsert_group(&mut self, g: GroupSlice) {
        let entry = GroupEntry {
            id: g.id.as_str().into(),
            enabled: g.row.as_ref().is_some_and(|r| r.enabled),
            grants: match g.row {
                Some(_) => g.rules.iter().filter_map(|r| self.grant(r)).collect(),
                None => Box::default(),
            },
        };
        match self.group_index.get(g.id.as_str()) {
            Some(i) => self.groups[*i as usize] = entry,
            None => {
                self.group_index
                    .insert(g.id.as_str().into(), self.groups.len() as u32);
                self.groups.push(entry);
            }
        }
    }

    fn upsert_consumer(&mut self, c: ConsumerSlice) {
        let idx = match self.consumer_index.get(c.id.as_str()) {
            Some(i) => *i,
            None if c.row.is_none() => return,
            None => {
                let i = self.consumers.len() as u32;
                self.consumer_index.insert(c.id.as_str().into(), i);
                self.consumers.push(ConsumerEntry {
                    id: c.id.as_str().into(),
                    name: Box::default(),
                    enabled: false,
                    groups: Box::default(),
                    grants: Box::default(),
                    hashes: Box::default(),
                });
                i
            }
        };
        let old = std::mem::take(&mut self.consumers[idx as usize].hashes);
        for h in old.iter() {
            if self.keys.get(h).is_some_and(|e| e.consumer == idx) {
                self.keys.remove(h);
            }
        }
        // HMAC credentials are few: their map is searched rather than indexed per consumer.
        if !self.hmac.is_empty() {
            self.hmac.retain(|_, e| e.consumer != idx);
        }
        if !self.jwt.is_empty() {
            for list in self.jwt.values_mut() {
                list.retain(|e| e.consumer != idx);
            }
            self.jwt.retain(|_, list| !list.is_empty());
            // The claims and JWKS URLs still in use (the consumer's own are added back below).
            self.jwt_claims.clear();
            self.jwks_entries = 0;
            for e in self.jwt.values().flatten() {
                if matches!(e.keys, EntryKeys::Jwks { .. }) {
                    self.jwks_entries += 1;
                }
                let claims = self.jwt_claims.entry(e.issuer.clone()).or_default();
                if !claims.contains(&e.consumer_claim) {
                    claims.push(e.consumer_claim.clone());
                }
            }
        }
        // A deleted consumer stays as an inert entry until the next full load.
        let Some(row) = c.row else {
            self.controls.remove(c.id.as_str());
            let entry = &mut self.consumers[idx as usize];
            entry.enabled = false;
            entry.groups = Box::default();
            entry.grants = Box::default();
            return;
        };
        let groups = c
            .groups
            .iter()
            .filter_map(|g| self.group_index.get(g.as_str()).copied())
            .collect();
        let grants = c.rules.iter().filter_map(|r| self.grant(r)).collect();
        for h in &c.hmac {
            self.insert_hmac(h, idx);
        }
        for j in &c.jwt {
            self.insert_jwt(j, idx);
        }
        let mut hashes = Vec::with_capacity(c.keys.len());
        for k in &c.keys {
            let at = self.key_ids.push(&k.id);
            for (h, e) in key_entries(k, idx, at) {
                self.keys.insert(h, e);
                hashes.push(h);
            }
        }
        self.consumers[idx as usize] = ConsumerEntry {
            id: row.id.into_boxed_str(),
            name: row.name.into_boxed_str(),
            enabled: row.enabled,
            groups,
            grants,
            hashes: hashes.into_boxed_slice(),
        };
    }

    /// Every fact the snapshot decides by, as sorted lines of IDs (not indexes), so two
    /// snapshots built differently (a full load, or patches) can be compared. Inert entries
    /// (deleted, or disabled with nothing attached) are left out.
    pub fn canonical(&self) -> Vec<String> {
        let mut environments = vec![""; self.environment_ids.len()];
        for (id, i) in &self.environment_ids {
            environments[*i as usize] = id;
        }
        let grant = |g: &Grant| {
            let never = g.expires_at == NEVER;
            format!(
                "{}@{}:{}",
                self.apis[g.api as usize],
                environments[g.environment as usize],
                if never {
                    "never".into()
                } else {
                    g.expires_at.to_string()
                }
            )
        };
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v.join(",")
        };
        let mut out = Vec::new();
        for (h, k) in &self.keys {
            let c = &self.consumers[k.consumer as usize];
            out.push(format!(
                "key {} {} {} {} {}",
                hex::encode(h),
                c.id,
                self.key_ids.get(k.key),
                k.enabled,
                k.expires_at
            ));
        }
        for list in self.jwt.values() {
            for e in list {
                let c = &self.consumers[e.consumer as usize];
                out.push(format!(
                    "jwt {} {}={} {} {} {} {:?} {:?} {} {} {}",
                    e.issuer,
                    e.consumer_claim,
                    e.subject,
                    c.id,
                    self.key_ids.get(e.id),
                    e.enabled,
                    e.audience,
                    e.algorithms,
                    e.max_lifetime_secs,
                    e.clock_skew_secs,
                    e.fingerprint
                ));
            }
        }
        for (access_key, e) in &self.hmac {
            let c = &self.consumers[e.consumer as usize];
            let fingerprint = fingerprint_of;
            out.push(format!(
                "hmac {access_key} {} {} {} {} {} {} {}",
                c.id,
                self.key_ids.get(e.id),
                e.enabled,
                e.algorithm.as_str(),
                e.clock_skew_secs,
                fingerprint(&e.secret),
                e.previous
                    .as_ref()
                    .map_or("-".to_owned(), |(p, until)| format!(
                        "{}@{until}",
                        fingerprint(p)
                    ))
            ));
        }
        for c in &self.consumers {
            if c.enabled || !c.groups.is_empty() || !c.grants.is_empty() || !c.hashes.is_empty() {
                let groups = c
                    .groups
                    .iter()
                    .map(|g| self.groups[*g as usize].id.to_string());
                out.push(format!(
                    "consumer {} {} {} groups=[{}] grants=[{}]",
                    c.id,
                    c.name,
                    c.enabled,
                    sorted(groups.collect()),
                    sorted(c.grants.iter().map(grant).collect())
                ));
            }
        }
        for g in &self.groups {
            if g.enabled || !g.grants.is_empty() {
                let grants = sorted(g.grants.iter().map(grant).collect());
                out.push(format!("group {} {} grants=[{grants}]", g.id, g.enabled));
            }
        }
        for (subject, c) in &self.controls {
            for q in &c.quotas {
                out.push(format!(
                    "quota {} {subject} {} {} {} {} {}",
                    q.id,
                    q.metric.as_str(),
                    q.period.as_str(),
                    q.amount,
                    q.tz,
                    q.generation
                ));
            }
        }
        for (subject, l) in self
            .controls
            .iter()
            .filter_map(|(s, c)| Some((s, c.limit.as_ref()?)))
        {
            out.push(format!(
                "limit {} {subject} {:?} {}",
                l.id,
                l.rates,
                l.policy.as_str()
            ));
        }
        out.sort();
        out
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The decision for a key (its SHA-256), an environment (ID or name; none means the
    /// default one) and a normalised request path (none when the path was refused), at
    /// `now` (ms). The key is judged first, so a bad key is a 401 whatever the path.
    pub fn decide(
        &self,
        key_hash: &[u8; 32],
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
    ) -> Result<Allowed<'_>, Refusal> {
        self.decide_traced(key_hash, environment, path, now, &mut ())
    }

    /// [`decide`](Self::decide), telling `trace` what it looks at: the check passes `()`,
    /// which records nothing, the access explainer a [`Recording`](super::trace::Recording).
    /// One function decides for both, so the explanation is the check's own decision.
    pub fn decide_traced<T: Trace>(
        &self,
        key_hash: &[u8; 32],
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
        trace: &mut T,
    ) -> Result<Allowed<'_>, Refusal> {
        let key = self.keys.get(key_hash);
        trace.key(key.map(|k| (k.enabled, k.expires_at)));
        let key = key.ok_or(Refusal::UnknownKey)?;
        trace.key_at(key.consumer, key.key);
        if !key.enabled {
            return Err(Refusal::DisabledKey);
        }
        if key.expires_at <= now {
            return Err(Refusal::ExpiredKey);
        }
        self.decide_for(key.consumer, environment, path, now, trace)
    }

    /// The decision for a consumer (its ID) as if it presented a valid key of its own: what
    /// the explainer answers for a consumer picked by name. `None` when the snapshot has no
    /// such consumer.
    pub fn decide_for_consumer<T: Trace>(
        &self,
        consumer_id: &str,
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
        trace: &mut T,
    ) -> Option<Result<Allowed<'_>, Refusal>> {
        let consumer = *self.consumer_index.get(consumer_id)?;
        Some(self.decide_for(consumer, environment, path, now, trace))
    }

    /// Where an environment (ID or name; none means the default one) is.
    fn environment_at(&self, environment: Option<&str>) -> Option<u32> {
        match environment {
            Some(e) => self
                .environments
                .get(e)
                .or_else(|| self.environments.get(e.to_ascii_lowercase().as_str())),
            None => self.default_environment.as_ref(),
        }
        .copied()
    }

    /// What a decision traced with `seen` is counted under: the IDs of the environment,
    /// consumer, key and model API it reached ('' for those it did not). The environment
    /// is the one asked for even when the decision stopped before it.
    pub fn usage_ids(&self, seen: &Seen, environment: Option<&str>) -> UsageIds<'_> {
        let environment = seen
            .environment
            .or_else(|| self.environment_at(environment))
            .map_or("", |at| self.environment_id(at));
        let (consumer, key) = seen
            .key
            .and_then(|(c, k)| {
                let c = self.consumers.get(c as usize)?;
                Some((&*c.id, self.key_ids.get(k)))
            })
            .unwrap_or(("", ""));
        UsageIds {
            environment,
            consumer,
            key,
            api: seen
                .api
                .and_then(|a| self.apis.get(a as usize))
                .map_or("", |a| &**a),
        }
    }

    /// The decision once the key has named a consumer.
    fn decide_for<T: Trace>(
        &self,
        consumer_at: u32,
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
        trace: &mut T,
    ) -> Result<Allowed<'_>, Refusal> {
        let consumer = &self.consumers[consumer_at as usize];
        trace.consumer(&consumer.id, &consumer.name, consumer.enabled);
        if !consumer.enabled {
            return Err(Refusal::DisabledConsumer);
        }
        let env = self
            .environment_at(environment)
            .ok_or(Refusal::UnknownEnvironment)?;
        trace.environment(self, env);
        let path = path.ok_or(Refusal::BadPath)?;
        let routes = &self.routes[env as usize];
        let lower = path.to_ascii_lowercase();
        let api = match prefixes(&lower).find_map(|p| Some((p.len(), routes.get(p)?))) {
            None => return Err(Refusal::NoApi),
            Some((n, Route::One { base_path, api })) if path.get(..n) == Some(&**base_path) => {
                trace.route(self, base_path, *api);
                *api
            }
            Some(_) => return Err(Refusal::CaseMismatch),
        };
        let verdict = |g: &Grant| {
            if g.api != api {
                Verdict::OtherApi
            } else if g.environment != env {
                Verdict::OtherEnvironment
            } else if g.expires_at <= now {
                Verdict::Expired
            } else {
                Verdict::Applies
            }
        };
        // Only until one grant applies, unless the trace wants to see every one.
        let mut granted = false;
        for g in consumer.grants.iter() {
            let v = verdict(g);
            trace.grant(self, None, g.seen(), v);
            granted |= v == Verdict::Applies;
            if granted && !T::ALL_GRANTS {
                break;
            }
        }
        for &at in consumer.groups.iter() {
            if granted && !T::ALL_GRANTS {
                break;
            }
            let group = &self.groups[at as usize];
            for g in group.grants.iter() {
                let v = if group.enabled {
                    verdict(g)
                } else {
                    Verdict::GroupDisabled
                };
                trace.grant(self, Some((&group.id, group.enabled)), g.seen(), v);
                granted |= v == Verdict::Applies;
                if granted && !T::ALL_GRANTS {
                    break;
                }
            }
        }
        if !granted {
            return Err(Refusal::NoRule);
        }
        Ok(Allowed {
            consumer_id: &consumer.id,
            consumer_name: &consumer.name,
            api_id: &self.apis[api as usize],
        })
    }
}

impl Names for Snapshot {
    fn api_id(&self, at: u32) -> &str {
        &self.apis[at as usize]
    }

    fn environment_id(&self, at: u32) -> &str {
        self.environment_list
            .get(at as usize)
            .map(|id| &**id)
            .unwrap_or_default()
    }
}

impl Grant {
    fn seen(self) -> GrantSeen {
        GrantSeen {
            api: self.api,
            environment: self.environment,
            expires_at: self.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::hash_key;
    use crate::store::snapshot::{
        ConsumerRow, ConsumerSlice, DeploymentRow, EnvironmentRow, GroupRow, KeyHash,
    };

    const NOW: i64 = 1_000_000;

    fn h(key: &str) -> [u8; 32] {
        hashed(key).0
    }

    fn rule(
        consumer: Option<&str>,
        group: Option<&str>,
        api: &str,
        expire_at: Option<i64>,
    ) -> RuleRow {
        RuleRow {
            consumer_id: consumer.map(Into::into),
            group_id: group.map(Into::into),
            api_id: api.into(),
            environment_id: "env-1".into(),
            expire_mode: if expire_at.is_some() {
                "ShortTerm"
            } else {
                "LongTerm"
            }
            .into(),
            expire_at,
        }
    }

    /// alice (key-a) has a direct rule on chat; bob (key-b) gets embeddings through group g;
    /// carol (key-c) is disabled; key-d of alice is disabled; key-e of alice has expired;
    /// key-f was rotated: its previous value works until NOW + 10.
    fn snapshot(group_enabled: bool) -> Snapshot {
        Snapshot::build(rows(group_enabled))
    }

    fn hashed(key: &str) -> KeyHash {
        KeyHash::from_hex(&hash_key(key)).unwrap()
    }

    fn key(v: &str, c: &str, enabled: bool, expires: Option<i64>) -> KeyRow {
        KeyRow {
            id: format!("key-id-{v}"),
            key_hash: Some(hashed(v)),
            previous_hash: None,
            previous_expires_at: None,
            consumer_id: c.into(),
            enabled,
            expires_at: expires,
        }
    }

    /// An HMAC credential whose access key is `ak-<name>` and secret `s-<name>`.
    fn hmac(name: &str, consumer: &str, enabled: bool) -> HmacCredential {
        HmacCredential {
            id: format!("cred-{name}"),
            access_key: format!("ak-{name}"),
            consumer_id: consumer.into(),
            enabled,
            algorithm: HmacAlgorithm::Sha256,
            clock_skew_secs: 300,
            secret: format!("s-{name}").into_bytes().into(),
            previous: None,
        }
    }

    /// A JWT credential of `consumer` for tokens of `issuer` whose `sub` is `name`, verified
    /// by the HS256 secret `j-<name>`.
    fn jwt(name: &str, consumer: &str, issuer: &str, enabled: bool) -> JwtCredential {
        JwtCredential {
            id: format!("cred-jwt-{name}"),
            consumer_id: consumer.into(),
            enabled,
            issuer: issuer.into(),
            consumer_claim: "sub".into(),
            subject: name.into(),
            audience: None,
            algorithms: vec![crate::domain::credentials::JwtAlgorithm::HS256],
            max_lifetime_secs: 3600,
            clock_skew_secs: 60,
            key: JwtKey::Secret {
                secret: format!("j-{name}").into_bytes().into(),
                previous: None,
            },
        }
    }

    /// The decision for a token of `issuer` whose `sub` is `sub`, taken as verifying when
    /// the credential has a key (the check's own verification is `check::token_verified`).
    fn decide_token(
        s: &Snapshot,
        issuer: &str,
        sub: &str,
        verifies: bool,
    ) -> Result<String, Refusal> {
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), serde_json::json!(sub));
        let peeked = crate::enforce::jwt::Unverified {
            algorithm: jsonwebtoken::Algorithm::HS256,
            kid: None,
            hash: [sub.len() as u8; 32],
            issuer: issuer.into(),
            claims,
        };
        s.decide_token(
            &peeked,
            &Default::default(),
            |k| verifies && !k.keys.is_empty(),
            None,
            Some("/v1/chat"),
            NOW,
            &mut (),
        )
        .map(|a| format!("{}:{}", a.consumer_name, a.api_id))
    }

    /// The decision for a request signed with the secret `secret` (the check's own
    /// verification is `check::verified`; here a signature is just the secret named).
    fn decide_signed(
        s: &Snapshot,
        access_key: &str,
        secret: &str,
        at: i64,
    ) -> Result<String, Refusal> {
        s.decide_signed(
            access_key,
            |k| k.secrets.contains(&secret.as_bytes()),
            None,
            Some("/v1/chat"),
            at,
            &mut (),
        )
        .map(|a| format!("{}:{}", a.consumer_name, a.api_id))
    }

    fn rows(group_enabled: bool) -> SnapshotRows {
        let mut rotated = key("key-f-new", "cs-alice", true, None);
        rotated.previous_hash = Some(hashed("key-f-old"));
        rotated.previous_expires_at = Some(NOW + 10);
        let mut alice_rotated = hmac("alice-2", "cs-alice", true);
        alice_rotated.previous = Some((b"s-alice-old".to_vec().into(), NOW + 10));
        SnapshotRows {
            revision: 7,
            jwt: vec![
                jwt("alice", "cs-alice", "https://idp.one", true),
                jwt("bob", "cs-bob", "https://idp.one", true),
                jwt("carol", "cs-carol", "https://idp.two", true),
            ],
            hmac: vec![
                hmac("alice", "cs-alice", true),
                alice_rotated,
                hmac("alice-off", "cs-alice", false),
                hmac("carol", "cs-carol", true),
            ],
            limits: Vec::new(),
            quotas: Vec::new(),
            environments: vec![
                EnvironmentRow {
                    id: "env-1".into(),
                    name_key: "default".into(),
                    is_default: true,
                },
                EnvironmentRow {
                    id: "env-2".into(),
                    name_key: "staging".into(),
                    is_default: false,
                },
            ],
            deployments: vec![
                DeploymentRow {
                    api_id: "api-chat".into(),
                    base_path: "/v1/chat".into(),
                    environment_id: "env-1".into(),
                },
                DeploymentRow {
                    api_id: "api-emb".into(),
                    base_path: "/v1/embeddings".into(),
                    environment_id: "env-1".into(),
                },
                DeploymentRow {
                    api_id: "api-root".into(),
                    base_path: "/".into(),
                    environment_id: "env-2".into(),
                },
            ],
            consumers: vec![
                ConsumerRow {
                    id: "cs-alice".into(),
                    name: "alice".into(),
                    enabled: true,
                },
                ConsumerRow {
                    id: "cs-bob".into(),
                    name: "bob".into(),
                    enabled: true,
                },
                ConsumerRow {
                    id: "cs-carol".into(),
                    name: "carol".into(),
                    enabled: false,
                },
            ],
            groups: vec![GroupRow {
                id: "cg-g".into(),
                enabled: group_enabled,
            }],
            memberships: vec![("cg-g".into(), "cs-bob".into())],
            keys: vec![
                key("key-a", "cs-alice", true, None),
                key("key-b", "cs-bob", true, None),
                key("key-c", "cs-carol", true, None),
                key("key-d", "cs-alice", false, None),
                key("key-e", "cs-alice", true, Some(NOW - 1)),
                rotated,
            ],
            rules: vec![
                rule(Some("cs-alice"), None, "api-chat", None),
                rule(None, Some("cg-g"), "api-emb", None),
                rule(Some("cs-carol"), None, "api-chat", None),
                rule(Some("cs-bob"), None, "api-chat", Some(NOW + 5)),
            ],
        }
    }

    fn decide(s: &Snapshot, key: &str, path: &str) -> Result<String, Refusal> {
        s.decide(&h(key), None, Some(path), NOW)
            .map(|a| format!("{}:{}", a.consumer_name, a.api_id))
    }

    /// What a decision is counted under, and its outcome.
    fn counted(s: &Snapshot, key: &str, env: Option<&str>, path: &str) -> (String, [String; 4]) {
        let mut seen = Seen::default();
        let outcome = match s.decide_traced(&h(key), env, Some(path), NOW, &mut seen) {
            Ok(_) => "allowed",
            Err(r) => r.reason(),
        };
        let ids = s.usage_ids(&seen, env);
        (
            outcome.to_owned(),
            [ids.environment, ids.consumer, ids.key, ids.api].map(str::to_owned),
        )
    }

    #[test]
    fn a_decision_is_counted_under_the_ids_it_reached() {
        let s = snapshot(true);
        let ids = |v: [&str; 4]| v.map(str::to_owned);
        assert_eq!(
            counted(&s, "key-a", None, "/v1/chat/x"),
            (
                "allowed".into(),
                ids(["env-1", "cs-alice", "key-id-key-a", "api-chat"])
            )
        );
        // Refused after the route: the API is named.
        assert_eq!(
            counted(&s, "key-a", None, "/v1/embeddings"),
            (
                "no-rule".into(),
                ids(["env-1", "cs-alice", "key-id-key-a", "api-emb"])
            )
        );
        // Refused at the key: the consumer and key are named, the environment is the one asked for.
        assert_eq!(
            counted(&s, "key-d", Some("STAGING"), "/v1/chat"),
            (
                "disabled-key".into(),
                ids(["env-2", "cs-alice", "key-id-key-d", ""])
            )
        );
        assert_eq!(
            counted(&s, "nobody", None, "/v1/chat"),
            ("unknown-key".into(), ids(["env-1", "", "", ""]))
        );
        assert_eq!(
            counted(&s, "key-a", Some("nowhere"), "/v1/chat"),
            (
                "unknown-environment".into(),
                ids(["", "cs-alice", "key-id-key-a", ""])
            )
        );
        // A rotated key's previous value is counted under the same key.
        assert_eq!(
            counted(&s, "key-f-old", None, "/v1/chat").1,
            ids(["env-1", "cs-alice", "key-id-key-f-new", "api-chat"])
        );
        // Patched in: a consumer's keys are renumbered and still counted by their IDs.
        let mut patched = snapshot(true);
        let mut carol = rows(true);
        carol
            .keys
            .retain(|k| k.consumer_id == "cs-alice" && k.id != "key-id-key-a");
        patched.apply(Patch {
            revision: 8,
            limits: Vec::new(),
            quotas: Vec::new(),
            consumers: vec![ConsumerSlice {
                id: "cs-alice".into(),
                row: Some(carol.consumers[0].clone()),
                keys: carol.keys,
                hmac: vec![],
                jwt: vec![],
                groups: vec![],
                rules: vec![rule(Some("cs-alice"), None, "api-chat", None)],
            }],
            groups: vec![],
        });
        assert_eq!(
            counted(&patched, "key-a", None, "/v1/chat").0,
            "unknown-key"
        );
        assert_eq!(
            counted(&patched, "key-f-new", None, "/v1/chat").1,
            ids(["env-1", "cs-alice", "key-id-key-f-new", "api-chat"])
        );
    }

    /// A quota of `amount` requests a day (UTC) on `subject`.
    fn quota(id: &str, subject: &str, amount: i64) -> crate::store::quotas::QuotaRow {
        crate::store::quotas::QuotaRow {
            id: id.into(),
            subject_id: subject.into(),
            metric: crate::domain::quotas::QuotaMetric::Requests,
            period: crate::domain::quotas::QuotaPeriod::Day,
            time_zone: "UTC".into(),
            amount,
            warn_percent: 80,
            generation: 0,
        }
    }

    #[test]
    fn quotas_are_looked_up_by_key_and_group_only_once_one_has_such_a_subject() {
        // The quota (and remaining) that decides for a key's allowed request.
        let deciding = |s: &Snapshot, key: &str| {
            let mut seen = Seen::default();
            s.decide_traced(&h(key), None, Some("/v1/chat"), NOW, &mut seen)
                .unwrap();
            match s.covering(&seen).judge_quotas(NOW) {
                QuotaVerdict::Room(Some(t)) => (t.quota_id.to_owned(), t.remaining),
                other => panic!("{other:?}"),
            }
        };
        let patch = |revision, quotas| Patch {
            revision,
            limits: Vec::new(),
            quotas,
            consumers: vec![],
            groups: vec![],
        };
        let mut r = rows(true);
        r.quotas = vec![quota("qt-alice", "cs-alice", 10)];
        let mut s = Snapshot::build(r);
        assert!(!s.beyond_consumers);
        assert_eq!(deciding(&s, "key-a"), ("qt-alice".into(), 10));
        // A key's quota, patched in, is judged too (and is the tightest).
        s.apply(patch(
            8,
            vec![("qt-key".into(), Some(quota("qt-key", "key-id-key-a", 5)))],
        ));
        assert!(s.beyond_consumers);
        assert_eq!(deciding(&s, "key-a"), ("qt-key".into(), 5));
        // Gone again: only the consumer's.
        s.apply(patch(9, vec![("qt-key".into(), None)]));
        assert!(!s.beyond_consumers);
        assert_eq!(deciding(&s, "key-a"), ("qt-alice".into(), 10));
        // A group's, loaded in full, covers its members.
        let mut r = rows(true);
        r.quotas = vec![quota("qt-bob", "cs-bob", 10), quota("qt-group", "cg-g", 3)];
        let s = Snapshot::build(r);
        assert!(s.beyond_consumers);
        let mut seen = Seen::default();
        s.decide_traced(&h("key-b"), None, Some("/v1/embeddings"), NOW, &mut seen)
            .unwrap();
        assert!(matches!(
            s.covering(&seen).judge_quotas(NOW),
            QuotaVerdict::Room(Some(t)) if t.quota_id == "qt-group"
        ));
    }

    #[test]
    fn a_subjects_limit_and_quotas_are_found_together_and_changed_apart() {
        use crate::domain::limits::LimitPolicy;
        use crate::store::limits::LimitRow;
        let limit = |id: &str, subject: &str, per_second: i64| LimitRow {
            id: id.into(),
            subject_id: subject.into(),
            per_second: Some(per_second),
            per_minute: None,
            policy: LimitPolicy::Local,
        };
        let patch = |revision, limits, quotas| Patch {
            revision,
            limits,
            quotas,
            consumers: vec![],
            groups: vec![],
        };
        let ns = limits::now_ns();
        // What covers alice's allowed request: the limit's per-second and the quota's amount.
        let covering = |s: &Snapshot| {
            let mut seen = Seen::default();
            s.decide_traced(&h("key-a"), None, Some("/v1/chat"), NOW, &mut seen)
                .unwrap();
            let c = s.covering(&seen);
            let limit = match c.admit(ns) {
                Admission::Admitted(w) => Some(w.limit),
                Admission::Unlimited => None,
                other => panic!("{other:?}"),
            };
            let quota = match c.judge_quotas(NOW) {
                QuotaVerdict::Room(t) => t.map(|t| t.amount),
                other => panic!("{other:?}"),
            };
            c.count_quotas();
            (limit, quota)
        };
        let mut r = rows(true);
        r.limits = vec![limit("rl-alice", "cs-alice", 50)];
        r.quotas = vec![quota("qt-alice", "cs-alice", 1000)];
        let mut s = Snapshot::build(r);
        assert_eq!(covering(&s), (Some(50), Some(1000)));
        // The limit changed, then gone: the quota stays, and keeps its count.
        s.apply(patch(
            8,
            vec![("rl-alice".into(), Some(limit("rl-alice", "cs-alice", 5)))],
            vec![],
        ));
        assert_eq!(covering(&s), (Some(5), Some(1000)));
        s.apply(patch(9, vec![("rl-alice".into(), None)], vec![]));
        assert_eq!(covering(&s), (None, Some(1000)));
        let used = |s: &Snapshot| s.all_quotas().map(|q| q.used()).sum::<i64>();
        assert_eq!(used(&s), 3);
        // The quota gone too: nothing is left of alice's controls.
        s.apply(patch(10, vec![], vec![("qt-alice".into(), None)]));
        assert_eq!(covering(&s), (None, None));
        assert!(s.controls.is_empty());
        // What the access explainer is shown: each subject's limit and quotas, by subject:
        // the key's, the consumer's, its groups' (bob is in `cg-g`).
        s.apply(patch(
            11,
            vec![
                ("rl-key".into(), Some(limit("rl-key", "key-id-key-b", 7))),
                ("rl-bob".into(), Some(limit("rl-bob", "cs-bob", 8))),
                ("rl-g".into(), Some(limit("rl-g", "cg-g", 9))),
            ],
            vec![("qt-bob".into(), Some(quota("qt-bob", "cs-bob", 1000)))],
        ));
        let limits = |key| -> Vec<(String, String)> {
            s.limits_covering("cs-bob", key)
                .into_iter()
                .map(|(subject, l)| (subject.to_owned(), l.id.to_string()))
                .collect()
        };
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        let (key, bob, group) = (
            pair("key-id-key-b", "rl-key"),
            pair("cs-bob", "rl-bob"),
            pair("cg-g", "rl-g"),
        );
        assert_eq!(
            limits(Some("key-id-key-b")),
            [key, bob.clone(), group.clone()]
        );
        assert_eq!(limits(None), [bob, group]);
        let quotas = s.quotas_covering("cs-bob", Some("key-id-key-b"));
        assert_eq!(quotas.len(), 1);
        assert_eq!((quotas[0].0, &*quotas[0].1.id), ("cs-bob", "qt-bob"));
        assert!(s.limits_covering("cs-nobody", None).is_empty());
        s.apply(patch(
            12,
            ["rl-key", "rl-bob", "rl-g"]
                .map(|id| (id.into(), None))
                .into(),
            vec![("qt-bob".into(), None)],
        ));
        assert!(s.controls.is_empty());
        // Both again, then a full load that adopts the counts of the snapshot it replaces.
        s.apply(patch(
            13,
            vec![("rl-alice".into(), Some(limit("rl-alice", "cs-alice", 2)))],
            vec![("qt-alice".into(), Some(quota("qt-alice", "cs-alice", 1000)))],
        ));
        assert_eq!(covering(&s), (Some(2), Some(1000)));
        let mut r = rows(true);
        r.limits = vec![limit("rl-alice", "cs-alice", 2)];
        r.quotas = vec![quota("qt-alice", "cs-alice", 1000)];
        let mut fresh = Snapshot::build(r);
        fresh.adopt_limit_states(&s);
        assert_eq!(used(&fresh), 1);
        // The limit's one request a second left is taken; the next is refused.
        assert_eq!(covering(&fresh), (Some(2), Some(1000)));
        let mut seen = Seen::default();
        fresh
            .decide_traced(&h("key-a"), None, Some("/v1/chat"), NOW, &mut seen)
            .unwrap();
        assert!(matches!(
            fresh.covering(&seen).admit(ns),
            Admission::Refused { .. }
        ));
    }

    #[test]
    fn every_refusal_but_an_unknown_gateway_is_an_outcome_usage_can_be_asked_about() {
        use crate::domain::usage::OUTCOMES;
        let all = [
            Refusal::NoKey,
            Refusal::UnknownKey,
            Refusal::DisabledKey,
            Refusal::ExpiredKey,
            Refusal::DisabledConsumer,
            Refusal::BadSignature,
            Refusal::BadToken,
            Refusal::UnknownEnvironment,
            Refusal::BadPath,
            Refusal::CaseMismatch,
            Refusal::NoApi,
            Refusal::NoRule,
        ];
        for r in all {
            assert!(OUTCOMES.contains(&r.reason()), "{r:?}");
        }
        assert_eq!(OUTCOMES.len(), all.len() + 3);
    }

    #[test]
    fn a_rule_grants_exactly_while_the_console_shows_it_in_effect() {
        use crate::domain::authorization::{expire_status, ExpireStatus};
        for (mode, at) in [
            ("LongTerm", None),
            ("ShortTerm", Some(NOW + 1)),
            ("ShortTerm", Some(NOW)),
            ("ShortTerm", Some(NOW - 1)),
            ("ShortTerm", None),
            ("Forever", None),
        ] {
            let mut r = rows(true);
            r.rules = vec![RuleRow {
                expire_mode: mode.into(),
                expire_at: at,
                ..rule(Some("cs-alice"), None, "api-chat", None)
            }];
            let granted = decide(&Snapshot::build(r), "key-a", "/v1/chat").is_ok();
            let shown = ExpireMode::parse(mode)
                .map(|m| expire_status(m, at, NOW) == ExpireStatus::InEffect)
                .unwrap_or(false);
            assert_eq!(granted, shown, "{mode} {at:?}");
        }
    }

    #[test]
    fn a_path_that_matches_a_base_path_only_when_case_is_ignored_is_refused() {
        let s = snapshot(true);
        assert_eq!(decide(&s, "key-a", "/V1/chat"), Err(Refusal::CaseMismatch));
        assert_eq!(
            decide(&s, "key-a", "/v1/Chat/completions"),
            Err(Refusal::CaseMismatch)
        );
        assert_eq!(
            decide(&s, "key-b", "/v1/EMBEDDINGS"),
            Err(Refusal::CaseMismatch)
        );
        assert_eq!(
            decide(&s, "key-a", "/v1/chat/Completions").unwrap(),
            "alice:api-chat"
        );
    }

    #[test]
    fn base_paths_that_differ_only_in_case_refuse_both() {
        let mut r = rows(true);
        r.deployments.push(DeploymentRow {
            api_id: "api-chat-upper".into(),
            base_path: "/v1/CHAT".into(),
            environment_id: "env-1".into(),
        });
        let s = Snapshot::build(r);
        assert_eq!(decide(&s, "key-a", "/v1/chat"), Err(Refusal::CaseMismatch));
        assert_eq!(
            decide(&s, "key-a", "/v1/CHAT/x"),
            Err(Refusal::CaseMismatch)
        );
    }

    #[test]
    fn a_direct_rule_lets_the_consumer_through_below_the_base_path() {
        let s = snapshot(true);
        assert_eq!(
            decide(&s, "key-a", "/v1/chat/completions").unwrap(),
            "alice:api-chat"
        );
        assert_eq!(decide(&s, "key-a", "/v1/chat").unwrap(), "alice:api-chat");
        assert_eq!(decide(&s, "key-a", "/v1/embeddings"), Err(Refusal::NoRule));
        assert_eq!(decide(&s, "key-a", "/v1/chatx"), Err(Refusal::NoApi));
    }

    #[test]
    fn keys_are_refused_when_unknown_disabled_or_expired() {
        let s = snapshot(true);
        assert_eq!(decide(&s, "nope", "/v1/chat"), Err(Refusal::UnknownKey));
        assert_eq!(decide(&s, "key-d", "/v1/chat"), Err(Refusal::DisabledKey));
        assert_eq!(decide(&s, "key-e", "/v1/chat"), Err(Refusal::ExpiredKey));
        assert_eq!(
            decide(&s, "key-c", "/v1/chat"),
            Err(Refusal::DisabledConsumer)
        );
    }

    #[test]
    fn a_rotated_key_keeps_its_old_value_only_for_the_grace_period() {
        let s = snapshot(true);
        assert!(decide(&s, "key-f-new", "/v1/chat").is_ok());
        assert!(decide(&s, "key-f-old", "/v1/chat").is_ok());
        let later = s.decide(&h("key-f-old"), None, Some("/v1/chat"), NOW + 10);
        assert_eq!(later, Err(Refusal::ExpiredKey));
        assert!(s
            .decide(&h("key-f-new"), None, Some("/v1/chat"), NOW + 10)
            .is_ok());
    }

    #[test]
    fn group_rules_count_only_while_the_group_is_enabled() {
        assert_eq!(
            decide(&snapshot(true), "key-b", "/v1/embeddings").unwrap(),
            "bob:api-emb"
        );
        assert_eq!(
            decide(&snapshot(false), "key-b", "/v1/embeddings"),
            Err(Refusal::NoRule)
        );
    }

    #[test]
    fn short_term_rules_expire_at_request_time() {
        let s = snapshot(true);
        assert!(s
            .decide(&h("key-b"), None, Some("/v1/chat"), NOW + 4)
            .is_ok());
        assert_eq!(
            s.decide(&h("key-b"), None, Some("/v1/chat"), NOW + 5),
            Err(Refusal::NoRule)
        );
    }

    #[test]
    fn environments_are_chosen_by_id_or_name_and_default_otherwise() {
        let s = snapshot(true);
        assert_eq!(
            s.decide(&h("key-a"), Some("Staging"), Some("/v1/chat"), NOW),
            Err(Refusal::NoRule)
        );
        assert_eq!(
            s.decide(&h("key-a"), Some("env-2"), Some("/anything"), NOW),
            Err(Refusal::NoRule)
        );
        assert_eq!(
            s.decide(&h("key-a"), Some("prod"), Some("/v1/chat"), NOW),
            Err(Refusal::UnknownEnvironment)
        );
        assert!(s
            .decide(&h("key-a"), Some("default"), Some("/v1/chat"), NOW)
            .is_ok());
    }

    #[test]
    fn refusals_split_into_401_and_403() {
        assert!(Refusal::ExpiredKey.is_authentication());
        assert!(Refusal::DisabledConsumer.is_authentication());
        assert!(!Refusal::NoRule.is_authentication());
        assert!(!Refusal::BadPath.is_authentication());
    }

    #[test]
    fn a_refused_path_is_judged_after_the_key() {
        let s = snapshot(true);
        assert_eq!(
            s.decide(&h("nope"), None, None, NOW),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            s.decide(&h("key-a"), None, None, NOW),
            Err(Refusal::BadPath)
        );
    }

    /// The consumer and group slices of `ids` as the rows have them now.
    fn slices(rows: &SnapshotRows, consumers: &[&str], groups: &[&str]) -> Patch {
        Patch {
            revision: rows.revision,
            limits: Vec::new(),
            quotas: Vec::new(),
            consumers: consumers
                .iter()
                .map(|id| ConsumerSlice {
                    id: (*id).into(),
                    row: rows.consumers.iter().find(|c| c.id == *id).cloned(),
                    hmac: rows
                        .hmac
                        .iter()
                        .filter(|h| h.consumer_id == *id)
                        .cloned()
                        .collect(),
                    jwt: rows
                        .jwt
                        .iter()
                        .filter(|j| j.consumer_id == *id)
                        .cloned()
                        .collect(),
                    keys: rows
                        .keys
                        .iter()
                        .filter(|k| k.consumer_id == *id)
                        .cloned()
                        .collect(),
                    groups: rows
                        .memberships
                        .iter()
                        .filter(|(_, c)| c == id)
                        .map(|(g, _)| g.clone())
                        .collect(),
                    rules: rows
                        .rules
                        .iter()
                        .filter(|r| r.consumer_id.as_deref() == Some(*id))
                        .cloned()
                        .collect(),
                })
                .collect(),
            groups: groups
                .iter()
                .map(|id| GroupSlice {
                    id: (*id).into(),
                    row: rows.groups.iter().find(|g| g.id == *id).cloned(),
                    rules: rows
                        .rules
                        .iter()
                        .filter(|r| r.group_id.as_deref() == Some(*id))
                        .cloned()
                        .collect(),
                })
                .collect(),
        }
    }

    #[test]
    fn patching_the_changed_consumers_and_groups_equals_a_full_load() {
        let mut patched = snapshot(true);
        let mut now = rows(true);
        now.revision = 12;
        // alice disabled and her rotated key gone; bob out of the group; carol deleted with
        // her key and rule; dan new, in a new group with its own rule; the group disabled.
        now.consumers[0].enabled = false;
        now.keys.retain(|k| k.key_hash != Some(hashed("key-f-new")));
        now.memberships.clear();
        now.consumers.retain(|c| c.id != "cs-carol");
        now.keys.retain(|k| k.consumer_id != "cs-carol");
        now.rules
            .retain(|r| r.consumer_id.as_deref() != Some("cs-carol"));
        now.consumers.push(ConsumerRow {
            id: "cs-dan".into(),
            name: "dan".into(),
            enabled: true,
        });
        now.keys
            .push(key("key-dan", "cs-dan", true, Some(NOW + 99)));
        // alice's first HMAC credential disabled, her rotated one rotated again at once;
        // carol's gone with her; dan has one.
        now.hmac[0].enabled = false;
        now.hmac[1].secret = b"s-alice-3".to_vec().into();
        now.hmac[1].previous = None;
        now.hmac.retain(|h| h.consumer_id != "cs-carol");
        now.hmac.push(hmac("dan", "cs-dan", true));
        // alice's JWT credential disabled, carol's gone with her, dan gets one.
        now.jwt[0].enabled = false;
        now.jwt.retain(|j| j.consumer_id != "cs-carol");
        now.jwt.push(jwt("dan", "cs-dan", "https://idp.one", true));
        now.groups.push(GroupRow {
            id: "cg-new".into(),
            enabled: true,
        });
        now.memberships.push(("cg-new".into(), "cs-dan".into()));
        now.rules
            .push(rule(None, Some("cg-new"), "api-chat", Some(NOW + 50)));
        now.groups[0].enabled = false;
        let consumers = ["cs-alice", "cs-bob", "cs-carol", "cs-dan"];
        patched.apply(slices(&now, &consumers, &["cg-g", "cg-new"]));
        let full = Snapshot::build(now);
        assert_eq!(patched.canonical(), full.canonical());
        assert_eq!(patched.revision, 12);
        assert_eq!(
            decide(&patched, "key-dan", "/v1/chat").unwrap(),
            "dan:api-chat"
        );
        assert_eq!(
            decide(&patched, "key-c", "/v1/chat"),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide(&patched, "key-f-new", "/v1/chat"),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide(&patched, "key-a", "/v1/chat"),
            Err(Refusal::DisabledConsumer)
        );
        assert_eq!(
            decide(&patched, "key-b", "/v1/embeddings"),
            Err(Refusal::NoRule)
        );
        assert_eq!(
            decide_signed(&patched, "ak-dan", "s-dan", NOW).unwrap(),
            "dan:api-chat"
        );
        assert_eq!(
            decide_token(&patched, "https://idp.one", "dan", true).unwrap(),
            "dan:api-chat"
        );
        assert_eq!(
            decide_token(&patched, "https://idp.two", "carol", true),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide_token(&patched, "https://idp.one", "alice", true),
            Err(Refusal::DisabledKey)
        );
        assert_eq!(
            decide_signed(&patched, "ak-carol", "s-carol", NOW),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide_signed(&patched, "ak-alice", "s-alice", NOW),
            Err(Refusal::DisabledKey)
        );
        assert_eq!(
            decide_signed(&patched, "ak-alice-2", "s-alice-2", NOW),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn a_token_is_judged_by_the_credential_its_issuer_and_subject_pick_then_by_the_rules() {
        let s = snapshot(true);
        assert_eq!(s.jwt_count(), 3);
        assert_eq!(
            decide_token(&s, "https://idp.one", "alice", true).unwrap(),
            "alice:api-chat"
        );
        // The same subject under another issuer, another subject under this one: unknown.
        assert_eq!(
            decide_token(&s, "https://idp.two", "alice", true),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide_token(&s, "https://idp.one", "mallory", true),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide_token(&s, "https://idp.one", "alice", false),
            Err(Refusal::BadToken)
        );
        // bob's own rule for chat ends at NOW + 5: still in effect.
        assert_eq!(
            decide_token(&s, "https://idp.one", "bob", true).unwrap(),
            "bob:api-chat"
        );
        assert_eq!(
            decide_token(&s, "https://idp.two", "carol", true),
            Err(Refusal::DisabledConsumer)
        );
        let mut seen = Seen::default();
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), serde_json::json!("alice"));
        let peeked = crate::enforce::jwt::Unverified {
            algorithm: jsonwebtoken::Algorithm::HS256,
            kid: None,
            hash: [1; 32],
            issuer: "https://idp.one".into(),
            claims,
        };
        let _ = s.decide_token(
            &peeked,
            &Default::default(),
            |_| true,
            None,
            Some("/v1/chat"),
            NOW,
            &mut seen,
        );
        let ids = s.usage_ids(&seen, None);
        assert_eq!((ids.consumer, ids.key), ("cs-alice", "cred-jwt-alice"));
    }

    #[test]
    fn a_verified_token_is_remembered_until_it_expires_and_not_past_a_change() {
        let mut s = snapshot(true);
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), serde_json::json!("alice"));
        // exp in seconds; NOW is in ms. Good until exp + the 60 s skew.
        claims.insert("exp".into(), serde_json::json!(NOW / 1000 + 10));
        let peeked = crate::enforce::jwt::Unverified {
            algorithm: jsonwebtoken::Algorithm::HS256,
            kid: None,
            hash: [7; 32],
            issuer: "https://idp.one".into(),
            claims,
        };
        let decide = |s: &Snapshot, verifies: bool, at: i64| {
            s.decide_token(
                &peeked,
                &Default::default(),
                |_| verifies,
                None,
                Some("/v1/chat"),
                at,
                &mut (),
            )
            .is_ok()
        };
        assert!(
            !decide(&s, false, NOW),
            "not verified: refused, not remembered"
        );
        assert!(decide(&s, true, NOW));
        assert!(decide(&s, false, NOW + 1), "remembered: not verified again");
        assert!(decide(&s, false, NOW + 69_999));
        assert!(
            !decide(&s, false, NOW + 70_000),
            "past exp + skew: verified again"
        );
        assert!(decide(&s, true, NOW));
        // A patch that re-reads alice builds her credentials anew: verified again.
        let mut rows = rows(true);
        rows.revision = 8;
        s.apply(slices(&rows, &["cs-alice"], &[]));
        assert!(!decide(&s, false, NOW + 1));
    }

    #[test]
    fn a_token_finds_its_credential_by_any_claim_its_issuer_uses_until_a_patch_drops_it() {
        let by_client_id = || {
            let mut r = rows(true);
            let bob = r.jwt.iter_mut().find(|j| j.id == "cred-jwt-bob").unwrap();
            bob.consumer_claim = "client_id".into();
            bob.subject = "bob-client".into();
            r
        };
        let mut s = Snapshot::build(by_client_id());
        let token = |claims: serde_json::Value| crate::enforce::jwt::Unverified {
            algorithm: jsonwebtoken::Algorithm::HS256,
            kid: None,
            hash: [3; 32],
            issuer: "https://idp.one".into(),
            claims: claims.as_object().unwrap().clone(),
        };
        let whose = |s: &Snapshot, claims: serde_json::Value| {
            s.token_credential_id(&token(claims)).map(str::to_owned)
        };
        use serde_json::json;
        assert_eq!(
            whose(&s, json!({"client_id": "bob-client"})).as_deref(),
            Some("cred-jwt-bob")
        );
        assert_eq!(
            whose(&s, json!({"sub": "alice", "client_id": "nobody"})).as_deref(),
            Some("cred-jwt-alice")
        );
        assert_eq!(
            whose(&s, json!({"sub": "bob-client"})),
            None,
            "bob's is by client_id"
        );
        assert_eq!(
            whose(&s, json!({"client_id": "alice"})),
            None,
            "alice's is by sub"
        );
        assert_eq!(
            whose(&s, json!({"sub": "alice\0sub\0alice"})),
            None,
            "a value cannot reach into another's key"
        );
        // bob's credential is removed: nothing under this issuer is found by client_id.
        let without_bob = || {
            let mut r = by_client_id();
            r.jwt.retain(|j| j.id != "cred-jwt-bob");
            r.revision = 8;
            r
        };
        s.apply(slices(&without_bob(), &["cs-bob"], &[]));
        assert_eq!(whose(&s, json!({"client_id": "bob-client"})), None);
        assert_eq!(
            whose(&s, json!({"sub": "alice"})).as_deref(),
            Some("cred-jwt-alice")
        );
        assert_eq!(s.canonical(), Snapshot::build(without_bob()).canonical());
    }

    #[test]
    fn a_jwks_credential_verifies_with_the_set_fetched_and_again_after_a_new_one() {
        use crate::enforce::jwks::{tests::set_of, Jwks, KEEP_LAST_GOOD_MS};
        let url = "https://idp.one/jwks";
        let mut r = rows(true);
        let alice = r.jwt.iter_mut().find(|j| j.id == "cred-jwt-alice").unwrap();
        alice.algorithms = vec![crate::domain::credentials::JwtAlgorithm::ES256];
        alice.key = JwtKey::Jwks {
            url: url.into(),
            refresh_secs: 300,
        };
        let s = Snapshot::build(r);
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), serde_json::json!("alice"));
        claims.insert("exp".into(), serde_json::json!(NOW / 1000 + 600));
        let peeked = crate::enforce::jwt::Unverified {
            algorithm: jsonwebtoken::Algorithm::ES256,
            kid: Some("a".into()),
            hash: [9; 32],
            issuer: "https://idp.one".into(),
            claims,
        };
        assert_eq!(s.jwks_source(&peeked), Some((url.into(), 300_000)));
        let jwks = Jwks::default();
        let decide = |verifies: bool, at: i64| {
            s.decide_token(
                &peeked,
                &jwks,
                |k| verifies && !k.keys.is_empty(),
                None,
                Some("/v1/chat"),
                at,
                &mut (),
            )
            .is_ok()
        };
        assert!(!decide(true, NOW), "no set fetched: no key verifies");
        jwks.put(url, &set_of("a"), NOW);
        assert!(decide(true, NOW));
        assert!(decide(false, NOW + 1), "remembered");
        jwks.put(url, &set_of("b"), NOW + 2);
        assert!(!decide(false, NOW + 3), "a new set: verified again");
        assert!(!decide(true, NOW + 3), "the set holds no key `a` any more");
        jwks.put(url, &set_of("a"), NOW);
        assert!(decide(true, NOW + 4));
        assert!(
            !decide(true, NOW + KEEP_LAST_GOOD_MS),
            "a day after its fetch the set verifies nothing"
        );
        // bob's credential is not of a JWKS URL.
        let mut bob = peeked;
        bob.claims.insert("sub".into(), serde_json::json!("bob"));
        assert_eq!(s.jwks_source(&bob), None);
        // A patch that re-reads alice with her public-key credential back: no JWKS left.
        let mut s = s;
        let mut plain = rows(true);
        plain.revision = 8;
        s.apply(slices(&plain, &["cs-alice"], &[]));
        bob.claims.insert("sub".into(), serde_json::json!("alice"));
        assert_eq!(s.jwks_entries, 0);
        assert_eq!(s.jwks_source(&bob), None);
    }

    #[test]
    fn a_signed_request_is_judged_by_its_credential_then_by_the_rules() {
        let s = snapshot(true);
        assert_eq!(s.hmac_count(), 4);
        assert_eq!(
            decide_signed(&s, "ak-alice", "s-alice", NOW).unwrap(),
            "alice:api-chat"
        );
        assert_eq!(
            decide_signed(&s, "ak-alice", "s-bob", NOW),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            decide_signed(&s, "ak-nobody", "s-alice", NOW),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            decide_signed(&s, "ak-alice-off", "s-alice-off", NOW),
            Err(Refusal::DisabledKey)
        );
        // carol's own credential verifies, but carol is disabled.
        assert_eq!(
            decide_signed(&s, "ak-carol", "s-carol", NOW),
            Err(Refusal::DisabledConsumer)
        );
        // A rotated credential: the new secret always, the previous one until its grace ends.
        assert!(decide_signed(&s, "ak-alice-2", "s-alice-2", NOW + 10).is_ok());
        assert!(decide_signed(&s, "ak-alice-2", "s-alice-old", NOW + 9).is_ok());
        assert_eq!(
            decide_signed(&s, "ak-alice-2", "s-alice-old", NOW + 10),
            Err(Refusal::BadSignature)
        );
        // Counted under the credential's ID, as a key's decisions are under the key's.
        let mut seen = Seen::default();
        let _ = s.decide_signed("ak-alice", |_| true, None, Some("/v1/chat"), NOW, &mut seen);
        let ids = s.usage_ids(&seen, None);
        assert_eq!((ids.consumer, ids.key), ("cs-alice", "cred-alice"));
    }

    #[test]
    fn the_canonical_form_tells_different_snapshots_apart() {
        assert_ne!(snapshot(true).canonical(), snapshot(false).canonical());
        assert_eq!(snapshot(true).canonical(), snapshot(true).canonical());
    }
}
