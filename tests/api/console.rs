//! The console's server functions end to end, over HTTP, against a real database.

use crate::common::{self, client, spawn_app, TestApp, VIEWER_PASSWORD};
use serde_json::{json, Value};

async fn new_instance(app: &TestApp, c: &reqwest::Client) -> String {
    let (s, v) = app
        .call_json(c, "create_instance", json!({"input": {"name": "gw-one", "region": "eu-central-1", "engineVersion": "2.1.4", "description": ""}}))
        .await;
    assert_eq!(s, 200, "{v}");
    v["gatewayId"].as_str().unwrap().to_owned()
}

async fn new_group(app: &TestApp, c: &reqwest::Client, instance: &str, name: &str) -> String {
    let (s, v) = app
        .call_json(
            c,
            "create_group",
            json!({"input": {"gatewayId": instance, "name": name, "description": ""}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["consumerGroupId"].as_str().unwrap().to_owned()
}

async fn new_key(app: &TestApp, c: &reqwest::Client, instance: &str, name: &str) -> Value {
    let (s, v) = app
        .call_json(
            c,
            "create_key",
            json!({"input": {"gatewayId": instance, "name": name}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

async fn consumers(app: &TestApp, c: &reqwest::Client, instance: &str, like: &str) -> Value {
    let (s, v) = app
        .call_form(
            c,
            "list_consumers",
            &[("instance_id", instance), ("name_like", like)],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[tokio::test]
async fn nothing_but_sign_in_and_health_is_reachable_anonymously() {
    let app = spawn_app().await;
    let c = client();
    assert_eq!(
        c.get(format!("{}/healthz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{}/readyz", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let page = c
        .get(format!("{}/instances?q=x", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(
        page.headers()["location"],
        "/login?next=%2Finstances%3Fq%3Dx"
    );
    let (s, v) = app.call_form(&c, "list_instances", &[("search", "")]).await;
    assert_eq!((s, v), (401, json!("Unauthorized")));
    assert_eq!(
        c.get(format!("{}/login", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_and_repeated_failures_are_throttled() {
    let app = spawn_app().await;
    let c = client();
    for _ in 0..5 {
        let (s, v) = app
            .call_form(
                &c,
                "sign_in",
                &[("username", "admin"), ("password", "nope")],
            )
            .await;
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["Invalid"]["message"], "Wrong username or password.");
    }
    let (s, _) = app
        .call_form(
            &c,
            "sign_in",
            &[("username", "admin"), ("password", common::ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(
        s, 429,
        "the account is locked for the window even with the right password"
    );
}

#[tokio::test]
async fn a_session_cookie_is_http_only_and_sign_out_ends_it() {
    let app = spawn_app().await;
    let c = client();
    let res = c
        .post(format!("{}/api/sign_in", app.base))
        .header("origin", &app.base)
        .form(&[("username", "admin"), ("password", common::ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_eq!(app.call_form(&c, "whoami", &[]).await.0, 200);
    assert_eq!(app.call_form(&c, "sign_out", &[]).await.0, 200);
    assert_eq!(app.call_form(&c, "whoami", &[]).await.0, 401);
}

#[tokio::test]
async fn a_consumer_is_created_with_groups_and_keys_and_listed() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let g = new_group(&app, &c, &gw, "partners").await;
    let k = new_key(&app, &c, &gw, "billing-key").await;
    assert!(k["value"].as_str().unwrap().starts_with("gck_"));
    let kid = k["key"]["keyId"].as_str().unwrap();
    let (s, v) = app
        .call_json(&c, "create_consumer", json!({"input": {"gatewayId": gw, "name": "billing", "consumerGroupIds": [g], "keyIds": [kid], "description": "<script>x</script>"}}))
        .await;
    assert_eq!(s, 200, "{v}");
    assert!(v["consumerId"].as_str().unwrap().starts_with("cs-"));
    let list = consumers(&app, &c, &gw, "BILL").await;
    assert_eq!(list["totalSize"], 1);
    assert_eq!(list["items"][0]["groups"][0]["name"], "partners");
    assert_eq!(list["items"][0]["credentials"][0]["name"], "billing-key");
    // The key value is never stored or listed again.
    let (_, keys) = app
        .call_form(
            &c,
            "list_keys",
            &[
                ("instance_id", &gw),
                ("search", ""),
                ("unbound_only", "false"),
            ],
        )
        .await;
    assert!(!keys.to_string().contains(k["value"].as_str().unwrap()));
    // A key binds to one consumer only.
    let (s, v) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "other", "keyIds": [kid]}}),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(
        consumers(&app, &c, &gw, "").await["totalSize"],
        1,
        "a refused create changes nothing"
    );
}

#[tokio::test]
async fn names_are_unique_per_instance_ignoring_case() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let body = |n: &str| json!({"input": {"gatewayId": gw, "name": n}});
    assert_eq!(
        app.call_json(&c, "create_consumer", body("Billing"))
            .await
            .0,
        200
    );
    let (s, v) = app.call_json(&c, "create_consumer", body("bILLING")).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["NameTaken"]["message"]
        .as_str()
        .unwrap()
        .contains("already exists"));
}

#[tokio::test]
async fn invalid_input_is_refused_with_a_specific_error_and_changes_nothing() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let long = "a".repeat(10_000);
    for name in [
        "",
        "1abc",
        "-abc",
        "abc_",
        "a b",
        "a\u{0}b",
        "<script>",
        "x'; DROP TABLE consumers; --",
        long.as_str(),
    ] {
        let (s, v) = app
            .call_json(
                &c,
                "create_consumer",
                json!({"input": {"gatewayId": gw, "name": name}}),
            )
            .await;
        assert_eq!(s, 400, "{name:?}: {v}");
        assert_eq!(v["Invalid"]["field"], "Name", "{name:?}: {v}");
    }
    let (s, v) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "ok", "description": long}}),
        )
        .await;
    assert_eq!(
        (s, v["Invalid"]["field"].clone()),
        (400, json!("Description"))
    );
    let (s, _) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "ok", "consumerGroupIds": ["cg-nope"]}}),
        )
        .await;
    assert_eq!(s, 400);
    for id in ["", "cs-", "cs-../../etc", "gw-zzzzzzzzzzzzzzzzzzzz", &long] {
        let (s, v) = app.call_form(&c, "get_consumer", &[("id", id)]).await;
        assert_eq!(s, 404, "{id:.40}: {v}");
        let (s, _) = app
            .call_form(
                &c,
                "list_consumers",
                &[("instance_id", id), ("name_like", "")],
            )
            .await;
        assert_eq!(s, 404);
    }
    let (s, _) = app
        .call_form(
            &c,
            "list_consumers",
            &[
                ("instance_id", &gw),
                ("name_like", "%_\\"),
                ("page_size", "1000"),
            ],
        )
        .await;
    assert_eq!(s, 400);
    let (s, v) = app
        .call_form(
            &c,
            "list_consumers",
            &[("instance_id", &gw), ("name_like", "%_\\")],
        )
        .await;
    assert_eq!((s, v["totalSize"].clone()), (200, json!(0)));
    assert_eq!(consumers(&app, &c, &gw, "").await["totalSize"], 0);
}

#[tokio::test]
async fn a_stale_edit_is_refused_as_a_version_conflict() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let (_, created) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "first"}}),
        )
        .await;
    let id = created["consumerId"].as_str().unwrap();
    let edit = |name: &str, version: i64| json!({"id": id, "input": {"name": name, "description": "d", "version": version}});
    let (s, v) = app
        .call_json(&c, "update_consumer", edit("second", 1))
        .await;
    assert_eq!((s, v["version"].clone()), (200, json!(2)));
    let (s, v) = app.call_json(&c, "update_consumer", edit("third", 1)).await;
    assert_eq!((s, v), (409, json!("Version")));
    let (_, now) = app.call_form(&c, "get_consumer", &[("id", id)]).await;
    assert_eq!(now["name"], "second");
}

#[tokio::test]
async fn delete_is_refused_while_dependencies_remain() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let k = new_key(&app, &c, &gw, "k1").await;
    let kid = k["key"]["keyId"].as_str().unwrap();
    let (_, created) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "app", "keyIds": [kid]}}),
        )
        .await;
    let id = created["consumerId"].as_str().unwrap();
    let (s, deps) = app
        .call_form(&c, "consumer_dependencies", &[("id", id)])
        .await;
    assert_eq!(s, 200);
    assert_eq!(deps[0]["kind"], "Credential");
    let (s, v) = app.call_form(&c, "delete_consumer", &[("id", id)]).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["Dependencies"][0]["name"], "k1");
    assert_eq!(
        app.call_form(
            &c,
            "unbind_credential",
            &[("consumer_id", id), ("key_id", kid)]
        )
        .await
        .0,
        200
    );
    let (_, deps) = app
        .call_form(&c, "consumer_dependencies", &[("id", id)])
        .await;
    assert_eq!(deps, json!([]));
    assert_eq!(
        app.call_form(&c, "delete_consumer", &[("id", id)]).await.0,
        200
    );
    assert_eq!(
        app.call_form(&c, "get_consumer", &[("id", id)]).await.0,
        404
    );
    // The key is free again and can be bound to another consumer.
    let (_, other) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "other"}}),
        )
        .await;
    let (s, v) = app
        .call_form(
            &c,
            "bind_credential",
            &[
                ("consumer_id", other["consumerId"].as_str().unwrap()),
                ("key_id", kid),
            ],
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["credentials"][0]["keyId"], kid);
}

