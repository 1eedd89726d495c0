//! Structured logs via `tracing` on standard error (`RUST_LOG` sets the filter), and the Prometheus metrics
//! every layer records through the `metrics` facade. Until a recorder is installed (only when
//! `CONSOLE_METRICS_ADDR` is set) recording costs next to nothing.
//!
//! Label values are route templates, methods, statuses, reasons and gateway IDs: never a
//! consumer's name, a key or anything a client typed.

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;
use tracing_subscriber::EnvFilter;

pub fn init(format: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Standard error, so that a command's output on standard output (a new token) is only
    // that output.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Every metric's name, so that recording and reading (tests, dashboards) agree.
pub mod names {
    pub const HTTP_REQUESTS: &str = "gateway_console_http_requests_total";
    pub const HTTP_DURATION: &str = "gateway_console_http_request_duration_seconds";
    pub const AUTHZ_DECISIONS: &str = "gateway_console_authz_decisions_total";
    pub const SNAPSHOT_REVISION: &str = "gateway_console_snapshot_revision";
    pub const SNAPSHOT_AGE: &str = "gateway_console_snapshot_age_seconds";
    pub const SNAPSHOT_FULL_LOADS: &str = "gateway_console_snapshot_full_loads_total";
    pub const SNAPSHOT_FULL_LOAD_DURATION: &str =
        "gateway_console_snapshot_full_load_duration_seconds";
    pub const SNAPSHOT_PATCHES: &str = "gateway_console_snapshot_patches_total";
    pub const SNAPSHOT_PATCH_DURATION: &str = "gateway_console_snapshot_patch_duration_seconds";
    pub const DB_CONNECTIONS: &str = "gateway_console_db_pool_connections";
    pub const DB_MAX_CONNECTIONS: &str = "gateway_console_db_pool_max_connections";
    pub const DB_ERRORS: &str = "gateway_console_db_errors_total";
    pub const SIGNIN_FAILURES: &str = "gateway_console_signin_failures_total";
}

/// Buckets (seconds) for request latencies: the check answers in microseconds, pages and
/// writes in milliseconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];
/// Buckets (seconds) for snapshot loads and patches: a patch takes milliseconds, a full load
/// of a million keys seconds.
const LOAD_BUCKETS: &[f64] = &[
    0.000_1, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The process's Prometheus recorder, once installed.
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// True once metrics are kept (`CONSOLE_METRICS_ADDR` is set): layers that would only build
/// labels for a recorder that drops them skip the work otherwise.
pub fn metrics_on() -> bool {
    HANDLE.get().is_some()
}

/// Installs the process's Prometheus recorder (once; later calls return the same handle)
/// and keeps its histograms drained.
pub fn install_metrics() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(names::HTTP_DURATION.into()), LATENCY_BUCKETS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("load_duration_seconds".into()),
                        LOAD_BUCKETS,
                    )
                })
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Suffix("patch_duration_seconds".into()),
                        LOAD_BUCKETS,
                    )
                })
                .expect("bucket lists are not empty")
                .install_recorder()
                .expect("no other metrics recorder is installed");
            describe();
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    use names::*;
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status."
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time to answer an HTTP request, by route template, method and status."
    );
    describe_counter!(
        AUTHZ_DECISIONS,
        "/authz/check decisions, by result (allowed, denied, unavailable) and reason."
    );
    describe_gauge!(
        SNAPSHOT_REVISION,
        "The revision each loaded enforcement snapshot is at, by gateway."
    );
    describe_gauge!(SNAPSHOT_AGE, Unit::Seconds, "Time since the enforcement snapshots were last confirmed current against the database, by gateway.");
    describe_counter!(SNAPSHOT_FULL_LOADS, "Enforcement snapshots loaded in full.");
    describe_histogram!(
        SNAPSHOT_FULL_LOAD_DURATION,
        Unit::Seconds,
        "Time to read and build a full enforcement snapshot."
    );
    describe_counter!(
        SNAPSHOT_PATCHES,
        "Enforcement snapshots brought up to date by a patch from the change journal."
    );
    describe_histogram!(
        SNAPSHOT_PATCH_DURATION,
        Unit::Seconds,
        "Time to read and apply a snapshot patch."
    );
    describe_gauge!(
        DB_CONNECTIONS,
        "Database pool connections, by state (in_use, idle)."
    );
    describe_gauge!(DB_MAX_CONNECTIONS, "The database pool's size limit.");
    describe_counter!(
        DB_ERRORS,
        "Database errors met while answering, by kind (unavailable, other)."
    );
    describe_counter!(
        SIGNIN_FAILURES,
        "Refused sign-ins, by reason (credentials, rate_limited)."
    );
}
