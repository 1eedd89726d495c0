//! The access check: the decision the proxy's check would give a request now, explained.

use crate::domain::access::AccessAnswer;
use crate::error::AppError;
use leptos::prelude::*;

/// Explains a request by a consumer (its name) or, for Admins, by a typed key.
#[server(endpoint = "explain_access")]
pub async fn explain_access(
    gateway_id: String,
    key: Option<String>,
    consumer_name: Option<String>,
    path: String,
    environment: Option<String>,
) -> Result<AccessAnswer, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let state = use_context::<crate::state::AppState>().ok_or(AppError::Internal)?;
    let question = crate::domain::access::AccessQuestion {
        key,
        consumer_id: None,
        consumer_name,
        path,
        environment,
    };
    respond(
        crate::service::access::explain(&db, &state.enforcer, &actor, &gateway_id, question).await,
    )
}
