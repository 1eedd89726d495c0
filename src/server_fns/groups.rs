//! Consumer groups.

use crate::domain::inputs::{GroupUpdate, NewGroup};
use crate::domain::records::{ConsumerGroup, ConsumerGroupDetails, Dependency};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

#[server(endpoint = "list_groups")]
pub async fn list_groups(
    instance_id: String,
    search: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<ConsumerGroup>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            ("list_groups", &instance_id, &search, page_number, page_size),
            crate::service::groups::list_groups(&db, &instance_id, &search, page),
        )
        .await,
    )
}

#[server(endpoint = "create_group", input = Json)]
pub async fn create_group(input: NewGroup) -> Result<ConsumerGroup, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::groups::create_group(&db, &actor, input).await)
}

/// Enables or disables a consumer group (`version` is the one the change is based on).
#[server(endpoint = "set_group_enabled")]
pub async fn set_group_enabled(
    group_id: String,
    enabled: bool,
    version: i64,
) -> Result<ConsumerGroup, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::StatusUpdate { enabled, version };
    respond(crate::service::groups::set_group_enabled(&db, &actor, &group_id, input).await)
}

/// A group with its members and the rules that grant it, for the details panel.
#[server(endpoint = "group_details")]
pub async fn group_details(group_id: String) -> Result<ConsumerGroupDetails, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    respond(
        once(
            ("group_details", &group_id),
            crate::service::groups::group_details(&db, &group_id),
        )
        .await,
    )
}

#[server(endpoint = "update_group", input = Json)]
pub async fn update_group(group_id: String, input: GroupUpdate) -> Result<ConsumerGroup, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::groups::update_group(&db, &actor, &group_id, input).await)
}

#[server(endpoint = "group_dependencies")]
pub async fn group_dependencies(group_id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::groups::check_group_dependencies(&db, &group_id).await)
}

#[server(endpoint = "delete_group")]
pub async fn delete_group(group_id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::groups::delete_group(&db, &actor, &group_id).await)
}
