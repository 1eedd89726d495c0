//! The access check (`POST /v1/gateways/{id}/authz/explain`): its decision is the one the
//! check gives the same request (compared through the real `/authz/check`), with a trace
//! that names the consumer, the API matched and every rule considered; typed keys are for
//! Admins; bad questions get specific errors.

use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_with, TestApp};
use serde_json::{json, Value};

/// 2100-01-01T00:00:00Z
const Y2100: i64 = 4_102_444_800_000;
pub(crate) const ALICE_KEY: &str = "explain-alice-0123456789-abcdefghijklmnopq";
pub(crate) const BOB_KEY: &str = "explain-bob-0123456789-abcdefghijklmnopqrstu";

pub(crate) struct Gw {
    pub id: String,
    pub alice: String,
    pub bob: String,
    pub team: String,
}

fn id(r: &crate::common::Rest, field: &str) -> String {
    ok(r)[field].as_str().unwrap().to_owned()
}

/// alice holds a key and belongs to `team`, whose rule grants `chat` in the default
/// environment; alice's own rule grants `chat` in `staging`; bob holds a key and no rule.
pub(crate) async fn gateway(app: &TestApp, t: &str, gw_name: &str) -> Gw {
    let t = Some(t);
    let post = |path: &'static str, body: Value| async move {
        app.rest(t, "POST", path, Some(body)).await
    };
    let gw = id(
        &post(
            "/v1/gateways",
            json!({"name": gw_name, "region": "eu-1", "engineVersion": "2.1.4", "description": ""}),
        )
        .await,
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
        &post(
            "/v1/environments",
            json!({"gatewayId": gw, "name": "staging"}),
        )
        .await,
        "environmentId",
    );
    let chat = id(
        &post(
            "/v1/model-apis",
            json!({"gatewayId": gw, "name": "chat", "basePath": "/v1/chat",
            "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text", "description": "",
            "environmentIds": [default_env, staging]}),
        )
        .await,
        "apiId",
    );
    let team = id(
        &post(
            "/v1/consumer-groups",
            json!({"gatewayId": gw, "name": "team", "description": ""}),
        )
        .await,
        "consumerGroupId",
    );
    let mut keys = vec![];
    for (name, value) in [("alice-key", ALICE_KEY), ("bob-key", BOB_KEY)] {
        // Values are unique across gateways: another gateway's keys carry its name.
        let value = match gw_name {
            "explain-gw" => value.to_owned(),
            other => format!("{value}-{other}"),
        };
        let k = post(
            "/v1/keys",
            json!({"gatewayId": gw, "name": name, "value": value}),
        )
        .await;
        keys.push(ok(&k)["key"]["keyId"].as_str().unwrap().to_owned());
    }
    let alice = id(
        &post("/v1/consumers", json!({"gatewayId": gw, "name": "alice", "consumerGroupIds": [team], "keyIds": [keys[0]]})).await,
        "consumerId",
    );
    let bob = id(
        &post(
            "/v1/consumers",
            json!({"gatewayId": gw, "name": "bob", "keyIds": [keys[1]]}),
        )
        .await,
        "consumerId",
    );
    for (ptype, principal, env, expiry) in [
        ("ConsumerGroup", &team, &default_env, None),
        ("Consumer", &alice, &staging, Some(Y2100)),
    ] {
        let mut rule = json!({"principalType": ptype, "principalId": principal, "apiId": chat,
            "environmentId": env, "expireMode": "LongTerm"});
        if let Some(at) = expiry {
            rule["expireMode"] = json!("ShortTerm");
            rule["expireTimestamp"] = json!(at);
        }
        ok(&post("/v1/authorization-rules", rule).await);
    }
    Gw {
        id: gw,
        alice,
        bob,
        team,
    }
}

/// A key, a path, an environment, and the status and reason expected.
type Case<'a> = (&'a str, &'a str, Option<&'a str>, u16, Option<&'a str>);

async fn explain(app: &TestApp, t: &str, gw: &str, question: Value) -> crate::common::Rest {
    app.rest(
        Some(t),
        "POST",
        &format!("/v1/gateways/{gw}/authz/explain"),
        Some(question),
    )
    .await
}

