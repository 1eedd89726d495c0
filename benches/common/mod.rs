//! What the benchmarks share: bulk seeding of large instances and the latency/throughput
//! measurement, so every figure is taken the same way.
#![allow(dead_code)] // each benchmark uses a different part

use gateway_console::domain::inputs::{NewInstance, NewModelApi};
use gateway_console::domain::keys::hash_key;
use gateway_console::domain::{IdKind, PageRequest, ResourceId};
use gateway_console::service::{accounts, environments, instances, model_apis, tokens, Actor};
use gateway_console::store::{now_ms, Db};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PASSWORD: &str = "bench-password-1";

pub async fn instance_with(db: &Db, name: &str, consumers: usize) -> String {
    let page = instances::list_instances(db, name, PageRequest::default())
        .await
        .unwrap();
    if let Some(i) = page.items.into_iter().find(|i| i.name == name) {
        return i.id;
    }
    let actor = bench_actor();
    let input = NewInstance {
        name: name.into(),
        region: "bench".into(),
        engine_version: "1".into(),
        description: String::new(),
    };
    let instance = instances::create_instance(db, &actor, input).await.unwrap();
    let started = Instant::now();
    let now = now_ms();
    let batch = 500;
    let mut tx = db.pool.begin().await.unwrap();
    for chunk in (0..consumers).collect::<Vec<_>>().chunks(batch) {
        let mut sql = String::from(
            "INSERT INTO consumers (id, instance_id, name, name_key, description, created_at, updated_at, version) VALUES ",
        );
        let rows: Vec<String> = chunk
            .iter()
            .map(|i| {
                let id = ResourceId::generate(IdKind::Consumer);
                format!(
                    "('{id}', '{}', 'consumer-{i:07}', 'consumer-{i:07}', '', {}, {}, 1)",
                    instance.id,
                    now + *i as i64,
                    now
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query("UPDATE instances SET consumer_count = consumer_count + $1 WHERE id = $2")
        .bind(consumers as i64)
        .bind(&instance.id)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    println!(
        "seeded {consumers} consumers into {name} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    instance.id
}

pub struct Stats {
    pub p50: Duration,
    pub p99: Duration,
    pub rps: f64,
}

/// Sequential latency (300 requests, or fewer when slow), then throughput with 8 concurrent
/// clients for 2 s.
pub async fn measure(
    client: &reqwest::Client,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static,
) -> Stats {
    let (p50, p99) = latency(client, &make).await;
    let rps = throughput(client, &make, Duration::from_secs(2)).await;
    Stats { p50, p99, rps }
}

/// Like `measure`, with throughput taken in nine rounds of 0.5 s, each right after a round of
/// `baseline`: returns the case's median requests/s and the median of its per-round share of
/// the baseline's (in %). On a shared machine the speed drifts; neighbouring rounds compare
/// the two at nearly the same moment.
pub async fn measure_beside(
    client: &reqwest::Client,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static,
    baseline: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static,
) -> (Stats, f64) {
    let (p50, p99) = latency(client, &make).await;
    let (mut case, mut share) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        let base = throughput(client, &baseline, Duration::from_millis(500)).await;
        let rps = throughput(client, &make, Duration::from_millis(500)).await;
        case.push(rps);
        share.push(100.0 * rps / base);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        Stats {
            p50,
            p99,
            rps: median(&mut case),
        },
        median(&mut share),
    )
}

async fn latency(
    client: &reqwest::Client,
    make: &(impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static),
) -> (Duration, Duration) {
    for _ in 0..5 {
        assert!(make(client).send().await.unwrap().status().is_success());
    }
    // 300 samples, or as many as 15 s allow for slow cases (a 1M-row scan takes seconds).
    let mut samples = Vec::with_capacity(300);
    let budget = Instant::now() + Duration::from_secs(15);
    while samples.len() < 300 && (samples.len() < 10 || Instant::now() < budget) {
        let t = Instant::now();
        let res = make(client).send().await.unwrap();
        assert!(res.status().is_success(), "status {}", res.status());
        res.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    (
        samples[samples.len() / 2],
        samples[samples.len() * 99 / 100],
    )
}

/// Requests per second 8 concurrent clients complete in `window`.
async fn throughput(
    client: &reqwest::Client,
    make: &(impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static),
    window: Duration,
) -> f64 {
    let deadline = Instant::now() + window;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (client, make) = (client.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                make(&client).send().await.unwrap().bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / window.as_secs_f64()
}

pub fn report(name: &str, s: &Stats) {
    println!(
        "{name:<44} p50 {:>8.2} ms   p99 {:>8.2} ms   {:>8.0} req/s",
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.rps
    );
}

/// The Admin the seeding acts as.
pub fn bench_actor() -> Actor {
    Actor::system("bench")
}

/// An Admin `admin` (password `PASSWORD`) with a bearer token, and a new gateway `name` with
/// its default environment: (token, gateway ID, environment ID).
pub async fn admin_and_gateway(db: &Db, name: &str) -> (String, String, String) {
    let actor = bench_actor();
    accounts::create_account(db, &actor, "admin", PASSWORD, "Admin")
        .await
        .unwrap();
    let token = tokens::create_token_for(db, "admin", "bench", None, Default::default())
        .await
        .unwrap()
        .value;
    let input = NewInstance {
        name: name.into(),
        region: "local".into(),
        engine_version: "1".into(),
        description: String::new(),
    };
    let gateway = instances::create_instance(db, &actor, input)
        .await
        .unwrap()
        .id;
    let environment = environments::list_environments(db, &gateway, "", PageRequest::default())
        .await
        .unwrap()
        .items[0]
        .id
        .clone();
    (token, gateway, environment)
}

/// A text model API at `base_path` deployed to `environment`; its ID.
pub async fn model_api(
    db: &Db,
    gateway: &str,
    environment: &str,
    name: &str,
    base_path: &str,
) -> String {
    let input = NewModelApi {
        instance_id: gateway.to_owned(),
        name: name.into(),
        base_path: base_path.into(),
        ai_protocols: vec!["OpenAI/v1".into()],
        model_category: "Text".into(),
        description: String::new(),
        environment_ids: vec![environment.to_owned()],
    };
    model_apis::create_api(db, &bench_actor(), input)
        .await
        .unwrap()
        .id
}

/// Gives every consumer of the instance (named `consumer-{i}`) a bound key whose value is
/// `value(i)`, in one transaction.
pub async fn bind_a_key_each(
    db: &Db,
    instance_id: &str,
    prefix: &str,
    value: impl Fn(usize) -> String,
) {
    let consumers: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM consumers WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let now = now_ms();
    let mut tx = db.pool.begin().await.unwrap();
    for chunk in consumers.chunks(500) {
        let rows: Vec<String> = chunk
            .iter()
            .map(|(id, name)| {
                let i: usize = name.trim_start_matches("consumer-").parse().unwrap();
                format!(
                    "('key-{}', '{instance_id}', 'k-{i:07}', 'k-{i:07}', '{prefix}', '{}', '{id}', 1, NULL, {now}, {now}, 1)",
                    &id[3..],
                    hash_key(&value(i))
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO api_keys (id, instance_id, name, name_key, prefix, key_hash, consumer_id, enabled, expires_at, created_at, updated_at, version) VALUES {}",
            rows.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

/// The gateway `bench-authz` that `make bench-authz` and `make bench-config` measure:
/// 100,000 consumers (`consumer-{i}`), each with one bound key (`gateway_100k_key(i)`) and
/// 10 rules (10 model APIs), 1,000,000 rules in all; built once in the benchmark database.
pub const GATEWAY_100K_KEYS: usize = 100_000;
pub const GATEWAY_100K_APIS: usize = 10;

pub fn gateway_100k_key(i: usize) -> String {
    format!("gck_bench_{i:07}")
}

pub async fn gateway_100k(db: &Db) -> String {
    let instance = instance_with(db, "bench-authz", GATEWAY_100K_KEYS).await;
    seed_100k(db, &instance).await;
    instance
}

/// The 10 APIs, one key per consumer and 10 rules per consumer, added once.
async fn seed_100k(db: &Db, instance_id: &str) {
    let rules: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM authorization_rules WHERE instance_id = $1")
            .bind(instance_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    if rules > 0 {
        return;
    }
    let started = Instant::now();
    let env = environments::list_environments(db, instance_id, "", PageRequest::default())
        .await
        .unwrap()
        .items
        .remove(0);
    bind_a_key_each(db, instance_id, "gck_benc", gateway_100k_key).await;
    for j in 0..GATEWAY_100K_APIS {
        let api = model_api(
            db,
            instance_id,
            &env.id,
            &format!("model-{j}"),
            &format!("/m{j}"),
        )
        .await;
        sqlx::query(
            "INSERT INTO authorization_rules (id, instance_id, principal_type, principal_id, consumer_id, group_id, api_id, environment_id, expire_mode, expire_at, created_at, updated_at, version) \
             SELECT 'car-' || substr(c.id, 4) || $1, c.instance_id, 'Consumer', c.id, c.id, NULL, $2, $3, 'LongTerm', NULL, c.created_at, c.created_at, 1 \
             FROM consumers c WHERE c.instance_id = $4",
        )
        .bind(j.to_string())
        .bind(&api)
        .bind(&env.id)
        .bind(instance_id)
        .execute(&db.pool)
        .await
        .unwrap();
    }
    println!(
        "seeded {GATEWAY_100K_KEYS} keys and {} rules in {:.1}s",
        GATEWAY_100K_KEYS * GATEWAY_100K_APIS,
        started.elapsed().as_secs_f64()
    );
}

/// Sets up memory as `main` does: mimalloc keeps the memory freed for reuse for ten seconds
/// (`MIMALLOC_PURGE_DELAY` overrides it) and SQLite allocates with it
/// (`BENCH_SQLITE_ALLOCATOR=glibc` leaves SQLite on glibc's malloc, to compare). Called first
/// thing, before any database is opened.
pub fn server_allocator() {
    gateway_console::keep_freed_memory();
    if std::env::var("BENCH_SQLITE_ALLOCATOR").as_deref() == Ok("glibc") {
        println!("SQLite allocates with glibc's malloc (BENCH_SQLITE_ALLOCATOR=glibc)");
        return;
    }
    // SAFETY: called before anything in the process opens SQLite.
    assert!(unsafe { gateway_console::store::lite::use_server_allocator() });
}

/// The benchmark database under `target/bench-data`, built once and reused between runs.
pub async fn bench_db() -> Db {
    let dir = std::path::Path::new("target/bench-data");
    std::fs::create_dir_all(dir).unwrap();
    let keyring = gateway_console::secrets::Keyring::load(&dir.join("kek"), None).unwrap();
    Db::connect(&format!("sqlite:{}", dir.join("list.db").display()))
        .await
        .unwrap()
        .with_keyring(std::sync::Arc::new(keyring))
}

/// Serves the real application plus the trivial handler `trivial` at `/bench/trivial` (outside
/// the session layer) on a random port; returns the base URL.
pub async fn serve(db: Db, trivial: axum::routing::MethodRouter) -> String {
    serve_with(db, Default::default(), trivial).await
}

/// `serve`, with the enforcement settings of a replica.
pub async fn serve_with(
    db: Db,
    settings: gateway_console::enforce::Settings,
    trivial: axum::routing::MethodRouter,
) -> String {
    use gateway_console::server::{leptos_options, router};
    use gateway_console::state::AppState;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState {
        leptos_options: leptos_options(addr),
        enforcer: gateway_console::enforce::Enforcer::start(db.clone(), settings)
            .await
            .unwrap(),
        db,
        web: Default::default(),
    };
    let app = router(state).route("/bench/trivial", trivial);
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap()
    });
    format!("http://{addr}")
}

/// A new database, named `{prefix}_{pid}`, on the PostgreSQL server `server` names: its URL.
pub async fn fresh_postgres(server: &str, prefix: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("{prefix}_{}", std::process::id());
    let pool = sqlx::AnyPool::connect(server).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let base = server.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
    format!("{base}/{name}")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// nginx with one worker, as the benchmarks run it: `/noauth/…` proxies straight to the backend, everything else
/// asks our check first.
pub fn nginx(dir: &std::path::Path, console: &str) -> (Child, u16) {
    let (port, backend) = (free_port(), free_port());
    let d = dir.display();
    let root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0"))
        .unwrap_or(false);
    let user = if root { "user root;" } else { "" };
    let proxy = "proxy_http_version 1.1; proxy_set_header Connection \"\";";
    let conf = format!(
        r#"{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream console {{ server {console}; keepalive 64; }}
    upstream backend {{ server 127.0.0.1:{backend}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{backend};
        location / {{ default_type text/plain; return 200 "ok\n"; }}
    }}
    server {{
        listen 127.0.0.1:{port};
        location /noauth/ {{ {proxy} proxy_pass http://backend/; }}
        location / {{
            auth_request /_authz;
            auth_request_set $consumer_id $upstream_http_x_consumer_id;
            proxy_set_header X-Consumer-Id $consumer_id;
            proxy_set_header Authorization "";
            {proxy}
            proxy_pass http://backend;
        }}
        location = /_authz {{
            internal;
            {proxy}
            proxy_pass http://console/authz/check;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URI $request_uri;
        }}
    }}
}}
"#
    );
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new("/usr/sbin/nginx")
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx is required (make tools-test installs Debian's nginx)");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// What one wrk run measured.
pub struct Wrk {
    pub rps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers that were not 2xx/3xx, plus connect, read, write and timeout errors.
    pub errors: u64,
    /// The CPU time this process (all its threads, user and system) spent during the run, in
    /// microseconds per request: the server's cost of a request when it runs in this process,
    /// its background work (such as the usage flush) included.
    pub cpu_us_per_request: f64,
}

/// The CPU time this process has used so far (all its threads, user and system), in seconds.
pub fn process_cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command's closing parenthesis the fields start at `state` (the 3rd); `utime`
    // and `stime` are the 14th and 15th, in ticks of 1/100 s (Linux's USER_HZ).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn millis(s: &str) -> f64 {
    let s = s.trim();
    let (num, factor) = if let Some(v) = s.strip_suffix("us") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix("ms") {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1000.0)
    } else {
        (s, 1.0)
    };
    num.parse::<f64>().unwrap_or(f64::NAN) * factor
}

/// Runs Debian's wrk (one thread, `connections`, `seconds`) with the Lua `script` against
/// `url` and reads its report.
pub fn run_wrk(
    dir: &std::path::Path,
    url: &str,
    script: &str,
    connections: u32,
    seconds: u32,
) -> Wrk {
    let path = dir.join("wrk-script.lua");
    std::fs::write(&path, script).unwrap();
    let cpu_before = process_cpu_secs();
    let out = Command::new("wrk")
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "--latency",
            "-s",
        ])
        .arg(&path)
        .arg(url)
        .output()
        .expect("wrk is required (make tools-test installs Debian's wrk)");
    let cpu = process_cpu_secs() - cpu_before;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_owned()
    };
    let socket_errors: u64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("Socket errors:"))
        .map(|l| {
            l.split(|c: char| !c.is_ascii_digit())
                .filter_map(|n| n.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    // "  123456 requests in 8.00s, 12.34MB read"
    let requests: f64 = text
        .lines()
        .find_map(|l| l.split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or(f64::NAN);
    Wrk {
        rps: field("Requests/sec:").parse().unwrap_or(0.0),
        cpu_us_per_request: cpu * 1e6 / requests,
        p50_ms: millis(&field("50%")),
        p99_ms: millis(&field("99%")),
        errors: field("Non-2xx or 3xx responses:")
            .parse::<u64>()
            .unwrap_or(0)
            + socket_errors,
    }
}
