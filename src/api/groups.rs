//! `/v1/consumer-groups`.

use super::{
    page_of, required, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope, ErrorResponses,
    ListQuery, Params,
};
use crate::domain::inputs::{GroupUpdate, NewGroup, StatusUpdate};
use crate::domain::records::ConsumerGroup;
use crate::domain::Page;
use crate::service::groups;
use crate::state::AppState;
use axum::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consumer_groups, create_consumer_group))
        .routes(routes!(
            get_consumer_group,
            update_consumer_group,
            delete_consumer_group
        ))
        .routes(routes!(check_consumer_group_dependencies))
        .routes(routes!(set_consumer_group_status))
}

/// List the consumer groups of a gateway by name.
#[utoipa::path(get, path = "/v1/consumer-groups", tag = "Groups and keys", params(ListQuery),
    responses((status = 200, body = Envelope<Page<ConsumerGroup>>), ErrorResponses))]
async fn list_consumer_groups(
    ctx: Ctx,
    Params(q): Params<ListQuery>,
) -> Answer<Page<ConsumerGroup>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        groups::list_groups(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await?,
    ))
}

/// Create a consumer group.
#[utoipa::path(post, path = "/v1/consumer-groups", tag = "Groups and keys", request_body = NewGroup,
    responses((status = 200, body = Envelope<ConsumerGroup>), ErrorResponses))]
async fn create_consumer_group(ctx: Ctx, Body(input): Body<NewGroup>) -> Answer<ConsumerGroup> {
    Ok(Data(
        groups::create_group(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a consumer group.
#[utoipa::path(get, path = "/v1/consumer-groups/{consumerGroupId}", tag = "Groups and keys",
    params(("consumerGroupId" = String, Path, description = "cg-…")),
    responses((status = 200, body = Envelope<ConsumerGroup>), ErrorResponses))]
async fn get_consumer_group(ctx: Ctx, Path(group_id): Path<String>) -> Answer<ConsumerGroup> {
    Ok(Data(groups::get_group(&ctx.db, &group_id).await?))
}

/// Change a consumer group's name and description; `version` must be the current one.
#[utoipa::path(put, path = "/v1/consumer-groups/{consumerGroupId}", tag = "Groups and keys",
    params(("consumerGroupId" = String, Path, description = "cg-…")), request_body = GroupUpdate,
    responses((status = 200, body = Envelope<ConsumerGroup>), ErrorResponses))]
async fn update_consumer_group(
    ctx: Ctx,
    Path(group_id): Path<String>,
    Body(input): Body<GroupUpdate>,
) -> Answer<ConsumerGroup> {
    Ok(Data(
        groups::update_group(&ctx.db, &ctx.actor, &group_id, input).await?,
    ))
}

/// Delete a consumer group without members or rules; otherwise `Conflict.Dependencies`
/// lists them. The default group cannot be deleted.
#[utoipa::path(delete, path = "/v1/consumer-groups/{consumerGroupId}", tag = "Groups and keys",
    params(("consumerGroupId" = String, Path, description = "cg-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_consumer_group(ctx: Ctx, Path(group_id): Path<String>) -> Answer<Empty> {
    groups::delete_group(&ctx.db, &ctx.actor, &group_id).await?;
    Ok(Data(Empty {}))
}

/// What keeps a consumer group from being deleted: members and rules.
#[utoipa::path(get, path = "/v1/consumer-groups/{consumerGroupId}/dependencies", tag = "Groups and keys",
    params(("consumerGroupId" = String, Path, description = "cg-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_consumer_group_dependencies(
    ctx: Ctx,
    Path(group_id): Path<String>,
) -> Answer<Dependencies> {
    Ok(Data(
        groups::check_group_dependencies(&ctx.db, &group_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}

/// Enable or disable a consumer group; a disabled group grants nothing to its members.
#[utoipa::path(put, path = "/v1/consumer-groups/{consumerGroupId}/status", tag = "Groups and keys",
    params(("consumerGroupId" = String, Path, description = "cg-…")), request_body = StatusUpdate,
    responses((status = 200, body = Envelope<ConsumerGroup>), ErrorResponses))]
async fn set_consumer_group_status(
    ctx: Ctx,
    Path(group_id): Path<String>,
    Body(input): Body<StatusUpdate>,
) -> Answer<ConsumerGroup> {
    Ok(Data(
        groups::set_group_enabled(&ctx.db, &ctx.actor, &group_id, input).await?,
    ))
}
