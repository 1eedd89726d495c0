//! Consumer name search (`nameLike`): a case-insensitive substring, the same whether the
//! trigram index narrows it (three or more characters) or not, kept in step with creates,
//! renames and deletes, and with LIKE's own metacharacters taken literally.

use crate::common::{ok, spawn_app, TestApp};
use serde_json::json;

async fn names(app: &TestApp, t: &str, gw: &str, like: &str) -> Vec<String> {
    let q: String = url_escape(like);
    let r = app
        .rest(
            Some(t),
            "GET",
            &format!("/v1/consumers?gatewayId={gw}&nameLike={q}&pageSize=100"),
            None,
        )
        .await;
    let data = ok(&r);
    let mut out: Vec<String> = data["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(data["totalSize"], out.len(), "{like}");
    out.sort();
    out
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn name_search_is_a_case_insensitive_substring_kept_in_step_with_changes() {
    let app = spawn_app().await;
    let t = app.token("admin").await;
    let gw =
        json!({"name": "search-gw", "region": "local", "engineVersion": "1", "description": ""});
    let r = app.rest(Some(&t), "POST", "/v1/gateways", Some(gw)).await;
    let gw = ok(&r)["gatewayId"].as_str().unwrap().to_owned();
    let mut ids = std::collections::HashMap::new();
    for name in [
        "Billing-Service",
        "billing_v2",
        "chat-bot",
        "Chatter",
        "a1",
        "xa1y",
    ] {
        let c = json!({"gatewayId": gw, "name": name, "description": ""});
        let r = app.rest(Some(&t), "POST", "/v1/consumers", Some(c)).await;
        ids.insert(name, ok(&r)["consumerId"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        names(&app, &t, &gw, "BILLING").await,
        ["Billing-Service", "billing_v2"]
    );
    assert_eq!(names(&app, &t, &gw, "ing-ser").await, ["Billing-Service"]);
    assert_eq!(names(&app, &t, &gw, "chat").await, ["Chatter", "chat-bot"]);
    // Shorter than a trigram: the plain scan answers the same way.
    assert_eq!(names(&app, &t, &gw, "a1").await, ["a1", "xa1y"]);
    assert_eq!(names(&app, &t, &gw, "T").await, ["Chatter", "chat-bot"]);
    // LIKE's metacharacters and quotes are literal.
    assert_eq!(names(&app, &t, &gw, "g_v").await, ["billing_v2"]);
    assert!(names(&app, &t, &gw, "%").await.is_empty());
    assert!(names(&app, &t, &gw, "bil\"ling").await.is_empty());
    assert!(names(&app, &t, &gw, "nothing-like-it").await.is_empty());

    let rename = json!({"name": "invoices", "description": "", "version": 1});
    let path = format!("/v1/consumers/{}", ids["billing_v2"]);
    ok(&app.rest(Some(&t), "PUT", &path, Some(rename)).await);
    assert_eq!(names(&app, &t, &gw, "billing").await, ["Billing-Service"]);
    assert_eq!(names(&app, &t, &gw, "voice").await, ["invoices"]);
    let path = format!("/v1/consumers/{}", ids["chat-bot"]);
    ok(&app.rest(Some(&t), "DELETE", &path, None).await);
    assert_eq!(names(&app, &t, &gw, "chat").await, ["Chatter"]);
}

/// The search index is each engine's own migration. A database made before that migration
/// existed already had the index (it was created at start-up then): the migration must take
/// it as it is, and the search keep working over old and new consumers alike.
#[tokio::test]
async fn the_engine_migration_takes_an_index_made_before_it_as_it_is() {
    let app = spawn_app().await;
    let t = app.token("admin").await;
    let gw =
        json!({"name": "upgrade-gw", "region": "local", "engineVersion": "1", "description": ""});
    let r = app.rest(Some(&t), "POST", "/v1/gateways", Some(gw)).await;
    let gw = ok(&r)["gatewayId"].as_str().unwrap().to_owned();
    let c = json!({"gatewayId": gw, "name": "before-upgrade", "description": ""});
    ok(&app.rest(Some(&t), "POST", "/v1/consumers", Some(c)).await);
    let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_engine_migrations")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    // Each engine's own: the search index (and on SQLite the usage minutes' layout).
    let engine = match app.db.backend {
        gateway_console::store::Backend::Sqlite => "migrations/sqlite",
        gateway_console::store::Backend::Postgres => "migrations/postgres",
    };
    let files = std::fs::read_dir(engine).unwrap().count();
    assert_eq!(
        usize::try_from(applied).unwrap(),
        files,
        "the engine's own migrations are recorded apart"
    );

    // As an older database looks: the index is there, its migration is not recorded.
    sqlx::query("DROP TABLE _sqlx_engine_migrations")
        .execute(&app.db.pool)
        .await
        .unwrap();
    let reopened = gateway_console::store::Db::connect(app.db.url())
        .await
        .expect("the migration runs over the existing index");
    reopened.pool.close().await;

    let c = json!({"gatewayId": gw, "name": "after-upgrade", "description": ""});
    ok(&app.rest(Some(&t), "POST", "/v1/consumers", Some(c)).await);
    assert_eq!(
        names(&app, &t, &gw, "upgrade").await,
        ["after-upgrade", "before-upgrade"]
    );
    assert_eq!(names(&app, &t, &gw, "fter-up").await, ["after-upgrade"]);
}
