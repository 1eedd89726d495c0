//! Prometheus metrics: a layer that counts and times every HTTP answer by its route template,
//! and `GET /metrics`, served on its own address (`CONSOLE_METRICS_ADDR`) outside the
//! console's session, with the gauges that are read when scraped (pool, snapshots).

use crate::enforce::Enforcer;
use crate::store::Db;
use crate::telemetry::names;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;
use std::time::Instant;

/// Counts and times the answer. The route is the template the request matched
/// (`/v1/consumers/{consumer_id}`), never the path itself, so a client cannot create label
/// values; static files and unknown paths share `fallback`. Without metrics it does nothing.
pub async fn track(req: Request, next: Next) -> Response {
    if !crate::telemetry::metrics_on() {
        return next.run(req).await;
    }
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "fallback".to_owned());
    let method = method_label(req.method());
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    let labels = [
        ("route", route),
        ("method", method.to_owned()),
        ("status", status),
    ];
    metrics::counter!(names::HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(names::HTTP_DURATION, &labels).record(started.elapsed());
    res
}

/// The method as a label: the standard ones by name, anything else as `other`.
fn method_label(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    db: Db,
    enforcer: Arc<Enforcer>,
}

/// `GET /metrics` (Prometheus text format) and nothing else.
pub fn router(handle: PrometheusHandle, db: Db, enforcer: Arc<Enforcer>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            handle,
            db,
            enforcer,
        })
}

async fn scrape(State(s): State<Scrape>) -> Response {
    let size = s.db.pool.size();
    let idle = u32::try_from(s.db.pool.num_idle()).unwrap_or(u32::MAX);
    metrics::gauge!(names::DB_CONNECTIONS, "state" => "idle").set(idle);
    metrics::gauge!(names::DB_CONNECTIONS, "state" => "in_use").set(size.saturating_sub(idle));
    metrics::gauge!(names::DB_MAX_CONNECTIONS).set(s.db.pool.options().get_max_connections());
    let (loaded, age) = s.enforcer.loaded();
    for (gateway, revision) in loaded {
        metrics::gauge!(names::SNAPSHOT_REVISION, "gateway" => gateway.clone())
            .set(revision as f64);
        metrics::gauge!(names::SNAPSHOT_AGE, "gateway" => gateway).set(age.as_secs_f64());
    }
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.handle.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusual_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        let custom = axum::http::Method::from_bytes(b"PROPFIND").unwrap();
        assert_eq!(method_label(&custom), "other");
    }
}
