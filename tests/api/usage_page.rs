//! The Usage page's data (`GET /v1/usage/overview`), its charts as SVG images and CSV
//! downloads (`/v1/usage/chart`, `/v1/usage/chart/csv`), and the page itself rendered without JavaScript.

use crate::access::{check, gateway, Gw, ALICE_KEY, BOB_KEY};
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_with, TestApp};
use crate::usage::{forget_usage, until_granted};

async fn get_raw(app: &TestApp, t: &str, path: &str) -> (u16, String, String) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .bearer_auth(t)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let kind = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, r.text().await.unwrap())
}

/// An app whose check trusts the proxy's gateway header, an Admin's token, and the access
/// gateway, enforced and with no usage counted yet.
async fn counting_gateway() -> (TestApp, String, Gw) {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    app.enforcer.refresh().await.unwrap();
    until_granted(&app, &gw.id).await;
    forget_usage(&app).await;
    (app, admin, gw)
}

#[tokio::test]
async fn the_overview_draws_requests_by_outcome_and_ranks_consumers_with_charts_and_csv() {
    let (app, admin, gw) = counting_gateway().await;
    for _ in 0..3 {
        assert_eq!(check(&app, &gw.id, ALICE_KEY, "/v1/chat", None).await, 200);
    }
    for _ in 0..2 {
        assert_eq!(check(&app, &gw.id, BOB_KEY, "/v1/chat", None).await, 403);
    }
    app.enforcer.flush_usage().await.unwrap();

    let overview = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/usage/overview?gatewayId={}&range=1h", gw.id),
            None,
        )
        .await;
    let o = ok(&overview);
    assert_eq!(o["granularity"], "minute");
    // The last hour, in whole minutes: the current one included.
    let buckets = o["times"].as_array().unwrap().len();
    assert!((60..=61).contains(&buckets), "{buckets} buckets");
    assert_eq!(
        (
            o["totals"]["allowed"].as_i64(),
            o["totals"]["denied"].as_i64()
        ),
        (Some(3), Some(2))
    );
    let outcomes: Vec<(&str, i64)> = o["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["outcome"].as_str().unwrap(), s["total"].as_i64().unwrap()))
        .collect();
    assert_eq!(outcomes, vec![("allowed", 3), ("no-rule", 2)]);
    let top: Vec<(&str, i64, i64)> = o["topConsumers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap(),
                e["requests"].as_i64().unwrap(),
                e["allowed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(top, vec![("alice", 3, 3), ("bob", 2, 0)]);

    // A consumer is named by name or ID; the filter narrows everything.
    let alice = app
        .rest(
            Some(&admin),
            "GET",
            &format!(
                "/v1/usage/overview?gatewayId={}&range=1h&consumer=ALICE",
                gw.id
            ),
            None,
        )
        .await;
    assert_eq!(ok(&alice)["totals"]["requests"], 3);
    assert_eq!(ok(&alice)["topConsumers"].as_array().unwrap().len(), 1);

    let query = format!("gatewayId={}&range=1h", gw.id);
    let (status, kind, svg) = get_raw(
        &app,
        &admin,
        &format!("/v1/usage/chart?chart=consumers&{query}"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "image/svg+xml"));
    assert!(
        svg.starts_with("<svg")
            && svg.contains("\nalice\n</text>")
            && svg.contains("\nbob\n</text>"),
        "{svg}"
    );
    let (status, _, svg) = get_raw(
        &app,
        &admin,
        &format!("/v1/usage/chart?chart=requests&{query}"),
    )
    .await;
    assert!(status == 200 && svg.contains("\nno-rule\n</text>"), "{svg}");
    let (status, kind, csv) = get_raw(
        &app,
        &admin,
        &format!("/v1/usage/chart/csv?chart=consumers&{query}"),
    )
    .await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "consumer_id,consumer_name,requests,allowed,denied,tokens"
    );
    assert_eq!(lines[1], format!("{},alice,3,3,0,0", gw.alice));
    assert_eq!(lines[2], format!("{},bob,2,0,2,0", gw.bob));
    let (_, _, csv) = get_raw(
        &app,
        &admin,
        &format!("/v1/usage/chart/csv?chart=requests&{query}"),
    )
    .await;
    assert_eq!(csv.lines().next(), Some("time,allowed,no-rule,total"));
    assert_eq!(csv.lines().count(), buckets + 1);

    // The page renders it all on the server: charts as images with their words, tables, CSV.
    let browser = app.admin().await;
    let page = browser
        .get(format!("{}/instances/{}/usage?range=1h", app.base, gw.id))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for expected in [
        "<h2>Requests over time",
        "alt=\"Requests over time, ",
        "src=\"/v1/usage/chart?chart=tokens&amp;gatewayId=",
        "Download Top consumers as CSV",
        "Top consumers by requests: alice 3, bob 2.",
    ] {
        assert!(html.contains(expected), "{expected} is missing");
    }
}

#[tokio::test]
async fn bad_usage_page_questions_are_refused_with_what_is_wrong() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    for (path, code) in [
        ("/v1/usage/overview?range=1h", "InvalidParameter.GatewayId"),
        ("/v1/usage/overview?gatewayId=GW&range=custom&from=2026-01-01T00:00", "InvalidParameter.To"),
        ("/v1/usage/overview?gatewayId=GW&range=custom&from=2026-01-02T00:00&to=2026-01-01T00:00", "InvalidParameter.From"),
        ("/v1/usage/overview?gatewayId=GW&consumer=nobody", "InvalidParameter.Consumer"),
        ("/v1/usage/overview?gatewayId=GW&group=g-1", "InvalidParameter.ConsumerGroupId"),
        ("/v1/usage/chart?chart=pie&gatewayId=GW", "InvalidParameter.Chart"),
        ("/v1/usage/chart/csv?gatewayId=GW", "InvalidParameter.Chart"),
        ("/v1/usage/chart?chart=requests&gatewayId=GW&range=custom&from=0&to=253402300799999", "InvalidParameter.Granularity"),
    ] {
        let path = path.replace("GW", &gw.id);
        refused(&app.rest(Some(&admin), "GET", &path, None).await, 400, code);
    }
    let unknown = app
        .rest(
            Some(&admin),
            "GET",
            "/v1/usage/chart?chart=requests&gatewayId=gw-00000000000000000000",
            None,
        )
        .await;
    assert_eq!(unknown.status, 404);
}

