//! The audit trail, written inside the transaction of the change it records. It is also each
//! instance's change journal: the write bumps the instance's `revision` and records the new
//! value on the entry, and on PostgreSQL sends a `NOTIFY` (delivered at commit). The bump
//! locks the instance row until commit, so an instance's revisions commit in order and the
//! enforcement snapshot can replay the entries after the revision it has.

use crate::domain::records::AuditEvent;
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{args, Backend, Write};

/// One audit entry; `summary` never carries a secret.
pub struct AuditEntry<'a> {
    pub instance_id: Option<&'a str>,
    pub actor: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: &'a str,
    /// What enforcement must re-read when that is not the resource itself (the consumer or
    /// group an authorization rule grants).
    pub subject_id: Option<&'a str>,
    pub summary: String,
    pub request_id: &'a str,
}

pub async fn insert(conn: &mut impl Write, e: AuditEntry<'_>, now: i64) -> Result<(), sqlx::Error> {
    let revision = match e.instance_id {
        Some(instance_id) => Some(bump_revision(conn, instance_id).await?),
        None => None,
    };
    conn.execute(
        "INSERT INTO audit_events (id, instance_id, actor, action, resource_type, resource_id, summary, request_id, created_at, revision, subject_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        args![
            format!("ev-{}",
            xid::new()),
            e.instance_id,
            e.actor,
            e.action,
            e.resource_type,
            e.resource_id,
            e.summary,
            e.request_id,
            now,
            revision,
            e.subject_id,
        ],
    )
    .await
    .map(drop)
}

/// The channel PostgreSQL replicas listen on; the payload is the changed instance's ID.
pub const CHANGES_CHANNEL: &str = "gateway_console_changes";

/// Counts a change of the instance, inside the change's transaction; returns the new
/// revision.
async fn bump_revision(conn: &mut impl Write, instance_id: &str) -> Result<i64, sqlx::Error> {
    let bump = "UPDATE instances SET revision = revision + 1 WHERE id = $1 RETURNING revision";
    let revision = conn
        .number(bump, args![instance_id])
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    if conn.backend() == Backend::Postgres {
        // pg_notify returns `void`, which the Any driver cannot decode: count it instead.
        conn.execute(
            "WITH n AS (SELECT pg_notify($1, $2)) SELECT COUNT(*) FROM n",
            args![CHANGES_CHANNEL, instance_id],
        )
        .await?;
    }
    Ok(revision)
}

row! {
    /// A journal entry: which revision, and what it changed.
    #[derive(Debug, Clone)]
    pub struct Change {
        pub revision: i64,
        pub resource_type: String,
        pub resource_id: String,
        pub subject_id: Option<String>,
    }
}

/// The instance's journal entries after `after`, up to and including `upto`, in order.
pub async fn changes(
    conn: &mut impl Read,
    instance_id: &str,
    after: i64,
    upto: i64,
) -> Result<Vec<Change>, sqlx::Error> {
    conn.all(
        "SELECT revision, resource_type, resource_id, subject_id FROM audit_events \
         WHERE instance_id = $1 AND revision > $2 AND revision <= $3 ORDER BY revision",
        &[instance_id.into(), after.into(), upto.into()],
    )
    .await
}

row!(impl AuditEvent {
    id,
    instance_id,
    actor,
    action,
    resource_type,
    resource_id,
    summary,
    request_id,
    created_at,
});

/// Entries newest first. `actor_pattern` is a LIKE pattern on the lowercased actor.
pub async fn list(
    conn: &mut impl Read,
    f: &crate::domain::inputs::AuditFilter,
    actor_pattern: Option<String>,
    page: crate::domain::PageRequest,
) -> Result<(i64, Vec<AuditEvent>), sqlx::Error> {
    use super::Arg;
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut and = |sql: &str, arg: Arg| {
        args.push(arg);
        parts.push(sql.replace('?', &format!("${}", args.len())));
    };
    let text = |v: &Option<String>| v.clone().map(Arg::Text);
    for (sql, arg) in [
        ("instance_id = ?", text(&f.instance_id)),
        ("resource_type = ?", text(&f.resource_type)),
        ("resource_id = ?", text(&f.resource_id)),
        (
            "lower(actor) LIKE ? ESCAPE '\\'",
            actor_pattern.map(Arg::Text),
        ),
        ("created_at >= ?", f.from.map(Arg::Int)),
        ("created_at < ?", f.to.map(Arg::Int)),
    ] {
        if let Some(arg) = arg {
            and(sql, arg);
        }
    }
    let filter = if parts.is_empty() {
        "1 = 1".to_owned()
    } else {
        parts.join(" AND ")
    };
    let from = format!("FROM audit_events WHERE {filter}");
    let columns = "id, instance_id, actor, action, resource_type, resource_id, summary, request_id, created_at";
    super::read::page(
        conn,
        columns,
        &from,
        "created_at DESC, id DESC",
        args,
        page,
        true,
    )
    .await
}
