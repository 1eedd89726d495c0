//! The session layer: the one place that decides what is reachable without signing in.

use crate::domain::records::CurrentUser;
use crate::service::{auth, tokens};
use crate::state::cookies::{bearer_token, session_token};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// The server function that signs in; everything else under `/api` needs a session.
pub const SIGN_IN_PATH: &str = "/api/sign_in";

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/readyz" | "/favicon.ico" | SIGN_IN_PATH
    ) || path.starts_with("/pkg/")
}

/// Attaches the signed-in account to the request, or refuses: pages redirect to the sign-in
/// page, server functions answer 401, REST calls (`/v1`, bearer token or session cookie)
/// answer 401 in the REST envelope.
pub async fn require_session(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_owned();
    let is_rest = path == "/v1" || path.starts_with("/v1/");
    let found = match (is_rest, bearer_token(req.headers())) {
        (true, Some(token)) => tokens::token_user(&state.db, &token).await,
        _ => match session_token(req.headers(), state.web.secure_cookies) {
            Some(token) => auth::session_user(&state.db, &token).await,
            None => Ok(None),
        },
    };
    let user: Option<CurrentUser> = match found {
        Ok(user) => user,
        Err(_) => {
            return (StatusCode::SERVICE_UNAVAILABLE, "session store unavailable").into_response()
        }
    };
    match user {
        Some(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        None if is_public(&path) => next.run(req).await,
        None if is_rest => {
            let rid = req
                .extensions()
                .get::<crate::state::RequestId>()
                .map(|r| r.0.clone())
                .unwrap_or_default();
            crate::api::error_response(&rid, &crate::error::AppError::Unauthorized)
        }
        None if path.starts_with("/api/") => {
            let body =
                serde_json::to_string(&crate::error::AppError::Unauthorized).unwrap_or_default();
            (
                StatusCode::UNAUTHORIZED,
                [(header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response()
        }
        None => {
            let target = req
                .uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or("/");
            Redirect::to(&format!(
                "/login?next={}",
                crate::domain::url_encode(target)
            ))
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_health_and_assets_are_public() {
        assert!(
            is_public("/login")
                && is_public("/healthz")
                && is_public("/pkg/app.wasm")
                && is_public(SIGN_IN_PATH)
        );
        assert!(!is_public("/instances") && !is_public("/api/list_consumers") && !is_public("/"));
    }

    #[test]
    fn redirect_targets_are_percent_encoded() {
        assert_eq!(crate::domain::url_encode("/a?b=c&d"), "%2Fa%3Fb%3Dc%26d");
    }
}
