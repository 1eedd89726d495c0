//! `make bench-usage`: the Usage page's charts for a gateway with 100,000 active consumers and
//! 30 days of hourly data, what that data costs in rows and bytes, and how many usage
//! combinations a flush writes per second; on SQLite, and on PostgreSQL when
//! `TEST_DATABASE_URL` names a server (the make target starts a throwaway one).
//!
//! First, what a quota exchange's writes cost: 100,000 counts of one replica, then 20,000 of
//! them changed per exchange, stamped (the replicas see each other) and quiet (a replica
//! alone). `BENCH_USAGE_ONLY=quota-writes` measures only that.
//!
//! Then a late flush: a count for each of the 100,000 consumers in an hour of yesterday, already
//! rolled up (what replicas flush after an outage), added to the hourly rows and the windows.
//! `BENCH_USAGE_ONLY=late-flush` measures only that (after the seeding).
//!
//! Then how many new combinations a flush writes per second, and the check's flushes of
//! combinations already in their minute. `BENCH_USAGE_ONLY=flush` measures only those (without
//! the seeding).
//!
//! The data: each of 100,000 consumers calls one model API in one hour of each of the last 30
//! days (a different hour per consumer and day), one in ten refused (`no-rule`): 3,000,000
//! hourly rows.

mod common;

use common::{bench_actor, instance_with, measure, report, serve, PASSWORD};
use gateway_console::domain::usage::{UsageDelta, DAY_MS, HOUR_MS};
use gateway_console::enforce::usage::UsageSettings;
use gateway_console::service::{accounts, tokens};
use gateway_console::store::{now_ms, Db};
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: gateway_console::ServerAllocator = gateway_console::ServerAllocator;

const CONSUMERS: usize = 100_000;
const DAYS: i64 = 30;

/// Writes the hourly rows straight into `usage_hours`, 1,000 a statement.
async fn seed_hours(db: &Db, gateway: &str, consumers: &[String]) -> usize {
    let today = now_ms() - now_ms().rem_euclid(DAY_MS);
    let mut rows = Vec::with_capacity(1_000);
    let mut written = 0;
    let mut tx = db.pool.begin().await.unwrap();
    for day in 0..DAYS {
        for (i, consumer) in consumers.iter().enumerate() {
            let at = today - day * DAY_MS + ((i as i64 + day) % 24) * HOUR_MS;
            let outcome = if i % 10 == 0 { "no-rule" } else { "allowed" };
            let requests = 1 + (i % 7) as i64;
            rows.push(format!(
                "('{gateway}', {at}, 'env-bench', '{consumer}', 'key-{i}', 'api-bench', '{outcome}', {requests}, {}, {})",
                requests * 300,
                requests * 100
            ));
            if rows.len() == 1_000 {
                insert(&mut tx, &rows).await;
                written += rows.len();
                rows.clear();
            }
        }
    }
    if !rows.is_empty() {
        insert(&mut tx, &rows).await;
        written += rows.len();
    }
    // Rolled up as the server does once an hour is over: the gateway's hourly totals, and
    // the mark at this hour (the hours of today still to come are past it, so unread).
    sqlx::query(
        "INSERT INTO usage_gateway_hours (gateway_id, at, environment_id, api_id, outcome, \
         requests, prompt_tokens, completion_tokens) \
         SELECT gateway_id, at, environment_id, api_id, outcome, CAST(SUM(requests) AS BIGINT), \
         CAST(SUM(prompt_tokens) AS BIGINT), CAST(SUM(completion_tokens) AS BIGINT) \
         FROM usage_hours GROUP BY gateway_id, at, environment_id, api_id, outcome",
    )
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query("UPDATE usage_rollup SET rolled_until = $1")
        .bind(now_ms() - now_ms().rem_euclid(HOUR_MS))
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The consumers' windows, which the roll-up would have kept.
    gateway_console::store::usage::rebuild_windows(db)
        .await
        .unwrap();
    written
}

