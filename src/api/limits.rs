//! `/v1/rate-limits`: requests per second and per minute for a key, consumer or consumer
//! group, applied by the check (`/authz/check`).

use super::{page_of, required, Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Params};
use crate::domain::inputs::{NewRateLimit, RateLimitUpdate};
use crate::domain::records::RateLimit;
use crate::domain::Page;
use crate::service::limits;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_rate_limits, create_rate_limit))
        .routes(routes!(
            get_rate_limit,
            update_rate_limit,
            delete_rate_limit
        ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct LimitQuery {
    #[param(required = true)]
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// Only the limit on this key, consumer or consumer group.
    subject_id: Option<String>,
    /// Every limit that covers this consumer's requests: its own, its keys' and its
    /// groups'.
    consumer_id: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// List a gateway's rate limits, newest first.
#[utoipa::path(get, path = "/v1/rate-limits", tag = "Limits", params(LimitQuery),
    responses((status = 200, body = Envelope<Page<RateLimit>>), ErrorResponses))]
async fn list_rate_limits(ctx: Ctx, Params(q): Params<LimitQuery>) -> Answer<Page<RateLimit>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        limits::list_rate_limits(
            &ctx.db,
            gw,
            q.subject_id.as_deref(),
            q.consumer_id.as_deref(),
            page,
        )
        .await?,
    ))
}

/// Set a rate limit on a key, consumer or consumer group (one per subject; a group's is
/// shared by its members). `policy` is `local` (each replica counts exactly on its own, the
/// default) or `cluster` (the replicas share their counts).
#[utoipa::path(post, path = "/v1/rate-limits", tag = "Limits", request_body = NewRateLimit,
    responses((status = 200, body = Envelope<RateLimit>), ErrorResponses))]
async fn create_rate_limit(ctx: Ctx, Body(input): Body<NewRateLimit>) -> Answer<RateLimit> {
    Ok(Data(
        limits::create_rate_limit(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a rate limit.
#[utoipa::path(get, path = "/v1/rate-limits/{rateLimitId}", tag = "Limits",
    params(("rateLimitId" = String, Path, description = "rl-…")),
    responses((status = 200, body = Envelope<RateLimit>), ErrorResponses))]
async fn get_rate_limit(ctx: Ctx, Path(id): Path<String>) -> Answer<RateLimit> {
    Ok(Data(limits::get_rate_limit(&ctx.db, &id).await?))
}

/// Change a rate limit's values; `version` must be current.
#[utoipa::path(put, path = "/v1/rate-limits/{rateLimitId}", tag = "Limits",
    params(("rateLimitId" = String, Path, description = "rl-…")), request_body = RateLimitUpdate,
    responses((status = 200, body = Envelope<RateLimit>), ErrorResponses))]
async fn update_rate_limit(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<RateLimitUpdate>,
) -> Answer<RateLimit> {
    Ok(Data(
        limits::update_rate_limit(&ctx.db, &ctx.actor, &id, input).await?,
    ))
}

/// Remove a rate limit.
#[utoipa::path(delete, path = "/v1/rate-limits/{rateLimitId}", tag = "Limits",
    params(("rateLimitId" = String, Path, description = "rl-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_rate_limit(ctx: Ctx, Path(id): Path<String>) -> Answer<Empty> {
    limits::delete_rate_limit(&ctx.db, &ctx.actor, &id).await?;
    Ok(Data(Empty {}))
}
