//! `GET /authz/check`, in the form nginx's `auth_request` and Envoy's HTTP `ext_authz` call
//! it. It answers 200, 401 or 403, and 503 when it cannot confirm its snapshot (a proxy
//! refuses the request then):
//!
//! - the credential: an API key, `Authorization: Bearer <key>` or `x-api-key: <key>` (one
//!   of each at most), or an HMAC signature, `Authorization: Signature keyId=…` (see
//!   `super::signature`), verified over the request's method (`X-Original-Method` from
//!   nginx, else the check's own), its target (as below) and its signed headers; or a JWT,
//!   `Authorization: Bearer eyJ…` (told from a key by its shape, see `super::jwt`);
//! - the request: `X-Original-URI` (nginx) or, in an Envoy deployment, the check's own path
//!   below `/authz/check` (`path_prefix: /authz/check`): one or the other, by configuration;
//! - the gateway and environment: the replica's configuration; `X-Gateway-Id` and
//!   `X-Gateway-Environment` only when the operator says the proxy sets them. An unknown
//!   gateway is answered as a bad key is.
//!
//! 200 carries `X-Consumer-Id`, `X-Consumer-Name` (percent-encoded beyond ASCII) and
//! `X-Api-Id` for the proxy to pass upstream. A request the rules allow is then held to the
//! quotas (`super::quotas`) and the rate limits (`super::limits`) that cover it: refused, it is
//! a 403 (a 429 in an Envoy deployment) with `X-Authz-Reason: quota-exhausted` or
//! `rate-limited` and `Retry-After`; either way the tightest quota is in `X-Quota-*` and the
//! tightest window in `X-RateLimit-*`.
//!
//! Every decision about a gateway that exists is counted as usage (see `super::usage`).
//!
//! The check is outside the console's session layer on purpose: the key it checks is the
//! credential, and it reveals nothing to a caller without a valid key.

use super::jwt;
use super::limits::{now_ns, Admission, Window};
use super::quotas::{QuotaVerdict, Standing};
use super::signature::{self, SignatureHeader};
use super::snapshot::{Covering, Refusal, Seen, SigningKey, Snapshot, TokenKey};
use super::usage::Decision;
use super::{Enforcer, RequestUriSource};
use crate::domain::request_path::request_path;
use crate::domain::usage::{ALLOWED, QUOTA_EXHAUSTED, RATE_LIMITED};
use crate::store::now_ms;
use crate::telemetry::names::AUTHZ_DECISIONS;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Where the check is served; Envoy appends the original path to it.
pub const CHECK_PATH: &str = "/authz/check";
// The answer's own headers, named once (a name given as text is parsed at every insert).
const RATE_LIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
const RATE_LIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
const RATE_LIMIT_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");
const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("x-ratelimit-policy");
const QUOTA_LIMIT: HeaderName = HeaderName::from_static("x-quota-limit");
const QUOTA_REMAINING: HeaderName = HeaderName::from_static("x-quota-remaining");
const QUOTA_RESET: HeaderName = HeaderName::from_static("x-quota-reset");
const QUOTA_POLICY: HeaderName = HeaderName::from_static("x-quota-policy");
const CONSUMER_ID: HeaderName = HeaderName::from_static("x-consumer-id");
const CONSUMER_NAME: HeaderName = HeaderName::from_static("x-consumer-name");
const API_ID: HeaderName = HeaderName::from_static("x-api-id");

/// The most headers an allowed request's answer carries: the consumer, its name, the model
/// API, `Cache-Control`, four `X-RateLimit-*`, four `X-Quota-*`, and the `Content-Length`
/// axum adds (without room for it, the map grew on every answer with limits and quotas).
const ANSWER_HEADERS: usize = 13;

/// Keys longer than this are refused without hashing.
const KEY_MAX: usize = 512;

pub fn router(enforcer: Arc<Enforcer>) -> Router {
    Router::new()
        .route(CHECK_PATH, any(check))
        .route("/authz/check/{*path}", any(check))
        .with_state(enforcer)
}

/// The hash a presented key is looked up by; none for a value no key can have (empty, too
/// long, or not printable ASCII), which is refused as an unknown key without hashing.
pub fn key_hash(key: &[u8]) -> Option<[u8; 32]> {
    let printable = key.iter().all(|b| (0x21..=0x7e).contains(b));
    (!key.is_empty() && key.len() <= KEY_MAX && printable).then(|| Sha256::digest(key).into())
}

