//! The REST calls that decide enforcement: key enable/disable, expiry, rotation and delete;
//! consumer and group status; group membership. Errors, permissions, audit, and the change
//! counter the enforcement snapshot follows.

use crate::common::{ok, refused, spawn_app, Rest, TestApp};
use serde_json::{json, Value};

struct World {
    token: String,
    gateway: String,
    group: String,
    consumer: String,
    key: String,
    key_value: String,
}

async fn world(app: &TestApp) -> World {
    let token = app.token("admin").await;
    let t = Some(token.as_str());
    let gw =
        json!({"name": "status-gw", "region": "local", "engineVersion": "1", "description": ""});
    let gateway = ok(&app.rest(t, "POST", "/v1/gateways", Some(gw)).await)["gatewayId"]
        .as_str()
        .unwrap()
        .to_owned();
    let g = json!({"gatewayId": gateway, "name": "team", "description": ""});
    let group = ok(&app.rest(t, "POST", "/v1/consumer-groups", Some(g)).await)["consumerGroupId"]
        .as_str()
        .unwrap()
        .to_owned();
    let c = json!({"gatewayId": gateway, "name": "alice"});
    let consumer = ok(&app.rest(t, "POST", "/v1/consumers", Some(c)).await)["consumerId"]
        .as_str()
        .unwrap()
        .to_owned();
    let k = json!({"gatewayId": gateway, "name": "alice-key"});
    let created = ok(&app.rest(t, "POST", "/v1/keys", Some(k)).await).clone();
    World {
        token,
        gateway,
        group,
        consumer,
        key: created["key"]["keyId"].as_str().unwrap().to_owned(),
        key_value: created["value"].as_str().unwrap().to_owned(),
    }
}

