//! `/v1/gateways` and their environments.

use super::{page_of, required, Body, Ctx, Params};
use crate::domain::inputs::{NewEnvironment, NewInstance};
use crate::server::AppState;
use crate::service::{environments, instances};
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/gateways", get(list_gateways).post(create_gateway))
        .route("/v1/gateways/{gateway_id}", get(get_gateway))
        .route(
            "/v1/environments",
            get(list_environments).post(create_environment),
        )
        .route("/v1/environments/{environment_id}", get(get_environment))
}

/// Search text and paging, shared by the list operations.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    pub gateway_id: Option<String>,
    pub name_like: Option<String>,
    pub page_number: Option<String>,
    pub page_size: Option<String>,
}

async fn list_gateways(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        instances::list_instances(&ctx.db, q.name_like.as_deref().unwrap_or(""), page).await
    }
    .await;
    ctx.reply(result)
}

async fn create_gateway(ctx: Ctx, Body(input): Body<NewInstance>) -> Response {
    ctx.reply(instances::create_instance(&ctx.db, &ctx.actor, input).await)
}

async fn get_gateway(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.reply(instances::get_instance(&ctx.db, &id).await)
}

async fn list_environments(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        environments::list_environments(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page)
            .await
    }
    .await;
    ctx.reply(result)
}

async fn create_environment(ctx: Ctx, Body(input): Body<NewEnvironment>) -> Response {
    ctx.reply(environments::create_environment(&ctx.db, &ctx.actor, input).await)
}

async fn get_environment(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.reply(environments::get_environment(&ctx.db, &id).await)
}
