//! `make bench-write`: how fast changes are taken through REST. The release binary runs as
//! its own process; wrk (Debian's) creates consumers, then authorization rules, for 5 s each at
//! 1, 8 and 32 connections, and reports requests/s, p50, p99 and errors. Every change is one
//! transaction with its audit entry and journal entry, as always. SQLite first, then
//! PostgreSQL when `TEST_DATABASE_URL` names a server (the make target starts a throwaway one).
//! Target on SQLite at 32 connections: ≥ 7,000 req/s and p99 ≤ 25 ms, with 0 errors.

mod common;

use common::{admin_and_gateway, bench_actor, free_port, model_api, run_wrk, Wrk};
use gateway_console::domain::inputs::NewConsumer;
use gateway_console::service::consumers;
use gateway_console::store::Db;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CONNECTIONS: [u32; 3] = [1, 8, 32];
const SECONDS: u32 = 5;
/// Rules need distinct (consumer, API) pairs: this many consumers times `APIS` model APIs.
const RULE_CONSUMERS: usize = 2_000;
const APIS: usize = 60;

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start(url: &str) -> Server {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gateway-console"))
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, base }
}

/// What the wrk scripts need: a token, a gateway, its environment, consumers and APIs to
/// grant.
struct World {
    token: String,
    gateway: String,
    environment: String,
    consumers: Vec<String>,
    apis: Vec<String>,
}

async fn prepare(db: &Db) -> World {
    let actor = bench_actor();
    let (token, gateway, environment) = admin_and_gateway(db, "bench-write").await;
    let mut apis = vec![];
    for i in 0..APIS {
        apis.push(
            model_api(
                db,
                &gateway,
                &environment,
                &format!("model-{i}"),
                &format!("/m{i}"),
            )
            .await,
        );
    }
    let mut consumers = vec![];
    for i in 0..RULE_CONSUMERS {
        let c = consumers::create_consumer(
            db,
            &actor,
            NewConsumer {
                instance_id: gateway.clone(),
                name: format!("grantee-{i}"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        consumers.push(c.id);
    }
    World {
        token,
        gateway,
        environment,
        consumers,
        apis,
    }
}

fn wrk(dir: &std::path::Path, url: &str, script: &str, connections: u32) -> Wrk {
    run_wrk(dir, url, script, connections, SECONDS)
}

/// Creates consumers named `<run>-<n>`.
fn consumer_script(w: &World, run: &str) -> String {
    format!(
        r#"local n = 0
request = function()
  n = n + 1
  local body = string.format('{{"gatewayId":"{gw}","name":"{run}-%d"}}', n)
  return wrk.format("POST", "/v1/consumers", {{ ["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json" }}, body)
end
"#,
        gw = w.gateway,
        token = w.token
    )
}

/// Grants each (consumer, API) pair once, starting at pair `first`.
fn rule_script(w: &World, first: usize) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(",")
    };
    format!(
        r#"local consumers = {{{consumers}}}
local apis = {{{apis}}}
local n = {first}
request = function()
  local c = consumers[(n % #consumers) + 1]
  local a = apis[(math.floor(n / #consumers) % #apis) + 1]
  n = n + 1
  local body = string.format('{{"principalType":"Consumer","principalId":"%s","apiId":"%s","environmentId":"{env}","expireMode":"LongTerm"}}', c, a)
  return wrk.format("POST", "/v1/authorization-rules", {{ ["Authorization"] = "Bearer {token}", ["Content-Type"] = "application/json" }}, body)
end
"#,
        consumers = list(&w.consumers),
        apis = list(&w.apis),
        env = w.environment,
        token = w.token
    )
}

async fn bench(label: &str, url: &str) -> Vec<(String, u32, Wrk)> {
    let db = Db::connect(url).await.unwrap();
    let started = Instant::now();
    let w = prepare(&db).await;
    println!(
        "{label}: prepared {} consumers and {} APIs in {:.1}s",
        w.consumers.len(),
        w.apis.len(),
        started.elapsed().as_secs_f64()
    );
    db.pool.close().await;
    let server = start(url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![];
    let mut granted = 0;
    for c in CONNECTIONS {
        let run = wrk(
            dir.path(),
            &server.base,
            &consumer_script(&w, &format!("c{c}")),
            c,
        );
        report(label, "create consumer", c, &run);
        out.push(("create consumer".to_owned(), c, run));
    }
    for c in CONNECTIONS {
        let run = wrk(dir.path(), &server.base, &rule_script(&w, granted), c);
        // The next run starts after the pairs this one may have used.
        granted += (run.rps * f64::from(SECONDS) * 1.2) as usize + 1_000;
        assert!(
            granted < RULE_CONSUMERS * APIS,
            "too fast for the prepared pairs: raise RULE_CONSUMERS"
        );
        report(label, "create rule", c, &run);
        out.push(("create rule".to_owned(), c, run));
    }
    out
}

fn report(label: &str, what: &str, connections: u32, r: &Wrk) {
    println!(
        "{label:<10} {what:<16} {connections:>2} conn {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {}",
        r.rps, r.p50_ms, r.p99_ms, r.errors
    );
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}/console.db", dir.path().display());
    let mut all = bench("SQLite", &sqlite).await;
    if let Ok(server) = std::env::var("TEST_DATABASE_URL") {
        let url = common::fresh_postgres(&server, "bench_write").await;
        all.extend(bench("PostgreSQL", &url).await);
    }
    let errors: u64 = all.iter().map(|(_, _, r)| r.errors).sum();
    let target = all
        .iter()
        .find(|(what, c, _)| what == "create consumer" && *c == 32)
        .map(|(_, _, r)| r)
        .unwrap();
    println!(
        "SQLite create consumer at 32 connections: {:.0} req/s, p99 {:.1} ms (target ≥ 7,000 req/s, p99 ≤ 25 ms); errors in all runs: {errors}",
        target.rps, target.p99_ms
    );
    assert_eq!(errors, 0, "every write must succeed");
}