#[tokio::test]
async fn the_instance_overview_counts_what_it_holds_today_and_the_quotas_near_their_limit() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    app.enforcer.refresh().await.unwrap();
    until_granted(&app, &gw.id).await;
    // alice may make 3 requests a day; after 3 she is at her limit.
    let quota = app
        .rest(
            Some(&admin),
            "POST",
            "/v1/quotas",
            Some(
                serde_json::json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "day",
                "amount": 4, "warnPercent": 50}),
            ),
        )
        .await;
    ok(&quota);
    app.enforcer.refresh().await.unwrap();
    for _ in 0..3 {
        check(&app, &gw.id, ALICE_KEY, "/v1/chat", None).await;
    }
    assert_eq!(check(&app, &gw.id, BOB_KEY, "/v1/chat", None).await, 403);
    app.enforcer.flush_usage().await.unwrap();
    app.enforcer.sync_quotas(true).await.unwrap();

    let browser = app.admin().await;
    let (status, o) = app
        .call_form(&browser, "instance_overview", &[("id", gw.id.as_str())])
        .await;
    assert_eq!(status, 200, "{o}");
    // alice and bob; team and the default group; their two keys; chat; two rules.
    let counts: Vec<i64> = [
        "consumers",
        "consumer_groups",
        "keys",
        "apis",
        "rules_in_effect",
    ]
    .iter()
    .map(|f| o[*f].as_i64().unwrap())
    .collect();
    assert_eq!(counts, vec![2, 2, 2, 1, 2]);
    assert!(o["today"]["allowed"].as_i64().unwrap() >= 4, "{o}");
    assert!(o["today"]["denied"].as_i64().unwrap() >= 1, "{o}");
    let near = o["quotas_near_limit"].as_array().unwrap();
    assert_eq!(near.len(), 1, "{o}");
    assert_eq!(near[0]["subject"]["name"], "alice");
    assert_eq!(near[0]["status"], "Warning");
    assert_eq!(o["snapshot_revision"], o["revision"]);
    assert_eq!(o["console_origin"], app.base.as_str());

    // The page shows it, with the proxy configurations filled in for this gateway.
    let html = browser
        .get(format!("{}/instances/{}", app.base, gw.id))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let host = app.base.trim_start_matches("http://");
    for expected in [
        "What it holds",
        "Quotas near their limit",
        &format!("upstream console {{ server {host}; keepalive 64; }}"),
        &format!("proxy_set_header X-Gateway-Id \"{}\";", gw.id),
        &format!("CONSOLE_AUTHZ_GATEWAY_ID={}", gw.id),
        "Copy the nginx configuration",
    ] {
        assert!(html.contains(expected), "{expected} is missing");
    }
}

