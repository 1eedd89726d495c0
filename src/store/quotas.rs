//! Quotas, joined with the names of their subjects; their counts per period; and what the
//! enforcement snapshot reads of them.

use super::read::{self, Read};
use super::row::row;
use super::{args, update_versioned, Arg, Set, Write};
use crate::domain::limits::LimitSubject;
use crate::domain::quotas::{QuotaMetric, QuotaPeriod};
use crate::domain::records::{ConsumerRef, Quota, SubjectRef};
use crate::domain::PageRequest;

row! {
    struct Row {
        id: String,
        instance_id: String,
        subject_id: String,
        subject_name: String,
        holder_id: Option<String>,
        holder_name: Option<String>,
        metric: QuotaMetric,
        period: QuotaPeriod,
        time_zone: String,
        amount: i64,
        warn_percent: i64,
        generation: i64,
        reset_at: Option<i64>,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for Quota {
    fn from(r: Row) -> Self {
        Quota {
            id: r.id,
            instance_id: r.instance_id,
            subject_type: LimitSubject::of(&r.subject_id).unwrap_or(LimitSubject::Consumer),
            subject: SubjectRef {
                id: r.subject_id,
                name: r.subject_name,
            },
            consumer: r
                .holder_id
                .zip(r.holder_name)
                .map(|(id, name)| ConsumerRef { id, name }),
            metric: r.metric,
            period: r.period,
            time_zone: r.time_zone,
            amount: r.amount,
            warn_percent: r.warn_percent,
            generation: r.generation,
            reset_at: r.reset_at,
            used: 0,
            period_start: 0,
            period_end: 0,
            status: crate::domain::quotas::QuotaStatus::Ok,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

const COLUMNS: &str = "q.id, q.instance_id, q.subject_id, \
    COALESCE(k.name, c.name, g.name) AS subject_name, \
    COALESCE(kc.id, c.id) AS holder_id, COALESCE(kc.name, c.name) AS holder_name, \
    q.metric, q.period, q.time_zone, q.amount, q.warn_percent, q.generation, q.reset_at, \
    q.created_at, q.updated_at, q.version";

const FROM: &str = "FROM quotas q \
    LEFT JOIN api_keys k ON k.id = q.key_id \
    LEFT JOIN consumers kc ON kc.id = k.consumer_id \
    LEFT JOIN consumers c ON c.id = q.consumer_id \
    LEFT JOIN consumer_groups g ON g.id = q.group_id";

pub async fn insert(conn: &mut impl Write, q: &Quota) -> Result<(), sqlx::Error> {
    let row = QuotaRow {
        id: q.id.clone(),
        subject_id: q.subject.id.clone(),
        metric: q.metric,
        period: q.period,
        time_zone: q.time_zone.clone(),
        amount: q.amount,
        warn_percent: q.warn_percent,
        generation: 0,
    };
    insert_row(conn, &q.instance_id, &row, q.created_at).await
}

/// Inserts a quota of the gateway `instance_id` (a console change, or an import), made at
/// `now`, at generation 0.
pub async fn insert_row(
    conn: &mut impl Write,
    instance_id: &str,
    q: &QuotaRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    use super::limits::subject_of;
    conn.execute(
        "INSERT INTO quotas (id, instance_id, subject_id, key_id, consumer_id, group_id, metric, period, time_zone, amount, warn_percent, generation, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12, 1)",
        args![
            &q.id,
            instance_id,
            &q.subject_id,
            subject_of(&q.subject_id, LimitSubject::Key),
            subject_of(&q.subject_id, LimitSubject::Consumer),
            subject_of(&q.subject_id, LimitSubject::ConsumerGroup),
            q.metric.as_str(),
            q.period.as_str(),
            &q.time_zone,
            q.amount,
            q.warn_percent,
            now,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Quota>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE q.id = $1");
    let row: Option<Row> = conn.first(&sql, &[id.into()]).await?;
    Ok(row.map(Quota::from))
}

/// Which quotas a list wants.
#[derive(Debug, Default, Clone)]
pub struct QuotaFilter {
    pub instance_id: String,
    pub subject_id: Option<String>,
    /// Every quota that covers this consumer's requests: its own, its keys' and its groups'.
    pub covering: Option<String>,
}

/// Newest first (without their counts: see [`used`]).
pub async fn list(
    conn: &mut impl Read,
    filter: &QuotaFilter,
    page: PageRequest,
) -> Result<(i64, Vec<Quota>), sqlx::Error> {
    let mut args = vec![Arg::from(&filter.instance_id)];
    let mut clause = String::from("WHERE q.instance_id = $1");
    if let Some(s) = &filter.subject_id {
        args.push(s.into());
        clause.push_str(&format!(" AND q.subject_id = ${}", args.len()));
    }
    if let Some(c) = &filter.covering {
        args.push(c.into());
        let n = args.len();
        clause.push_str(&format!(
            " AND (q.consumer_id = ${n} OR k.consumer_id = ${n} OR q.group_id IN \
             (SELECT group_id FROM consumer_group_members WHERE consumer_id = ${n}))"
        ));
    }
    let from = format!("{FROM} {clause}");
    let (total, rows) = read::page::<Row>(
        conn,
        COLUMNS,
        &from,
        "q.created_at DESC, q.id DESC",
        args,
        page,
        filter.covering.is_none() && filter.subject_id.is_none(),
    )
    .await?;
    Ok((total, rows.into_iter().map(Quota::from).collect()))
}

/// Sets the amount, time zone and warning threshold when `version` is current.
pub async fn update(
    conn: &mut impl Write,
    q: &Quota,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("amount", Set::Int(q.amount)),
        ("time_zone", Set::Text(&q.time_zone)),
        ("warn_percent", Set::Int(q.warn_percent)),
    ];
    update_versioned(
        conn,
        "quotas",
        &q.id,
        expected_version,
        &columns,
        q.updated_at,
    )
    .await
}

/// Starts the quota's count anew (a new generation) when `version` is current.
pub async fn reset(
    conn: &mut impl Write,
    id: &str,
    expected_version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [("reset_at", Set::OptInt(Some(now)))];
    if !update_versioned(conn, "quotas", id, expected_version, &columns, now).await? {
        return Ok(false);
    }
    conn.execute(
        "UPDATE quotas SET generation = generation + 1 WHERE id = $1",
        args![id],
    )
    .await?;
    Ok(true)
}

pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let n = conn
        .execute("DELETE FROM quotas WHERE id = $1", args![id])
        .await?;
    Ok(n == 1)
}

row! {
    struct UsedRow {
        requests: i64,
        tokens: i64,
    }
}

/// What counts against a quota in a period of a generation, as shared so far: requests
/// admitted and tokens reported.
pub async fn used(
    conn: &mut impl Read,
    id: &str,
    generation: i64,
    period_start: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row: Option<UsedRow> = conn
        .first(
            "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) AS requests, \
             CAST(COALESCE(SUM(tokens), 0) AS BIGINT) AS tokens FROM quota_counts \
             WHERE quota_id = $1 AND generation = $2 AND period_start = $3",
            &[id.into(), Arg::Int(generation), Arg::Int(period_start)],
        )
        .await?;
    Ok(row.map_or((0, 0), |r| (r.requests, r.tokens)))
}

row! {
    /// A quota as the check applies it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct QuotaRow {
        pub id: String,
        pub subject_id: String,
        pub metric: QuotaMetric,
        pub period: QuotaPeriod,
        pub time_zone: String,
        pub amount: i64,
        pub warn_percent: i64,
        pub generation: i64,
    }
}

const QUOTA_COLUMNS: &str =
    "id, subject_id, metric, period, time_zone, amount, warn_percent, generation";

/// Every quota of a gateway, for a full load of its snapshot.
pub async fn load(conn: &mut impl Read, instance_id: &str) -> Result<Vec<QuotaRow>, sqlx::Error> {
    conn.expect_slow();
    conn.all(
        &format!("SELECT {QUOTA_COLUMNS} FROM quotas WHERE instance_id = $1"),
        &[instance_id.into()],
    )
    .await
}

/// One quota as it is now (none once deleted), for a patch.
pub async fn load_one(conn: &mut impl Read, id: &str) -> Result<Option<QuotaRow>, sqlx::Error> {
    conn.first(
        &format!("SELECT {QUOTA_COLUMNS} FROM quotas WHERE id = $1"),
        &[id.into()],
    )
    .await
}

/// Rows per query of an `IN (…)` list.
const CHUNK: usize = 400;

/// The token quotas of these subjects (keys, consumers, groups).
pub async fn token_quotas_of(
    conn: &mut impl Read,
    instance_id: &str,
    subjects: &[&str],
) -> Result<Vec<QuotaRow>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in subjects.chunks(CHUNK) {
        let mut args = vec![Arg::from(instance_id)];
        args.extend(chunk.iter().map(|s| Arg::from(*s)));
        let sql = format!(
            "SELECT {QUOTA_COLUMNS} FROM quotas WHERE instance_id = $1 AND metric = 'tokens' \
             AND subject_id IN ({})",
            super::placeholders(2, chunk.len())
        );
        out.extend(conn.all::<QuotaRow>(&sql, &args).await?);
    }
    Ok(out)
}

row! {
    struct MemberRow {
        group_id: String,
        consumer_id: String,
    }
}

/// The groups of these consumers: (group, consumer).
pub async fn groups_of(
    conn: &mut impl Read,
    consumers: &[&str],
) -> Result<Vec<(String, String)>, sqlx::Error> {
    let mut out = Vec::new();
    for chunk in consumers.chunks(CHUNK) {
        let args: Vec<Arg> = chunk.iter().map(|c| Arg::from(*c)).collect();
        let sql = format!(
            "SELECT group_id, consumer_id FROM consumer_group_members WHERE consumer_id IN ({})",
            super::placeholders(1, chunk.len())
        );
        let rows: Vec<MemberRow> = conn.all(&sql, &args).await?;
        out.extend(rows.into_iter().map(|r| (r.group_id, r.consumer_id)));
    }
    Ok(out)
}

/// A count against a quota in one period of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodCount {
    pub quota_id: String,
    pub generation: i64,
    pub period_start: i64,
    pub requests: i64,
    pub tokens: i64,
}

/// Adds reported tokens to their quotas' periods (changed at `now`).
pub async fn add_reported(
    conn: &mut impl Write,
    counts: &[PeriodCount],
    now: i64,
) -> Result<(), sqlx::Error> {
    for chunk in counts.chunks(COUNT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO quota_counts (quota_id, generation, period_start, replica_id, requests, tokens, changed_at) VALUES ",
        );
        let mut args = Vec::with_capacity(chunk.len() * 5);
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 5;
            sql.push_str(&format!(
                "(${}, ${}, ${}, 'reported', 0, ${}, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5
            ));
            args.extend([
                Arg::from(&c.quota_id),
                Arg::Int(c.generation),
                Arg::Int(c.period_start),
                Arg::Int(c.tokens),
                Arg::Int(now),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (quota_id, generation, period_start, replica_id) \
             DO UPDATE SET tokens = quota_counts.tokens + excluded.tokens, \
             changed_at = excluded.changed_at",
        );
        conn.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Rows per INSERT of counts (6 parameters each at most).
const COUNT_CHUNK: usize = 150;

/// What a replica reads back at an exchange of quota counts.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    /// (quota, generation, period start) read in full: everything the others counted.
    pub full: &'a [(std::sync::Arc<str>, i64, i64)],
    /// Besides, every period another replica (or a report) changed at or after this time
    /// (ms), read in full too.
    pub changed_since: Option<i64>,
}

/// Counts written per transaction when there are many. A SQLite write runs on the calling
/// (server) thread: in parts, the checks queued behind it wait one part, not the whole
/// exchange (40,000 counts took about 0.3 s).
const WRITE_PART: usize = 2_000;

/// How a replica's counts are stamped (`changed_at`, which the others read changes by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// Stamped `now`: the other replicas read them at their next exchange.
    Changed,
    /// Set without touching `changed_at` (a new row is stamped `now`): a replica alone,
    /// whose rows no one reads by their change. Half the cost of a stamped write on SQLite:
    /// the change index is left alone.
    Quiet,
    /// Every row of this replica stamped `now` first, then its counts as `Changed`: the
    /// first exchange after quiet ones, so that a replica that joined meanwhile reads by
    /// their change what was written quietly.
    All,
}

/// Writes this replica's admitted requests per quota and period (its own rows, set not
/// added, stamped as `stamp` says) and reads everything else counted against the periods `wanted`:
/// the other replicas' requests and the reported tokens. The reads and the last
/// [`WRITE_PART`] counts are one transaction, the counts before them a transaction per part:
/// a count is a replica's total so far, so a part written again after a failure changes
/// nothing. The counts are written in the order of their key, so that each part sets rows
/// next to each other (a part in any order touches a page of the table per row, and each
/// page a transaction touches is written again).
pub async fn share_counts(
    db: &super::Db,
    replica_id: &str,
    now: i64,
    mine: &[PeriodCount],
    stamp: Stamp,
    wanted: Wanted<'_>,
) -> Result<Vec<PeriodCount>, sqlx::Error> {
    if stamp == Stamp::All {
        let mut tx = db.begin_write().await?;
        tx.expect_slow();
        tx.execute(
            "UPDATE quota_counts SET changed_at = $2 WHERE replica_id = $1 AND changed_at < $2",
            &[Arg::from(replica_id), Arg::Int(now)],
        )
        .await?;
        tx.commit().await?;
    }
    let quiet = stamp == Stamp::Quiet;
    let mut mine: Vec<&PeriodCount> = mine.iter().collect();
    mine.sort_unstable_by(|a, b| {
        (&a.quota_id, a.generation, a.period_start).cmp(&(
            &b.quota_id,
            b.generation,
            b.period_start,
        ))
    });
    let last = mine.len().saturating_sub(1) / WRITE_PART * WRITE_PART;
    for part in mine[..last].chunks(WRITE_PART) {
        let mut tx = db.begin_write().await?;
        write_counts(&mut tx, replica_id, now, quiet, part).await?;
        tx.commit().await?;
        tokio::task::yield_now().await;
    }
    let mut tx = db.begin_write().await?;
    write_counts(&mut tx, replica_id, now, quiet, &mine[last..]).await?;
    let out = read_shared(&mut tx, replica_id, wanted).await?;
    tx.commit().await?;
    Ok(out)
}

/// This replica's counts, set (not added), stamped `now` unless `quiet`.
async fn write_counts(
    tx: &mut impl Write,
    replica_id: &str,
    now: i64,
    quiet: bool,
    mine: &[&PeriodCount],
) -> Result<(), sqlx::Error> {
    for chunk in mine.chunks(COUNT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO quota_counts (quota_id, generation, period_start, replica_id, requests, tokens, changed_at) VALUES ",
        );
        let mut args = Vec::with_capacity(chunk.len() * 6);
        for (i, c) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 6;
            sql.push_str(&format!(
                "(${}, ${}, ${}, ${}, ${}, 0, ${})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6
            ));
            args.extend([
                Arg::from(&c.quota_id),
                Arg::Int(c.generation),
                Arg::Int(c.period_start),
                Arg::from(replica_id),
                Arg::Int(c.requests),
                Arg::Int(now),
            ]);
        }
        sql.push_str(
            " ON CONFLICT (quota_id, generation, period_start, replica_id) \
             DO UPDATE SET requests = excluded.requests",
        );
        if !quiet {
            sql.push_str(", changed_at = excluded.changed_at");
        }
        // A part of an exchange: the checks queued on this worker go on without it meanwhile.
        tx.expect_slow();
        tx.execute(&sql, &args).await?;
    }
    Ok(())
}

