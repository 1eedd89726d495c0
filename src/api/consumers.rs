//! `/v1/consumers`: CRUD, dependency check, credentials, and the seed's
//! `GET /v1/consumers/{consumerId}/authorization-rules`.

use super::gateways::ListQuery;
use super::{flag, page_of, required, Body, Ctx, Params};
use crate::domain::inputs::{ConsumerUpdate, NewConsumer};
use crate::server::AppState;
use crate::service::{consumer_rules, consumers};
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/consumers", get(list_consumers).post(create_consumer))
        .route(
            "/v1/consumers/{consumer_id}",
            get(get_consumer)
                .put(update_consumer)
                .delete(delete_consumer),
        )
        .route(
            "/v1/consumers/{consumer_id}/dependencies",
            get(check_dependencies),
        )
        .route(
            "/v1/consumers/{consumer_id}/credentials",
            post(bind_credential),
        )
        .route(
            "/v1/consumers/{consumer_id}/credentials/{key_id}",
            delete(unbind_credential),
        )
        .route(
            "/v1/consumers/{consumer_id}/authorization-rules",
            get(list_consumer_authorization_rules),
        )
}

async fn list_consumers(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        consumers::list_consumers(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await
    }
    .await;
    ctx.reply(result)
}

async fn create_consumer(ctx: Ctx, Body(input): Body<NewConsumer>) -> Response {
    ctx.reply(consumers::create_consumer(&ctx.db, &ctx.actor, input).await)
}

async fn get_consumer(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.reply(consumers::get_consumer(&ctx.db, &id).await)
}

async fn update_consumer(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<ConsumerUpdate>,
) -> Response {
    ctx.reply(consumers::update_consumer(&ctx.db, &ctx.actor, &id, input).await)
}

async fn delete_consumer(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.done(consumers::delete_consumer(&ctx.db, &ctx.actor, &id).await)
}

async fn check_dependencies(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = consumers::check_consumer_dependencies(&ctx.db, &id)
        .await
        .map(|deps| serde_json::json!({ "dependencies": deps }));
    ctx.reply(result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BindCredential {
    key_id: String,
}

async fn bind_credential(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<BindCredential>,
) -> Response {
    ctx.reply(consumers::bind_credential(&ctx.db, &ctx.actor, &id, &input.key_id).await)
}

async fn unbind_credential(ctx: Ctx, Path((id, key_id)): Path<(String, String)>) -> Response {
    ctx.reply(consumers::unbind_credential(&ctx.db, &ctx.actor, &id, &key_id).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RulesQuery {
    api_name_like: Option<String>,
    include_inherited: Option<String>,
    page_number: Option<String>,
    page_size: Option<String>,
}

async fn list_consumer_authorization_rules(
    ctx: Ctx,
    Path(id): Path<String>,
    Params(q): Params<RulesQuery>,
) -> Response {
    let result = async {
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        let inherited = flag("IncludeInherited", q.include_inherited.as_deref())?;
        consumer_rules::list_consumer_rules(
            &ctx.db,
            &id,
            q.api_name_like.as_deref().unwrap_or(""),
            inherited,
            page,
        )
        .await
    }
    .await;
    ctx.reply(result)
}
