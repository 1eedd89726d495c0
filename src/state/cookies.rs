//! The session cookie (its name, value and attributes) and the bearer token of REST calls.

use crate::service::auth;
use axum::http::{header, HeaderMap};

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
}
