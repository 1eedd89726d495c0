//! REST bearer tokens. Only the SHA-256 of a token is stored.

use crate::domain::records::{ApiToken, CurrentUser, Role};
use sqlx::AnyConnection;

pub async fn insert(
    conn: &mut AnyConnection,
    account_id: &str,
    t: &ApiToken,
    name_key: &str,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO api_tokens (id, account_id, name, name_key, prefix, token_hash, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
    )
    .bind(&t.id)
    .bind(account_id)
    .bind(&t.name)
    .bind(name_key)
    .bind(&t.prefix)
    .bind(token_hash)
    .bind(t.created_at)
    .execute(conn)
    .await
    .map(drop)
}

#[derive(sqlx::FromRow)]
struct HolderRow {
    token_id: String,
    token_name: String,
    last_used_at: Option<i64>,
    id: String,
    username: String,
    role: String,
}

/// A token's ID, name and last use, and the enabled account it belongs to.
pub struct TokenHolder {
    pub token_id: String,
    pub token_name: String,
    pub last_used_at: Option<i64>,
    pub user: CurrentUser,
}

pub async fn holder(
    conn: &mut AnyConnection,
    token_hash: &str,
) -> Result<Option<TokenHolder>, sqlx::Error> {
    let row: Option<HolderRow> = sqlx::query_as(
        "SELECT t.id AS token_id, t.name AS token_name, t.last_used_at, a.id, a.username, a.role \
         FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
         WHERE t.token_hash = $1 AND a.enabled = 1",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await?;
    Ok(row.and_then(|r| {
        Some(TokenHolder {
            user: CurrentUser {
                id: r.id,
                username: r.username,
                role: Role::parse(&r.role)?,
            },
            token_id: r.token_id,
            token_name: r.token_name,
            last_used_at: r.last_used_at,
        })
    }))
}

pub async fn touch(conn: &mut AnyConnection, token_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now)
        .bind(token_id)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn list(
    conn: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<ApiToken>, sqlx::Error> {
    let rows: Vec<(String, String, String, i64, Option<i64>)> = sqlx::query_as(
        "SELECT id, name, prefix, created_at, last_used_at FROM api_tokens WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(account_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, name, prefix, created_at, last_used_at)| ApiToken {
            id,
            name,
            prefix,
            created_at,
            last_used_at,
        })
        .collect())
}

/// Revokes one of the account's tokens; returns whether it existed.
pub async fn delete(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM api_tokens WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}
