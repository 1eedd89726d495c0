//! Rate limits (`/v1/rate-limits`): set on a key, consumer or group, one per subject, with
//! checked values, audited, and applied by the real `/authz/check` (the tightest refuses, a
//! group's limit is shared by its members, `cluster` limits add up across replicas). The
//! 429 through nginx is in `enforcement.rs`.

use crate::access::{gateway, ALICE_KEY, BOB_KEY};
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_on, spawn_app_with, TestApp};
use gateway_console::store::read::Read;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn key_id(app: &TestApp, t: &str, gw: &str, name: &str) -> String {
    let r = app
        .rest(
            Some(t),
            "GET",
            &format!("/v1/keys?gatewayId={gw}&nameLike={name}"),
            None,
        )
        .await;
    ok(&r)["items"][0]["keyId"].as_str().unwrap().to_owned()
}

async fn set(app: &TestApp, t: &str, body: Value) -> crate::common::Rest {
    app.rest(Some(t), "POST", "/v1/rate-limits", Some(body))
        .await
}

/// The check's answer for a key on `/v1/chat` of the gateway: status and the headers named.
async fn check(app: &TestApp, gw: &str, key: &str) -> (u16, [Option<String>; 4]) {
    let res = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gw)
        .header("x-original-uri", "/v1/chat")
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
    let headers = [
        h("x-authz-reason"),
        h("retry-after"),
        h("x-ratelimit-limit"),
        h("x-ratelimit-remaining"),
    ];
    (res.status().as_u16(), headers)
}

#[tokio::test]
async fn limits_are_set_one_per_subject_with_checked_values_and_audited() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let viewer = app.token("viewer").await;
    let gw = gateway(&app, &admin, "limits-gw").await;
    let other = gateway(&app, &admin, "limits-other").await;
    let key = key_id(&app, &admin, &gw.id, "alice-key").await;

    // On a consumer, a key and a group; the answer names the subject.
    let on_alice = set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "perSecond": 10, "perMinute": 300}),
    )
    .await;
    let a = ok(&on_alice).clone();
    assert_eq!(a["subjectType"], "Consumer");
    assert_eq!(
        a["subject"],
        json!({"subjectId": gw.alice, "name": "alice"})
    );
    assert_eq!(
        (a["perSecond"].clone(), a["perMinute"].clone()),
        (json!(10), json!(300))
    );
    assert_eq!(
        (a["policy"].clone(), a["version"].clone()),
        (json!("local"), json!(1))
    );
    let on_key = ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": key, "perMinute": 5, "policy": "cluster"}),
    )
    .await)
    .clone();
    assert_eq!(on_key["subjectType"], "Key");
    assert_eq!(on_key["consumer"]["consumerId"], json!(gw.alice));
    let on_team = ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.team, "perSecond": 100}),
    )
    .await)
    .clone();
    assert_eq!(on_team["subjectType"], "ConsumerGroup");

    // Bad input: each a specific error, nothing set.
    let cases = [
        (
            json!({"gatewayId": gw.id, "subjectId": gw.alice, "perSecond": 1}),
            409,
            "Conflict.Exists",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob}),
            400,
            "InvalidParameter.PerSecond",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perSecond": 0}),
            400,
            "InvalidParameter.PerSecond",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perSecond": -5}),
            400,
            "InvalidParameter.PerSecond",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perSecond": 1_000_001}),
            400,
            "InvalidParameter.PerSecond",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perMinute": 60_000_001}),
            400,
            "InvalidParameter.PerMinute",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perMinute": 1e30}),
            400,
            "InvalidParameter",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perMinute": "ten"}),
            400,
            "InvalidParameter",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perMinute": 5, "policy": "global"}),
            400,
            "InvalidParameter.Policy",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": "api-d4g5h6j7k8l9m0n1p2q3", "perMinute": 5}),
            400,
            "InvalidParameter.SubjectId",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": "cs-d4g5h6j7k8l9m0n1p2q3", "perMinute": 5}),
            404,
            "NotFound.Consumer",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": other.bob, "perMinute": 5}),
            400,
            "InvalidParameter.SubjectId",
        ),
        (
            json!({"gatewayId": "gw-d4g5h6j7k8l9m0n1p2q3", "subjectId": gw.bob, "perMinute": 5}),
            404,
            "NotFound.Gateway",
        ),
    ];
    for (body, status, code) in cases {
        let r = set(&app, &admin, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        let got = r.body["code"].as_str().unwrap();
        assert!(got.starts_with(code), "{body}: {got}");
    }
    refused(
        &set(
            &app,
            &viewer,
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "perMinute": 5}),
        )
        .await,
        403,
        "Forbidden",
    );
    let all = app
        .rest(
            Some(&viewer),
            "GET",
            &format!("/v1/rate-limits?gatewayId={}&pageSize=100", gw.id),
            None,
        )
        .await;
    assert_eq!(ok(&all)["totalSize"], 3);

    // Filters: one subject's, and every limit covering a consumer (its own, its key's, its
    // group's).
    let gw_id = gw.id.clone();
    let on = |q: String| {
        let app = &app;
        let viewer = &viewer;
        let gw_id = gw_id.clone();
        async move {
            let r = app
                .rest(
                    Some(viewer),
                    "GET",
                    &format!("/v1/rate-limits?gatewayId={gw_id}&{q}"),
                    None,
                )
                .await;
            let mut ids: Vec<String> = ok(&r)["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["subject"]["subjectId"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(
        on(format!("subjectId={}", gw.team)).await,
        vec![gw.team.clone()]
    );
    let mut covering = vec![gw.alice.clone(), gw.team.clone(), key.clone()];
    covering.sort();
    assert_eq!(on(format!("consumerId={}", gw.alice)).await, covering);
    assert!(on(format!("consumerId={}", gw.bob)).await.is_empty());
    refused(
        &app.rest(
            Some(&viewer),
            "GET",
            &format!("/v1/rate-limits?gatewayId={}&subjectId=nope", gw.id),
            None,
        )
        .await,
        400,
        "InvalidParameter.SubjectId",
    );

    // Change with the current version; a stale one is refused.
    let path = format!("/v1/rate-limits/{}", a["rateLimitId"].as_str().unwrap());
    let changed = app
        .rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"perSecond": 20, "policy": "cluster", "version": 1})),
        )
        .await;
    let c = ok(&changed);
    assert_eq!(
        (
            c["perSecond"].clone(),
            c["perMinute"].clone(),
            c["version"].clone()
        ),
        (json!(20), json!(null), json!(2))
    );
    refused(
        &app.rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"perSecond": 30, "version": 1})),
        )
        .await,
        409,
        "Conflict.Version",
    );
    refused(
        &app.rest(Some(&admin), "PUT", &path, Some(json!({"version": 2})))
            .await,
        400,
        "InvalidParameter.PerSecond",
    );
    assert_eq!(
        ok(&app.rest(Some(&viewer), "GET", &path, None).await)["perSecond"],
        20
    );

    // Removed; removing again is a 404. A deleted consumer takes its limit with it.
    ok(&app.rest(Some(&admin), "DELETE", &path, None).await);
    refused(
        &app.rest(Some(&admin), "DELETE", &path, None).await,
        404,
        "NotFound.RateLimit",
    );
    refused(
        &app.rest(Some(&viewer), "GET", "/v1/rate-limits/rl-nope", None)
            .await,
        404,
        "NotFound.RateLimit",
    );
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.bob, "perSecond": 3}),
    )
    .await);
    let bob = ok(&app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumers/{}", gw.bob),
            None,
        )
        .await)
    .clone();
    let bob_key = key_id(&app, &admin, &gw.id, "bob-key").await;
    ok(&app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/consumers/{}/credentials/{bob_key}", gw.bob),
            None,
        )
        .await);
    let _ = bob;
    ok(&app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/consumers/{}", gw.bob),
            None,
        )
        .await);
    assert!(on(format!("subjectId={}", gw.bob)).await.is_empty());

    // Every change is in the audit trail.
    let audit = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/audit-events?gatewayId={}&pageSize=100", gw.id),
            None,
        )
        .await;
    let actions: Vec<&str> = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.ends_with("RateLimit"))
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "CreateRateLimit").count(),
        4,
        "{actions:?}"
    );
    assert!(actions.contains(&"UpdateRateLimit") && actions.contains(&"DeleteRateLimit"));
}