/// What the others counted against the periods `wanted`.
async fn read_shared(
    tx: &mut impl Read,
    replica_id: &str,
    wanted: Wanted<'_>,
) -> Result<Vec<PeriodCount>, sqlx::Error> {
    let mut out = Vec::new();
    let counted = |r: SharedRow| PeriodCount {
        quota_id: r.quota_id,
        generation: r.generation,
        period_start: r.period_start,
        requests: r.requests,
        tokens: r.tokens,
    };
    for chunk in wanted.full.chunks(CHUNK) {
        let mut args = vec![Arg::from(replica_id)];
        args.extend(chunk.iter().map(|(id, _, _)| Arg::from(&**id)));
        let sql = format!(
            "SELECT quota_id, generation, period_start, \
             CAST(SUM(requests) AS BIGINT) AS requests, CAST(SUM(tokens) AS BIGINT) AS tokens \
             FROM quota_counts WHERE replica_id <> $1 AND quota_id IN ({}) \
             GROUP BY quota_id, generation, period_start",
            super::placeholders(2, chunk.len())
        );
        tx.expect_slow();
        let rows: Vec<SharedRow> = tx.all(&sql, &args).await?;
        out.extend(
            rows.into_iter()
                .filter(|r| {
                    chunk.iter().any(|(id, g, p)| {
                        **id == *r.quota_id && *g == r.generation && *p == r.period_start
                    })
                })
                .map(counted),
        );
    }
    if let Some(since) = wanted.changed_since {
        let rows: Vec<SharedRow> = tx
            .all(
                // The changed periods by their time index, then each one's counts by key.
                "SELECT c.quota_id, c.generation, c.period_start, \
                 CAST(SUM(c.requests) AS BIGINT) AS requests, CAST(SUM(c.tokens) AS BIGINT) AS tokens \
                 FROM (SELECT DISTINCT quota_id, generation, period_start FROM quota_counts \
                       WHERE changed_at >= $2 AND replica_id <> $1) d \
                 JOIN quota_counts c ON c.quota_id = d.quota_id AND c.generation = d.generation \
                   AND c.period_start = d.period_start \
                 WHERE c.replica_id <> $1 \
                 GROUP BY c.quota_id, c.generation, c.period_start",
                &[Arg::from(replica_id), Arg::Int(since)],
            )
            .await?;
        out.extend(rows.into_iter().map(counted));
    }
    Ok(out)
}

