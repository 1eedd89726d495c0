//! Usage (`GET /v1/usage`): every decision of the real `/authz/check` is counted per
//! consumer, key, model API, environment, minute and outcome, written by each replica's
//! flush (two replicas add up), and read back by time bucket, dimension and filter; bad
//! questions are refused with the parameter they got wrong.

use crate::access::{check, gateway, ALICE_KEY, BOB_KEY};
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_on, spawn_app_with, TestApp};
use serde_json::{json, Value};

async fn usage(app: &TestApp, t: &str, gw: &str, query: &str) -> crate::common::Rest {
    app.rest(
        Some(t),
        "GET",
        &format!("/v1/usage?gatewayId={gw}&{query}"),
        None,
    )
    .await
}

/// The rows of an answer as (dimension values…, requests), summed over time buckets (a
/// test may straddle a minute), sorted.
fn rows(data: &Value, fields: &[&str]) -> Vec<(Vec<String>, i64)> {
    let mut out: Vec<(Vec<String>, i64)> = Vec::new();
    for item in data["items"].as_array().unwrap() {
        let dims: Vec<String> = fields
            .iter()
            .map(|f| item[*f].as_str().unwrap_or("<absent>").to_owned())
            .collect();
        let n = item["requests"].as_i64().unwrap();
        match out.iter_mut().find(|(d, _)| *d == dims) {
            Some((_, total)) => *total += n,
            None => out.push((dims, n)),
        }
    }
    out.sort();
    out
}

