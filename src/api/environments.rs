//! `/v1/environments`: the environments of a gateway.

use super::{
    page_of, required, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope, ErrorResponses,
    ListQuery, Params,
};
use crate::domain::inputs::{EnvironmentUpdate, NewEnvironment};
use crate::domain::records::Environment;
use crate::domain::Page;
use crate::service::environments;
use crate::state::AppState;
use axum::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_environments, create_environment))
        .routes(routes!(
            get_environment,
            update_environment,
            delete_environment
        ))
        .routes(routes!(check_environment_dependencies))
}

/// List the environments of a gateway, the default one first.
#[utoipa::path(get, path = "/v1/environments", tag = "Gateways", params(ListQuery),
    responses((status = 200, body = Envelope<Page<Environment>>), ErrorResponses))]
async fn list_environments(ctx: Ctx, Params(q): Params<ListQuery>) -> Answer<Page<Environment>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        environments::list_environments(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page)
            .await?,
    ))
}

/// Create an environment in a gateway.
#[utoipa::path(post, path = "/v1/environments", tag = "Gateways", request_body = NewEnvironment,
    responses((status = 200, body = Envelope<Environment>), ErrorResponses))]
async fn create_environment(ctx: Ctx, Body(input): Body<NewEnvironment>) -> Answer<Environment> {
    Ok(Data(
        environments::create_environment(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get an environment.
#[utoipa::path(get, path = "/v1/environments/{environmentId}", tag = "Gateways",
    params(("environmentId" = String, Path, description = "env-…")),
    responses((status = 200, body = Envelope<Environment>), ErrorResponses))]
async fn get_environment(ctx: Ctx, Path(environment_id): Path<String>) -> Answer<Environment> {
    Ok(Data(
        environments::get_environment(&ctx.db, &environment_id).await?,
    ))
}

/// Rename an environment or change its alias and description; `version` must be current.
#[utoipa::path(put, path = "/v1/environments/{environmentId}", tag = "Gateways",
    params(("environmentId" = String, Path, description = "env-…")), request_body = EnvironmentUpdate,
    responses((status = 200, body = Envelope<Environment>), ErrorResponses))]
async fn update_environment(
    ctx: Ctx,
    Path(environment_id): Path<String>,
    Body(input): Body<EnvironmentUpdate>,
) -> Answer<Environment> {
    Ok(Data(
        environments::update_environment(&ctx.db, &ctx.actor, &environment_id, input).await?,
    ))
}

/// Delete an environment that no model API is deployed to and no rule names (not the
/// default one); otherwise `Conflict.Dependencies` lists what is in the way.
#[utoipa::path(delete, path = "/v1/environments/{environmentId}", tag = "Gateways",
    params(("environmentId" = String, Path, description = "env-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_environment(ctx: Ctx, Path(environment_id): Path<String>) -> Answer<Empty> {
    environments::delete_environment(&ctx.db, &ctx.actor, &environment_id).await?;
    Ok(Data(Empty {}))
}

/// What keeps an environment from being deleted: the model APIs deployed to it and the rules
/// that name it.
#[utoipa::path(get, path = "/v1/environments/{environmentId}/dependencies", tag = "Gateways",
    params(("environmentId" = String, Path, description = "env-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_environment_dependencies(
    ctx: Ctx,
    Path(environment_id): Path<String>,
) -> Answer<Dependencies> {
    Ok(Data(
        environments::check_environment_dependencies(&ctx.db, &environment_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}
