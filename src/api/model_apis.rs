//! `/v1/model-apis`.

use super::ListQuery;
use super::{
    page_of, required, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope, ErrorResponses,
    Params,
};
use crate::domain::inputs::{ModelApiUpdate, NewModelApi};
use crate::domain::records::ModelApi;
use crate::domain::Page;
use crate::service::model_apis;
use crate::state::AppState;
use axum::extract::Path;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_model_apis, create_model_api))
        .routes(routes!(get_model_api, update_model_api, delete_model_api))
        .routes(routes!(check_model_api_dependencies))
}

/// List the model APIs of a gateway, newest first.
#[utoipa::path(get, path = "/v1/model-apis", tag = "Model APIs", params(ListQuery),
    responses((status = 200, body = Envelope<Page<ModelApi>>), ErrorResponses))]
async fn list_model_apis(ctx: Ctx, Params(q): Params<ListQuery>) -> Answer<Page<ModelApi>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    Ok(Data(
        model_apis::list_apis(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await?,
    ))
}

/// Register a model API and deploy it to environments.
#[utoipa::path(post, path = "/v1/model-apis", tag = "Model APIs", request_body = NewModelApi,
    responses((status = 200, body = Envelope<ModelApi>), ErrorResponses))]
async fn create_model_api(ctx: Ctx, Body(input): Body<NewModelApi>) -> Answer<ModelApi> {
    Ok(Data(
        model_apis::create_api(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a model API.
#[utoipa::path(get, path = "/v1/model-apis/{apiId}", tag = "Model APIs",
    params(("apiId" = String, Path, description = "api-…")),
    responses((status = 200, body = Envelope<ModelApi>), ErrorResponses))]
async fn get_model_api(ctx: Ctx, Path(api_id): Path<String>) -> Answer<ModelApi> {
    Ok(Data(model_apis::get_api(&ctx.db, &api_id).await?))
}

/// Change a model API; `version` must be the current one. Undeploying from an environment
/// that rules refer to is refused with `Conflict.Dependencies`.
#[utoipa::path(put, path = "/v1/model-apis/{apiId}", tag = "Model APIs",
    params(("apiId" = String, Path, description = "api-…")), request_body = ModelApiUpdate,
    responses((status = 200, body = Envelope<ModelApi>), ErrorResponses))]
async fn update_model_api(
    ctx: Ctx,
    Path(api_id): Path<String>,
    Body(input): Body<ModelApiUpdate>,
) -> Answer<ModelApi> {
    Ok(Data(
        model_apis::update_api(&ctx.db, &ctx.actor, &api_id, input).await?,
    ))
}

/// Delete a model API no rule refers to.
#[utoipa::path(delete, path = "/v1/model-apis/{apiId}", tag = "Model APIs",
    params(("apiId" = String, Path, description = "api-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_model_api(ctx: Ctx, Path(api_id): Path<String>) -> Answer<Empty> {
    model_apis::delete_api(&ctx.db, &ctx.actor, &api_id).await?;
    Ok(Data(Empty {}))
}

/// The authorization rules that keep a model API from being deleted.
#[utoipa::path(get, path = "/v1/model-apis/{apiId}/dependencies", tag = "Model APIs",
    params(("apiId" = String, Path, description = "api-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_model_api_dependencies(
    ctx: Ctx,
    Path(api_id): Path<String>,
) -> Answer<Dependencies> {
    Ok(Data(
        model_apis::check_api_dependencies(&ctx.db, &api_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}
