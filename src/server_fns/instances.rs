//! Instances, and the groups and keys inside them.

use crate::domain::inputs::{GroupUpdate, InstanceUpdate, NewGroup, NewInstance, NewKey};
use crate::domain::records::{
    ApiKey, ConsumerGroup, ConsumerGroupDetails, CreatedKey, Dependency, Instance,
};
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

#[server(endpoint = "list_keys")]
pub async fn list_keys(
    instance_id: String,
    search: String,
    unbound_only: bool,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<ApiKey>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            (
                "list_keys",
                &instance_id,
                &search,
                unbound_only,
                page_number,
                page_size,
            ),
            crate::service::keys::list_keys(&db, &instance_id, &search, unbound_only, page),
        )
        .await,
    )
}

/// Creates a key; the answer carries its value, the only time it is ever sent.
#[server(endpoint = "create_key", input = Json)]
pub async fn create_key(input: NewKey) -> Result<CreatedKey, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::keys::create_key(&db, &actor, input).await)
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

#[server(endpoint = "set_key_enabled")]
pub async fn set_key_enabled(
    key_id: String,
    enabled: bool,
    version: i64,
) -> Result<ApiKey, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::KeyUpdate {
        enabled: Some(enabled),
        version,
        expires_at: None,
    };
    respond(crate::service::keys::update_key(&db, &actor, &key_id, input).await)
}

/// A new value for the key; the answer carries it, the only time it is ever sent.
#[server(endpoint = "rotate_key")]
pub async fn rotate_key(key_id: String, grace_period_seconds: i64) -> Result<CreatedKey, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::KeyRotation {
        grace_period_seconds,
    };
    respond(crate::service::keys::rotate_key(&db, &actor, &key_id, input).await)
}

#[server(endpoint = "key_dependencies")]
pub async fn key_dependencies(key_id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::keys::check_key_dependencies(&db, &key_id).await)
}

#[server(endpoint = "delete_key")]
pub async fn delete_key(key_id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::keys::delete_key(&db, &actor, &key_id).await)
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
