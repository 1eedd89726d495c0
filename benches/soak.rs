//! `make soak`: 200 concurrent clients for 60 s (`SOAK_SECONDS` to change it) against the
//! release binary on SQLite — the check through nginx `auth_request` (120 clients), REST reads
//! (40), REST writes (20: create a consumer, update it, delete it) and console pages and server
//! functions with a session (20) — reporting errors (target 0), p50/p99 per kind, and the
//! server's resident memory at start, after a 10 s warm-up and at the end (target: growth
//! after warm-up ≤ 10 %), every 10 s between, and the slope of the line fitted through the
//! second half of those samples (a leak keeps it positive).

mod common;

use common::{admin_and_gateway, bench_actor, free_port, model_api, nginx, PASSWORD};
use gateway_console::domain::inputs::{NewConsumer, NewGroup, NewKey, NewRule};
use gateway_console::service::{consumers, groups, keys, rules};
use gateway_console::store::Db;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOLDERS: usize = 500;
const WARM_UP: Duration = Duration::from_secs(10);
/// Signed-in sessions, one per console client.
const SESSIONS: usize = 20;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What the clients use: a token, the gateway, consumer IDs and key values.
struct World {
    token: String,
    gateway: String,
    consumers: Vec<String>,
    keys: Vec<String>,
}

