//! A consumer's JWT and HMAC credentials (binding an API key is in `consumers`).

use crate::domain::inputs::NewCredential;
use crate::domain::records::{ConsumerCredential, CreatedCredential};
use crate::error::AppError;
use leptos::prelude::*;
use leptos::server_fn::codec::Json;

/// Makes a credential; the answer carries its secret, the only time it is ever sent.
#[server(endpoint = "create_credential", input = Json)]
pub async fn create_credential(input: NewCredential) -> Result<CreatedCredential, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::credentials::create_credential(&db, &actor, input).await)
}

/// Enables or disables a credential (`version` is the one the change is based on).
#[server(endpoint = "set_credential_enabled")]
pub async fn set_credential_enabled(
    credential_id: String,
    enabled: bool,
    version: i64,
) -> Result<ConsumerCredential, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::CredentialUpdate {
        enabled: Some(enabled),
        version,
    };
    respond(
        crate::service::credentials::update_credential(&db, &actor, &credential_id, input).await,
    )
}

/// Gives a credential a new secret (in the answer, once); the old one keeps working for
/// `grace_period_seconds`.
#[server(endpoint = "rotate_credential")]
pub async fn rotate_credential(
    credential_id: String,
    grace_period_seconds: i64,
) -> Result<CreatedCredential, AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    let input = crate::domain::inputs::KeyRotation {
        grace_period_seconds,
    };
    respond(
        crate::service::credentials::rotate_credential(&db, &actor, &credential_id, input).await,
    )
}

#[server(endpoint = "delete_credential")]
pub async fn delete_credential(credential_id: String) -> Result<(), AppError> {
    use super::context::{actor, respond};
    let (db, actor) = actor()?;
    respond(crate::service::credentials::delete_credential(&db, &actor, &credential_id).await)
}
