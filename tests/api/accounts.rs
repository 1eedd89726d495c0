//! Console accounts over REST: Admins only; create with checked input; disabling signs out
//! and stops tokens; password reset; the last enabled Admin is kept; every change audited.

use crate::common::{self, ok, refused, spawn_app, TestApp};
use serde_json::json;

async fn account_id(app: &TestApp, token: &str, username: &str) -> String {
    let list = app.rest(Some(token), "GET", "/v1/accounts", None).await;
    ok(&list)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == username)
        .map(|a| a["accountId"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn admins_create_accounts_with_checked_input_and_viewers_cannot() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let list = app.rest(t, "GET", "/v1/accounts", None).await;
    let names: Vec<&str> = ok(&list)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "viewer"]);
    assert!(!list.body.to_string().contains("argon2"));

    let viewer = app.token("viewer").await;
    refused(
        &app.rest(Some(&viewer), "GET", "/v1/accounts", None).await,
        403,
        "Forbidden",
    );
    let new = json!({"username": "ops", "password": "a-long-password", "role": "Viewer"});
    refused(
        &app.rest(Some(&viewer), "POST", "/v1/accounts", Some(new.clone()))
            .await,
        403,
        "Forbidden",
    );

    for (body, code) in [
        (
            json!({"username": "ops", "password": "short", "role": "Viewer"}),
            "InvalidParameter.Password",
        ),
        (
            json!({"username": "ops", "password": "p".repeat(257), "role": "Viewer"}),
            "InvalidParameter.Password",
        ),
        (
            json!({"username": "ops", "password": "a-long-password", "role": "Root"}),
            "InvalidParameter.Role",
        ),
        (
            json!({"username": "", "password": "a-long-password", "role": "Viewer"}),
            "InvalidParameter.Name",
        ),
    ] {
        refused(
            &app.rest(t, "POST", "/v1/accounts", Some(body)).await,
            400,
            code,
        );
    }
    let created = app.rest(t, "POST", "/v1/accounts", Some(new.clone())).await;
    assert_eq!(ok(&created)["role"], "Viewer");
    assert_eq!(ok(&created)["enabled"], true);
    let again = json!({"username": "OPS", "password": "a-long-password", "role": "Admin"});
    refused(
        &app.rest(t, "POST", "/v1/accounts", Some(again)).await,
        409,
        "Conflict.Name",
    );
    let c = app.signed_in("ops", "a-long-password").await;
    let res = c
        .get(format!("{}/v1/gateways", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn disabling_an_account_signs_it_out_and_stops_its_tokens_and_a_reset_password_replaces_the_old(
) {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let new = json!({"username": "ops", "password": "a-long-password", "role": "Admin"});
    ok(&app.rest(t, "POST", "/v1/accounts", Some(new)).await);
    let id = account_id(&app, &admin, "ops").await;
    let ops_token = app.token("ops").await;
    let session = app.signed_in("ops", "a-long-password").await;
    let gateways = format!("{}/v1/gateways", app.base);
    assert_eq!(session.get(&gateways).send().await.unwrap().status(), 200);
    // A token just used (so remembered as live) stops at once when its account is disabled.
    assert_eq!(
        app.rest(Some(&ops_token), "GET", "/v1/gateways", None)
            .await
            .status,
        200
    );

    let off = app
        .rest(
            t,
            "PUT",
            &format!("/v1/accounts/{id}/status"),
            Some(json!({"enabled": false})),
        )
        .await;
    assert_eq!(ok(&off)["enabled"], false);
    assert_eq!(
        app.rest(Some(&ops_token), "GET", "/v1/gateways", None)
            .await
            .status,
        401
    );
    assert_eq!(session.get(&gateways).send().await.unwrap().status(), 401);
    ok(&app
        .rest(
            t,
            "PUT",
            &format!("/v1/accounts/{id}/status"),
            Some(json!({"enabled": true})),
        )
        .await);
    // Disabling revoked the token: enabling the account again does not bring it back.
    assert_eq!(
        app.rest(Some(&ops_token), "GET", "/v1/gateways", None)
            .await
            .status,
        401
    );

    let session = app.signed_in("ops", "a-long-password").await;
    let short = json!({"password": "short"});
    refused(
        &app.rest(
            t,
            "PUT",
            &format!("/v1/accounts/{id}/password"),
            Some(short),
        )
        .await,
        400,
        "InvalidParameter.Password",
    );
    let reset = json!({"password": "another-long-password"});
    ok(&app
        .rest(
            t,
            "PUT",
            &format!("/v1/accounts/{id}/password"),
            Some(reset),
        )
        .await);
    assert_eq!(session.get(&gateways).send().await.unwrap().status(), 401);
    let (status, _) = app
        .call_form(
            &common::client(),
            "sign_in",
            &[("username", "ops"), ("password", "a-long-password")],
        )
        .await;
    assert_ne!(status, 200, "the old password still signs in");
    let fresh = app.signed_in("ops", "another-long-password").await;
    assert_eq!(fresh.get(&gateways).send().await.unwrap().status(), 200);

    refused(
        &app.rest(
            t,
            "PUT",
            "/v1/accounts/acc-d4g5h6j7k8l9m0n1p2q3/status",
            Some(json!({"enabled": false})),
        )
        .await,
        404,
        "NotFound.Account",
    );
    let audited = app
        .rest(
            t,
            "GET",
            "/v1/audit-events?resourceType=Account&pageSize=100",
            None,
        )
        .await;
    let actions: Vec<&str> = ok(&audited)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "CreateAccount",
        "DisableAccount",
        "EnableAccount",
        "ResetAccountPassword",
    ] {
        assert!(actions.contains(&action), "{actions:?}");
    }
    assert!(!audited.body.to_string().contains("another-long-password"));
}

#[tokio::test]
async fn the_last_enabled_admin_can_be_neither_disabled_nor_demoted() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let id = account_id(&app, &admin, "admin").await;
    let status = format!("/v1/accounts/{id}/status");
    let role = format!("/v1/accounts/{id}/role");
    refused(
        &app.rest(t, "PUT", &status, Some(json!({"enabled": false})))
            .await,
        400,
        "InvalidParameter.Enabled",
    );
    refused(
        &app.rest(t, "PUT", &role, Some(json!({"role": "Viewer"})))
            .await,
        400,
        "InvalidParameter.Role",
    );
    refused(
        &app.rest(t, "PUT", &role, Some(json!({"role": "Owner"})))
            .await,
        400,
        "InvalidParameter.Role",
    );

    // With a second Admin, the first can step down; then the second is the last one.
    let viewer_id = account_id(&app, &admin, "viewer").await;
    let promoted = app
        .rest(
            t,
            "PUT",
            &format!("/v1/accounts/{viewer_id}/role"),
            Some(json!({"role": "Admin"})),
        )
        .await;
    assert_eq!(ok(&promoted)["role"], "Admin");
    let demoted = app
        .rest(t, "PUT", &role, Some(json!({"role": "Viewer"})))
        .await;
    assert_eq!(ok(&demoted)["role"], "Viewer");
    // admin is a Viewer now: its token can no longer change accounts.
    refused(
        &app.rest(t, "PUT", &role, Some(json!({"role": "Admin"})))
            .await,
        403,
        "Forbidden",
    );
    let other = app.token("viewer").await;
    let last = format!("/v1/accounts/{viewer_id}/status");
    refused(
        &app.rest(Some(&other), "PUT", &last, Some(json!({"enabled": false})))
            .await,
        400,
        "InvalidParameter.Enabled",
    );
}

