//! The replicas running on this database, each marked seen by its own check every second
//! (see `migrations/shared/0015_replicas.sql`).

use super::read::Read;
use super::{Arg, Db, Write};

/// Marks `replica_id` seen at `now`, and tells whether another replica was seen at or after
/// `since`.
pub async fn beat(db: &Db, replica_id: &str, now: i64, since: i64) -> Result<bool, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    tx.execute(
        "INSERT INTO replicas (replica_id, seen_at) VALUES ($1, $2) \
         ON CONFLICT (replica_id) DO UPDATE SET seen_at = excluded.seen_at",
        &[Arg::from(replica_id), Arg::Int(now)],
    )
    .await?;
    let others = tx
        .number(
            "SELECT COUNT(*) FROM replicas WHERE replica_id <> $1 AND seen_at >= $2",
            &[Arg::from(replica_id), Arg::Int(since)],
        )
        .await?
        .unwrap_or(0);
    tx.commit().await?;
    Ok(others > 0)
}

/// Forgets the replicas last seen before `before`.
pub async fn prune(db: &Db, before: i64) -> Result<u64, sqlx::Error> {
    let mut tx = db.begin_write().await?;
    let n = tx
        .execute(
            "DELETE FROM replicas WHERE seen_at < $1",
            &[Arg::Int(before)],
        )
        .await?;
    tx.commit().await?;
    Ok(n)
}
