//! Usage counting: every decision of `/authz/check` is counted in memory, per gateway,
//! environment, consumer, key, model API, minute and outcome, and the counts are handed to a
//! [`UsageSink`] in batches by a background task (every few seconds) and once more at
//! shutdown, in parts of 2,000 combinations, each added all or nothing. Each replica adds its
//! own counts, so several replicas on one database add up. The same task rolls each hour
//! that is over up into the hourly tables (`store::usage::roll_up`) and prunes old buckets.
//!
//! The hot path takes one of 16 locks (chosen by the combination's hash, so concurrent checks
//! rarely meet), finds the combination in a hash table and adds one; only the first request
//! of a combination in a minute allocates (once). A batch the sink refuses is kept and offered again
//! at the next flush (up to [`MAX_PENDING`] combinations), so a database outage loses no
//! counts unless it outlasts that; a crash loses at most the counts since the last flush.

use crate::domain::usage::{UsageDelta, HOUR_MS};
use crate::store::{self, now_ms, Db};
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Mutex;
use std::time::Duration;

/// One minute, the finest bucket, in milliseconds.
pub const MINUTE_MS: i64 = 60_000;
/// Combinations kept while the sink refuses them; beyond this the oldest batch is dropped
/// (and logged).
pub const MAX_PENDING: usize = 1_000_000;
const SHARDS: usize = 16;
/// Combinations written per transaction.
const FLUSH_PART: usize = 2_000;

/// Where counted usage goes: the database by default ([`store::usage`]); a columnar store can
/// take over by implementing this. `add` adds the deltas to what is stored (several replicas
/// add to the same rows) and is all or nothing per call.
pub trait UsageSink: Send + Sync {
    fn add(
        &self,
        deltas: &[UsageDelta],
    ) -> impl std::future::Future<Output = Result<(), store::Error>> + Send;
}

impl UsageSink for Db {
    async fn add(&self, deltas: &[UsageDelta]) -> Result<(), store::Error> {
        store::usage::add(self, deltas).await
    }
}

/// What a decision is counted under. IDs are '' where the decision did not reach them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decision<'a> {
    pub gateway: &'a str,
    pub environment: &'a str,
    pub consumer: &'a str,
    pub key: &'a str,
    pub api: &'a str,
    /// `allowed`, or the reason of the refusal.
    pub outcome: &'static str,
}

/// A combination and its count. The five IDs are kept end to end in one allocation (`ids`,
/// each ID's end in `ends`), so a new combination allocates once.
struct Entry {
    hash: u64,
    minute: i64,
    ids: Box<str>,
    ends: [u32; 5],
    outcome: &'static str,
    requests: i64,
}

impl Entry {
    fn new(hash: u64, minute: i64, d: &Decision<'_>) -> Entry {
        let parts = [d.gateway, d.environment, d.consumer, d.key, d.api];
        let mut ids = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 5];
        for (end, part) in ends.iter_mut().zip(parts) {
            ids.push_str(part);
            // IDs are a few dozen bytes: a length past u32 cannot be counted apart.
            *end = u32::try_from(ids.len()).unwrap_or(u32::MAX);
        }
        Entry {
            hash,
            minute,
            ids: ids.into_boxed_str(),
            ends,
            outcome: d.outcome,
            requests: 1,
        }
    }

    /// The `i`th ID: gateway, environment, consumer, key, API.
    fn id(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.ids[start..self.ends[i] as usize]
    }

    /// The key of its minute bucket, in the order of the table's primary key (see
    /// [`UsageDelta::bucket_key`]).
    fn bucket_key(&self) -> (&str, i64, &str, &str, &str, &str, &str) {
        (
            self.id(0),
            self.minute,
            self.id(1),
            self.id(2),
            self.id(3),
            self.id(4),
            self.outcome,
        )
    }

    fn delta(&self) -> UsageDelta {
        UsageDelta {
            gateway_id: self.id(0).into(),
            at: self.minute,
            environment_id: self.id(1).into(),
            consumer_id: self.id(2).into(),
            key_id: self.id(3).into(),
            api_id: self.id(4).into(),
            outcome: self.outcome.into(),
            requests: self.requests,
            prompt_tokens: 0,
            completion_tokens: 0,
        }
    }

    fn is(&self, minute: i64, d: &Decision<'_>) -> bool {
        self.minute == minute
            && self.outcome == d.outcome
            && self.id(2) == d.consumer
            && self.id(3) == d.key
            && self.id(4) == d.api
            && self.id(1) == d.environment
            && self.id(0) == d.gateway
    }
}

