//! API keys.

use crate::domain::inputs::NewKey;
use crate::domain::records::{ApiKey, CreatedKey, Dependency};
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

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
