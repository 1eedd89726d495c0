//! The session layer: the one place that decides what is reachable without signing in.

use crate::domain::records::{CurrentUser, TokenScope};
use crate::error::AppError;
use crate::service::{auth, tokens};
use crate::state::cookies::{bearer_token, session_token};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
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
            Some(token) => auth::session_user(&state.db, &token)
                .await
                .map(|u| u.map(|u| (u, TokenScope::Account))),
            None => Ok(None),
        },
    };
    let user: Option<(CurrentUser, TokenScope)> = match found {
        Ok(user) => user,
        // The database is away (Unavailable) or failed (Internal): said in the caller's form.
        Err(err) => return refusal(&req, is_rest, &err),
    };
    match user {
        // A usage-reporting token reports usage and does nothing else, not even read.
        Some((_, TokenScope::UsageWrite))
            if !(req.method() == axum::http::Method::POST
                && path == crate::domain::usage::USAGE_PATH) =>
        {
            refusal(&req, is_rest, &AppError::Forbidden)
        }
        Some((user, scope)) => {
            req.extensions_mut().insert(user);
            req.extensions_mut().insert(scope);
            next.run(req).await
        }
        None if is_public(&path) => next.run(req).await,
        None if is_rest || path.starts_with("/api/") => {
            refusal(&req, is_rest, &AppError::Unauthorized)
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

/// A refusal in the form the caller reads: the REST envelope for `/v1`, the serialised error
/// for server functions (`/api`), plain text for pages.
fn refusal(req: &Request, is_rest: bool, err: &AppError) -> Response {
    if is_rest {
        let rid = req
            .extensions()
            .get::<crate::state::RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        return crate::api::error_response(&rid, err);
    }
    let mut res = if req.uri().path().starts_with("/api/") {
        let body = serde_json::to_string(err).unwrap_or_default();
        (
            err.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response()
    } else {
        (err.status(), err.to_string()).into_response()
    };
    if matches!(err, AppError::Unavailable) {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    res
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
