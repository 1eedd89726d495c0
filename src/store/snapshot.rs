//! What the enforcement snapshot reads: every row of one instance that decides a request
//! (a full load), or only what the change journal says changed since a revision (a patch).
//! Each read happens in one transaction, so the rows and the revision belong together.

use super::read::{Read, Reader};
use super::{audit, Arg, Backend, Db};
use crate::domain::IdKind;
use std::collections::BTreeSet;

/// The rows a snapshot is built from, as the store reads them.
#[derive(Debug, Default)]
pub struct SnapshotRows {
    pub revision: i64,
    pub environments: Vec<EnvironmentRow>,
    pub deployments: Vec<DeploymentRow>,
    pub consumers: Vec<ConsumerRow>,
    pub groups: Vec<GroupRow>,
    /// (group ID, consumer ID)
    pub memberships: Vec<(String, String)>,
    pub keys: Vec<KeyRow>,
    /// The HMAC credentials, their secrets opened.
    pub hmac: Vec<HmacCredential>,
    /// The JWT credentials, generated secrets opened.
    pub jwt: Vec<JwtCredential>,
    pub rules: Vec<RuleRow>,
    pub limits: Vec<super::limits::LimitRow>,
    pub quotas: Vec<super::quotas::QuotaRow>,
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct EnvironmentRow {
        pub id: String,
        pub name_key: String,
        pub is_default: bool,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct DeploymentRow {
        pub api_id: String,
        pub base_path: String,
        pub environment_id: String,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct ConsumerRow {
        pub id: String,
        pub name: String,
        pub enabled: bool,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct GroupRow {
        pub id: String,
        pub enabled: bool,
    }
}

/// A key's stored hash (hex SHA-256), decoded as it is read: a million keys are a million
/// fewer strings to allocate and free.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyHash(pub [u8; 32]);

impl KeyHash {
    pub fn from_hex(hex_hash: &str) -> Option<KeyHash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_hash, &mut out).ok()?;
        Some(KeyHash(out))
    }
}

/// A stored value that is not 64 hex digits (none is ever written) reads as `None`: such a
/// key authenticates nothing and is left out, and the rest of the gateway still loads.
impl super::row::Column for Option<KeyHash> {
    fn from_any(row: &sqlx::any::AnyRow, name: &str) -> Result<Self, sqlx::Error> {
        let stored = Option::<String>::from_any(row, name)?;
        Ok(stored.as_deref().and_then(KeyHash::from_hex))
    }

