//! Console accounts, their sessions, and failed sign-ins.

use crate::domain::records::{CurrentUser, Role};
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub enabled: i64,
}

impl AccountRow {
    pub fn current_user(&self) -> Option<CurrentUser> {
        Some(CurrentUser {
            id: self.id.clone(),
            username: self.username.clone(),
            role: Role::parse(&self.role)?,
        })
    }
}

pub async fn count(conn: &mut AnyConnection) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(conn)
        .await
}

pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    username: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (id, username, username_key, password_hash, role, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
    )
    .bind(id)
    .bind(username)
    .bind(username.to_lowercase())
    .bind(password_hash)
    .bind(role.as_str())
    .bind(now)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn find_by_username(
    conn: &mut AnyConnection,
    username: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, password_hash, role, enabled FROM accounts WHERE username_key = $1",
    )
    .bind(username.to_lowercase())
    .fetch_optional(conn)
    .await
}

pub async fn insert_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    account_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)")
        .bind(token_hash)
        .bind(account_id)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    username: String,
    role: String,
    last_seen_at: i64,
}

/// The enabled account behind a session that has neither expired nor been idle since
/// `idle_since`, with the session's last use.
pub async fn session_user(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
    idle_since: i64,
) -> Result<Option<(CurrentUser, i64)>, sqlx::Error> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT a.id, a.username, a.role, s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND a.enabled = 1",
    )
    .bind(token_hash)
    .bind(now)
    .bind(idle_since)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        let user = CurrentUser {
            id: r.id,
            username: r.username,
            role: Role::parse(&r.role)?,
        };
        Some((user, r.last_seen_at))
    }))
}

/// Records that a session was used (its idle timeout starts again).
pub async fn touch_session(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(token_hash)
        .execute(conn)
        .await
        .map(drop)
}

/// Removes what can no longer be used: sessions past their absolute or idle timeout, and
/// sign-in failures older than the rate-limit window. Returns how many rows went.
pub async fn purge(
    conn: &mut AnyConnection,
    now: i64,
    idle_since: i64,
    failures_before: i64,
) -> Result<u64, sqlx::Error> {
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now)
        .bind(idle_since)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let failures = sqlx::query("DELETE FROM login_failures WHERE at <= $1")
        .bind(failures_before)
        .execute(conn)
        .await?
        .rows_affected();
    Ok(sessions + failures)
}

pub async fn delete_session(conn: &mut AnyConnection, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn record_failure(
    conn: &mut AnyConnection,
    subject: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO login_failures (subject, at) VALUES ($1, $2)")
        .bind(subject)
        .bind(now)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn failures_since(
    conn: &mut AnyConnection,
    subject: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at > $2")
        .bind(subject)
        .bind(since)
        .fetch_one(conn)
        .await
}

pub async fn clear_failures(conn: &mut AnyConnection, subject: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1")
        .bind(subject)
        .execute(conn)
        .await
        .map(drop)
}

/// Takes back the attempt recorded at `at` (it succeeded).
pub async fn clear_failure_at(
    conn: &mut AnyConnection,
    subject: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE subject = $1 AND at = $2")
        .bind(subject)
        .bind(at)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    id: String,
    username: String,
    role: String,
    enabled: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<ListedRow> for crate::domain::records::Account {
    fn from(r: ListedRow) -> Self {
        crate::domain::records::Account {
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            id: r.id,
            username: r.username,
            enabled: r.enabled != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const LISTED: &str = "SELECT id, username, role, enabled, created_at, updated_at FROM accounts";

/// Every account, by username (consoles have a handful).
pub async fn list(
    conn: &mut AnyConnection,
) -> Result<Vec<crate::domain::records::Account>, sqlx::Error> {
    let rows: Vec<ListedRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{LISTED} ORDER BY username_key"
    )))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn get(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<crate::domain::records::Account>, sqlx::Error> {
    let row: Option<ListedRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{LISTED} WHERE id = $1")))
            .bind(id)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(Into::into))
}

/// On PostgreSQL, locks the enabled Admins' rows so two concurrent changes cannot both take
/// away "the other" last Admin. (SQLite has one writer at a time anyway.)
pub async fn lock_admins(conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    if conn.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM accounts WHERE role = 'Admin' AND enabled = 1 FOR UPDATE")
            .fetch_all(conn)
            .await?;
    }
    Ok(())
}

/// Enabled Admins other than `id`.
pub async fn other_enabled_admins(conn: &mut AnyConnection, id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM accounts WHERE role = 'Admin' AND enabled = 1 AND id <> $1",
    )
    .bind(id)
    .fetch_one(conn)
    .await
}

pub async fn set_enabled(
    conn: &mut AnyConnection,
    id: &str,
    enabled: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET enabled = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(enabled))
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_role(
    conn: &mut AnyConnection,
    id: &str,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role.as_str())
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn set_password(
    conn: &mut AnyConnection,
    id: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(password_hash)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(drop)
}

/// Signs the account out everywhere.
pub async fn delete_sessions(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(conn)
        .await
        .map(drop)
}