/// Waits until the replica knows the new gateway (its next poll) and grants alice: the
/// checks before that are about an unknown gateway, which counts nowhere.
pub(crate) async fn until_granted(app: &TestApp, gw: &str) {
    for _ in 0..40 {
        if check(app, gw, ALICE_KEY, "/v1/chat", None).await == 200 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the replica never granted alice");
}

/// Writes what is counted and deletes every usage row: a test starts from nothing.
pub(crate) async fn forget_usage(app: &TestApp) {
    app.enforcer.flush_usage().await.unwrap();
    for table in [
        "usage_minutes",
        "usage_hours",
        "usage_gateway_minutes",
        "usage_gateway_hours",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {table}")))
            .execute(&app.db.pool)
            .await
            .unwrap();
    }
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn every_decision_is_counted_by_consumer_key_api_and_outcome_and_read_back() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let alice_key_id = {
        let keys = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/keys?gatewayId={}&nameLike=alice", gw.id),
                None,
            )
            .await;
        ok(&keys)["items"][0]["keyId"].as_str().unwrap().to_owned()
    };
    let chat = {
        let apis = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/model-apis?gatewayId={}", gw.id),
                None,
            )
            .await;
        ok(&apis)["items"][0]["apiId"].as_str().unwrap().to_owned()
    };

    until_granted(&app, &gw.id).await;
    forget_usage(&app).await;
    for _ in 0..3 {
        assert_eq!(
            check(&app, &gw.id, ALICE_KEY, "/v1/chat/x", None).await,
            200
        );
    }
    for _ in 0..2 {
        assert_eq!(check(&app, &gw.id, BOB_KEY, "/v1/chat", None).await, 403);
    }
    assert_eq!(check(&app, &gw.id, ALICE_KEY, "/v2/other", None).await, 403);
    assert_eq!(
        check(&app, &gw.id, "no-such-key-1234", "/v1/chat", None).await,
        401
    );
    let keyless = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", &gw.id)
        .header("x-original-uri", "/v1/chat")
        .send()
        .await
        .unwrap();
    assert_eq!(keyless.status(), 401);
    // A gateway that does not exist is not counted anywhere.
    assert_eq!(
        check(&app, "gw-00000000000000000000", ALICE_KEY, "/v1/chat", None).await,
        401
    );

    // Nothing is read before the flush; everything after it.
    let before = usage(&app, &admin, &gw.id, "").await;
    assert_eq!(ok(&before)["totals"]["requests"], 0);
    assert!(app.enforcer.flush_usage().await.unwrap() >= 5);

    let by_outcome = usage(
        &app,
        &admin,
        &gw.id,
        "groupBy=consumer,outcome&granularity=minute",
    )
    .await;
    let data = ok(&by_outcome);
    assert_eq!(data["granularity"], "minute");
    assert_eq!(data["groupBy"], json!(["consumer", "outcome"]));
    assert_eq!(
        rows(data, &["consumerId", "consumerName", "outcome"]),
        vec![
            (strings(&["", "<absent>", "no-key"]), 1),
            (strings(&["", "<absent>", "unknown-key"]), 1),
            (strings(&[&gw.alice, "alice", "allowed"]), 3),
            (strings(&[&gw.alice, "alice", "no-api"]), 1),
            (strings(&[&gw.bob, "bob", "no-rule"]), 2),
        ]
    );
    assert_eq!(
        data["totals"],
        json!({"requests": 8, "allowed": 3, "denied": 5, "promptTokens": 0, "completionTokens": 0})
    );

    // By key and API: alice's granted requests name her key and the chat API.
    let by_key = usage(&app, &admin, &gw.id, "groupBy=key,api&outcome=allowed").await;
    assert_eq!(
        rows(ok(&by_key), &["keyId", "apiId", "apiName"]),
        vec![(strings(&[&alice_key_id, &chat, "chat"]), 3)]
    );
    // Every dimension not grouped by is absent from a row.
    assert!(ok(&by_key)["items"][0].get("consumerId").is_none());

    // Filters: a group's members (alice), a consumer, an API.
    for (filter, requests) in [
        (format!("consumerGroupId={}", gw.team), 4),
        (format!("consumerId={}", gw.bob), 2),
        (format!("apiId={chat}"), 5),
        ("outcome=NO-RULE".to_owned(), 2),
    ] {
        let r = usage(&app, &admin, &gw.id, &filter).await;
        assert_eq!(ok(&r)["totals"]["requests"], requests, "{filter}");
    }

    // The same totals from the hourly buckets, by hour and by day.
    for granularity in ["hour", "day"] {
        let r = usage(&app, &admin, &gw.id, &format!("granularity={granularity}")).await;
        let d = ok(&r);
        assert_eq!(d["totals"]["requests"], 8, "{granularity}");
        let summed: i64 = d["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["requests"].as_i64().unwrap())
            .sum();
        assert_eq!(summed, 8, "{granularity}");
    }

    // A second flush adds to the stored counts.
    assert_eq!(check(&app, &gw.id, ALICE_KEY, "/v1/chat", None).await, 200);
    app.enforcer.flush_usage().await.unwrap();
    let r = usage(&app, &admin, &gw.id, "outcome=allowed").await;
    assert_eq!(ok(&r)["totals"]["requests"], 4);

    // A Viewer reads usage; without a token nobody does.
    let viewer = app.token("viewer").await;
    ok(&usage(&app, &viewer, &gw.id, "").await);
    let anonymous = reqwest::Client::new()
        .get(format!("{}/v1/usage?gatewayId={}", app.base, gw.id))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn two_replicas_on_one_database_add_up_their_counts() {
    let a = spawn_app_with(proxy_headers_trusted()).await;
    let b = spawn_app_on(&a, proxy_headers_trusted()).await;
    let admin = a.token("admin").await;
    let gw = gateway(&a, &admin, "explain-gw").await;
    until_granted(&a, &gw.id).await;
    until_granted(&b, &gw.id).await;
    a.enforcer.flush_usage().await.unwrap();
    b.enforcer.flush_usage().await.unwrap();
    for _ in 0..2 {
        assert_eq!(check(&a, &gw.id, ALICE_KEY, "/v1/chat", None).await, 200);
    }
    for _ in 0..3 {
        assert_eq!(check(&b, &gw.id, ALICE_KEY, "/v1/chat", None).await, 200);
    }
    // Both flush at once, into the same rows.
    let (fa, fb) = tokio::join!(a.enforcer.flush_usage(), b.enforcer.flush_usage());
    fa.unwrap();
    fb.unwrap();
    let r = usage(&a, &admin, &gw.id, "groupBy=consumer&outcome=allowed").await;
    assert_eq!(
        rows(ok(&r), &["consumerName"]),
        vec![(strings(&["alice"]), 7)]
    );
}

/// A consumer's minutes (and a group's members') are sought minute by minute and environment
/// by environment, among those the gateway has totals for in the range: every one of them is
/// found, those outside the range and other consumers' are not.
#[tokio::test]
async fn a_consumers_and_a_groups_minutes_are_read_in_every_environment_and_minute_of_the_range() {
    use gateway_console::store::usage;
    const ENV_A: &str = "env-0000000000000000000a";
    const ENV_B: &str = "env-0000000000000000000b";
    const ENV_C: &str = "env-0000000000000000000c";
    const ENV_D: &str = "env-0000000000000000000d";
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "minutes-gw").await;
    forget_usage(&app).await;
    let now = gateway_console::store::now_ms();
    let start = now - now.rem_euclid(60_000) - 30 * 60_000;
    let minute = 60_000;
    let delta = |consumer: &str, env: &str, at: i64, requests: i64| {
        let mut d = allowed(&gw.id, consumer, at, requests);
        d.environment_id = env.to_owned();
        d
    };
    usage::add(
        &app.db,
        &[
            delta(&gw.alice, ENV_A, start, 1),
            delta(&gw.alice, ENV_B, start + minute, 2),
            delta(&gw.alice, "", start + 5 * minute, 4),
            delta(&gw.bob, ENV_A, start, 8),
            delta(&gw.bob, ENV_C, start + 2 * minute, 16),
            // Hours before the range, in an environment of its own.
            delta(&gw.alice, ENV_D, start - 180 * minute, 32),
        ],
    )
    .await
    .unwrap();
    let range = format!("from={start}&to={}", start + 10 * minute);
    for granularity in ["minute", "hour"] {
        for (filter, requests) in [
            (format!("consumerId={}", gw.alice), 7),
            (format!("consumerId={}&environmentId={ENV_B}", gw.alice), 2),
            (format!("consumerId={}", gw.bob), 24),
            (format!("consumerGroupId={}", gw.team), 7),
            (String::new(), 31),
        ] {
            let q = format!("{range}&granularity={granularity}&{filter}");
            let r = usage(&app, &admin, &gw.id, &q).await;
            assert_eq!(ok(&r)["totals"]["requests"], requests, "{q}");
        }
    }
    let q = format!(
        "{range}&granularity=minute&consumerId={}&groupBy=environment",
        gw.alice
    );
    let r = usage(&app, &admin, &gw.id, &q).await;
    assert_eq!(
        rows(ok(&r), &["environmentId"]),
        vec![
            (strings(&[""]), 4),
            (strings(&[ENV_A]), 1),
            (strings(&[ENV_B]), 2)
        ]
    );
}

