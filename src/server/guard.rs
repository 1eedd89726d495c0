//! The outer layer of every console request (the proxy's check is outside it): a path that
//! is not in normal form is refused before anything decides on it; a state-changing request
//! must come from the console's own origin and in an encoding it declares (CSRF); the
//! client's address is settled (`client`); and every answer carries the security headers.

use crate::domain::request_path::request_path;
use crate::error::AppError;
use crate::state::client::{client_addr, ClientAddr};
use crate::state::{AppState, RequestId};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

fn is_safe_method(m: &Method) -> bool {
    matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Why a state-changing request is not from the console's own origin; `Ok` when it is.
/// `Origin` decides when present; otherwise `Sec-Fetch-Site` must say `same-origin`; with
/// neither, the request is refused.
pub fn check_same_origin(headers: &HeaderMap, public_origin: Option<&str>) -> Result<(), String> {
    let mut origins = headers.get_all(header::ORIGIN).iter();
    if let Some(origin) = origins.next() {
        if origins.next().is_some() {
            return Err("more than one Origin header".into());
        }
        let origin = origin
            .to_str()
            .map_err(|_| "an unreadable Origin".to_owned())?;
        let expected = match public_origin {
            Some(p) => origin.eq_ignore_ascii_case(p),
            None => {
                let host = headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or_default();
                !host.is_empty()
                    && ["http://", "https://"].iter().any(|scheme| {
                        origin.len() == scheme.len() + host.len()
                            && origin[..scheme.len()].eq_ignore_ascii_case(scheme)
                            && origin[scheme.len()..].eq_ignore_ascii_case(host)
                    })
            }
        };
        return if expected {
            Ok(())
        } else {
            Err(format!(
                "the origin {:?} is not the console's",
                truncate(origin)
            ))
        };
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("same-origin") => Ok(()),
        Some(other) => Err(format!("Sec-Fetch-Site is {:?}", truncate(other))),
        None => Err("neither Origin nor Sec-Fetch-Site says where it came from".into()),
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// The encodings server functions declare: URL-encoded forms (the default, and what a
/// browser without JavaScript posts) and JSON. Anything else (`text/plain`, multipart) is a
/// body the browser would send cross-site without asking first.
fn declared_encoding(headers: &HeaderMap) -> bool {
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|n| n.trim() != "0");
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return !has_body;
    };
    let essence = ct
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "application/json"
    )
}

/// A refusal in the form the caller reads: the REST envelope under `/v1`, the serialised
/// error for server functions, plain text for pages.
fn refuse(path: &str, request_id: &str, err: AppError) -> Response {
    if path == "/v1" || path.starts_with("/v1/") {
        return crate::api::error_response(request_id, &err);
    }
    if path.starts_with("/api/") {
        let body = serde_json::to_string(&err).unwrap_or_default();
        return (
            err.status(),
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
    }
    (err.status(), err.to_string()).into_response()
}

pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    // The session layer and the router must see the same path: anything a normaliser would
    // change (`/pkg/../instances`, `%2e`, `//`, `;`) is refused, not interpreted.
    if request_path(path.as_bytes()).as_deref() != Ok(path.as_str()) {
        let err = AppError::invalid(
            "Path",
            "This address is not in normal form (dot segments, //, ;, or encoded characters).",
        );
        return refuse(&path, &request_id, err);
    }
    let web = &state.web;
    let bearer_rest = (path == "/v1" || path.starts_with("/v1/"))
        && req.headers().contains_key(header::AUTHORIZATION);
    if !is_safe_method(req.method()) && !bearer_rest {
        if let Err(why) = check_same_origin(req.headers(), web.public_origin.as_deref()) {
            tracing::warn!(reason = %why, "refused a cross-origin state change");
            return refuse(&path, &request_id, AppError::CrossOrigin);
        }
        if path.starts_with("/api/") && !declared_encoding(req.headers()) {
            return refuse(
                &path,
                &request_id,
                AppError::ContentType(
                    "application/x-www-form-urlencoded or application/json".into(),
                ),
            );
        }
    }
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let client = client_addr(peer, req.headers(), &web.trusted_proxies);
        req.extensions_mut().insert(ClientAddr(client));
    }
    let mut res = next.run(req).await;
    security_headers(res.headers_mut(), web.secure_cookies);
    res
}

/// What a page set for itself (the console's pages set a CSP with their nonce) stays; the
/// rest gets a policy that allows nothing to run.
fn security_headers(h: &mut HeaderMap, https: bool) {
    let defaults = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    ];
    for (name, value) in defaults {
        if !h.contains_key(&name) {
            h.insert(name, HeaderValue::from_static(value));
        }
    }
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    if https {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=63072000"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::client::headers;

    #[test]
    fn the_console_origin_is_the_host_unless_a_public_url_is_set() {
        let same = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(check_same_origin(&same, None).is_ok());
        let other = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://intranet-wiki.example.com"),
        ]);
        assert!(check_same_origin(&other, None).is_err());
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(check_same_origin(&null, None).is_err());
        let behind = headers(&[
            ("host", "10.0.0.5:3000"),
            ("origin", "https://console.example.com"),
        ]);
        assert!(check_same_origin(&behind, Some("https://console.example.com")).is_ok());
        assert!(check_same_origin(&same, Some("https://console.example.com")).is_err());
        let prefix = headers(&[("host", "console"), ("origin", "http://console.evil")]);
        assert!(check_same_origin(&prefix, None).is_err());
    }

    #[test]
    fn without_origin_only_a_same_origin_fetch_site_passes() {
        let ok = headers(&[("sec-fetch-site", "same-origin")]);
        assert!(check_same_origin(&ok, None).is_ok());
        for site in ["same-site", "cross-site", "none"] {
            let h = headers(&[("sec-fetch-site", site)]);
            assert!(check_same_origin(&h, None).is_err(), "{site}");
        }
        assert!(check_same_origin(&HeaderMap::new(), None).is_err());
    }

    #[test]
    fn only_declared_encodings_reach_server_functions() {
        let form = headers(&[
            (
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("content-length", "10"),
        ]);
        assert!(declared_encoding(&form));
        let json = headers(&[
            ("content-type", "Application/JSON"),
            ("content-length", "2"),
        ]);
        assert!(declared_encoding(&json));
        let plain = headers(&[("content-type", "text/plain"), ("content-length", "2")]);
        assert!(!declared_encoding(&plain));
        let multipart = headers(&[("content-type", "multipart/form-data; boundary=x")]);
        assert!(!declared_encoding(&multipart));
        assert!(declared_encoding(&HeaderMap::new()));
        assert!(!declared_encoding(&headers(&[("content-length", "5")])));
    }
}
