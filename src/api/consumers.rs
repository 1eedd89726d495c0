//! `/v1/consumers`: CRUD, dependency check, credentials, and
//! `ListConsumerAuthorizationRules`, `GET /v1/consumers/{consumerId}/authorization-rules`.

use super::{
    flag, page_of, required, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope,
    ErrorResponses, Params,
};
use crate::domain::inputs::{ConsumerUpdate, NewConsumer, NewMembership, StatusUpdate};
use crate::domain::records::Consumer;
use crate::domain::rule_view::ConsumerAuthorizationRule;
use crate::domain::Page;
use crate::service::consumers::{self, rules as consumer_rules};
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_consumers, create_consumer))
        .routes(routes!(get_consumer, update_consumer, delete_consumer))
        .routes(routes!(check_consumer_dependencies))
        .routes(routes!(bind_credential))
        .routes(routes!(unbind_credential))
        .routes(routes!(set_consumer_status))
        .routes(routes!(add_consumer_to_group))
        .routes(routes!(remove_consumer_from_group))
        .routes(routes!(list_consumer_authorization_rules))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ConsumersQuery {
    /// The gateway whose consumers to list.
    #[param(required = true)]
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// Case-insensitive substring of the consumer name.
    name_like: Option<String>,
    /// Only the members of this consumer group (`cg-…`).
    consumer_group_id: Option<String>,
    /// Only the holders of a key whose name or visible prefix contains this text.
    key_like: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// List the consumers of a gateway, newest first; `nameLike` searches names, `consumerGroupId` and
/// `keyLike` narrow to a group's members or a key's holder.
#[utoipa::path(get, path = "/v1/consumers", tag = "Consumers", params(ConsumersQuery),
    responses((status = 200, body = Envelope<Page<Consumer>>), ErrorResponses))]
async fn list_consumers(ctx: Ctx, Params(q): Params<ConsumersQuery>) -> Answer<Page<Consumer>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(Data(
        consumers::list_consumers(
            &ctx.db,
            gw,
            &text(&q.name_like),
            &text(&q.consumer_group_id),
            &text(&q.key_like),
            page,
        )
        .await?,
    ))
}

/// Create a consumer, optionally in groups and with unbound keys as credentials.
#[utoipa::path(post, path = "/v1/consumers", tag = "Consumers", request_body = NewConsumer,
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn create_consumer(ctx: Ctx, Body(input): Body<NewConsumer>) -> Answer<Consumer> {
    Ok(Data(
        consumers::create_consumer(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a consumer with its groups and credentials.
#[utoipa::path(get, path = "/v1/consumers/{consumerId}", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")),
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn get_consumer(ctx: Ctx, Path(consumer_id): Path<String>) -> Answer<Consumer> {
    Ok(Data(consumers::get_consumer(&ctx.db, &consumer_id).await?))
}

/// Change a consumer's name and description; `version` must be the current one.
#[utoipa::path(put, path = "/v1/consumers/{consumerId}", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")), request_body = ConsumerUpdate,
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn update_consumer(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
    Body(input): Body<ConsumerUpdate>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::update_consumer(&ctx.db, &ctx.actor, &consumer_id, input).await?,
    ))
}

/// Delete a consumer without dependencies; otherwise `Conflict.Dependencies` lists them.
#[utoipa::path(delete, path = "/v1/consumers/{consumerId}", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_consumer(ctx: Ctx, Path(consumer_id): Path<String>) -> Answer<Empty> {
    consumers::delete_consumer(&ctx.db, &ctx.actor, &consumer_id).await?;
    Ok(Data(Empty {}))
}

/// What keeps a consumer from being deleted: memberships, credentials, rules.
#[utoipa::path(get, path = "/v1/consumers/{consumerId}/dependencies", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_consumer_dependencies(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
) -> Answer<Dependencies> {
    Ok(Data(
        consumers::check_consumer_dependencies(&ctx.db, &consumer_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BindCredential {
    /// An unbound key (`key-…`) of the consumer's gateway.
    key_id: String,
}

/// Bind an unbound key to the consumer as an API-key credential.
#[utoipa::path(post, path = "/v1/consumers/{consumerId}/credentials", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")), request_body = BindCredential,
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn bind_credential(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
    Body(input): Body<BindCredential>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::bind_credential(&ctx.db, &ctx.actor, &consumer_id, &input.key_id).await?,
    ))
}

/// Unbind a key from the consumer.
#[utoipa::path(delete, path = "/v1/consumers/{consumerId}/credentials/{keyId}", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…"), ("keyId" = String, Path, description = "key-…")),
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn unbind_credential(
    ctx: Ctx,
    Path((consumer_id, key_id)): Path<(String, String)>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::unbind_credential(&ctx.db, &ctx.actor, &consumer_id, &key_id).await?,
    ))
}

/// Enable or disable a consumer (a disabled consumer is refused by enforcement).
#[utoipa::path(put, path = "/v1/consumers/{consumerId}/status", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")), request_body = StatusUpdate,
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn set_consumer_status(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
    Body(input): Body<StatusUpdate>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::set_consumer_enabled(&ctx.db, &ctx.actor, &consumer_id, input).await?,
    ))
}

/// Add the consumer to a consumer group of its gateway.
#[utoipa::path(post, path = "/v1/consumers/{consumerId}/groups", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…")), request_body = NewMembership,
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn add_consumer_to_group(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
    Body(input): Body<NewMembership>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::add_to_group(&ctx.db, &ctx.actor, &consumer_id, input).await?,
    ))
}

/// Remove the consumer from one of its consumer groups.
#[utoipa::path(delete, path = "/v1/consumers/{consumerId}/groups/{consumerGroupId}", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…"), ("consumerGroupId" = String, Path, description = "cg-…")),
    responses((status = 200, body = Envelope<Consumer>), ErrorResponses))]
async fn remove_consumer_from_group(
    ctx: Ctx,
    Path((consumer_id, group_id)): Path<(String, String)>,
) -> Answer<Consumer> {
    Ok(Data(
        consumers::remove_from_group(&ctx.db, &ctx.actor, &consumer_id, &group_id).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct RulesQuery {
    /// API name for fuzzy search (case-insensitive substring).
    api_name_like: Option<String>,
    /// `true` adds the rules the consumer gets through its enabled groups, each with `source`.
    #[param(value_type = Option<bool>)]
    include_inherited: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// ListConsumerAuthorizationRules: the consumer's authorization rules, newest first.
#[utoipa::path(get, path = "/v1/consumers/{consumerId}/authorization-rules", tag = "Consumers",
    params(("consumerId" = String, Path, description = "cs-…"), RulesQuery),
    responses((status = 200, body = Envelope<Page<ConsumerAuthorizationRule>>), ErrorResponses))]
async fn list_consumer_authorization_rules(
    ctx: Ctx,
    Path(consumer_id): Path<String>,
    Params(q): Params<RulesQuery>,
) -> Answer<Page<ConsumerAuthorizationRule>> {
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    let inherited = flag("IncludeInherited", q.include_inherited.as_deref())?;
    Ok(Data(
        consumer_rules::list_consumer_rules(
            &ctx.db,
            &consumer_id,
            q.api_name_like.as_deref().unwrap_or(""),
            inherited,
            page,
        )
        .await?,
    ))
}
