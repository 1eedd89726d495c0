//! `/v1/tokens`: the calling account's own bearer tokens.

use super::{Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Items};
use crate::domain::records::{ApiToken, CreatedToken, TokenScope};
use crate::service::tokens;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(revoke_token))
}

/// The calling account's tokens, newest first (never their values).
#[utoipa::path(get, path = "/v1/tokens", tag = "Tokens",
    responses((status = 200, body = Envelope<Items<ApiToken>>), ErrorResponses))]
async fn list_tokens(ctx: Ctx) -> Answer<Items<ApiToken>> {
    Ok(Data(
        tokens::list_tokens(&ctx.db, &ctx.actor.user)
            .await
            .map(|items| Items { items })?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct NewToken {
    /// A name to recognise the token by.
    name: String,
    /// Days until the token stops working: 1 to 365, 90 when absent.
    #[schema(minimum = 1, maximum = 365)]
    expires_in_days: Option<i64>,
    /// `Account` (default: what the account may do) or `UsageWrite` (only `POST /v1/usage`;
    /// Admins only).
    #[serde(default)]
    scope: TokenScope,
}

/// Create a token for the calling account; the value is in this answer only.
#[utoipa::path(post, path = "/v1/tokens", tag = "Tokens", request_body = NewToken,
    responses((status = 200, body = Envelope<CreatedToken>), ErrorResponses))]
async fn create_token(ctx: Ctx, Body(input): Body<NewToken>) -> Answer<CreatedToken> {
    let days = input.expires_in_days;
    Ok(Data(
        tokens::create_token(&ctx.db, &ctx.actor, &input.name, days, input.scope).await?,
    ))
}

/// Revoke one of the calling account's tokens.
#[utoipa::path(delete, path = "/v1/tokens/{tokenId}", tag = "Tokens",
    params(("tokenId" = String, Path, description = "tok-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn revoke_token(ctx: Ctx, Path(token_id): Path<String>) -> Answer<Empty> {
    tokens::revoke_token(&ctx.db, &ctx.actor, &token_id).await?;
    Ok(Data(Empty {}))
}