async fn insert(tx: &mut sqlx::Transaction<'_, sqlx::Any>, rows: &[String]) {
    let sql = format!(
        "INSERT INTO usage_hours (gateway_id, at, environment_id, consumer_id, key_id, api_id, outcome, requests, prompt_tokens, completion_tokens) VALUES {}",
        rows.join(", ")
    );
    sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
        .execute(&mut **tx)
        .await
        .unwrap();
}

/// How many new combinations a flush writes per second: 200,000 of them (each a minute and an
/// hourly row) in the flush's parts of 2,000.
async fn flush_rate(db: &Db, gateway: &str) -> f64 {
    let at = now_ms();
    let deltas: Vec<UsageDelta> = (0..200_000)
        .map(|i| UsageDelta {
            gateway_id: gateway.to_owned(),
            at,
            environment_id: "env-bench".into(),
            consumer_id: format!("cs-flush-{i}"),
            key_id: format!("key-flush-{i}"),
            api_id: "api-bench".into(),
            outcome: "allowed".into(),
            requests: 1,
            prompt_tokens: 0,
            completion_tokens: 0,
        })
        .collect();
    // The writer's cache as a replica's flusher sizes it for this pace.
    let per_minute = UsageSettings::default().flushes_a_minute();
    gateway_console::store::usage::fit_writer_cache(db, deltas.len() * per_minute, 0)
        .await
        .unwrap();
    let started = Instant::now();
    for part in deltas.chunks(2_000) {
        gateway_console::store::usage::add(db, part).await.unwrap();
    }
    deltas.len() as f64 / started.elapsed().as_secs_f64()
}

/// How long the check's flush takes to add what it counted to combinations already in their
/// minute: each of `consumers` calls 10 model APIs in one minute (1,000,000 combinations,
/// flushed once), then 3 flushes of 275,000 of them picked at random (what 55,000 checks a
/// second with random keys count in 5 seconds), each through the check's own counter. On
/// another gateway ID, so that the charts below read none of it. Seconds per flush.
async fn flush_again(db: &Db, consumers: &[String]) -> Vec<f64> {
    use gateway_console::enforce::usage::{Decision, UsageCounter};
    let counter = UsageCounter::default();
    let apis: Vec<String> = (0..10).map(|i| format!("api-flush-{i}")).collect();
    let keys: Vec<String> = consumers.iter().map(|c| format!("key-{c}")).collect();
    // Ten minutes ago, but in this hour: a minute of an hour already rolled up takes the
    // late path (the hourly tables and the consumers' windows too).
    let now = now_ms();
    let at = (now / 60_000 * 60_000 - 10 * 60_000).max(now - now % HOUR_MS);
    let decision = |i: usize| Decision {
        gateway: "gw-flush-bench",
        environment: "",
        consumer: &consumers[i / 10],
        key: &keys[i / 10],
        api: &apis[i % 10],
        outcome: "allowed",
    };
    let all = consumers.len() * 10;
    // The writer's cache as a replica's flusher sizes it for 275,000 combinations a flush.
    let per_minute = UsageSettings::default().flushes_a_minute();
    gateway_console::store::usage::fit_writer_cache(db, 275_000 * per_minute, 0)
        .await
        .unwrap();
    for i in 0..all {
        counter.count(&decision(i), at);
    }
    let started = Instant::now();
    assert_eq!(counter.flush(db).await.unwrap(), all);
    println!(
        "  the first flush of {all} new combinations: {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut seconds = Vec::new();
    for _ in 0..3 {
        for _ in 0..275_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            counter.count(&decision((x % all as u64) as usize), at);
        }
        let started = Instant::now();
        counter.flush(db).await.unwrap();
        seconds.push(started.elapsed().as_secs_f64());
    }
    seconds
}

