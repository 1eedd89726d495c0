//! Usage buckets: counts added by the check's flushes (and token reports), read back by time
//! bucket and dimension (`read`). See `migrations/shared/0008_usage.sql`.

mod read;
mod windows;
pub use read::{query, top, Ranked, RankingCache};

use super::read::Read;
use super::row::row;
use super::{Arg, Backend, Db, Write};
use crate::domain::usage::{UsageDelta, HOUR_MS, MINUTE_MS};
use std::collections::{HashMap, HashSet};

/// Rows per INSERT (10 parameters each).
const CHUNK: usize = 400;

const KEY: &str = "gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome";

type Key<'a> = (&'a str, i64, &'a str, &'a str, &'a str, &'a str, &'a str);
type Counts = (i64, i64, i64);

/// The deltas in buckets of `width` ms of `table`, those that fall in the same bucket summed
/// (the same combination may arrive twice: a batch retried after a failure, and the counts
/// made meanwhile; a gateway table has no consumer or key, so combinations that differed
/// only by those meet), in key order, so that replicas writing at once take the rows' locks
/// in the same order.
fn merged<'a>(deltas: &'a [UsageDelta], table: Table) -> Vec<(Key<'a>, Counts)> {
    let width = table.width();
    let gateway_only = table.gateway_only();
    let key = |d: &'a UsageDelta| -> Key<'a> {
        (
            d.gateway_id.as_str(),
            d.at - d.at.rem_euclid(width),
            d.environment_id.as_str(),
            if gateway_only {
                ""
            } else {
                d.consumer_id.as_str()
            },
            if gateway_only { "" } else { d.key_id.as_str() },
            d.api_id.as_str(),
            d.outcome.as_str(),
        )
    };
    let counts = |d: &UsageDelta| (d.requests, d.prompt_tokens, d.completion_tokens);
    let add = |to: &mut Counts, c: Counts| {
        to.0 += c.0;
        to.1 += c.1;
        to.2 += c.2;
    };
    if gateway_only {
        // Many deltas (a flush's part: 2,000 consumers' combinations) fall in a few rows
        // (one per minute, environment, model API and outcome): summed by their key first,
        // only those few are sorted. Sorting the part itself compared its equal gateway and
        // environment IDs again and again (4 % of the server's samples in `make bench-authz`
        // with a flush of new combinations every 5 s; 1.8 % summed).
        let mut sums: HashMap<Key<'a>, Counts, foldhash::fast::FixedState> = HashMap::default();
        for d in deltas {
            add(sums.entry(key(d)).or_default(), counts(d));
        }
        let mut rows: Vec<(Key<'a>, Counts)> = sums.into_iter().collect();
        rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        return rows;
    }
    // One row per delta, as a rule, and a flush hands them over in key order already (the
    // sort then only confirms it).
    let mut rows: Vec<(Key<'a>, Counts)> = deltas.iter().map(|d| (key(d), counts(d))).collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    rows.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        add(&mut kept.1, later.1);
        true
    });
    rows
}

/// Adds the deltas to their minute buckets, and those of hours already rolled up (see
/// [`roll_up`]) to the hourly ones too, in one transaction: all of them or none.
pub async fn add(db: &Db, deltas: &[UsageDelta]) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    add_in(&mut tx, deltas).await?;
    tx.commit().await
}

/// [`add`] inside the caller's transaction.
pub async fn add_in(conn: &mut impl Write, deltas: &[UsageDelta]) -> Result<(), sqlx::Error> {
    // A shared lock on PostgreSQL: a roll-up (which takes it exclusively) waits for this
    // transaction, and this one for a roll-up under way, so that no count falls between
    // the minutes it rolled up and the hours written directly.
    let lock = match conn.backend() {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    };
    let rolled_until = rolled_until_in(conn, lock).await?;
    // A delta that counts nothing is not written: no row counts nothing, so a consumer's
    // window whose counts come to zero has no rows left (see `windows`).
    let counting: Vec<UsageDelta>;
    let deltas = if deltas.iter().any(UsageDelta::is_empty) {
        counting = deltas.iter().filter(|d| !d.is_empty()).cloned().collect();
        &counting[..]
    } else {
        deltas
    };
    for table in [Table::Minutes, Table::GatewayMinutes] {
        upsert(conn, table, &merged(deltas, table)).await?;
    }
    let late: Vec<UsageDelta> = deltas
        .iter()
        .filter(|d| d.at - d.at.rem_euclid(HOUR_MS) < rolled_until)
        .cloned()
        .collect();
    if !late.is_empty() {
        for table in [Table::Hours, Table::GatewayHours] {
            upsert(conn, table, &merged(&late, table)).await?;
        }
        // And to the consumers' windows that hold those hours.
        windows::added_late(conn, rolled_until, &late).await?;
    }
    Ok(())
}

