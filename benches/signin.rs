//! `make bench-signin`: can a sign-in flood starve the server? The release binary runs as its
//! own process; this one floods `/api/sign_in` with wrong passwords from 60 loopback
//! addresses (360 posts, as the security review did) while it measures `/authz/check` and a
//! REST read, sequentially, before and during the flood. Targets: check p99 ≤ 5 ms and REST
//! p99 ≤ 50 ms during the flood.

use serde_json::{json, Value};
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ADDRESSES: u8 = 60;
const POSTS_PER_ADDRESS: usize = 6;
const PASSWORD: &str = "bench-signin-password";

struct Server {
    child: Child,
    base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_gateway-console"));
    c.env("RUST_LOG", "warn");
    c
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let db = format!("sqlite:{}/console.db", dir.path().display());
    let child = binary()
        .env("DATABASE_URL", &db)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("CONSOLE_ADMIN_USERNAME", "admin")
        .env("CONSOLE_ADMIN_PASSWORD", PASSWORD)
        .env("CONSOLE_AUTHZ_TRUST_PROXY_HEADERS", "1")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "no server");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        _dir: dir,
    }
}

/// A REST call as the bench token; the answer's `data`.
async fn rest(s: &Server, token: &str, method: &str, path: &str, body: Value) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let res = reqwest::Client::new()
        .request(method, format!("{}{path}", s.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["code"], "Ok", "{path}: {v}");
    v["data"].clone()
}