#[tokio::test]
async fn replicas_starting_together_make_the_first_admin_once_and_both_start() {
    use gateway_console::service::accounts::bootstrap_admin;
    let dir = tempfile::tempdir().unwrap();
    let db = gateway_console::store::Db::connect(&format!(
        "sqlite:{}",
        dir.path().join("first.db").display()
    ))
    .await
    .unwrap();
    let start = || bootstrap_admin(&db, Some("root"), Some("a-long-password-1"));
    let (a, b) = tokio::join!(start(), start());
    let made = [a.unwrap(), b.unwrap()]
        .into_iter()
        .filter(Option::is_some)
        .count();
    assert!(made >= 1, "nobody made the first Admin");
    let accounts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(accounts, 1);
}

#[tokio::test]
async fn replicas_starting_together_seed_the_demo_once_and_all_start() {
    use gateway_console::service::demo;
    let (url, _dir) = crate::common::fresh_database_url().await;
    let db = gateway_console::store::Db::connect(&url).await.unwrap();
    // Four seeds at once: each sees an empty database before any has created its instance.
    let (a, b, c, d) = tokio::join!(
        demo::seed(&db),
        demo::seed(&db),
        demo::seed(&db),
        demo::seed(&db)
    );
    let seeded = [a, b, c, d]
        .into_iter()
        .map(|r| r.expect("a racing seed does not fail the start"))
        .filter(|made| *made)
        .count();
    assert_eq!(seeded, 1);
    let instances: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM instances")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(instances, 1);
}
