//! Gateway instances over REST: edit with optimistic concurrency, and delete only when the
//! instance holds nothing of its own; the audit stays and enforcement stops answering for it.

use crate::common::{ok, proxy_headers_trusted, refused, spawn_app, spawn_app_with, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Creates a record and returns its ID (a new key's is inside `key`).
async fn create(app: &TestApp, t: Option<&str>, path: &str, body: Value) -> String {
    let field = match path {
        "/v1/gateways" => "gatewayId",
        "/v1/consumers" => "consumerId",
        "/v1/consumer-groups" => "consumerGroupId",
        "/v1/keys" => "keyId",
        "/v1/environments" => "environmentId",
        "/v1/model-apis" => "apiId",
        other => panic!("no ID field known for {other}"),
    };
    let r = app.rest(t, "POST", path, Some(body)).await;
    let data = ok(&r);
    data.get("key").unwrap_or(data)[field]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn gateway(app: &TestApp, t: Option<&str>, name: &str) -> String {
    let gw = json!({"name": name, "region": "eu-1", "engineVersion": "2.1.4", "description": ""});
    create(app, t, "/v1/gateways", gw).await
}

#[tokio::test]
async fn a_gateway_is_edited_with_its_version_and_bad_or_stale_edits_change_nothing() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let id = gateway(&app, t, "edge-a").await;
    gateway(&app, t, "edge-b").await;
    let path = format!("/v1/gateways/{id}");

    let edit = json!({"name": "edge-main", "engineVersion": "2.2.0", "description": "upgraded", "version": 1});
    let saved = app.rest(t, "PUT", &path, Some(edit.clone())).await;
    let data = ok(&saved);
    assert_eq!(
        (&data["name"], &data["engineVersion"], &data["region"]),
        (&json!("edge-main"), &json!("2.2.0"), &json!("eu-1"))
    );
    assert_eq!(data["version"], 2);

    refused(
        &app.rest(t, "PUT", &path, Some(edit)).await,
        409,
        "Conflict.Version",
    );
    let taken = json!({"name": "EDGE-B", "engineVersion": "2.2.0", "version": 2});
    refused(
        &app.rest(t, "PUT", &path, Some(taken)).await,
        409,
        "Conflict.Name",
    );
    for (body, code) in [
        (
            json!({"name": "9lives", "engineVersion": "1", "version": 2}),
            "InvalidParameter.Name",
        ),
        (
            json!({"name": "ok-name", "engineVersion": "1 0", "version": 2}),
            "InvalidParameter.EngineVersion",
        ),
        (
            json!({"name": "ok-name", "engineVersion": "1", "description": "x".repeat(300), "version": 2}),
            "InvalidParameter.Description",
        ),
    ] {
        refused(&app.rest(t, "PUT", &path, Some(body)).await, 400, code);
    }
    let viewer = app.token("viewer").await;
    let edit = json!({"name": "viewer-was-here", "engineVersion": "1", "version": 2});
    refused(
        &app.rest(Some(&viewer), "PUT", &path, Some(edit)).await,
        403,
        "Forbidden",
    );
    let now = app.rest(t, "GET", &path, None).await;
    assert_eq!(
        (&ok(&now)["name"], &ok(&now)["version"]),
        (&json!("edge-main"), &json!(2))
    );
    let audit = app
        .rest(t, "GET", &format!("/v1/audit-events?resourceId={id}"), None)
        .await;
    let actions: Vec<&str> = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["UpdateGateway", "CreateGateway"]);
}

#[tokio::test]
async fn a_gateway_is_deleted_only_when_it_holds_nothing_and_its_audit_stays() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let gw = gateway(&app, t, "to-retire").await;
    let consumer = create(
        &app,
        t,
        "/v1/consumers",
        json!({"gatewayId": gw, "name": "billing", "description": ""}),
    )
    .await;
    let group = create(
        &app,
        t,
        "/v1/consumer-groups",
        json!({"gatewayId": gw, "name": "team", "description": ""}),
    )
    .await;
    let key = create(
        &app,
        t,
        "/v1/keys",
        json!({"gatewayId": gw, "name": "k1", "description": ""}),
    )
    .await;
    let env = create(
        &app,
        t,
        "/v1/environments",
        json!({"gatewayId": gw, "name": "staging"}),
    )
    .await;
    let api = json!({"gatewayId": gw, "name": "chat", "basePath": "/v1/chat", "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text", "environmentIds": [], "description": ""});
    let api = create(&app, t, "/v1/model-apis", api).await;

    // The check loads the gateway's snapshot while it exists, and forgets it once deleted;
    // either way a caller sees the same 401 for an unknown key (no gateway-existence oracle).
    let check = || {
        reqwest::Client::new()
            .get(format!("{}/authz/check", app.base))
            .header("x-gateway-id", &gw)
            .bearer_auth(format!("gck_{}", "a".repeat(40)))
            .header("x-original-uri", "/v1/chat")
            .send()
    };
    let settles_at = |loaded: bool| {
        let (check, app, gw) = (&check, &app, &gw);
        async move {
            // The check learns of gateways from its poll of the revisions.
            let deadline = Instant::now() + Duration::from_secs(3);
            loop {
                let status = check().await.unwrap().status().as_u16();
                assert_eq!(
                    status, 401,
                    "an unknown key, whether the gateway exists or not"
                );
                if app.enforcer.revision(gw).is_some() == loaded {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "the check's snapshot of {gw} is still loaded={}",
                    !loaded
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    settles_at(true).await;

    let deps_path = format!("/v1/gateways/{gw}/dependencies");
    let deps = app.rest(t, "GET", &deps_path, None).await;
    let mut listed: Vec<(String, String)> = ok(&deps)["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_owned(),
                d["resourceId"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = [
        ("Consumer", &consumer),
        ("ConsumerGroup", &group),
        ("Environment", &env),
        ("Key", &key),
        ("ModelApi", &api),
    ]
    .into_iter()
    .map(|(k, id)| (k.to_owned(), id.clone()))
    .collect();
    expected.sort();
    assert_eq!(listed, expected);

    let path = format!("/v1/gateways/{gw}");
    let refused_delete = app.rest(t, "DELETE", &path, None).await;
    refused(&refused_delete, 409, "Conflict.Dependencies");
    assert_eq!(
        refused_delete.body["data"]["dependencies"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
    let viewer = app.token("viewer").await;
    refused(
        &app.rest(Some(&viewer), "DELETE", &path, None).await,
        403,
        "Forbidden",
    );
    ok(&app.rest(t, "GET", &path, None).await);

    for p in [
        format!("/v1/consumers/{consumer}"),
        format!("/v1/consumer-groups/{group}"),
        format!("/v1/keys/{key}"),
        format!("/v1/model-apis/{api}"),
        format!("/v1/environments/{env}"),
    ] {
        ok(&app.rest(t, "DELETE", &p, None).await);
    }
    let clean = app.rest(t, "GET", &deps_path, None).await;
    assert_eq!(ok(&clean)["dependencies"], json!([]));
    ok(&app.rest(t, "DELETE", &path, None).await);
    refused(
        &app.rest(t, "GET", &path, None).await,
        404,
        "NotFound.Gateway",
    );
    refused(
        &app.rest(t, "DELETE", &path, None).await,
        404,
        "NotFound.Gateway",
    );
    let envs = app
        .rest(t, "GET", &format!("/v1/environments?gatewayId={gw}"), None)
        .await;
    refused(&envs, 404, "NotFound.Gateway");

    let audit = app
        .rest(t, "GET", &format!("/v1/audit-events?resourceId={gw}"), None)
        .await;
    let actions: Vec<&str> = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["DeleteGateway", "CreateGateway"]);

    // Enforcement forgets the gateway within its poll interval.
    settles_at(false).await;
}
