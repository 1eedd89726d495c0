//! `/v1/consumer-groups` and `/v1/keys`.

use super::gateways::ListQuery;
use super::{flag, page_of, required, Body, Ctx, Envelope, ErrorResponses, Params};
use crate::domain::inputs::{NewGroup, NewKey};
use crate::domain::records::{ApiKey, ConsumerGroup, CreatedKey};
use crate::domain::Page;
use crate::server::AppState;
use crate::service::{groups, keys};
use axum::response::Response;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consumer_groups, create_consumer_group))
        .routes(routes!(list_keys, create_key))
}

/// List the consumer groups of a gateway by name.
#[utoipa::path(get, path = "/v1/consumer-groups", tag = "Groups and keys", params(ListQuery),
    responses((status = 200, body = Envelope<Page<ConsumerGroup>>), ErrorResponses))]
async fn list_consumer_groups(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        groups::list_groups(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await
    }
    .await;
    ctx.reply(result)
}

/// Create a consumer group.
#[utoipa::path(post, path = "/v1/consumer-groups", tag = "Groups and keys", request_body = NewGroup,
    responses((status = 200, body = Envelope<ConsumerGroup>), ErrorResponses))]
async fn create_consumer_group(ctx: Ctx, Body(input): Body<NewGroup>) -> Response {
    ctx.reply(groups::create_group(&ctx.db, &ctx.actor, input).await)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct KeysQuery {
    /// The gateway whose keys to list.
    gateway_id: Option<String>,
    /// Case-insensitive substring of the key name.
    name_like: Option<String>,
    /// `true` lists only keys not bound to a consumer.
    #[param(value_type = Option<bool>)]
    unbound_only: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// List the keys of a gateway (masked: name and visible prefix only).
#[utoipa::path(get, path = "/v1/keys", tag = "Groups and keys", params(KeysQuery),
    responses((status = 200, body = Envelope<Page<ApiKey>>), ErrorResponses))]
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

/// Generate a key. The answer is the only one that ever carries its value.
#[utoipa::path(post, path = "/v1/keys", tag = "Groups and keys", request_body = NewKey,
    responses((status = 200, body = Envelope<CreatedKey>), ErrorResponses))]
async fn create_key(ctx: Ctx, Body(input): Body<NewKey>) -> Response {
    ctx.reply(keys::create_key(&ctx.db, &ctx.actor, input).await)
}