async fn revision(app: &TestApp, gateway: &str) -> i64 {
    sqlx::query_scalar("SELECT revision FROM instances WHERE id = $1")
        .bind(gateway)
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn keys_can_be_disabled_given_an_expiry_rotated_and_deleted_once_unbound() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    let key_path = format!("/v1/keys/{}", w.key);
    let before = revision(&app, &w.gateway).await;

    // Expiry: a past time is refused and changes nothing; a future one is kept; null clears.
    // Every change names the version it saw.
    let version = |k: &Value| k["version"].as_i64().unwrap();
    let mut v = version(ok(&app.rest(t, "GET", &key_path, None).await));
    let past = json!({"expiresAt": 1000, "version": v});
    refused(
        &app.rest(t, "PATCH", &key_path, Some(past)).await,
        400,
        "InvalidParameter.ExpiresAt",
    );
    let future = gateway_console::store::now_ms() + 3_600_000;
    let k = app
        .rest(
            t,
            "PATCH",
            &key_path,
            Some(json!({"expiresAt": future, "version": v})),
        )
        .await;
    assert_eq!(ok(&k)["expiresAt"], future);
    assert_eq!(ok(&k)["enabled"], true);
    let stale = json!({"enabled": false, "version": v});
    refused(
        &app.rest(t, "PATCH", &key_path, Some(stale)).await,
        409,
        "Conflict.Version",
    );
    v = version(ok(&k));
    let k = app
        .rest(
            t,
            "PATCH",
            &key_path,
            Some(json!({"enabled": false, "version": v})),
        )
        .await;
    assert_eq!(ok(&k)["enabled"], false);
    assert_eq!(ok(&k)["expiresAt"], future, "a field left out is kept");
    v = version(ok(&k));
    let k = app
        .rest(
            t,
            "PATCH",
            &key_path,
            Some(json!({"expiresAt": null, "version": v})),
        )
        .await;
    assert!(ok(&k)["expiresAt"].is_null());
    let wrong = json!({"enabled": "yes", "version": version(ok(&k))});
    assert_eq!(
        app.rest(t, "PATCH", &key_path, Some(wrong)).await.status,
        400
    );
    let unversioned = json!({"enabled": true});
    assert_eq!(
        app.rest(t, "PATCH", &key_path, Some(unversioned))
            .await
            .status,
        400
    );
    let past_new = json!({"gatewayId": w.gateway, "name": "old", "expiresAt": 5});
    refused(
        &app.rest(t, "POST", "/v1/keys", Some(past_new)).await,
        400,
        "InvalidParameter.ExpiresAt",
    );

    // Rotation: a bad grace period is refused; a good one gives a new value for the same ID.
    for grace in [-1, 30 * 24 * 3600 + 1] {
        let r = app
            .rest(
                t,
                "POST",
                &format!("{key_path}/rotate"),
                Some(json!({"gracePeriodSeconds": grace})),
            )
            .await;
        refused(&r, 400, "InvalidParameter.GracePeriodSeconds");
    }
    let r = app
        .rest(
            t,
            "POST",
            &format!("{key_path}/rotate"),
            Some(json!({"gracePeriodSeconds": 60})),
        )
        .await;
    let rotated = ok(&r);
    assert_eq!(rotated["key"]["keyId"], w.key.as_str());
    let new_value = rotated["value"].as_str().unwrap().to_owned();
    assert_ne!(new_value, w.key_value);
    assert!(new_value.starts_with("gck_"));
    assert_eq!(rotated["key"]["prefix"], &new_value[..8]);
    let shown = app.rest(t, "GET", &key_path, None).await;
    assert!(!shown.body.to_string().contains(&new_value));

    // Bound, the key cannot be deleted; its dependency is the consumer.
    let bind = json!({"keyId": w.key});
    let cred = format!("/v1/consumers/{}/credentials", w.consumer);
    ok(&app.rest(t, "POST", &cred, Some(bind)).await);
    let deps = app
        .rest(t, "GET", &format!("{key_path}/dependencies"), None)
        .await;
    assert_eq!(
        ok(&deps)["dependencies"][0]["resourceId"],
        w.consumer.as_str()
    );
    let r = app.rest(t, "DELETE", &key_path, None).await;
    refused(&r, 409, "Conflict.Dependencies");
    assert_eq!(r.body["data"]["dependencies"][0]["kind"], "BoundConsumer");
    ok(&app
        .rest(t, "DELETE", &format!("{cred}/{}", w.key), None)
        .await);
    ok(&app.rest(t, "DELETE", &key_path, None).await);
    refused(
        &app.rest(t, "GET", &key_path, None).await,
        404,
        "NotFound.Key",
    );
    refused(
        &app.rest(
            t,
            "PATCH",
            &key_path,
            Some(json!({"enabled": true, "version": 1})),
        )
        .await,
        404,
        "NotFound.Key",
    );

    // Every change was audited without the key's value, and counted for enforcement.
    let audited: Vec<(String, String)> = sqlx::query_as(
        "SELECT action, summary FROM audit_events WHERE resource_id = $1 ORDER BY created_at",
    )
    .bind(&w.key)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    let actions: Vec<&str> = audited.iter().map(|(a, _)| a.as_str()).collect();
    for action in ["CreateKey", "UpdateKey", "RotateKey", "DeleteKey"] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    for (_, summary) in &audited {
        assert!(!summary.contains(&w.key_value) && !summary.contains(&new_value));
    }
    assert!(revision(&app, &w.gateway).await >= before + 7);
}

#[tokio::test]
async fn consumers_and_groups_are_enabled_and_disabled_with_optimistic_concurrency() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());

    let status = format!("/v1/consumers/{}/status", w.consumer);
    let stale = json!({"enabled": false, "version": 99});
    refused(
        &app.rest(t, "PUT", &status, Some(stale)).await,
        409,
        "Conflict.Version",
    );
    let c = app
        .rest(
            t,
            "PUT",
            &status,
            Some(json!({"enabled": false, "version": 1})),
        )
        .await;
    assert_eq!(ok(&c)["enabled"], false);
    let got = app
        .rest(t, "GET", &format!("/v1/consumers/{}", w.consumer), None)
        .await;
    assert_eq!(ok(&got)["enabled"], false);
    assert_eq!(ok(&got)["version"], 2);

    let gstatus = format!("/v1/consumer-groups/{}/status", w.group);
    refused(
        &app.rest(t, "PUT", &gstatus, Some(stale_group())).await,
        409,
        "Conflict.Version",
    );
    let g = app
        .rest(
            t,
            "PUT",
            &gstatus,
            Some(json!({"enabled": false, "version": 1})),
        )
        .await;
    assert_eq!(ok(&g)["enabled"], false);
    refused(
        &app.rest(
            t,
            "PUT",
            "/v1/consumer-groups/cg-d4g5h6j7k8l9m0n1p2q3/status",
            Some(json!({"enabled": true, "version": 1})),
        )
        .await,
        404,
        "NotFound.ConsumerGroup",
    );
    assert_eq!(
        app.rest(t, "PUT", &gstatus, Some(json!({"enabled": true})))
            .await
            .status,
        400
    );
}

