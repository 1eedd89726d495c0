//! Enforcement: the check a proxy calls before it forwards a request (`GET /authz/check`),
//! answered from an in-memory snapshot per instance, never from a query per request.
//!
//! Every change is audited, and the audit write bumps the instance's `revision` in the same
//! transaction (and on PostgreSQL sends a `NOTIFY`, delivered at commit). A watcher polls the
//! revisions every 250 ms (a single tiny query; every 2 s as a safety net while PostgreSQL's
//! `LISTEN` connection is up) and wakes at once on a notification. For an instance whose
//! revision moved it reads the journal (the audit entries after the snapshot's revision) and
//! re-reads only the consumers and groups they name, in one transaction, and patches the
//! snapshot in place; a change to APIs, environments or the gateway, or a long or broken
//! journal, means a full load built aside and swapped in. So every replica follows every
//! change within a second, even for a gateway with millions of rules. Expiry is compared with the clock at
//! each request, so a ShortTerm rule or a key's expiry needs no reload.

pub mod check;
pub mod jwks;
pub mod jwt;
pub mod limits;
pub mod quotas;
pub mod signature;
pub mod snapshot;
pub mod trace;
pub mod usage;

use crate::store::{self, now_ms, Backend, Db};
use crate::telemetry::names;
use snapshot::Snapshot;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};
use store::snapshot::{SnapshotRows, Update};
use tokio::sync::Notify;

/// How often the watcher looks at the revisions (SQLite, or PostgreSQL while its listener
/// is down).
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The safety-net poll while the PostgreSQL listener is connected (it wakes the watcher on
/// every change, so polling only covers a notification lost in a reconnect).
pub const LISTENING_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Per replica: what the check is decided against. Nothing here comes from the client: the
/// gateway and environment are configured, or read from headers only when the operator says
/// the proxy sets (or clears) them, and the request's path comes from one place only.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The gateway (instance ID) this replica enforces for.
    pub instance_id: Option<String>,
    /// The environment (ID or name); none means the gateway's default one.
    pub environment: Option<String>,
    /// Read `X-Gateway-Id` / `X-Gateway-Environment` where the two above are unset. Only
    /// safe when the proxy sets or clears both on every check (nginx forwards the client's
    /// own headers to an `auth_request` subrequest).
    pub trust_proxy_headers: bool,
    /// Where the original request's path is read.
    pub request_uri: RequestUriSource,
    /// A snapshot not confirmed against the database for this long stops granting.
    pub max_staleness: Duration,
    /// How the check's usage counts are flushed and kept.
    pub usage: usage::UsageSettings,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            instance_id: None,
            environment: None,
            trust_proxy_headers: false,
            request_uri: RequestUriSource::Header,
            max_staleness: DEFAULT_MAX_STALENESS,
            usage: usage::UsageSettings::default(),
        }
    }
}

/// How long a replica keeps granting from a snapshot it cannot confirm (database down).
pub const DEFAULT_MAX_STALENESS: Duration = Duration::from_secs(30);

/// Where the check reads the path of the request it decides on: one place per deployment,
/// so a client cannot supply the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestUriSource {
    /// `X-Original-URI`, set by nginx (`proxy_set_header X-Original-URI $request_uri`).
    Header,
    /// The check's own path below `/authz/check` (Envoy's `path_prefix`).
    Path,
}

impl std::str::FromStr for RequestUriSource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "header" | "x-original-uri" | "nginx" => Ok(RequestUriSource::Header),
            "path" | "envoy" => Ok(RequestUriSource::Path),
            _ => Err(format!(
                "expected x-original-uri (nginx) or path (Envoy), got {s:?}"
            )),
        }
    }
}

/// One gateway's snapshot. A patch is applied in place under the write lock (it takes
/// microseconds; the database was read before); a full load is built aside and swapped in.
pub struct Slot {
    snapshot: RwLock<Snapshot>,
}

