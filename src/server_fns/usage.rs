//! The Usage page of an instance.

use crate::domain::usage_overview::{UsageFilter, UsageOverview};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// What the Usage page draws for an instance, its range and its filters.
#[server(endpoint = "instance_usage", input = Json)]
pub async fn instance_usage(
    instance_id: String,
    filter: UsageFilter,
) -> Result<UsageOverview, AppError> {
    use super::context::{actor, once, respond};
    let (db, actor) = actor()?;
    respond(
        once(
            ("instance_usage", &instance_id, &filter),
            crate::service::usage::overview(&db, &actor, &instance_id, &filter, None),
        )
        .await,
    )
}
