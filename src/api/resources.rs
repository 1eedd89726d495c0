//! `/v1/consumer-groups` and `/v1/keys`.

use super::gateways::ListQuery;
use super::{flag, page_of, required, Body, Ctx, Params};
use crate::domain::inputs::{NewGroup, NewKey};
use crate::server::AppState;
use crate::service::{groups, keys};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/consumer-groups",
            get(list_consumer_groups).post(create_consumer_group),
        )
        .route("/v1/keys", get(list_keys).post(create_key))
}

async fn list_consumer_groups(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        groups::list_groups(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await
    }
    .await;
    ctx.reply(result)
}

async fn create_consumer_group(ctx: Ctx, Body(input): Body<NewGroup>) -> Response {
    ctx.reply(groups::create_group(&ctx.db, &ctx.actor, input).await)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeysQuery {
    gateway_id: Option<String>,
    name_like: Option<String>,
    unbound_only: Option<String>,
    page_number: Option<String>,
    page_size: Option<String>,
}

async fn list_keys(ctx: Ctx, Params(q): Params<KeysQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        let unbound = flag("UnboundOnly", q.unbound_only.as_deref())?;
        keys::list_keys(
            &ctx.db,
            gw,
            q.name_like.as_deref().unwrap_or(""),
            unbound,
            page,
        )
        .await
    }
    .await;
    ctx.reply(result)
}

/// The only answer that carries the key's value; it is never shown again.
async fn create_key(ctx: Ctx, Body(input): Body<NewKey>) -> Response {
    ctx.reply(keys::create_key(&ctx.db, &ctx.actor, input).await)
}