impl Slot {
    pub fn read(&self) -> RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().expect("snapshot lock")
    }

    fn revision(&self) -> i64 {
        self.read().revision
    }

    /// Before a token is decided on: the key set of the JWKS URL whose credential `peeked`
    /// claims is fetched if it must be (see `jwks::Jwks::ready`), never with the snapshot's
    /// lock held; nothing for a token of any other credential.
    pub async fn ready_for_token(&self, jwks: &Arc<jwks::Jwks>, peeked: &jwt::Unverified) {
        let source = self.read().jwks_source(peeked);
        if let Some((url, refresh_ms)) = source {
            jwks.ready(&url, refresh_ms, peeked.kid.as_deref(), now_ms())
                .await;
        }
    }
}

#[derive(Default)]
struct Registry {
    /// The latest revision of every instance, from the last poll.
    revisions: HashMap<String, i64>,
    /// The loaded snapshots (an instance is loaded on its first check, or at start when it
    /// is the configured gateway).
    slots: HashMap<String, Arc<Slot>>,
}

pub struct Enforcer {
    db: Db,
    pub settings: Settings,
    registry: RwLock<Registry>,
    /// One load or patch at a time.
    loading: tokio::sync::Mutex<()>,
    changed: Notify,
    /// True while a PostgreSQL `LISTEN` connection is up.
    listening: AtomicBool,
    full_loads: AtomicU64,
    patches: AtomicU64,
    /// When the snapshots were last confirmed current against the database (ms).
    confirmed_at: AtomicI64,
    /// True while the check refuses because `confirmed_at` is too old (for the log).
    stale: AtomicBool,
    /// True until the configured gateway's snapshot is loaded (`/readyz` waits for it).
    preloading: AtomicBool,
    /// The check's decisions, counted until the next flush.
    usage: Arc<usage::UsageCounter>,
    /// This process among the replicas, for the counts of `cluster` rate limits.
    replica_id: String,
    /// What the quota exchanges have read so far.
    quota_reads: std::sync::Mutex<QuotaReads>,
    /// The lists the quota exchanges fill, kept with their room between exchanges.
    quota_lists: std::sync::Mutex<QuotaLists>,
    /// The key sets of the JWKS URLs JWT credentials verify with.
    pub jwks: Arc<jwks::Jwks>,
}

/// What the quota exchanges have read (when, and which full-read round it is) and how
/// they wrote.
#[derive(Debug, Default)]
struct QuotaReads {
    /// Bumped when everything is read in full (every [`QUOTA_FULL_READ_MS`], and when a
    /// gateway is loaded): a period read in full in this round
    /// ([`quotas::Quota::read_in_full`]) is then read only by its changes.
    round: u64,
    /// When everything was last read in full (ms).
    full_at: i64,
    /// When the last exchange began (ms).
    last_at: Option<i64>,
    /// Exchanges made alone (which of the quotas the next one writes).
    exchanges: u32,
    /// Exchanges that wrote quietly (alone) since this replica's rows were last all
    /// stamped.
    quiet: u64,
}

/// The lists a quota exchange fills (the counts it writes, the periods it reads in full, and
/// their quotas), kept with their room from one exchange to the next and given back after a
/// burst ([`usage::empty_keeping_room`]). Made afresh, they grew by doubling at every
/// exchange, to megabytes each under load (100,000 quotas in use every 30 s): memory new
/// from the system each time, and a third of the server's page faults in one profile of
/// `BENCH_RATE_LIMITS=1 make bench-authz` (how many faults a run takes varies more than
/// that from one run to the next).
#[derive(Default)]
struct QuotaLists {
    mine: Vec<store::quotas::PeriodCount>,
    mine_of: Vec<quotas::Quota>,
    full: Vec<(Arc<str>, i64, i64)>,
    full_of: Vec<quotas::Quota>,
}

impl QuotaLists {
    /// Empties the lists, keeping their room unless it is far more than they held.
    fn empty(&mut self) {
        usage::empty_keeping_room(&mut self.mine);
        usage::empty_keeping_room(&mut self.mine_of);
        usage::empty_keeping_room(&mut self.full);
        usage::empty_keeping_room(&mut self.full_of);
    }
}