    fn from_lite(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Self> {
        let stored = row.get_ref(at)?.as_str_or_null()?;
        Ok(stored.and_then(KeyHash::from_hex))
    }
}

super::row::row! {
    /// A bound key (unbound keys authenticate nobody and are not loaded).
    #[derive(Debug, Clone)]
    pub struct KeyRow {
        /// The key's ID (`key-…`), which usage is counted by.
        pub id: String,
        /// None when the stored value is not a hash (see `KeyHash`).
        pub key_hash: Option<KeyHash>,
        pub previous_hash: Option<KeyHash>,
        pub previous_expires_at: Option<i64>,
        pub consumer_id: String,
        pub enabled: bool,
        pub expires_at: Option<i64>,
    }
}

super::row::row! {
    /// An HMAC credential as stored, its secrets sealed.
    struct HmacRow {
        id: String,
        access_key: Option<String>,
        consumer_id: String,
        enabled: bool,
        algorithms: String,
        clock_skew_secs: i64,
        secret_sealed: Option<String>,
        previous_sealed: Option<String>,
        previous_expires_at: Option<i64>,
    }
}

/// An HMAC credential as the check verifies it: its secret opened (and, during a
/// rotation's grace period, the previous one with when it stops).
#[derive(Clone)]
pub struct HmacCredential {
    /// `cred-…`, which usage is counted by.
    pub id: String,
    pub access_key: String,
    pub consumer_id: String,
    pub enabled: bool,
    pub algorithm: crate::domain::credentials::HmacAlgorithm,
    pub clock_skew_secs: i64,
    pub secret: Box<[u8]>,
    pub previous: Option<(Box<[u8]>, i64)>,
}

/// Never the secrets.
impl std::fmt::Debug for HmacCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HmacCredential")
            .field("id", &self.id)
            .field("access_key", &self.access_key)
            .field("consumer_id", &self.consumer_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

super::row::row! {
    /// A JWT credential as stored, a generated secret sealed.
    struct JwtRow {
        id: String,
        consumer_id: String,
        enabled: bool,
        algorithms: String,
        clock_skew_secs: i64,
        issuer: Option<String>,
        consumer_claim: Option<String>,
        subject: Option<String>,
        audience: Option<String>,
        max_lifetime_secs: Option<i64>,
        key_source: Option<String>,
        public_key: Option<String>,
        jwks_url: Option<String>,
        jwks_refresh_secs: Option<i64>,
        secret_sealed: Option<String>,
        previous_sealed: Option<String>,
        previous_expires_at: Option<i64>,
    }
}

/// What verifies a JWT credential's tokens.
#[derive(Clone)]
pub enum JwtKey {
    /// A public key as given (PEM or JWK), parsed when the snapshot is built.
    Public(String),
    /// The keys of a JWKS document, fetched by the check (see `enforce::jwks`) and fetched
    /// again every `refresh_secs`.
    Jwks { url: String, refresh_secs: i64 },
    /// A generated HS256 secret, opened (and, during a rotation's grace period, the previous
    /// one with when it stops).
    Secret {
        secret: Box<[u8]>,
        previous: Option<(Box<[u8]>, i64)>,
    },
}

/// A JWT credential as the check verifies it.
#[derive(Clone)]
pub struct JwtCredential {
    /// `cred-…`, which usage is counted by.
    pub id: String,
    pub consumer_id: String,
    pub enabled: bool,
    pub issuer: String,
    pub consumer_claim: String,
    pub subject: String,
    pub audience: Option<String>,
    pub algorithms: Vec<crate::domain::credentials::JwtAlgorithm>,
    pub max_lifetime_secs: i64,
    pub clock_skew_secs: i64,
    pub key: JwtKey,
}

/// Never the secrets.
impl std::fmt::Debug for JwtCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtCredential")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("consumer_id", &self.consumer_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

const JWT_COLUMNS: &str = "id, consumer_id, enabled, algorithms, clock_skew_secs, issuer, \
     consumer_claim, subject, audience, max_lifetime_secs, key_source, public_key, jwks_url, \
     jwks_refresh_secs, secret_sealed, previous_sealed, previous_expires_at";

/// Opens the generated secrets of stored JWT credentials; one that does not open is left out
/// as an HMAC credential is (see [`open_hmac`]).
fn open_jwt(rows: Vec<JwtRow>, keyring: Option<&crate::secrets::Keyring>) -> Vec<JwtCredential> {
    use crate::domain::credentials::JwtAlgorithm;
    rows.into_iter()
        .filter_map(|r| {
            let key = match (r.key_source.as_deref(), &r.public_key) {
                (Some("PublicKey"), Some(pem)) => Ok(JwtKey::Public(pem.clone())),
                (Some("JwksUrl"), _) => match (&r.jwks_url, r.jwks_refresh_secs) {
                    (Some(url), Some(refresh_secs)) => Ok(JwtKey::Jwks {
                        url: url.clone(),
                        refresh_secs,
                    }),
                    _ => Err("it has no JWKS URL"),
                },
                (Some("GeneratedSecret"), _) => open_secrets(
                    keyring,
                    &r.id,
                    r.secret_sealed.as_deref(),
                    r.previous_sealed.as_deref(),
                    r.previous_expires_at,
                )
                .map(|(secret, previous)| JwtKey::Secret { secret, previous }),
                _ => Err("its key source is not one the check verifies"),
            };
            match key {
                Ok(key) => Some(JwtCredential {
                    algorithms: r.algorithms.split(',').filter_map(JwtAlgorithm::parse).collect(),
                    id: r.id,
                    consumer_id: r.consumer_id,
                    enabled: r.enabled,
                    issuer: r.issuer.unwrap_or_default(),
                    consumer_claim: r.consumer_claim.unwrap_or_default(),
                    subject: r.subject.unwrap_or_default(),
                    audience: r.audience,
                    max_lifetime_secs: r.max_lifetime_secs.unwrap_or_default(),
                    clock_skew_secs: r.clock_skew_secs,
                    key,
                }),
                Err(why) => {
                    tracing::error!(credential = %r.id, "a JWT credential is left out of enforcement: {why}");
                    None
                }
            }
        })
        .collect()
}

/// A credential's secret and, during a grace period, its previous one, opened.
type Opened = (Box<[u8]>, Option<(Box<[u8]>, i64)>);

fn open_secrets(
    keyring: Option<&crate::secrets::Keyring>,
    id: &str,
    sealed: Option<&str>,
    previous: Option<&str>,
    previous_until: Option<i64>,
) -> Result<Opened, &'static str> {
    let keyring = keyring.ok_or("no key-encryption keyring is loaded")?;
    let open = |sealed: &str| {
        keyring
            .open(sealed, id)
            .map(Vec::into_boxed_slice)
            .map_err(|_| "its secret does not open with this keyring")
    };
    let secret = open(sealed.ok_or("it has no secret")?)?;
    let previous = match (previous, previous_until) {
        (Some(sealed), Some(until)) => Some((open(sealed)?, until)),
        _ => None,
    };
    Ok((secret, previous))
}

const HMAC_COLUMNS: &str = "id, access_key, consumer_id, enabled, algorithms, clock_skew_secs, \
     secret_sealed, previous_sealed, previous_expires_at";

/// Opens the secrets of stored HMAC credentials. One that does not open (sealed with a key
/// the keyring no longer holds, or no keyring loaded) is left out with an error in the
/// log naming it, and signs nothing: the rest of the gateway still loads.
fn open_hmac(rows: Vec<HmacRow>, keyring: Option<&crate::secrets::Keyring>) -> Vec<HmacCredential> {
    rows.into_iter()
        .filter_map(|r| {
            let opened = (|| {
                let (secret, previous) = open_secrets(
                    keyring,
                    &r.id,
                    r.secret_sealed.as_deref(),
                    r.previous_sealed.as_deref(),
                    r.previous_expires_at,
                )?;
                let algorithm = crate::domain::credentials::HmacAlgorithm::parse(&r.algorithms)
                    .ok_or("its algorithm is unknown")?;
                let access_key = r.access_key.clone().ok_or("it has no access key")?;
                Ok::<_, &str>((secret, previous, algorithm, access_key))
            })();
            match opened {
                Ok((secret, previous, algorithm, access_key)) => Some(HmacCredential {
                    id: r.id,
                    access_key,
                    consumer_id: r.consumer_id,
                    enabled: r.enabled,
                    algorithm,
                    clock_skew_secs: r.clock_skew_secs,
                    secret,
                    previous,
                }),
                Err(why) => {
                    tracing::error!(credential = %r.id, "an HMAC credential is left out of enforcement: {why}");
                    None
                }
            }
        })
        .collect()
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct RuleRow {
        pub consumer_id: Option<String>,
        pub group_id: Option<String>,
        // Shared: a gateway's million rules name a handful of APIs and environments.
        pub api_id: std::sync::Arc<str>,
        pub environment_id: std::sync::Arc<str>,
        pub expire_mode: std::sync::Arc<str>,
        pub expire_at: Option<i64>,
    }
}

/// A consumer as it is now: its row (none once deleted), bound keys, groups and direct rules.
#[derive(Debug, Clone)]
pub struct ConsumerSlice {
    pub id: String,
    pub row: Option<ConsumerRow>,
    pub keys: Vec<KeyRow>,
    pub hmac: Vec<HmacCredential>,
    pub jwt: Vec<JwtCredential>,
    pub groups: Vec<String>,
    pub rules: Vec<RuleRow>,
}

/// A group as it is now: its row (none once deleted) and its rules.
#[derive(Debug, Clone)]
pub struct GroupSlice {
    pub id: String,
    pub row: Option<GroupRow>,
    pub rules: Vec<RuleRow>,
}

/// What changed between two revisions, re-read in full: applying it to the snapshot of the
/// older revision gives the snapshot of the newer one.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    pub revision: i64,
    pub consumers: Vec<ConsumerSlice>,
    pub groups: Vec<GroupSlice>,
    /// Rate limits by ID, as they are now (none once removed).
    pub limits: Vec<(String, Option<super::limits::LimitRow>)>,
    /// Quotas by ID, as they are now (none once removed).
    pub quotas: Vec<(String, Option<super::quotas::QuotaRow>)>,
}

/// More changes than this since the snapshot's revision: load in full instead of patching.
pub const MAX_PATCH: i64 = 2_000;

super::row::row! {
    struct RevisionRow {
        id: String,
        revision: i64,
    }
}

/// The change counter of every instance.
pub async fn revisions(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let rows: Vec<RevisionRow> = db
        .reader()
        .await?
        .all("SELECT id, revision FROM instances", &[])
        .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.revision)).collect())
}