fn stale_group() -> Value {
    json!({"enabled": false, "version": 42})
}

#[tokio::test]
async fn group_membership_is_added_and_removed_within_the_instance() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    let groups = format!("/v1/consumers/{}/groups", w.consumer);

    let c = app
        .rest(
            t,
            "POST",
            &groups,
            Some(json!({"consumerGroupId": w.group})),
        )
        .await;
    assert_eq!(ok(&c)["groups"][0]["consumerGroupId"], w.group.as_str());
    let again = app
        .rest(
            t,
            "POST",
            &groups,
            Some(json!({"consumerGroupId": w.group})),
        )
        .await;
    refused(&again, 400, "InvalidParameter.ConsumerGroupId");
    let unknown = json!({"consumerGroupId": "cg-d4g5h6j7k8l9m0n1p2q3"});
    refused(
        &app.rest(t, "POST", &groups, Some(unknown)).await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );
    let malformed = json!({"consumerGroupId": "nope"});
    refused(
        &app.rest(t, "POST", &groups, Some(malformed)).await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );

    // A group of another gateway cannot be joined.
    let gw2 =
        json!({"name": "other-gw", "region": "local", "engineVersion": "1", "description": ""});
    let gw2 = ok(&app.rest(t, "POST", "/v1/gateways", Some(gw2)).await)["gatewayId"].clone();
    let g2 = json!({"gatewayId": gw2, "name": "elsewhere", "description": ""});
    let g2 =
        ok(&app.rest(t, "POST", "/v1/consumer-groups", Some(g2)).await)["consumerGroupId"].clone();
    refused(
        &app.rest(t, "POST", &groups, Some(json!({"consumerGroupId": g2})))
            .await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );

    let leave = format!("{groups}/{}", w.group);
    let c = app.rest(t, "DELETE", &leave, None).await;
    assert_eq!(ok(&c)["groups"].as_array().unwrap().len(), 0);
    refused(
        &app.rest(t, "DELETE", &leave, None).await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );
}

#[tokio::test]
async fn a_viewer_token_cannot_change_status_keys_or_memberships() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let viewer = app.token("viewer").await;
    let v = Some(viewer.as_str());
    let key_path = format!("/v1/keys/{}", w.key);
    for (method, path, body) in [
        (
            "PATCH",
            key_path.clone(),
            Some(json!({"enabled": false, "version": 1})),
        ),
        ("POST", format!("{key_path}/rotate"), Some(json!({}))),
        ("DELETE", key_path.clone(), None),
        (
            "PUT",
            format!("/v1/consumers/{}/status", w.consumer),
            Some(json!({"enabled": false, "version": 1})),
        ),
        (
            "PUT",
            format!("/v1/consumer-groups/{}/status", w.group),
            Some(json!({"enabled": false, "version": 1})),
        ),
        (
            "POST",
            format!("/v1/consumers/{}/groups", w.consumer),
            Some(json!({"consumerGroupId": w.group})),
        ),
    ] {
        refused(&app.rest(v, method, &path, body).await, 403, "Forbidden");
    }
    let k = app.rest(v, "GET", &key_path, None).await;
    assert_eq!(ok(&k)["enabled"], true);
}