/// The counts since the last flush, and what the sink has not taken yet.
pub struct UsageCounter {
    hasher: foldhash::fast::RandomState,
    shards: [Mutex<HashTable<Entry>>; SHARDS],
    /// What a flush works with, kept with its room from one flush to the next (one flush at
    /// a time holds it: the background task's, or shutdown's).
    flushing: tokio::sync::Mutex<Spares>,
    /// Batches the sink refused, offered again first.
    pending: Mutex<Vec<UsageDelta>>,
}

/// A flush's memory, kept between flushes. Under load a flush takes hundreds of thousands
/// of combinations: tables and a list of tens of megabytes, which, allocated afresh each
/// time, came as new memory from the system, its pages faulted in by the checks counting
/// into them, and the tables rehashed as they grew (4 % of the server's CPU in
/// `BENCH_RATE_LIMITS=1 make bench-authz`).
#[derive(Default)]
struct Spares {
    /// Emptied tables with their room, one per shard, swapped in for the counting ones.
    tables: Vec<HashTable<Entry>>,
    /// The taken combinations, sorted; empty between flushes.
    taken: Vec<Entry>,
    /// The sort's heads (see [`sort_by_bucket`]); empty between flushes.
    heads: Vec<Head>,
}

impl Spares {
    /// Keeps the room of a flush's list of taken combinations for the next flush.
    fn keep(&mut self, mut taken: Vec<Entry>) {
        empty_keeping_room(&mut taken);
        self.taken = taken;
    }
}

/// Empties a list kept from one use to the next (a flush's, a quota exchange's), keeping its
/// room unless that is too much for what it held ([`too_roomy`]).
pub(super) fn empty_keeping_room<T>(list: &mut Vec<T>) {
    let held = list.len();
    list.clear();
    if too_roomy(list.capacity(), held) {
        list.shrink_to(2 * held);
    }
}

impl Default for UsageCounter {
    fn default() -> Self {
        UsageCounter {
            hasher: foldhash::fast::RandomState::default(),
            shards: std::array::from_fn(|_| Mutex::new(HashTable::new())),
            flushing: tokio::sync::Mutex::new(Spares::default()),
            pending: Mutex::new(Vec::new()),
        }
    }
}

/// Whether a kept table or list has room for more than four times what it last held (and
/// for more than a few thousand): it gives that room back then (down to twice what it held),
/// so that one burst does not keep its memory for good.
fn too_roomy(capacity: usize, held: usize) -> bool {
    capacity > 4 * held.max(1024)
}

/// The bytes of a consumer's ID that an entry's head holds (IDs are `cs-` and 20 more).
const CONSUMER_HEAD: usize = 24;

/// An entry's place in the sort: its (gateway, minute, environment)'s place among the few of
/// the flush, the first bytes of its consumer's ID, and where the entry is.
type Head = (usize, [u8; CONSUMER_HEAD], usize);