#[tokio::test]
async fn old_buckets_are_pruned_by_their_retention() {
    use gateway_console::store::usage;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let now = gateway_console::store::now_ms();
    let hour = 3_600_000;
    let delta = |at: i64| allowed(&gw.id, &gw.alice, at, 1);
    // Three days ago, and one hour ago.
    usage::add(&app.db, &[delta(now - 72 * hour), delta(now - hour)])
        .await
        .unwrap();
    let q = |granularity: &str| {
        format!(
            "granularity={granularity}&from={}&to={now}",
            now - 96 * hour
        )
    };
    for granularity in ["minute", "hour"] {
        let r = usage(&app, &admin, &gw.id, &q(granularity)).await;
        assert_eq!(ok(&r)["totals"]["requests"], 2, "{granularity}");
    }
    // Minutes are kept 48 hours (once rolled up), hours 400 days: the old minute goes,
    // its hour stays.
    usage::prune(&app.db, now - 48 * hour, now - 400 * 24 * hour)
        .await
        .unwrap();
    if usage::rolled_until(&mut app.db.reader().await.unwrap())
        .await
        .unwrap()
        < now - 72 * hour
    {
        // Not rolled up yet: pruning keeps the minute.
        let minutes = usage(&app, &admin, &gw.id, &q("minute")).await;
        assert_eq!(ok(&minutes)["totals"]["requests"], 2);
    }
    usage::roll_up(&app.db, now).await.unwrap();
    usage::prune(&app.db, now - 48 * hour, now - 400 * 24 * hour)
        .await
        .unwrap();
    let minutes = usage(&app, &admin, &gw.id, &q("minute")).await;
    assert_eq!(ok(&minutes)["totals"]["requests"], 1);
    assert_eq!(
        ok(&usage(&app, &admin, &gw.id, &q("hour")).await)["totals"]["requests"],
        2
    );
}

/// `requests` allowed for `consumer` in the minute of `at`, as a flush writes them.
fn allowed(
    gateway: &str,
    consumer: &str,
    at: i64,
    requests: i64,
) -> gateway_console::domain::usage::UsageDelta {
    gateway_console::domain::usage::UsageDelta {
        gateway_id: gateway.to_owned(),
        at: at - at.rem_euclid(60_000),
        environment_id: String::new(),
        consumer_id: consumer.to_owned(),
        key_id: String::new(),
        api_id: String::new(),
        outcome: "allowed".into(),
        requests,
        prompt_tokens: 0,
        completion_tokens: 0,
    }
}

/// Requests of the gateway before `before`: in its hourly tables, and in its minutes.
async fn bucket_sums(app: &TestApp, gw: &str, before: i64) -> [i64; 4] {
    let mut out = [0; 4];
    for (i, table) in [
        "usage_hours",
        "usage_gateway_hours",
        "usage_minutes",
        "usage_gateway_minutes",
    ]
    .iter()
    .enumerate()
    {
        out[i] = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM {table} \
             WHERE gateway_id = $1 AND at < $2"
        )))
        .bind(gw)
        .bind(before)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    }
    out
}