row! {
    struct RolledRow {
        rolled_until: i64,
    }
}

async fn rolled_until_in(conn: &mut impl Read, lock: &str) -> Result<i64, sqlx::Error> {
    let row: Option<RolledRow> = conn
        .first(
            &format!("SELECT rolled_until FROM usage_rollup WHERE id = 1{lock}"),
            &[],
        )
        .await?;
    Ok(row.map_or(0, |r| r.rolled_until))
}

/// Sums every consumer's windows (see `windows`) again from the hourly rows: for hourly rows
/// written by other means than the roll-up (a benchmark's seeding).
pub async fn rebuild_windows(db: &Db) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let h = rolled_until_in(&mut tx, "").await?;
    windows::rebuild(&mut tx, h).await?;
    tx.commit().await
}

/// Where the hourly tables end: every minute bucket before it is in them.
pub async fn rolled_until(conn: &mut impl Read) -> Result<i64, sqlx::Error> {
    rolled_until_in(conn, "").await
}

/// Adds the minute buckets of every whole hour before `until` not yet rolled up into the
/// hourly tables, an hour a transaction, moving the mark past each; where the mark is
/// afterwards. Replicas may all try: each hour is rolled up by the first to get to it, and
/// the others find it done.
pub async fn roll_up(db: &Db, until: i64) -> Result<i64, sqlx::Error> {
    let until = until - until.rem_euclid(HOUR_MS);
    loop {
        let mut tx = db.begin_write().await?;
        let lock = match db.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let from = rolled_until_in(&mut tx, lock).await?;
        if until <= from {
            tx.commit().await?;
            return Ok(from);
        }
        // An hour at a time, skipping hours without minutes.
        let first = first_minute(&mut tx, from).await?.unwrap_or(until);
        let next = (first - first.rem_euclid(HOUR_MS) + HOUR_MS).min(until);
        let args = [Arg::Int(from), Arg::Int(next)];
        for (table, minutes, columns) in [
            (
                Table::Hours,
                Table::Minutes,
                "environment_id, consumer_id, key_id, api_id, outcome",
            ),
            (
                Table::GatewayHours,
                Table::GatewayMinutes,
                "environment_id, api_id, outcome",
            ),
        ] {
            let (name, key) = (table.name(), table.key());
            let range = minutes.range("at >= $1 AND at < $2");
            tx.expect_slow();
            tx.execute(
                &format!(
                    "INSERT INTO {name} ({key}, requests, prompt_tokens, completion_tokens) \
                     SELECT gateway_id, at / {HOUR_MS} * {HOUR_MS}, {columns}, \
                     CAST(SUM(requests) AS BIGINT), CAST(SUM(prompt_tokens) AS BIGINT), \
                     CAST(SUM(completion_tokens) AS BIGINT) \
                     FROM {range} \
                     GROUP BY gateway_id, at / {HOUR_MS} * {HOUR_MS}, {columns} \
                     ON CONFLICT ({key}) DO UPDATE SET {added}",
                    added = added(name),
                ),
                &args,
            )
            .await?;
        }
        windows::rolled(&mut tx, from, next).await?;
        tx.execute(
            "UPDATE usage_rollup SET rolled_until = $1 WHERE id = 1",
            &[Arg::Int(next)],
        )
        .await?;
        tx.commit().await?;
    }
}

row! {
    struct FirstRow {
        at: Option<i64>,
    }
}

