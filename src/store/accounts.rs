//! Console accounts, their sessions, and failed sign-ins.

use crate::domain::records::{Account, CurrentUser, Role};
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{args, Backend, Write};

row! {
    /// An account with what signing in needs.
    pub struct AccountRow {
        pub id: String,
        pub username: String,
        pub password_hash: String,
        pub role: Role,
        pub enabled: bool,
    }
}

impl AccountRow {
    pub fn current_user(&self) -> CurrentUser {
        CurrentUser {
            id: self.id.clone(),
            username: self.username.clone(),
            role: self.role,
        }
    }
}

row!(impl CurrentUser { id, username, role });
row!(impl Account {
    id,
    username,
    role,
    enabled,
    created_at,
    updated_at,
});

pub async fn count(conn: &mut impl Read) -> Result<i64, sqlx::Error> {
    let n = conn.number("SELECT COUNT(*) FROM accounts", &[]).await?;
    Ok(n.unwrap_or(0))
}

pub async fn insert(
    conn: &mut impl Write,
    id: &str,
    username: &str,
    password_hash: &str,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO accounts (id, username, username_key, password_hash, role, enabled, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6, $6)",
        args![id, username, username.to_lowercase(), password_hash, role.as_str(), now],
    )
    .await
    .map(drop)
}

pub async fn find_by_username(
    conn: &mut impl Read,
    username: &str,
) -> Result<Option<AccountRow>, sqlx::Error> {
    conn.first(
        "SELECT id, username, password_hash, role, enabled FROM accounts WHERE username_key = $1",
        &[username.to_lowercase().as_str().into()],
    )
    .await
}

pub async fn insert_session(
    conn: &mut impl Write,
    token_hash: &str,
    account_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO sessions (token_hash, account_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)",
        args![token_hash, account_id, now, expires_at],
    )
    .await
        .map(drop)
}

row! {
    struct SessionRow {
        id: String,
        username: String,
        role: Role,
        last_seen_at: i64,
    }
}

/// The enabled account behind a session that has neither expired nor been idle since
/// `idle_since`, with the session's last use.
pub async fn session_user(
    conn: &mut impl Read,
    token_hash: &str,
    now: i64,
    idle_since: i64,
) -> Result<Option<(CurrentUser, i64)>, sqlx::Error> {
    let row: Option<SessionRow> = conn
        .first(
            "SELECT a.id, a.username, a.role, s.last_seen_at FROM sessions s JOIN accounts a ON a.id = s.account_id \
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND a.enabled = 1",
            &[token_hash.into(), now.into(), idle_since.into()],
        )
        .await?;
    Ok(row.map(|r| {
        let user = CurrentUser {
            id: r.id,
            username: r.username,
            role: r.role,
        };
        (user, r.last_seen_at)
    }))
}

/// Records that a session was used (its idle timeout starts again).
pub async fn touch_session(
    conn: &mut impl Write,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2",
        args![now, token_hash],
    )
    .await
    .map(drop)
}

/// Removes what can no longer be used: sessions past their absolute or idle timeout, and
/// sign-in failures older than the rate-limit window. Returns how many rows went.
pub async fn purge(
    conn: &mut impl Write,
    now: i64,
    idle_since: i64,
    failures_before: i64,
) -> Result<u64, sqlx::Error> {
    let sessions = conn
        .execute(
            "DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
            args![now, idle_since],
        )
        .await?;
    let failures = conn
        .execute(
            "DELETE FROM login_failures WHERE at <= $1",
            args![failures_before],
        )
        .await?;
    Ok(sessions + failures)
}

pub async fn delete_session(conn: &mut impl Write, token_hash: &str) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM sessions WHERE token_hash = $1",
        args![token_hash],
    )
    .await
    .map(drop)
}

pub async fn record_failure(
    conn: &mut impl Write,
    subject: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO login_failures (subject, at) VALUES ($1, $2)",
        args![subject, now],
    )
    .await
    .map(drop)
}

pub async fn failures_since(
    conn: &mut impl Read,
    subject: &str,
    since: i64,
) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at > $2";
    let n = conn.number(sql, &[subject.into(), since.into()]).await?;
    Ok(n.unwrap_or(0))
}

pub async fn clear_failures(conn: &mut impl Write, subject: &str) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM login_failures WHERE subject = $1",
        args![subject],
    )
    .await
    .map(drop)
}

/// Takes back the attempt recorded at `at` (it succeeded).
pub async fn clear_failure_at(
    conn: &mut impl Write,
    subject: &str,
    at: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM login_failures WHERE subject = $1 AND at = $2",
        args![subject, at],
    )
    .await
    .map(drop)
}

const LISTED: &str = "SELECT id, username, role, enabled, created_at, updated_at FROM accounts";

/// Every account, by username (consoles have a handful).
pub async fn list(conn: &mut impl Read) -> Result<Vec<Account>, sqlx::Error> {
    conn.all(&format!("{LISTED} ORDER BY username_key"), &[])
        .await
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Account>, sqlx::Error> {
    conn.first(&format!("{LISTED} WHERE id = $1"), &[id.into()])
        .await
}

/// On PostgreSQL, locks the enabled Admins' rows so two concurrent changes cannot both take
/// away "the other" last Admin. (SQLite has one writer at a time anyway.)
pub async fn lock_admins(conn: &mut impl Write) -> Result<(), sqlx::Error> {
    if conn.backend() == Backend::Postgres {
        let sql = "SELECT id FROM accounts WHERE role = 'Admin' AND enabled = 1 FOR UPDATE";
        conn.execute(sql, &[]).await?;
    }
    Ok(())
}

/// Enabled Admins other than `id`.
pub async fn other_enabled_admins(conn: &mut impl Read, id: &str) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM accounts WHERE role = 'Admin' AND enabled = 1 AND id <> $1";
    Ok(conn.number(sql, &[id.into()]).await?.unwrap_or(0))
}

pub async fn set_enabled(
    conn: &mut impl Write,
    id: &str,
    enabled: bool,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "UPDATE accounts SET enabled = $1, updated_at = $2 WHERE id = $3",
        args![i64::from(enabled), now, id],
    )
    .await
    .map(drop)
}

pub async fn set_role(
    conn: &mut impl Write,
    id: &str,
    role: Role,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "UPDATE accounts SET role = $1, updated_at = $2 WHERE id = $3",
        args![role.as_str(), now, id],
    )
    .await
    .map(drop)
}

pub async fn set_password(
    conn: &mut impl Write,
    id: &str,
    password_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE id = $3",
        args![password_hash, now, id],
    )
    .await
    .map(drop)
}

/// Signs the account out everywhere.
pub async fn delete_sessions(conn: &mut impl Write, account_id: &str) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM sessions WHERE account_id = $1",
        args![account_id],
    )
    .await
    .map(drop)
}