/// Sorts entries into the order of their buckets' key ([`Entry::bucket_key`]). Each gets a
/// head that orders as its key does, held in one array (`heads`, kept from one flush to the
/// next with its room): the place of its (gateway, minute, environment) among the few of the
/// flush, then the first bytes of its consumer's ID. Only entries with equal heads (a
/// consumer's several keys, model APIs or outcomes) compare their whole keys. Compared by
/// their keys alone, every comparison of the sort read two entries' IDs from all over the
/// heap: 3 % of the server's CPU in `make bench-authz`. The entries are then moved into
/// their order in place: moved into a new list, the list and the heads were tens of
/// megabytes fresh from the system at every flush, their pages faulted in again.
fn sort_by_bucket(entries: &mut [Entry], heads: &mut Vec<Head>) {
    heads.clear();
    {
        // Inserted one by one: there are few, and collecting would sort every entry's.
        let mut groups = std::collections::BTreeMap::new();
        for e in entries.iter() {
            groups.insert((e.id(0), e.minute, e.id(1)), 0);
        }
        for (place, g) in groups.values_mut().enumerate() {
            *g = place;
        }
        heads.extend(entries.iter().enumerate().map(|(i, e)| {
            let mut head = [0u8; CONSUMER_HEAD];
            let consumer = e.id(2).as_bytes();
            let n = consumer.len().min(CONSUMER_HEAD);
            head[..n].copy_from_slice(&consumer[..n]);
            (groups[&(e.id(0), e.minute, e.id(1))], head, i)
        }));
    }
    heads.sort_unstable_by(|a, b| {
        (a.0, a.1)
            .cmp(&(b.0, b.1))
            .then_with(|| entries[a.2].bucket_key().cmp(&entries[b.2].bucket_key()))
    });
    // The entry at `place` is to be the one now at `heads[place].2`: each cycle of that
    // permutation is followed once, swapping along it, and its places marked done.
    const DONE: usize = usize::MAX;
    for start in 0..heads.len() {
        let mut place = start;
        while heads[place].2 != DONE {
            let from = std::mem::replace(&mut heads[place].2, DONE);
            if from == start {
                break;
            }
            entries.swap(place, from);
            place = from;
        }
    }
    empty_keeping_room(heads);
}

impl UsageCounter {
    /// Counts one decision at `now` (ms).
    pub fn count(&self, d: &Decision<'_>, now: i64) {
        let minute = now - now.rem_euclid(MINUTE_MS);
        let hash = self.hasher.hash_one((minute, d));
        let mut shard = self.shards[(hash >> 60) as usize % SHARDS]
            .lock()
            .expect("usage shard lock");
        if let Some(e) = shard.find_mut(hash, |e| e.is(minute, d)) {
            e.requests += 1;
            return;
        }
        shard.insert_unique(hash, Entry::new(hash, minute, d), |e| e.hash);
    }

    /// Moves the combinations counted so far into `spares.taken` (the counters start again
    /// from zero). Each shard's table is swapped, under its lock, for the spare emptied at
    /// the flush before, which has the room that one needed: the counting tables keep the
    /// room of the busiest intervals and do not grow (rehashing under their locks) while
    /// checks wait.
    fn take(&self, spares: &mut Spares) {
        spares.tables.resize_with(SHARDS, HashTable::new);
        for (shard, spare) in self.shards.iter().zip(&mut spares.tables) {
            std::mem::swap(&mut *shard.lock().expect("usage shard lock"), spare);
            let held = spare.len();
            spares.taken.extend(spare.drain());
            if too_roomy(spare.capacity(), held) {
                spare.shrink_to(2 * held, |e| e.hash);
            }
        }
    }