async fn first_minute(conn: &mut impl Read, from: i64) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<FirstRow> = conn
        .first(
            // The gateways' totals have the same minutes, and an index by time.
            "SELECT MIN(at) AS at FROM usage_gateway_minutes WHERE at >= $1",
            &[Arg::Int(from)],
        )
        .await?;
    Ok(row.and_then(|r| r.at))
}

/// The `SET` of an upsert that adds the counts to a bucket's.
fn added(table: &str) -> String {
    format!(
        "requests = {table}.requests + excluded.requests, \
         prompt_tokens = {table}.prompt_tokens + excluded.prompt_tokens, \
         completion_tokens = {table}.completion_tokens + excluded.completion_tokens"
    )
}

/// The tables of buckets.
#[derive(Debug, Clone, Copy)]
enum Table {
    Minutes,
    Hours,
    GatewayMinutes,
    GatewayHours,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::Minutes => "usage_minutes",
            Table::Hours => "usage_hours",
            Table::GatewayMinutes => "usage_gateway_minutes",
            Table::GatewayHours => "usage_gateway_hours",
        }
    }

    /// `FROM` this table `WHERE` its buckets' start meets `within` (a condition on `at`),
    /// for every gateway. The consumers' minutes have no index by time: each gateway's are
    /// sought by their key (gateway, minute, …), the gateways being those with totals there
    /// (a flush writes a gateway's total of every minute it adds a row to; see
    /// `migrations/shared/0021_usage_minutes_without_time_index.sql`).
    fn range(self, within: &str) -> String {
        let name = self.name();
        match self {
            Table::Minutes => format!(
                "{name} WHERE gateway_id IN (SELECT DISTINCT gateway_id FROM \
                 usage_gateway_minutes WHERE {within}) AND {within}"
            ),
            _ => format!("{name} WHERE {within}"),
        }
    }

    /// Without the consumer and key.
    fn gateway_only(self) -> bool {
        matches!(self, Table::GatewayMinutes | Table::GatewayHours)
    }

    /// How long its buckets are.
    fn width(self) -> i64 {
        match self {
            Table::Minutes | Table::GatewayMinutes => MINUTE_MS,
            Table::Hours | Table::GatewayHours => HOUR_MS,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Table::Minutes | Table::Hours => KEY,
            Table::GatewayMinutes | Table::GatewayHours => {
                "gateway_id, at, environment_id, api_id, outcome"
            }
        }
    }
}

row! {
    struct RequestIdRow {
        request_id: String,
    }
}

/// Remembers the request IDs of reported usage (with their times); the ones this gateway had
/// not seen before, which are the ones to count.
pub async fn remember_reports(
    conn: &mut impl Write,
    gateway_id: &str,
    reports: &[(&str, i64)],
) -> Result<HashSet<String>, sqlx::Error> {
    let mut new = HashSet::new();
    for chunk in reports.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO usage_reports (gateway_id, request_id, at) VALUES {} \
             ON CONFLICT (gateway_id, request_id) DO NOTHING RETURNING request_id",
            super::value_rows(chunk.len(), 3)
        );
        let mut args = Vec::with_capacity(chunk.len() * 3);
        for (id, at) in chunk {
            args.extend([Arg::from(gateway_id), Arg::from(*id), Arg::Int(*at)]);
        }
        let rows: Vec<RequestIdRow> = conn.all(&sql, &args).await?;
        new.extend(rows.into_iter().map(|r| r.request_id));
    }
    Ok(new)
}

row! {
    struct HolderRow {
        id: String,
        consumer_id: Option<String>,
    }
}

row! {
    struct IdRow {
        id: String,
    }
}

/// The rows `select` (ending in `id IN`, with `$1` the gateway) finds for `ids`, asked in
/// chunks.
async fn of_ids<T: super::row::Row>(
    conn: &mut impl Read,
    select: &str,
    gateway_id: &str,
    ids: &[&str],
) -> Result<Vec<T>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in ids.chunks(CHUNK) {
        let mut args = vec![Arg::from(gateway_id)];
        args.extend(chunk.iter().map(|id| Arg::from(*id)));
        let sql = format!("{select} ({})", super::placeholders(2, chunk.len()));
        out.extend(conn.all::<T>(&sql, &args).await?);
    }
    Ok(out)
}

