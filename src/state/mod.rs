//! What every layer of a request shares and that depends on nothing above the service
//! layer: the application state, the request's ID, the client's address and session cookie,
//! and the web settings and page policy of this replica. The server, the REST API and the
//! server functions all take these from here.

pub mod client;
pub mod cookies;

use crate::store::Db;
use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

/// Shared by every handler and provided to server functions as context.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    /// Origin, cookies and proxies, as the browser and the network see this replica.
    pub web: WebSettings,
    /// The enforcement snapshots behind `/authz/check`.
    pub enforcer: std::sync::Arc<crate::enforce::Enforcer>,
}

/// The ID of the request being served; also the `x-request-id` response header.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

tokio::task_local! {
    /// The request ID of the request whose task this is (set by the request-ID layer).
    static CURRENT: RequestId;
}

impl RequestId {
    /// Runs `served` (the rest of the request's handling) with this as its request ID.
    pub async fn scope<F: std::future::Future>(self, served: F) -> F::Output {
        CURRENT.scope(self, served).await
    }

    /// The ID of the request being served, for what answers it (empty outside a request).
    pub fn current() -> String {
        CURRENT.try_with(|id| id.0.clone()).unwrap_or_default()
    }
}

/// The web-facing settings of a replica.
#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// The origin browsers see (`https://console.example.com`) when the console is behind a
    /// reverse proxy; unset, the request's own `Host` is the console's origin.
    pub public_origin: Option<String>,
    /// Served over HTTPS: `Secure` `__Host-` session cookie and HSTS.
    pub secure_cookies: bool,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies, load balancers).
    pub trusted_proxies: Vec<client::IpNet>,
}

/// The policy of a console page: its scripts only (the module that hydrates it, by nonce,
/// and the WebAssembly it instantiates), its own stylesheet, no framing.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}