#[tokio::test]
async fn the_check_applies_every_limit_that_covers_a_request_and_the_tightest_refuses() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let key = key_id(&app, &admin, &gw.id, "alice-key").await;
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": key, "perMinute": 50}),
    )
    .await);
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.team, "perMinute": 2}),
    )
    .await);
    app.enforcer.refresh().await.unwrap();

    // The group's 2 a minute is the tightest: it is what the answers report.
    let (status, h) = check(&app, &gw.id, ALICE_KEY).await;
    assert_eq!(status, 200);
    assert_eq!((h[2].as_deref(), h[3].as_deref()), (Some("2"), Some("1")));
    assert_eq!(check(&app, &gw.id, ALICE_KEY).await.0, 200);
    let (status, h) = check(&app, &gw.id, ALICE_KEY).await;
    assert_eq!(status, 403);
    assert_eq!(h[0].as_deref(), Some("rate-limited"));
    let retry: i64 = h[1].as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!((h[2].as_deref(), h[3].as_deref()), (Some("2"), Some("0")));

    // The access check says so, names the window that decides, and takes nothing.
    let explained = app
        .rest(
            Some(&admin),
            "POST",
            &format!("/v1/gateways/{}/authz/explain", gw.id),
            Some(json!({"key": ALICE_KEY, "path": "/v1/chat"})),
        )
        .await;
    let e = ok(&explained).clone();
    assert_eq!(
        (e["status"].clone(), e["reason"].clone()),
        (json!(403), json!("rate_limited")),
        "{e}"
    );
    let windows = e["limits"].as_array().unwrap();
    assert_eq!(windows.len(), 2, "{e}");
    let deciding: Vec<&Value> = windows.iter().filter(|w| w["decides"] == true).collect();
    assert_eq!(deciding.len(), 1);
    assert_eq!(
        (
            deciding[0]["subjectId"].clone(),
            deciding[0]["subjectName"].clone(),
            deciding[0]["remaining"].clone()
        ),
        (json!(gw.team), json!("team"), json!(0))
    );
    let key_window = windows.iter().find(|w| w["subjectType"] == "Key").unwrap();
    assert_eq!(
        (key_window["limit"].clone(), key_window["remaining"].clone()),
        (json!(50), json!(48))
    );

    // bob has no rule: his refusal is the rules', not a limit's.
    let (status, h) = check(&app, &gw.id, BOB_KEY).await;
    assert_eq!((status, h[0].as_deref()), (403, None));

    // Raised, the limit applies within a second, and its counter carries over.
    let limits = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/rate-limits?gatewayId={}&subjectId={}", gw.id, gw.team),
            None,
        )
        .await;
    let l = ok(&limits)["items"][0].clone();
    let path = format!("/v1/rate-limits/{}", l["rateLimitId"].as_str().unwrap());
    ok(&app
        .rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"perMinute": 4, "version": l["version"]})),
        )
        .await);
    let started = Instant::now();
    loop {
        let (status, h) = check(&app, &gw.id, ALICE_KEY).await;
        if status == 200 {
            assert_eq!((h[2].as_deref(), h[3].as_deref()), (Some("4"), Some("1")));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the raised limit did not apply"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The refusals are counted as usage with their own outcome.
    app.enforcer.flush_usage().await.unwrap();
    let usage = app
        .rest(
            Some(&admin),
            "GET",
            &format!(
                "/v1/usage?gatewayId={}&groupBy=outcome&outcome=rate-limited",
                gw.id
            ),
            None,
        )
        .await;
    let items = ok(&usage)["items"].as_array().unwrap().clone();
    let refused_n: i64 = items.iter().map(|i| i["requests"].as_i64().unwrap()).sum();
    assert!(refused_n >= 1, "{items:?}");
}

#[tokio::test]
async fn a_cluster_limit_is_shared_by_two_replicas_and_a_local_one_is_not() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let second = spawn_app_on(&app, proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let key = key_id(&app, &admin, &gw.id, "alice-key").await;
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "perMinute": 10, "policy": "cluster"}),
    )
    .await);
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": key, "perMinute": 1000}),
    )
    .await);
    app.enforcer.refresh().await.unwrap();
    second.enforcer.refresh().await.unwrap();

    // Within one minute window (a test that starts in a minute's last seconds waits for the
    // next one).
    let into_minute = gateway_console::store::now_ms() % 60_000;
    if into_minute > 45_000 {
        tokio::time::sleep(Duration::from_millis((60_500 - into_minute) as u64)).await;
    }
    let admitted = |replica: &'static str, n: usize| {
        let (app, second, gw) = (&app, &second, &gw.id);
        async move {
            let target = if replica == "first" { app } else { second };
            let mut ok_n = 0;
            for _ in 0..n {
                if check(target, gw, ALICE_KEY).await.0 == 200 {
                    ok_n += 1;
                }
            }
            ok_n
        }
    };
    let first = admitted("first", 6).await;
    assert_eq!(first, 6);
    // After a sync, the second replica knows of the first's six.
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let then = admitted("second", 10).await;
    assert_eq!(
        then, 4,
        "the second replica admitted {then} after the first's 6 of 10"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(admitted("first", 3).await, 0);
    let rows = app
        .db
        .reader()
        .await
        .unwrap()
        .number(
            "SELECT COUNT(DISTINCT replica_id) FROM rate_limit_counts",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows, Some(2));

    // As a `local` limit, each replica counts on its own.
    let limits = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/rate-limits?gatewayId={}&subjectId={}", gw.id, gw.alice),
            None,
        )
        .await;
    let l = ok(&limits)["items"][0].clone();
    ok(&app
        .rest(
            Some(&admin),
            "PUT",
            &format!("/v1/rate-limits/{}", l["rateLimitId"].as_str().unwrap()),
            Some(json!({"perMinute": 2, "policy": "local", "version": l["version"]})),
        )
        .await);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(admitted("first", 5).await, 2);
    assert_eq!(admitted("second", 5).await, 2);
}

#[tokio::test]
async fn in_an_envoy_deployment_a_rate_limit_is_answered_429_directly() {
    let settings = gateway_console::enforce::Settings {
        trust_proxy_headers: true,
        request_uri: gateway_console::enforce::RequestUriSource::Path,
        ..Default::default()
    };
    let app = spawn_app_with(settings).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "perSecond": 1}),
    )
    .await);
    app.enforcer.refresh().await.unwrap();
    let call = || async {
        reqwest::Client::new()
            .get(format!("{}/authz/check/v1/chat/completions", app.base))
            .header("x-gateway-id", &gw.id)
            .bearer_auth(ALICE_KEY)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(call().await.status().as_u16(), 200);
    let refused = call().await;
    assert_eq!(refused.status().as_u16(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.headers()["x-authz-reason"], "rate-limited");
}
