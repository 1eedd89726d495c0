//! The rate limits of an instance.

use crate::domain::inputs::{NewRateLimit, RateLimitUpdate};
use crate::domain::records::RateLimit;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// One page of an instance's rate limits, newest first; with `consumer_id`, those that
/// cover that consumer's requests.
#[server(endpoint = "rate_limit_page")]
pub async fn rate_limit_page(
    instance_id: String,
    consumer_id: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<RateLimit>, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(
        once(
            (
                "rate_limit_page",
                &instance_id,
                &consumer_id,
                page_number,
                page_size,
            ),
            crate::service::limits::list_rate_limits(
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

#[server(endpoint = "create_rate_limit", input = Json)]
pub async fn create_rate_limit(input: NewRateLimit) -> Result<RateLimit, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::limits::create_rate_limit(&db, &actor, input).await)
}

#[server(endpoint = "update_rate_limit", input = Json)]
pub async fn update_rate_limit(id: String, input: RateLimitUpdate) -> Result<RateLimit, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::limits::update_rate_limit(&db, &actor, &id, input).await)
}

#[server(endpoint = "delete_rate_limit")]
pub async fn delete_rate_limit(id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::limits::delete_rate_limit(&db, &actor, &id).await)
}
