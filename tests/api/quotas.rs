//! Quotas (`/v1/quotas`): requests or tokens per day, week or month for a key, consumer or
//! group, one per subject, metric and period, with checked values (time zones included),
//! audited; applied by the real `/authz/check` (`quota-exhausted` until an Admin's reset),
//! request counts added up across replicas, token counts from `POST /v1/usage`.

use crate::access::{gateway, ALICE_KEY};
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_on, spawn_app_with, TestApp};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn set(app: &TestApp, t: &str, body: Value) -> crate::common::Rest {
    app.rest(Some(t), "POST", "/v1/quotas", Some(body)).await
}

/// The check's status for alice's key on `/v1/chat`, and its reason and quota headers.
async fn check(app: &TestApp, gw: &str) -> (u16, [Option<String>; 4]) {
    let res = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gw)
        .header("x-original-uri", "/v1/chat")
        .bearer_auth(ALICE_KEY)
        .send()
        .await
        .unwrap();
    let h = |n: &str| res.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
    let headers = [
        h("x-authz-reason"),
        h("retry-after"),
        h("x-quota-limit"),
        h("x-quota-remaining"),
    ];
    (res.status().as_u16(), headers)
}

/// Polls the check until it answers `want`; fails after `within`.
async fn until(app: &TestApp, gw: &str, want: u16, within: Duration, what: &str) {
    let started = Instant::now();
    loop {
        let (status, _) = check(app, gw).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < within,
            "{what}: still {status}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn quotas_are_set_one_per_subject_metric_and_period_with_checked_values() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let viewer = app.token("viewer").await;
    let gw = gateway(&app, &admin, "quotas-gw").await;

    let daily = set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "day", "amount": 1000,
            "timeZone": "Europe/Berlin"}),
    )
    .await;
    let d = ok(&daily).clone();
    assert_eq!(
        (
            d["metric"].clone(),
            d["period"].clone(),
            d["amount"].clone(),
            d["warnPercent"].clone()
        ),
        (json!("requests"), json!("day"), json!(1000), json!(80))
    );
    assert_eq!(
        (d["used"].clone(), d["status"].clone()),
        (json!(0), json!("Ok"))
    );
    let (start, end) = (
        d["periodStart"].as_i64().unwrap(),
        d["periodEnd"].as_i64().unwrap(),
    );
    let now = gateway_console::store::now_ms();
    assert!(
        start <= now && now < end && (end - start) >= 23 * 3_600_000,
        "{d}"
    );
    // Another period, or tokens, on the same subject is another quota.
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "month", "amount": 20000}),
    )
    .await);
    ok(&set(&app, &admin, json!({"gatewayId": gw.id, "subjectId": gw.alice, "metric": "tokens", "period": "day", "amount": 500000, "warnPercent": 90})).await);
    ok(&set(&app, &admin, json!({"gatewayId": gw.id, "subjectId": gw.team, "period": "week", "amount": 5000, "timeZone": "Asia/Kolkata"})).await);

    let cases = [
        (
            json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "day", "amount": 5}),
            409,
            "Conflict.Exists",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day"}),
            400,
            "InvalidParameter.Amount",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 0}),
            400,
            "InvalidParameter.Amount",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": -1}),
            400,
            "InvalidParameter.Amount",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 1_000_000_000_001i64}),
            400,
            "InvalidParameter.Amount",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "year", "amount": 5}),
            400,
            "InvalidParameter.Period",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "amount": 5}),
            400,
            "InvalidParameter.Period",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "metric": "bytes", "period": "day", "amount": 5}),
            400,
            "InvalidParameter.Metric",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 5, "timeZone": "Mars/Olympus_Mons"}),
            400,
            "InvalidParameter.TimeZone",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 5, "timeZone": "Europe/Berlin; DROP"}),
            400,
            "InvalidParameter.TimeZone",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 5, "warnPercent": 0}),
            400,
            "InvalidParameter.WarnPercent",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 5, "warnPercent": 101}),
            400,
            "InvalidParameter.WarnPercent",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": "cs-d4g5h6j7k8l9m0n1p2q3", "period": "day", "amount": 5}),
            404,
            "NotFound.Consumer",
        ),
        (
            json!({"gatewayId": gw.id, "subjectId": "env-d4g5h6j7k8l9m0n1p2q3", "period": "day", "amount": 5}),
            400,
            "InvalidParameter.SubjectId",
        ),
    ];
    for (body, status, code) in cases {
        let r = set(&app, &admin, body.clone()).await;
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert_eq!(r.body["code"], code, "{body}");
    }
    refused(
        &set(
            &app,
            &viewer,
            json!({"gatewayId": gw.id, "subjectId": gw.bob, "period": "day", "amount": 5}),
        )
        .await,
        403,
        "Forbidden",
    );
    let covering = app
        .rest(
            Some(&viewer),
            "GET",
            &format!(
                "/v1/quotas?gatewayId={}&consumerId={}&pageSize=100",
                gw.id, gw.alice
            ),
            None,
        )
        .await;
    assert_eq!(ok(&covering)["totalSize"], 4);
    let bob = app
        .rest(
            Some(&viewer),
            "GET",
            &format!("/v1/quotas?gatewayId={}&consumerId={}", gw.id, gw.bob),
            None,
        )
        .await;
    assert_eq!(ok(&bob)["totalSize"], 0);

    // Changed with its version; a stale version or a bad zone is refused.
    let path = format!("/v1/quotas/{}", d["quotaId"].as_str().unwrap());
    let changed = app
        .rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"amount": 2000, "timeZone": "UTC", "warnPercent": 50, "version": 1})),
        )
        .await;
    assert_eq!(
        (
            ok(&changed)["amount"].clone(),
            ok(&changed)["timeZone"].clone(),
            ok(&changed)["version"].clone()
        ),
        (json!(2000), json!("UTC"), json!(2))
    );
    refused(
        &app.rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"amount": 3000, "version": 1})),
        )
        .await,
        409,
        "Conflict.Version",
    );
    refused(
        &app.rest(
            Some(&admin),
            "PUT",
            &path,
            Some(json!({"amount": 3000, "timeZone": "Nowhere/City", "version": 2})),
        )
        .await,
        400,
        "InvalidParameter.TimeZone",
    );
    refused(
        &app.rest(
            Some(&admin),
            "POST",
            &format!("{path}/reset"),
            Some(json!({"version": 1})),
        )
        .await,
        409,
        "Conflict.Version",
    );
    let reset = app
        .rest(
            Some(&admin),
            "POST",
            &format!("{path}/reset"),
            Some(json!({"version": 2})),
        )
        .await;
    assert_eq!(
        (
            ok(&reset)["generation"].clone(),
            ok(&reset)["version"].clone()
        ),
        (json!(1), json!(3))
    );
    refused(
        &app.rest(
            Some(&viewer),
            "POST",
            &format!("{path}/reset"),
            Some(json!({"version": 3})),
        )
        .await,
        403,
        "Forbidden",
    );
    ok(&app.rest(Some(&admin), "DELETE", &path, None).await);
    refused(
        &app.rest(Some(&admin), "GET", &path, None).await,
        404,
        "NotFound.Quota",
    );

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
        .map(|e| e["action"].as_str().unwrap())
        .filter(|a| a.ends_with("Quota"))
        .collect();
    for a in ["CreateQuota", "UpdateQuota", "ResetQuota", "DeleteQuota"] {
        assert!(actions.contains(&a), "{a}: {actions:?}");
    }
}

