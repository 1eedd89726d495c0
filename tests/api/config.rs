//! Configuration as code: a gateway's export is one YAML document, references by name, in a
//! stable order (two exports of the same state are byte-identical, and a change shows as the
//! lines it changed), never with a key's value; the CLI writes what REST answers.

use crate::common::{client, fresh_database_url, ok, refused, spawn_app, TestApp};
use crate::durability::BIN;
use gateway_console::service::{config, demo, Actor};
use gateway_console::store::Db;
use serde_json::{json, Value};

/// 2100-01-01T00:00:00Z
const Y2100: i64 = 4_102_444_800_000;
pub(crate) const ALICE_KEY: &str = "alice-secret-value-0123456789-abcdefghijklmnop";

fn id(r: &crate::common::Rest, field: &str) -> String {
    ok(r)[field].as_str().unwrap().to_owned()
}

/// Calls the export and returns its status, content type, disposition and body.
pub(crate) async fn export(
    app: &TestApp,
    token: &str,
    gw: &str,
    query: &str,
) -> (u16, String, String, String) {
    let res = client()
        .get(format!("{}/v1/gateways/{gw}/export{query}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, disposition) = (header("content-type"), header("content-disposition"));
    (
        res.status().as_u16(),
        kind,
        disposition,
        res.text().await.unwrap(),
    )
}

/// A gateway with something of every kind, made through REST; returns its ID.
pub(crate) async fn shaped_gateway(app: &TestApp, t: &str) -> String {
    let t = Some(t);
    let post = |path: &'static str, body: Value| async move {
        app.rest(t, "POST", path, Some(body)).await
    };
    let gw = id(
        &post("/v1/gateways", json!({"name": "edge-eu", "region": "eu-1", "engineVersion": "2.1.4", "description": ""})).await,
        "gatewayId",
    );
    let envs = app
        .rest(t, "GET", &format!("/v1/environments?gatewayId={gw}"), None)
        .await;
    let default_env = ok(&envs)["items"][0]["environmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let staging = id(
        &post("/v1/environments", json!({"gatewayId": gw, "name": "staging", "alias": "stg", "description": "before production"})).await,
        "environmentId",
    );
    let chat = id(
        &post(
            "/v1/model-apis",
            json!({"gatewayId": gw, "name": "qwen3-chat", "basePath": "/v1/qwen3",
            "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text", "description": "",
            "environmentIds": [staging, default_env]}),
        )
        .await,
        "apiId",
    );
    id(
        &post(
            "/v1/model-apis",
            json!({"gatewayId": gw, "name": "Embed", "basePath": "/v1/embed",
            "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text", "description": "vectors",
            "environmentIds": []}),
        )
        .await,
        "apiId",
    );
    let team = id(
        &post(
            "/v1/consumer-groups",
            json!({"gatewayId": gw, "name": "team-a", "description": "the A team"}),
        )
        .await,
        "consumerGroupId",
    );
    let ops = id(
        &post(
            "/v1/consumer-groups",
            json!({"gatewayId": gw, "name": "Ops", "description": ""}),
        )
        .await,
        "consumerGroupId",
    );
    let key = post(
        "/v1/keys",
        json!({"gatewayId": gw, "name": "alice-key", "expiresAt": Y2100, "value": ALICE_KEY}),
    )
    .await;
    let key = ok(&key)["key"]["keyId"].as_str().unwrap().to_owned();
    post("/v1/keys", json!({"gatewayId": gw, "name": "spare"})).await;
    let alice = id(
        &post("/v1/consumers", json!({"gatewayId": gw, "name": "alice", "consumerGroupIds": [ops, team], "keyIds": [key]})).await,
        "consumerId",
    );
    id(
        &post(
            "/v1/consumers",
            json!({"gatewayId": gw, "name": "bob", "description": "on leave"}),
        )
        .await,
        "consumerId",
    );
    for (ptype, principal, env, expiry) in [
        ("ConsumerGroup", &team, &default_env, None),
        ("Consumer", &alice, &staging, Some(Y2100)),
        ("Consumer", &alice, &default_env, None),
    ] {
        let mut rule = json!({"principalType": ptype, "principalId": principal, "apiId": chat,
            "environmentId": env, "expireMode": "LongTerm"});
        if let Some(at) = expiry {
            rule["expireMode"] = json!("ShortTerm");
            rule["expireTimestamp"] = json!(at);
        }
        ok(&post("/v1/authorization-rules", rule).await);
    }
    // Rate limits and quotas on a group, a consumer and a key.
    ok(&post(
        "/v1/rate-limits",
        json!({"gatewayId": gw, "subjectId": team, "perMinute": 600, "policy": "cluster"}),
    )
    .await);
    ok(&post(
        "/v1/rate-limits",
        json!({"gatewayId": gw, "subjectId": key, "perSecond": 5}),
    )
    .await);
    for quota in [
        json!({"gatewayId": gw, "subjectId": alice, "metric": "tokens", "period": "month", "amount": 2_000_000, "timeZone": "Europe/Berlin"}),
        json!({"gatewayId": gw, "subjectId": alice, "metric": "requests", "period": "day", "amount": 1000, "warnPercent": 90}),
        json!({"gatewayId": gw, "subjectId": team, "metric": "requests", "period": "week", "amount": 50000}),
    ] {
        ok(&post("/v1/quotas", quota).await);
    }
    gw
}

#[tokio::test]
async fn an_export_names_everything_by_name_in_a_stable_order_without_key_values() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let (status, kind, disposition, yaml) = export(&app, &admin, &gw, "").await;
    assert_eq!(status, 200, "{yaml}");
    assert_eq!(kind, "application/yaml; charset=utf-8");
    assert_eq!(disposition, "attachment; filename=\"edge-eu.yaml\"");
    let prefix = {
        let keys = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/keys?gatewayId={gw}&nameLike=alice"),
                None,
            )
            .await;
        ok(&keys)["items"][0]["prefix"].as_str().unwrap().to_owned()
    };
    let spare = {
        let keys = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/keys?gatewayId={gw}&nameLike=spare"),
                None,
            )
            .await;
        ok(&keys)["items"][0]["prefix"].as_str().unwrap().to_owned()
    };
    // Sorted by name (case-insensitively), lists of names too; defaults left out. Every new
    // gateway comes with the environment `default` and the group `Default-consumer-group`.
    let expected = format!(
        "# Gateway Console configuration of gateway \"edge-eu\" ({gw}).
# Format: /v1/schemas/gateway-config.json. Keys are listed without their values.
version: gateway-console/v1
gateway:
  id: {gw}
  name: edge-eu
environments:
- name: default
  alias: Default
  description: Default environment
  default: true
- name: staging
  alias: stg
  description: before production
modelApis:
- name: Embed
  basePath: /v1/embed
  aiProtocols:
  - OpenAI/v1
  modelCategory: Text
  description: vectors
- name: qwen3-chat
  basePath: /v1/qwen3
  aiProtocols:
  - OpenAI/v1
  modelCategory: Text
  environments:
  - default
  - staging
consumerGroups:
- name: Default-consumer-group
  description: Default consumer group
- name: Ops
- name: team-a
  description: the A team
  rules:
  - api: qwen3-chat
    environment: default
  rateLimit:
    perMinute: 600
    policy: cluster
  quotas:
  - metric: requests
    period: week
    amount: 50000
consumers:
- name: alice
  groups:
  - Ops
  - team-a
  rules:
  - api: qwen3-chat
    environment: default
  - api: qwen3-chat
    environment: staging
    expiresAt: 2100-01-01T00:00:00Z
  quotas:
  - metric: requests
    period: day
    amount: 1000
    warnPercent: 90
  - metric: tokens
    period: month
    amount: 2000000
    timeZone: Europe/Berlin
- name: bob
  description: on leave
keys:
- name: alice-key
  prefix: {prefix}
  consumer: alice
  expiresAt: 2100-01-01T00:00:00Z
  rateLimit:
    perSecond: 5
- name: spare
  prefix: {spare}
",
    );
    assert_eq!(yaml, expected);
    assert!(!yaml.contains(ALICE_KEY));

    // It reads back as the format it names, and a second export is byte-identical.
    let read = config::from_yaml(&yaml).unwrap();
    assert_eq!(config::to_yaml(&read).unwrap(), yaml);
    assert_eq!(export(&app, &admin, &gw, "").await.3, yaml);
}

