//! `/v1/model-apis`.

use super::gateways::ListQuery;
use super::{page_of, required, Body, Ctx, Params};
use crate::domain::inputs::{ModelApiUpdate, NewModelApi};
use crate::server::AppState;
use crate::service::apis;
use axum::extract::Path;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/model-apis",
            get(list_model_apis).post(create_model_api),
        )
        .route(
            "/v1/model-apis/{api_id}",
            get(get_model_api)
                .put(update_model_api)
                .delete(delete_model_api),
        )
        .route(
            "/v1/model-apis/{api_id}/dependencies",
            get(check_dependencies),
        )
}

async fn list_model_apis(ctx: Ctx, Params(q): Params<ListQuery>) -> Response {
    let result = async {
        let gw = required("GatewayId", &q.gateway_id)?;
        let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
        apis::list_apis(&ctx.db, gw, q.name_like.as_deref().unwrap_or(""), page).await
    }
    .await;
    ctx.reply(result)
}

async fn create_model_api(ctx: Ctx, Body(input): Body<NewModelApi>) -> Response {
    ctx.reply(apis::create_api(&ctx.db, &ctx.actor, input).await)
}

async fn get_model_api(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.reply(apis::get_api(&ctx.db, &id).await)
}

async fn update_model_api(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<ModelApiUpdate>,
) -> Response {
    ctx.reply(apis::update_api(&ctx.db, &ctx.actor, &id, input).await)
}

async fn delete_model_api(ctx: Ctx, Path(id): Path<String>) -> Response {
    ctx.done(apis::delete_api(&ctx.db, &ctx.actor, &id).await)
}

async fn check_dependencies(ctx: Ctx, Path(id): Path<String>) -> Response {
    let result = apis::check_api_dependencies(&ctx.db, &id)
        .await
        .map(|deps| serde_json::json!({ "dependencies": deps }));
    ctx.reply(result)
}