#[tokio::test]
async fn a_used_up_quota_refuses_until_an_admin_resets_it_and_replicas_add_up() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let second = spawn_app_on(&app, proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let q = ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "day", "amount": 5}),
    )
    .await)
    .clone();
    // A looser group quota: the consumer's is the tightest, and decides.
    ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.team, "period": "month", "amount": 1000}),
    )
    .await);
    app.enforcer.refresh().await.unwrap();
    second.enforcer.refresh().await.unwrap();

    for left in ["4", "3", "2"] {
        let (status, h) = check(&app, &gw.id).await;
        assert_eq!(status, 200);
        assert_eq!((h[2].as_deref(), h[3].as_deref()), (Some("5"), Some(left)));
    }
    // The second replica learns of the first's three within its next share (a second).
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert_eq!(check(&second, &gw.id).await.0, 200);
    assert_eq!(check(&second, &gw.id).await.0, 200);
    let (status, h) = check(&second, &gw.id).await;
    assert_eq!(status, 403);
    assert_eq!(h[0].as_deref(), Some("quota-exhausted"));
    let retry: i64 = h[1].as_deref().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    // Once both have shared (every second), the first refuses too. (Polling it sooner would
    // count its own admissions: the documented error bound.)
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(check(&app, &gw.id).await.0, 403);

    // The access check names the quota that decides.
    let explained = app
        .rest(
            Some(&admin),
            "POST",
            &format!("/v1/gateways/{}/authz/explain", gw.id),
            Some(json!({"key": ALICE_KEY, "path": "/v1/chat"})),
        )
        .await;
    let e = ok(&explained).clone();
    assert_eq!(e["reason"], "quota_exhausted", "{e}");
    let deciding: Vec<&Value> = e["quotas"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q["decides"] == true)
        .collect();
    assert_eq!(deciding.len(), 1, "{e}");
    assert_eq!(
        (
            deciding[0]["subjectName"].clone(),
            deciding[0]["used"].clone()
        ),
        (json!("alice"), json!(5))
    );

    // The console sees it used up.
    let path = format!("/v1/quotas/{}", q["quotaId"].as_str().unwrap());
    let seen = app.rest(Some(&admin), "GET", &path, None).await;
    assert_eq!(
        (ok(&seen)["used"].clone(), ok(&seen)["status"].clone()),
        (json!(5), json!("Exhausted"))
    );

    // Reset: both replicas admit again.
    ok(&app
        .rest(
            Some(&admin),
            "POST",
            &format!("{path}/reset"),
            Some(json!({"version": q["version"]})),
        )
        .await);
    until(&app, &gw.id, 200, Duration::from_secs(2), "after the reset").await;
    until(
        &second,
        &gw.id,
        200,
        Duration::from_secs(2),
        "after the reset, elsewhere",
    )
    .await;
    let refusals = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/audit-events?gatewayId={}&pageSize=100", gw.id),
            None,
        )
        .await;
    let reset_entry = ok(&refusals)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "ResetQuota")
        .cloned()
        .unwrap();
    assert!(
        reset_entry["summary"]
            .as_str()
            .unwrap()
            .contains("5 of 5 used"),
        "{reset_entry}"
    );
}