/// Of these keys, the ones of the gateway, with the consumer each is bound to now.
pub async fn key_holders(
    conn: &mut impl Read,
    gateway_id: &str,
    ids: &[&str],
) -> Result<HashMap<String, Option<String>>, sqlx::Error> {
    let select = "SELECT id, consumer_id FROM api_keys WHERE instance_id = $1 AND id IN";
    let rows: Vec<HolderRow> = of_ids(conn, select, gateway_id, ids).await?;
    Ok(rows.into_iter().map(|r| (r.id, r.consumer_id)).collect())
}

/// What a record or a filter may name besides a key.
#[derive(Debug, Clone, Copy)]
pub enum Named {
    Consumer,
    Group,
    Api,
    Environment,
}

impl Named {
    fn table(self) -> &'static str {
        match self {
            Named::Consumer => "consumers",
            Named::Group => "consumer_groups",
            Named::Api => "model_apis",
            Named::Environment => "environments",
        }
    }
}

/// The ID of the gateway's consumer, group, model API or environment with this name
/// (case-insensitively, as names are unique).
pub async fn id_by_name(
    conn: &mut impl Read,
    named: Named,
    gateway_id: &str,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    let Ok(name) = crate::domain::Name::parse(name) else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT id FROM {} WHERE instance_id = $1 AND name_key = $2",
        named.table()
    );
    let row: Option<IdRow> = conn
        .first(&sql, &[Arg::from(gateway_id), name.unique_key().into()])
        .await?;
    Ok(row.map(|r| r.id))
}