/// What a request presents to be identified by.
enum Credential<'a> {
    /// An API key, by its SHA-256.
    Key([u8; 32]),
    /// An HMAC signature (`Authorization: Signature …`).
    Signed(SignatureHeader<'a>),
    /// A JWT (`Authorization: Bearer eyJ…`), with what it says before it is verified.
    Token(&'a str, jwt::Unverified),
}

/// The credential a request presents, or why it presents none that can be judged.
fn presented(headers: &HeaderMap) -> Result<Credential<'_>, Refusal> {
    if let Some(auth) = single(headers, header::AUTHORIZATION.as_str()) {
        let v = auth.as_bytes();
        if v.len() > 10 && v[..10].eq_ignore_ascii_case(b"signature ") {
            return auth
                .to_str()
                .ok()
                .and_then(|a| signature::parse(a).ok())
                .map(Credential::Signed)
                .ok_or(Refusal::BadSignature);
        }
    }
    match presented_key(headers) {
        None => Err(Refusal::NoKey),
        Some(token) if jwt::looks_like_jwt(token) => std::str::from_utf8(token)
            .ok()
            .and_then(|t| Some(Credential::Token(t, jwt::peek(t)?)))
            .ok_or(Refusal::BadToken),
        Some(key) => key_hash(key)
            .map(Credential::Key)
            .ok_or(Refusal::UnknownKey),
    }
}

/// Whether a signed request verifies with `key`: the algorithm it names is the
/// credential's, its `Date` is within the credential's clock skew, and its signature over
/// the string to sign is that of one of the credential's secrets.
fn verified(
    sig: &SignatureHeader<'_>,
    key: &SigningKey<'_>,
    method: &str,
    target: Option<&str>,
    headers: &HeaderMap,
    now: i64,
) -> bool {
    let header = |name: &str| single(headers, name).and_then(|v| v.to_str().ok());
    let (Some(target), Some(date)) = (target, header("date")) else {
        return false;
    };
    if sig.algorithm != key.algorithm
        || signature::check_date(date, now, key.clock_skew_secs).is_err()
    {
        return false;
    }
    let Ok(message) = signature::signing_string(sig, method, target, header) else {
        return false;
    };
    key.secrets
        .iter()
        .any(|secret| signature::verify(sig.algorithm, secret, message.as_bytes(), &sig.signature))
}

/// Whether a JWT verifies with one of the credential's keys under its policy (the access
/// explainer verifies with it too).
pub fn token_verified(token: &str, key: &TokenKey<'_>, now: i64) -> bool {
    key.keys
        .iter()
        .any(|k| jwt::verify(token, k, &key.policy, now.div_euclid(1000)))
}

