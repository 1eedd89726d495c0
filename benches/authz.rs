//! `make bench-authz`: the enforcement check under load.
//!
//! 1. Memory: the snapshot built from 1,000,000 bound keys (1,000,000 consumers, 1,000,000
//!    rules), measured by a counting allocator, reported per key.
//! 2. A full load of a gateway with 1,000,000 bound keys (1,000,000 consumers) and 1,000,000
//!    rules from the SQLite file, read and build timed apart (target: ≤ 2 s in all).
//! 3. With 100,000 keys and 1,000,000 rules loaded (10 model APIs × 100,000 consumers), wrk
//!    (Debian `wrk`) against nginx proxying to a stand-in backend with `auth_request` to our
//!    check, beside the same nginx proxying with no auth, in the same run; then against the
//!    check endpoint directly, beside a trivial axum handler on the same server. The two
//!    baselines (nginx without auth, the trivial handler) run first, on a quiet server: the
//!    earlier runs' usage rolled up and pruned, and no counts of this run to flush. Every
//!    request carries a different random key of the 100,000 and a random API path, and a run
//!    with any non-2xx answer fails (so a fast 401 can never pass for a fast check).

mod common;

use common::{
    bench_actor, bench_db, bind_a_key_each, gateway_100k_key as key_value, instance_with,
    model_api, nginx, run_wrk, serve_with, Wrk,
};
use gateway_console::domain::inputs::KeyUpdate;
use gateway_console::domain::keys::hash_key;
use gateway_console::domain::PageRequest;
use gateway_console::enforce::snapshot::Snapshot;
use gateway_console::enforce::usage::UsageSettings;
use gateway_console::service::{environments, keys};
use gateway_console::store::snapshot::{
    ConsumerRow, DeploymentRow, EnvironmentRow, KeyHash, KeyRow, RuleRow, SnapshotRows,
};
use gateway_console::store::Db;
use gateway_console::ServerAllocator;
use std::alloc::{GlobalAlloc, Layout};
use std::process::Command;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

/// Counts the bytes currently allocated, to measure the snapshot; the server's own allocator
/// does the allocating.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        ServerAllocator.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        ServerAllocator.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        ServerAllocator.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const KEYS: usize = common::GATEWAY_100K_KEYS;
const APIS: usize = common::GATEWAY_100K_APIS;
const MEMORY_KEYS: usize = 1_000_000;

fn memory_per_key() {
    let before = LIVE.load(Ordering::Relaxed);
    let env = "env-bench".to_owned();
    let rows = SnapshotRows {
        revision: 1,
        hmac: vec![],
        jwt: vec![],
        limits: vec![],
        quotas: vec![],
        environments: vec![EnvironmentRow {
            id: env.clone(),
            name_key: "default".into(),
            is_default: true,
        }],
        deployments: (0..APIS)
            .map(|j| DeploymentRow {
                api_id: format!("api-{j:020}"),
                base_path: format!("/m{j}"),
                environment_id: env.clone(),
            })
            .collect(),
        consumers: (0..MEMORY_KEYS)
            .map(|i| ConsumerRow {
                id: format!("cs-{i:020}"),
                name: format!("consumer-{i:07}"),
                enabled: true,
            })
            .collect(),
        groups: vec![],
        memberships: vec![],
        keys: (0..MEMORY_KEYS)
            .map(|i| KeyRow {
                id: format!("key-{i:020}"),
                key_hash: KeyHash::from_hex(&hash_key(&key_value(i))),
                previous_hash: None,
                previous_expires_at: None,
                consumer_id: format!("cs-{i:020}"),
                enabled: true,
                expires_at: None,
            })
            .collect(),
        rules: (0..MEMORY_KEYS)
            .map(|i| RuleRow {
                consumer_id: Some(format!("cs-{i:020}")),
                group_id: None,
                api_id: format!("api-{:020}", i % APIS).into(),
                environment_id: env.as_str().into(),
                expire_mode: "LongTerm".into(),
                expire_at: None,
            })
            .collect(),
    };
    let started = Instant::now();
    let snapshot = Snapshot::build(rows);
    let build = started.elapsed();
    // The build frees the rows it is done with on a thread of its own: count once it has.
    let mut live = LIVE.load(Ordering::Relaxed);
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = LIVE.load(Ordering::Relaxed);
        if now == live {
            break;
        }
        live = now;
    }
    let bytes = live - before;
    println!(
        "snapshot of {} keys (+{MEMORY_KEYS} consumers, {MEMORY_KEYS} rules): {:.1} MiB, {} bytes per key; built in {:.2}s",
        snapshot.key_count(),
        bytes as f64 / 1048576.0,
        bytes / MEMORY_KEYS as isize,
        build.as_secs_f64()
    );
    drop(snapshot);
}

