//! `/v1/audit-events`: the audit log, newest first.

use super::{page_of, Answer, Ctx, Data, Envelope, ErrorResponses, Params};
use crate::domain::inputs::AuditFilter;
use crate::domain::records::AuditEvent;
use crate::domain::Page;
use crate::error::{AppError, AppResult};
use crate::service::audit;
use crate::state::AppState;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit_events))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AuditQuery {
    /// One gateway's entries; without it, every gateway's and the account-level ones.
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// `Gateway`, `Consumer`, `ConsumerGroup`, `Key`, `Api`, `Environment`,
    /// `AuthorizationRule`, `Account` or `ApiToken`.
    resource_type: Option<String>,
    /// The changed resource's ID.
    resource_id: Option<String>,
    /// Case-insensitive substring of the actor (account, or `account (token name)`).
    actor: Option<String>,
    /// From this time, in milliseconds since the epoch (inclusive).
    #[param(value_type = Option<i64>)]
    from: Option<String>,
    /// Before this time, in milliseconds since the epoch (exclusive).
    #[param(value_type = Option<i64>)]
    to: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

fn time(field: &str, raw: Option<&str>) -> AppResult<Option<i64>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => s.parse::<i64>().map(Some).map_err(|_| {
            AppError::invalid(
                field,
                format!("{field} is a time in milliseconds since the epoch."),
            )
        }),
    }
}

/// The audit log: every change made through the console, the REST API or the CLI, with who
/// made it, what it changed (never a secret), when, and the request ID.
#[utoipa::path(get, path = "/v1/audit-events", tag = "Audit", params(AuditQuery),
    responses((status = 200, body = Envelope<Page<AuditEvent>>), ErrorResponses))]
async fn list_audit_events(ctx: Ctx, Params(q): Params<AuditQuery>) -> Answer<Page<AuditEvent>> {
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    let filter = AuditFilter {
        instance_id: q.instance_id,
        resource_type: q.resource_type,
        resource_id: q.resource_id,
        actor: q.actor,
        from: time("From", q.from.as_deref())?,
        to: time("To", q.to.as_deref())?,
    };
    Ok(Data(audit::list_audit_events(&ctx.db, filter, page).await?))
}
