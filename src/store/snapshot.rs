//! What the enforcement snapshot reads: every row of one instance that decides a request,
//! read in one transaction so the rows and the revision belong together.

use super::{Backend, Db};
use crate::enforce::snapshot::SnapshotRows;

/// The change counter of every instance.
pub async fn revisions(db: &Db) -> Result<Vec<(String, i64)>, sqlx::Error> {
    sqlx::query_as("SELECT id, revision FROM instances")
        .fetch_all(&db.pool)
        .await
}

pub async fn load(db: &Db, instance_id: &str) -> Result<SnapshotRows, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let revision: i64 = sqlx::query_scalar("SELECT revision FROM instances WHERE id = $1")
        .bind(instance_id)
        .fetch_one(&mut *tx)
        .await?;
    let environments =
        sqlx::query_as("SELECT id, name_key, is_default FROM environments WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(&mut *tx)
            .await?;
    let deployments = sqlx::query_as(
        "SELECT d.api_id, a.base_path, d.environment_id FROM api_deployments d \
         JOIN model_apis a ON a.id = d.api_id WHERE a.instance_id = $1",
    )
    .bind(instance_id)
    .fetch_all(&mut *tx)
    .await?;
    let consumers =
        sqlx::query_as("SELECT id, name, enabled FROM consumers WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(&mut *tx)
            .await?;
    let groups = sqlx::query_as("SELECT id, enabled FROM consumer_groups WHERE instance_id = $1")
        .bind(instance_id)
        .fetch_all(&mut *tx)
        .await?;
    let memberships = sqlx::query_as(
        "SELECT m.group_id, m.consumer_id FROM consumer_group_members m \
         JOIN consumer_groups g ON g.id = m.group_id WHERE g.instance_id = $1",
    )
    .bind(instance_id)
    .fetch_all(&mut *tx)
    .await?;
    let keys = sqlx::query_as(
        "SELECT key_hash, previous_hash, previous_expires_at, consumer_id, enabled, expires_at \
         FROM api_keys WHERE instance_id = $1 AND consumer_id IS NOT NULL",
    )
    .bind(instance_id)
    .fetch_all(&mut *tx)
    .await?;
    let rules = sqlx::query_as(
        "SELECT consumer_id, group_id, api_id, environment_id, expire_mode, expire_at \
         FROM authorization_rules WHERE instance_id = $1",
    )
    .bind(instance_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(SnapshotRows {
        revision,
        environments,
        deployments,
        consumers,
        groups,
        memberships,
        keys,
        rules,
    })
}
