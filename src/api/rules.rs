//! `/v1/authorization-rules`: grant (one or a batch), query, change expiry, revoke (one or a
//! batch).

use super::{page_of, Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Items, Params};
use crate::domain::inputs::{NewRule, RuleExpiryUpdate};
use crate::domain::records::AuthorizationRule;
use crate::domain::Page;
use crate::service::rules::{self, RuleQuery};
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(
            query_authorization_rules,
            create_authorization_rule
        ))
        .routes(routes!(create_authorization_rules))
        .routes(routes!(delete_authorization_rules))
        .routes(routes!(
            get_authorization_rule,
            update_authorization_rule,
            delete_authorization_rule
        ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct QueryParams {
    /// One of gatewayId, consumerId, consumerGroupId or apiId is required.
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// Rules granted to this consumer directly.
    consumer_id: Option<String>,
    /// Rules granted to this consumer group.
    consumer_group_id: Option<String>,
    api_id: Option<String>,
    environment_id: Option<String>,
    /// Case-insensitive substring of the API name.
    api_name_like: Option<String>,
    /// Case-insensitive substring of the consumer's or group's name.
    consumer_name_like: Option<String>,
    /// `InEffect` or `Expired`, computed from the clock.
    expire_status: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// Query authorization rules, newest first.
#[utoipa::path(get, path = "/v1/authorization-rules", tag = "Authorization rules", params(QueryParams),
    responses((status = 200, body = Envelope<Page<AuthorizationRule>>), ErrorResponses))]
async fn query_authorization_rules(
    ctx: Ctx,
    Params(q): Params<QueryParams>,
) -> Answer<Page<AuthorizationRule>> {
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    let query = RuleQuery {
        instance_id: q.instance_id,
        rule_id: None,
        consumer_id: q.consumer_id,
        group_id: q.consumer_group_id,
        api_id: q.api_id,
        environment_id: q.environment_id,
        api_name_like: q.api_name_like,
        principal_name_like: q.consumer_name_like,
        expire_status: q.expire_status,
    };
    Ok(Data(rules::query_rules(&ctx.db, query, page).await?))
}

/// Grant a consumer or consumer group a model API in an environment.
#[utoipa::path(post, path = "/v1/authorization-rules", tag = "Authorization rules", request_body = NewRule,
    responses((status = 200, body = Envelope<AuthorizationRule>), ErrorResponses))]
async fn create_authorization_rule(
    ctx: Ctx,
    Body(input): Body<NewRule>,
) -> Answer<AuthorizationRule> {
    Ok(Data(
        rules::create_rules(&ctx.db, &ctx.actor, vec![input])
            .await
            .map(|mut created| created.remove(0))?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Batch {
    /// 1 to 100 grants, created all together or not at all.
    rules: Vec<NewRule>,
}

/// Grant several rules at once, all or nothing; errors name the rule (`Rules.<i>.<Field>`).
#[utoipa::path(post, path = "/v1/authorization-rules/batch", tag = "Authorization rules", request_body = Batch,
    responses((status = 200, body = Envelope<Items<AuthorizationRule>>), ErrorResponses))]
async fn create_authorization_rules(
    ctx: Ctx,
    Body(input): Body<Batch>,
) -> Answer<Items<AuthorizationRule>> {
    Ok(Data(
        rules::create_rules(&ctx.db, &ctx.actor, input.rules)
            .await
            .map(|items| Items { items })?,
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct BatchDelete {
    /// 1 to 100 rule IDs, revoked all together or not at all.
    #[serde(rename = "consumerAuthorizationRuleIds")]
    rule_ids: Vec<String>,
}

/// Revoke several rules at once, all or nothing.
#[utoipa::path(post, path = "/v1/authorization-rules/batch-delete", tag = "Authorization rules", request_body = BatchDelete,
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_authorization_rules(ctx: Ctx, Body(input): Body<BatchDelete>) -> Answer<Empty> {
    rules::delete_rules(&ctx.db, &ctx.actor, &input.rule_ids).await?;
    Ok(Data(Empty {}))
}

/// Get an authorization rule.
#[utoipa::path(get, path = "/v1/authorization-rules/{consumerAuthorizationRuleId}", tag = "Authorization rules",
    params(("consumerAuthorizationRuleId" = String, Path, description = "car-…")),
    responses((status = 200, body = Envelope<AuthorizationRule>), ErrorResponses))]
async fn get_authorization_rule(
    ctx: Ctx,
    Path(rule_id): Path<String>,
) -> Answer<AuthorizationRule> {
    Ok(Data(rules::get_rule(&ctx.db, &rule_id).await?))
}

/// Change a rule's expiry; `version` must be the current one.
#[utoipa::path(put, path = "/v1/authorization-rules/{consumerAuthorizationRuleId}", tag = "Authorization rules",
    params(("consumerAuthorizationRuleId" = String, Path, description = "car-…")), request_body = RuleExpiryUpdate,
    responses((status = 200, body = Envelope<AuthorizationRule>), ErrorResponses))]
async fn update_authorization_rule(
    ctx: Ctx,
    Path(rule_id): Path<String>,
    Body(input): Body<RuleExpiryUpdate>,
) -> Answer<AuthorizationRule> {
    Ok(Data(
        rules::update_rule_expiry(&ctx.db, &ctx.actor, &rule_id, input).await?,
    ))
}

/// Revoke a rule.
#[utoipa::path(delete, path = "/v1/authorization-rules/{consumerAuthorizationRuleId}", tag = "Authorization rules",
    params(("consumerAuthorizationRuleId" = String, Path, description = "car-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_authorization_rule(ctx: Ctx, Path(rule_id): Path<String>) -> Answer<Empty> {
    rules::delete_rules(&ctx.db, &ctx.actor, &[rule_id]).await?;
    Ok(Data(Empty {}))
}
