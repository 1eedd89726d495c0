//! Three replicas on one PostgreSQL database behind a real nginx round-robin upstream (the
//! README's "Running several replicas" configuration), started at the same moment on an
//! empty database: one Admin and one demo seed, sessions and tokens work on every replica,
//! every replica's check follows a change within a second, a replica killed under load costs
//! no read and no acknowledged write, and it catches up when it comes back.
//! Runs in the PostgreSQL pass of the suite (when `TEST_DATABASE_URL` is set).

use crate::common::{browser, fresh_database_url, ADMIN_PASSWORD};
use crate::durability::{call, free_port, granted_holder, world, Server};
use crate::enforcement::run_nginx;
use gateway_console::service::tokens;
use gateway_console::store::Db;
use serde_json::{json, Value};
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROPAGATION: Duration = Duration::from_secs(1);

/// The README's load balancer, in front of the replicas' ports.
struct LoadBalancer {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

/// The `upstream` and `server` blocks exactly as the README shows them, for replicas at
/// `replicas` (`host:port`) and nginx listening on `listen`.
fn readme_config(replicas: &[String], listen: &str) -> String {
    let servers: String = replicas
        .iter()
        .map(|r| format!("        server {r} max_fails=1 fail_timeout=5s;\n"))
        .collect();
    format!(
        r#"    upstream gateway_console {{
{servers}        keepalive 32;
    }}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://gateway_console;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_connect_timeout 1s;
            # A replica that fails is skipped; GET/HEAD are retried on the next one, a POST
            # or PATCH that may have reached the dead replica is not (its client sees 502).
            proxy_next_upstream error timeout http_502;
            proxy_next_upstream_tries 3;
        }}
    }}
"#
    )
}

#[test]
fn the_readme_shows_the_load_balancer_this_test_runs() {
    let hosts: Vec<String> = (11..=13).map(|i| format!("10.0.0.{i}:3000")).collect();
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&readme_config(&hosts, "80")),
        "README's Running several replicas section differs from:\n{}",
        readme_config(&hosts, "80")
    );
}

impl LoadBalancer {
    fn start(replicas: &[u16]) -> LoadBalancer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path().display();
        let conf = format!(
            r#"
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log error;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{}
}}
"#,
            readme_config(
                &replicas
                    .iter()
                    .map(|p| format!("127.0.0.1:{p}"))
                    .collect::<Vec<_>>(),
                &format!("127.0.0.1:{port}")
            )
        );
        let child = run_nginx(dir.path(), &conf, port);
        LoadBalancer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }
}