row! {
    struct SharedRow {
        quota_id: String,
        generation: i64,
        period_start: i64,
        requests: i64,
        tokens: i64,
    }
}

/// Forgets counts of periods that started before `before` (ms), and of quotas that are gone.
pub async fn prune_counts(db: &super::Db, before: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let mut n = tx
        .execute(
            "DELETE FROM quota_counts WHERE period_start < $1",
            &[Arg::Int(before)],
        )
        .await?;
    n += tx
        .execute(
            "DELETE FROM quota_counts WHERE quota_id NOT IN (SELECT id FROM quotas)",
            &[],
        )
        .await?;
    tx.commit().await?;
    Ok(n)
}

row! {
    struct NearRow {
        quota_id: String,
    }
}

/// The quotas of an instance whose counts in some period since `since` reach their warning
/// threshold (at most `limit`): the candidates for "near their limit", which the caller
/// checks against each quota's current period.
pub async fn near_limit(
    conn: &mut impl Read,
    instance_id: &str,
    since: i64,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    conn.expect_slow();
    let rows: Vec<NearRow> = conn
        .all(
            "SELECT c.quota_id FROM quota_counts c \
             JOIN quotas q ON q.id = c.quota_id AND c.generation = q.generation \
             WHERE q.instance_id = $1 AND c.period_start >= $2 \
             GROUP BY c.quota_id, c.period_start \
             HAVING (CASE WHEN MAX(q.metric) = 'requests' THEN SUM(c.requests) ELSE SUM(c.tokens) END) * 100 \
                    >= MAX(q.amount) * MAX(q.warn_percent) \
             ORDER BY c.period_start DESC LIMIT $3",
            &[instance_id.into(), Arg::Int(since), Arg::Int(limit)],
        )
        .await?;
    let mut ids: Vec<String> = Vec::with_capacity(rows.len());
    for r in rows {
        if !ids.contains(&r.quota_id) {
            ids.push(r.quota_id);
        }
    }
    Ok(ids)
}