#[tokio::test]
async fn a_key_can_have_a_custom_value_that_is_checked_and_unique() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    for value in [
        "short",
        "my-own-key-value-1",
        "has a space in it, 0123456789 abcdef",
        "nön-ascii-value-0123456789-abcdefghij",
        "aaaa-bbbb-cccc-dddd-1111-2222-3333",
    ] {
        let body = json!({"gatewayId": w.gateway, "name": "custom", "value": value});
        let r = app.rest(t, "POST", "/v1/keys", Some(body)).await;
        refused(&r, 400, "InvalidParameter.Value");
    }
    let body = json!({"gatewayId": w.gateway, "name": "custom", "value": "my-own-key-value-0123456789-abcdefXYZ"});
    let created = app.rest(t, "POST", "/v1/keys", Some(body)).await;
    assert_eq!(
        ok(&created)["value"],
        "my-own-key-value-0123456789-abcdefXYZ"
    );
    assert_eq!(ok(&created)["key"]["prefix"], "my-own-k");
    let again = json!({"gatewayId": w.gateway, "name": "custom-2", "value": "my-own-key-value-0123456789-abcdefXYZ"});
    refused(
        &app.rest(t, "POST", "/v1/keys", Some(again)).await,
        400,
        "InvalidParameter.Value",
    );
    let listed = app
        .rest(t, "GET", &format!("/v1/keys?gatewayId={}", w.gateway), None)
        .await;
    assert!(!listed
        .body
        .to_string()
        .contains("my-own-key-value-0123456789-abcdefXYZ"));
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT summary FROM audit_events WHERE action = 'CreateKey'")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    assert!(audited
        .iter()
        .all(|s| !s.contains("my-own-key-value-0123456789-abcdefXYZ")));
    assert!(audited.iter().any(|s| s.ends_with("value=custom")));
}

#[tokio::test]
async fn consumers_are_found_by_group_and_by_the_key_they_hold() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    let bob = json!({"gatewayId": w.gateway, "name": "bob", "consumerGroupIds": [w.group]});
    let bob = ok(&app.rest(t, "POST", "/v1/consumers", Some(bob)).await)["consumerId"].clone();
    let bind = json!({"keyId": w.key});
    let cred = format!("/v1/consumers/{}/credentials", w.consumer);
    ok(&app.rest(t, "POST", &cred, Some(bind)).await);

    let names = |r: &Rest| -> Vec<String> {
        ok(r)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let base = format!("/v1/consumers?gatewayId={}", w.gateway);
    let in_group = app
        .rest(
            t,
            "GET",
            &format!("{base}&consumerGroupId={}", w.group),
            None,
        )
        .await;
    assert_eq!(names(&in_group), ["bob"]);
    assert_eq!(ok(&in_group)["totalSize"], 1);
    let holder = app
        .rest(t, "GET", &format!("{base}&keyLike=ALICE-K"), None)
        .await;
    assert_eq!(names(&holder), ["alice"]);
    let prefix = &w.key_value[..6];
    let by_prefix = app
        .rest(t, "GET", &format!("{base}&keyLike={prefix}"), None)
        .await;
    assert_eq!(names(&by_prefix), ["alice"]);
    let both = app
        .rest(
            t,
            "GET",
            &format!("{base}&consumerGroupId={}&keyLike=alice", w.group),
            None,
        )
        .await;
    assert_eq!(ok(&both)["totalSize"], 0);
    let all = app.rest(t, "GET", &base, None).await;
    assert_eq!(ok(&all)["totalSize"], 2);
    assert_eq!(bob, ok(&all)["items"][0]["consumerId"]);
    refused(
        &app.rest(t, "GET", &format!("{base}&consumerGroupId=nope"), None)
            .await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );
    let long = "k".repeat(101);
    refused(
        &app.rest(t, "GET", &format!("{base}&keyLike={long}"), None)
            .await,
        400,
        "InvalidParameter.KeyLike",
    );
}