#[tokio::test]
async fn hours_are_rolled_up_once_and_counts_arriving_later_go_straight_to_them() {
    use gateway_console::store::usage;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let now = gateway_console::store::now_ms();
    let hour = 3_600_000;
    let this_hour = now - now.rem_euclid(hour);
    let delta = |consumer: &str, at: i64, requests: i64| allowed(&gw.id, consumer, at, requests);
    let q = format!("granularity=hour&from={}&to={now}", this_hour - 5 * hour);
    let answers = || async {
        let total = usage(&app, &admin, &gw.id, &q).await;
        let by_consumer = usage(&app, &admin, &gw.id, &format!("{q}&groupBy=consumer")).await;
        (
            ok(&total)["totals"]["requests"].as_i64().unwrap(),
            rows(ok(&by_consumer), &["consumerName"]),
        )
    };
    usage::add(
        &app.db,
        &[
            delta(&gw.alice, this_hour - 3 * hour + 60_000, 2),
            delta(&gw.bob, this_hour - 3 * hour + 120_000, 3),
            delta(&gw.alice, this_hour - 2 * hour, 4),
            delta(&gw.alice, now, 1),
        ],
    )
    .await
    .unwrap();
    let expected = (10, vec![(strings(&["alice"]), 7), (strings(&["bob"]), 3)]);
    assert_eq!(answers().await, expected, "before the roll-up");

    // Rolled up (by this call or the replica's own task): the hours before this one are in
    // both hourly tables exactly once, and the answers are the same.
    assert!(usage::roll_up(&app.db, now).await.unwrap() >= this_hour);
    assert_eq!(bucket_sums(&app, &gw.id, this_hour).await, [9, 9, 9, 9]);
    assert_eq!(answers().await, expected, "after the roll-up");
    assert_eq!(
        usage::roll_up(&app.db, now).await.unwrap(),
        usage::roll_up(&app.db, now).await.unwrap()
    );
    assert_eq!(
        bucket_sums(&app, &gw.id, this_hour).await,
        [9, 9, 9, 9],
        "a second roll-up adds nothing"
    );

    // A count for an hour already rolled up (a late report) goes to its minute and its hour.
    usage::add(&app.db, &[delta(&gw.bob, this_hour - 3 * hour, 5)])
        .await
        .unwrap();
    assert_eq!(bucket_sums(&app, &gw.id, this_hour).await, [14, 14, 14, 14]);
    assert_eq!(
        answers().await,
        (15, vec![(strings(&["alice"]), 7), (strings(&["bob"]), 8)])
    );
}

#[tokio::test]
async fn counts_written_while_hours_roll_up_are_neither_lost_nor_counted_twice() {
    use gateway_console::store::usage;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let now = gateway_console::store::now_ms();
    let hour = 3_600_000;
    let this_hour = now - now.rem_euclid(hour);
    let start = this_hour - 12 * hour;
    // The hours from `start` on are not rolled up yet (nothing was counted before).
    sqlx::query("UPDATE usage_rollup SET rolled_until = $1")
        .bind(start)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let writers = (0..8).map(|w: i64| {
        let db = app.db.clone();
        let gw = gw.id.clone();
        tokio::spawn(async move {
            for i in 0..24 {
                // Spread over the twelve hours, an hour behind the roll-ups and ahead of them.
                let at = start + ((i * 8 + w) * 7 % 144) * 5 * 60_000;
                let d = allowed(&gw, &format!("cs-writer-{w}"), at, 1);
                usage::add(&db, &[d]).await.unwrap();
                tokio::task::yield_now().await;
            }
        })
    });
    let writers: Vec<_> = writers.collect();
    let rollers: Vec<_> = (1..=12)
        .map(|h| {
            let db = app.db.clone();
            tokio::spawn(async move { usage::roll_up(&db, start + h * hour).await.unwrap() })
        })
        .collect();
    for w in writers {
        w.await.unwrap();
    }
    for r in rollers {
        r.await.unwrap();
    }
    let mark = usage::roll_up(&app.db, this_hour).await.unwrap();
    assert_eq!(mark, this_hour);
    // Every count is in its minute, and once in the hours before the mark.
    assert_eq!(bucket_sums(&app, &gw.id, mark).await, [192, 192, 192, 192]);
    let q = format!("granularity=hour&from={start}&to={now}");
    assert_eq!(
        ok(&usage(&app, &admin, &gw.id, &q).await)["totals"]["requests"],
        192
    );
}