/// Of these IDs, the ones of the gateway's consumers, model APIs or environments.
pub async fn existing(
    conn: &mut impl Read,
    named: Named,
    gateway_id: &str,
    ids: &[&str],
) -> Result<HashSet<String>, sqlx::Error> {
    let select = format!(
        "SELECT id FROM {} WHERE instance_id = $1 AND id IN",
        named.table()
    );
    let rows: Vec<IdRow> = of_ids(conn, &select, gateway_id, ids).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// The gateway's default environment.
pub async fn default_environment(
    conn: &mut impl Read,
    gateway_id: &str,
) -> Result<Option<String>, sqlx::Error> {
    let row: Option<IdRow> = conn
        .first(
            "SELECT id FROM environments WHERE instance_id = $1 AND is_default = 1",
            &[Arg::from(gateway_id)],
        )
        .await?;
    Ok(row.map(|r| r.id))
}

async fn upsert(
    conn: &mut impl Write,
    table: Table,
    rows: &[(Key<'_>, Counts)],
) -> Result<(), sqlx::Error> {
    let (name, key) = (table.name(), table.key());
    let gateway_only = table.gateway_only();
    let width = if gateway_only { 8 } else { 10 };
    for chunk in rows.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO {name} ({key}, requests, prompt_tokens, completion_tokens) VALUES {} \
             ON CONFLICT ({key}) DO UPDATE SET {}",
            super::value_rows(chunk.len(), width),
            added(name)
        );
        let mut args = Vec::with_capacity(chunk.len() * width);
        for ((gw, at, env, consumer, key, api, outcome), (r, p, c)) in chunk {
            args.extend([Arg::from(*gw), Arg::Int(*at), Arg::from(*env)]);
            if !gateway_only {
                args.extend([Arg::from(*consumer), Arg::from(*key)]);
            }
            args.extend([
                Arg::from(*api),
                Arg::from(*outcome),
                Arg::Int(*r),
                Arg::Int(*p),
                Arg::Int(*c),
            ]);
        }
        // Hundreds of rows: the checks queued on this worker go on without it meanwhile.
        conn.expect_slow();
        conn.execute(&sql, &args).await?;
    }
    Ok(())
}

/// What a minute bucket row takes in the writer's page cache, with its share of the B-tree
/// (1,000,000 combinations of `make bench-authz`: about 200 MB).
const CACHED_ROW_BYTES: usize = 200;

/// Sizes SQLite's writer's page cache for `rows_per_minute` usage combinations (see
/// [`super::lite::WRITER_CACHE_KIB`]): grown as soon as they need more, given back once they
/// need a quarter of it or less (in powers of two, so that a busy minute beside a quiet one
/// does not change it back and forth). `current` is the size the last call set (0 before the
/// first); the size now set, in KiB. Nothing on PostgreSQL.
pub async fn fit_writer_cache(
    db: &Db,
    rows_per_minute: usize,
    current: i64,
) -> Result<i64, sqlx::Error> {
    if db.backend != Backend::Sqlite {
        return Ok(current);
    }
    let range = super::lite::WRITER_CACHE_KIB;
    let needed = i64::try_from(rows_per_minute.saturating_mul(CACHED_ROW_BYTES) / 1024)
        .unwrap_or(i64::MAX)
        .clamp(*range.start(), *range.end());
    let target = needed
        .unsigned_abs()
        .next_power_of_two()
        .min(range.end().unsigned_abs());
    let target = i64::try_from(target).unwrap_or(*range.end());
    if current > 0 && target <= current && target > current / 4 {
        return Ok(current);
    }
    let mut tx = db.begin_write().await?;
    tx.execute(&format!("PRAGMA cache_size = -{target}"), &[])
        .await?;
    tx.commit().await?;
    Ok(target)
}

/// Deletes minute buckets that start before `minutes_before` (but none not yet rolled up)
/// and hourly ones before `hours_before`; how many of each.
pub async fn prune(
    db: &Db,
    minutes_before: i64,
    hours_before: i64,
) -> Result<(u64, u64), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    // Locked on PostgreSQL: the windows' hours must not move while pruned rows leave them.
    let lock = match db.backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    };
    let rolled_until = rolled_until_in(&mut tx, lock).await?;
    let mut minutes = 0;
    // The consumers' minutes first: they are found by the gateways' totals of those minutes.
    for table in [Table::Minutes, Table::GatewayMinutes] {
        tx.expect_slow();
        minutes += tx
            .execute(
                &format!("DELETE FROM {}", table.range("at < $1")),
                &[Arg::Int(minutes_before.min(rolled_until))],
            )
            .await?;
    }
    windows::pruning(&mut tx, hours_before, rolled_until).await?;
    let mut hours = 0;
    for table in [Table::Hours, Table::GatewayHours] {
        tx.expect_slow();
        hours += tx
            .execute(
                &format!("DELETE FROM {} WHERE at < $1", table.name()),
                &[Arg::Int(hours_before)],
            )
            .await?;
    }
    // A report older than the minute buckets is refused, so its ID need not be kept.
    tx.execute(
        "DELETE FROM usage_reports WHERE at < $1",
        &[Arg::Int(minutes_before)],
    )
    .await?;
    tx.commit().await?;
    Ok((minutes, hours))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(consumer: &str, at: i64, requests: i64, tokens: i64) -> UsageDelta {
        UsageDelta {
            gateway_id: "gw-1".into(),
            at,
            environment_id: "env-1".into(),
            consumer_id: consumer.into(),
            key_id: String::new(),
            api_id: "api-1".into(),
            outcome: "allowed".into(),
            requests,
            prompt_tokens: tokens,
            completion_tokens: 0,
        }
    }

    #[test]
    fn deltas_in_one_bucket_are_summed_once_in_key_order() {
        let deltas = [
            d("cs-b", 60_000, 1, 0),
            d("cs-a", 60_000, 2, 5),
            d("cs-a", 60_000, 3, 7),
            d("cs-a", 120_000, 4, 0),
        ];
        let minutes: Vec<(&str, i64, Counts)> = merged(&deltas, Table::Minutes)
            .into_iter()
            .map(|(k, c)| (k.3, k.1, c))
            .collect();
        assert_eq!(
            minutes,
            vec![
                ("cs-a", 60_000, (5, 12, 0)),
                ("cs-b", 60_000, (1, 0, 0)),
                ("cs-a", 120_000, (4, 0, 0)),
            ]
        );
        let hours: Vec<(&str, i64, Counts)> = merged(&deltas, Table::Hours)
            .into_iter()
            .map(|(k, c)| (k.3, k.1, c))
            .collect();
        assert_eq!(hours, vec![("cs-a", 0, (9, 12, 0)), ("cs-b", 0, (1, 0, 0))]);
    }

    #[test]
    fn the_gateways_rows_sum_every_consumers_deltas_of_their_bucket_in_key_order() {
        // Two gateways, minutes of three hours (not on the minute), environments, APIs,
        // outcomes and consumers mixed, against a sum kept in key order.
        let mut deltas = Vec::new();
        // Gateway, minute, environment, model API and outcome.
        type GatewayKey = (String, i64, String, String, String);
        let mut expected = std::collections::BTreeMap::<GatewayKey, Counts>::new();
        for i in 0..3_000i64 {
            let mut x = d(&format!("cs-{}", (i * 7919) % 500), 0, 1 + i % 3, i % 5);
            x.gateway_id = format!("gw-{}", i % 2);
            x.at = ((i * 31) % 130) * 60_000 + i % 60_000;
            x.environment_id = format!("env-{}", (i / 7) % 3);
            x.api_id = format!("api-{}", (i * 13) % 10);
            x.outcome = ["allowed", "no-rule", "rate-limited"][(i % 3) as usize].into();
            x.completion_tokens = i % 2;
            let c = expected
                .entry((
                    x.gateway_id.clone(),
                    x.at - x.at % 60_000,
                    x.environment_id.clone(),
                    x.api_id.clone(),
                    x.outcome.clone(),
                ))
                .or_default();
            c.0 += x.requests;
            c.1 += x.prompt_tokens;
            c.2 += x.completion_tokens;
            deltas.push(x);
        }
        let rows = merged(&deltas, Table::GatewayMinutes);
        let got: Vec<(GatewayKey, Counts)> = rows
            .iter()
            .map(|(k, c)| {
                assert_eq!((k.3, k.4), ("", ""), "no consumer or key in a gateway row");
                ((k.0.into(), k.1, k.2.into(), k.5.into(), k.6.into()), *c)
            })
            .collect();
        assert_eq!(got, expected.into_iter().collect::<Vec<_>>());
        let hours = merged(&deltas, Table::GatewayHours);
        assert!(
            hours.windows(2).all(|w| w[0].0 < w[1].0),
            "key order, once each"
        );
        let total = |rows: &[(Key<'_>, Counts)]| rows.iter().map(|r| r.1 .0).sum::<i64>();
        assert_eq!(
            total(&hours),
            deltas.iter().map(|d| d.requests).sum::<i64>()
        );
        assert!(hours.iter().all(|r| r.0 .1 % HOUR_MS == 0));
    }

    row! {
        struct BucketRow {
            gateway_id: String,
            at: i64,
            requests: i64,
        }
    }

    row! {
        struct PlanRow {
            detail: String,
        }
    }

    /// A new SQLite database in a temporary folder (kept while the folder is).
    pub(super) async fn sqlite_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}/usage.db", dir.path().display()))
            .await
            .unwrap();
        (dir, db)
    }

    /// The lines of SQLite's plan for `sql` (`EXPLAIN QUERY PLAN …`).
    pub(super) async fn query_plan(db: &Db, sql: &str, args: &[Arg]) -> Vec<String> {
        let mut conn = db.reader().await.unwrap();
        let plan: Vec<PlanRow> = conn
            .all(&format!("EXPLAIN QUERY PLAN {sql}"), args)
            .await
            .unwrap();
        plan.into_iter().map(|r| r.detail).collect()
    }

    row! {
        struct CacheRow {
            cache_size: i64,
        }
    }

    #[tokio::test]
    async fn the_writers_cache_grows_with_a_minutes_rows_and_is_given_back_when_they_fall() {
        let (_dir, db) = sqlite_db().await;
        let cache = || async {
            let mut tx = db.begin_write().await.unwrap();
            let row: Option<CacheRow> = tx.first("PRAGMA cache_size", &[]).await.unwrap();
            tx.commit().await.unwrap();
            -row.unwrap().cache_size
        };
        // A quiet replica keeps SQLite's default.
        assert_eq!(fit_writer_cache(&db, 1_000, 0).await.unwrap(), 2_048);
        assert_eq!(cache().await, 2_048);
        // A busy minute (1,000,000 combinations, about 200 MB) takes the most there is.
        assert_eq!(
            fit_writer_cache(&db, 1_000_000, 2_048).await.unwrap(),
            262_144
        );
        assert_eq!(cache().await, 262_144);
        // Half as many rows keep it; a quarter gives it back, down to what they need.
        assert_eq!(
            fit_writer_cache(&db, 600_000, 262_144).await.unwrap(),
            262_144
        );
        assert_eq!(cache().await, 262_144);
        assert_eq!(
            fit_writer_cache(&db, 250_000, 262_144).await.unwrap(),
            65_536
        );
        assert_eq!(cache().await, 65_536);
    }

    #[tokio::test]
    async fn every_gateways_minutes_are_rolled_up_and_pruned_by_the_tables_key() {
        let (_dir, db) = sqlite_db().await;
        let mut deltas = Vec::new();
        for (gateway, requests) in [("gw-a", 1), ("gw-b", 2)] {
            for at in [
                2 * HOUR_MS + 5 * MINUTE_MS,
                2 * HOUR_MS + 59 * MINUTE_MS,
                3 * HOUR_MS,
            ] {
                deltas.push(UsageDelta {
                    gateway_id: gateway.into(),
                    ..d("cs-1", at, requests, 0)
                });
            }
        }
        add(&db, &deltas).await.unwrap();
        assert_eq!(
            roll_up(&db, 3 * HOUR_MS + 30 * MINUTE_MS).await.unwrap(),
            3 * HOUR_MS
        );
        let rows = |sql: &'static str| {
            let db = db.clone();
            async move {
                let mut conn = db.reader().await.unwrap();
                let rows: Vec<BucketRow> = conn.all(sql, &[]).await.unwrap();
                rows.into_iter()
                    .map(|r| (r.gateway_id, r.at, r.requests))
                    .collect::<Vec<_>>()
            }
        };
        let rolled = vec![
            ("gw-a".to_owned(), 2 * HOUR_MS, 2),
            ("gw-b".to_owned(), 2 * HOUR_MS, 4),
        ];
        for sql in [
            "SELECT gateway_id, at, requests FROM usage_hours ORDER BY 1, 2",
            "SELECT gateway_id, at, requests FROM usage_gateway_hours ORDER BY 1, 2",
        ] {
            assert_eq!(rows(sql).await, rolled, "{sql}");
        }
        // Both gateways' minutes of the rolled-up hour go, the next hour's stay.
        let (minutes, _) = prune(&db, 3 * HOUR_MS, 0).await.unwrap();
        assert_eq!(minutes, 8, "two minutes of two gateways, in both tables");
        let left = rows("SELECT gateway_id, at, requests FROM usage_minutes ORDER BY 1, 2").await;
        assert_eq!(
            left,
            vec![
                ("gw-a".to_owned(), 3 * HOUR_MS, 1),
                ("gw-b".to_owned(), 3 * HOUR_MS, 2)
            ]
        );
        // Neither reads every row of the minutes: each gateway's are sought by the key.
        for (verb, within, seek) in [
            (
                "SELECT * FROM",
                "at >= $1 AND at < $2",
                "(gateway_id=? AND at>? AND at<?)",
            ),
            ("DELETE FROM", "at < $1", "(gateway_id=? AND at<?)"),
        ] {
            let sql = format!("{verb} {}", Table::Minutes.range(within));
            let plan = query_plan(&db, &sql, &[Arg::Int(0), Arg::Int(HOUR_MS)]).await;
            let want = format!("SEARCH usage_minutes USING PRIMARY KEY {seek}");
            assert!(plan.contains(&want), "{verb}: {plan:?}");
            assert!(
                !plan.iter().any(|d| d.starts_with("SCAN usage_minutes")),
                "{verb}: {plan:?}"
            );
        }
    }
}
