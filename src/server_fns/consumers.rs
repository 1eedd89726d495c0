//! Consumers and their credentials.

use crate::domain::inputs::{ConsumerUpdate, NewConsumer};
use crate::domain::records::{Consumer, Dependency};
use crate::domain::rule_view::ConsumerAuthorizationRule;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Consumers by name, optionally only a group's members or the holders of a key whose name
/// or prefix contains `key_like`.
#[server(endpoint = "list_consumers")]
pub async fn list_consumers(
    instance_id: String,
    name_like: String,
    #[server(default)] group_id: String,
    #[server(default)] key_like: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<Consumer>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            (
                "list_consumers",
                &instance_id,
                &name_like,
                &group_id,
                &key_like,
                page_number,
                page_size,
            ),
            crate::service::consumers::list_consumers(
                &db,
                &instance_id,
                &name_like,
                &group_id,
                &key_like,
                page,
            ),
        )
        .await,
    )
}

#[server(endpoint = "get_consumer")]
pub async fn get_consumer(id: String) -> Result<Consumer, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    respond(
        once(
            ("get_consumer", &id),
            crate::service::consumers::get_consumer(&db, &id),
        )
        .await,
    )
}

#[server(endpoint = "create_consumer", input = Json)]
pub async fn create_consumer(input: NewConsumer) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::consumers::create_consumer(&db, &actor, input).await)
}

#[server(endpoint = "update_consumer", input = Json)]
pub async fn update_consumer(id: String, input: ConsumerUpdate) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::consumers::update_consumer(&db, &actor, &id, input).await)
}

#[server(endpoint = "consumer_dependencies")]
pub async fn consumer_dependencies(id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::consumers::check_consumer_dependencies(&db, &id).await)
}

#[server(endpoint = "delete_consumer")]
pub async fn delete_consumer(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::consumers::delete_consumer(&db, &actor, &id).await)
}

#[server(endpoint = "bind_credential")]
pub async fn bind_credential(consumer_id: String, key_id: String) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::consumers::bind_credential(&db, &actor, &consumer_id, &key_id).await)
}

#[server(endpoint = "unbind_credential")]
pub async fn unbind_credential(consumer_id: String, key_id: String) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::consumers::unbind_credential(&db, &actor, &consumer_id, &key_id).await)
}

#[server(endpoint = "remove_from_group")]
pub async fn remove_from_group(
    consumer_id: String,
    group_id: String,
) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(
        crate::service::consumers::remove_from_group(&db, &actor, &consumer_id, &group_id).await,
    )
}

/// Enables or disables the consumer (`version` is the one the change is based on).
#[server(endpoint = "set_consumer_enabled")]
pub async fn set_consumer_enabled(
    consumer_id: String,
    enabled: bool,
    version: i64,
) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::StatusUpdate { enabled, version };
    respond(crate::service::consumers::set_consumer_enabled(&db, &actor, &consumer_id, input).await)
}

/// Puts the consumer into a group (from the group's details panel).
#[server(endpoint = "add_to_group")]
pub async fn add_to_group(consumer_id: String, group_id: String) -> Result<Consumer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::NewMembership { group_id };
    respond(crate::service::consumers::add_to_group(&db, &actor, &consumer_id, input).await)
}

/// The consumer details panel's data in one call: the consumer and one page of its rules
/// (with those inherited through groups).
#[server(endpoint = "consumer_details")]
pub async fn consumer_details(
    consumer_id: String,
    api_name_like: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<(Consumer, Page<ConsumerAuthorizationRule>), AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    let key = (
        "consumer_details",
        &consumer_id,
        &api_name_like,
        page_number,
        page_size,
    );
    let key = serde_json::to_string(&key).unwrap_or_default();
    let consumer = respond(
        once(
            ("get_consumer", &consumer_id),
            crate::service::consumers::get_consumer(&db, &consumer_id),
        )
        .await,
    )?;
    let rules = once(
        key,
        crate::service::consumers::rules::list_consumer_rules(
            &db,
            &consumer_id,
            &api_name_like,
            true,
            page,
        ),
    )
    .await;
    respond(rules.map(|r| (consumer, r)))
}