async fn check(
    State(enforcer): State<Arc<Enforcer>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let settings = &enforcer.settings;
    let from_proxy = |name: &str| {
        settings
            .trust_proxy_headers
            .then(|| single(&headers, name).and_then(|v| v.to_str().ok()))
            .flatten()
    };
    let instance = settings
        .instance_id
        .as_deref()
        .or_else(|| from_proxy("x-gateway-id"));
    let environment = settings
        .environment
        .as_deref()
        .or_else(|| from_proxy("x-gateway-environment"));
    let credential = match presented(&headers) {
        Ok(c) => c,
        Err(refusal) => {
            // Counted under the gateway when its snapshot is in memory: a request without a
            // key makes the check load nothing.
            if let Some((id, slot)) = instance.and_then(|id| Some((id, enforcer.slot(id)?))) {
                let snapshot = slot.read();
                count(
                    &enforcer,
                    id,
                    &snapshot,
                    &Seen::default(),
                    environment,
                    refusal.reason(),
                );
            }
            return refuse(refusal);
        }
    };
    if enforcer.staleness().is_some() {
        return unavailable();
    }
    let Some((gateway, slot)) = (match instance {
        Some(id) => enforcer.snapshot(id).await.map(|slot| (id, slot)),
        None => None,
    }) else {
        return refuse(Refusal::UnknownInstance);
    };
    if let Credential::Token(_, peeked) = &credential {
        slot.ready_for_token(&enforcer.jwks, peeked).await;
    }
    let raw_uri = original_uri(settings.request_uri, &uri, &headers);
    let path = raw_uri
        .as_ref()
        .and_then(|raw| request_path(raw.as_ref()).ok());
    let snapshot = slot.read();
    let mut seen = Seen::default();
    let now = now_ms();
    let decision = match &credential {
        Credential::Key(hash) => {
            snapshot.decide_traced(hash, environment, path.as_deref(), now, &mut seen)
        }
        Credential::Signed(sig) => {
            // The method of the request signed: nginx's subrequest says it in a header.
            let method = match settings.request_uri {
                RequestUriSource::Header => single(&headers, "x-original-method")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or(method.as_str()),
                RequestUriSource::Path => method.as_str(),
            };
            let target = raw_uri.as_ref().and_then(|r| std::str::from_utf8(r).ok());
            snapshot.decide_signed(
                sig.key_id,
                |key| verified(sig, key, method, target, &headers, now),
                environment,
                path.as_deref(),
                now,
                &mut seen,
            )
        }
        Credential::Token(token, peeked) => snapshot.decide_token(
            peeked,
            &enforcer.jwks,
            |key| token_verified(token, key, now),
            environment,
            path.as_deref(),
            now,
            &mut seen,
        ),
    };
    // A request the rules allow is held to its quotas, then to its rate limits (a request a
    // quota refuses takes nothing from the rate limits' windows).
    // The limits and quotas of the request's key, consumer and groups are looked up once.
    let covering = match &decision {
        Ok(_) => snapshot.covering(&seen),
        Err(_) => Covering::default(),
    };
    let quotas = covering.judge_quotas(now_ms());
    let admission = match &quotas {
        QuotaVerdict::Room(_) => covering.admit(now_ns()),
        QuotaVerdict::Exhausted(_) => Admission::Unlimited,
    };
    let outcome = match (&decision, &quotas, &admission) {
        (Ok(_), QuotaVerdict::Exhausted(_), _) => QUOTA_EXHAUSTED,
        (Ok(_), _, Admission::Refused { .. }) => RATE_LIMITED,
        (Ok(_), _, _) => ALLOWED,
        (Err(refusal), _, _) => refusal.reason(),
    };
    count(&enforcer, gateway, &snapshot, &seen, environment, outcome);
    // Envoy hands the check's status to its client as is; nginx's `auth_request` takes only
    // 401 and 403, so the README's nginx turns these 403s into 429s.
    let throttled = match settings.request_uri {
        RequestUriSource::Path => StatusCode::TOO_MANY_REQUESTS,
        RequestUriSource::Header => StatusCode::FORBIDDEN,
    };
    if let QuotaVerdict::Exhausted(standing) = &quotas {
        return quota_exhausted(throttled, standing);
    }
    if let Admission::Refused { by, retry_secs } = &admission {
        return rate_limited(throttled, by, *retry_secs);
    }
    covering.count_quotas();
    match decision {
        Ok(allowed) => {
            metrics::counter!(AUTHZ_DECISIONS, "result" => "allowed", "reason" => "rule")
                .increment(1);
            let mut res = StatusCode::OK.into_response();
            // Room for every header an answer carries, so that the map never grows.
            *res.headers_mut() = HeaderMap::with_capacity(ANSWER_HEADERS);
            let h = res.headers_mut();
            for (name, value) in [
                (CONSUMER_ID, HeaderValue::from_str(allowed.consumer_id).ok()),
                (CONSUMER_NAME, header_text(allowed.consumer_name)),
                (API_ID, HeaderValue::from_str(allowed.api_id).ok()),
            ] {
                if let Some(v) = value {
                    h.insert(name, v);
                }
            }
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Admission::Admitted(window) = &admission {
                rate_limit_headers(h, window);
            }
            if let QuotaVerdict::Room(Some(standing)) = &quotas {
                // This request is counted now: one less is left.
                let left = Standing {
                    remaining: (standing.remaining - 1).max(0),
                    ..standing.clone()
                };
                quota_headers(h, &left);
            }
            res
        }
        Err(refusal) => refuse(refusal),
    }
}

/// `X-RateLimit-Limit`, `-Remaining` and `-Reset` (seconds until the window is full again)
/// of the tightest window that applied, and `X-RateLimit-Policy` naming it
/// (`rl-…; window=second`).
fn rate_limit_headers(h: &mut HeaderMap, w: &Window<'_>) {
    h.insert(RATE_LIMIT_LIMIT, HeaderValue::from(w.limit));
    h.insert(RATE_LIMIT_REMAINING, HeaderValue::from(w.remaining.max(0)));
    h.insert(RATE_LIMIT_RESET, HeaderValue::from(w.reset_secs));
    if let Some(v) = joined(&[w.limit_id, "; window=", w.window]) {
        h.insert(RATE_LIMIT_POLICY, v);
    }
}

