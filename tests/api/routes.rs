//! Every route answers for who may call it, whoever wrote it: each operation of
//! `/v1/openapi.json` refuses an anonymous caller (401) and a Viewer's token on anything but
//! a read of the gateway's data or a change to its own tokens (403; accounts are for Admins
//! only, even to read), and every server function refuses an anonymous caller (401). A new route
//! that forgets either fails here.

use crate::common::{client, spawn_app, TestApp};
use serde_json::Value;

/// A path of the document with each `{parameter}` filled in with a well-formed ID (from its
/// pattern, such as `^cs-[0-9a-v]{20}$`) that names nothing.
fn concrete(path: &str, op: &Value) -> String {
    let mut out = path.to_owned();
    for p in op["parameters"].as_array().into_iter().flatten() {
        if p["in"] != "path" {
            continue;
        }
        let name = p["name"].as_str().unwrap();
        let pattern = p["schema"]["pattern"].as_str().unwrap_or("");
        let prefix = pattern
            .trim_start_matches('^')
            .split('[')
            .next()
            .unwrap_or("");
        out = out.replace(
            &format!("{{{name}}}"),
            &format!("{prefix}{}", "a".repeat(20)),
        );
    }
    out
}

async fn status(app: &TestApp, token: Option<&str>, method: &str, path: &str) -> u16 {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(method, format!("{}{path}", app.base))
        .header("content-type", "application/json")
        .body("{}");
    req = match token {
        Some(t) => req.bearer_auth(t),
        // Past the cross-site guard, so the session layer is what answers.
        None => req.header("origin", &app.base),
    };
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn every_rest_operation_refuses_anonymous_callers_and_viewer_writes() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let viewer = app.token("viewer").await;
    let doc: Value = client()
        .get(format!("{}/v1/openapi.json", app.base))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let url = concrete(path, op);
            let m = method.to_uppercase();
            assert_eq!(
                status(&app, None, &m, &url).await,
                401,
                "anonymous {m} {url}"
            );
            let as_viewer = status(&app, Some(&viewer), &m, &url).await;
            let own_tokens = path.starts_with("/v1/tokens");
            let admins_only = path.starts_with("/v1/accounts");
            // Only a usage-writing token reports usage (not an Admin's own token either).
            if m == "POST" && path == "/v1/usage" {
                assert_eq!(
                    status(&app, Some(&admin), &m, &url).await,
                    403,
                    "Admin {m} {url}"
                );
            }
            // A question that changes nothing (a Viewer may ask about consumers, not keys).
            let question = path.ends_with("/authz/explain");
            if (m == "GET" || own_tokens || question) && !admins_only {
                assert!(
                    as_viewer != 401 && as_viewer != 403,
                    "Viewer {m} {url}: {as_viewer}"
                );
            } else {
                assert_eq!(as_viewer, 403, "Viewer {m} {url}");
            }
        }
    }
    assert!(
        operations > 50,
        "only {operations} operations in the document"
    );
}

#[tokio::test]
async fn every_server_function_refuses_anonymous_callers() {
    let app = spawn_app().await;
    let mut functions = 0;
    for (path, _) in leptos::server_fn::axum::server_fn_paths() {
        if path == "/api/sign_in" {
            continue;
        }
        functions += 1;
        let res = client()
            .post(format!("{}{path}", app.base))
            .header("origin", &app.base)
            .header("accept", "application/json")
            .form(&[("x", "y")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
    }
    assert!(
        functions > 40,
        "only {functions} server functions registered"
    );
}
