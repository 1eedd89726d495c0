//! The session layer: the one place that decides what is reachable without signing in.

use super::AppState;
use crate::domain::records::CurrentUser;
use crate::service::{auth, tokens};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

/// Name of the session cookie over plain HTTP.
pub const COOKIE: &str = "gc_session";
/// Its name over HTTPS: the `__Host-` prefix makes the browser refuse it unless it is
/// `Secure`, for this exact host and `Path=/`, so no sibling subdomain can plant one.
pub const SECURE_COOKIE: &str = "__Host-gc_session";

fn cookie_name(secure: bool) -> &'static str {
    if secure {
        SECURE_COOKIE
    } else {
        COOKIE
    }
}
/// The server function that signs in; everything else under `/api` needs a session.
pub const SIGN_IN_PATH: &str = "/api/sign_in";

fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/readyz" | "/favicon.ico" | SIGN_IN_PATH
    ) || path.starts_with("/pkg/")
}

/// The session token from the request's cookies.
pub fn session_token(headers: &HeaderMap, secure: bool) -> Option<String> {
    let name = cookie_name(secure);
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The token of an `Authorization: Bearer …` header (REST calls).
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, secure: bool) -> String {
    let max_age = auth::SESSION_ABSOLUTE_MS / 1000;
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends it.
pub fn cleared_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
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
                .get::<super::RequestId>()
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
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; gc_session=abc; b=2"),
        );
        assert_eq!(session_token(&h, false).as_deref(), Some("abc"));
        assert_eq!(session_token(&h, true), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("gc_session=planted; __Host-gc_session=real"),
        );
        assert_eq!(session_token(&h, true).as_deref(), Some("real"));
    }

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
    fn bearer_tokens_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer gct_x"),
        );
        assert_eq!(bearer_token(&h).as_deref(), Some("gct_x"));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_same_site() {
        let c = session_cookie("t", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(c.starts_with("__Host-gc_session=t; Path=/;"));
        assert!(!session_cookie("t", false).contains("Secure"));
    }

    #[test]
    fn redirect_targets_are_percent_encoded() {
        assert_eq!(crate::domain::url_encode("/a?b=c&d"), "%2Fa%3Fb%3Dc%26d");
    }
}
