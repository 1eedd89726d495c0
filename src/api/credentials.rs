//! `/v1/credentials`: a consumer's JWT and HMAC credentials (an API key is bound with
//! `POST /v1/consumers/{consumerId}/credentials`).

use super::{required, Answer, Body, Ctx, Data, Empty, Envelope, ErrorResponses, Params};
use crate::domain::inputs::{CredentialUpdate, KeyRotation, NewCredential};
use crate::domain::records::{ConsumerCredential, CreatedCredential, JwksStatus};
use crate::service::credentials;
use crate::state::AppState;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials, create_credential))
        .routes(routes!(
            get_credential,
            update_credential,
            delete_credential
        ))
        .routes(routes!(rotate_credential))
        .routes(routes!(jwks_status, fetch_jwks))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct CredentialsQuery {
    /// The consumer whose JWT and HMAC credentials to list.
    #[param(required = true)]
    consumer_id: Option<String>,
}

/// List a consumer's JWT and HMAC credentials (never their secrets).
#[utoipa::path(get, path = "/v1/credentials", tag = "Consumers", params(CredentialsQuery),
    responses((status = 200, body = Envelope<Vec<ConsumerCredential>>), ErrorResponses))]
async fn list_credentials(
    ctx: Ctx,
    Params(q): Params<CredentialsQuery>,
) -> Answer<Vec<ConsumerCredential>> {
    let consumer = required("ConsumerId", &q.consumer_id)?;
    Ok(Data(
        credentials::list_credentials(&ctx.db, consumer).await?,
    ))
}

/// Make an HMAC (AK/SK) credential for a consumer. The answer is the only one that ever
/// carries its secret.
#[utoipa::path(post, path = "/v1/credentials", tag = "Consumers", request_body = NewCredential,
    responses((status = 200, body = Envelope<CreatedCredential>), ErrorResponses))]
async fn create_credential(
    ctx: Ctx,
    Body(input): Body<NewCredential>,
) -> Answer<CreatedCredential> {
    Ok(Data(
        credentials::create_credential(&ctx.db, &ctx.actor, input).await?,
    ))
}

/// Get a credential (its settings; never its secret).
#[utoipa::path(get, path = "/v1/credentials/{credentialId}", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")),
    responses((status = 200, body = Envelope<ConsumerCredential>), ErrorResponses))]
async fn get_credential(ctx: Ctx, Path(id): Path<String>) -> Answer<ConsumerCredential> {
    Ok(Data(credentials::get_credential(&ctx.db, &id).await?))
}

/// Enable or disable a credential.
#[utoipa::path(patch, path = "/v1/credentials/{credentialId}", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")), request_body = CredentialUpdate,
    responses((status = 200, body = Envelope<ConsumerCredential>), ErrorResponses))]
async fn update_credential(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<CredentialUpdate>,
) -> Answer<ConsumerCredential> {
    Ok(Data(
        credentials::update_credential(&ctx.db, &ctx.actor, &id, input).await?,
    ))
}

/// Remove a credential.
#[utoipa::path(delete, path = "/v1/credentials/{credentialId}", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")),
    responses((status = 200, body = Envelope<Empty>), ErrorResponses))]
async fn delete_credential(ctx: Ctx, Path(id): Path<String>) -> Answer<Empty> {
    credentials::delete_credential(&ctx.db, &ctx.actor, &id).await?;
    Ok(Data(Empty {}))
}

/// Give the credential a new secret, shown once in the answer; the previous one keeps
/// working for `gracePeriodSeconds`.
#[utoipa::path(post, path = "/v1/credentials/{credentialId}/rotate", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")), request_body = KeyRotation,
    responses((status = 200, body = Envelope<CreatedCredential>), ErrorResponses))]
async fn rotate_credential(
    ctx: Ctx,
    Path(id): Path<String>,
    Body(input): Body<KeyRotation>,
) -> Answer<CreatedCredential> {
    Ok(Data(
        credentials::rotate_credential(&ctx.db, &ctx.actor, &id, input).await?,
    ))
}

/// What this replica holds of a JWKS credential's key set: when it was fetched, its key IDs,
/// until when it verifies if the URL stays down, and why the last fetch failed if it did.
/// Each replica fetches its own set.
#[utoipa::path(get, path = "/v1/credentials/{credentialId}/jwks", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")),
    responses((status = 200, body = Envelope<JwksStatus>), ErrorResponses))]
async fn jwks_status(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Answer<JwksStatus> {
    Ok(Data(
        credentials::jwks_status(&ctx.db, &state.enforcer.jwks, &ctx.actor, &id, false).await?,
    ))
}

/// Fetch a JWKS credential's key set now (Admins), and answer what this replica then holds.
#[utoipa::path(post, path = "/v1/credentials/{credentialId}/jwks", tag = "Consumers",
    params(("credentialId" = String, Path, description = "cred-…")),
    responses((status = 200, body = Envelope<JwksStatus>), ErrorResponses))]
async fn fetch_jwks(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Answer<JwksStatus> {
    Ok(Data(
        credentials::jwks_status(&ctx.db, &state.enforcer.jwks, &ctx.actor, &id, true).await?,
    ))
}