/// A gateway with a chat API, a consumer granted it and its key: (gateway, key).
async fn world(s: &Server, token: &str) -> (String, String) {
    let gw = rest(
        s,
        token,
        "POST",
        "/v1/gateways",
        json!({"name": "bench", "region": "local", "engineVersion": "1", "description": ""}),
    )
    .await;
    let gw = gw["gatewayId"].as_str().unwrap().to_owned();
    let envs = rest(
        s,
        token,
        "GET",
        &format!("/v1/environments?gatewayId={gw}"),
        json!(null),
    )
    .await;
    let env = envs["items"][0]["environmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let api = rest(s, token, "POST", "/v1/model-apis", json!({"gatewayId": gw, "name": "chat", "basePath": "/v1/chat", "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text", "description": "", "environmentIds": [env]})).await;
    let consumer = rest(
        s,
        token,
        "POST",
        "/v1/consumers",
        json!({"gatewayId": gw, "name": "alice", "consumerGroupIds": []}),
    )
    .await;
    let consumer = consumer["consumerId"].as_str().unwrap().to_owned();
    let key = rest(
        s,
        token,
        "POST",
        "/v1/keys",
        json!({"gatewayId": gw, "name": "alice-key"}),
    )
    .await;
    let key_id = key["key"]["keyId"].as_str().unwrap();
    rest(
        s,
        token,
        "POST",
        &format!("/v1/consumers/{consumer}/credentials"),
        json!({"keyId": key_id}),
    )
    .await;
    rest(s, token, "POST", "/v1/authorization-rules", json!({"principalType": "Consumer", "principalId": consumer, "apiId": api["apiId"], "environmentId": env, "expireMode": "LongTerm"})).await;
    (gw, key["value"].as_str().unwrap().to_owned())
}

/// Latencies of sequential requests made by `make` until `stop` is set (at least `min`).
async fn sample(
    make: impl Fn() -> reqwest::RequestBuilder,
    stop: Arc<AtomicBool>,
    min: usize,
) -> Vec<Duration> {
    let mut out = Vec::new();
    while !stop.load(Ordering::Relaxed) || out.len() < min {
        let t = Instant::now();
        let res = make().send().await.unwrap();
        assert_eq!(res.status(), 200, "a measured request failed");
        res.bytes().await.unwrap();
        out.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    out
}

fn summary(label: &str, mut v: Vec<Duration>) -> f64 {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let p99 = ms(v[v.len() * 99 / 100]);
    println!(
        "{label:<40} n {:>5}   p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        v.len(),
        ms(v[v.len() / 2]),
        p99,
        ms(v[v.len() - 1])
    );
    p99
}

/// Measures the check and the REST read while `during` runs (or for `quiet` when none).
async fn measure(
    s: &Server,
    token: &str,
    gw: &str,
    key: &str,
    during: Option<tokio::task::JoinHandle<Vec<u16>>>,
    quiet: Duration,
) -> (Vec<Duration>, Vec<Duration>, Option<Vec<u16>>, Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let check = {
        let (url, gw, key, stop) = (
            format!("{}/authz/check", s.base),
            gw.to_owned(),
            key.to_owned(),
            stop.clone(),
        );
        let c = reqwest::Client::new();
        tokio::spawn(async move {
            sample(
                || {
                    c.get(&url)
                        .header("x-gateway-id", &gw)
                        .header("x-original-uri", "/v1/chat/completions")
                        .bearer_auth(&key)
                },
                stop,
                50,
            )
            .await
        })
    };
    let read = {
        let url = format!("{}/v1/consumers?gatewayId={gw}", s.base);
        let (token, stop) = (token.to_owned(), stop.clone());
        let c = reqwest::Client::new();
        tokio::spawn(async move { sample(|| c.get(&url).bearer_auth(&token), stop, 50).await })
    };
    let started = Instant::now();
    let statuses = match during {
        Some(flood) => Some(flood.await.unwrap()),
        None => {
            tokio::time::sleep(quiet).await;
            None
        }
    };
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    (check.await.unwrap(), read.await.unwrap(), statuses, elapsed)
}

/// 60 addresses, each posting wrong passwords as fast as answers come.
fn flood(base: String) -> tokio::task::JoinHandle<Vec<u16>> {
    tokio::spawn(async move {
        let mut tasks = Vec::new();
        for a in 0..ADDRESSES {
            let base = base.clone();
            tasks.push(tokio::spawn(async move {
                let c = reqwest::Client::builder()
                    .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 1, a + 1)))
                    .build()
                    .unwrap();
                let mut statuses = Vec::new();
                for i in 0..POSTS_PER_ADDRESS {
                    let user = if i % 2 == 0 { "admin" } else { "nobody" };
                    let res = c
                        .post(format!("{base}/api/sign_in"))
                        .header("origin", &base)
                        .header("accept", "application/json")
                        .form(&[("username", user), ("password", &format!("guess-{a}-{i}"))])
                        .send()
                        .await
                        .unwrap();
                    statuses.push(res.status().as_u16());
                }
                statuses
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        all
    })
}

#[tokio::main]
async fn main() {
    let server = start().await;
    let token = {
        let dir = server._dir.path();
        let out = binary()
            .env(
                "DATABASE_URL",
                format!("sqlite:{}/console.db", dir.display()),
            )
            .args(["token", "create", "--username", "admin", "--name", "bench"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (gw, key) = world(&server, &token).await;
    // The check learns of the new gateway at its next poll.
    let started = Instant::now();
    loop {
        let res = reqwest::Client::new()
            .get(format!("{}/authz/check", server.base))
            .header("x-gateway-id", &gw)
            .header("x-original-uri", "/v1/chat/completions")
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        if res.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the check never let the key through"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    println!("sign-in flood: {ADDRESSES} addresses x {POSTS_PER_ADDRESS} wrong passwords, against the release binary");
    let (check, read, _, _) =
        measure(&server, &token, &gw, &key, None, Duration::from_secs(3)).await;
    summary("/authz/check, quiet", check);
    summary("GET /v1/consumers, quiet", read);

    let (check, read, statuses, took) = measure(
        &server,
        &token,
        &gw,
        &key,
        Some(flood(server.base.clone())),
        Duration::ZERO,
    )
    .await;
    let statuses = statuses.unwrap();
    let count = |s: u16| statuses.iter().filter(|x| **x == s).count();
    println!(
        "flood: {} posts in {:.2} s: {} checked and refused (400), {} throttled (429), {} other",
        statuses.len(),
        took.as_secs_f64(),
        count(400),
        count(429),
        statuses.len() - count(400) - count(429)
    );
    let check_p99 = summary("/authz/check, during the flood", check);
    let read_p99 = summary("GET /v1/consumers, during the flood", read);
    println!(
        "targets: check p99 {check_p99:.2} ms (≤ 5: {}), REST p99 {read_p99:.2} ms (≤ 50: {})",
        if check_p99 <= 5.0 { "met" } else { "MISSED" },
        if read_p99 <= 50.0 { "met" } else { "MISSED" },
    );
}
