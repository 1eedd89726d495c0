//! The signed-in account's REST API tokens.

use crate::domain::records::{ApiToken, CreatedToken};
use crate::error::AppError;
use leptos::prelude::*;

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<ApiToken>, AppError> {
    use super::context::{actor, once, respond};
    let (db, actor) = actor()?;
    respond(
        once(
            ("list_tokens",),
            crate::service::tokens::list_tokens(&db, &actor.user),
        )
        .await,
    )
}

/// Creates a token; the answer carries its value, the only time it is ever sent.
#[server(endpoint = "create_token")]
pub async fn create_token(
    name: String,
    expires_in_days: Option<i64>,
    usage_write: Option<bool>,
) -> Result<CreatedToken, AppError> {
    use super::context::{actor, respond};
    use crate::domain::records::TokenScope;
    let (db, actor) = actor()?;
    let scope = if usage_write.unwrap_or(false) {
        TokenScope::UsageWrite
    } else {
        TokenScope::Account
    };
    respond(crate::service::tokens::create_token(&db, &actor, &name, expires_in_days, scope).await)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::tokens::revoke_token(&db, &actor, &id).await)
}
