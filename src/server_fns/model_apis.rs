//! Model APIs.

use crate::domain::inputs::{ModelApiUpdate, NewModelApi};
use crate::domain::records::{Dependency, ModelApi};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(endpoint = "list_apis")]
pub async fn list_apis(
    instance_id: String,
    search: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<ModelApi>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            ("list_apis", &instance_id, &search, page_number, page_size),
            crate::service::model_apis::list_apis(&db, &instance_id, &search, page),
        )
        .await,
    )
}

#[server(endpoint = "create_api", input = Json)]
pub async fn create_api(input: NewModelApi) -> Result<ModelApi, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::model_apis::create_api(&db, &actor, input).await)
}

#[server(endpoint = "update_api", input = Json)]
pub async fn update_api(id: String, input: ModelApiUpdate) -> Result<ModelApi, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::model_apis::update_api(&db, &actor, &id, input).await)
}

#[server(endpoint = "api_dependencies")]
pub async fn api_dependencies(id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::model_apis::check_api_dependencies(&db, &id).await)
}

#[server(endpoint = "delete_api")]
pub async fn delete_api(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::model_apis::delete_api(&db, &actor, &id).await)
}