/// Every this often each replica reads all the quota counts it uses again, in full.
const QUOTA_FULL_READ_MS: i64 = 30_000;
/// How far the replicas' clocks may disagree: a change stamped up to this much before the
/// last exchange by another replica's clock is still read.
const QUOTA_CLOCK_SKEW_MS: i64 = 10_000;
/// A replica that has not seen another one (`store::replicas`, marked every second) for this
/// long is alone: it writes each quota's count only every [`QUOTA_ALONE_WRITE_EVERY`]
/// exchanges, a share of the quotas each time (no one reads them but a replica that joins,
/// or this one's successor). A replica marks itself seen from its start, so a running one
/// sees it join within a second and writes every second again.
const QUOTA_ALONE_AFTER_MS: i64 = 10_000;
/// While alone, a quota's count is written at one exchange in this many.
const QUOTA_ALONE_WRITE_EVERY: u32 = 5;

/// How the snapshots have been kept current so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub full_loads: u64,
    pub patches: u64,
}

impl Enforcer {
    pub fn stats(&self) -> Stats {
        Stats {
            full_loads: self.full_loads.load(Ordering::Relaxed),
            patches: self.patches.load(Ordering::Relaxed),
        }
    }

    /// True until the configured gateway's snapshot is loaded.
    pub fn is_preloading(&self) -> bool {
        self.preloading.load(Ordering::Relaxed)
    }

    /// True while the PostgreSQL change listener is connected.
    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// How long ago the snapshots were last confirmed current, when that is longer than the
    /// allowed staleness: the check then refuses everything (fails closed).
    /// The first call that finds it so logs it (the database may hang rather than fail, so
    /// the watcher cannot be the only one to notice).
    pub fn staleness(&self) -> Option<Duration> {
        let age = now_ms().saturating_sub(self.confirmed_at.load(Ordering::Relaxed));
        let age = Duration::from_millis(u64::try_from(age).unwrap_or(0));
        if age <= self.settings.max_staleness {
            return None;
        }
        if !self.stale.swap(true, Ordering::Relaxed) {
            tracing::error!(
                unconfirmed_ms = age.as_millis() as u64,
                max_staleness_ms = self.settings.max_staleness.as_millis() as u64,
                "enforcement snapshots cannot be confirmed; the check refuses every request until the database answers"
            );
        }
        Some(age)
    }

    /// The loaded snapshots' gateways and revisions, and how long ago they were last
    /// confirmed current (for the metrics).
    pub fn loaded(&self) -> (Vec<(String, i64)>, Duration) {
        let age = now_ms().saturating_sub(self.confirmed_at.load(Ordering::Relaxed));
        let slots = self
            .registry
            .read()
            .expect("registry lock")
            .slots
            .iter()
            .map(|(id, slot)| (id.clone(), slot.revision()))
            .collect();
        (
            slots,
            Duration::from_millis(u64::try_from(age).unwrap_or(0)),
        )
    }

    /// The revision the instance's snapshot is at (None when it is not loaded).
    pub fn revision(&self, instance_id: &str) -> Option<i64> {
        self.slot(instance_id).map(|s| s.revision())
    }