    /// Hands everything counted (and anything refused before) to the sink; how many
    /// combinations it took. On failure the counts are kept for the next flush.
    pub async fn flush(&self, sink: &impl UsageSink) -> Result<usize, store::Error> {
        let mut spares = self.flushing.lock().await;
        // Hundreds of thousands of combinations under load (tens of milliseconds): taken and
        // sorted off the async worker, so that the checks queued on it go on meanwhile.
        let (refused, counted) = store::lite::off_the_worker(|| {
            let refused = std::mem::take(&mut *self.pending.lock().expect("usage pending lock"));
            self.take(&mut spares);
            let mut counted = std::mem::take(&mut spares.taken);
            // In the order of the minute buckets' key, so that each part adds to rows next
            // to each other: parts taken in the counter's (hash) order each touch a page of
            // the table per row, and every page a transaction touches is written again
            // (SQLite's WAL, PostgreSQL's full-page writes), many times a flush.
            sort_by_bucket(&mut counted, &mut spares.heads);
            (refused, counted)
        });
        if refused.is_empty() && counted.is_empty() {
            spares.keep(counted);
            return Ok(0);
        }
        // In parts, each added all or nothing: between two parts the database's writer and
        // this worker thread are free for others (a part of SQLite rows is written in the
        // calling thread), and a part refused is offered again with those after it, never
        // one that was taken. The batch refused before goes first, then this interval's
        // combinations, each part made into deltas as it is handed over: made all at once,
        // their hundreds of thousands of IDs were copied into memory fresh from the system
        // at every flush (its page faults were 5 % of the server's CPU in `make bench-authz`);
        // each part's deltas reuse the memory the part before freed.
        let mut taken = 0;
        let failure = 'hand: {
            for part in refused.chunks(FLUSH_PART) {
                if let Err(e) = sink.add(part).await {
                    break 'hand Some(e);
                }
                taken += part.len();
                tokio::task::yield_now().await;
            }
            for part in counted.chunks(FLUSH_PART) {
                let deltas: Vec<UsageDelta> = part.iter().map(Entry::delta).collect();
                if let Err(e) = sink.add(&deltas).await {
                    break 'hand Some(e);
                }
                taken += part.len();
                tokio::task::yield_now().await;
            }
            None
        };
        let Some(e) = failure else {
            spares.keep(counted);
            return Ok(taken);
        };
        let counted_taken = taken.saturating_sub(refused.len());
        let mut batch: Vec<UsageDelta> = refused.into_iter().skip(taken).collect();
        batch.extend(counted[counted_taken..].iter().map(Entry::delta));
        spares.keep(counted);
        let mut pending = self.pending.lock().expect("usage pending lock");
        // Anything that arrived meanwhile stays after the refused batch.
        batch.append(&mut pending);
        if batch.len() > MAX_PENDING {
            let dropped = batch.len() - MAX_PENDING;
            batch.drain(..dropped);
            tracing::error!(
                dropped,
                "usage counts dropped: the database has refused them for too long"
            );
        }
        *pending = batch;
        Err(e)
    }

    /// Combinations counted and not yet taken by the sink (for tests and metrics).
    pub fn unflushed(&self) -> usize {
        let counted: usize = self
            .shards
            .iter()
            .map(|s| s.lock().expect("usage shard lock").len())
            .sum();
        counted + self.pending.lock().expect("usage pending lock").len()
    }
}

/// How usage is flushed and kept.
#[derive(Debug, Clone, Copy)]
pub struct UsageSettings {
    /// How often the counts are flushed to the database.
    pub flush_interval: Duration,
    /// How long minute buckets are kept.
    pub minute_retention: Duration,
    /// How long hourly buckets are kept.
    pub hour_retention: Duration,
}

impl Default for UsageSettings {
    fn default() -> Self {
        UsageSettings {
            flush_interval: Duration::from_secs(5),
            minute_retention: Duration::from_secs(48 * 3600),
            hour_retention: Duration::from_secs(400 * 24 * 3600),
        }
    }
}

impl UsageSettings {
    /// Where the hourly tables may end at `now` (ms): the start of the hour that holds the
    /// moment a grace (see [`roll_up_grace`]) before now. Every hour before it is over, and
    /// every replica's flush of its last seconds has arrived.
    pub fn settled_hour(&self, now: i64) -> i64 {
        let settled = now - roll_up_grace(self.flush_interval);
        settled - settled.rem_euclid(HOUR_MS)
    }

    /// How many flushes a minute holds (at least one): a flush's combinations times this are
    /// a minute of them at that pace.
    pub fn flushes_a_minute(&self) -> usize {
        usize::try_from(60_000 / self.flush_interval.as_millis().max(1))
            .unwrap_or(1)
            .max(1)
    }

    /// Deletes the minute and hourly buckets older than they are kept at `now` (ms); how many
    /// of each.
    pub async fn prune(&self, db: &Db, now: i64) -> Result<(u64, u64), sqlx::Error> {
        let before = |d: Duration| now - i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        store::usage::prune(
            db,
            before(self.minute_retention),
            before(self.hour_retention),
        )
        .await
    }
}

/// How often old buckets are pruned.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// How long after an hour ends it is rolled up, in ms: two flush intervals, and at least a
/// minute, so that every replica's flush of the hour's last seconds has arrived.
fn roll_up_grace(flush_interval: Duration) -> i64 {
    let grace = (flush_interval * 2).max(Duration::from_secs(60));
    i64::try_from(grace.as_millis()).unwrap_or(HOUR_MS)
}

