//! The axum application: SSR pages, server functions, health checks, and the layers that
//! give every request an ID and refuse everything but sign-in and health checks without a
//! session; plus the proxy's authorization check, which authenticates the key it checks.

pub mod assets;
pub mod guard;
pub mod metrics;
pub mod session;

use crate::app::{shell, App};
use crate::state::{AppState, RequestId};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tracing::Instrument;

/// Leptos' options: the compiled-in cargo-leptos settings, overridable by `LEPTOS_*`
/// variables, with production defaults so the release binary runs from the repository root.
pub fn leptos_options(site_addr: std::net::SocketAddr) -> LeptosOptions {
    let mut options = get_configuration(None)
        .map(|c| c.leptos_options)
        .unwrap_or_else(|_| {
            LeptosOptions::builder()
                .output_name("gateway-console")
                .site_root("target/site")
                .build()
        });
    if options.output_name.is_empty() {
        options.output_name = "gateway-console".into();
    }
    if std::env::var_os("LEPTOS_ENV").is_none() {
        options.env = leptos::config::Env::PROD;
    }
    // `make build` names the browser's files by their content hash and lists the hashes in
    // hash.txt beside the binary; its presence, not how the binary was started, decides.
    if std::env::var_os("LEPTOS_HASH_FILES").is_none() {
        options.hash_files = std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join(options.hash_file.as_ref())))
            .is_some_and(|file| file.is_file());
    }
    options.site_addr = site_addr;
    options
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context_state = state.clone();
    let options = state.leptos_options.clone();
    let enforcer = state.enforcer.clone();
    let pkg = format!("/{}", state.leptos_options.site_pkg_dir);
    Router::new()
        .nest_service(&pkg, assets::service(&state.leptos_options))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(crate::api::router().0)
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                provide_context(crate::server_fns::context::RenderReads::default());
                provide_context(crate::app::Preloaded::default());
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            session::require_session,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), guard::guard))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(middleware::from_fn(request_id))
        .layer(assets::compression())
        .with_state(state)
        // The proxy's check: outside the session and request-ID layers (it authenticates
        // the key it checks, and must stay cheap).
        .merge(crate::enforce::check::router(enforcer))
        .layer(middleware::from_fn(metrics::track))
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the configured gateway's snapshot is loaded, the database answers and the
/// enforcement snapshots are confirmed current.
async fn readyz(State(state): State<AppState>) -> Response {
    if state.enforcer.is_preloading() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "loading the enforcement snapshot of the configured gateway",
        )
            .into_response();
    }
    if let Some(age) = state.enforcer.staleness() {
        let why = format!(
            "enforcement snapshots unconfirmed for {} s (allowed: {} s); /authz/check refuses every request",
            age.as_secs(),
            state.enforcer.settings.max_staleness.as_secs()
        );
        return (StatusCode::SERVICE_UNAVAILABLE, why).into_response();
    }
    if state.db.ping().await {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
    }
}

/// A handler that panicked: logged, and answered 500 in the REST envelope with the request's
/// ID (rather than a dropped connection). Nothing of the panic reaches the client.
fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    tracing::error!(panic = %what, "a request handler panicked");
    crate::api::error_response(&RequestId::current(), &crate::error::AppError::Internal)
}

/// Takes a well-formed `x-request-id` from the caller or makes one, and returns it.
async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| xid::new().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path());
    async move {
        let mut res = RequestId(id.clone()).scope(next.run(req)).await;
        if let Ok(v) = HeaderValue::from_str(&id) {
            res.headers_mut().insert("x-request-id", v);
        }
        tracing::info!(status = res.status().as_u16(), "served");
        res
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panic_is_answered_500_in_the_envelope_without_its_message() {
        let res = panicked(Box::new("secret detail"));
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["code"], "InternalError");
        assert!(!body.to_string().contains("secret detail"));
    }
}
