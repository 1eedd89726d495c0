//! `/v1/quotas`: requests or tokens per day, week or month for a key, consumer or consumer
//! group, applied by the check (`/authz/check`), with where each stands now.

use super::{page_of, required, Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Params};
use crate::domain::inputs::{NewQuota, QuotaReset, QuotaUpdate};
use crate::domain::records::Quota;
use crate::domain::Page;
use crate::service::quotas;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_quotas, create_quota))
        .routes(routes!(get_quota, update_quota, delete_quota))
        .routes(routes!(reset_quota))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct QuotaQuery {
    #[param(required = true)]
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// Only the quotas of this key, consumer or consumer group.
    subject_id: Option<String>,
    /// Every quota that covers this consumer's requests: its own, its keys' and its groups'.
    consumer_id: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// List a gateway's quotas, newest first, each with what is used in its current period.
#[utoipa::path(get, path = "/v1/quotas", tag = "Limits", params(QuotaQuery),
    responses((status = 200, body = Envelope<Page<Quota>>), ErrorResponses))]
async fn list_quotas(ctx: Ctx, Params(q): Params<QuotaQuery>) -> Answer<Page<Quota>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        quotas::list_quotas(
            &ctx.db,
            gw,
            q.subject_id.as_deref(),
            q.consumer_id.as_deref(),
            page,
        )
        .await?,
    ))
}

/// Set a quota on a key, consumer or consumer group: `requests` (admitted by the check) or
/// `tokens` (reported over `POST /v1/usage`) per `day`, `week` or `month` in a time zone.
/// One per subject, metric and period.
#[utoipa::path(post, path = "/v1/quotas", tag = "Limits", request_body = NewQuota,
    responses((status = 200, body = Envelope<Quota>), ErrorResponses))]
async fn create_quota(ctx: Ctx, Body(input): Body<NewQuota>) -> Answer<Quota> {
    Ok(Data(
        quotas::create_quota(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a quota and where it stands in its current period.
#[utoipa::path(get, path = "/v1/quotas/{quotaId}", tag = "Limits",
    params(("quotaId" = String, Path, description = "qt-…")),
    responses((status = 200, body = Envelope<Quota>), ErrorResponses))]
async fn get_quota(ctx: Ctx, Path(id): Path<String>) -> Answer<Quota> {
    Ok(Data(quotas::get_quota(&ctx.db, &id).await?))
}

/// Change a quota's amount, time zone and warning threshold; `version` must be current.
#[utoipa::path(put, path = "/v1/quotas/{quotaId}", tag = "Limits",
    params(("quotaId" = String, Path, description = "qt-…")), request_body = QuotaUpdate,
    responses((status = 200, body = Envelope<Quota>), ErrorResponses))]
async fn update_quota(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<QuotaUpdate>,
) -> Answer<Quota> {
    Ok(Data(
        quotas::update_quota(&ctx.db, &ctx.actor, &id, input).await?,
    ))
}

/// Start a quota's count anew for its current period (audited); `version` must be current.
#[utoipa::path(post, path = "/v1/quotas/{quotaId}/reset", tag = "Limits",
    params(("quotaId" = String, Path, description = "qt-…")), request_body = QuotaReset,
    responses((status = 200, body = Envelope<Quota>), ErrorResponses))]
async fn reset_quota(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<QuotaReset>,
) -> Answer<Quota> {
    Ok(Data(
        quotas::reset_quota(&ctx.db, &ctx.actor, &id, input).await?,
    ))
}

/// Remove a quota.
#[utoipa::path(delete, path = "/v1/quotas/{quotaId}", tag = "Limits",
    params(("quotaId" = String, Path, description = "qt-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_quota(ctx: Ctx, Path(id): Path<String>) -> Answer<Empty> {
    quotas::delete_quota(&ctx.db, &ctx.actor, &id).await?;
    Ok(Data(Empty {}))
}