#[tokio::test]
async fn bad_usage_questions_are_refused_with_the_parameter_they_got_wrong() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let missing = app.rest(Some(&admin), "GET", "/v1/usage", None).await;
    refused(&missing, 400, "InvalidParameter.GatewayId");
    refused(
        &usage(&app, &admin, "gw-00000000000000000000", "").await,
        404,
        "NotFound.Gateway",
    );
    for (query, code) in [
        ("from=10&to=10", "InvalidParameter.From"),
        ("from=yesterday", "InvalidParameter.From"),
        ("to=-5", "InvalidParameter.To"),
        ("granularity=second", "InvalidParameter.Granularity"),
        (
            "granularity=minute&from=0&to=2592000000",
            "InvalidParameter.Granularity",
        ),
        ("groupBy=consumer,planet", "InvalidParameter.GroupBy"),
        ("groupBy=api,api", "InvalidParameter.GroupBy"),
        ("outcome=perhaps", "InvalidParameter.Outcome"),
        ("consumerId=alice", "InvalidParameter.ConsumerId"),
        ("consumerGroupId=cs-123", "InvalidParameter.ConsumerGroupId"),
        ("apiId=%00", "InvalidParameter.ApiId"),
    ] {
        refused(&usage(&app, &admin, &gw.id, query).await, 400, code);
    }
}

async fn report(app: &TestApp, t: &str, body: Value) -> crate::common::Rest {
    app.rest(Some(t), "POST", "/v1/usage", Some(body)).await
}

#[tokio::test]
async fn reported_tokens_count_once_per_request_with_a_usage_write_token_only() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let ids = |path: String, field: &'static str| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let r = app.rest(Some(&admin), "GET", &path, None).await;
            ok(&r)["items"][0][field].as_str().unwrap().to_owned()
        }
    };
    let alice_key = ids(
        format!("/v1/keys?gatewayId={}&nameLike=alice", gw.id),
        "keyId",
    )
    .await;
    let chat = ids(format!("/v1/model-apis?gatewayId={}", gw.id), "apiId").await;

    // A usage-writing token: Admins create one; it reports usage and does nothing else.
    let viewer = app.token("viewer").await;
    let scoped = json!({"name": "shipper", "scope": "UsageWrite"});
    refused(
        &app.rest(Some(&viewer), "POST", "/v1/tokens", Some(scoped.clone()))
            .await,
        403,
        "Forbidden",
    );
    let created = app
        .rest(Some(&admin), "POST", "/v1/tokens", Some(scoped))
        .await;
    assert_eq!(ok(&created)["token"]["scope"], "UsageWrite");
    let shipper = ok(&created)["value"].as_str().unwrap().to_owned();
    for (method, path) in [
        ("GET", format!("/v1/usage?gatewayId={}", gw.id)),
        ("GET", format!("/v1/consumers?gatewayId={}", gw.id)),
        ("GET", "/v1/tokens".to_owned()),
    ] {
        refused(
            &app.rest(Some(&shipper), method, &path, None).await,
            403,
            "Forbidden",
        );
    }

    let now = gateway_console::store::now_ms();
    let record = |id: &str, holder: (&str, &str), api: &str, at: i64| {
        let mut r = json!({"requestId": id, "apiId": api, "promptTokens": 10,
            "completionTokens": 20, "timestamp": at});
        r[holder.0] = json!(holder.1);
        r
    };
    let batch = json!({"gatewayId": gw.id, "records": [
        record("req-1", ("keyId", &alice_key), &chat, now),
        record("req-2", ("consumerId", &gw.bob), &chat, now - 60_000),
        record("req-1", ("keyId", &alice_key), &chat, now),
        record("req-3", ("keyId", "key-00000000000000000000"), &chat, now),
        record("req-4", ("keyId", &alice_key), &chat, now + 3_600_000),
        record("req-5", ("keyId", &alice_key), &chat, now - 72 * 3_600_000),
        record("req-6", ("consumerId", &gw.alice), "api-00000000000000000000", now),
    ]});
    // An account's own token may not report usage, even an Admin's.
    refused(&report(&app, &admin, batch.clone()).await, 403, "Forbidden");
    let first = report(&app, &shipper, batch.clone()).await;
    let data = ok(&first);
    assert_eq!(
        (data["accepted"].clone(), data["duplicates"].clone()),
        (json!(2), json!(1))
    );
    let rejected: Vec<(i64, String)> = data["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["index"].as_i64().unwrap(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        rejected.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![3, 4, 5, 6],
        "{rejected:?}"
    );
    assert!(rejected[0].1.contains("keyId"), "{rejected:?}");
    assert!(rejected[1].1.contains("ahead"), "{rejected:?}");
    assert!(rejected[2].1.contains("older"), "{rejected:?}");
    assert!(rejected[3].1.contains("apiId"), "{rejected:?}");

    // The same batch again (a shipper's retry) adds nothing.
    let again = report(&app, &shipper, batch).await;
    assert_eq!(
        (
            ok(&again)["accepted"].clone(),
            ok(&again)["duplicates"].clone()
        ),
        (json!(0), json!(3))
    );

    let by_consumer = usage(&app, &admin, &gw.id, "groupBy=consumer,key").await;
    let items: Vec<(String, String, i64, i64, i64)> = ok(&by_consumer)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["consumerName"].as_str().unwrap().to_owned(),
                i["keyId"].as_str().unwrap().to_owned(),
                i["requests"].as_i64().unwrap(),
                i["promptTokens"].as_i64().unwrap(),
                i["completionTokens"].as_i64().unwrap(),
            )
        })
        .collect();
    let mut items = items;
    items.sort();
    assert_eq!(
        items,
        vec![
            ("alice".into(), alice_key.clone(), 0, 10, 20),
            ("bob".into(), String::new(), 0, 10, 20),
        ]
    );
    let totals = ok(&by_consumer)["totals"].clone();
    assert_eq!(totals["promptTokens"], 20);
    assert_eq!(totals["completionTokens"], 40);

    // Batches that cannot be read are refused whole and change nothing.
    let one = |r: Value| json!({"gatewayId": gw.id, "records": [r]});
    let mut both = record("req-9", ("keyId", &alice_key), &chat, now);
    both["consumerId"] = json!(gw.alice);
    let mut negative = record("req-9", ("keyId", &alice_key), &chat, now);
    negative["promptTokens"] = json!(-1);
    let too_many: Vec<Value> = (0..10_001)
        .map(|i| record(&format!("bulk-{i}"), ("keyId", &alice_key), &chat, now))
        .collect();
    for (body, code) in [
        (one(both), "InvalidParameter.Records"),
        (one(negative), "InvalidParameter.Records"),
        (
            one(record("has space", ("keyId", &alice_key), &chat, now)),
            "InvalidParameter.Records",
        ),
        (
            json!({"gatewayId": gw.id, "records": too_many}),
            "InvalidParameter.Records",
        ),
        (
            json!({"gatewayId": gw.id, "records": [], "extra": 1}),
            "InvalidParameter.Body",
        ),
        (json!({"gatewayId": gw.id}), "InvalidParameter.Body"),
    ] {
        refused(&report(&app, &shipper, body).await, 400, code);
    }
    refused(
        &report(
            &app,
            &shipper,
            json!({"gatewayId": "gw-00000000000000000000", "records": []}),
        )
        .await,
        404,
        "NotFound.Gateway",
    );
    let after = usage(&app, &admin, &gw.id, "").await;
    assert_eq!(ok(&after)["totals"], totals);

    // A full batch of 10,000 is taken in one call.
    let full: Vec<Value> = (0..10_000)
        .map(|i| record(&format!("bulk-{i}"), ("keyId", &alice_key), &chat, now))
        .collect();
    let r = report(&app, &shipper, json!({"gatewayId": gw.id, "records": full})).await;
    assert_eq!(ok(&r)["accepted"], 10_000);
    let after = usage(&app, &admin, &gw.id, "").await;
    assert_eq!(ok(&after)["totals"]["promptTokens"], 20 + 100_000);
}

