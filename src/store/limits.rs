//! Rate limits, joined with the names of their subjects, and what the enforcement snapshot
//! reads of them.

use super::read::{self, Read};
use super::row::row;
use super::{args, update_versioned, Arg, Set, Write};
use crate::domain::limits::{LimitPolicy, LimitSubject};
use crate::domain::records::{ConsumerRef, RateLimit, SubjectRef};
use crate::domain::PageRequest;

row! {
    struct Row {
        id: String,
        instance_id: String,
        subject_id: String,
        subject_name: String,
        holder_id: Option<String>,
        holder_name: Option<String>,
        per_second: Option<i64>,
        per_minute: Option<i64>,
        policy: LimitPolicy,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for RateLimit {
    fn from(r: Row) -> Self {
        let subject_type = LimitSubject::of(&r.subject_id).unwrap_or(LimitSubject::Consumer);
        RateLimit {
            id: r.id,
            instance_id: r.instance_id,
            subject_type,
            subject: SubjectRef {
                id: r.subject_id,
                name: r.subject_name,
            },
            consumer: r
                .holder_id
                .zip(r.holder_name)
                .map(|(id, name)| ConsumerRef { id, name }),
            per_second: r.per_second,
            per_minute: r.per_minute,
            policy: r.policy,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

const COLUMNS: &str = "l.id, l.instance_id, l.subject_id, \
    COALESCE(k.name, c.name, g.name) AS subject_name, \
    COALESCE(kc.id, c.id) AS holder_id, COALESCE(kc.name, c.name) AS holder_name, \
    l.per_second, l.per_minute, l.policy, l.created_at, l.updated_at, l.version";

const FROM: &str = "FROM rate_limits l \
    LEFT JOIN api_keys k ON k.id = l.key_id \
    LEFT JOIN consumers kc ON kc.id = k.consumer_id \
    LEFT JOIN consumers c ON c.id = l.consumer_id \
    LEFT JOIN consumer_groups g ON g.id = l.group_id";

pub async fn insert(conn: &mut impl Write, l: &RateLimit) -> Result<(), sqlx::Error> {
    let row = LimitRow {
        id: l.id.clone(),
        subject_id: l.subject.id.clone(),
        per_second: l.per_second,
        per_minute: l.per_minute,
        policy: l.policy,
    };
    insert_row(conn, &l.instance_id, &row, l.created_at).await
}

/// Inserts a limit of the gateway `instance_id` (a console change, or an import), made at
/// `now`.
pub async fn insert_row(
    conn: &mut impl Write,
    instance_id: &str,
    l: &LimitRow,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO rate_limits (id, instance_id, subject_id, key_id, consumer_id, group_id, per_second, per_minute, policy, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)",
        args![
            &l.id,
            instance_id,
            &l.subject_id,
            subject_of(&l.subject_id, LimitSubject::Key),
            subject_of(&l.subject_id, LimitSubject::Consumer),
            subject_of(&l.subject_id, LimitSubject::ConsumerGroup),
            l.per_second,
            l.per_minute,
            l.policy.as_str(),
            now,
        ],
    )
    .await
    .map(drop)
}

/// `id` when it names a subject of this kind (it goes in that kind's column), else NULL.
pub(super) fn subject_of(id: &str, kind: LimitSubject) -> Option<&str> {
    (LimitSubject::of(id) == Some(kind)).then_some(id)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<RateLimit>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE l.id = $1");
    let row: Option<Row> = conn.first(&sql, &[id.into()]).await?;
    Ok(row.map(RateLimit::from))
}

/// Which limits a list wants.
#[derive(Debug, Default, Clone)]
pub struct LimitFilter {
    pub instance_id: String,
    /// Only the limit on this key, consumer or group.
    pub subject_id: Option<String>,
    /// Every limit that covers this consumer's requests: its own, its keys' and its
    /// groups'.
    pub covering: Option<String>,
}

/// Newest first.
pub async fn list(
    conn: &mut impl Read,
    filter: &LimitFilter,
    page: PageRequest,
) -> Result<(i64, Vec<RateLimit>), sqlx::Error> {
    let mut args = vec![Arg::from(&filter.instance_id)];
    let mut clause = String::from("WHERE l.instance_id = $1");
    if let Some(s) = &filter.subject_id {
        args.push(s.into());
        clause.push_str(&format!(" AND l.subject_id = ${}", args.len()));
    }
    if let Some(c) = &filter.covering {
        args.push(c.into());
        let n = args.len();
        clause.push_str(&format!(
            " AND (l.consumer_id = ${n} OR k.consumer_id = ${n} OR l.group_id IN \
             (SELECT group_id FROM consumer_group_members WHERE consumer_id = ${n}))"
        ));
    }
    let from = format!("{FROM} {clause}");
    let (total, rows) = read::page::<Row>(
        conn,
        COLUMNS,
        &from,
        "l.created_at DESC, l.id DESC",
        args,
        page,
        filter.covering.is_none() && filter.subject_id.is_none(),
    )
    .await?;
    Ok((total, rows.into_iter().map(RateLimit::from).collect()))
}

/// Sets the values when `version` is current; whether the row changed.
pub async fn update(
    conn: &mut impl Write,
    l: &RateLimit,
    expected_version: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("per_second", Set::OptInt(l.per_second)),
        ("per_minute", Set::OptInt(l.per_minute)),
        ("policy", Set::Text(l.policy.as_str())),
    ];
    update_versioned(
        conn,
        "rate_limits",
        &l.id,
        expected_version,
        &columns,
        l.updated_at,
    )
    .await
}

/// Whether it was there.
pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let n = conn
        .execute("DELETE FROM rate_limits WHERE id = $1", args![id])
        .await?;
    Ok(n == 1)
}

row! {
    struct SubjectRow {
        instance_id: String,
        name: String,
    }
}

/// The gateway and name of a key, consumer or consumer group; none when it does not exist.
pub async fn subject(
    conn: &mut impl Read,
    kind: LimitSubject,
    id: &str,
) -> Result<Option<(String, String)>, sqlx::Error> {
    let table = match kind {
        LimitSubject::Key => "api_keys",
        LimitSubject::Consumer => "consumers",
        LimitSubject::ConsumerGroup => "consumer_groups",
    };
    let sql = format!("SELECT instance_id, name FROM {table} WHERE id = $1");
    let row: Option<SubjectRow> = conn.first(&sql, &[id.into()]).await?;
    Ok(row.map(|r| (r.instance_id, r.name)))
}

row! {
    /// A limit as the check applies it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct LimitRow {
        pub id: String,
        pub subject_id: String,
        pub per_second: Option<i64>,
        pub per_minute: Option<i64>,
        pub policy: LimitPolicy,
    }
}

const LIMIT_COLUMNS: &str = "id, subject_id, per_second, per_minute, policy";

/// Every limit of a gateway, for a full load of its snapshot.
pub async fn load(conn: &mut impl Read, instance_id: &str) -> Result<Vec<LimitRow>, sqlx::Error> {
    conn.expect_slow();
    conn.all(
        &format!("SELECT {LIMIT_COLUMNS} FROM rate_limits WHERE instance_id = $1"),
        &[instance_id.into()],
    )
    .await
}

/// One limit as it is now (none once deleted), for a patch.
pub async fn load_one(conn: &mut impl Read, id: &str) -> Result<Option<LimitRow>, sqlx::Error> {
    conn.first(
        &format!("SELECT {LIMIT_COLUMNS} FROM rate_limits WHERE id = $1"),
        &[id.into()],
    )
    .await
}

/// One replica's count under a `cluster` limit in one window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowCount {
    pub limit_id: String,
    pub window_ms: i64,
    pub started_at: i64,
    pub requests: i64,
}