async fn prepare(db: &Db) -> World {
    let actor = bench_actor();
    let (token, gateway, environment) = admin_and_gateway(db, "soak").await;
    let api = model_api(db, &gateway, &environment, "chat", "/v1/chat").await;
    let group = groups::create_group(
        db,
        &actor,
        NewGroup {
            instance_id: gateway.clone(),
            name: "soakers".into(),
            description: String::new(),
        },
    )
    .await
    .unwrap();
    rules::create_rules(
        db,
        &actor,
        vec![NewRule {
            principal_type: "ConsumerGroup".into(),
            principal_id: group.id.clone(),
            api_id: api,
            environment_id: environment,
            expire_mode: "LongTerm".into(),
            expire_timestamp: None,
        }],
    )
    .await
    .unwrap();
    let (mut consumer_ids, mut key_values) = (vec![], vec![]);
    for i in 0..HOLDERS {
        let key = keys::create_key(
            db,
            &actor,
            NewKey {
                instance_id: gateway.clone(),
                name: format!("holder-{i}-key"),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let consumer = consumers::create_consumer(
            db,
            &actor,
            NewConsumer {
                instance_id: gateway.clone(),
                name: format!("holder-{i}"),
                group_ids: vec![group.id.clone()],
                key_ids: vec![key.key.id],
                description: String::new(),
            },
        )
        .await
        .unwrap();
        consumer_ids.push(consumer.id);
        key_values.push(key.value);
    }
    World {
        token,
        gateway,
        consumers: consumer_ids,
        keys: key_values,
    }
}

/// The slope of the least-squares line through the points (`ys` per unit of `xs`), if there
/// are two distinct `xs`.
fn slope(xs: &[f64], ys: &[u64]) -> Option<f64> {
    let n = xs.len().min(ys.len()) as f64;
    let mean_x = xs.iter().sum::<f64>() / n;
    let mean_y = ys.iter().map(|&y| y as f64).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (x, &y) in xs.iter().zip(ys) {
        covariance += (x - mean_x) * (y as f64 - mean_y);
        variance += (x - mean_x) * (x - mean_x);
    }
    (variance > 0.0).then(|| covariance / variance)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[derive(Default)]
struct Tally {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<&'static str, u64>,
    first_errors: Vec<String>,
}

impl Tally {
    fn add(&mut self, kind: &'static str, took: Duration, outcome: Result<(), String>) {
        self.latencies.entry(kind).or_default().push(took);
        if let Err(e) = outcome {
            *self.errors.entry(kind).or_default() += 1;
            if self.first_errors.len() < 10 {
                self.first_errors.push(format!("{kind}: {e}"));
            }
        }
    }
}

fn expect_ok(res: Result<reqwest::Response, reqwest::Error>) -> Result<reqwest::Response, String> {
    match res {
        Ok(r) if r.status().is_success() => Ok(r),
        Ok(r) => Err(format!("status {}", r.status())),
        Err(e) => Err(e.to_string()),
    }
}

/// What every client shares.
struct Shared {
    console_base: String,
    proxy_base: String,
    world: World,
    stop: AtomicBool,
    tally: Mutex<Tally>,
}

/// One client of `kind` until `stop`, recording into `tally`.
async fn client(
    kind: &'static str,
    i: usize,
    shared: Arc<Shared>,
    session: Option<reqwest::Client>,
) {
    let (console_base, proxy_base, w) = (&shared.console_base, &shared.proxy_base, &shared.world);
    let http = session.unwrap_or_default();
    let mut n = i * 7919;
    while !shared.stop.load(Ordering::Relaxed) {
        n += 1;
        let started = Instant::now();
        let outcome: Result<(), String> = match kind {
            "check via nginx" => expect_ok(
                http.get(format!("{proxy_base}/v1/chat/completions"))
                    .bearer_auth(&w.keys[n % w.keys.len()])
                    .send()
                    .await,
            )
            .map(|_| ()),
            "REST read" => {
                let path = if n.is_multiple_of(2) {
                    format!("/v1/consumers?gatewayId={}&pageSize=20", w.gateway)
                } else {
                    format!("/v1/consumers/{}", w.consumers[n % w.consumers.len()])
                };
                match expect_ok(
                    http.get(format!("{console_base}{path}"))
                        .bearer_auth(&w.token)
                        .send()
                        .await,
                ) {
                    Ok(r) => r.bytes().await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(e),
                }
            }
            "REST write" => {
                let created = expect_ok(
                    http.post(format!("{console_base}/v1/consumers"))
                        .bearer_auth(&w.token)
                        .json(&json!({"gatewayId": w.gateway, "name": format!("soak-{i}-{n}")}))
                        .send()
                        .await,
                );
                match created {
                    Ok(r) => {
                        let v: Value = r.json().await.unwrap_or_default();
                        let id = v["data"]["consumerId"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned();
                        let updated = expect_ok(
                            http.put(format!("{console_base}/v1/consumers/{id}"))
                                .bearer_auth(&w.token)
                                .json(&json!({"name": format!("soak-{i}-{n}"), "description": "updated", "version": v["data"]["version"]}))
                                .send()
                                .await,
                        );
                        // Deleted again, so that the gateway holds the same consumers at
                        // the end as after the warm-up: memory that grows then is a leak,
                        // not the enforcement snapshot holding more consumers.
                        match updated {
                            Ok(_) => expect_ok(
                                http.delete(format!("{console_base}/v1/consumers/{id}"))
                                    .bearer_auth(&w.token)
                                    .send()
                                    .await,
                            )
                            .map(|_| ()),
                            Err(e) => Err(e),
                        }
                    }
                    Err(e) => Err(e),
                }
            }
            _ => {
                let page = expect_ok(http.get(format!("{console_base}/instances")).send().await);
                match page {
                    Ok(r) => {
                        let _ = r.bytes().await;
                        expect_ok(
                            http.post(format!("{console_base}/api/list_instances"))
                                .header("Accept", "application/json")
                                .header("origin", console_base.as_str())
                                .form(&[("search", "")])
                                .send()
                                .await,
                        )
                        .map(|_| ())
                    }
                    Err(e) => Err(e),
                }
            }
        };
        shared
            .tally
            .lock()
            .unwrap()
            .add(kind, started.elapsed(), outcome);
    }
}

/// How many clients of each kind: 120, 40, 20 and 20 unless `SOAK_CLIENTS` says otherwise
/// (`check=120,read=40,write=0,console=20`: the kinds named are changed), to tell which kind
/// of traffic moves the server's memory.
fn client_mix() -> Vec<(&'static str, usize)> {
    let mut kinds = vec![
        ("check via nginx", 120),
        ("REST read", 40),
        ("REST write", 20),
        ("console", 20),
    ];
    let wanted = std::env::var("SOAK_CLIENTS").unwrap_or_default();
    for part in wanted.split(',').filter(|p| !p.is_empty()) {
        let (name, count) = part
            .split_once('=')
            .expect("SOAK_CLIENTS: kind=count, comma-separated");
        let count: usize = count.parse().expect("SOAK_CLIENTS: a count is a number");
        let at = match name {
            "check" => 0,
            "read" => 1,
            "write" => 2,
            "console" => 3,
            _ => panic!("SOAK_CLIENTS: the kinds are check, read, write and console"),
        };
        assert!(
            at != 3 || count <= SESSIONS,
            "SOAK_CLIENTS: at most {SESSIONS} console clients"
        );
        kinds[at].1 = count;
    }
    kinds
}

#[tokio::main]
async fn main() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/console.db", dir.path().display());
    let db = Db::connect(&url).await.unwrap();
    let started = Instant::now();
    let w = prepare(&db).await;
    db.pool.close().await;
    println!(
        "prepared {HOLDERS} consumers with keys in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_gateway-console"))
        .env("RUST_LOG", "warn")
        .env("DATABASE_URL", &url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("CONSOLE_AUTHZ_GATEWAY_ID", &w.gateway)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _server = Server(child);
    let console_base = format!("http://127.0.0.1:{port}");
    while reqwest::get(format!("{console_base}/healthz"))
        .await
        .is_err()
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut proxy, proxy_port) = nginx(dir.path(), &format!("127.0.0.1:{port}"));
    let proxy_base = format!("http://127.0.0.1:{proxy_port}");
    let rss_start = rss_kib(pid);

    let mut sessions = vec![];
    for _ in 0..SESSIONS {
        let c = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let res = c
            .post(format!("{console_base}/api/sign_in"))
            .header("Accept", "application/json")
            .header("origin", &console_base)
            .form(&[("username", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success() || res.status().is_redirection());
        sessions.push(c);
    }

    let shared = Arc::new(Shared {
        console_base: console_base.clone(),
        proxy_base,
        world: w,
        stop: AtomicBool::new(false),
        tally: Mutex::new(Tally::default()),
    });
    let mut tasks = vec![];
    let kinds = client_mix();
    let clients: usize = kinds.iter().map(|(_, n)| n).sum();
    for (kind, count) in kinds {
        for i in 0..count {
            let session = (kind == "console").then(|| sessions.pop().unwrap());
            tasks.push(tokio::spawn(client(kind, i, shared.clone(), session)));
        }
    }
    tokio::time::sleep(WARM_UP.min(Duration::from_secs(seconds))).await;
    let rss_warm = rss_kib(pid);
    // The memory every 10 s after the warm-up, to tell a plateau (caches filling) from a leak.
    let mut series = vec![rss_warm];
    let warm_at = Instant::now();
    let mut sampled_at = vec![0.0];
    let end = warm_at + Duration::from_secs(seconds).saturating_sub(WARM_UP);
    while Instant::now() < end {
        tokio::time::sleep((end - Instant::now()).min(Duration::from_secs(10))).await;
        series.push(rss_kib(pid));
        sampled_at.push(warm_at.elapsed().as_secs_f64());
    }
    let rss_end = rss_kib(pid);
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).map_or(0, |d| d.count());
    shared.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }
    let _ = proxy.kill();
    let _ = proxy.wait();

    let mut tally = std::mem::take(&mut *shared.tally.lock().unwrap());
    println!("soak: {clients} clients for {seconds}s");
    let mut total_errors = 0;
    for (kind, v) in tally.latencies.iter_mut() {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let errors = tally.errors.get(kind).copied().unwrap_or(0);
        total_errors += errors;
        println!(
            "{kind:<18} {:>8} requests {:>7.0}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   errors {errors}",
            v.len(),
            v.len() as f64 / seconds as f64,
            ms(v[v.len() / 2]),
            ms(v[v.len() * 99 / 100]),
        );
    }
    let growth = 100.0 * (rss_end as f64 - rss_warm as f64) / rss_warm as f64;
    println!(
        "server RSS: {} MiB at start, {} MiB after the {}s warm-up, {} MiB at the end ({growth:+.1}% after warm-up; target ≤ 10%)",
        rss_start / 1024,
        rss_warm / 1024,
        WARM_UP.as_secs(),
        rss_end / 1024
    );
    println!("server threads at the end: {threads}");
    let mib: Vec<String> = series.iter().map(|k| (k / 1024).to_string()).collect();
    println!(
        "server RSS every 10 s after the warm-up (MiB): {}",
        mib.join(", ")
    );
    // The end against the warm-up compares two samples of a size that swings as the
    // allocator gives memory back (every ten seconds), and caches fill during the first
    // minutes: the line fitted through the second half of the samples tells a leak (still
    // growing there) from both.
    let half = sampled_at.last().copied().unwrap_or(0.0) / 2.0;
    let second = sampled_at.iter().position(|&t| t >= half).unwrap_or(0);
    if let Some(per_second) = slope(&sampled_at[second..], &series[second..]) {
        println!(
            "server RSS trend over the second half of the soak: {:+.2} MiB a minute (least squares over its samples)",
            per_second * 60.0 / 1024.0,
        );
    }
    for e in &tally.first_errors {
        println!("  {e}");
    }
    assert_eq!(total_errors, 0, "errors during the soak");
}