/// A gateway of 1,000,000 consumers, each with one bound key and one rule, added once.
async fn seed_million(db: &Db) -> String {
    const N: usize = 1_000_000;
    let instance_id = instance_with(db, "bench-authz-1m", N).await;
    let count = |table: &str| {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE instance_id = $1");
        let (db, id) = (db.clone(), instance_id.clone());
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .fetch_one(&db.pool)
                .await
                .unwrap()
        }
    };
    // Rules go in last: a gateway with rules is complete.
    if count("authorization_rules").await > 0 {
        return instance_id;
    }
    let started = Instant::now();
    let env = environments::list_environments(db, &instance_id, "", PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let api = model_api(db, &instance_id, &env.id, "model-0", "/m0").await;
    if count("api_keys").await == 0 {
        bind_a_key_each(db, &instance_id, "gck_mill", |i| {
            format!("gck_million_{i:07}")
        })
        .await;
    }
    sqlx::query(
        "INSERT INTO authorization_rules (id, instance_id, principal_type, principal_id, consumer_id, group_id, api_id, environment_id, expire_mode, expire_at, created_at, updated_at, version) \
         SELECT 'car-' || substr(c.id, 4), c.instance_id, 'Consumer', c.id, c.id, NULL, $1, $2, 'LongTerm', NULL, c.created_at, c.created_at, 1 \
         FROM consumers c WHERE c.instance_id = $3",
    )
    .bind(&api)
    .bind(&env.id)
    .bind(&instance_id)
    .execute(&db.pool)
    .await
    .unwrap();
    println!(
        "seeded {N} keys and {N} rules into bench-authz-1m in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    instance_id
}

/// A full load of the 1M gateway from the file, three times: read and build apart.
async fn full_load_million(db: &Db) {
    let instance = seed_million(db).await;
    for round in 1..=3 {
        let started = Instant::now();
        let rows = gateway_console::store::snapshot::load(db, &instance)
            .await
            .unwrap();
        let read = started.elapsed();
        let snapshot = Snapshot::build(rows);
        let total = started.elapsed();
        println!(
            "full load {round}/3 ({} keys, 1000000 rules): read {:.2}s + build {:.2}s = {:.2}s (target ≤ 2 s)",
            snapshot.key_count(),
            read.as_secs_f64(),
            (total - read).as_secs_f64(),
            total.as_secs_f64()
        );
        let started = Instant::now();
        drop(snapshot);
        if round == 1 {
            println!(
                "  (dropping it took {:.2}s)",
                started.elapsed().as_secs_f64()
            );
        }
    }
}

/// Runs wrk with a Lua script that picks a random key and API per request.
fn wrk(dir: &std::path::Path, url: &str, script: &str, label: &str) -> Wrk {
    wrk_with(dir, url, script, label, 32)
}

fn wrk_with(dir: &std::path::Path, url: &str, script: &str, label: &str, connections: u32) -> Wrk {
    // 8 s a run; BENCH_AUTHZ_SECS=30 takes more usage flushes (one every 5 s) into each
    // run's server CPU, for comparing two builds on a noisy machine.
    let seconds = std::env::var("BENCH_AUTHZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let r = run_wrk(dir, url, script, connections, seconds);
    assert_eq!(r.errors, 0, "{label}: some answers were not 2xx");
    println!(
        "{label:<52} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   server CPU {:>5.1} µs/req",
        r.rps, r.p50_ms, r.p99_ms, r.cpu_us_per_request
    );
    r
}

/// How many consumers get an HMAC credential for the signed run.
const HMAC_CREDENTIALS: usize = 1_000;

/// Gives the first `n` consumers of the gateway an HMAC credential each (those of earlier
/// runs are removed first), through the service, so each secret is sealed as in production.
/// Answers each one's access key ID and secret.
async fn hmac_credentials(db: &Db, instance: &str, n: usize) -> Vec<(String, String)> {
    sqlx::query("DELETE FROM credentials WHERE instance_id = $1")
        .bind(instance)
        .execute(&db.pool)
        .await
        .unwrap();
    let consumers: Vec<String> =
        sqlx::query_scalar("SELECT id FROM consumers WHERE instance_id = $1 ORDER BY id LIMIT $2")
            .bind(instance)
            .bind(n as i64)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let started = Instant::now();
    let mut out = Vec::with_capacity(n);
    for (i, consumer_id) in consumers.into_iter().enumerate() {
        let input = gateway_console::domain::inputs::NewCredential {
            consumer_id,
            name: format!("signing-{i}"),
            method: gateway_console::domain::credentials::CredentialMethod::Hmac,
            hmac: None,
            jwt: None,
        };
        let made =
            gateway_console::service::credentials::create_credential(db, &bench_actor(), input)
                .await
                .unwrap();
        out.push((made.credential.hmac.unwrap().access_key, made.secret));
    }
    println!(
        "{n} HMAC credentials made in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    out
}

const JWT_ISSUER: &str = "https://bench.idp.example";

/// Gives the first `n` consumers of the gateway a JWT credential each (ES256, one public
/// key, the consumer's name as `sub`), and answers a token for each, valid for an hour.
/// Also measures what one ES256 verification costs, uncached.
async fn jwt_credentials(db: &Db, instance: &str, n: usize) -> Vec<String> {
    let public = std::fs::read_to_string("tests/fixtures/jwt/es256-public.pem").unwrap();
    let private = std::fs::read_to_string("tests/fixtures/jwt/es256-private.pem").unwrap();
    let consumers: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, name FROM consumers WHERE instance_id = $1 ORDER BY id LIMIT $2",
    )
    .bind(instance)
    .bind(n as i64)
    .fetch_all(&db.pool)
    .await
    .unwrap();
    let signing = jsonwebtoken::EncodingKey::from_ec_pem(private.as_bytes()).unwrap();
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let mut tokens = Vec::with_capacity(n);
    for (i, (consumer_id, name)) in consumers.into_iter().enumerate() {
        let input = gateway_console::domain::inputs::NewCredential {
            consumer_id,
            name: format!("jwt-{i}"),
            method: gateway_console::domain::credentials::CredentialMethod::Jwt,
            hmac: None,
            jwt: Some(gateway_console::domain::inputs::JwtCredentialInput {
                issuer: JWT_ISSUER.into(),
                consumer_claim: String::new(),
                subject: String::new(),
                audience: String::new(),
                algorithms: vec!["ES256".into()],
                max_lifetime_secs: None,
                clock_skew_secs: None,
                key_source: gateway_console::domain::credentials::JwtKeySource::PublicKey,
                public_key: Some(public.clone()),
                jwks_url: None,
                jwks_refresh_secs: None,
            }),
        };
        gateway_console::service::credentials::create_credential(db, &bench_actor(), input)
            .await
            .unwrap();
        let claims =
            serde_json::json!({"iss": JWT_ISSUER, "sub": name, "iat": now, "exp": now + 3600});
        tokens.push(
            jsonwebtoken::encode(
                &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256),
                &claims,
                &signing,
            )
            .unwrap(),
        );
    }
    // One verification, uncached, as the check's first sight of a token costs it.
    let key = gateway_console::enforce::jwt::public_key(
        &public,
        gateway_console::domain::credentials::KeyFamily::Ec,
    )
    .unwrap();
    let policy = gateway_console::enforce::jwt::Policy {
        algorithms: &[jsonwebtoken::Algorithm::ES256],
        issuer: JWT_ISSUER,
        audience: None,
        max_lifetime_secs: 86_400,
        clock_skew_secs: 60,
    };
    let started = Instant::now();
    for t in &tokens {
        assert!(gateway_console::enforce::jwt::verify(t, &key, &policy, now));
    }
    println!(
        "{n} JWT credentials; one ES256 token verification, uncached: {:.0} µs (one core)",
        started.elapsed().as_secs_f64() * 1e6 / tokens.len() as f64
    );
    tokens
}

/// A wrk script sending checks with `tokens` (random token, random model API).
fn token_script(tokens: &[String]) -> String {
    let entries: String = tokens.iter().map(|t| format!("  \"{t}\",\n")).collect();
    format!(
        r#"local tokens = {{
{entries}}}
math.randomseed(42)
request = function()
  local path = string.format("/m%d/chat/completions", math.random(0, {last_api}))
  local headers = {{ ["X-Original-URI"] = path, ["Authorization"] = "Bearer " .. tokens[math.random(1, #tokens)] }}
  return wrk.format("GET", "/authz/check", headers)
end
"#,
        last_api = APIS - 1,
    )
}

/// A wrk script sending checks signed by `signers`, each for two of the model APIs, all
/// signed now (wrk has no HMAC; the signatures stay valid for the credentials' 300 s skew).
fn signed_script(signers: &[(String, String)]) -> String {
    use base64::Engine as _;
    use gateway_console::enforce::signature::{sign, HmacAlgorithm};
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let mut entries = String::new();
    for (i, (key, secret)) in signers.iter().enumerate() {
        for api in [i % APIS, (i + 5) % APIS] {
            let target = format!("/m{api}/chat/completions");
            let message = format!("{key}\nPOST {target}\ndate: {date}\n");
            let signature = base64::engine::general_purpose::STANDARD.encode(sign(
                HmacAlgorithm::Sha256,
                secret.as_bytes(),
                message.as_bytes(),
            ));
            entries.push_str(&format!(
                "  {{ \"{target}\", \"Signature keyId=\\\"{key}\\\",algorithm=\\\"hmac-sha256\\\",headers=\\\"@request-target date\\\",signature=\\\"{signature}\\\"\" }},\n"
            ));
        }
    }
    format!(
        r#"local entries = {{
{entries}}}
math.randomseed(42)
request = function()
  local e = entries[math.random(1, #entries)]
  local headers = {{ ["X-Original-URI"] = e[1], ["X-Original-Method"] = "POST", ["Date"] = "{date}", ["Authorization"] = e[2] }}
  return wrk.format("GET", "/authz/check", headers)
end
"#
    )
}

fn script(path_prefix: &str, extra_headers: &str) -> String {
    format!(
        r#"math.randomseed(42)
request = function()
  local i = math.random(0, {last_key})
  local api = math.random(0, {last_api})
  local path = string.format("/m%d/chat/completions", api)
  local headers = {{ ["Authorization"] = string.format("Bearer gck_bench_%07d", i) }}
  {extra_headers}
  return wrk.format("GET", "{path_prefix}" .. path, headers)
end
"#,
        last_key = KEYS - 1,
        last_api = APIS - 1,
    )
}

/// Rolls the finished hours of earlier runs' usage up and prunes what is past keeping, with
/// the replica's settings, as its flusher does first thing, before anything is measured. The
/// database is kept between runs: the first run of an hour otherwise rolled up the millions
/// of minute rows the runs of the hour before left, on the server's cores, during whichever
/// phase it fell in (nginx without `auth_request` at 13.5 µs of server CPU a request instead
/// of 0.3, which made the nginx ratio of that run look 12 points better).
async fn catch_up_on_usage(db: &Db, usage: &UsageSettings) {
    let started = Instant::now();
    let now = gateway_console::store::now_ms();
    gateway_console::store::usage::roll_up(db, usage.settled_hour(now))
        .await
        .unwrap();
    let (minutes, hours) = usage.prune(db, now).await.unwrap();
    println!(
        "earlier runs' usage rolled up and pruned before measuring ({minutes} minute and {hours} hourly rows pruned): {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[tokio::main]
async fn main() {
    common::server_allocator();
    memory_per_key();

    let db = bench_db().await;
    full_load_million(&db).await;
    if std::env::var_os("BENCH_AUTHZ_LOAD_ONLY").is_some() {
        return;
    }
    let instance = common::gateway_100k(&db).await;
    // What a full reload of this gateway costs (the watcher does this after a change).
    let started = Instant::now();
    let rows = gateway_console::store::snapshot::load(&db, &instance)
        .await
        .unwrap();
    let read = started.elapsed();
    let snapshot = Snapshot::build(rows);
    println!(
        "full reload ({} keys, {} rules): read {:.2}s + build {:.2}s",
        snapshot.key_count(),
        KEYS * APIS,
        read.as_secs_f64(),
        started.elapsed().as_secs_f64() - read.as_secs_f64()
    );
    drop(snapshot);
    // BENCH_RATE_LIMITS=1 puts a rate limit and a daily request quota (neither ever reached)
    // on every consumer, so that each allowed check also applies both; without it the
    // gateway has neither.
    let limits = std::env::var_os("BENCH_RATE_LIMITS").is_some();
    // The quotas are made again with the same IDs each run: the counts earlier runs' replicas
    // left for today would count against them (and be read by every exchange).
    for sql in [
        "DELETE FROM rate_limits WHERE instance_id = $1",
        "DELETE FROM quota_counts WHERE quota_id IN (SELECT id FROM quotas WHERE instance_id = $1)",
        "DELETE FROM quotas WHERE instance_id = $1",
    ] {
        sqlx::query(sql)
            .bind(&instance)
            .execute(&db.pool)
            .await
            .unwrap();
    }
    if limits {
        let n = sqlx::query(
            "INSERT INTO rate_limits (id, instance_id, subject_id, consumer_id, per_second, per_minute, policy, created_at, updated_at, version) \
             SELECT 'rl-' || substr(id, 4), instance_id, id, id, 1000000, 60000000, 'local', 0, 0, 1 \
             FROM consumers WHERE instance_id = $1",
        )
        .bind(&instance)
        .execute(&db.pool)
        .await
        .unwrap()
        .rows_affected();
        println!("a rate limit on each of {n} consumers (1,000,000/s, 60,000,000/min)");
        let n = sqlx::query(
            "INSERT INTO quotas (id, instance_id, subject_id, consumer_id, metric, period, time_zone, amount, warn_percent, generation, created_at, updated_at, version) \
             SELECT 'qt-' || substr(id, 4), instance_id, id, id, 'requests', 'day', 'Europe/Berlin', 1000000000000, 80, 0, 0, 0, 1 \
             FROM consumers WHERE instance_id = $1",
        )
        .bind(&instance)
        .execute(&db.pool)
        .await
        .unwrap()
        .rows_affected();
        println!("a daily request quota on each of {n} consumers (1,000,000,000,000)");
    }
    let signers = hmac_credentials(&db, &instance, HMAC_CREDENTIALS).await;
    let tokens = jwt_credentials(&db, &instance, HMAC_CREDENTIALS).await;
    let db2 = db.clone();
    // A replica configured for its gateway, as the README recommends.
    // BENCH_USAGE_FLUSH_SECS=300 keeps the usage counts in memory for the whole run, to see
    // the counting's hot path apart from its writes.
    let mut usage = UsageSettings::default();
    if let Some(secs) = std::env::var("BENCH_USAGE_FLUSH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        usage.flush_interval = std::time::Duration::from_secs(secs);
    }
    catch_up_on_usage(&db, &usage).await;
    let settings = gateway_console::enforce::Settings {
        instance_id: Some(instance.clone()),
        usage,
        ..Default::default()
    };
    let base = serve_with(db, settings, axum::routing::get(|| async { "ok" })).await;
    let console = base.trim_start_matches("http://").to_owned();

    // The first check loads the snapshot.
    let started = Instant::now();
    let res = reqwest::Client::new()
        .get(format!("{base}/authz/check"))
        .header("x-original-uri", "/m3/chat")
        .bearer_auth(key_value(12_345))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the check refused a seeded key");
    println!(
        "snapshot load ({KEYS} keys, {} rules) on the first check: {:.2}s",
        KEYS * APIS,
        started.elapsed().as_secs_f64()
    );

    // A change at this scale reaches the check by a patch, not a full reload.
    let client = reqwest::Client::new();
    let probe = |key: String| {
        client
            .get(format!("{base}/authz/check"))
            .header("x-original-uri", "/m3/chat")
            .bearer_auth(key)
    };
    // This gateway's key: the 1M-key gateway of the same database names its keys alike.
    let key_id: String =
        sqlx::query_scalar("SELECT id FROM api_keys WHERE instance_id = $1 AND name = $2")
            .bind(&instance)
            .bind("k-0012345")
            .fetch_one(&db2.pool)
            .await
            .unwrap();
    for enabled in [false, true] {
        let started = Instant::now();
        let version: i64 = sqlx::query_scalar("SELECT version FROM api_keys WHERE id = $1")
            .bind(&key_id)
            .fetch_one(&db2.pool)
            .await
            .unwrap();
        let update = KeyUpdate {
            enabled: Some(enabled),
            version,
            expires_at: None,
        };
        keys::update_key(&db2, &bench_actor(), &key_id, update)
            .await
            .unwrap();
        let want = if enabled { 200 } else { 401 };
        while probe(key_value(12_345)).send().await.unwrap().status() != want {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        println!(
            "key {} → enforced in {:.0} ms ({KEYS} keys, {} rules loaded)",
            if enabled { "enabled" } else { "disabled" },
            started.elapsed().as_secs_f64() * 1e3,
            KEYS * APIS
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_owned();
    let (mut nginx, port) = nginx(&d, &console);
    let (no_auth, with_auth, direct, trivial, light, signed, bearer) =
        tokio::task::spawn_blocking(move || {
            let plain = script("", "");
            let headers = r#"headers["X-Original-URI"] = path"#;
            let check = format!(
                r#"math.randomseed(42)
request = function()
  local i = math.random(0, {last_key})
  local path = string.format("/m%d/chat/completions", math.random(0, {last_api}))
  local headers = {{ ["Authorization"] = string.format("Bearer gck_bench_%07d", i) }}
  {headers}
  return wrk.format("GET", "/authz/check", headers)
end
"#,
                last_key = KEYS - 1,
                last_api = APIS - 1,
            );
            let no_auth = wrk(
                &d,
                &format!("http://127.0.0.1:{port}"),
                &script("/noauth", ""),
                "nginx proxy, no auth",
            );
            // The two baselines first, on a quiet server: measured after the checks, the
            // trivial handler shared the cores with the flushes of their counts and the quota
            // exchange (12.7 to 15.5 µs of server CPU a request from one run to the next).
            let trivial = wrk(
                &d,
                &format!("http://{console}"),
                &check.replace("/authz/check", "/bench/trivial"),
                "trivial axum handler (same server, same headers)",
            );
            let with_auth = wrk(
                &d,
                &format!("http://127.0.0.1:{port}"),
                &plain,
                "nginx proxy + auth_request to /authz/check",
            );
            let direct = wrk(
                &d,
                &format!("http://{console}"),
                &check,
                "/authz/check directly",
            );
            let signed = wrk(
                &d,
                &format!("http://{console}"),
                &signed_script(&signers),
                "/authz/check directly, HMAC signatures",
            );
            let bearer = wrk(
                &d,
                &format!("http://{console}"),
                &token_script(&tokens),
                "/authz/check directly, JWT ES256 (1,000 tokens)",
            );
            let light = wrk_with(
                &d,
                &format!("http://{console}"),
                &check,
                "/authz/check directly, 4 connections",
                4,
            );
            (no_auth, with_auth, direct, trivial, light, signed, bearer)
        })
        .await
        .unwrap();
    // SIGTERM lets the master stop its worker too.
    let _ = Command::new("kill")
        .args(["-TERM", &nginx.id().to_string()])
        .status();
    let _ = nginx.wait();

    // The enforcement issue asked ≥ 50 % of the check alone; the usage issue asks ≥ 70 % with
    // counting and a rate limit and a quota on every consumer (BENCH_RATE_LIMITS=1).
    let target = if limits { 70 } else { 50 };
    println!(
        "with auth / no auth: {:.0}% (target ≥ {target}%); check / trivial: {:.0}% (target ≥ {target}%); check p99 {:.2} ms at 32 connections, {:.2} ms at 4 (target ≤ 2 ms)",
        100.0 * with_auth.rps / no_auth.rps,
        100.0 * direct.rps / trivial.rps,
        direct.p99_ms,
        light.p99_ms
    );
    println!(
        "per method, check / trivial: API key {:.0}% (p50 {:.2} ms, p99 {:.2} ms); HMAC {:.0}% (p50 {:.2} ms, p99 {:.2} ms); JWT ES256 {:.0}% (p50 {:.2} ms, p99 {:.2} ms); target ≥ 30% for HMAC and JWT",
        100.0 * direct.rps / trivial.rps,
        direct.p50_ms,
        direct.p99_ms,
        100.0 * signed.rps / trivial.rps,
        signed.p50_ms,
        signed.p99_ms,
        100.0 * bearer.rps / trivial.rps,
        bearer.p50_ms,
        bearer.p99_ms
    );
    // What a request cost the server's process in CPU time (its background work included),
    // beside the rates, which also depend on how much of the two cores wrk and nginx took.
    println!(
        "server CPU per request: check {:.1} µs (usage flush and quota exchange included), trivial handler {:.1} µs; the trivial handler's is {:.0}% of the check's",
        direct.cpu_us_per_request,
        trivial.cpu_us_per_request,
        100.0 * trivial.cpu_us_per_request / direct.cpu_us_per_request
    );
}