/// Seconds to add a count for each of `consumers` to an hour of yesterday, which is rolled up,
/// in the flush's parts of 2,000: each part goes to the minute and the hourly tables, and to
/// its consumers' windows.
async fn late_flush(db: &Db, gateway: &str, consumers: &[String]) -> f64 {
    let now = now_ms();
    let at = now - now.rem_euclid(HOUR_MS) - 20 * HOUR_MS + 5 * 60_000;
    let deltas: Vec<UsageDelta> = consumers
        .iter()
        .enumerate()
        .map(|(i, c)| UsageDelta {
            gateway_id: gateway.to_owned(),
            at,
            environment_id: "env-bench".into(),
            consumer_id: c.clone(),
            key_id: format!("key-{i}"),
            api_id: "api-bench".into(),
            outcome: "allowed".into(),
            requests: 1,
            prompt_tokens: 10,
            completion_tokens: 10,
        })
        .collect();
    let started = Instant::now();
    for part in deltas.chunks(2_000) {
        gateway_console::store::usage::add(db, part).await.unwrap();
    }
    started.elapsed().as_secs_f64()
}

/// Milliseconds per quota exchange writing 20,000 changed counts of a replica's 100,000 (in
/// the exchange's parts, sorted by key as it does), stamped or quiet: five exchanges each,
/// the median.
async fn quota_writes(db: &Db, label: &str) {
    use gateway_console::store::quotas::{share_counts, PeriodCount, Stamp, Wanted};
    let none = Wanted {
        full: &[],
        changed_since: None,
    };
    let counts = |requests: &dyn Fn(usize) -> i64, which: &mut dyn Iterator<Item = usize>| {
        which
            .map(|i| PeriodCount {
                quota_id: format!("qt-bench-{i:06}"),
                generation: 0,
                period_start: 1_000,
                requests: requests(i),
                tokens: 0,
            })
            .collect::<Vec<_>>()
    };
    let all = counts(&|_| 1, &mut (0..100_000));
    share_counts(db, "r-bench", now_ms(), &all, Stamp::Changed, none)
        .await
        .unwrap();
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut round = 1;
    for stamp in [Stamp::Changed, Stamp::Quiet, Stamp::Changed, Stamp::Quiet] {
        let mut ms = Vec::new();
        for _ in 0..5 {
            round += 1;
            let mut picked = std::collections::BTreeSet::new();
            while picked.len() < 20_000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                picked.insert((x % 100_000) as usize);
            }
            let changed = counts(&|_| round, &mut picked.into_iter());
            let started = Instant::now();
            share_counts(db, "r-bench", now_ms(), &changed, stamp, none)
                .await
                .unwrap();
            ms.push(started.elapsed().as_secs_f64() * 1e3);
        }
        ms.sort_by(f64::total_cmp);
        println!(
            "{label}: a quota exchange writing 20,000 changed counts of 100,000, {}: {:.0} ms (median of 5; {:.0}–{:.0})",
            if stamp == Stamp::Quiet { "quiet (alone)" } else { "stamped" },
            ms[2],
            ms[0],
            ms[4]
        );
    }
}

