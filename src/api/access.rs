//! `/v1/gateways/{gatewayId}/authz/explain`: the access check, "why was this request refused?".

use super::{Answer, Body, Ctx, Data, Envelope, ErrorResponses};
use crate::domain::access::{AccessAnswer, AccessQuestion};
use crate::service::access;
use crate::state::AppState;
use axum::extract::{Path, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(explain_access))
}

/// The decision `/authz/check` would give this request now, with its trace: the key (or the
/// consumer asked about), the consumer, the environment, the model API the path reaches and
/// by which base path, and every rule of the consumer and its groups with why it applies or
/// not. It decides through the check's own function on the check's snapshot. Asking about a
/// typed key is for Admins only (the answer tells whether the key exists); anyone signed in
/// may ask about a consumer. Nothing is changed.
#[utoipa::path(post, path = "/v1/gateways/{gatewayId}/authz/explain", tag = "Gateways",
    params(("gatewayId" = String, Path, description = "gw-…")), request_body = AccessQuestion,
    responses((status = 200, body = Envelope<AccessAnswer>), ErrorResponses))]
async fn explain_access(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(gateway_id): Path<String>,
    Body(question): Body<AccessQuestion>,
) -> Answer<AccessAnswer> {
    Ok(Data(
        access::explain(&ctx.db, &state.enforcer, &ctx.actor, &gateway_id, question).await?,
    ))
}