/// Flushes every `flush_interval` and prunes every minute, for as long as the process runs.
pub fn spawn_flusher(counter: std::sync::Arc<UsageCounter>, db: Db, settings: UsageSettings) {
    tokio::spawn(async move {
        let mut last_prune: Option<tokio::time::Instant> = None;
        // Where this replica last saw the hourly tables end (see `store::usage::roll_up`).
        let mut rolled_until = 0;
        // The SQLite writer's page cache, in KiB, as sized for the last flush.
        let mut cache_kib = 0;
        loop {
            tokio::time::sleep(settings.flush_interval).await;
            // Room for a minute of combinations at this flush's pace, before it writes them.
            let rows = counter
                .unflushed()
                .saturating_mul(settings.flushes_a_minute());
            match store::usage::fit_writer_cache(&db, rows, cache_kib).await {
                Ok(kib) => cache_kib = kib,
                Err(e) => tracing::warn!(error = %e, "could not size the writer's cache"),
            }
            if let Err(e) = counter.flush(&db).await {
                tracing::warn!(error = %e, kept = counter.unflushed(), "usage flush failed; the counts are kept and retried");
            }
            // An hour is rolled up once every replica has flushed its last counts of it: the
            // counts a replica flushes after the roll-up are late ones, written to the hourly
            // tables and the consumers' windows as well as to the minutes (when the windows
            // were summed again for them, 100,000 consumers took 459 s on PostgreSQL).
            let hour = settings.settled_hour(now_ms());
            if rolled_until < hour {
                match store::usage::roll_up(&db, hour).await {
                    Ok(until) => rolled_until = until,
                    Err(e) => tracing::warn!(error = %e, "usage roll-up failed; retrying"),
                }
            }
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_INTERVAL) {
                last_prune = Some(tokio::time::Instant::now());
                match settings.prune(&db, now_ms()).await {
                    Ok((0, 0)) => {}
                    Ok((minutes, hours)) => {
                        tracing::debug!(minutes, hours, "pruned old usage buckets")
                    }
                    Err(e) => tracing::warn!(error = %e, "usage pruning failed; retrying"),
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    #[test]
    fn an_hour_is_rolled_up_two_flushes_and_at_least_a_minute_after_it_ends() {
        assert_eq!(roll_up_grace(Duration::from_secs(5)), 60_000);
        assert_eq!(roll_up_grace(Duration::from_secs(45)), 90_000);
        assert_eq!(roll_up_grace(Duration::from_secs(300)), 600_000);
        // The 12:00 hour is rolled up from 13:01 with the default five seconds' flush.
        let settings = UsageSettings::default();
        let one_pm = 13 * HOUR_MS;
        assert_eq!(settings.settled_hour(one_pm + 59_999), 12 * HOUR_MS);
        assert_eq!(settings.settled_hour(one_pm + 60_000), one_pm);
        // A minute of combinations is twelve flushes' worth at five seconds, one at five minutes.
        assert_eq!(settings.flushes_a_minute(), 12);
        let slow = UsageSettings {
            flush_interval: Duration::from_secs(300),
            ..settings
        };
        assert_eq!(slow.flushes_a_minute(), 1);
    }

    fn d<'a>(consumer: &'a str, outcome: &'static str) -> Decision<'a> {
        Decision {
            gateway: "gw-1",
            environment: "env-1",
            consumer,
            key: "key-1",
            api: "api-1",
            outcome,
        }
    }

    /// A sink that keeps what it is given, or refuses while `down`.
    #[derive(Default)]
    struct Memory {
        rows: Mutex<Vec<UsageDelta>>,
        down: AtomicBool,
    }

    impl UsageSink for Memory {
        async fn add(&self, deltas: &[UsageDelta]) -> Result<(), store::Error> {
            if self.down.load(Ordering::Relaxed) {
                return Err(store::Error::PoolTimedOut);
            }
            self.rows.lock().unwrap().extend_from_slice(deltas);
            Ok(())
        }
    }

    fn total(rows: &[UsageDelta], consumer: &str, outcome: &str, at: i64) -> i64 {
        rows.iter()
            .filter(|r| r.consumer_id == consumer && r.outcome == outcome && r.at == at)
            .map(|r| r.requests)
            .sum()
    }

    /// The room of the counting tables, of the list a flush sorts, and of its heads.
    async fn room(c: &UsageCounter) -> (usize, usize, usize) {
        let tables = c.shards.iter().map(|s| s.lock().unwrap().capacity()).sum();
        let spares = c.flushing.lock().await;
        (tables, spares.taken.capacity(), spares.heads.capacity())
    }

    #[tokio::test]
    async fn the_counting_tables_keep_the_room_of_busy_intervals_and_give_back_a_bursts() {
        let c = UsageCounter::default();
        let sink = Memory::default();
        let consumers: Vec<String> = (0..100_000).map(|i| format!("cs-{i:06}")).collect();
        let busy = |n: usize| {
            for consumer in &consumers[..n] {
                c.count(&d(consumer, "allowed"), 60_000);
            }
        };
        // Two busy intervals: afterwards both tables (the counting one and its spare) have
        // the room the interval needed, and so has the list.
        for _ in 0..2 {
            busy(5_000);
            assert_eq!(c.flush(&sink).await.unwrap(), 5_000);
        }
        let (tables, list, heads) = room(&c).await;
        assert!(tables >= 5_000, "the counting tables have room: {tables}");
        assert!(list >= 5_000, "the list has room: {list}");
        assert!(heads >= 5_000, "the heads have room: {heads}");
        // The next interval as busy counts into them without growing them.
        busy(5_000);
        assert_eq!(room(&c).await.0, tables);
        assert_eq!(c.flush(&sink).await.unwrap(), 5_000);
        // After a burst, quiet intervals give its room back.
        busy(100_000);
        assert_eq!(c.flush(&sink).await.unwrap(), 100_000);
        let (_, list, heads) = room(&c).await;
        assert!(list >= 100_000 && heads >= 100_000);
        for _ in 0..3 {
            busy(10);
            assert_eq!(c.flush(&sink).await.unwrap(), 10);
        }
        let (tables, list, heads) = room(&c).await;
        assert!(tables < 100_000, "the burst's room is given back: {tables}");
        assert!(list < 100_000, "the burst's list is given back: {list}");
        assert!(heads < 100_000, "the burst's heads are given back: {heads}");
        // Every count arrived once.
        let rows = sink.rows.lock().unwrap();
        assert_eq!(
            rows.iter().map(|r| r.requests).sum::<i64>(),
            15_000 + 100_000 + 30
        );
    }

    proptest::proptest! {
        /// Sorted by their heads, entries are in the order of their keys, whatever their IDs'
        /// lengths (an ID left empty, a consumer's ID longer than a head, one a prefix of
        /// another) and however many gateways, minutes and environments they mix.
        #[test]
        fn entries_sorted_by_their_heads_are_in_the_order_of_their_keys(
            picks in proptest::collection::vec(
                (0..3usize, 0..3i64, 0..3usize, 0..6usize, 0..3usize, 0..2usize, 0..2usize),
                0..300,
            )
        ) {
            let gateways = ["gw-b", "gw-a", ""];
            let environments = ["", "env-x", "env-w"];
            let consumers = [
                "",
                "cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaa1",
                "cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                "cs-aaaaaaaaaaaaaaaaaaaaa",
                "cs-b",
                "cs-aaaaaaaaaaaaaaaaaaaaaaaaaaaa0",
            ];
            let keys = ["key-2", "", "key-1"];
            let apis = ["api-z", "api-y"];
            let outcomes = ["allowed", "no-rule"];
            let mut entries: Vec<Entry> = picks
                .iter()
                .map(|&(g, m, e, c, k, a, o)| {
                    let d = Decision {
                        gateway: gateways[g],
                        environment: environments[e],
                        consumer: consumers[c],
                        key: keys[k],
                        api: apis[a],
                        outcome: outcomes[o],
                    };
                    Entry::new(0, m * MINUTE_MS, &d)
                })
                .collect();
            let mut want: Vec<UsageDelta> = entries.iter().map(Entry::delta).collect();
            want.sort_by(|a, b| a.bucket_key().cmp(&b.bucket_key()));
            // The heads kept from an earlier flush: leftovers are not taken for this one's.
            let mut heads = vec![(7, [1u8; CONSUMER_HEAD], 3); 5];
            sort_by_bucket(&mut entries, &mut heads);
            let got: Vec<UsageDelta> = entries.iter().map(Entry::delta).collect();
            proptest::prop_assert_eq!(&got, &want);
            proptest::prop_assert!(heads.is_empty());
            // And again with the same heads: in order, it stays so.
            sort_by_bucket(&mut entries, &mut heads);
            let again: Vec<UsageDelta> = entries.iter().map(Entry::delta).collect();
            proptest::prop_assert_eq!(again, want);
        }
    }

    #[tokio::test]
    async fn a_flush_hands_the_combinations_over_in_the_order_of_their_buckets() {
        let c = UsageCounter::default();
        let consumers: Vec<String> = (0..5_000).map(|i| format!("cs-{i:05}")).collect();
        // Counted in an order unlike the key's: two minutes, consumers from both ends.
        for (i, consumer) in consumers.iter().enumerate().rev() {
            let at = if i % 2 == 0 { 60_000 * 11 } else { 60_000 * 10 };
            c.count(&d(consumer, "allowed"), at);
            c.count(&d(consumer, "no-rule"), at);
        }
        let sink = Memory::default();
        assert_eq!(c.flush(&sink).await.unwrap(), 10_000);
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(rows.len(), 10_000);
        assert!(
            rows.windows(2)
                .all(|w| w[0].bucket_key() < w[1].bucket_key()),
            "parts are handed over in key order, each after the one before"
        );
        assert_eq!(rows[0].at, 600_000);
        assert_eq!(rows[0].consumer_id, "cs-00001");
    }

    #[tokio::test]
    async fn decisions_are_counted_per_combination_and_minute() {
        let c = UsageCounter::default();
        for _ in 0..3 {
            c.count(&d("cs-a", "allowed"), 60_000 * 10 + 5);
        }
        c.count(&d("cs-a", "no-rule"), 60_000 * 10 + 59_999);
        c.count(&d("cs-b", "allowed"), 60_000 * 10);
        c.count(&d("cs-a", "allowed"), 60_000 * 11);
        assert_eq!(c.unflushed(), 4);
        let sink = Memory::default();
        assert_eq!(c.flush(&sink).await.unwrap(), 4);
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(total(&rows, "cs-a", "allowed", 600_000), 3);
        assert_eq!(total(&rows, "cs-a", "no-rule", 600_000), 1);
        assert_eq!(total(&rows, "cs-b", "allowed", 600_000), 1);
        assert_eq!(total(&rows, "cs-a", "allowed", 660_000), 1);
        assert_eq!(c.flush(&sink).await.unwrap(), 0, "nothing twice");
    }

    #[tokio::test]
    async fn ids_kept_end_to_end_are_told_apart_where_they_split() {
        let c = UsageCounter::default();
        // The same bytes end to end, split differently: two combinations.
        let split = |environment, consumer, key| Decision {
            gateway: "gw",
            environment,
            consumer,
            key,
            api: "",
            outcome: "allowed",
        };
        c.count(&split("ab", "c", "d"), 0);
        c.count(&split("a", "bc", "d"), 0);
        c.count(&split("a", "b", "cd"), 0);
        c.count(&split("a", "bc", "d"), 0);
        let sink = Memory::default();
        assert_eq!(c.flush(&sink).await.unwrap(), 3);
        let mut rows: Vec<_> = sink
            .rows
            .lock()
            .unwrap()
            .iter()
            .map(|r| {
                let ids = [
                    &r.gateway_id,
                    &r.environment_id,
                    &r.consumer_id,
                    &r.key_id,
                    &r.api_id,
                ];
                (ids.map(|s| s.to_string()), r.requests)
            })
            .collect();
        rows.sort();
        let ids = |e: &str, c: &str, k: &str| ["gw", e, c, k, ""].map(str::to_owned);
        assert_eq!(
            rows,
            [
                (ids("a", "b", "cd"), 1),
                (ids("a", "bc", "d"), 2),
                (ids("ab", "c", "d"), 1)
            ]
        );
    }

    #[tokio::test]
    async fn counts_refused_by_the_sink_are_offered_again_not_lost_or_doubled() {
        let c = UsageCounter::default();
        let sink = Memory::default();
        c.count(&d("cs-a", "allowed"), 0);
        sink.down.store(true, Ordering::Relaxed);
        assert!(c.flush(&sink).await.is_err());
        c.count(&d("cs-a", "allowed"), 1);
        assert!(c.flush(&sink).await.is_err());
        sink.down.store(false, Ordering::Relaxed);
        c.flush(&sink).await.unwrap();
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(total(&rows, "cs-a", "allowed", 0), 2);
        assert_eq!(c.unflushed(), 0);
    }

    /// A sink that takes `allowed` calls, then refuses.
    struct Flaky {
        rows: Mutex<Vec<UsageDelta>>,
        allowed: std::sync::atomic::AtomicUsize,
    }

    impl UsageSink for Flaky {
        async fn add(&self, deltas: &[UsageDelta]) -> Result<(), store::Error> {
            if self
                .allowed
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_err()
            {
                return Err(store::Error::PoolTimedOut);
            }
            self.rows.lock().unwrap().extend_from_slice(deltas);
            Ok(())
        }
    }

    /// A counter with two parts and ten combinations of consumers counted, whose flush the
    /// sink refused after taking the first part.
    async fn refused_after_one_part() -> (UsageCounter, Vec<String>, Flaky) {
        let c = UsageCounter::default();
        let consumers: Vec<String> = (0..FLUSH_PART * 2 + 10)
            .map(|i| format!("cs-{i}"))
            .collect();
        for id in &consumers {
            c.count(&d(id, "allowed"), 0);
        }
        let sink = Flaky {
            rows: Mutex::default(),
            allowed: 1.into(),
        };
        assert!(c.flush(&sink).await.is_err());
        (c, consumers, sink)
    }

    #[tokio::test]
    async fn a_flush_refused_halfway_offers_again_only_what_was_not_taken() {
        let (c, consumers, sink) = refused_after_one_part().await;
        assert_eq!(sink.rows.lock().unwrap().len(), FLUSH_PART);
        assert_eq!(c.unflushed(), FLUSH_PART + 10);
        sink.allowed.store(10, Ordering::Relaxed);
        assert_eq!(c.flush(&sink).await.unwrap(), FLUSH_PART + 10);
        let rows = sink.rows.lock().unwrap();
        assert_eq!(rows.len(), consumers.len());
        assert_eq!(
            rows.iter().map(|r| r.requests).sum::<i64>(),
            consumers.len() as i64
        );
        let distinct: std::collections::HashSet<&str> =
            rows.iter().map(|r| r.consumer_id.as_str()).collect();
        assert_eq!(distinct.len(), consumers.len(), "none twice");
    }

    #[tokio::test]
    async fn a_flush_refused_within_the_earlier_batch_keeps_its_rest_and_the_new_counts() {
        let (c, earlier, sink) = refused_after_one_part().await;
        // Refused: FLUSH_PART + 10 of the earlier ones. New counts arrive, one of them for a
        // combination the refused batch holds.
        for id in ["cs-new-1", "cs-new-2", "cs-0"] {
            c.count(&d(id, "allowed"), 60_000);
        }
        c.count(&d(&earlier[FLUSH_PART * 2 + 9], "allowed"), 0);
        sink.allowed.store(1, Ordering::Relaxed);
        assert!(c.flush(&sink).await.is_err(), "refused after one more part");
        assert_eq!(sink.rows.lock().unwrap().len(), FLUSH_PART * 2);
        assert_eq!(
            c.unflushed(),
            10 + 4,
            "the earlier batch's rest and the new counts"
        );
        sink.allowed.store(10, Ordering::Relaxed);
        assert_eq!(c.flush(&sink).await.unwrap(), 14);
        let rows = sink.rows.lock().unwrap();
        assert_eq!(
            rows.iter().map(|r| r.requests).sum::<i64>(),
            earlier.len() as i64 + 4,
            "every count once"
        );
        assert_eq!(total(&rows, &earlier[FLUSH_PART * 2 + 9], "allowed", 0), 2);
        assert_eq!(total(&rows, "cs-0", "allowed", 60_000), 1);
    }

    #[tokio::test]
    async fn concurrent_counts_all_arrive() {
        let c = std::sync::Arc::new(UsageCounter::default());
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let c = c.clone();
                std::thread::spawn(move || {
                    let consumers = ["cs-a", "cs-b", "cs-c"];
                    for i in 0..10_000 {
                        c.count(&d(consumers[(i + t) % 3], "allowed"), 0);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let sink = Memory::default();
        c.flush(&sink).await.unwrap();
        let rows = sink.rows.lock().unwrap().clone();
        assert_eq!(rows.iter().map(|r| r.requests).sum::<i64>(), 40_000);
        assert_eq!(rows.len(), 3);
    }
}
