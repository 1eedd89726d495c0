//! REST API under `/v1`: one module per resource, each a thin translation between
//! HTTP and `service/`. Every answer, error or not, is the envelope
//! `{"requestId", "code", "message", "data"}` (`envelope`); the session layer has already
//! refused callers without a bearer token or session, and `viewers_only_read` keeps Viewers
//! to reads. The OpenAPI document (`openapi`) is generated from the handlers.

mod access;
mod accounts;
mod audit;
mod config;
mod consumers;
mod credentials;
mod docs;
mod envelope;
mod environments;
mod extract;
mod groups;
mod instances;
mod keys;
mod limits;
mod model_apis;
mod openapi;
mod quotas;
mod rules;
mod tokens;
mod usage;

pub use envelope::{
    error_response, Answer, Data, Dependencies, Empty, Envelope, ErrorResponses, Items,
};
pub use extract::{flag, page_of, required, Body, Ctx, ListQuery, Params};

use crate::domain::records::CurrentUser;
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::Request;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use openapi::{document_input_rules, ApiDoc};
use utoipa_axum::router::OpenApiRouter;

/// Every `/v1` route, and the OpenAPI document that describes them.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(instances::router())
        .merge(environments::router())
        .merge(consumers::router())
        .merge(credentials::router())
        .merge(groups::router())
        .merge(keys::router())
        .merge(model_apis::router())
        .merge(rules::router())
        .merge(limits::router())
        .merge(quotas::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(accounts::router())
        .merge(config::router())
        .merge(access::router())
        .merge(usage::router())
        .split_for_parts();
    let mut doc = doc;
    document_input_rules(&mut doc);
    let json = std::sync::Arc::new(doc.to_pretty_json().unwrap_or_default());
    let page = std::sync::Arc::new(docs::page(&doc));
    let routes = routes
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        (*json).clone(),
                    )
                }
            }),
        )
        .route(
            "/v1/docs",
            axum::routing::get(move || {
                let page = page.clone();
                // Its one inline <style> may apply; nothing may run.
                let policy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
                async move {
                    (
                        [(header::CONTENT_SECURITY_POLICY, policy)],
                        axum::response::Html((*page).clone()),
                    )
                }
            }),
        )
        .route("/v1/{*rest}", any(unknown_operation))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn(viewers_only_read));
    (routes, doc)
}

/// The OpenAPI document as `/v1/openapi.json` serves it.
pub fn openapi_json() -> String {
    router().1.to_pretty_json().unwrap_or_default()
}

/// The role rule of the whole REST API, in one place: a Viewer's call that would change
/// something is refused before its body is even read, whatever the operation (the service
/// layer checks again). The caller's own API tokens are the one thing a Viewer may change.
async fn viewers_only_read(req: Request, next: axum::middleware::Next) -> Response {
    let reads = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let path = req.uri().path();
    let own_tokens = path == "/v1/tokens" || path.starts_with("/v1/tokens/");
    // Reported usage is taken from a `UsageWrite` token only, whatever the account's role (a
    // Viewer kept for a log shipper may hold one), and refused to anyone else here, before
    // the batch is read.
    let usage = path == crate::domain::usage::USAGE_PATH && !reads;
    if usage
        && req
            .extensions()
            .get::<crate::domain::records::TokenScope>()
            .copied()
            .unwrap_or_default()
            != crate::domain::records::TokenScope::UsageWrite
    {
        return AppError::Forbidden.into_response();
    }
    // A question, not a change (the service keeps typed keys to Admins).
    let explain = path.starts_with("/v1/gateways/") && path.ends_with("/authz/explain");
    let viewer = req
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|u| !u.can_write());
    if viewer && !reads && !own_tokens && !explain && !usage {
        return AppError::Forbidden.into_response();
    }
    next.run(req).await
}

async fn method_not_allowed(req: Request) -> AppError {
    AppError::MethodNotAllowed(req.method().to_string())
}

/// The answer to a `/v1` path that names no operation.
async fn unknown_operation(req: Request) -> AppError {
    AppError::not_found_operation(req.uri().path())
}
