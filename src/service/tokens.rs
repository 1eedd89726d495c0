//! REST bearer tokens: created per account (console or CLI), shown once, stored hashed,
//! revocable, with the time of last use.

use super::change::{Audit, AuditAction};
use super::{parse_name, Actor};
use crate::domain::keys::{hash_key, token_lifetime_days, PlainApiKey, TOKEN_PREFIX};
use crate::domain::records::{ApiToken, CreatedToken, CurrentUser, TokenScope};
use crate::domain::{IdKind, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::{accounts, now_ms, tokens, Db};

/// Last-use times are written at most this often per token, so reads do not become writes.
const TOUCH_INTERVAL_MS: i64 = 60_000;
/// Tokens are `gct_` plus 40 base62 characters.
const TOKEN_LEN: usize = 44;

/// A new token for the acting account. Any account may create tokens for itself; a Viewer's
/// tokens can only read, because every write checks the account's role. A `UsageWrite`
/// token (it reports usage, which quotas will count) only an Admin may create here.
#[tracing::instrument(skip_all, fields(username = %actor.user.username))]
pub async fn create_token(
    db: &Db,
    actor: &Actor,
    name: &str,
    expires_in_days: Option<i64>,
    scope: TokenScope,
) -> AppResult<CreatedToken> {
    if scope == TokenScope::UsageWrite && !actor.user.can_write() {
        return Err(AppError::Forbidden);
    }
    create(db, actor, name, expires_in_days, scope).await
}

async fn create(
    db: &Db,
    actor: &Actor,
    name: &str,
    expires_in_days: Option<i64>,
    scope: TokenScope,
) -> AppResult<CreatedToken> {
    let user = &actor.user;
    let name = parse_name(name)?;
    let days =
        token_lifetime_days(expires_in_days).map_err(|m| AppError::invalid("ExpiresInDays", m))?;
    let plain = PlainApiKey::generate_with(TOKEN_PREFIX);
    let now = now_ms();
    let token = ApiToken {
        id: ResourceId::generate(IdKind::ApiToken).to_string(),
        name: name.to_string(),
        prefix: plain.visible_prefix(),
        created_at: now,
        last_used_at: None,
        expires_at: Some(now + days * 24 * 60 * 60 * 1000),
        expired: false,
        scope,
    };
    let mut tx = actor.begin_own(db).await?;
    tokens::insert(&mut tx, &user.id, &token, &name.unique_key(), &plain.hash())
        .await
        .map_err(|e| super::name_taken_in(e, "token", &name, " among your tokens"))?;
    let summary = format!(
        "name={name} account={} expires_in_days={days} scope={}",
        user.id,
        scope.as_str()
    );
    let audit =
        Audit::new(AuditAction::CreateApiToken, IdKind::ApiToken, &token.id).summary(summary);
    tx.commit(audit).await?;
    tracing::info!(token = %token.id, "API token created");
    Ok(CreatedToken {
        value: plain.expose().to_owned(),
        token,
    })
}

/// `gateway-console token create`: a token for the named account (the operator of the
/// server may give any account a `UsageWrite` token, e.g. a Viewer kept for the shipper).
pub async fn create_token_for(
    db: &Db,
    username: &str,
    name: &str,
    expires_in_days: Option<i64>,
    scope: TokenScope,
) -> AppResult<CreatedToken> {
    let mut conn = db.reader().await?;
    let user = accounts::find_by_username(&mut conn, username)
        .await?
        .filter(|a| a.enabled)
        .map(|a| a.current_user())
        .ok_or_else(|| {
            AppError::invalid(
                "Username",
                format!("No enabled account is named {}.", super::truncate(username)),
            )
        })?;
    drop(conn);
    let cli = Actor {
        request_id: format!("cli-{}", std::process::id()),
        user,
    };
    create(db, &cli, name, expires_in_days, scope).await
}

pub async fn list_tokens(db: &Db, user: &CurrentUser) -> AppResult<Vec<ApiToken>> {
    let mut conn = db.reader().await?;
    Ok(tokens::list(&mut conn, &user.id, now_ms()).await?)
}

/// Revokes one of the acting account's own tokens.
#[tracing::instrument(skip_all, fields(username = %actor.user.username))]
pub async fn revoke_token(db: &Db, actor: &Actor, token_id: &str) -> AppResult<()> {
    let id = super::parse_id(IdKind::ApiToken, token_id)?;
    let mut tx = actor.begin_own(db).await?;
    if !tokens::delete(&mut tx, &actor.user.id, id.as_str()).await? {
        return Err(AppError::not_found(IdKind::ApiToken, id.as_str()));
    }
    let summary = format!("account={}", actor.user.id);
    let audit =
        Audit::new(AuditAction::RevokeApiToken, IdKind::ApiToken, id.as_str()).summary(summary);
    tx.commit(audit).await?;
    db.token_cache.clear();
    tracing::info!(token = %id, "API token revoked");
    Ok(())
}

/// The account behind a presented bearer token, named `username (token name)` for the audit
/// log; `None` for anything that is not a live token. Live tokens are cached for
/// `TokenCache::TTL`; their last use is written at most every `TOUCH_INTERVAL_MS`.
pub async fn token_user(db: &Db, presented: &str) -> AppResult<Option<(CurrentUser, TokenScope)>> {
    if presented.len() != TOKEN_LEN || !presented.starts_with(TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = hash_key(presented);
    let now = now_ms();
    let holder = match db.token_cache.get(&hash) {
        Ok(holder) => holder,
        Err(generation) => {
            let found = tokens::holder(&mut db.reader().await?, &hash, now).await?;
            let Some(mut holder) = found else {
                return Ok(None);
            };
            if holder
                .last_used_at
                .is_none_or(|t| now - t > TOUCH_INTERVAL_MS)
            {
                let mut tx = db.begin_write().await?;
                tokens::touch(&mut tx, &holder.token_id, now).await?;
                tx.commit().await?;
                holder.last_used_at = Some(now);
            }
            db.token_cache.put(generation, hash, holder.clone());
            holder
        }
    };
    if holder.expires_at.is_some_and(|at| at <= now) {
        return Ok(None);
    }
    let mut user = holder.user;
    user.username = format!("{} ({})", user.username, holder.token_name);
    Ok(Some((user, holder.scope)))
}