/// The README's shipper (`scripts/usage-shipper.py`) reads nginx's `usage` log lines and
/// posts what they report; refused requests and lines without tokens are skipped, and a
/// line shipped twice counts once.
/// Runs `scripts/usage-shipper.py` over `log` (nginx's usage log lines) until it has
/// posted them all.
pub(crate) async fn ship(app: &TestApp, token: &str, gateway_id: &str, log: String) {
    use std::io::Write as _;
    let (base, token, gateway_id) = (app.base.clone(), token.to_owned(), gateway_id.to_owned());
    let status = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/scripts/usage-shipper.py"
            ))
            .env("CONSOLE_URL", base)
            .env("CONSOLE_USAGE_TOKEN", token)
            .env("GATEWAY_ID", gateway_id)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs the shipper");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(log.as_bytes())
            .unwrap();
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn the_shipper_posts_the_usage_of_nginx_log_lines() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let chat = {
        let r = app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/model-apis?gatewayId={}", gw.id),
                None,
            )
            .await;
        ok(&r)["items"][0]["apiId"].as_str().unwrap().to_owned()
    };
    let created = app
        .rest(
            Some(&admin),
            "POST",
            "/v1/tokens",
            Some(json!({"name": "shipper", "scope": "UsageWrite"})),
        )
        .await;
    let token = ok(&created)["value"].as_str().unwrap().to_owned();
    let msec = gateway_console::store::now_ms() as f64 / 1000.0;
    // As nginx writes them with the README's log_format (escape=json: every value a string).
    let line = |id: &str, consumer: &str, api: &str, prompt: &str, completion: &str| {
        format!(
            r#"{{"requestId":"{id}","consumerId":"{consumer}","apiId":"{api}","status":"200","promptTokens":"{prompt}","completionTokens":"{completion}","msec":"{msec:.3}"}}"#
        )
    };
    let log = [
        line(
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            &gw.alice,
            &chat,
            "12",
            "30",
        ),
        line("1f1e2d3c4b5a69788796a5b4c3d2e1f0", "", "", "", ""),
        line("2f1e2d3c4b5a69788796a5b4c3d2e1f0", &gw.alice, &chat, "", ""),
        line(
            "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
            &gw.alice,
            &chat,
            "12",
            "30",
        ),
        "not json".to_owned(),
    ]
    .join("\n");
    ship(&app, &token, &gw.id, log).await;
    let r = usage(&app, &admin, &gw.id, "groupBy=consumer").await;
    let totals = &ok(&r)["totals"];
    assert_eq!(
        (
            totals["promptTokens"].clone(),
            totals["completionTokens"].clone()
        ),
        (json!(12), json!(30))
    );
}

