//! `/v1/gateways`: the gateway instances (the REST API keeps the word of the cloud APIs).

use super::{
    page_of, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope, ErrorResponses, Params,
};
use crate::domain::inputs::{InstanceUpdate, NewInstance};
use crate::domain::records::Instance;
use crate::domain::Page;
use crate::service::instances;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_gateways, create_gateway))
        .routes(routes!(get_gateway, update_gateway, delete_gateway))
        .routes(routes!(check_gateway_dependencies))
}

/// Search text and paging for the gateway list.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct InstancesQuery {
    /// Case-insensitive substring of the gateway's name or ID.
    pub name_like: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub page_size: Option<String>,
}

/// List gateway instances, newest first.
#[utoipa::path(get, path = "/v1/gateways", tag = "Gateways", params(InstancesQuery),
    responses((status = 200, body = Envelope<Page<Instance>>), ErrorResponses))]
async fn list_gateways(ctx: Ctx, Params(q): Params<InstancesQuery>) -> Answer<Page<Instance>> {
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        instances::list_instances(&ctx.db, q.name_like.as_deref().unwrap_or(""), page).await?,
    ))
}

/// Register a gateway instance; its default consumer group and environment come with it.
#[utoipa::path(post, path = "/v1/gateways", tag = "Gateways", request_body = NewInstance,
    responses((status = 200, body = Envelope<Instance>), ErrorResponses))]
async fn create_gateway(ctx: Ctx, Body(input): Body<NewInstance>) -> Answer<Instance> {
    Ok(Data(
        instances::create_instance(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a gateway instance.
#[utoipa::path(get, path = "/v1/gateways/{gatewayId}", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…")),
    responses((status = 200, body = Envelope<Instance>), ErrorResponses))]
async fn get_gateway(ctx: Ctx, Path(instance_id): Path<String>) -> Answer<Instance> {
    Ok(Data(instances::get_instance(&ctx.db, &instance_id).await?))
}

/// Rename a gateway instance or change its engine version and description; `version` must
/// be current. The region does not change.
#[utoipa::path(put, path = "/v1/gateways/{gatewayId}", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…")), request_body = InstanceUpdate,
    responses((status = 200, body = Envelope<Instance>), ErrorResponses))]
async fn update_gateway(
    ctx: Ctx,
    Path(instance_id): Path<String>,
    Body(input): Body<InstanceUpdate>,
) -> Answer<Instance> {
    Ok(Data(
        instances::update_instance(&ctx.db, &ctx.actor, &instance_id, input).await?,
    ))
}

/// Delete a gateway instance that holds nothing but its default consumer group and
/// environment; otherwise `Conflict.Dependencies` lists what it still holds. Its audit
/// entries are kept.
#[utoipa::path(delete, path = "/v1/gateways/{gatewayId}", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_gateway(ctx: Ctx, Path(instance_id): Path<String>) -> Answer<Empty> {
    instances::delete_instance(&ctx.db, &ctx.actor, &instance_id).await?;
    Ok(Data(Empty {}))
}

/// What keeps a gateway from being deleted: its consumers, groups, keys, model APIs and
/// environments (up to 20 of each).
#[utoipa::path(get, path = "/v1/gateways/{gatewayId}/dependencies", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_gateway_dependencies(
    ctx: Ctx,
    Path(instance_id): Path<String>,
) -> Answer<Dependencies> {
    Ok(Data(
        instances::check_instance_dependencies(&ctx.db, &instance_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}