#[tokio::test]
async fn a_token_quota_refuses_once_the_reported_tokens_reach_it() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let q = ok(&set(&app, &admin, json!({"gatewayId": gw.id, "subjectId": gw.team, "metric": "tokens", "period": "day", "amount": 100})).await).clone();
    app.enforcer.refresh().await.unwrap();
    assert_eq!(check(&app, &gw.id).await.0, 200);

    let shipper = app
        .rest(
            Some(&admin),
            "POST",
            "/v1/tokens",
            Some(json!({"name": "shipper", "scope": "UsageWrite"})),
        )
        .await;
    let shipper = ok(&shipper)["value"].as_str().unwrap().to_owned();
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
    let now = gateway_console::store::now_ms();
    let batch = |id: &str, tokens: i64| {
        json!({"gatewayId": gw.id, "records": [{"requestId": id, "consumerId": gw.alice,
            "apiId": chat, "promptTokens": tokens, "completionTokens": 0, "timestamp": now}]})
    };
    ok(&app
        .rest(Some(&shipper), "POST", "/v1/usage", Some(batch("r-1", 60)))
        .await);
    // Replayed: counted once.
    ok(&app
        .rest(Some(&shipper), "POST", "/v1/usage", Some(batch("r-1", 60)))
        .await);
    let path = format!("/v1/quotas/{}", q["quotaId"].as_str().unwrap());
    let seen = app.rest(Some(&admin), "GET", &path, None).await;
    assert_eq!(
        (ok(&seen)["used"].clone(), ok(&seen)["status"].clone()),
        (json!(60), json!("Ok"))
    );
    assert_eq!(check(&app, &gw.id).await.0, 200);
    ok(&app
        .rest(Some(&shipper), "POST", "/v1/usage", Some(batch("r-2", 45)))
        .await);
    until(
        &app,
        &gw.id,
        403,
        Duration::from_secs(3),
        "the reported tokens",
    )
    .await;
    let (_, h) = check(&app, &gw.id).await;
    assert_eq!(h[0].as_deref(), Some("quota-exhausted"));
    let seen = app.rest(Some(&admin), "GET", &path, None).await;
    assert_eq!(
        (ok(&seen)["used"].clone(), ok(&seen)["status"].clone()),
        (json!(105), json!("Exhausted"))
    );
}