/// The ten consumers with the most requests among `deltas` in `[from, to)`, as the ranking
/// orders them (most requests, then most tokens, then by ID): (ID, requests, allowed,
/// tokens).
fn ranked(
    deltas: &[gateway_console::domain::usage::UsageDelta],
    from: i64,
    to: i64,
) -> Vec<(String, i64, i64, i64)> {
    let mut sums: std::collections::BTreeMap<&str, (i64, i64, i64)> = Default::default();
    for d in deltas.iter().filter(|d| d.at >= from && d.at < to) {
        let s = sums.entry(&d.consumer_id).or_default();
        s.0 += d.requests;
        if d.outcome == "allowed" {
            s.1 += d.requests;
        }
        s.2 += d.prompt_tokens + d.completion_tokens;
    }
    let mut out: Vec<_> = sums
        .into_iter()
        .map(|(id, (r, a, t))| (id.to_owned(), r, a, t))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(b.3.cmp(&a.3)).then(a.0.cmp(&b.0)));
    out.truncate(10);
    out
}

/// Asserts that every consumer's windows hold what summing all their hourly rows again gives
/// (which leaves them as they were when they do).
async fn windows_summed_again(db: &gateway_console::store::Db, what: &str) {
    let windows = || async {
        sqlx::query_as::<_, (String, i64, String, i64, i64, i64)>(
            "SELECT gateway_id, CAST(span AS BIGINT), consumer_id, requests, allowed, tokens \
             FROM usage_consumer_windows ORDER BY gateway_id, span, consumer_id",
        )
        .fetch_all(&db.pool)
        .await
        .unwrap()
    };
    let kept = windows().await;
    assert!(kept.len() > 60, "{what}: {} consumers' windows", kept.len());
    gateway_console::store::usage::rebuild_windows(db)
        .await
        .unwrap();
    assert_eq!(windows().await, kept, "{what}");
}

/// The store's ten top consumers of the gateway in `[from, to)` by hour, read afresh (no
/// remembered ranking): (ID, requests, allowed, tokens).
async fn top_consumers(
    db: &gateway_console::store::Db,
    gateway: &str,
    from: i64,
    to: i64,
) -> Vec<(String, i64, i64, i64)> {
    use gateway_console::domain::usage::{Granularity, UsageQuery};
    use gateway_console::store::usage::{self, Ranked, RankingCache};
    let q = UsageQuery::unfiltered(from, to, Granularity::Hour);
    let mut conn = db.reader().await.unwrap();
    let cache = RankingCache::default();
    let top = usage::top(&mut conn, &cache, gateway, &q, Ranked::Consumers, 10)
        .await
        .unwrap();
    top.into_iter()
        .map(|e| (e.consumer_id.unwrap(), e.requests, e.allowed, e.tokens))
        .collect()
}