    /// Reads the instances, loads the configured gateway, and starts the watcher.
    pub async fn start(db: Db, settings: Settings) -> Result<Arc<Enforcer>, sqlx::Error> {
        let enforcer = Arc::new(Enforcer {
            db,
            settings,
            registry: RwLock::new(Registry::default()),
            loading: tokio::sync::Mutex::new(()),
            changed: Notify::new(),
            listening: AtomicBool::new(false),
            full_loads: AtomicU64::new(0),
            patches: AtomicU64::new(0),
            confirmed_at: AtomicI64::new(now_ms()),
            stale: AtomicBool::new(false),
            preloading: AtomicBool::new(false),
            usage: Arc::default(),
            replica_id: xid::new().to_string(),
            quota_reads: Default::default(),
            quota_lists: Default::default(),
            jwks: Arc::default(),
        });
        enforcer.refresh().await?;
        // Seen by the other replicas before the first check, so that one alone starts writing
        // its quota counts every second again (see `QUOTA_ALONE_AFTER_MS`).
        let now = now_ms();
        store::replicas::beat(&enforcer.db, &enforcer.replica_id, now, now).await?;
        if let Some(id) = enforcer.settings.instance_id.clone() {
            // Loaded in the background, so the server answers `/healthz` at once; `/readyz`
            // says 503 and checks wait for it until it is in memory.
            enforcer.preloading.store(true, Ordering::Relaxed);
            let preload = enforcer.clone();
            tokio::spawn(async move {
                let started = Instant::now();
                if preload.snapshot(&id).await.is_none() {
                    tracing::warn!(gateway_id = %id, "the configured enforcement gateway does not exist (yet); checks answer 401 until it does");
                } else {
                    tracing::info!(gateway_id = %id, ms = started.elapsed().as_millis() as u64, "enforcement snapshot preloaded");
                }
                preload.preloading.store(false, Ordering::Relaxed);
            });
        }
        enforcer.clone().spawn_watcher();
        usage::spawn_flusher(
            enforcer.usage.clone(),
            enforcer.db.clone(),
            enforcer.settings.usage,
        );
        enforcer.clone().spawn_limit_sync();
        Ok(enforcer)
    }

    /// Shares this replica's counts of the `cluster` rate limits in use with the other
    /// replicas and takes theirs, every [`limits::SYNC_INTERVAL`]; forgets old windows' counts
    /// every minute.
    fn spawn_limit_sync(self: Arc<Self>) {
        tokio::spawn(async move {
            let mut ticks: u64 = 0;
            loop {
                tokio::time::sleep(limits::SYNC_INTERVAL).await;
                ticks += 1;
                if let Err(e) = self.sync_limits().await {
                    tracing::warn!(error = %e, "could not share the cluster rate limits' counts; retrying");
                }
                if ticks.is_multiple_of(2) {
                    if let Err(e) = self.sync_quotas(false).await {
                        tracing::warn!(error = %e, "could not share the quotas' counts; retrying");
                    }
                }
                if ticks.is_multiple_of(120) {
                    if let Err(e) =
                        store::limits::prune_counts(&self.db, now_ms() - 2 * 60_000).await
                    {
                        tracing::warn!(error = %e, "could not prune the cluster rate limits' counts");
                    }
                    // A month is the longest period: what started before the last 35 days is
                    // over everywhere.
                    if let Err(e) =
                        store::quotas::prune_counts(&self.db, now_ms() - 35 * 86_400_000).await
                    {
                        tracing::warn!(error = %e, "could not prune the quotas' counts");
                    }
                    if let Err(e) = store::replicas::prune(&self.db, now_ms() - 86_400_000).await {
                        tracing::warn!(error = %e, "could not forget the replicas gone");
                    }
                }
            }
        });
    }

    /// One exchange of the quotas' counts: this replica's admitted requests per quota out
    /// (those that changed since written), the other replicas' and the reported tokens in,
    /// for the quotas in use (that judged a request in the last minute, or counted one this
    /// period), or with `all` for every quota of the loaded gateways (when a gateway is
    /// loaded). A period is read in full the first time and every 30 s; in between only
    /// the periods others changed since the last exchange are. A quota not in use is read
    /// again when it judges a request: its first requests after a quiet minute may not see
    /// what other replicas counted in the meantime, for up to a second.
    ///
    /// A replica alone (see [`QUOTA_ALONE_AFTER_MS`]) writes each count every
    /// [`QUOTA_ALONE_WRITE_EVERY`] seconds, or at once with `all`, and quietly
    /// ([`store::quotas::Stamp`]); its first exchange once it sees another replica stamps
    /// all its rows, so that the newcomer reads by their change what it wrote quietly.
    pub async fn sync_quotas(&self, all: bool) -> Result<(), sqlx::Error> {
        self.exchange_quota_counts(all, all).await
    }

    /// Writes every quota count this replica has not written yet, alone or not (the server
    /// does so when it stops, after the last usage flush).
    pub async fn write_quota_counts(&self) -> Result<(), sqlx::Error> {
        self.exchange_quota_counts(false, true).await
    }