#[tokio::test]
async fn an_exchange_of_many_counts_written_in_parts_reaches_the_other_replicas_whole() {
    use gateway_console::store::quotas::{share_counts, PeriodCount, Stamp, Wanted};
    let app = crate::common::spawn_app().await;
    // 4,500 counts: two parts of 2,000 on their own, the last 500 with the reads.
    let mine: Vec<PeriodCount> = (0..4_500)
        .map(|i| PeriodCount {
            quota_id: format!("qt-{i:05}"),
            generation: 0,
            period_start: 1_000,
            requests: i + 1,
            tokens: 0,
        })
        .collect();
    let none = Wanted {
        full: &[],
        changed_since: None,
    };
    assert!(
        share_counts(&app.db, "r1", 5_000, &mine, Stamp::Changed, none)
            .await
            .unwrap()
            .is_empty()
    );
    // Another replica reads them all back, by name and by change.
    let wanted: Vec<(std::sync::Arc<str>, i64, i64)> = mine
        .iter()
        .map(|c| (c.quota_id.as_str().into(), 0, 1_000))
        .collect();
    let by_name = Wanted {
        full: &wanted,
        changed_since: None,
    };
    let mut read = share_counts(&app.db, "r2", 6_000, &[], Stamp::Changed, by_name)
        .await
        .unwrap();
    read.sort_by(|a, b| a.quota_id.cmp(&b.quota_id));
    assert_eq!(read, mine);
    let by_change = Wanted {
        full: &[],
        changed_since: Some(5_000),
    };
    let read = share_counts(&app.db, "r2", 7_000, &[], Stamp::Changed, by_change)
        .await
        .unwrap();
    assert_eq!(read.len(), 4_500);
    assert_eq!(
        read.iter().map(|c| c.requests).sum::<i64>(),
        4_500 * 4_501 / 2
    );
    // Written again (as after a failure part way), nothing changes: counts are totals.
    share_counts(&app.db, "r1", 8_000, &mine, Stamp::Changed, none)
        .await
        .unwrap();
    let read = share_counts(&app.db, "r2", 9_000, &[], Stamp::Changed, by_change)
        .await
        .unwrap();
    assert_eq!(
        read.iter().map(|c| c.requests).sum::<i64>(),
        4_500 * 4_501 / 2
    );
}

