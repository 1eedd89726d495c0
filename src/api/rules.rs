//! `/v1/authorization-rules`: grant (one or a batch), query, change expiry, revoke (one or a
//! batch).

use super::{page_of, Body, Ctx, Params};
use crate::domain::inputs::{NewRule, RuleExpiryUpdate};
use crate::server::AppState;
use crate::service::rules::{self, RuleQuery};
use axum::extract::Path;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/authorization-rules",
            get(query_authorization_rules).post(create_authorization_rule),
        )
        .route(
            "/v1/authorization-rules/batch",
            post(create_authorization_rules),
        )
        .route(
            "/v1/authorization-rules/batch-delete",
            post(delete_authorization_rules),
        )
        .route(
            "/v1/authorization-rules/{rule_id}",
            get(get_authorization_rule)
                .put(update_authorization_rule)
                .delete(delete_authorization_rule),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct QueryParams {
    gateway_id: Option<String>,
    consumer_id: Option<String>,
    consumer_group_id: Option<String>,
    api_id: Option<String>,
    environment_id: Option<String>,
    api_name_like: Option<String>,
    consumer_name_like: Option<String>,
    expire_status: Option<String>,
    page_number: Option<String>,
    page_size: Option<String>,
}

async fn query_authorization_rules(ctx: Ctx, Params(q): Params<QueryParams>) -> Response {
    let result = async {
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        let query = RuleQuery {
            instance_id: q.gateway_id,
            consumer_id: q.consumer_id,
            group_id: q.consumer_group_id,
            api_id: q.api_id,
            environment_id: q.environment_id,
            api_name_like: q.api_name_like,
            principal_name_like: q.consumer_name_like,
            expire_status: q.expire_status,
        };
        rules::query_rules(&ctx.db, query, page).await
    }
    .await;
    ctx.reply(result)
}

async fn create_authorization_rule(ctx: Ctx, Body(input): Body<NewRule>) -> Response {
    let result = rules::create_rules(&ctx.db, &ctx.actor, vec![input])
        .await
        .map(|mut created| created.remove(0));
    ctx.reply(result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Batch {
    rules: Vec<NewRule>,
}

async fn create_authorization_rules(ctx: Ctx, Body(input): Body<Batch>) -> Response {
    let result = rules::create_rules(&ctx.db, &ctx.actor, input.rules)
        .await
        .map(|items| serde_json::json!({ "items": items }));
    ctx.reply(result)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchDelete {
    rule_ids: Vec<String>,
}

async fn delete_authorization_rules(ctx: Ctx, Body(input): Body<BatchDelete>) -> Response {
    ctx.done(rules::delete_rules(&ctx.db, &ctx.actor, &input.rule_ids).await)
}

async fn get_authorization_rule(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.reply(rules::get_rule(&ctx.db, &id).await)
}

async fn update_authorization_rule(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<RuleExpiryUpdate>,
) -> Response {
    ctx.reply(rules::update_rule_expiry(&ctx.db, &ctx.actor, &id, input).await)
}

async fn delete_authorization_rule(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.done(rules::delete_rules(&ctx.db, &ctx.actor, &[id]).await)
}
