//! `make bench-api`: `GET /v1/consumers` and
//! `ListConsumerAuthorizationRules` (`GET /v1/consumers/{id}/authorization-rules`) at 1,000 and at 1,000,000 consumers and rules,
//! beside a trivial axum JSON handler measured in the same run, all with bearer tokens.

mod common;

use common::{
    bench_actor, bench_db, instance_with, measure, measure_beside, report, serve, PASSWORD,
};
use gateway_console::domain::inputs::NewModelApi;
use gateway_console::domain::PageRequest;
use gateway_console::service::{accounts, environments, model_apis, tokens};
use gateway_console::store::Db;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: gateway_console::ServerAllocator = gateway_console::ServerAllocator;

/// One LongTerm rule per consumer of the instance on one model API, added once.
async fn rules_for_every_consumer(db: &Db, instance_id: &str) {
    let existing: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM authorization_rules WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    if existing > 0 {
        return;
    }
    let started = Instant::now();
    let env = environments::list_environments(db, instance_id, "", PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let api = model_apis::create_api(
        db,
        &bench_actor(),
        NewModelApi {
            instance_id: instance_id.into(),
            name: "bench-chat".into(),
            base_path: "/v1/bench".into(),
            ai_protocols: vec!["OpenAI/v1".into()],
            model_category: "Text".into(),
            description: String::new(),
            environment_ids: vec![env.id.clone()],
        },
    )
    .await
    .unwrap();
    // A rule's ID reuses its consumer's unique xid, so one INSERT … SELECT seeds them all.
    let done = sqlx::query(
        "INSERT INTO authorization_rules (id, instance_id, principal_type, principal_id, consumer_id, group_id, api_id, environment_id, expire_mode, expire_at, created_at, updated_at, version) \
         SELECT 'car-' || substr(c.id, 4), c.instance_id, 'Consumer', c.id, c.id, NULL, $1, $2, 'LongTerm', NULL, c.created_at, c.created_at, 1 \
         FROM consumers c WHERE c.instance_id = $3",
    )
    .bind(&api.id)
    .bind(&env.id)
    .bind(instance_id)
    .execute(&db.pool)
    .await
    .unwrap();
    println!(
        "seeded {} rules in {:.1}s",
        done.rows_affected(),
        started.elapsed().as_secs_f64()
    );
}

/// A consumer from the middle of the instance.
async fn some_consumer(db: &Db, instance_id: &str) -> String {
    sqlx::query_scalar(
        "SELECT id FROM consumers WHERE instance_id = $1 ORDER BY created_at LIMIT 1 OFFSET 500",
    )
    .bind(instance_id)
    .fetch_one(&db.pool)
    .await
    .unwrap()
}

#[tokio::main]
async fn main() {
    common::server_allocator();
    let db = bench_db().await;
    let _ = accounts::create_account(&db, &bench_actor(), "bench", PASSWORD, "Admin").await;
    let small = instance_with(&db, "bench-1k", 1_000).await;
    let large = instance_with(&db, "bench-1m", 1_000_000).await;
    rules_for_every_consumer(&db, &small).await;
    rules_for_every_consumer(&db, &large).await;
    let targets = [
        ("1k", small.clone(), some_consumer(&db, &small).await),
        ("1M", large.clone(), some_consumer(&db, &large).await),
    ];
    let token_name = format!("bench-{}", gateway_console::store::now_ms());
    let token = tokens::create_token_for(&db, "bench", &token_name, None, Default::default())
        .await
        .unwrap()
        .value;

    let base = serve(
        db,
        axum::routing::get(|| async {
            axum::Json(serde_json::json!({"requestId": "x", "code": "Ok", "message": "success", "data": {}}))
        }),
    )
    .await;
    let client = reqwest::Client::new();

    let url = format!("{base}/bench/trivial");
    let trivial = move |c: &reqwest::Client| c.get(&url);
    let stats = measure(&client, trivial.clone()).await;
    report("trivial axum JSON handler (same server)", &stats);
    println!(
        "throughput: the median of 9 rounds of 0.5 s, each after 0.5 s of the trivial handler"
    );
    let mut worst: f64 = 100.0;
    for (label, instance, consumer) in targets {
        // The third case (our extension of that operation) is reported, not part of the target.
        let cases = [
            (
                format!("GET /v1/consumers {label}"),
                format!("{base}/v1/consumers?gatewayId={instance}&pageNumber=1"),
            ),
            (
                format!("GET …/authorization-rules {label}"),
                format!("{base}/v1/consumers/{consumer}/authorization-rules"),
            ),
            (
                format!("GET …/authorization-rules {label} inherited+search"),
                format!("{base}/v1/consumers/{consumer}/authorization-rules?includeInherited=true&apiNameLike=bench"),
            ),
        ];
        for (i, (name, url)) in cases.into_iter().enumerate() {
            let t = token.clone();
            let (s, share) = measure_beside(
                &client,
                move |c| c.get(&url).bearer_auth(&t),
                trivial.clone(),
            )
            .await;
            report(&name, &s);
            if i < 2 {
                worst = worst.min(share);
            }
            println!(
                "{:<44} {share:.1} % of the trivial handler (median of the rounds)",
                ""
            );
        }
    }
    println!(
        "targets: both endpoints ≥ 25 % of the trivial handler's throughput (lowest: {worst:.1} %); p50 at 1M ≤ 2× p50 at 1k"
    );
}