#[tokio::test]
async fn a_change_shows_in_the_export_as_the_lines_it_changed() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let gw = shaped_gateway(&app, &admin).await;
    let before = export(&app, &admin, &gw, "").await.3;
    let bob = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumers?gatewayId={gw}&nameLike=bob"),
            None,
        )
        .await;
    let bob = ok(&bob)["items"][0].clone();
    let path = format!(
        "/v1/consumers/{}/status",
        bob["consumerId"].as_str().unwrap()
    );
    ok(&app
        .rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"enabled": false, "version": bob["version"]})),
        )
        .await);
    let after = export(&app, &admin, &gw, "").await.3;
    let removed: Vec<&str> = before
        .lines()
        .filter(|l| !after.lines().any(|a| a == *l))
        .collect();
    let added: Vec<&str> = after
        .lines()
        .filter(|l| !before.lines().any(|b| b == *l))
        .collect();
    assert_eq!((removed, added), (vec![], vec!["  enabled: false"]));
    assert!(
        after.contains("- name: bob\n  description: on leave\n  enabled: false\n"),
        "{after}"
    );
}

#[tokio::test]
async fn key_hashes_are_exported_only_when_an_admin_asks_and_bad_requests_are_refused() {
    let app = spawn_app().await;
    let (admin, viewer) = (app.token("admin").await, app.token("viewer").await);
    let gw = shaped_gateway(&app, &admin).await;

    let (status, _, _, with_hashes) = export(&app, &admin, &gw, "?includeKeyHashes=true").await;
    assert_eq!(status, 200);
    let hashes: Vec<&str> = with_hashes
        .lines()
        .filter(|l| l.starts_with("  hash: "))
        .collect();
    assert_eq!(hashes.len(), 2, "{with_hashes}");
    use sha2::Digest;
    let alice = hex::encode(sha2::Sha256::digest(ALICE_KEY.as_bytes()));
    assert!(
        hashes.contains(&format!("  hash: {alice}").as_str()),
        "{with_hashes}"
    );
    assert!(!with_hashes.contains(ALICE_KEY));

    // A Viewer exports too, but never the hashes.
    let (status, _, _, plain) = export(&app, &viewer, &gw, "").await;
    assert_eq!(status, 200);
    assert!(!plain.contains("hash:"));
    let denied = export(&app, &viewer, &gw, "?includeKeyHashes=true").await;
    assert_eq!(
        (denied.0, envelope_code(&denied.3)),
        (403, "Forbidden".into())
    );

    let bad = export(&app, &admin, &gw, "?includeKeyHashes=yes").await;
    assert_eq!(
        (bad.0, envelope_code(&bad.3)),
        (400, "InvalidParameter.IncludeKeyHashes".into())
    );
    let missing = app
        .rest(
            Some(&admin),
            "GET",
            "/v1/gateways/gw-00000000000000000000/export",
            None,
        )
        .await;
    refused(&missing, 404, "NotFound.Gateway");
    let malformed = app
        .rest(Some(&admin), "GET", "/v1/gateways/nonsense/export", None)
        .await;
    refused(&malformed, 404, "NotFound.Gateway");

    // Without a token or session: nothing.
    let anonymous = client()
        .get(format!("{}/v1/gateways/{gw}/export", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

fn envelope_code(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap()["code"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_schema_describes_the_format() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let res = client()
        .get(format!("{}/v1/schemas/gateway-config.json", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/schema+json");
    let schema: Value = res.json().await.unwrap();
    assert_eq!(schema["title"], "Gateway Console configuration");
    let props = schema["properties"].as_object().unwrap();
    for field in [
        "version",
        "gateway",
        "environments",
        "modelApis",
        "consumerGroups",
        "consumers",
        "keys",
    ] {
        assert!(props.contains_key(field), "{field}: {schema}");
    }
    assert_eq!(schema["additionalProperties"], false);
}

#[tokio::test]
async fn the_cli_writes_what_the_service_exports() {
    let (url, _dir) = fresh_database_url().await;
    let db = Db::connect(&url).await.unwrap();
    assert!(demo::seed(&db).await.unwrap());
    let gw = db_gateway(&db).await;
    let exported = config::export_gateway(&db, &Actor::system("test"), &gw, false)
        .await
        .unwrap();
    let expected = config::to_yaml(&exported).unwrap();
    assert!(expected.contains("rules:"), "{expected}");

    let run = |args: Vec<String>| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new(BIN)
                    .args(args)
                    .env("DATABASE_URL", url)
                    .env("RUST_LOG", "error")
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let out = run(vec!["export".into(), "--gateway".into(), gw.clone()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);

    let file = tempfile::tempdir().unwrap();
    let path = file.path().join("gw.yaml");
    let out = run(vec![
        "export".into(),
        "--gateway".into(),
        gw.clone(),
        "--output".into(),
        path.display().to_string(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);

    let out = run(vec![
        "export".into(),
        "--gateway".into(),
        "gw-00000000000000000000".into(),
    ])
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("gw-00000000000000000000") && err.contains("does not exist"),
        "{err}"
    );
}

async fn db_gateway(db: &Db) -> String {
    let page = gateway_console::service::instances::list_instances(
        db,
        "",
        gateway_console::domain::PageRequest::default(),
    )
    .await
    .unwrap();
    page.items[0].id.clone()
}
