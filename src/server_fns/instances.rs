//! Gateway instances.

use crate::domain::inputs::{InstanceUpdate, NewInstance};
use crate::domain::records::{Dependency, Instance};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(endpoint = "list_instances")]
pub async fn list_instances(
    search: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<Instance>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            ("list_instances", &search, page_number, page_size),
            crate::service::instances::list_instances(&db, &search, page),
        )
        .await,
    )
}

#[server(endpoint = "get_instance")]
pub async fn get_instance(id: String) -> Result<Instance, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    respond(
        once(
            ("get_instance", &id),
            crate::service::instances::get_instance(&db, &id),
        )
        .await,
    )
}

#[server(endpoint = "create_instance", input = Json)]
pub async fn create_instance(input: NewInstance) -> Result<Instance, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::instances::create_instance(&db, &actor, input).await)
}

#[server(endpoint = "update_instance", input = Json)]
pub async fn update_instance(id: String, input: InstanceUpdate) -> Result<Instance, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::instances::update_instance(&db, &actor, &id, input).await)
}

#[server(endpoint = "instance_dependencies")]
pub async fn instance_dependencies(id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::instances::check_instance_dependencies(&db, &id).await)
}

#[server(endpoint = "delete_instance")]
pub async fn delete_instance(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::instances::delete_instance(&db, &actor, &id).await)
}
