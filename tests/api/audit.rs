//! The audit log over REST: every change is there with its actor, request ID and a summary
//! without secrets; filters by gateway, resource, actor and time; bad filters are refused.

use crate::common::{ok, spawn_app};
use serde_json::json;

#[tokio::test]
async fn every_change_is_in_the_audit_log_and_can_be_filtered() {
    let app = spawn_app().await;
    let token = app.token("admin").await;
    let t = Some(token.as_str());
    let gw = json!({"name": "audited", "region": "local", "engineVersion": "1", "description": ""});
    let created = app.rest(t, "POST", "/v1/gateways", Some(gw)).await;
    let gateway = ok(&created)["gatewayId"].as_str().unwrap().to_owned();
    let key = json!({"gatewayId": gateway, "name": "audited-key"});
    let k = app.rest(t, "POST", "/v1/keys", Some(key)).await;
    let (key_id, value) = (
        ok(&k)["key"]["keyId"].as_str().unwrap().to_owned(),
        ok(&k)["value"].as_str().unwrap().to_owned(),
    );
    let c = json!({"gatewayId": gateway, "name": "audited-consumer", "keyIds": [key_id]});
    let consumer = app.rest(t, "POST", "/v1/consumers", Some(c)).await;
    let consumer_id = ok(&consumer)["consumerId"].as_str().unwrap().to_owned();
    let rotated = app
        .rest(
            t,
            "POST",
            &format!("/v1/keys/{key_id}/rotate"),
            Some(json!({})),
        )
        .await;
    let new_value = ok(&rotated)["value"].as_str().unwrap().to_owned();

    // The gateway's log: newest first, with the token that made each change.
    let log = app
        .rest(
            t,
            "GET",
            &format!("/v1/audit-events?gatewayId={gateway}&pageSize=100"),
            None,
        )
        .await;
    let items = ok(&log)["items"].as_array().unwrap().clone();
    let actions: Vec<&str> = items
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions[0], "RotateKey", "{actions:?}");
    for action in ["CreateKey", "CreateConsumer", "RotateKey"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(items.iter().all(|e| e["actor"] == "admin (tests)"));
    assert!(items.iter().all(|e| e["gatewayId"] == gateway.as_str()));
    assert!(items
        .iter()
        .all(|e| !e["requestId"].as_str().unwrap().is_empty()));
    let text = log.body.to_string();
    assert!(!text.contains(&value) && !text.contains(&new_value));
    assert!(!text.contains(&gateway_console::domain::keys::hash_key(&value)));
    let times: Vec<i64> = items
        .iter()
        .map(|e| e["createdAt"].as_i64().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]));

    // The request ID of a change is the one its answer carried.
    let by_request = items
        .iter()
        .find(|e| e["requestId"] == rotated.request_id.as_str());
    assert_eq!(by_request.unwrap()["action"], "RotateKey");

    // By resource, by actor, by time.
    let q = format!("/v1/audit-events?resourceType=Consumer&resourceId={consumer_id}");
    let only = app.rest(t, "GET", &q, None).await;
    assert_eq!(ok(&only)["totalSize"], 1);
    assert_eq!(ok(&only)["items"][0]["action"], "CreateConsumer");
    let q = "/v1/audit-events?actor=NOBODY-ELSE";
    assert_eq!(ok(&app.rest(t, "GET", q, None).await)["totalSize"], 0);
    let q = "/v1/audit-events?actor=ADMIN%20(TESTS)";
    let mine = app.rest(t, "GET", q, None).await;
    assert!(ok(&mine)["totalSize"].as_i64().unwrap() >= 4);
    let after_all = times[0] + 1;
    let q = format!("/v1/audit-events?gatewayId={gateway}&from={after_all}");
    assert_eq!(ok(&app.rest(t, "GET", &q, None).await)["totalSize"], 0);
    let q = format!("/v1/audit-events?gatewayId={gateway}&to={after_all}");
    assert_eq!(
        ok(&app.rest(t, "GET", &q, None).await)["totalSize"],
        items.len()
    );

    // Tokens made by the CLI (as `token()` does) or over REST, and their revocation, too.
    let made = app
        .rest(
            t,
            "POST",
            "/v1/tokens",
            Some(json!({"name": "short-lived"})),
        )
        .await;
    let token_id = ok(&made)["token"]["tokenId"].as_str().unwrap().to_owned();
    let secret = ok(&made)["value"].as_str().unwrap().to_owned();
    ok(&app
        .rest(t, "DELETE", &format!("/v1/tokens/{token_id}"), None)
        .await);
    let q = "/v1/audit-events?resourceType=ApiToken&pageSize=100";
    let tokens = app.rest(t, "GET", q, None).await;
    let actions: Vec<&str> = ok(&tokens)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| **a == "CreateApiToken").count(),
        2,
        "{actions:?}"
    );
    assert_eq!(actions[0], "RevokeApiToken");
    assert!(!tokens.body.to_string().contains(&secret));

    // A Viewer reads it too.
    let viewer = app.token("viewer").await;
    let seen = app
        .rest(Some(&viewer), "GET", "/v1/audit-events", None)
        .await;
    assert!(ok(&seen)["totalSize"].as_i64().unwrap() >= 4);
}

#[tokio::test]
async fn bad_audit_filters_are_refused_with_the_field_named() {
    let app = spawn_app().await;
    let token = app.token("admin").await;
    let t = Some(token.as_str());
    for (query, code) in [
        ("resourceType=Instance", "InvalidParameter.ResourceType"),
        ("from=yesterday", "InvalidParameter.From"),
        ("to=1.5", "InvalidParameter.To"),
        ("from=10&to=5", "InvalidParameter.To"),
        ("pageSize=101", "InvalidParameter.PageSize"),
        ("gatewayId=gw-d4g5h6j7k8l9m0n1p2q3", "NotFound.Gateway"),
    ] {
        let r = app
            .rest(t, "GET", &format!("/v1/audit-events?{query}"), None)
            .await;
        assert_eq!(r.body["code"], code, "{query}: {}", r.body);
    }
    let long = "x".repeat(101);
    let r = app
        .rest(t, "GET", &format!("/v1/audit-events?actor={long}"), None)
        .await;
    assert_eq!(r.body["code"], "InvalidParameter.Actor");
    let r = app.rest(None, "GET", "/v1/audit-events", None).await;
    assert_eq!(r.status, 401);
}
