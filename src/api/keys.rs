//! `/v1/keys`: API keys, their status and expiry, rotation and deletion.

use super::{
    flag, page_of, required, Answer, Body, Ctx, Data, Dependencies, Empty, Envelope,
    ErrorResponses, Params,
};
use crate::domain::inputs::{KeyRotation, KeyUpdate, NewKey};
use crate::domain::records::{ApiKey, CreatedKey};
use crate::domain::Page;
use crate::service::keys;
use crate::state::AppState;
use axum::extract::Path;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_keys, create_key))
        .routes(routes!(get_key, update_key, delete_key))
        .routes(routes!(check_key_dependencies))
        .routes(routes!(rotate_key))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct KeysQuery {
    /// The gateway whose keys to list.
    #[param(required = true)]
    #[serde(rename = "gatewayId")]
    instance_id: Option<String>,
    /// Case-insensitive substring of the key name.
    name_like: Option<String>,
    /// `true` lists only keys not bound to a consumer.
    #[param(value_type = Option<bool>)]
    unbound_only: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    page_size: Option<String>,
}

/// List the keys of a gateway (masked: name and visible prefix only).
#[utoipa::path(get, path = "/v1/keys", tag = "Groups and keys", params(KeysQuery),
    responses((status = 200, body = Envelope<Page<ApiKey>>), ErrorResponses))]
async fn list_keys(ctx: Ctx, Params(q): Params<KeysQuery>) -> Answer<Page<ApiKey>> {
    let gw = required("GatewayId", &q.instance_id)?;
    let page = page_of(q.page_number.as_deref(), q.page_size.as_deref())?;
    let unbound = flag("UnboundOnly", q.unbound_only.as_deref())?;
    Ok(Data(
        keys::list_keys(
            &ctx.db,
            gw,
            q.name_like.as_deref().unwrap_or(""),
            unbound,
            page,
        )
        .await?,
    ))
}

/// Generate a key. The answer is the only one that ever carries its value.
#[utoipa::path(post, path = "/v1/keys", tag = "Groups and keys", request_body = NewKey,
    responses((status = 200, body = Envelope<CreatedKey>), ErrorResponses))]
async fn create_key(ctx: Ctx, Body(input): Body<NewKey>) -> Answer<CreatedKey> {
    Ok(Data(keys::create_key(&ctx.db, &ctx.actor, input).await?))
}

/// Get a key (masked: name and visible prefix only).
#[utoipa::path(get, path = "/v1/keys/{keyId}", tag = "Groups and keys",
    params(("keyId" = String, Path, description = "key-…")),
    responses((status = 200, body = Envelope<ApiKey>), ErrorResponses))]
async fn get_key(ctx: Ctx, Path(key_id): Path<String>) -> Answer<ApiKey> {
    Ok(Data(keys::get_key(&ctx.db, &key_id).await?))
}

/// Enable or disable a key, or set (`expiresAt` in ms) or clear (`expiresAt: null`) its expiry.
#[utoipa::path(patch, path = "/v1/keys/{keyId}", tag = "Groups and keys",
    params(("keyId" = String, Path, description = "key-…")), request_body = KeyUpdate,
    responses((status = 200, body = Envelope<ApiKey>), ErrorResponses))]
async fn update_key(
    ctx: Ctx,
    Path(key_id): Path<String>,
    Body(input): Body<KeyUpdate>,
) -> Answer<ApiKey> {
    Ok(Data(
        keys::update_key(&ctx.db, &ctx.actor, &key_id, input).await?,
    ))
}

/// Delete a key that is not bound; a bound key answers `Conflict.Dependencies`.
#[utoipa::path(delete, path = "/v1/keys/{keyId}", tag = "Groups and keys",
    params(("keyId" = String, Path, description = "key-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_key(ctx: Ctx, Path(key_id): Path<String>) -> Answer<Empty> {
    keys::delete_key(&ctx.db, &ctx.actor, &key_id).await?;
    Ok(Data(Empty {}))
}

/// What keeps a key from being deleted: the consumer it is bound to.
#[utoipa::path(get, path = "/v1/keys/{keyId}/dependencies", tag = "Groups and keys",
    params(("keyId" = String, Path, description = "key-…")),
    responses((status = 200, body = Envelope<Dependencies>), ErrorResponses))]
async fn check_key_dependencies(ctx: Ctx, Path(key_id): Path<String>) -> Answer<Dependencies> {
    Ok(Data(
        keys::check_key_dependencies(&ctx.db, &key_id)
            .await
            .map(|dependencies| Dependencies { dependencies })?,
    ))
}

/// Give the key a new value, shown once in the answer; the old value keeps working for
/// `gracePeriodSeconds`.
#[utoipa::path(post, path = "/v1/keys/{keyId}/rotate", tag = "Groups and keys",
    params(("keyId" = String, Path, description = "key-…")), request_body = KeyRotation,
    responses((status = 200, body = Envelope<CreatedKey>), ErrorResponses))]
async fn rotate_key(
    ctx: Ctx,
    Path(key_id): Path<String>,
    Body(input): Body<KeyRotation>,
) -> Answer<CreatedKey> {
    Ok(Data(
        keys::rotate_key(&ctx.db, &ctx.actor, &key_id, input).await?,
    ))
}