/// `X-Quota-Limit`, `-Remaining`, `-Reset` (seconds until the period rolls over) of the
/// tightest quota, and `X-Quota-Policy` naming it (`qt-…; requests per day`).
fn quota_headers(h: &mut HeaderMap, q: &Standing<'_>) {
    h.insert(QUOTA_LIMIT, HeaderValue::from(q.amount));
    h.insert(QUOTA_REMAINING, HeaderValue::from(q.remaining));
    h.insert(QUOTA_RESET, HeaderValue::from(q.reset_secs));
    let policy = [
        q.quota_id,
        "; ",
        q.metric.as_str(),
        " per ",
        q.period.as_str(),
    ];
    if let Some(v) = joined(&policy) {
        h.insert(QUOTA_POLICY, v);
    }
}

/// A request the rules allow but a used-up quota refuses: `status` (403 for nginx, which
/// turns it into a 429; 429 for Envoy) with `X-Authz-Reason: quota-exhausted`, `Retry-After`
/// (until the period rolls over) and the quota's `X-Quota-*`.
fn quota_exhausted(status: StatusCode, q: &Standing<'_>) -> Response {
    metrics::counter!(AUTHZ_DECISIONS, "result" => "denied", "reason" => "quota_exhausted")
        .increment(1);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":"QuotaExhausted","message":"The quota for this period is used up."}"#,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-authz-reason", HeaderValue::from_static(QUOTA_EXHAUSTED));
    h.insert(header::RETRY_AFTER, HeaderValue::from(q.reset_secs.max(1)));
    quota_headers(h, q);
    res
}

/// A request the rules allow but a rate limit refuses: `status` (403 for nginx, which turns
/// it into a 429 for its client; 429 for Envoy) with `X-Authz-Reason: rate-limited`,
/// `Retry-After` and the refusing window's `X-RateLimit-*`.
fn rate_limited(status: StatusCode, by: &Window<'_>, retry_secs: i64) -> Response {
    metrics::counter!(AUTHZ_DECISIONS, "result" => "denied", "reason" => "rate_limited")
        .increment(1);
    let mut res = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"code":"Throttling","message":"Too many requests for this rate limit; retry later."}"#,
    )
        .into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert("x-authz-reason", HeaderValue::from_static(RATE_LIMITED));
    h.insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
    rate_limit_headers(h, by);
    res
}

/// Counts a decision under the IDs it reached.
fn count(
    enforcer: &Enforcer,
    gateway: &str,
    snapshot: &Snapshot,
    seen: &Seen,
    environment: Option<&str>,
    outcome: &'static str,
) {
    let ids = snapshot.usage_ids(seen, environment);
    enforcer.count(&Decision {
        gateway,
        environment: ids.environment,
        consumer: ids.consumer,
        key: ids.key,
        api: ids.api,
        outcome,
    });
}

/// The snapshot could not be confirmed within the allowed staleness: refuse everything.
fn unavailable() -> Response {
    metrics::counter!(AUTHZ_DECISIONS, "result" => "unavailable", "reason" => "stale_snapshot")
        .increment(1);
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::RETRY_AFTER, "5"),
        ],
        r#"{"code":"Unavailable","message":"Authorization data cannot be confirmed; try again later."}"#,
    )
        .into_response()
}

fn refuse(refusal: Refusal) -> Response {
    tracing::debug!(reason = refusal.as_str(), "authz check refused");
    metrics::counter!(AUTHZ_DECISIONS, "result" => "denied", "reason" => refusal.label())
        .increment(1);
    let mut res = if refusal.is_authentication() {
        let mut res = (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":"Unauthorized","message":"A valid API key, token or signature is required."}"#,
        )
            .into_response();
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(r#"Bearer realm="gateway", error="invalid_token""#),
        );
        res
    } else {
        (
            StatusCode::FORBIDDEN,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"code":"Forbidden","message":"This consumer is not authorized for this API."}"#,
        )
            .into_response()
    };
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The one value of a header that must not repeat; None when absent or repeated.
fn single<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    values.next().is_none().then_some(first)
}

/// The key from `Authorization: Bearer …`, else from `x-api-key`.
fn presented_key(headers: &HeaderMap) -> Option<&[u8]> {
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Some(b"");
    }
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let v = v.as_bytes();
        if v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer ") {
            return Some(v[7..].trim_ascii());
        }
    }
    match headers.get_all("x-api-key").iter().count() {
        0 => None,
        1 => headers.get("x-api-key").map(|v| v.as_bytes().trim_ascii()),
        _ => Some(b""),
    }
}