#[tokio::test]
async fn the_top_consumers_of_the_last_day_week_and_30_days_are_those_of_every_row_summed() {
    use gateway_console::domain::usage::UsageDelta;
    use gateway_console::store::usage;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let now = gateway_console::store::now_ms();
    let (minute, hour, day) = (60_000, 3_600_000, 86_400_000);
    let this_hour = now - now.rem_euclid(hour);
    let start = this_hour - 40 * day;
    // Nothing is rolled up from `start` on (no hour holds a row yet).
    sqlx::query("UPDATE usage_rollup SET rolled_until = $1")
        .bind(start)
        .execute(&app.db.pool)
        .await
        .unwrap();
    // 40 days of counts of 60 consumers, and some in this hour, in no order.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    fn next(x: &mut u64, n: i64) -> i64 {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        (*x % n as u64) as i64
    }
    let delta = |x: &mut u64, at: i64| {
        let requests = 1 + next(x, 20);
        UsageDelta {
            gateway_id: gw.id.clone(),
            at: at - at.rem_euclid(minute),
            environment_id: String::new(),
            consumer_id: format!("cs-w-{:02}", next(x, 60)),
            key_id: String::new(),
            api_id: String::new(),
            outcome: if next(x, 5) == 0 {
                "no-rule"
            } else {
                "allowed"
            }
            .into(),
            requests,
            prompt_tokens: next(x, 3) * requests,
            completion_tokens: 0,
        }
    };
    let mut deltas: Vec<UsageDelta> = Vec::new();
    for _ in 0..1_500 {
        let at = start + next(&mut x, (this_hour - start) / minute) * minute;
        deltas.push(delta(&mut x, at));
    }
    for _ in 0..40 {
        let at = this_hour + next(&mut x, (now - this_hour) / minute + 1) * minute;
        deltas.push(delta(&mut x, at));
    }
    for part in deltas.chunks(200) {
        usage::add(&app.db, part).await.unwrap();
    }
    // The ranking of each of the three windows ending at the mark equals the rows summed.
    let compare = |deltas: Vec<UsageDelta>, what: String| {
        let db = app.db.clone();
        let gw = gw.id.clone();
        async move {
            let mut conn = db.reader().await.unwrap();
            let h = usage::rolled_until(&mut conn).await.unwrap();
            for from in [h - day, h - 7 * day, h - h.rem_euclid(day) - 30 * day] {
                let to = h + hour;
                let got = top_consumers(&db, &gw, from, to).await;
                assert_eq!(
                    got,
                    ranked(&deltas, from, to),
                    "{what}: from {from} at mark {h}"
                );
            }
        }
    };
    // The mark moves an hour, a few hours, then days at a time (the replica's own roll-up may
    // move it further meanwhile).
    let mut mark = start;
    for step in [
        hour,
        3 * hour,
        5 * hour,
        day,
        3 * day,
        7 * day,
        11 * day,
        13 * day,
        day,
    ] {
        mark = usage::roll_up(&app.db, (mark + step).min(this_hour))
            .await
            .unwrap();
        compare(deltas.clone(), format!("rolled up by {step}")).await;
    }
    assert_eq!(usage::roll_up(&app.db, now).await.unwrap(), this_hour);
    compare(deltas.clone(), "rolled up to this hour".into()).await;

    // Counts arriving for hours already rolled up: in each window, in one, in none.
    let late: Vec<UsageDelta> = [
        this_hour - 2 * hour,
        this_hour - 3 * day,
        this_hour - 20 * day,
        this_hour - 35 * day,
    ]
    .into_iter()
    .flat_map(|at| [delta(&mut x, at), delta(&mut x, at + 7 * minute)])
    .collect();
    // A consumer new to the windows, and a delta that counts nothing (not written).
    let mut newcomer = delta(&mut x, this_hour - 5 * hour);
    newcomer.consumer_id = "cs-w-new".into();
    let mut nothing = delta(&mut x, this_hour - 5 * hour);
    (nothing.requests, nothing.prompt_tokens) = (0, 0);
    let late = [late, vec![newcomer, nothing]].concat();
    usage::add(&app.db, &late).await.unwrap();
    deltas.extend(late);
    compare(deltas.clone(), "after late counts".into()).await;
    windows_summed_again(&app.db, "after late counts").await;

    // Hourly rows pruned from within the 30 days leave the windows too.
    let hours_before = this_hour - 12 * day;
    usage::prune(&app.db, 0, hours_before).await.unwrap();
    deltas.retain(|d| d.at >= hours_before);
    compare(deltas.clone(), "after pruning".into()).await;

    // Every window holds what its consumer's hourly rows sum to, as summing them all again gives.
    windows_summed_again(&app.db, "after pruning").await;

    // The answer is read from the windows: one changed by hand changes it.
    let leader = ranked(&deltas, this_hour - 7 * day, this_hour + hour)[0]
        .0
        .clone();
    sqlx::query("UPDATE usage_consumer_windows SET requests = 0 WHERE gateway_id = $1 AND span = 7 AND consumer_id = $2")
        .bind(&gw.id)
        .bind(&leader)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let top = top_consumers(&app.db, &gw.id, this_hour - 7 * day, this_hour + hour).await;
    assert_ne!(top[0].0, leader);
}