async fn bench(label: &str, url: &str) {
    let db = Db::connect(url).await.unwrap();
    quota_writes(&db, label).await;
    let only = std::env::var("BENCH_USAGE_ONLY").ok();
    if only.as_deref() == Some("quota-writes") {
        return;
    }
    accounts::create_account(&db, &bench_actor(), "bench", PASSWORD, "Admin")
        .await
        .unwrap();
    let token = tokens::create_token_for(&db, "bench", "bench", None, Default::default())
        .await
        .unwrap()
        .value;
    let gateway = instance_with(&db, "bench-usage", CONSUMERS).await;
    let consumers: Vec<String> = sqlx::query_scalar::<_, String>(
        "SELECT id FROM consumers WHERE instance_id = $1 ORDER BY id",
    )
    .bind(&gateway)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    // BENCH_USAGE_ONLY=flush: the flushes alone, on tables without the 30 days.
    let flush_only = only.as_deref() == Some("flush");
    if !flush_only {
        let started = Instant::now();
        let rows = seed_hours(&db, &gateway, &consumers).await;
        println!(
            "{label}: {rows} hourly rows of {} consumers seeded in {:.1} s",
            consumers.len(),
            started.elapsed().as_secs_f64()
        );
        if label == "PostgreSQL" {
            sqlx::query("ANALYZE").execute(&db.pool).await.unwrap();
            let bytes: i64 =
                sqlx::query_scalar("SELECT CAST(pg_total_relation_size('usage_hours') AS BIGINT)")
                    .fetch_one(&db.pool)
                    .await
                    .unwrap();
            println!(
                "{label}: usage_hours with its indexes: {:.0} MB, {:.0} bytes a row: one consumer calling one API with one key every hour costs 24 hourly rows ({:.1} KB) and 1,440 minute rows a day",
                bytes as f64 / 1e6,
                bytes as f64 / rows as f64,
                24.0 * bytes as f64 / rows as f64 / 1e3
            );
        }
        let seconds = late_flush(&db, &gateway, &consumers).await;
        println!(
            "{label}: a late flush, a count for each of {} consumers in an hour rolled up: {seconds:.2} s",
            consumers.len()
        );
        if only.as_deref() == Some("late-flush") {
            return;
        }
    }
    let rate = flush_rate(&db, &gateway).await;
    println!(
        "{label}: a flush writes {rate:.0} new combinations/s (a minute row each, and its gateway's minute totals)"
    );

    let seconds = flush_again(&db, &consumers).await;
    println!(
        "{label}: a flush of 275,000 combinations, random ones of 1,000,000 already in their minute: {} s (one core; the check flushes every 5 s)",
        seconds
            .iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(" / ")
    );
    if flush_only {
        return;
    }

    let rankings = db.usage_rankings.clone();
    let base = serve(db, axum::routing::get(|| async { "ok" })).await;
    let mut auth = reqwest::header::HeaderMap::new();
    auth.insert("authorization", format!("Bearer {token}").parse().unwrap());
    let client = reqwest::Client::builder()
        .default_headers(auth)
        .build()
        .unwrap();
    let one = &consumers[12_345];
    for (what, query) in [
        (
            "requests chart, 30 days",
            "chart=requests&range=30d".to_owned(),
        ),
        (
            "requests chart, 24 hours",
            "chart=requests&range=24h".to_owned(),
        ),
        ("tokens chart, 30 days", "chart=tokens&range=30d".to_owned()),
        (
            "top model APIs chart, 30 days",
            "chart=apis&range=30d".to_owned(),
        ),
        (
            "top consumers chart, 30 days",
            "chart=consumers&range=30d".to_owned(),
        ),
        (
            "one consumer's chart, 30 days",
            format!("chart=requests&range=30d&consumer={one}"),
        ),
    ] {
        let url = format!("{base}/v1/usage/chart?gatewayId={gateway}&{query}");
        // Each time read afresh: a ranking asked again within 15 s is answered from memory.
        let fresh = rankings.clone();
        let stats = measure(&client, move |c| {
            fresh.clear();
            c.get(&url)
        })
        .await;
        report(&format!("{label} {what}"), &stats);
    }
    // What the page itself asks (everything the four charts draw, as JSON), read afresh; then
    // the consumers chart's image that follows it, asking the same question.
    let url = format!("{base}/v1/usage/overview?gatewayId={gateway}&range=30d");
    let fresh = rankings.clone();
    let stats = measure(&client, move |c| {
        fresh.clear();
        c.get(&url)
    })
    .await;
    report(
        &format!("{label} the Usage page's overview, 30 days"),
        &stats,
    );
    let url = format!("{base}/v1/usage/chart?gatewayId={gateway}&chart=consumers&range=30d");
    let stats = measure(&client, move |c| c.get(&url)).await;
    report(
        &format!("{label} top consumers chart after the page (its ranking remembered)"),
        &stats,
    );
}

#[tokio::main]
async fn main() {
    common::server_allocator();
    let dir = tempfile::tempdir().unwrap();
    bench(
        "SQLite",
        &format!("sqlite:{}/console.db", dir.path().display()),
    )
    .await;
    if let Ok(server) = std::env::var("TEST_DATABASE_URL") {
        let url = common::fresh_postgres(&server, "bench_usage").await;
        bench("PostgreSQL", &url).await;
    }
}
