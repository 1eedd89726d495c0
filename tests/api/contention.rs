//! Writes that race: many updates of one record with the same version, one key bound to two
//! consumers at once, one membership added many times at once. Exactly one wins, the others
//! are refused with a clear error, none gets a 500, and what is stored is the winner's.

use crate::common::{ok, spawn_app, Rest, TestApp};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Sends all `calls` at once; returns each answer.
async fn at_once(app: &TestApp, token: &str, calls: Vec<(&str, String, Value)>) -> Vec<Rest> {
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(method, path, body)| {
            let (base, token) = (app.base.clone(), token.to_owned());
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            tokio::spawn(async move {
                let res = reqwest::Client::new()
                    .request(method, format!("{base}{path}"))
                    .bearer_auth(token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                let body: Value = res.json().await.unwrap();
                Rest {
                    status,
                    body,
                    request_id: String::new(),
                }
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

/// How many answers had each (status, code).
fn tally(answers: &[Rest]) -> BTreeMap<(u16, String), usize> {
    let mut t = BTreeMap::new();
    for a in answers {
        let code = a.body["code"].as_str().unwrap_or("").to_owned();
        *t.entry((a.status, code)).or_default() += 1;
    }
    t
}

async fn create(app: &TestApp, t: &str, path: &str, body: Value) -> Value {
    ok(&app.rest(Some(t), "POST", path, Some(body)).await).clone()
}

async fn gateway(app: &TestApp, t: &str) -> String {
    let body = json!({"name": "race", "region": "local", "engineVersion": "1", "description": ""});
    create(app, t, "/v1/gateways", body).await["gatewayId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_a_hundred_updates_with_the_same_version_exactly_one_wins() {
    let app = spawn_app().await;
    let t = app.token("admin").await;
    let gw = gateway(&app, &t).await;
    let gw = gw.as_str();
    let c = create(
        &app,
        &t,
        "/v1/consumers",
        json!({"gatewayId": gw, "name": "contested"}),
    )
    .await;
    let (id, version) = (c["consumerId"].as_str().unwrap(), c["version"].clone());
    let path = format!("/v1/consumers/{id}");
    let calls = (0..100)
        .map(|i| {
            let body =
                json!({"name": format!("writer-{i}"), "description": "", "version": version});
            ("PUT", path.clone(), body)
        })
        .collect();
    let answers = at_once(&app, &t, calls).await;
    let counts = tally(&answers);
    assert_eq!(counts.get(&(200, "Ok".into())), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get(&(409, "Conflict.Version".into())),
        Some(&99),
        "{counts:?}"
    );
    let winner = answers.iter().find(|a| a.status == 200).unwrap();
    let stored = ok(&app.rest(Some(&t), "GET", &path, None).await).clone();
    assert_eq!(stored["name"], winner.body["data"]["name"]);
    assert_eq!(stored["version"], winner.body["data"]["version"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_bound_to_two_consumers_at_once_goes_to_one_and_a_membership_is_added_once() {
    let app = spawn_app().await;
    let t = app.token("admin").await;
    let gw = gateway(&app, &t).await;
    let gw = gw.as_str();
    let group = create(
        &app,
        &t,
        "/v1/consumer-groups",
        json!({"gatewayId": gw, "name": "team", "description": ""}),
    )
    .await;
    for round in 0..10 {
        let a = create(
            &app,
            &t,
            "/v1/consumers",
            json!({"gatewayId": gw, "name": format!("a{round}")}),
        )
        .await;
        let b = create(
            &app,
            &t,
            "/v1/consumers",
            json!({"gatewayId": gw, "name": format!("b{round}")}),
        )
        .await;
        let key = create(
            &app,
            &t,
            "/v1/keys",
            json!({"gatewayId": gw, "name": format!("k{round}")}),
        )
        .await;
        let key_id = key["key"]["keyId"].as_str().unwrap();
        let bind = |c: &Value| {
            let path = format!(
                "/v1/consumers/{}/credentials",
                c["consumerId"].as_str().unwrap()
            );
            ("POST", path, json!({"keyId": key_id}))
        };
        let answers = at_once(&app, &t, vec![bind(&a), bind(&b)]).await;
        let won: Vec<&Rest> = answers.iter().filter(|r| r.status == 200).collect();
        assert_eq!(won.len(), 1, "round {round}: {:?}", tally(&answers));
        assert!(
            answers.iter().all(|r| r.status < 500),
            "{:?}",
            tally(&answers)
        );
        let stored = ok(&app
            .rest(Some(&t), "GET", &format!("/v1/keys/{key_id}"), None)
            .await)
        .clone();
        assert_eq!(
            stored["consumer"]["consumerId"], won[0].body["data"]["consumerId"],
            "round {round}"
        );
    }

    let c = create(
        &app,
        &t,
        "/v1/consumers",
        json!({"gatewayId": gw, "name": "joiner"}),
    )
    .await;
    let path = format!("/v1/consumers/{}/groups", c["consumerId"].as_str().unwrap());
    let calls = (0..30)
        .map(|_| {
            (
                "POST",
                path.clone(),
                json!({"consumerGroupId": group["consumerGroupId"]}),
            )
        })
        .collect();
    let answers = at_once(&app, &t, calls).await;
    let counts = tally(&answers);
    assert_eq!(counts.get(&(200, "Ok".into())), Some(&1), "{counts:?}");
    assert!(answers.iter().all(|r| r.status < 500), "{counts:?}");
    let stored = ok(&app
        .rest(
            Some(&t),
            "GET",
            &format!("/v1/consumers/{}", c["consumerId"].as_str().unwrap()),
            None,
        )
        .await)
    .clone();
    assert_eq!(stored["groups"].as_array().unwrap().len(), 1);
}

/// A delete racing what would depend on the record: a key deleted while it is bound, a group
/// deleted while consumers join it. Either the delete wins (and the others find nothing) or
/// the dependant does (and the delete is refused with it listed); never both, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_racing_a_new_dependant_either_wins_or_is_refused_with_it() {
    let app = spawn_app().await;
    let t = app.token("admin").await;
    let gw = gateway(&app, &t).await;
    let gw = gw.as_str();
    for round in 0..10 {
        let consumer = create(
            &app,
            &t,
            "/v1/consumers",
            json!({"gatewayId": gw, "name": format!("holder{round}")}),
        )
        .await;
        let consumer = consumer["consumerId"].as_str().unwrap();
        let key = create(
            &app,
            &t,
            "/v1/keys",
            json!({"gatewayId": gw, "name": format!("raced{round}")}),
        )
        .await;
        let key = key["key"]["keyId"].as_str().unwrap();
        let group = create(
            &app,
            &t,
            "/v1/consumer-groups",
            json!({"gatewayId": gw, "name": format!("raced{round}"), "description": ""}),
        )
        .await;
        let group = group["consumerGroupId"].as_str().unwrap();
        let answers = at_once(
            &app,
            &t,
            vec![
                ("DELETE", format!("/v1/keys/{key}"), Value::Null),
                (
                    "POST",
                    format!("/v1/consumers/{consumer}/credentials"),
                    json!({"keyId": key}),
                ),
                (
                    "DELETE",
                    format!("/v1/consumer-groups/{group}"),
                    Value::Null,
                ),
                (
                    "POST",
                    format!("/v1/consumers/{consumer}/groups"),
                    json!({"consumerGroupId": group}),
                ),
            ],
        )
        .await;
        assert!(
            answers.iter().all(|r| r.status < 500),
            "round {round}: {:?}",
            tally(&answers)
        );
        for (delete, add, kind) in [
            (&answers[0], &answers[1], "BoundConsumer"),
            (&answers[2], &answers[3], "Member"),
        ] {
            let deleted = delete.status == 200;
            let added = add.status == 200;
            assert!(
                deleted != added,
                "round {round}: exactly one wins: {:?}",
                tally(&answers)
            );
            if added {
                assert_eq!(
                    delete.body["code"], "Conflict.Dependencies",
                    "round {round}"
                );
                assert_eq!(delete.body["data"]["dependencies"][0]["kind"], kind);
                assert_eq!(
                    delete.body["data"]["dependencies"][0]["resourceId"],
                    consumer
                );
            }
        }
        // What is stored agrees with the answers.
        let key_now = app
            .rest(Some(&t), "GET", &format!("/v1/keys/{key}"), None)
            .await;
        assert_eq!(
            key_now.status == 200,
            answers[1].status == 200,
            "round {round}"
        );
        let group_now = app
            .rest(
                Some(&t),
                "GET",
                &format!("/v1/consumer-groups/{group}"),
                None,
            )
            .await;
        assert_eq!(
            group_now.status == 200,
            answers[3].status == 200,
            "round {round}"
        );
        let held = ok(&app
            .rest(Some(&t), "GET", &format!("/v1/consumers/{consumer}"), None)
            .await)
        .clone();
        assert_eq!(
            held["credentials"].as_array().unwrap().len(),
            usize::from(answers[1].status == 200)
        );
        assert_eq!(
            held["groups"].as_array().unwrap().len(),
            usize::from(answers[3].status == 200)
        );
    }
}
