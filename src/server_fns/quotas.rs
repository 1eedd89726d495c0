//! The quotas of an instance.

use crate::domain::inputs::{NewQuota, QuotaUpdate};
use crate::domain::records::Quota;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of an instance's quotas with where each stands, newest first; with
/// `consumer_id`, those that cover that consumer's requests.
#[server(endpoint = "quota_page")]
pub async fn quota_page(
    instance_id: String,
    consumer_id: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<Quota>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            (
                "quota_page",
                &instance_id,
                &consumer_id,
                page_number,
                page_size,
            ),
            crate::service::quotas::list_quotas(
                &db,
                &instance_id,
                None,
                Some(consumer_id.as_str()),
                page,
            ),
        )
        .await,
    )
}

#[server(endpoint = "create_quota", input = Json)]
pub async fn create_quota(input: NewQuota) -> Result<Quota, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::quotas::create_quota(&db, &actor, input).await)
}

#[server(endpoint = "update_quota", input = Json)]
pub async fn update_quota(id: String, input: QuotaUpdate) -> Result<Quota, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::quotas::update_quota(&db, &actor, &id, input).await)
}

#[server(endpoint = "reset_quota")]
pub async fn reset_quota(id: String, version: i64) -> Result<Quota, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::QuotaReset { version };
    respond(crate::service::quotas::reset_quota(&db, &actor, &id, input).await)
}

#[server(endpoint = "delete_quota")]
pub async fn delete_quota(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::quotas::delete_quota(&db, &actor, &id).await)
}
