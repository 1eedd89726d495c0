//! The audit trail, written inside the transaction of the change it records.

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
    .execute(conn)
    .await
    .map(drop)
}
