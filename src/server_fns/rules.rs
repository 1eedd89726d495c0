//! Authorization rules.

use crate::domain::inputs::{NewRule, RuleExpiryUpdate};
use crate::domain::records::AuthorizationRule;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

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
    // The search box takes a rule ID too (the console links a rule's dependants that way).
    let by_id = crate::domain::ResourceId::parse(
        crate::domain::IdKind::AuthorizationRule,
        api_name_like.trim(),
    );
    let (rule_id, api_name_like) = match by_id {
        Some(id) => (Some(id.to_string()), None),
        None => (None, Some(api_name_like)),
    };
    let query = crate::service::rules::RuleQuery {
        instance_id: Some(instance_id),
        rule_id,
        api_name_like,
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
