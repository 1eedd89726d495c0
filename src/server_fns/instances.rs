//! Gateway instances.

use crate::domain::inputs::{InstanceUpdate, NewInstance};
use crate::domain::records::{Dependency, Instance};
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

/// The instance page's overview, with this replica's snapshot state and the console's origin.
#[server(endpoint = "instance_overview")]
pub async fn instance_overview(
    id: String,
) -> Result<crate::domain::instance_overview::InstanceOverview, AppError> {
    use super::context::{actor, once, respond};
    let (db, _) = actor()?;
    let state = use_context::<crate::state::AppState>().ok_or(AppError::Internal)?;
    let mut overview = respond(
        once(
            ("instance_overview", &id),
            crate::service::instances::overview(&db, &id),
        )
        .await,
    )?;
    overview.snapshot_revision = state.enforcer.revision(id.trim());
    overview.snapshot_confirmed_ago = state.enforcer.loaded().1.as_millis() as i64;
    overview.console_origin = match &state.web.public_origin {
        Some(origin) => origin.clone(),
        None => {
            let host = use_context::<http::request::Parts>()
                .and_then(|p| {
                    p.headers
                        .get(http::header::HOST)
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| state.leptos_options.site_addr.to_string());
            let scheme = if state.web.secure_cookies {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{host}")
        }
    };
    Ok(overview)
}
