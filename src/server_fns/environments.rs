//! The environments of an instance.

use crate::domain::inputs::{EnvironmentUpdate, NewEnvironment};
use crate::domain::records::{Dependency, Environment};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of an instance's environments, the default first, then by name.
#[server(endpoint = "environment_page")]
pub async fn environment_page(
    instance_id: String,
    search: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<Environment>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            (
                "environment_page",
                &instance_id,
                &search,
                page_number,
                page_size,
            ),
            crate::service::environments::list_environments(&db, &instance_id, &search, page),
        )
        .await,
    )
}

#[server(endpoint = "create_environment", input = Json)]
pub async fn create_environment(input: NewEnvironment) -> Result<Environment, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::environments::create_environment(&db, &actor, input).await)
}

#[server(endpoint = "update_environment", input = Json)]
pub async fn update_environment(
    id: String,
    input: EnvironmentUpdate,
) -> Result<Environment, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::environments::update_environment(&db, &actor, &id, input).await)
}

#[server(endpoint = "environment_dependencies")]
pub async fn environment_dependencies(id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::environments::check_environment_dependencies(&db, &id).await)
}

#[server(endpoint = "delete_environment")]
pub async fn delete_environment(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::environments::delete_environment(&db, &actor, &id).await)
}

/// The first hundred environments of an instance (the default first), for choosers.
#[server(endpoint = "list_environments")]
pub async fn list_environments(instance_id: String) -> Result<Vec<Environment>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(Some(1), Some(100)))?;
    respond(
        once(
            ("list_environments", &instance_id),
            crate::service::environments::list_environments(&db, &instance_id, "", page),
        )
        .await
        .map(|p| p.items),
    )
}
