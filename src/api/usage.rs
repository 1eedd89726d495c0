//! `/v1/usage`: what the enforcement check decided, by time bucket and dimension.

use super::{required, Answer, Body, Ctx, Data, Envelope, ErrorResponses, Params};
use crate::domain::records::TokenScope;
use crate::domain::usage::{RawUsageQuery, UsageIngested, UsageRecords, UsageReport};
use crate::domain::usage_charts::{self, Chart};
use crate::domain::usage_overview::{UsageFilter, UsageOverview};
use crate::error::AppError;
use crate::service::usage;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_usage))
        .routes(routes!(get_usage_overview))
        .routes(routes!(get_usage_chart))
        .routes(routes!(get_usage_chart_csv))
        .merge(
            // 10,000 records with long IDs are a few MB.
            OpenApiRouter::new()
                .routes(routes!(report_usage))
                .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY)),
        )
}

/// The largest batch body read (10,000 records of the longest IDs fit).
const MAX_BODY: usize = 8 * 1024 * 1024;

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct UsageParams {
    /// The gateway whose usage to read.
    #[param(required = true)]
    gateway_id: Option<String>,
    /// From this time, in milliseconds since the epoch (inclusive; rounded down to the
    /// granularity); default 24 hours before `to`.
    #[param(value_type = Option<i64>)]
    from: Option<String>,
    /// Before this time, in milliseconds since the epoch (exclusive; rounded up to the
    /// granularity); default now.
    #[param(value_type = Option<i64>)]
    to: Option<String>,
    /// `minute` (from the minute buckets, kept 48 hours by default), `hour` or `day` (UTC
    /// days; from the hourly buckets, kept 400 days by default). Default: minute up to a
    /// 6-hour range, hour up to 14 days, day beyond. At most 10,080 buckets.
    granularity: Option<String>,
    /// Comma-separated: `consumer`, `key`, `api`, `environment`, `outcome`. Without it, one
    /// row per time bucket.
    group_by: Option<String>,
    /// Only this consumer's requests.
    consumer_id: Option<String>,
    /// Only the requests of this group's members (as the group is now).
    consumer_group_id: Option<String>,
    /// Only the requests made with this key (`key-…`), or signed with this JWT or HMAC
    /// credential (`cred-…`).
    key_id: Option<String>,
    /// Only the requests to this model API.
    api_id: Option<String>,
    /// Only the requests checked in this environment.
    environment_id: Option<String>,
    /// Only this outcome: `allowed`, or a reason of refusal (`no-key`, `unknown-key`,
    /// `disabled-key`, `expired-key`, `disabled-consumer`, `bad-signature`, `unknown-environment`,
    /// `refused-path`, `case-mismatch`, `no-api`, `no-rule`).
    outcome: Option<String>,
}

/// A gateway's usage: every decision of `/authz/check` for it, counted per environment,
/// consumer, key, model API, minute and outcome (allowed, or the reason of the refusal), by
/// every replica, and written every few seconds (`CONSOLE_USAGE_FLUSH_INTERVAL`). Rows are
/// by time bucket and the dimensions asked for, at most 10,000 (more is refused with
/// `InvalidParameter.GroupBy`); a dimension a refused request did not reach is `""` (a
/// request without a valid key names no consumer). Buckets without requests are left out.
#[utoipa::path(get, path = "/v1/usage", tag = "Usage", params(UsageParams),
    responses((status = 200, body = Envelope<UsageReport>), ErrorResponses))]
async fn get_usage(ctx: Ctx, Params(q): Params<UsageParams>) -> Answer<UsageReport> {
    let gateway_id = required("GatewayId", &q.gateway_id)?;
    let raw = RawUsageQuery {
        from: q.from,
        to: q.to,
        granularity: q.granularity,
        group_by: q.group_by,
        consumer_id: q.consumer_id,
        consumer_group_id: q.consumer_group_id,
        key_id: q.key_id,
        api_id: q.api_id,
        environment_id: q.environment_id,
        outcome: q.outcome,
    };
    Ok(Data(
        usage::usage(&ctx.db, &ctx.actor, gateway_id, raw).await?,
    ))
}

/// Token usage reported by the gateway side: up to 10,000 records, each one model call's
/// prompt and completion tokens, by key (its consumer is the one it is bound to now) or by
/// consumer, model API, environment (default: the gateway's default one) and time. Only a
/// token created with the `UsageWrite` scope may call it, and such a token may call nothing
/// else. Counted once per `requestId` and gateway: a retried batch adds nothing
/// (`duplicates`). A batch that breaks a record's own rules is refused whole
/// (`InvalidParameter.Records`, naming the record); a record naming a key, consumer, model
/// API or environment the gateway does not have, a key bound to no consumer, a time more than
/// 5 minutes ahead or older than the minute buckets are kept, is left out and listed in
/// `rejected` with its reason while the others are counted.
#[utoipa::path(post, path = "/v1/usage", tag = "Usage", request_body = UsageRecords,
    responses((status = 200, body = Envelope<UsageIngested>), ErrorResponses))]