row! {
    struct SumRow {
        limit_id: String,
        window_ms: i64,
        started_at: i64,
        requests: i64,
    }
}

/// Rows per INSERT (5 parameters each).
const COUNT_CHUNK: usize = 200;

/// Writes this replica's counts (its own rows, set not added: a retry changes nothing) and
/// reads what the other replicas have counted in the windows since `since` (ms), in one
/// transaction.
pub async fn share_counts(
    db: &super::Db,
    replica_id: &str,
    mine: &[WindowCount],
    since: i64,
) -> Result<Vec<WindowCount>, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    for chunk in mine.chunks(COUNT_CHUNK) {
        let sql = format!(
            "INSERT INTO rate_limit_counts (limit_id, window_ms, started_at, replica_id, requests) \
             VALUES {} ON CONFLICT (limit_id, window_ms, started_at, replica_id) \
             DO UPDATE SET requests = excluded.requests",
            super::value_rows(chunk.len(), 5)
        );
        let mut args = Vec::with_capacity(chunk.len() * 5);
        for c in chunk {
            args.extend([
                Arg::from(&c.limit_id),
                Arg::Int(c.window_ms),
                Arg::Int(c.started_at),
                Arg::from(replica_id),
                Arg::Int(c.requests),
            ]);
        }
        tx.execute(&sql, &args).await?;
    }
    let others: Vec<SumRow> = tx
        .all(
            "SELECT limit_id, window_ms, started_at, CAST(SUM(requests) AS BIGINT) AS requests \
             FROM rate_limit_counts WHERE started_at >= $1 AND replica_id <> $2 \
             GROUP BY limit_id, window_ms, started_at",
            &[Arg::Int(since), Arg::from(replica_id)],
        )
        .await?;
    tx.commit().await?;
    Ok(others
        .into_iter()
        .map(|r| WindowCount {
            limit_id: r.limit_id,
            window_ms: r.window_ms,
            started_at: r.started_at,
            requests: r.requests,
        })
        .collect())
}

/// Forgets the counts of windows that started before `before` (ms).
pub async fn prune_counts(db: &super::Db, before: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let n = tx
        .execute(
            "DELETE FROM rate_limit_counts WHERE started_at < $1",
            &[Arg::Int(before)],
        )
        .await?;
    tx.commit().await?;
    Ok(n)
}