/// How to bring a snapshot up to date.
#[derive(Debug)]
pub enum Update {
    Full(SnapshotRows),
    Patch(Patch),
}

/// A read-only transaction that sees one state throughout (on PostgreSQL, repeatable read).
pub(super) async fn begin(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    Ok(tx)
}

async fn revision(conn: &mut impl Read, instance_id: &str) -> Result<i64, sqlx::Error> {
    conn.number(
        "SELECT revision FROM instances WHERE id = $1",
        &[instance_id.into()],
    )
    .await?
    .ok_or(sqlx::Error::RowNotFound)
}

super::row::row! {
    struct MembershipRow {
        group_id: String,
        consumer_id: String,
    }
}

/// Everything, for a first load or when a patch will not do. On a SQLite file it is read on
/// synchronous connections (sqlx hands each of millions of rows from its worker thread to the
/// caller, which takes several times as long), the rules on a second thread (see
/// [`load_lite`]).
pub async fn load(db: &Db, instance_id: &str) -> Result<SnapshotRows, sqlx::Error> {
    if let Some(lite) = &db.lite {
        if db.pool.is_closed() {
            return Err(sqlx::Error::PoolClosed);
        }
        let keyring = db.keyring();
        return super::lite::off_the_worker(|| load_lite(lite, instance_id, keyring));
    }
    let mut tx = begin(db).await?;
    let rows = load_rows(&mut tx, instance_id, db.keyring()).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The patch from revision `after` to now, re-reading each consumer and group the journal
/// names; a full load when the journal names anything else (APIs, environments, the
/// gateway), has a gap, or is too long.
pub async fn update(db: &Db, instance_id: &str, after: i64) -> Result<Update, sqlx::Error> {
    let patch = match db.reader().await? {
        mut reader @ Reader::Lite(_) => {
            patch_since(&mut reader, instance_id, after, db.keyring()).await?
        }
        Reader::Pool(conn) => {
            drop(conn);
            let mut tx = begin(db).await?;
            let patch = patch_since(&mut tx, instance_id, after, db.keyring()).await?;
            tx.commit().await?;
            patch
        }
    };
    Ok(match patch {
        Some(p) => Update::Patch(p),
        // A full load reads everything anew, with the revision it read it at.
        None => Update::Full(load(db, instance_id).await?),
    })
}

/// The patch from `after` to the current revision, read in one transaction; `None` when a
/// full load is needed instead.
async fn patch_since(
    conn: &mut impl Read,
    instance_id: &str,
    after: i64,
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<Option<Patch>, sqlx::Error> {
    let now = revision(conn, instance_id).await?;
    if now - after > MAX_PATCH || now < after {
        return Ok(None);
    }
    let changes = audit::changes(conn, instance_id, after, now).await?;
    if changes.len() as i64 != now - after {
        return Ok(None);
    }
    patch(conn, now, &changes, keyring).await
}

super::row::row! {
    struct KeyOwnerRow {
        consumer_id: Option<String>,
    }
}

super::row::row! {
    struct MemberOfRow {
        group_id: String,
    }
}

async fn patch(
    conn: &mut impl Read,
    revision: i64,
    changes: &[audit::Change],
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<Option<Patch>, sqlx::Error> {
    let (mut consumers, mut groups, mut limits, mut quotas) = (
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
        BTreeSet::new(),
    );
    for c in changes {
        let subject = c.subject_id.as_deref().unwrap_or(&c.resource_id);
        let kind = if c.subject_id.is_some() {
            IdKind::of(subject)
        } else {
            IdKind::from_noun(&c.resource_type)
        };
        match kind {
            Some(IdKind::Consumer) => {
                consumers.insert(subject.to_owned());
            }
            Some(IdKind::ConsumerGroup) => {
                groups.insert(subject.to_owned());
            }
            Some(IdKind::RateLimit) => {
                limits.insert(subject.to_owned());
            }
            Some(IdKind::Quota) => {
                quotas.insert(subject.to_owned());
            }
            // A key decides only through the consumer it is bound to (binding, unbinding and
            // deleting are the consumer's changes, or need an unbound key).
            Some(IdKind::Key) => {
                let owner: Option<KeyOwnerRow> = conn
                    .first(
                        "SELECT consumer_id FROM api_keys WHERE id = $1",
                        &[subject.into()],
                    )
                    .await?;
                if let Some(consumer) = owner.and_then(|o| o.consumer_id) {
                    consumers.insert(consumer);
                }
            }
            _ => return Ok(None),
        }
    }
    let mut p = Patch {
        revision,
        ..Patch::default()
    };
    for id in groups {
        p.groups.push(group_slice(conn, id).await?);
    }
    for id in consumers {
        p.consumers.push(consumer_slice(conn, id, keyring).await?);
    }
    for id in limits {
        let row = super::limits::load_one(conn, &id).await?;
        p.limits.push((id, row));
    }
    for id in quotas {
        let row = super::quotas::load_one(conn, &id).await?;
        p.quotas.push((id, row));
    }
    Ok(Some(p))
}

const KEY_COLUMNS: &str =
    "id, key_hash, previous_hash, previous_expires_at, consumer_id, enabled, expires_at";
const RULE_COLUMNS: &str = "consumer_id, group_id, api_id, environment_id, expire_mode, expire_at";

async fn consumer_slice(
    conn: &mut impl Read,
    id: String,
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<ConsumerSlice, sqlx::Error> {
    let arg = [Arg::from(&id)];
    let row = conn
        .first(
            "SELECT id, name, enabled FROM consumers WHERE id = $1",
            &arg,
        )
        .await?;
    let keys_sql = format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE consumer_id = $1");
    let keys = conn.all(&keys_sql, &arg).await?;
    let hmac_sql = format!(
        "SELECT {HMAC_COLUMNS} FROM credentials WHERE consumer_id = $1 AND method = 'Hmac'"
    );
    let hmac = open_hmac(conn.all(&hmac_sql, &arg).await?, keyring);
    let jwt_sql =
        format!("SELECT {JWT_COLUMNS} FROM credentials WHERE consumer_id = $1 AND method = 'Jwt'");
    let jwt = open_jwt(conn.all(&jwt_sql, &arg).await?, keyring);
    let groups: Vec<MemberOfRow> = conn
        .all(
            "SELECT group_id FROM consumer_group_members WHERE consumer_id = $1",
            &arg,
        )
        .await?;
    let rules_sql =
        format!("SELECT {RULE_COLUMNS} FROM authorization_rules WHERE consumer_id = $1");
    let rules = conn.all(&rules_sql, &arg).await?;
    Ok(ConsumerSlice {
        id,
        row,
        keys,
        hmac,
        jwt,
        groups: groups.into_iter().map(|g| g.group_id).collect(),
        rules,
    })
}

async fn group_slice(conn: &mut impl Read, id: String) -> Result<GroupSlice, sqlx::Error> {
    let arg = [Arg::from(&id)];
    let row = conn
        .first(
            "SELECT id, enabled FROM consumer_groups WHERE id = $1",
            &arg,
        )
        .await?;
    let rules_sql = format!("SELECT {RULE_COLUMNS} FROM authorization_rules WHERE group_id = $1");
    let rules = conn.all(&rules_sql, &arg).await?;
    Ok(GroupSlice { id, row, rules })
}

/// Attempts at reading a SQLite file on two connections at one revision before reading it
/// on one.
const PARALLEL_ATTEMPTS: usize = 3;

/// A full load from a SQLite file on two connections at once: the rules on a second thread,
/// everything else here. Each connection reads in its own read transaction, so each sees one
/// committed state; every change of the instance bumps its revision, so when both read the
/// same revision they saw the same instance. Should a change commit between their first reads
/// (the revisions differ), the load starts again; after a few such races it reads everything
/// on one connection.
fn load_lite(
    lite: &std::sync::Arc<super::lite::LitePool>,
    instance_id: &str,
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<SnapshotRows, sqlx::Error> {
    for _ in 0..PARALLEL_ATTEMPTS {
        let mut here = Reader::Lite(lite.lease()?);
        let mut there = Reader::Lite(lite.lease()?);
        let (rows, rules) = std::thread::scope(|t| {
            let rules = t.spawn(move || {
                let revision = at_once(revision(&mut there, instance_id))??;
                let rules = at_once(load_rules(&mut there, instance_id))??;
                Ok::<_, sqlx::Error>((revision, rules))
            });
            let rows = at_once(load_rest(&mut here, instance_id, keyring));
            (rows, rules.join())
        });
        let mut rows = rows??;
        let (revision, rules) = rules.map_err(|_| sqlx::Error::WorkerCrashed)??;
        if revision == rows.revision {
            rows.rules = rules;
            return Ok(rows);
        }
    }
    at_once(load_rows(
        &mut Reader::Lite(lite.lease()?),
        instance_id,
        keyring,
    ))?
}

/// The result of a read on a synchronous connection, which is ready when first polled (it
/// never waits); `WorkerCrashed` should one ever not be.
fn at_once<F: std::future::Future>(read: F) -> Result<F::Output, sqlx::Error> {
    let mut read = std::pin::pin!(read);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match read.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Ok(out),
        std::task::Poll::Pending => Err(sqlx::Error::WorkerCrashed),
    }
}

async fn load_rows(
    conn: &mut impl Read,
    instance_id: &str,
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<SnapshotRows, sqlx::Error> {
    let mut rows = load_rest(conn, instance_id, keyring).await?;
    rows.rules = load_rules(conn, instance_id).await?;
    Ok(rows)
}

/// The rules of the instance (millions, possibly).
async fn load_rules(conn: &mut impl Read, instance_id: &str) -> Result<Vec<RuleRow>, sqlx::Error> {
    conn.expect_slow();
    conn.all(
        &format!("SELECT {RULE_COLUMNS} FROM authorization_rules WHERE instance_id = $1"),
        &[Arg::from(instance_id)],
    )
    .await
}

/// Everything but the rules, with the revision read first.
async fn load_rest(
    conn: &mut impl Read,
    instance_id: &str,
    keyring: Option<&crate::secrets::Keyring>,
) -> Result<SnapshotRows, sqlx::Error> {
    let id = [Arg::from(instance_id)];
    let revision = revision(conn, instance_id).await?;
    let environments = conn
        .all(
            "SELECT id, name_key, is_default FROM environments WHERE instance_id = $1",
            &id,
        )
        .await?;
    let deployments = conn
        .all(
            "SELECT d.api_id, a.base_path, d.environment_id FROM api_deployments d \
             JOIN model_apis a ON a.id = d.api_id WHERE a.instance_id = $1",
            &id,
        )
        .await?;
    // The reads below may return millions of rows: a synchronous connection gives up its
    // async worker thread while it reads them.
    conn.expect_slow();
    let consumers = conn
        .all(
            "SELECT id, name, enabled FROM consumers WHERE instance_id = $1",
            &id,
        )
        .await?;
    conn.expect_slow();
    let groups = conn
        .all(
            "SELECT id, enabled FROM consumer_groups WHERE instance_id = $1",
            &id,
        )
        .await?;
    conn.expect_slow();
    let memberships: Vec<MembershipRow> = conn
        .all(
            "SELECT m.group_id, m.consumer_id FROM consumer_group_members m \
             JOIN consumer_groups g ON g.id = m.group_id WHERE g.instance_id = $1",
            &id,
        )
        .await?;
    let memberships = memberships
        .into_iter()
        .map(|m| (m.group_id, m.consumer_id))
        .collect();
    conn.expect_slow();
    let keys = conn
        .all(
            &format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE instance_id = $1 AND consumer_id IS NOT NULL"
            ),
            &id,
        )
        .await?;
    let hmac_sql = format!(
        "SELECT {HMAC_COLUMNS} FROM credentials WHERE instance_id = $1 AND method = 'Hmac'"
    );
    let hmac = open_hmac(conn.all(&hmac_sql, &id).await?, keyring);
    let jwt_sql =
        format!("SELECT {JWT_COLUMNS} FROM credentials WHERE instance_id = $1 AND method = 'Jwt'");
    let jwt = open_jwt(conn.all(&jwt_sql, &id).await?, keyring);
    let limits = super::limits::load(conn, instance_id).await?;
    let quotas = super::quotas::load(conn, instance_id).await?;
    Ok(SnapshotRows {
        revision,
        environments,
        deployments,
        consumers,
        groups,
        memberships,
        keys,
        hmac,
        jwt,
        rules: Vec::new(),
        limits,
        quotas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::row::Column;

    /// A stored hash is decoded as it is read; anything else leaves the key out instead of
    /// failing the whole load.
    #[test]
    fn stored_hashes_decode_and_anything_else_is_left_out() {
        let hash = crate::domain::keys::hash_key("gck_example");
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let read = |sql: &str| -> Option<KeyHash> {
            conn.query_row(sql, [], |row| Option::<KeyHash>::from_lite(row, 0))
                .unwrap()
        };
        let decoded = read(&format!("SELECT '{hash}'")).unwrap();
        assert_eq!(hex::encode(decoded.0), hash);
        assert_eq!(read("SELECT 'h000'"), None);
        assert_eq!(read(&format!("SELECT '{}'", &hash[..62])), None);
        assert_eq!(read("SELECT NULL"), None);
    }
}
