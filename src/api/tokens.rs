//! `/v1/tokens`: the calling account's own bearer tokens.

use super::{Body, Ctx};
use crate::server::AppState;
use crate::service::tokens;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{delete, get};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/tokens", get(list_tokens).post(create_token))
        .route("/v1/tokens/{token_id}", delete(revoke_token))
}

async fn list_tokens(ctx: Ctx) -> Response {
    let result = tokens::list_tokens(&ctx.db, &ctx.actor.user)
        .await
        .map(|items| serde_json::json!({ "items": items }));
    ctx.reply(result)
}

#[derive(Deserialize)]
struct NewToken {
    name: String,
}

async fn create_token(ctx: Ctx, Body(input): Body<NewToken>) -> Response {
    ctx.reply(tokens::create_token(&ctx.db, &ctx.actor.user, &input.name).await)
}

async fn revoke_token(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.done(tokens::revoke_token(&ctx.db, &ctx.actor.user, &id).await)
}
