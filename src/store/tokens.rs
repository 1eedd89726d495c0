//! REST bearer tokens. Only the SHA-256 of a token is stored.

use crate::domain::records::{ApiToken, CurrentUser, Role, TokenScope};
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{args, Write};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub async fn insert(
    conn: &mut impl Write,
    account_id: &str,
    t: &ApiToken,
    name_key: &str,
    token_hash: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO api_tokens (id, account_id, name, name_key, prefix, token_hash, created_at, last_used_at, expires_at, scope) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9)",
        args![
            &t.id,
            account_id,
            &t.name,
            name_key,
            &t.prefix,
            token_hash,
            t.created_at,
            t.expires_at,
            t.scope.as_str(),
        ],
    )
    .await
    .map(drop)
}

row! {
    struct HolderRow {
        token_id: String,
        token_name: String,
        last_used_at: Option<i64>,
        expires_at: Option<i64>,
        scope: TokenScope,
        id: String,
        username: String,
        role: Role,
    }
}

/// A token's ID, name, last use and expiry, and the enabled account it belongs to.
#[derive(Debug, Clone)]
pub struct TokenHolder {
    pub token_id: String,
    pub token_name: String,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub scope: TokenScope,
    pub user: CurrentUser,
}

/// The holder of a live token (unexpired, enabled account).
pub async fn holder(
    conn: &mut impl Read,
    token_hash: &str,
    now: i64,
) -> Result<Option<TokenHolder>, sqlx::Error> {
    let row: Option<HolderRow> = conn
        .first(
            "SELECT t.id AS token_id, t.name AS token_name, t.last_used_at, t.expires_at, t.scope, a.id, a.username, a.role \
             FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND a.enabled = 1 AND (t.expires_at IS NULL OR t.expires_at > $2)",
            &[token_hash.into(), now.into()],
        )
        .await?;
    Ok(row.map(|r| TokenHolder {
        user: CurrentUser {
            id: r.id,
            username: r.username,
            role: r.role,
        },
        token_id: r.token_id,
        token_name: r.token_name,
        last_used_at: r.last_used_at,
        expires_at: r.expires_at,
        scope: r.scope,
    }))
}

pub async fn touch(conn: &mut impl Write, token_id: &str, now: i64) -> Result<(), sqlx::Error> {
    conn.execute(
        "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2",
        args![now, token_id],
    )
    .await
    .map(drop)
}

row!(impl ApiToken {
    id,
    name,
    prefix,
    created_at,
    last_used_at,
    expires_at,
    expired,
    scope,
});

/// The account's tokens, newest first; `expired` as of `now`.
pub async fn list(
    conn: &mut impl Read,
    account_id: &str,
    now: i64,
) -> Result<Vec<ApiToken>, sqlx::Error> {
    conn.all(
        "SELECT id, name, prefix, created_at, last_used_at, expires_at, scope, \
         CAST(CASE WHEN expires_at IS NOT NULL AND expires_at <= $2 THEN 1 ELSE 0 END AS BIGINT) AS expired \
         FROM api_tokens WHERE account_id = $1 ORDER BY created_at DESC, id DESC",
        &[account_id.into(), now.into()],
    )
    .await
}

/// Revokes one of the account's tokens; returns whether it existed.
pub async fn delete(
    conn: &mut impl Write,
    account_id: &str,
    id: &str,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "DELETE FROM api_tokens WHERE id = $1 AND account_id = $2",
            args![id, account_id],
        )
        .await?;
    Ok(done == 1)
}

/// Revokes every token of an account (its password was reset, or it was disabled); returns
/// how many there were.
pub async fn delete_all(conn: &mut impl Write, account_id: &str) -> Result<u64, sqlx::Error> {
    conn.execute(
        "DELETE FROM api_tokens WHERE account_id = $1",
        args![account_id],
    )
    .await
}

/// Removes tokens that expired before `before` (expired ones stay listed for a while, so
/// their owner sees why a script stopped working).
pub async fn purge_expired(conn: &mut impl Write, before: i64) -> Result<u64, sqlx::Error> {
    conn.execute(
        "DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= $1",
        args![before],
    )
    .await
}

/// Tokens found live in the last `TTL`, by hash, so a script's burst of calls costs one lookup
/// per token per `TTL` instead of one per call. Revoking a token or changing an account clears
/// it on this replica at once; other replicas see such a change within `TTL`.
#[derive(Default)]
pub struct TokenCache {
    inner: Mutex<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    /// Bumped by every `clear`, so a lookup that raced a change is not cached.
    generation: u64,
    entries: HashMap<String, (TokenHolder, Instant)>,
}

impl TokenCache {
    pub const TTL: Duration = Duration::from_secs(2);
    /// Beyond this many live tokens the cache starts again empty rather than grow.
    const MAX_ENTRIES: usize = 10_000;

    /// The cached holder of `token_hash`, or on a miss the generation to hand to `put`.
    pub fn get(&self, token_hash: &str) -> Result<TokenHolder, u64> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match inner.entries.get(token_hash) {
            Some((holder, at)) if at.elapsed() < Self::TTL => Ok(holder.clone()),
            _ => Err(inner.generation),
        }
    }

    /// Remembers a holder read from the database, unless the cache was cleared since the
    /// lookup began (`generation` from `get`).
    pub fn put(&self, generation: u64, token_hash: String, holder: TokenHolder) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= Self::MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(token_hash, (holder, Instant::now()));
    }

    /// Forgets every token: called after a token is revoked or an account changes.
    pub fn clear(&self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder() -> TokenHolder {
        TokenHolder {
            token_id: "tok-1".into(),
            token_name: "ci".into(),
            last_used_at: None,
            expires_at: None,
            scope: TokenScope::Account,
            user: CurrentUser {
                id: "acc-1".into(),
                username: "admin".into(),
                role: Role::Admin,
            },
        }
    }

    #[test]
    fn a_put_token_is_found_until_the_cache_is_cleared() {
        let cache = TokenCache::default();
        let generation = cache.get("h").unwrap_err();
        cache.put(generation, "h".into(), holder());
        assert_eq!(
            cache.get("h").ok().map(|h| h.token_id),
            Some("tok-1".into())
        );
        cache.clear();
        assert!(cache.get("h").is_err());
    }

    #[test]
    fn a_lookup_that_raced_a_clear_is_not_cached() {
        let cache = TokenCache::default();
        let generation = cache.get("h").unwrap_err();
        cache.clear();
        cache.put(generation, "h".into(), holder());
        assert!(cache.get("h").is_err());
    }
}