/// The status the real check gives a key, path and environment.
pub(crate) async fn check(
    app: &TestApp,
    gw: &str,
    key: &str,
    path: &str,
    env: Option<&str>,
) -> u16 {
    let mut req = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gw)
        .header("x-original-uri", path)
        .bearer_auth(key);
    if let Some(e) = env {
        req = req.header("x-gateway-environment", e);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn an_explanation_is_the_checks_decision_with_every_rule_considered() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;

    let allowed = explain(
        &app,
        &admin,
        &gw.id,
        json!({"key": ALICE_KEY, "path": "/v1/chat/completions"}),
    )
    .await;
    let a = ok(&allowed);
    assert_eq!(
        (a["allowed"].clone(), a["status"].clone()),
        (json!(true), json!(200)),
        "{a}"
    );
    assert_eq!(
        a["key"],
        json!({"found": true, "enabled": true, "expiresAt": null})
    );
    assert_eq!(
        a["consumer"],
        json!({"consumerId": gw.alice, "name": "alice", "enabled": true})
    );
    assert_eq!(a["environment"]["name"], "default");
    assert_eq!(
        (a["api"]["name"].clone(), a["api"]["basePath"].clone()),
        (json!("chat"), json!("/v1/chat"))
    );
    // alice's own rule is for staging; her group's applies.
    let rules: Vec<(Value, Value, Value)> = a["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["consumerGroup"]["name"].clone(),
                r["environmentName"].clone(),
                r["verdict"].clone(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (Value::Null, json!("staging"), json!("other-environment")),
            (json!("team"), json!("default"), json!("applies")),
        ]
    );
    assert_eq!(a["rules"][0]["expiresAt"], Y2100);

    // The same decisions as the check, request by request.
    let cases: [Case; 6] = [
        (ALICE_KEY, "/v1/chat/completions", None, 200, None),
        (
            ALICE_KEY,
            "/v1/chat/completions",
            Some("staging"),
            200,
            None,
        ),
        (BOB_KEY, "/v1/chat/completions", None, 403, Some("no_rule")),
        (ALICE_KEY, "/v2/other", None, 403, Some("no_api")),
        (
            ALICE_KEY,
            "/v1/chat",
            Some("nowhere"),
            403,
            Some("unknown_environment"),
        ),
        (
            "not-a-key-of-this-gateway-0123456789abcdef",
            "/v1/chat",
            None,
            401,
            Some("unknown_key"),
        ),
    ];
    for (key, path, env, status, reason) in cases {
        let mut q = json!({"key": key, "path": path});
        if let Some(e) = env {
            q["environment"] = json!(e);
        }
        let e = explain(&app, &admin, &gw.id, q).await;
        let e = ok(&e);
        assert_eq!(
            check(&app, &gw.id, key, path, env).await,
            status,
            "{key} {path} {env:?}"
        );
        assert_eq!(
            (e["status"].as_u64().unwrap() as u16, e["reason"].as_str()),
            (status, reason),
            "{e}"
        );
    }

    // A disabled group: its rule no longer applies, and says why.
    let group = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumer-groups/{}", gw.team),
            None,
        )
        .await;
    let version = ok(&group)["version"].clone();
    let path = format!("/v1/consumer-groups/{}/status", gw.team);
    ok(&app
        .rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"enabled": false, "version": version})),
        )
        .await);
    let e = explain(
        &app,
        &admin,
        &gw.id,
        json!({"key": ALICE_KEY, "path": "/v1/chat"}),
    )
    .await;
    let e = ok(&e);
    assert_eq!(
        (e["status"].clone(), e["reason"].clone()),
        (json!(403), json!("no_rule")),
        "{e}"
    );
    assert_eq!(e["rules"][1]["verdict"], "group-disabled");
    assert_eq!(check(&app, &gw.id, ALICE_KEY, "/v1/chat", None).await, 403);

    // A consumer picked by name: the same as by ID; an unknown name is a clear error.
    let by_name = explain(
        &app,
        &admin,
        &gw.id,
        json!({"consumerName": "ALICE", "path": "/v1/chat", "environment": "staging"}),
    )
    .await;
    assert_eq!(ok(&by_name)["consumer"]["consumerId"], json!(gw.alice));
    let nobody = explain(
        &app,
        &admin,
        &gw.id,
        json!({"consumerName": "nobody", "path": "/v1/chat"}),
    )
    .await;
    refused(&nobody, 400, "InvalidParameter.ConsumerName");

    // A consumer picked instead of a key: the same decision, with no key step.
    let by_consumer = explain(
        &app,
        &admin,
        &gw.id,
        json!({"consumerId": gw.alice, "path": "/v1/chat", "environment": "staging"}),
    )
    .await;
    let c = ok(&by_consumer);
    assert_eq!(
        (c["status"].clone(), c["key"].clone()),
        (json!(200), Value::Null),
        "{c}"
    );
}

#[tokio::test]
async fn typed_keys_are_for_admins_and_bad_questions_are_refused() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let (admin, viewer) = (app.token("admin").await, app.token("viewer").await);
    let gw = gateway(&app, &admin, "explain-gw").await;

    refused(
        &explain(
            &app,
            &viewer,
            &gw.id,
            json!({"key": ALICE_KEY, "path": "/v1/chat"}),
        )
        .await,
        403,
        "Forbidden",
    );
    let as_viewer = explain(
        &app,
        &viewer,
        &gw.id,
        json!({"consumerId": gw.bob, "path": "/v1/chat"}),
    )
    .await;
    assert_eq!(ok(&as_viewer)["reason"], "no_rule");

    for (question, code) in [
        (json!({"path": "/v1/chat"}), "InvalidParameter.Key"),
        (
            json!({"key": ALICE_KEY, "consumerId": gw.alice, "path": "/v1/chat"}),
            "InvalidParameter.Key",
        ),
        (json!({"key": ALICE_KEY}), "InvalidParameter.Body"),
        (
            json!({"key": 7, "path": "/v1/chat"}),
            "InvalidParameter.Body",
        ),
        (
            json!({"key": ALICE_KEY, "path": "/".repeat(9000)}),
            "InvalidParameter.Path",
        ),
    ] {
        refused(&explain(&app, &admin, &gw.id, question).await, 400, code);
    }
    refused(
        &explain(
            &app,
            &admin,
            &gw.id,
            json!({"consumerId": "cs-00000000000000000000", "path": "/"}),
        )
        .await,
        404,
        "NotFound.Consumer",
    );
    refused(
        &explain(
            &app,
            &admin,
            &gw.id,
            json!({"consumerId": "nonsense", "path": "/"}),
        )
        .await,
        404,
        "NotFound.Consumer",
    );
    refused(
        &explain(
            &app,
            &admin,
            "gw-00000000000000000000",
            json!({"consumerId": gw.alice, "path": "/"}),
        )
        .await,
        404,
        "NotFound.Gateway",
    );
    // A consumer of another gateway is not one of this gateway's.
    let other = gateway(&app, &admin, "explain-other").await;
    refused(
        &explain(
            &app,
            &admin,
            &gw.id,
            json!({"consumerId": other.alice, "path": "/"}),
        )
        .await,
        404,
        "NotFound.Consumer",
    );

    // Asking changes nothing: no audit entry, no new revision.
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
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.iter().all(|a| !a.contains("explain")),
        "{actions:?}"
    );
}