#[tokio::test]
async fn a_viewer_sees_everything_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let gw = new_instance(&app, &admin).await;
    let viewer = app.signed_in("viewer", VIEWER_PASSWORD).await;
    assert_eq!(consumers(&app, &viewer, &gw, "").await["totalSize"], 0);
    let (s, v) = app
        .call_json(
            &viewer,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "sneaky"}}),
        )
        .await;
    assert_eq!((s, v), (403, json!("Forbidden")));
    let (s, _) = app
        .call_json(
            &viewer,
            "create_key",
            json!({"input": {"gatewayId": gw, "name": "k"}}),
        )
        .await;
    assert_eq!(s, 403);
    assert_eq!(consumers(&app, &admin, &gw, "").await["totalSize"], 0);
}

#[tokio::test]
async fn every_change_is_audited_in_its_own_transaction() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    app.call_json(
        &c,
        "create_consumer",
        json!({"input": {"gatewayId": gw, "name": "audited"}}),
    )
    .await;
    let mut actions: Vec<String> = sqlx::query_scalar("SELECT action FROM audit_events")
        .fetch_all(&app.db.pool)
        .await
        .unwrap();
    actions.sort();
    // The two accounts the harness made are audited too (as "test setup").
    assert_eq!(
        actions,
        [
            "CreateAccount",
            "CreateAccount",
            "CreateConsumer",
            "CreateGateway"
        ]
    );
}

