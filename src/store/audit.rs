//! The audit trail, written inside the transaction of the change it records. Because every
//! change is audited, this is also where an instance's change counter (`revision`) is
//! bumped, and on PostgreSQL a `NOTIFY` sent (delivered at commit), for the enforcement
//! snapshot to follow.

use sqlx::AnyConnection;

/// One audit entry; `summary` never carries a secret.
pub struct AuditEntry<'a> {
    pub instance_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    pub summary: String,
    pub request_id: &'a str,
}

pub async fn insert(
    conn: &mut AnyConnection,
    e: AuditEntry<'_>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (id, instance_id, actor, action, resource_type, resource_id, summary, request_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(format!("ev-{}", xid::new()))
    .bind(e.instance_id)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.resource_type)
    .bind(e.resource_id)
    .bind(e.summary)
    .bind(e.request_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if let Some(instance_id) = e.instance_id {
        bump_revision(conn, instance_id).await?;
    }
    Ok(())
}

/// The channel PostgreSQL replicas listen on; the payload is the changed instance's ID.
pub const CHANGES_CHANNEL: &str = "gateway_console_changes";

/// Counts a change of the instance, inside the change's transaction.
pub async fn bump_revision(conn: &mut AnyConnection, instance_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE instances SET revision = revision + 1 WHERE id = $1")
        .bind(instance_id)
        .execute(&mut *conn)
        .await?;
    if conn.backend_name() == "PostgreSQL" {
        // pg_notify returns `void`, which the Any driver cannot decode: count it instead.
        sqlx::query("WITH n AS (SELECT pg_notify($1, $2)) SELECT COUNT(*) FROM n")
            .bind(CHANGES_CHANNEL)
            .bind(instance_id)
            .execute(conn)
            .await?;
    }
    Ok(())
}