impl Drop for LoadBalancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn check(replica: &str, gateway: &str, key: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{replica}/authz/check"))
        .header("x-gateway-id", gateway)
        .header("x-original-uri", "/v1/chat/completions")
        .header("x-api-key", key)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// Waits until every replica's check answers `want`; returns the slowest replica's delay.
async fn every_replica_answers(
    replicas: &[String],
    gateway: &str,
    key: &str,
    want: u16,
) -> Duration {
    let since = Instant::now();
    let mut slowest = Duration::ZERO;
    for r in replicas {
        loop {
            if check(r, gateway, key).await == want {
                slowest = slowest.max(since.elapsed());
                break;
            }
            assert!(
                since.elapsed() < PROPAGATION,
                "{r} did not answer {want} within {PROPAGATION:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    slowest
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_behind_nginx_share_one_postgresql() {
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        return; // replicas share a PostgreSQL database
    }
    let _alone = crate::common::whole_machine().await;
    let (url, _) = fresh_database_url().await;
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let settings = [
        ("CONSOLE_ADMIN_USERNAME", "admin"),
        ("CONSOLE_ADMIN_PASSWORD", ADMIN_PASSWORD),
        ("CONSOLE_DEMO", "1"),
        ("CONSOLE_AUTHZ_TRUST_PROXY_HEADERS", "1"),
        ("CONSOLE_TRUSTED_PROXIES", "127.0.0.1"),
    ];
    // All three at the same moment, on a database without a single table.
    let mut replicas: Vec<Server> = ports
        .iter()
        .map(|p| Server::spawn(&url, *p, &settings))
        .collect();
    for r in &mut replicas {
        r.healthy().await;
    }
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let db = Db::connect(&url).await.unwrap();
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM accounts").await,
        1,
        "one first Admin"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM instances").await,
        1,
        "one demo seed"
    );
    let lb = LoadBalancer::start(&ports);

    // The console through the load balancer: signed in once, served by every replica.
    let console = browser(&lb.base);
    let res = console
        .post(format!("{}/api/sign_in", lb.base))
        .header("Accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(
        res.status().is_success() || res.status().is_redirection(),
        "{}",
        res.status()
    );
    for _ in 0..9 {
        let res = console
            .post(format!("{}/api/list_instances", lb.base))
            .header("Accept", "application/json")
            .form(&[("search", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "the session holds on every replica");
        let page = console
            .get(format!("{}/instances", lb.base))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
    }

    // REST through the load balancer, and every replica's check following each change.
    let token = tokens::create_token_for(&db, "admin", "replicas", None, Default::default())
        .await
        .unwrap()
        .value;
    let world = world(&lb.base, &token).await;
    let gateway = world.0.clone();
    let (_, key_id, key) = granted_holder(&lb.base, &token, &world, "everywhere").await;
    let c = reqwest::Client::new();
    let granted = every_replica_answers(&bases, &gateway, &key, 200).await;
    let (_, k) = call(
        &c,
        &lb.base,
        &token,
        reqwest::Method::GET,
        &format!("/v1/keys/{key_id}"),
        None,
    )
    .await
    .unwrap();
    let (s, k) = call(
        &c,
        &lb.base,
        &token,
        reqwest::Method::PATCH,
        &format!("/v1/keys/{key_id}"),
        Some(json!({"enabled": false, "version": k["version"]})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{k}");
    let disabled = every_replica_answers(&bases, &gateway, &key, 401).await;
    let (s, _) = call(
        &c,
        &lb.base,
        &token,
        reqwest::Method::PATCH,
        &format!("/v1/keys/{key_id}"),
        Some(json!({"enabled": true, "version": k["version"]})),
    )
    .await
    .unwrap();
    assert_eq!(s, 200);
    every_replica_answers(&bases, &gateway, &key, 200).await;
    eprintln!(
        "replicas: every check followed a grant in {granted:?} and a disabled key in {disabled:?}"
    );

    // Load through the load balancer while one replica is killed.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<(bool, u16, Option<String>)>::new()));
    let load: Vec<_> = (0..8)
        .map(|i| {
            let (base, token, gateway) = (lb.base.clone(), token.clone(), gateway.clone());
            let (stop, answers) = (stop.clone(), answers.clone());
            tokio::spawn(async move {
                let c = reqwest::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let write = i % 2 == 1;
                    let (status, data) = if write {
                        call(
                            &c,
                            &base,
                            &token,
                            reqwest::Method::POST,
                            "/v1/consumers",
                            Some(json!({"gatewayId": gateway, "name": format!("lb-{i}-{n}")})),
                        )
                        .await
                    } else {
                        call(
                            &c,
                            &base,
                            &token,
                            reqwest::Method::GET,
                            &format!("/v1/consumers?gatewayId={gateway}&pageSize=5"),
                            None,
                        )
                        .await
                    }
                    .expect("nginx answers");
                    let id = (write && status == 200)
                        .then(|| data["consumerId"].as_str().unwrap().to_owned());
                    answers.lock().unwrap().push((write, status, id));
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    replicas[1].kill();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }
    let answers = std::mem::take(&mut *answers.lock().unwrap());
    let reads: Vec<u16> = answers.iter().filter(|a| !a.0).map(|a| a.1).collect();
    let writes: Vec<u16> = answers.iter().filter(|a| a.0).map(|a| a.1).collect();
    eprintln!(
        "replicas: {} reads (all 200: {}), {} writes ({} answered 200, {} 502 from the killed replica)",
        reads.len(),
        reads.iter().all(|s| *s == 200),
        writes.len(),
        writes.iter().filter(|s| **s == 200).count(),
        writes.iter().filter(|s| **s == 502).count()
    );
    assert!(
        reads.iter().all(|s| *s == 200),
        "a read was not retried: {reads:?}"
    );
    assert!(
        writes.iter().all(|s| *s == 200 || *s == 502),
        "writes: {writes:?}"
    );
    let acknowledged: Vec<&String> = answers.iter().filter_map(|a| a.2.as_ref()).collect();
    assert!(acknowledged.len() > 10, "too little load");
    for id in &acknowledged {
        let found = count(
            &db,
            &format!("SELECT COUNT(*) FROM consumers WHERE id = '{id}'"),
        )
        .await;
        assert_eq!(found, 1, "acknowledged consumer {id} is lost");
    }
    // The survivors still follow changes.
    let survivors = [bases[0].clone(), bases[2].clone()];
    every_replica_answers(&survivors, &gateway, &key, 200).await;

    // The killed replica comes back on its port, catches up and serves.
    replicas[1] = Server::spawn(&url, ports[1], &settings);
    replicas[1].healthy().await;
    every_replica_answers(&bases, &gateway, &key, 200).await;
    let last = acknowledged.last().unwrap();
    let (s, back) = call(
        &c,
        &bases[1],
        &token,
        reqwest::Method::GET,
        &format!("/v1/consumers/{last}"),
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        s, 200,
        "the restarted replica serves what was written while it was away: {back}"
    );
    assert_eq!(back["consumerId"], Value::String((*last).clone()));
}