async fn report_usage(
    ctx: Ctx,
    State(state): State<AppState>,
    scope: Option<Extension<TokenScope>>,
    Body(batch): Body<UsageRecords>,
) -> Answer<UsageIngested> {
    let scope = scope.map(|Extension(s)| s).unwrap_or_default();
    let retention = state.enforcer.settings.usage.minute_retention;
    Ok(Data(
        usage::ingest(&ctx.db, &ctx.actor, scope, retention, batch).await?,
    ))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ChartParams {
    /// `requests`, `tokens`, `consumers` or `apis`.
    #[param(required = true, value_type = Option<Chart>, inline)]
    chart: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct OverviewParams {
    /// The gateway whose usage to draw.
    #[param(required = true)]
    gateway_id: Option<String>,
    /// `1h`, `24h` (the default), `7d`, `30d` (each ending now), or `custom` (`from` to `to`).
    range: Option<String>,
    /// A custom range's start: UTC `YYYY-MM-DDTHH:MM[:SS]`, or milliseconds since the epoch.
    from: Option<String>,
    /// A custom range's end (exclusive), as `from`.
    to: Option<String>,
    /// Only this consumer's requests: its ID or its name.
    consumer: Option<String>,
    /// Only the requests of this group's members (as the group is now): its ID or its name.
    group: Option<String>,
    /// Only the requests to this model API: its ID or its name.
    api: Option<String>,
    /// Only the requests checked in this environment: its ID.
    environment: Option<String>,
}

impl OverviewParams {
    fn split(self) -> Result<(String, UsageFilter), AppError> {
        let gateway_id = required("GatewayId", &self.gateway_id)?.to_owned();
        Ok((
            gateway_id,
            UsageFilter {
                range: self.range,
                from: self.from,
                to: self.to,
                consumer: self.consumer,
                group: self.group,
                api: self.api,
                environment: self.environment,
            },
        ))
    }
}

/// What the console's Usage page draws: for a range (the last hour, 24 hours, 7 or 30 days,
/// or from–to) and filters, the requests in every bucket by outcome, the prompt and
/// completion tokens, the totals, and the 10 consumers and model APIs with the most requests.
/// The granularity follows the range: minutes up to 6 hours, hours up to 14 days, days beyond.
#[utoipa::path(get, path = "/v1/usage/overview", tag = "Usage", params(OverviewParams),
    responses((status = 200, body = Envelope<UsageOverview>), ErrorResponses))]
async fn get_usage_overview(ctx: Ctx, Params(q): Params<OverviewParams>) -> Answer<UsageOverview> {
    let (gateway_id, filter) = q.split()?;
    Ok(Data(
        usage::overview(&ctx.db, &ctx.actor, &gateway_id, &filter, None).await?,
    ))
}

/// The chart asked for, and what it draws.
async fn chart_data(
    ctx: &Ctx,
    c: ChartParams,
    q: OverviewParams,
) -> Result<(Chart, UsageOverview), AppError> {
    let chart = Chart::parse(required("Chart", &c.chart)?).ok_or_else(|| {
        AppError::invalid("Chart", "The chart is requests, tokens, consumers or apis.")
    })?;
    let (gateway_id, filter) = q.split()?;
    let overview = usage::overview(&ctx.db, &ctx.actor, &gateway_id, &filter, Some(chart)).await?;
    Ok((chart, overview))
}

/// One chart of the Usage page as an SVG image (760 × 300): `requests` (over time, stacked by
/// outcome), `tokens` (prompt and completion over time), `consumers` or `apis` (the 10 with the
/// most requests, allowed and refused). Same parameters as `/v1/usage/overview`; the same data
/// as CSV is `/v1/usage/chart/csv`.
#[utoipa::path(get, path = "/v1/usage/chart", tag = "Usage",
    params(ChartParams, OverviewParams),
    responses((status = 200, description = "The chart (SVG)", content_type = "image/svg+xml", body = String),
        ErrorResponses))]
async fn get_usage_chart(
    ctx: Ctx,
    Params(c): Params<ChartParams>,
    Params(q): Params<OverviewParams>,
) -> Result<Response, AppError> {
    let (chart, overview) = chart_data(&ctx, c, q).await?;
    let svg = usage_charts::svg(chart, &overview).map_err(|e| {
        tracing::error!(error = %e, chart = chart.as_str(), "a usage chart could not be drawn");
        AppError::Internal
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}

/// What one chart of the Usage page shows, as CSV (a download): per time bucket (RFC 3339
/// UTC) the requests by outcome and their total, or the prompt and completion tokens; or per
/// ranked consumer or model API its ID, name, requests, allowed, denied and tokens.
#[utoipa::path(get, path = "/v1/usage/chart/csv", tag = "Usage",
    params(ChartParams, OverviewParams),
    responses((status = 200, description = "The chart's data (CSV)", content_type = "text/csv", body = String),
        ErrorResponses))]
async fn get_usage_chart_csv(
    ctx: Ctx,
    Params(c): Params<ChartParams>,
    Params(q): Params<OverviewParams>,
) -> Result<Response, AppError> {
    let (chart, overview) = chart_data(&ctx, c, q).await?;
    let file = format!(
        "attachment; filename=\"usage-{}-{}.csv\"",
        chart.as_str(),
        overview.gateway_id
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        chart.csv(&overview),
    )
        .into_response())
}