#[tokio::test]
async fn pages_paginate_with_a_total() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    for i in 0..25 {
        app.call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": format!("c{i:02}")}}),
        )
        .await;
    }
    let (_, p3) = app
        .call_form(
            &c,
            "list_consumers",
            &[
                ("instance_id", &gw),
                ("name_like", ""),
                ("page_number", "3"),
            ],
        )
        .await;
    assert_eq!(p3["totalSize"], 25);
    assert_eq!(p3["items"].as_array().unwrap().len(), 5);
    let (s, _) = app
        .call_form(
            &c,
            "list_consumers",
            &[
                ("instance_id", &gw),
                ("name_like", ""),
                ("page_number", "0"),
            ],
        )
        .await;
    assert_eq!(s, 400);
}

#[tokio::test]
async fn a_group_membership_blocks_delete_until_it_is_removed() {
    let app = spawn_app().await;
    let c = app.admin().await;
    let gw = new_instance(&app, &c).await;
    let g = new_group(&app, &c, &gw, "partners").await;
    let (_, created) = app
        .call_json(
            &c,
            "create_consumer",
            json!({"input": {"gatewayId": gw, "name": "member", "consumerGroupIds": [g]}}),
        )
        .await;
    let id = created["consumerId"].as_str().unwrap();
    let (s, v) = app.call_form(&c, "delete_consumer", &[("id", id)]).await;
    assert_eq!(s, 409, "{v}");
    assert_eq!(v["Dependencies"][0]["kind"], "GroupMembership");
    let viewer = app.signed_in("viewer", VIEWER_PASSWORD).await;
    assert_eq!(
        app.call_form(
            &viewer,
            "remove_from_group",
            &[("consumer_id", id), ("group_id", &g)]
        )
        .await
        .0,
        403
    );
    let (s, v) = app
        .call_form(
            &c,
            "remove_from_group",
            &[("consumer_id", id), ("group_id", &g)],
        )
        .await;
    assert_eq!((s, v["groups"].clone()), (200, json!([])));
    let (s, _) = app
        .call_form(
            &c,
            "remove_from_group",
            &[("consumer_id", id), ("group_id", &g)],
        )
        .await;
    assert_eq!(s, 400, "removing twice is refused");
    assert_eq!(
        app.call_form(&c, "delete_consumer", &[("id", id)]).await.0,
        200
    );
}
