//! `GET /metrics`: scraped from its own address while the server works, the counters move
//! with requests, checks, sign-ins and snapshot updates, and no label carries a consumer's
//! name, a key or a token.

use crate::common::{self, proxy_headers_trusted, spawn_app_with};
use crate::enforcement::World;
use serde_json::json;
use std::time::{Duration, Instant};

async fn scrape(url: &str) -> String {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200);
    let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
    res.text().await.unwrap()
}

/// The sum of the samples of `name` whose labels include every one of `labels`.
fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, v) = l.rsplit_once(' ')?;
            let (n, rest) = series.split_once('{').unwrap_or((series, ""));
            (n == name
                && labels
                    .iter()
                    .all(|(k, want)| rest.contains(&format!("{k}=\"{want}\""))))
            .then(|| v.parse::<f64>().ok())
            .flatten()
        })
        .sum()
}

async fn check(app: &common::TestApp, gateway: &str, path: &str, key: Option<&str>) -> u16 {
    let mut req = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gateway)
        .header("x-original-uri", path);
    if let Some(k) = key {
        req = req.header("x-api-key", k);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_counters_move_with_requests_checks_sign_ins_and_snapshot_updates() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let url = app.metrics_url().await;
    let w = World::new(&app).await;
    let holder = w.holder(&app, "metrics-alice", true).await;
    let before = scrape(&url).await;

    // The new gateway is known to the check from the next poll on (250 ms).
    let deadline = Instant::now() + Duration::from_secs(2);
    while check(&app, &w.gateway, "/v1/chat/x", Some(&holder.key)).await != 200 {
        assert!(Instant::now() < deadline, "the key is never allowed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        check(
            &app,
            &w.gateway,
            "/v1/chat/x",
            Some("gck_not_a_key_at_all_0000000000")
        )
        .await,
        401
    );
    assert_eq!(check(&app, &w.gateway, "/v1/chat/x", None).await, 401);
    assert_eq!(
        check(&app, &w.gateway, "/v1/other", Some(&holder.key)).await,
        403
    );
    let wrong = common::browser(&app.base)
        .post(format!("{}/api/sign_in", app.base))
        .header("Accept", "application/json")
        .form(&[("username", "admin"), ("password", "not-the-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400, "wrong credentials are an invalid form");
    let consumers = w
        .call(
            &app,
            "GET",
            &format!("/v1/consumers?gatewayId={}&pageSize=5", w.gateway),
            None,
        )
        .await;
    let consumer = consumers["items"][0]["consumerId"]
        .as_str()
        .unwrap()
        .to_owned();
    w.call(&app, "GET", &format!("/v1/consumers/{consumer}"), None)
        .await;
    let revision = app
        .enforcer
        .revision(&w.gateway)
        .expect("loaded by the checks");
    // A change: the snapshot is patched, and the revision gauge follows.
    w.call(
        &app,
        "POST",
        "/v1/consumers",
        Some(json!({"gatewayId": w.gateway, "name": "metrics-bob", "consumerGroupIds": []})),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(3);
    let after = loop {
        let text = scrape(&url).await;
        let gauge = value(
            &text,
            "gateway_console_snapshot_revision",
            &[("gateway", &w.gateway)],
        );
        if gauge > revision as f64 || Instant::now() > deadline {
            break text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    let moved = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let decisions = "gateway_console_authz_decisions_total";
    assert!(moved(decisions, &[("result", "allowed")]) >= 1.0, "{after}");
    assert!(
        moved(
            decisions,
            &[("result", "denied"), ("reason", "unknown_key")]
        ) >= 1.0
    );
    assert!(moved(decisions, &[("result", "denied"), ("reason", "no_key")]) >= 1.0);
    assert!(moved(decisions, &[("result", "denied"), ("reason", "no_api")]) >= 1.0);
    assert!(
        moved(
            "gateway_console_signin_failures_total",
            &[("reason", "credentials")]
        ) >= 1.0
    );
    let requests = "gateway_console_http_requests_total";
    let by_template = [
        ("route", "/v1/consumers/{consumerId}"),
        ("method", "GET"),
        ("status", "200"),
    ];
    assert!(moved(requests, &by_template) >= 1.0, "{after}");
    assert!(moved(requests, &[("route", "/authz/check"), ("status", "401")]) >= 2.0);
    assert!(
        moved(
            "gateway_console_http_request_duration_seconds_count",
            &by_template
        ) >= 1.0,
        "latency is recorded with the count"
    );
    assert!(value(&after, "gateway_console_snapshot_full_loads_total", &[]) >= 1.0);
    assert!(
        moved("gateway_console_snapshot_patches_total", &[]) >= 1.0,
        "{after}"
    );
    assert!(
        value(
            &after,
            "gateway_console_snapshot_patch_duration_seconds_count",
            &[]
        ) >= 1.0
    );
    assert_eq!(
        value(
            &after,
            "gateway_console_snapshot_revision",
            &[("gateway", &w.gateway)]
        ),
        app.enforcer.revision(&w.gateway).unwrap() as f64
    );
    assert!(after.contains(&format!(
        "gateway_console_snapshot_age_seconds{{gateway=\"{}\"}}",
        w.gateway
    )));
    assert!(value(&after, "gateway_console_db_pool_max_connections", &[]) >= 1.0);
    assert!(after.contains("gateway_console_db_pool_connections{state=\"idle\"}"));
    assert!(after.contains("gateway_console_db_pool_connections{state=\"in_use\"}"));

    // Nothing a client typed or holds becomes a label.
    for secret in [
        holder.key.as_str(),
        "metrics-alice",
        "metrics-bob",
        "not-the-password",
        "/v1/chat/x",
    ] {
        assert!(!after.contains(secret), "{secret} is in the metrics");
    }
    // The console's own address does not serve them.
    let res = common::client()
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 200);
}

#[tokio::test]
async fn paths_that_match_no_route_share_one_label() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let url = app.metrics_url().await;
    for i in 0..5 {
        let _ = common::client()
            .get(format!("{}/no-such-page-{i}", app.base))
            .send()
            .await
            .unwrap();
    }
    let text = scrape(&url).await;
    assert!(!text.contains("no-such-page"));
    assert!(
        value(
            &text,
            "gateway_console_http_requests_total",
            &[("route", "fallback")]
        ) >= 5.0
    );
}