/// A replica alone writes its counts quietly (its changes are not stamped); its first
/// exchange once it sees another stamps all its rows, so the newcomer reads them by change.
#[tokio::test]
async fn counts_written_quietly_are_stamped_all_at_once_when_another_replica_appears() {
    use gateway_console::store::quotas::{share_counts, PeriodCount, Stamp, Wanted};
    let app = crate::common::spawn_app().await;
    let counts = |requests: i64| -> Vec<PeriodCount> {
        (0..3)
            .map(|i| PeriodCount {
                quota_id: format!("qt-quiet-{i}"),
                generation: 0,
                period_start: 1_000,
                requests,
                tokens: 0,
            })
            .collect()
    };
    let none = Wanted {
        full: &[],
        changed_since: None,
    };
    let changes_since = |since| Wanted {
        full: &[],
        changed_since: Some(since),
    };
    let total = |read: &[PeriodCount]| read.iter().map(|c| c.requests).sum::<i64>();
    // New rows are stamped even when written quietly.
    share_counts(&app.db, "r1", 5_000, &counts(1), Stamp::Quiet, none)
        .await
        .unwrap();
    let read = share_counts(
        &app.db,
        "r2",
        5_500,
        &[],
        Stamp::Changed,
        changes_since(5_000),
    )
    .await
    .unwrap();
    assert_eq!(total(&read), 3);
    // Set again quietly: the counts change, their stamps do not.
    share_counts(&app.db, "r1", 6_000, &counts(7), Stamp::Quiet, none)
        .await
        .unwrap();
    let read = share_counts(
        &app.db,
        "r2",
        6_500,
        &[],
        Stamp::Changed,
        changes_since(6_000),
    )
    .await
    .unwrap();
    assert!(read.is_empty(), "{read:?}");
    let full: Vec<(std::sync::Arc<str>, i64, i64)> = counts(0)
        .iter()
        .map(|c| (c.quota_id.as_str().into(), 0, 1_000))
        .collect();
    let by_name = Wanted {
        full: &full,
        changed_since: None,
    };
    let read = share_counts(&app.db, "r2", 6_600, &[], Stamp::Changed, by_name)
        .await
        .unwrap();
    assert_eq!(total(&read), 21, "a full read has the quiet counts");
    // Stamped all at once (with nothing new to write): read by change again.
    share_counts(&app.db, "r1", 7_000, &[], Stamp::All, none)
        .await
        .unwrap();
    let read = share_counts(
        &app.db,
        "r2",
        7_500,
        &[],
        Stamp::Changed,
        changes_since(7_000),
    )
    .await
    .unwrap();
    assert_eq!(total(&read), 21);
}

#[tokio::test]
async fn a_replica_sees_another_only_while_it_marks_itself_seen() {
    use gateway_console::store::replicas::{beat, prune};
    let app = crate::common::spawn_app().await;
    // Ahead of the running replica's own marks (stamped now), so that only these count.
    let base = gateway_console::store::now_ms() + 86_400_000;
    assert!(!beat(&app.db, "r1", base, base - 10_000).await.unwrap());
    assert!(beat(&app.db, "r2", base + 1_000, base - 9_000)
        .await
        .unwrap());
    assert!(beat(&app.db, "r1", base + 2_000, base - 8_000)
        .await
        .unwrap());
    // r2 has not been seen for 10 seconds: r1 is alone again.
    assert!(!beat(&app.db, "r1", base + 11_001, base + 1_001)
        .await
        .unwrap());
    // Gone for long, r2 is forgotten; r1, seen since, is kept.
    prune(&app.db, base + 5_000).await.unwrap();
    let left: Vec<String> = sqlx::query_scalar(
        "SELECT replica_id FROM replicas WHERE replica_id IN ('r1', 'r2') ORDER BY replica_id",
    )
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(left, ["r1"]);
}

/// A replica alone writes its quota counts only every few seconds; what it has not written
/// yet it writes when it stops.
#[tokio::test]
async fn a_replica_alone_writes_its_unwritten_quota_counts_when_it_stops() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "explain-gw").await;
    let q = ok(&set(
        &app,
        &admin,
        json!({"gatewayId": gw.id, "subjectId": gw.alice, "period": "day", "amount": 50}),
    )
    .await)
    .clone();
    app.enforcer.refresh().await.unwrap();
    for _ in 0..3 {
        assert_eq!(check(&app, &gw.id).await.0, 200);
    }
    app.enforcer.write_quota_counts().await.unwrap();
    let written: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM quota_counts WHERE quota_id = $1",
    )
    .bind(q["quotaId"].as_str().unwrap())
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(written, 3);
}