/// `X-Original-URI` (nginx), or the path below `/authz/check` and the query (Envoy): only
/// the one the deployment is configured for.
fn original_uri<'a>(
    source: RequestUriSource,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Option<std::borrow::Cow<'a, [u8]>> {
    if source == RequestUriSource::Header {
        return single(headers, "x-original-uri").map(|v| v.as_bytes().into());
    }
    let rest = uri.path().strip_prefix(CHECK_PATH)?;
    if rest.is_empty() {
        return None;
    }
    Some(match uri.query() {
        Some(q) => format!("{rest}?{q}").into_bytes().into(),
        None => rest.as_bytes().into(),
    })
}

/// `s` as a header value, percent-encoded (see [`encode_header`]) only when it must be.
fn header_text(s: &str) -> Option<HeaderValue> {
    if s.bytes().all(sent_as_is) {
        HeaderValue::from_str(s).ok()
    } else {
        HeaderValue::try_from(encode_header(s)).ok()
    }
}

/// The parts one after the other as a header value, written once into its own buffer
/// (no formatting, no second copy); None when they are not a valid value.
fn joined(parts: &[&str]) -> Option<HeaderValue> {
    let mut buf = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        buf.push_str(p);
    }
    // A `String` becomes the value's bytes as it is.
    HeaderValue::try_from(buf).ok()
}

/// Whether a byte of a name goes into a header as it is: printable ASCII but `%`.
fn sent_as_is(b: u8) -> bool {
    (0x20..=0x7e).contains(&b) && b != b'%'
}

/// Printable ASCII as is, everything else (and `%`) percent-encoded.
fn encode_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if sent_as_is(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_key_comes_from_bearer_or_x_api_key() {
        let h = headers(&[("authorization", b"Bearer  gck_abc ")]);
        assert_eq!(presented_key(&h), Some(&b"gck_abc"[..]));
        let h = headers(&[("authorization", b"Basic xyz"), ("x-api-key", b"gck_x")]);
        assert_eq!(presented_key(&h), Some(&b"gck_x"[..]));
        assert_eq!(presented_key(&HeaderMap::new()), None);
    }

    #[test]
    fn repeated_key_headers_are_refused() {
        let h = headers(&[("x-api-key", b"a"), ("x-api-key", b"b")]);
        assert_eq!(presented_key(&h), Some(&b""[..]));
        let h = headers(&[
            ("authorization", b"Bearer a"),
            ("authorization", b"Bearer b"),
        ]);
        assert_eq!(presented_key(&h), Some(&b""[..]));
    }

    #[test]
    fn the_original_uri_comes_only_from_the_configured_place() {
        use RequestUriSource::{Header, Path};
        let h = headers(&[("x-original-uri", b"/v1/chat?x=1")]);
        let uri: Uri = "/authz/check".parse().unwrap();
        assert_eq!(
            original_uri(Header, &uri, &h).unwrap().as_ref(),
            b"/v1/chat?x=1"
        );
        assert!(original_uri(Path, &uri, &h).is_none());
        let uri: Uri = "/authz/check/v1/chat?x=1".parse().unwrap();
        assert_eq!(
            original_uri(Path, &uri, &HeaderMap::new())
                .unwrap()
                .as_ref(),
            b"/v1/chat?x=1"
        );
        assert_eq!(
            original_uri(Path, &uri, &h).unwrap().as_ref(),
            b"/v1/chat?x=1"
        );
        assert!(original_uri(Header, &uri, &HeaderMap::new()).is_none());
    }

    #[test]
    fn consumer_names_beyond_ascii_are_percent_encoded() {
        assert_eq!(encode_header("alice"), "alice");
        assert_eq!(encode_header("张"), "%E5%BC%A0");
        assert_eq!(encode_header("a%b"), "a%25b");
        for (name, sent) in [
            ("alice", "alice"),
            ("张", "%E5%BC%A0"),
            ("a%b", "a%25b"),
            ("tab\there", "tab%09here"),
        ] {
            assert_eq!(header_text(name).unwrap(), sent);
        }
    }

    #[test]
    fn policy_values_are_their_parts_in_order() {
        assert_eq!(
            joined(&["rl-1", "; window=", "second"]).unwrap(),
            "rl-1; window=second"
        );
        assert_eq!(joined(&[]).unwrap(), "");
        assert!(joined(&["a\nb"]).is_none());
    }
}