#[tokio::test]
async fn groups_are_renamed_with_their_version_and_deleted_only_when_unused() {
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    let path = format!("/v1/consumer-groups/{}", w.group);
    let stale = json!({"name": "team-x", "description": "", "version": 9});
    refused(
        &app.rest(t, "PUT", &path, Some(stale)).await,
        409,
        "Conflict.Version",
    );
    let bad = json!({"name": "9lives", "description": "", "version": 1});
    refused(
        &app.rest(t, "PUT", &path, Some(bad)).await,
        400,
        "InvalidParameter.Name",
    );
    let renamed = app
        .rest(
            t,
            "PUT",
            &path,
            Some(json!({"name": "team-x", "description": "renamed", "version": 1})),
        )
        .await;
    assert_eq!(ok(&renamed)["name"], "team-x");
    assert_eq!(ok(&renamed)["version"], 2);

    // A member keeps it.
    let join = json!({"consumerGroupId": w.group});
    ok(&app
        .rest(
            t,
            "POST",
            &format!("/v1/consumers/{}/groups", w.consumer),
            Some(join),
        )
        .await);
    let deps = app
        .rest(t, "GET", &format!("{path}/dependencies"), None)
        .await;
    assert_eq!(ok(&deps)["dependencies"][0]["kind"], "Member");
    assert_eq!(
        ok(&deps)["dependencies"][0]["resourceId"],
        w.consumer.as_str()
    );
    let r = app.rest(t, "DELETE", &path, None).await;
    refused(&r, 409, "Conflict.Dependencies");
    let leave = format!("/v1/consumers/{}/groups/{}", w.consumer, w.group);
    ok(&app.rest(t, "DELETE", &leave, None).await);
    ok(&app.rest(t, "DELETE", &path, None).await);
    refused(
        &app.rest(t, "GET", &path, None).await,
        404,
        "NotFound.ConsumerGroup",
    );

    // The default group stays, under its name.
    let list = app
        .rest(
            t,
            "GET",
            &format!(
                "/v1/consumer-groups?gatewayId={}&nameLike=default",
                w.gateway
            ),
            None,
        )
        .await;
    let default = ok(&list)["items"][0].clone();
    let dpath = format!(
        "/v1/consumer-groups/{}",
        default["consumerGroupId"].as_str().unwrap()
    );
    refused(
        &app.rest(t, "DELETE", &dpath, None).await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );
    let rename = json!({"name": "other", "description": "", "version": default["version"]});
    refused(
        &app.rest(t, "PUT", &dpath, Some(rename)).await,
        400,
        "InvalidParameter.ConsumerGroupId",
    );
    let describe =
        json!({"name": default["name"], "description": "ours", "version": default["version"]});
    assert_eq!(
        ok(&app.rest(t, "PUT", &dpath, Some(describe)).await)["description"],
        "ours"
    );
}

#[tokio::test]
async fn a_broken_unique_rule_is_told_by_its_column_on_both_engines() {
    use gateway_console::domain::keys::hash_key;
    use gateway_console::domain::records::ApiKey;
    use gateway_console::store::{breaks_unique, keys};
    let app = spawn_app().await;
    let w = world(&app).await;
    let t = Some(w.token.as_str());
    let value = "unique-rule-0123456789-abcdefXYZ";
    let body = json!({"gatewayId": w.gateway, "name": "first", "value": value});
    ok(&app.rest(t, "POST", "/v1/keys", Some(body)).await);
    let row = |name: &str| ApiKey {
        id: gateway_console::domain::ResourceId::generate(gateway_console::domain::IdKind::Key)
            .to_string(),
        instance_id: w.gateway.clone(),
        name: name.into(),
        prefix: "x".into(),
        consumer: None,
        enabled: true,
        expires_at: None,
        created_at: 1,
        updated_at: 1,
        version: 1,
    };
    let mut conn = app.db.pool.acquire().await.unwrap();
    let same_value = keys::insert(&mut conn, &row("second"), "second", &hash_key(value))
        .await
        .unwrap_err();
    assert!(breaks_unique(&same_value, "key_hash"), "{same_value}");
    assert!(!breaks_unique(&same_value, "name_key"), "{same_value}");
    let same_name = keys::insert(&mut conn, &row("first"), "first", &hash_key("another"))
        .await
        .unwrap_err();
    assert!(breaks_unique(&same_name, "name_key"), "{same_name}");
    assert!(!breaks_unique(&same_name, "key_hash"), "{same_name}");
}