    async fn exchange_quota_counts(&self, all: bool, write: bool) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let others =
            store::replicas::beat(&self.db, &self.replica_id, now, now - QUOTA_ALONE_AFTER_MS)
                .await?;
        let (turn, stamp, quiet, round, changed_since) = {
            let mut reads = self.quota_reads.lock().expect("quota reads lock");
            // Alone, each exchange writes the counts of a fifth of the quotas (by their ID),
            // so that the writes stay spread over the seconds rather than all at once, and
            // quietly: no one reads them by their change.
            let turn = (!(write || others)).then(|| {
                reads.exchanges = reads.exchanges.wrapping_add(1);
                reads.exchanges % QUOTA_ALONE_WRITE_EVERY
            });
            let stamp = if !others {
                reads.quiet += 1;
                store::quotas::Stamp::Quiet
            } else if reads.quiet > 0 {
                store::quotas::Stamp::All
            } else {
                store::quotas::Stamp::Changed
            };
            let everything =
                all || reads.last_at.is_none() || now - reads.full_at >= QUOTA_FULL_READ_MS;
            if everything {
                reads.round += 1;
            }
            let changed_since = match (everything, reads.last_at) {
                (false, Some(last)) => Some(last - QUOTA_CLOCK_SKEW_MS),
                _ => None,
            };
            (turn, stamp, reads.quiet, reads.round, changed_since)
        };
        let since = now - 60_000;
        // Going through every quota in use (100,000 under load) takes milliseconds: done off
        // the async worker, so that the checks queued on it go on meanwhile. Only the quotas
        // whose counts are written or read in full are kept (a clone is two reference
        // counts and a few numbers).
        // Taken out for this exchange (there is one at a time; another would make its own).
        let mut lists = std::mem::take(&mut *self.quota_lists.lock().expect("quota lists lock"));
        let taken = store::lite::off_the_worker(|| {
            let mut any = false;
            let QuotaLists {
                mine,
                mine_of,
                full,
                full_of,
            } = &mut lists;
            for slot in self.slots() {
                let snapshot = slot.read();
                for q in snapshot.all_quotas().filter(|q| all || q.in_use(since)) {
                    any = true;
                    let start = q.roll(now);
                    let now_or_turn =
                        turn.is_none_or(|turn| q.spread % QUOTA_ALONE_WRITE_EVERY == turn);
                    if let Some(requests) = q.unwritten().filter(|_| now_or_turn) {
                        mine.push(store::quotas::PeriodCount {
                            quota_id: q.id.to_string(),
                            generation: q.generation,
                            period_start: start,
                            requests,
                            tokens: 0,
                        });
                        mine_of.push(q.clone());
                    }
                    if !q.read_in_full(round, start) {
                        full.push((q.id.clone(), q.generation, start));
                        full_of.push(q.clone());
                    }
                }
            }
            any
        });
        if !taken {
            self.keep_quota_lists(lists);
            return Ok(());
        }
        let QuotaLists {
            mine,
            mine_of,
            full,
            full_of,
        } = &lists;
        let wanted = store::quotas::Wanted {
            full,
            changed_since,
        };
        let shared =
            store::quotas::share_counts(&self.db, &self.replica_id, now, mine, stamp, wanted)
                .await?;
        for (c, q) in mine.iter().zip(mine_of) {
            q.set_written(c.period_start, c.requests);
        }
        // What was read back: usually nothing, for a replica alone between its full reads.
        // Applied to every quota of that ID (off the async worker: a walk of them all).
        if !shared.is_empty() || !full.is_empty() {
            store::lite::off_the_worker(|| {
                let mut by_id: HashMap<&str, Vec<&store::quotas::PeriodCount>> = HashMap::new();
                for c in &shared {
                    by_id.entry(c.quota_id.as_str()).or_default().push(c);
                }
                // The rows read for a quota (of its generation).
                let counted = |q: &quotas::Quota| {
                    let generation = q.generation;
                    by_id
                        .get(&*q.id)
                        .into_iter()
                        .flatten()
                        .filter(move |c| c.generation == generation)
                };
                if !by_id.is_empty() {
                    for slot in self.slots() {
                        let snapshot = slot.read();
                        for q in snapshot.all_quotas() {
                            for c in counted(q) {
                                q.set_shared(c.period_start, c.requests, c.tokens);
                            }
                        }
                    }
                }
                // Read in full and shared by no one else (after a reset, say): only this
                // replica's.
                for (q, (_, _, start)) in full_of.iter().zip(full) {
                    if counted(q).next().is_none() {
                        q.set_shared(*start, 0, 0);
                    }
                    q.set_read_in_full(round, *start);
                }
            });
        }
        self.keep_quota_lists(lists);
        let mut reads = self.quota_reads.lock().expect("quota reads lock");
        if changed_since.is_none() {
            reads.full_at = now;
        }
        reads.last_at = Some(now);
        if stamp == store::quotas::Stamp::All {
            // Those written quietly meanwhile (by an exchange that began alone) are stamped
            // by the next one.
            reads.quiet -= quiet.min(reads.quiet);
        }
        Ok(())
    }

    /// Puts a quota exchange's lists back, emptied, for the next exchange.
    fn keep_quota_lists(&self, mut lists: QuotaLists) {
        lists.empty();
        *self.quota_lists.lock().expect("quota lists lock") = lists;
    }

    /// One exchange of the `cluster` limits' counts: this replica's counts in the current
    /// windows out, the other replicas' in, for every `cluster` limit of the loaded
    /// gateways (nothing when they have none).
    pub async fn sync_limits(&self) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let slots = self.slots();
        let mut cluster: Vec<limits::Limit> = Vec::new();
        let mut mine: Vec<store::limits::WindowCount> = Vec::new();
        for slot in slots {
            let snapshot = slot.read();
            for limit in snapshot.cluster_limits() {
                for w in 0..2 {
                    if let Some((started_at, requests)) = limit.cluster_count(w, now) {
                        mine.push(store::limits::WindowCount {
                            limit_id: limit.id.to_string(),
                            window_ms: limits::PERIOD_NS[w] / 1_000_000,
                            started_at,
                            requests,
                        });
                    }
                }
                cluster.push(limit.clone());
            }
        }
        if cluster.is_empty() {
            return Ok(());
        }
        // The current minute's start: the oldest window still current.
        let since = now - now.rem_euclid(60_000);
        let others = store::limits::share_counts(&self.db, &self.replica_id, &mine, since).await?;
        let by_id: HashMap<&str, &limits::Limit> = cluster.iter().map(|l| (&*l.id, l)).collect();
        for o in &others {
            let Some(limit) = by_id.get(o.limit_id.as_str()) else {
                continue;
            };
            let current = now - now.rem_euclid(o.window_ms.max(1));
            if o.started_at != current {
                continue;
            }
            if let Some(w) = limits::PERIOD_NS
                .iter()
                .position(|p| p / 1_000_000 == o.window_ms)
            {
                limit.set_others(w, o.started_at, o.requests);
            }
        }
        Ok(())
    }

    /// Counts one decision of the check.
    pub fn count(&self, decision: &usage::Decision<'_>) {
        self.usage.count(decision, now_ms());
    }

    /// Writes the usage counted so far to the database now (the background task does so
    /// every flush interval; the server does once more when it stops). How many combinations
    /// were written.
    pub async fn flush_usage(&self) -> Result<usize, sqlx::Error> {
        self.usage.flush(&self.db).await
    }

    /// The instance's snapshot, loading it on first use. None for an instance that does not
    /// exist, without touching the database (the known instances come from the last poll).
    pub async fn snapshot(&self, instance_id: &str) -> Option<Arc<Slot>> {
        {
            let registry = self.registry.read().expect("registry lock");
            if let Some(s) = registry.slots.get(instance_id) {
                return Some(s.clone());
            }
            if !registry.revisions.contains_key(instance_id) {
                return None;
            }
        }
        match self.load_first(instance_id).await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, instance_id, "could not load the enforcement snapshot");
                None
            }
        }
    }

    async fn load_first(&self, instance_id: &str) -> Result<Arc<Slot>, sqlx::Error> {
        let _one_at_a_time = self.loading.lock().await;
        if let Some(s) = self.slot(instance_id) {
            return Ok(s);
        }
        let started = Instant::now();
        let rows = store::snapshot::load(&self.db, instance_id).await?;
        let snapshot = self.full_load(instance_id, rows, started).await;
        let slot = Arc::new(Slot {
            snapshot: RwLock::new(snapshot),
        });
        self.registry
            .write()
            .expect("registry lock")
            .slots
            .insert(instance_id.to_owned(), slot.clone());
        // The first request under a `cluster` limit or a quota already counts the other
        // replicas' (and, for a quota, what was counted before this replica started).
        let (has_cluster_limits, has_quotas) = {
            let s = slot.read();
            let limits = s.cluster_limits().next().is_some();
            let quotas = s.all_quotas().next().is_some();
            (limits, quotas)
        };
        if has_cluster_limits {
            if let Err(e) = self.sync_limits().await {
                tracing::warn!(error = %e, "could not read the other replicas' rate limit counts");
            }
        }
        if has_quotas {
            if let Err(e) = self.sync_quotas(true).await {
                tracing::warn!(error = %e, "could not read the quotas' counts");
            }
        }
        Ok(slot)
    }

    /// Builds a snapshot from rows read since `started` (the duration recorded is both).
    async fn full_load(&self, instance_id: &str, rows: SnapshotRows, started: Instant) -> Snapshot {
        self.full_loads.fetch_add(1, Ordering::Relaxed);
        let snapshot = tokio::task::spawn_blocking(move || Snapshot::build(rows))
            .await
            .expect("snapshot build does not panic");
        metrics::counter!(names::SNAPSHOT_FULL_LOADS).increment(1);
        metrics::histogram!(names::SNAPSHOT_FULL_LOAD_DURATION).record(started.elapsed());
        tracing::info!(
            instance_id,
            revision = snapshot.revision,
            keys = snapshot.key_count(),
            build_ms = started.elapsed().as_millis() as u64,
            "enforcement snapshot loaded in full"
        );
        snapshot
    }

    /// Every loaded gateway's snapshot.
    fn slots(&self) -> Vec<Arc<Slot>> {
        self.registry
            .read()
            .expect("registry lock")
            .slots
            .values()
            .cloned()
            .collect()
    }

    fn slot(&self, instance_id: &str) -> Option<Arc<Slot>> {
        self.registry
            .read()
            .expect("registry lock")
            .slots
            .get(instance_id)
            .cloned()
    }

    /// Brings a loaded snapshot to the latest revision: a patch of what the journal says
    /// changed, or a full load when a patch will not do.
    async fn catch_up(&self, instance_id: &str) -> Result<(), sqlx::Error> {
        let _one_at_a_time = self.loading.lock().await;
        let Some(slot) = self.slot(instance_id) else {
            return Ok(());
        };
        let have = slot.revision();
        let started = Instant::now();
        match store::snapshot::update(&self.db, instance_id, have).await? {
            Update::Patch(patch) => {
                let (revision, consumers, groups) =
                    (patch.revision, patch.consumers.len(), patch.groups.len());
                slot.snapshot.write().expect("snapshot lock").apply(patch);
                self.patches.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(names::SNAPSHOT_PATCHES).increment(1);
                metrics::histogram!(names::SNAPSHOT_PATCH_DURATION).record(started.elapsed());
                tracing::debug!(
                    instance_id,
                    from = have,
                    to = revision,
                    consumers,
                    groups,
                    ms = started.elapsed().as_millis() as u64,
                    "enforcement snapshot patched"
                );
            }
            Update::Full(rows) => {
                let mut fresh = self.full_load(instance_id, rows, started).await;
                fresh.adopt_limit_states(&slot.read());
                let old =
                    std::mem::replace(&mut *slot.snapshot.write().expect("snapshot lock"), fresh);
                tokio::task::spawn_blocking(move || drop(old));
            }
        }
        Ok(())
    }

    /// Reads every instance's revision and brings the loaded snapshots that fell behind up
    /// to date.
    pub async fn refresh(&self) -> Result<(), sqlx::Error> {
        let revisions: HashMap<String, i64> = store::snapshot::revisions(&self.db)
            .await?
            .into_iter()
            .collect();
        let stale: Vec<String> = {
            let mut registry = self.registry.write().expect("registry lock");
            registry.slots.retain(|id, _| revisions.contains_key(id));
            let stale = registry
                .slots
                .iter()
                .filter(|(id, s)| revisions.get(*id) != Some(&s.revision()))
                .map(|(id, _)| id.clone())
                .collect();
            registry.revisions = revisions;
            stale
        };
        for id in stale {
            self.catch_up(&id).await?;
        }
        self.confirmed_at.store(now_ms(), Ordering::Relaxed);
        if self.stale.swap(false, Ordering::Relaxed) {
            tracing::warn!("enforcement snapshots confirmed again; the check grants again");
        }
        Ok(())
    }

    /// Polls the revisions and reloads what changed, for as long as the process runs; on
    /// PostgreSQL a listener wakes it as soon as a change commits on any replica.
    fn spawn_watcher(self: Arc<Self>) {
        if self.db.backend == Backend::Postgres {
            tokio::spawn(listen(self.clone()));
        }
        tokio::spawn(async move {
            loop {
                let interval = if self.listening.load(Ordering::Relaxed) {
                    LISTENING_POLL_INTERVAL
                } else {
                    POLL_INTERVAL
                };
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = self.changed.notified() => {}
                }
                if let Err(e) = self.refresh().await {
                    tracing::warn!(error = %e, "enforcement refresh failed; retrying");
                    let _ = self.staleness();
                }
            }
        });
    }
}

