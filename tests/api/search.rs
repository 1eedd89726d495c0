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
    let gw = ok(&r)["id"].as_str().unwrap().to_owned();
    let mut ids = std::collections::HashMap::new();
    for name in [
        "Billing-Service",
        "billing_v2",
        "chat-bot",
        "Chatter",
        "a1",
        "xa1y",
    ] {
        let c = json!({"instanceId": gw, "name": name, "description": ""});
        let r = app.rest(Some(&t), "POST", "/v1/consumers", Some(c)).await;
        ids.insert(name, ok(&r)["id"].as_str().unwrap().to_owned());
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
