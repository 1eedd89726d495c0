//! Model APIs, environments and authorization rules.

use crate::domain::inputs::{ModelApiUpdate, NewModelApi, NewRule, RuleExpiryUpdate};
use crate::domain::records::{AuthorizationRule, Consumer, Dependency, Environment, ModelApi};
use crate::domain::rule_view::ConsumerAuthorizationRule;
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
            crate::service::apis::list_apis(&db, &instance_id, &search, page),
        )
        .await,
    )
}

#[server(endpoint = "create_api", input = Json)]
pub async fn create_api(input: NewModelApi) -> Result<ModelApi, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::apis::create_api(&db, &actor, input).await)
}

#[server(endpoint = "update_api", input = Json)]
pub async fn update_api(id: String, input: ModelApiUpdate) -> Result<ModelApi, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::apis::update_api(&db, &actor, &id, input).await)
}

#[server(endpoint = "api_dependencies")]
pub async fn api_dependencies(id: String) -> Result<Vec<Dependency>, AppError> {
    use super::context::{actor, respond};
    let (db, _) = actor()?;
    respond(crate::service::apis::check_api_dependencies(&db, &id).await)
}

#[server(endpoint = "delete_api")]
pub async fn delete_api(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::apis::delete_api(&db, &actor, &id).await)
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

#[server(endpoint = "list_rules")]
pub async fn list_rules(
    instance_id: String,
    api_name_like: String,
    consumer_name_like: String,
    expire_status: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<AuthorizationRule>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    let key = (
        "list_rules",
        &instance_id,
        &api_name_like,
        &consumer_name_like,
        &expire_status,
        page_number,
        page_size,
    );
    let key = serde_json::to_string(&key).unwrap_or_default();
    let query = crate::service::rules::RuleQuery {
        instance_id: Some(instance_id),
        api_name_like: Some(api_name_like),
        principal_name_like: Some(consumer_name_like),
        expire_status: Some(expire_status),
        ..Default::default()
    };
    respond(once(key, crate::service::rules::query_rules(&db, query, page)).await)
}

#[server(endpoint = "create_rule", input = Json)]
pub async fn create_rule(input: NewRule) -> Result<AuthorizationRule, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(
        crate::service::rules::create_rules(&db, &actor, vec![input])
            .await
            .map(|mut v| v.remove(0)),
    )
}

#[server(endpoint = "update_rule_expiry", input = Json)]
pub async fn update_rule_expiry(
    id: String,
    input: RuleExpiryUpdate,
) -> Result<AuthorizationRule, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::rules::update_rule_expiry(&db, &actor, &id, input).await)
}

#[server(endpoint = "delete_rule")]
pub async fn delete_rule(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::rules::delete_rules(&db, &actor, &[id]).await)
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
        crate::service::consumer_rules::list_consumer_rules(
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