/// PostgreSQL `LISTEN`: a notification wakes the watcher at once. When the connection
/// drops, the watcher polls fast until it is back, then catches up once.
async fn listen(enforcer: Arc<Enforcer>) {
    use sqlx::postgres::PgListener;
    let url = enforcer.db.url().to_owned();
    loop {
        match PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen(store::audit::CHANGES_CHANNEL).await {
                Ok(()) => {
                    enforcer.listening.store(true, Ordering::Relaxed);
                    // Changes made while no one listened: one refresh catches up.
                    enforcer.changed.notify_one();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => enforcer.changed.notify_one(),
                            // The connection dropped and was re-established: notifications
                            // in between are lost, so catch up.
                            Ok(None) => enforcer.changed.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "the change listener failed; polling fast until it is back");
                                break;
                            }
                        }
                    }
                    enforcer.listening.store(false, Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN failed; polling only"),
            },
            Err(e) => {
                tracing::warn!(error = %e, "could not connect the change listener; polling only")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(i: usize) -> store::quotas::PeriodCount {
        store::quotas::PeriodCount {
            quota_id: format!("qt-{i:06}"),
            generation: 1,
            period_start: 0,
            requests: 1,
            tokens: 0,
        }
    }

    fn fill(lists: &mut QuotaLists, n: usize) {
        lists.mine.extend((0..n).map(count));
        lists
            .full
            .extend((0..n).map(|i| (Arc::from(format!("qt-{i:06}")), 1, 0)));
    }

    #[test]
    fn a_quota_exchanges_lists_keep_their_room_and_give_back_a_bursts() {
        let mut lists = QuotaLists::default();
        fill(&mut lists, 5_000);
        lists.empty();
        assert!(lists.mine.is_empty() && lists.full.is_empty());
        let kept = (lists.mine.capacity(), lists.full.capacity());
        assert!(kept.0 >= 5_000 && kept.1 >= 5_000, "room kept: {kept:?}");
        // An exchange as busy fills them without growing them.
        fill(&mut lists, 5_000);
        assert_eq!((lists.mine.capacity(), lists.full.capacity()), kept);
        lists.empty();
        // A burst's room is given back once exchanges are quiet again.
        fill(&mut lists, 100_000);
        lists.empty();
        assert!(lists.mine.capacity() >= 100_000);
        for _ in 0..3 {
            fill(&mut lists, 10);
            lists.empty();
        }
        assert!(lists.mine.capacity() < 100_000 && lists.full.capacity() < 100_000);
    }
}