#[tokio::test]
async fn group_and_model_api_filters_take_a_name_and_past_100_groups_the_page_asks_for_one() {
    let (app, admin, gw) = counting_gateway().await;
    for _ in 0..3 {
        assert_eq!(check(&app, &gw.id, ALICE_KEY, "/v1/chat", None).await, 200);
    }
    app.enforcer.flush_usage().await.unwrap();

    // A name stands for the ID (alice is in `team`; `chat` is the API she called).
    for filter in [
        "group=team",
        "group=TEAM",
        "api=chat",
        &format!("group={}", gw.team),
    ] {
        let o = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/usage/overview?gatewayId={}&range=1h&{filter}", gw.id),
                None,
            )
            .await;
        assert_eq!(ok(&o)["totals"]["allowed"], 3, "{filter}: {}", o.body);
    }
    for (filter, code, said) in [
        (
            "group=nobody",
            "InvalidParameter.ConsumerGroupId",
            "no consumer group with the name or ID \"nobody\"",
        ),
        (
            "api=nothing",
            "InvalidParameter.ApiId",
            "no model API with the name or ID \"nothing\"",
        ),
    ] {
        let r = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/usage/overview?gatewayId={}&{filter}", gw.id),
                None,
            )
            .await;
        refused(&r, 400, code);
        assert!(
            r.body["message"].as_str().unwrap().contains(said),
            "{}",
            r.body
        );
    }

    let browser = app.admin().await;
    let page = |query: &'static str| {
        let browser = browser.clone();
        let url = format!("{}/instances/{}/usage?{query}", app.base, gw.id);
        async move { browser.get(url).send().await.unwrap().text().await.unwrap() }
    };
    // Two groups: a select of them.
    let html = page("range=1h").await;
    assert!(
        html.contains("<select id=\"usage-group\" name=\"group\""),
        "no group select"
    );
    // 102 groups: a field for a name or ID that suggests the first 100.
    for i in 0..100 {
        let r = app
            .rest(
                Some(&admin),
                "POST",
                "/v1/consumer-groups",
                Some(serde_json::json!({"gatewayId": gw.id, "name": format!("g{i:03}"), "description": ""})),
            )
            .await;
        ok(&r);
    }
    let html = page("range=1h&group=team").await;
    for expected in [
        "<label for=\"usage-group\">Consumer group (name or ID)",
        "<input id=\"usage-group\" type=\"search\" name=\"group\" value=\"team\" list=\"usage-group-names\"",
        "<datalist id=\"usage-group-names\">",
        "Top consumers by requests: alice 3.",
    ] {
        assert!(html.contains(expected), "{expected} is missing");
    }
    // The first 100 by name: Default-consumer-group, g000 to g098.
    assert_eq!(html.matches("<option value=\"g0").count(), 99);
    assert!(html.contains("<option value=\"Default-consumer-group\">"));
}
