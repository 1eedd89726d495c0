//! Enforcement end to end: a real nginx with `auth_request` in front of a stand-in model
//! backend, our server as the check, and every change made through the REST API. Plus the
//! check's answers to hostile input, called directly.

use crate::common::{self, ok, proxy_headers_trusted, spawn_app, spawn_app_with, TestApp};
use gateway_console::enforce::{RequestUriSource, Settings};
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a change may take to reach enforcement.
const PROPAGATION: Duration = Duration::from_secs(1);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts Debian's nginx with `conf` (written into `dir`, its prefix) and waits until it
/// listens on `port`.
pub(crate) fn run_nginx(dir: &std::path::Path, conf: &str, port: u16) -> Child {
    let nginx = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("nginx is required for this test (make tools-test installs Debian's nginx)");
    let conf_path = dir.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let child = Command::new(nginx)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start nginx");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child
}

/// A throw-away nginx: a proxy on `port` that asks our check before forwarding to an
/// upstream (another server block of the same nginx) that echoes what it received.
pub(crate) struct Nginx {
    child: Child,
    pub(crate) port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx exactly as the README and the console's "Connect a proxy" panel configure it,
    /// in front of `console` and a stand-in model backend; naming `gateway` on every check
    /// (the console trusts proxy headers), or not (the replica is configured with it).
    pub(crate) fn start(console: &str, gateway: Option<&str>) -> Nginx {
        Nginx::launch(console, gateway, None)
    }

    /// The same in front of the model backend at `backend`, writing the README's usage log
    /// (`usage_log`) for the shipper.
    fn with_usage_log(console: &str, gateway: Option<&str>, backend: &str) -> Nginx {
        Nginx::launch(console, gateway, Some(backend))
    }

    fn usage_log(&self) -> std::path::PathBuf {
        self.dir.path().join("usage.log")
    }

    fn launch(console: &str, gateway: Option<&str>, model_backend: Option<&str>) -> Nginx {
        use gateway_console::domain::proxy_config::{usage_access_log, USAGE_LOG_FORMAT};
        let dir = tempfile::tempdir().unwrap();
        let (port, upstream) = (free_port(), free_port());
        let console = console.trim_start_matches("http://");
        let d = dir.path().display();
        let listen = format!("127.0.0.1:{port}");
        let echo = format!("http://127.0.0.1:{upstream}");
        let backend = model_backend.unwrap_or(&echo);
        let mut site = gateway_console::domain::proxy_config::nginx(
            &gateway_console::domain::proxy_config::NginxSite {
                listen: &listen,
                console,
                backend,
                gateway_id: gateway,
            },
        );
        let mut log_format = "";
        if model_backend.is_some() {
            // Where the README puts it: in the location with auth_request.
            let log = usage_access_log(&format!("{d}/usage.log"));
            site = site.replacen(
                "        auth_request /_authz;\n",
                &format!("        auth_request /_authz;\n        {log}\n"),
                1,
            );
            log_format = USAGE_LOG_FORMAT;
        }
        let conf = format!(
            r#"
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    {log_format}
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    # The stand-in model backend: echoes the identity headers and any key it was sent.
    server {{
        listen 127.0.0.1:{upstream};
        location / {{
            default_type text/plain;
            return 200 "consumer=$http_x_consumer_id name=$http_x_consumer_name api=$http_x_api_id authorization=$http_authorization x-api-key=$http_x_api_key\n";
        }}
    }}

{site}
}}
"#
        );
        let child = run_nginx(dir.path(), &conf, port);
        Nginx { child, port, dir }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A gateway with one model API at `/v1/chat`, a group with a rule on it, and consumers.
pub(crate) struct World {
    token: String,
    pub(crate) gateway: String,
    environment: String,
    api: String,
    group: String,
}

/// A consumer and the value and ID of the key bound to it.
pub(crate) struct Holder {
    pub(crate) consumer: String,
    key_id: String,
    pub(crate) key: String,
}

fn now_ms() -> i64 {
    gateway_console::store::now_ms()
}

impl World {
    pub(crate) async fn new(app: &TestApp) -> World {
        let token = app.token("admin").await;
        let t = Some(token.as_str());
        let gw = app
            .rest(
                t,
                "POST",
                "/v1/gateways",
                Some(json!({"name": "enforced", "region": "local", "engineVersion": "1", "description": ""})),
            )
            .await;
        let gateway = ok(&gw)["gatewayId"].as_str().unwrap().to_owned();
        let envs = app
            .rest(
                t,
                "GET",
                &format!("/v1/environments?gatewayId={gateway}"),
                None,
            )
            .await;
        let environment = ok(&envs)["items"][0]["environmentId"]
            .as_str()
            .unwrap()
            .to_owned();
        let api = app
            .rest(
                t,
                "POST",
                "/v1/model-apis",
                Some(json!({
                    "gatewayId": gateway, "name": "chat", "basePath": "/v1/chat",
                    "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text",
                    "description": "", "environmentIds": [environment]
                })),
            )
            .await;
        let api = ok(&api)["apiId"].as_str().unwrap().to_owned();
        let group = app
            .rest(
                t,
                "POST",
                "/v1/consumer-groups",
                Some(json!({"gatewayId": gateway, "name": "team", "description": ""})),
            )
            .await;
        let group = ok(&group)["consumerGroupId"].as_str().unwrap().to_owned();
        let w = World {
            token,
            gateway,
            environment,
            api,
            group,
        };
        let rule = w.rule("ConsumerGroup", &w.group, None);
        w.call(app, "POST", "/v1/authorization-rules", Some(rule))
            .await;
        w
    }

    fn rule(&self, ptype: &str, principal: &str, expire_at: Option<i64>) -> Value {
        match expire_at {
            Some(t) => json!({"principalType": ptype, "principalId": principal, "apiId": self.api,
                "environmentId": self.environment, "expireMode": "ShortTerm", "expireTimestamp": t}),
            None => json!({"principalType": ptype, "principalId": principal, "apiId": self.api,
                "environmentId": self.environment, "expireMode": "LongTerm"}),
        }
    }

    /// `PATCH` a key with the version it is at now.
    async fn patch_key(&self, app: &TestApp, key_path: &str, mut body: Value) -> Value {
        let key = self.call(app, "GET", key_path, None).await;
        body["version"] = key["version"].clone();
        self.call(app, "PATCH", key_path, Some(body)).await
    }

    pub(crate) async fn call(
        &self,
        app: &TestApp,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Value {
        ok(&app.rest(Some(&self.token), method, path, body).await).clone()
    }

    /// A consumer (in the group when `in_group`) with a fresh key bound to it.
    pub(crate) async fn holder(&self, app: &TestApp, name: &str, in_group: bool) -> Holder {
        let groups: Vec<&str> = if in_group { vec![&self.group] } else { vec![] };
        let c = self
            .call(
                app,
                "POST",
                "/v1/consumers",
                Some(json!({"gatewayId": self.gateway, "name": name, "consumerGroupIds": groups})),
            )
            .await;
        let consumer = c["consumerId"].as_str().unwrap().to_owned();
        let k = self
            .call(
                app,
                "POST",
                "/v1/keys",
                Some(json!({"gatewayId": self.gateway, "name": format!("{name}-key")})),
            )
            .await;
        let key_id = k["key"]["keyId"].as_str().unwrap().to_owned();
        self.call(
            app,
            "POST",
            &format!("/v1/consumers/{consumer}/credentials"),
            Some(json!({"keyId": key_id})),
        )
        .await;
        Holder {
            consumer,
            key_id,
            key: k["value"].as_str().unwrap().to_owned(),
        }
    }
}

/// A request through nginx: status and body.
async fn through(gw: &Nginx, path: &str, key: Option<&str>) -> (u16, String) {
    let mut req = common::client().get(format!("http://127.0.0.1:{}{path}", gw.port));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// Polls until the request through nginx answers `want`; fails after `PROPAGATION`.
async fn within_a_second(gw: &Nginx, path: &str, key: Option<&str>, want: u16, what: &str) {
    let started = Instant::now();
    loop {
        let (status, _) = through(gw, path, key).await;
        if status == want {
            return;
        }
        assert!(
            started.elapsed() < PROPAGATION,
            "{what}: still {status} after {PROPAGATION:?}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub(crate) fn console_addr(app: &TestApp) -> &str {
    app.base.trim_start_matches("http://")
}

#[tokio::test]
async fn nginx_lets_through_only_what_the_rules_allow_and_follows_every_change() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let alice = w.holder(&app, "alice", false).await;
    let rule = w.rule("Consumer", &alice.consumer, None);
    w.call(&app, "POST", "/v1/authorization-rules", Some(rule))
        .await;
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));

    // A bound key with a rule passes; the upstream sees who, but not the key.
    within_a_second(&gw, "/v1/chat/completions", Some(&alice.key), 200, "alice").await;
    let (_, echoed) = through(&gw, "/v1/chat/completions?stream=true", Some(&alice.key)).await;
    assert!(
        echoed.contains(&format!("consumer={}", alice.consumer)),
        "{echoed}"
    );
    assert!(echoed.contains("name=alice"), "{echoed}");
    assert!(echoed.contains(&format!("api={}", w.api)), "{echoed}");
    assert!(
        echoed.contains("authorization= "),
        "the key reached the upstream: {echoed}"
    );
    assert!(!echoed.contains(&alice.key));
    let res = common::client()
        .get(format!("http://127.0.0.1:{}/v1/chat", gw.port))
        .header("x-api-key", &alice.key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(!res.text().await.unwrap().contains(&alice.key));

    // No key, a wrong key: 401 with a challenge. A path no API covers: 403.
    let res = common::client()
        .get(format!("http://127.0.0.1:{}/v1/chat", gw.port))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("www-authenticate").is_some());
    assert_eq!(through(&gw, "/v1/chat", Some("gck_wrong")).await.0, 401);
    assert_eq!(through(&gw, "/v1/other", Some(&alice.key)).await.0, 403);
    for sneaky in [
        "/v1/chat/../other",
        "/v1/chat/%2e%2e/other",
        "/v1/chat//x",
        "/v1/%63hat/../../other",
    ] {
        assert_ne!(
            through(&gw, sneaky, Some(&alice.key)).await.0,
            200,
            "{sneaky}"
        );
    }

    // Disable the key, enable it again.
    let key_path = format!("/v1/keys/{}", alice.key_id);
    w.patch_key(&app, &key_path, json!({"enabled": false}))
        .await;
    within_a_second(&gw, "/v1/chat", Some(&alice.key), 401, "disabled key").await;
    w.patch_key(&app, &key_path, json!({"enabled": true})).await;
    within_a_second(&gw, "/v1/chat", Some(&alice.key), 200, "enabled key").await;

    // Rotate without grace: the old value stops, the new one works.
    let rotated = w
        .call(&app, "POST", &format!("{key_path}/rotate"), Some(json!({})))
        .await;
    let new_key = rotated["value"].as_str().unwrap().to_owned();
    within_a_second(&gw, "/v1/chat", Some(&alice.key), 401, "rotated-out key").await;
    within_a_second(&gw, "/v1/chat", Some(&new_key), 200, "rotated key").await;

    // Disable the consumer.
    let c = w
        .call(
            &app,
            "GET",
            &format!("/v1/consumers/{}", alice.consumer),
            None,
        )
        .await;
    let status_path = format!("/v1/consumers/{}/status", alice.consumer);
    let body = json!({"enabled": false, "version": c["version"]});
    w.call(&app, "PUT", &status_path, Some(body)).await;
    within_a_second(&gw, "/v1/chat", Some(&new_key), 401, "disabled consumer").await;

    // Unbind the credential.
    let bob = w.holder(&app, "bob", true).await;
    within_a_second(
        &gw,
        "/v1/chat",
        Some(&bob.key),
        200,
        "bob through his group",
    )
    .await;
    let unbind = format!("/v1/consumers/{}/credentials/{}", bob.consumer, bob.key_id);
    w.call(&app, "DELETE", &unbind, None).await;
    within_a_second(&gw, "/v1/chat", Some(&bob.key), 401, "unbound credential").await;
}

/// A request through nginx: status, the headers named, and the body.
async fn through_headers(
    gw: &Nginx,
    path: &str,
    key: &str,
    names: &[&str],
) -> (u16, Vec<Option<String>>, String) {
    let res = common::client()
        .get(format!("http://127.0.0.1:{}{path}", gw.port))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let headers = names
        .iter()
        .map(|n| {
            res.headers()
                .get(*n)
                .map(|v| v.to_str().unwrap().to_owned())
        })
        .collect();
    (status, headers, res.text().await.unwrap())
}

#[tokio::test]
async fn through_nginx_a_rate_limit_is_a_429_with_retry_after_and_the_rest_is_unchanged() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let erin = w.holder(&app, "erin", true).await;
    let fay = w.holder(&app, "fay", true).await;
    let limit = w
        .call(
            &app,
            "POST",
            "/v1/rate-limits",
            Some(json!({"gatewayId": w.gateway, "subjectId": erin.consumer, "perMinute": 3})),
        )
        .await;
    app.enforcer.refresh().await.unwrap();
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));
    let names = [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    ];

    // Three a minute pass, each told what is left; the fourth is a 429 with Retry-After.
    for left in ["2", "1", "0"] {
        let (status, h, _) = through_headers(&gw, "/v1/chat", &erin.key, &names).await;
        assert_eq!(status, 200);
        assert_eq!(h[0].as_deref(), Some("3"));
        assert_eq!(h[1].as_deref(), Some(left));
        assert!(h[3].is_none());
    }
    let (status, h, body) = through_headers(&gw, "/v1/chat", &erin.key, &names).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Throttling"), "{body}");
    let retry: i64 = h[3].as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!((h[0].as_deref(), h[1].as_deref()), (Some("3"), Some("0")));

    // A used-up quota is a 429 too, with Retry-After until the period rolls over.
    let gus = w.holder(&app, "gus", true).await;
    w.call(
        &app,
        "POST",
        "/v1/quotas",
        Some(json!({"gatewayId": w.gateway, "subjectId": gus.consumer, "period": "day", "amount": 1})),
    )
    .await;
    within_a_second(&gw, "/v1/chat", Some(&gus.key), 429, "gus's quota").await;
    let (status, h, body) = through_headers(&gw, "/v1/chat", &gus.key, &names).await;
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("Throttling"), "{body}");
    let retry: i64 = h[3].as_deref().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");

    // Another member of the group has no limit; a bad key is still a 401, a path no API
    // covers still a 403 (not a 429).
    let (status, h, _) = through_headers(&gw, "/v1/chat", &fay.key, &names).await;
    assert_eq!((status, h[0].as_deref()), (200, None));
    assert_eq!(through(&gw, "/v1/chat", Some("gck_wrong")).await.0, 401);
    let (status, h, _) = through_headers(&gw, "/v1/other", &erin.key, &names).await;
    assert_eq!((status, h[3].as_deref()), (403, None));

    // A limit on the group is shared by its members: fay's first request uses it up for
    // erin too... erin is still refused by her own limit; removing hers leaves the group's.
    w.call(
        &app,
        "POST",
        "/v1/rate-limits",
        Some(json!({"gatewayId": w.gateway, "subjectId": w.group, "perMinute": 1, "policy": "local"})),
    )
    .await;
    within_a_second(&gw, "/v1/chat", Some(&fay.key), 429, "the group's limit").await;
    let id = limit["rateLimitId"].as_str().unwrap();
    w.call(&app, "DELETE", &format!("/v1/rate-limits/{id}"), None)
        .await;
    let started = Instant::now();
    loop {
        let (status, h, _) = through_headers(&gw, "/v1/chat", &erin.key, &names).await;
        assert_eq!(status, 429, "the group's limit still applies to erin");
        if h[0].as_deref() == Some("1") {
            break;
        }
        assert!(
            started.elapsed() < PROPAGATION,
            "erin's removed limit still decides: {h:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A stand-in model backend: answers a POST as a chat completion would, with one prompt
/// token per word of its messages and 5 completion tokens, in its body's `usage` and in the
/// `X-Usage-*` headers nginx logs; anything else with a bare 200 and no counts.
async fn stand_in_model_backend() -> String {
    use axum::http::{HeaderMap, HeaderValue, Method};
    let backend = axum::Router::new().fallback(|method: Method, body: String| async move {
        let mut headers = HeaderMap::new();
        if method != Method::POST {
            return (headers, "{}".to_owned());
        }
        let request: Value = serde_json::from_str(&body).unwrap_or_default();
        let prompt: usize = request["messages"]
            .as_array()
            .map(|messages| {
                messages
                    .iter()
                    .map(|m| {
                        m["content"]
                            .as_str()
                            .unwrap_or("")
                            .split_whitespace()
                            .count()
                    })
                    .sum()
            })
            .unwrap_or(0);
        headers.insert("x-usage-prompt-tokens", HeaderValue::from(prompt));
        headers.insert("x-usage-completion-tokens", HeaderValue::from(5));
        let answer = json!({
            "choices": [{"message": {"role": "assistant", "content": "one two three four five"}}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": 5}
        });
        (headers, answer.to_string())
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, backend).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn token_counts_of_the_model_backend_reach_the_usage_through_nginx_and_the_shipper() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let alice = w.holder(&app, "alice", true).await;
    let bob = w.holder(&app, "bob", true).await;
    let backend = stand_in_model_backend().await;
    let gw = Nginx::with_usage_log(console_addr(&app), Some(&w.gateway), &backend);
    within_a_second(
        &gw,
        "/v1/chat",
        Some(&alice.key),
        200,
        "alice is let through",
    )
    .await;

    let chat = |key: &str, prompt: &str| {
        common::client()
            .post(format!("http://127.0.0.1:{}/v1/chat/completions", gw.port))
            .bearer_auth(key)
            .json(&json!({"model": "m", "messages": [{"role": "user", "content": prompt}]}))
            .send()
    };
    for (key, prompt) in [
        (&alice.key, "one two three"),
        (&alice.key, "one two three four five"),
        (&bob.key, "one two three four five six seven eight"),
    ] {
        let answer = chat(key, prompt).await.unwrap();
        assert_eq!(answer.status(), 200);
        let body: Value = answer.json().await.unwrap();
        assert_eq!(
            body["usage"]["completion_tokens"], 5,
            "the client gets the backend's answer"
        );
    }
    // Refused by the check: never reaches the backend, so it has no token counts.
    assert_eq!(
        chat("not-a-key-1234", "one two").await.unwrap().status(),
        401
    );

    let token = ok(&app
        .rest(
            Some(&w.token),
            "POST",
            "/v1/tokens",
            Some(json!({"name": "shipper", "scope": "UsageWrite"})),
        )
        .await)["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = std::fs::read_to_string(gw.usage_log()).unwrap();
    // One line per request: the polls, the three chats, the refused one.
    assert!(log.lines().count() >= 5, "{log}");
    // Shipped twice (a shipper restarted over the same log): each request counts once.
    for _ in 0..2 {
        crate::usage::ship(&app, &token, &w.gateway, log.clone()).await;
    }
    app.enforcer.flush_usage().await.unwrap();
    let r = app
        .rest(
            Some(&w.token),
            "GET",
            &format!(
                "/v1/usage?gatewayId={}&groupBy=consumer&outcome=allowed",
                w.gateway
            ),
            None,
        )
        .await;
    let mut by_consumer: Vec<(String, i64, i64, i64)> = ok(&r)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["consumerName"].as_str().unwrap().to_owned(),
                i["requests"].as_i64().unwrap(),
                i["promptTokens"].as_i64().unwrap(),
                i["completionTokens"].as_i64().unwrap(),
            )
        })
        .collect();
    // Summed over minutes (the test may straddle one); alice's requests include the polls.
    by_consumer.sort();
    by_consumer.dedup_by(|later, kept| {
        if later.0 != kept.0 {
            return false;
        }
        kept.1 += later.1;
        kept.2 += later.2;
        kept.3 += later.3;
        true
    });
    let tokens: Vec<(&str, i64, i64)> = by_consumer
        .iter()
        .map(|(name, _, p, c)| (name.as_str(), *p, *c))
        .collect();
    assert_eq!(tokens, vec![("alice", 8, 10), ("bob", 8, 5)]);
    let requests: Vec<(&str, bool)> = by_consumer
        .iter()
        .map(|(name, n, _, _)| (name.as_str(), if name == "bob" { *n == 1 } else { *n >= 3 }))
        .collect();
    assert_eq!(
        requests,
        vec![("alice", true), ("bob", true)],
        "{by_consumer:?}"
    );
}

#[tokio::test]
async fn group_membership_group_status_and_short_term_rules_take_effect_through_nginx() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let carol = w.holder(&app, "carol", true).await;
    let dave = w.holder(&app, "dave", false).await;
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));

    // Through the group: passes; the group disabled: refused; enabled again: passes.
    within_a_second(
        &gw,
        "/v1/chat",
        Some(&carol.key),
        200,
        "carol through her group",
    )
    .await;
    let group = w
        .call(
            &app,
            "GET",
            &format!("/v1/consumer-groups/{}", w.group),
            None,
        )
        .await;
    let status_path = format!("/v1/consumer-groups/{}/status", w.group);
    let off = json!({"enabled": false, "version": group["version"]});
    let group = w.call(&app, "PUT", &status_path, Some(off)).await;
    within_a_second(&gw, "/v1/chat", Some(&carol.key), 403, "disabled group").await;
    let on = json!({"enabled": true, "version": group["version"]});
    w.call(&app, "PUT", &status_path, Some(on)).await;
    within_a_second(&gw, "/v1/chat", Some(&carol.key), 200, "enabled group").await;

    // Removed from the group: refused.
    let leave = format!("/v1/consumers/{}/groups/{}", carol.consumer, w.group);
    w.call(&app, "DELETE", &leave, None).await;
    within_a_second(&gw, "/v1/chat", Some(&carol.key), 403, "removed membership").await;

    // A ShortTerm rule a few seconds ahead: passes, then is refused once it expires.
    assert_eq!(through(&gw, "/v1/chat", Some(&dave.key)).await.0, 403);
    let expires = now_ms() + 2_000;
    let rule = w.rule("Consumer", &dave.consumer, Some(expires));
    w.call(&app, "POST", "/v1/authorization-rules", Some(rule))
        .await;
    within_a_second(&gw, "/v1/chat", Some(&dave.key), 200, "short-term rule").await;
    let wait = expires - now_ms();
    if wait > 0 {
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    }
    within_a_second(&gw, "/v1/chat", Some(&dave.key), 403, "expired rule").await;
}

/// A request through nginx with the client's own extra headers: status and body.
async fn through_with(
    gw: &Nginx,
    path: &str,
    key: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let mut req = common::client()
        .get(format!("http://127.0.0.1:{}{path}", gw.port))
        .bearer_auth(key);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.text().await.unwrap())
}

/// A model API `/v1/admin` deployed in the default environment and in `dev`, and a
/// consumer granted it in `dev` only (and the chat API everywhere, through the group).
async fn admin_in_dev_only(app: &TestApp, w: &World) -> (Holder, String) {
    let dev = w
        .call(
            app,
            "POST",
            "/v1/environments",
            Some(json!({"gatewayId": w.gateway, "name": "dev"})),
        )
        .await;
    let dev = dev["environmentId"].as_str().unwrap().to_owned();
    let admin = w
        .call(
            app,
            "POST",
            "/v1/model-apis",
            Some(json!({
                "gatewayId": w.gateway, "name": "admin", "basePath": "/v1/admin",
                "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text",
                "description": "", "environmentIds": [w.environment, dev]
            })),
        )
        .await;
    let admin = admin["apiId"].as_str().unwrap().to_owned();
    let mallory = w.holder(app, "mallory", true).await;
    let rule = json!({"principalType": "Consumer", "principalId": mallory.consumer, "apiId": admin,
        "environmentId": dev, "expireMode": "LongTerm"});
    w.call(app, "POST", "/v1/authorization-rules", Some(rule))
        .await;
    (mallory, dev)
}

/// What a client adds to be checked against something else, or to pose as someone else.
fn forged_headers<'a>(gateway: &'a str, dev: &'a str) -> Vec<Vec<(&'static str, &'a str)>> {
    vec![
        vec![("x-gateway-environment", "dev")],
        vec![("x-gateway-environment", dev)],
        vec![("x-gateway-id", gateway), ("x-gateway-environment", "dev")],
        vec![("x-gateway-id", "gw-d4g5h6j7k8l9m0n1p2q3")],
        vec![("x-original-uri", "/v1/chat")],
        vec![
            ("x-original-uri", "/v1/chat"),
            ("x-gateway-environment", "dev"),
        ],
    ]
}

async fn client_headers_change_nothing(gw: &Nginx, w: &World, mallory: &Holder, dev: &str) {
    within_a_second(gw, "/v1/chat", Some(&mallory.key), 200, "mallory on chat").await;
    // Granted /v1/admin only in dev: prod traffic is refused, whatever the client adds.
    assert_eq!(through(gw, "/v1/admin/x", Some(&mallory.key)).await.0, 403);
    for forged in forged_headers(&w.gateway, dev) {
        let (status, body) = through_with(gw, "/v1/admin/x", &mallory.key, &forged).await;
        assert_eq!(status, 403, "{forged:?} changed the decision: {body}");
    }
    // The upstream sees who the check says, never who the client says.
    let posing = [
        ("x-consumer-id", "cs-d4g5h6j7k8l9m0n1p2q3"),
        ("x-consumer-name", "root"),
        ("x-api-id", "api-d4g5h6j7k8l9m0n1p2q3"),
    ];
    let (status, echoed) = through_with(gw, "/v1/chat", &mallory.key, &posing).await;
    assert_eq!(status, 200, "{echoed}");
    assert!(
        echoed.contains(&format!("consumer={} ", mallory.consumer)),
        "{echoed}"
    );
    assert!(echoed.contains("name=mallory "), "{echoed}");
    assert!(echoed.contains(&format!("api={} ", w.api)), "{echoed}");
    assert!(
        !echoed.contains("d4g5h6j7") && !echoed.contains("root"),
        "{echoed}"
    );
}

#[tokio::test]
async fn through_nginx_the_client_chooses_neither_gateway_environment_path_nor_identity() {
    // The README's first form: the proxy names the gateway and clears the environment.
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let (mallory, dev) = admin_in_dev_only(&app, &w).await;
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));
    client_headers_change_nothing(&gw, &w, &mallory, &dev).await;
    let refused = through(&gw, "/v1/chat/..;/admin/x", Some(&mallory.key)).await;
    assert_eq!(
        refused.0, 403,
        "a path a servlet container reads as /v1/admin/x"
    );
}

#[tokio::test]
async fn a_replica_configured_for_its_gateway_ignores_the_headers_of_a_plain_proxy() {
    // The README's second form: the replica is configured, the proxy sets no X-Gateway-*
    // header and forwards the client's own ones untouched.
    let bootstrap = spawn_app().await;
    let w = World::new(&bootstrap).await;
    let (mallory, dev) = admin_in_dev_only(&bootstrap, &w).await;
    let app = common::spawn_app_on(
        &bootstrap,
        Settings {
            instance_id: Some(w.gateway.clone()),
            ..Settings::default()
        },
    )
    .await;
    let gw = Nginx::start(console_addr(&app), None);
    client_headers_change_nothing(&gw, &w, &mallory, &dev).await;
}

/// The check's whole answer but its date: status, sorted headers, body.
async fn whole_answer(app: &TestApp, headers: &[(&str, &[u8])]) -> (u16, Vec<String>, String) {
    let mut req = reqwest::Client::new().get(format!("{}/authz/check", app.base));
    for (k, v) in headers {
        req = req.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
    }
    let res = req.send().await.unwrap();
    let mut lines: Vec<String> = res
        .headers()
        .iter()
        .filter(|(k, _)| *k != "date")
        .map(|(k, v)| format!("{k}: {v:?}"))
        .collect();
    lines.sort();
    (res.status().as_u16(), lines, res.text().await.unwrap())
}

/// The check called directly, as Envoy would (or nginx with hostile input).
async fn check(app: &TestApp, path: &str, headers: &[(&str, &[u8])]) -> u16 {
    let mut req = reqwest::Client::new().get(format!("{}{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_check_answers_hostile_input_with_401_or_403_never_200_or_500() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let erin = w.holder(&app, "erin", true).await;
    let key = format!("Bearer {}", erin.key);
    let gw = w.gateway.as_bytes();
    let ok = |uri: &'static [u8]| -> Vec<(&'static str, Vec<u8>)> {
        vec![("x-original-uri", uri.to_vec())]
    };
    let call = |extra: Vec<(&'static str, Vec<u8>)>, with_key: bool| {
        let app = &app;
        let key = key.clone();
        async move {
            let mut h: Vec<(&str, Vec<u8>)> = vec![("x-gateway-id", gw.to_vec())];
            if with_key {
                h.push(("authorization", key.into_bytes()));
            }
            h.extend(extra);
            let refs: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (*k, v.as_slice())).collect();
            check(app, "/authz/check", &refs).await
        }
    };

    // The baseline passes; in an nginx deployment the Envoy form names no path.
    let started = Instant::now();
    while call(ok(b"/v1/chat"), true).await != 200 {
        assert!(started.elapsed() < PROPAGATION, "the baseline never passed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let envoy: Vec<(&str, &[u8])> = vec![("x-gateway-id", gw), ("authorization", key.as_bytes())];
    assert_eq!(
        check(&app, "/authz/check/v1/chat/completions?x=1", &envoy).await,
        403
    );
    assert_eq!(call(ok(b"/v1/chat?q=/../x#frag"), true).await, 200);

    // Paths that could be read two ways.
    for uri in [
        &b"/v1/chat/../admin"[..],
        b"/v1/chat/%2e%2e/admin",
        b"/v1/chat/%2E%2E/admin",
        b"/v1/%2e/chat",
        b"/v1%2fchat",
        b"/v1//chat",
        b"//v1/chat",
        b"/v1/chat/%00",
        b"/v1/chat/%zz",
        b"/v1/chat\\..\\admin",
        b"/v1/chat/\xff\xfe",
        b"/v1/chat/..;/admin/x",
        b"/v1/chat/.;/x",
        b"/v1/chat;jsessionid=0123",
        b"/v1/chat/%3b/x",
        b"/v1/chat/%c0%ae%c0%ae/admin",
        b"/v1/chat/%ef%bc%8e%ef%bc%8e/admin",
        b"/v1/chat/x%20",
        b"/v1/chat/x.",
        b"/V1/chat",
        b"/v1/CHAT/x",
        b"v1/chat",
        b"",
        b"?/v1/chat",
    ] {
        let status = call(vec![("x-original-uri", uri.to_vec())], true).await;
        assert_eq!(status, 403, "{}", String::from_utf8_lossy(uri));
    }
    let huge_path = format!("/v1/chat/{}", "a".repeat(5000));
    assert_eq!(
        call(vec![("x-original-uri", huge_path.into_bytes())], true).await,
        403
    );
    let twice = vec![
        ("x-original-uri", b"/v1/chat".to_vec()),
        ("x-original-uri", b"/v1/chat".to_vec()),
    ];
    assert_eq!(call(twice, true).await, 403);

    // Keys that are missing, malformed, huge, repeated or of another scheme.
    let bad_keys: Vec<Vec<(&'static str, Vec<u8>)>> = vec![
        vec![],
        vec![("authorization", b"Bearer".to_vec())],
        vec![("authorization", b"Bearer ".to_vec())],
        vec![("authorization", format!("Basic {}", erin.key).into_bytes())],
        vec![(
            "authorization",
            format!("Bearer {}x", erin.key).into_bytes(),
        )],
        vec![("authorization", b"Bearer \xff\xfe\xfd".to_vec())],
        vec![(
            "x-api-key",
            format!("{} {}", erin.key, erin.key).into_bytes(),
        )],
        vec![("x-api-key", "k".repeat(60_000).into_bytes())],
        vec![
            ("x-api-key", erin.key.clone().into_bytes()),
            ("x-api-key", erin.key.clone().into_bytes()),
        ],
    ];
    for mut headers in bad_keys {
        headers.push(("x-original-uri", b"/v1/chat".to_vec()));
        let what = format!(
            "{:?}",
            headers
                .iter()
                .map(|(k, v)| (k, v.len()))
                .collect::<Vec<_>>()
        );
        assert_eq!(call(headers, false).await, 401, "{what}");
    }

    // An unknown or missing gateway answers as a bad key does (401, nothing to tell them
    // apart); an unknown environment is 403.
    let other_gw: Vec<(&str, &[u8])> = vec![
        ("x-gateway-id", b"gw-d4g5h6j7k8l9m0n1p2q3"),
        ("authorization", key.as_bytes()),
        ("x-original-uri", b"/v1/chat"),
    ];
    assert_eq!(check(&app, "/authz/check", &other_gw).await, 401);
    assert_eq!(check(&app, "/authz/check", &other_gw[1..]).await, 401);
    let bad_key: Vec<(&str, &[u8])> = vec![
        ("x-gateway-id", gw),
        (
            "authorization",
            b"Bearer gck_0000000000000000000000000000000000000000",
        ),
        ("x-original-uri", b"/v1/chat"),
    ];
    let unknown_gw = whole_answer(&app, &other_gw).await;
    let unknown_key = whole_answer(&app, &bad_key).await;
    assert_eq!(
        unknown_gw, unknown_key,
        "an unknown gateway must look like a bad key"
    );
    let env = vec![
        ("x-gateway-environment", b"nowhere".to_vec()),
        ("x-original-uri", b"/v1/chat".to_vec()),
    ];
    assert_eq!(call(env, true).await, 403);
    let env = vec![
        ("x-gateway-environment", w.environment.clone().into_bytes()),
        ("x-original-uri", b"/v1/chat".to_vec()),
    ];
    assert_eq!(call(env, true).await, 200);
}

#[tokio::test]
async fn in_an_envoy_deployment_the_path_comes_from_the_check_path_only() {
    let app = spawn_app_with(Settings {
        request_uri: RequestUriSource::Path,
        ..proxy_headers_trusted()
    })
    .await;
    let w = World::new(&app).await;
    let erin = w.holder(&app, "erin", true).await;
    let key = format!("Bearer {}", erin.key);
    let envoy = |extra: Option<(&'static str, &'static [u8])>| {
        let mut h: Vec<(&str, &[u8])> = vec![
            ("x-gateway-id", w.gateway.as_bytes()),
            ("authorization", key.as_bytes()),
        ];
        h.extend(extra);
        h
    };
    let started = Instant::now();
    while check(&app, "/authz/check/v1/chat/completions?x=1", &envoy(None)).await != 200 {
        assert!(started.elapsed() < PROPAGATION, "the baseline never passed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        check(&app, "/authz/check/v1/other", &envoy(None)).await,
        403
    );
    // A client's X-Original-URI changes nothing in this deployment.
    let forged = Some(("x-original-uri", &b"/v1/chat"[..]));
    assert_eq!(
        check(&app, "/authz/check/v1/other", &envoy(forged)).await,
        403
    );
    assert_eq!(check(&app, "/authz/check", &envoy(forged)).await, 403);
    assert_eq!(
        check(&app, "/authz/check/v1/chat/..;/x", &envoy(None)).await,
        403
    );

    // Every method is answered the same way (Envoy forwards the original one).
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"] {
        let res = reqwest::Client::new()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/authz/check/v1/chat", app.base),
            )
            .header("x-gateway-id", &w.gateway)
            .header("authorization", &key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{method}");
    }
}

/// Waits until the live snapshot has caught up with the database, then checks it equals a
/// snapshot loaded in full from the database.
async fn live_equals_full(app: &TestApp, gateway: &str, step: &str) {
    use gateway_console::enforce::snapshot::Snapshot;
    let latest: i64 = sqlx::query_scalar("SELECT revision FROM instances WHERE id = $1")
        .bind(gateway)
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    let started = Instant::now();
    while app.enforcer.revision(gateway) != Some(latest) {
        assert!(
            started.elapsed() < PROPAGATION,
            "{step}: the snapshot did not catch up in {PROPAGATION:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let slot = app.enforcer.snapshot(gateway).await.unwrap();
    let live = slot.read().canonical();
    let rows = gateway_console::store::snapshot::load(&app.db, gateway)
        .await
        .unwrap();
    let full = Snapshot::build(rows).canonical();
    assert_eq!(
        live, full,
        "{step}: the patched snapshot differs from a full load"
    );
}

#[tokio::test]
async fn patches_keep_the_snapshot_equal_to_a_full_load_through_every_kind_of_change() {
    let app = spawn_app().await;
    let w = World::new(&app).await;
    let gw = w.gateway.clone();
    // Load it once (the gateway is known from the next poll on).
    let started = Instant::now();
    while app.enforcer.snapshot(&gw).await.is_none() {
        assert!(
            started.elapsed() < PROPAGATION,
            "the new gateway never became known"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let loads = app.enforcer.stats().full_loads;
    if app.db.backend == gateway_console::store::Backend::Postgres {
        // Changes arrive by NOTIFY (the poll is then only every 2 s, too slow for the
        // 1-second checks below).
        let started = Instant::now();
        while !app.enforcer.is_listening() {
            assert!(
                started.elapsed() < PROPAGATION,
                "the PostgreSQL listener did not connect"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let erin = w.holder(&app, "erin", true).await;
    live_equals_full(&app, &gw, "consumer created in the group with a bound key").await;
    let frank = w.holder(&app, "frank", false).await;
    let rule = w.rule("Consumer", &frank.consumer, Some(now_ms() + 60_000));
    let created = w
        .call(&app, "POST", "/v1/authorization-rules", Some(rule))
        .await;
    let rule_id = created["consumerAuthorizationRuleId"]
        .as_str()
        .unwrap()
        .to_owned();
    live_equals_full(&app, &gw, "short-term rule for frank").await;
    let r = w
        .call(
            &app,
            "GET",
            &format!("/v1/authorization-rules/{rule_id}"),
            None,
        )
        .await;
    let body = json!({"expireMode": "LongTerm", "version": r["version"]});
    w.call(
        &app,
        "PUT",
        &format!("/v1/authorization-rules/{rule_id}"),
        Some(body),
    )
    .await;
    live_equals_full(&app, &gw, "rule made long-term").await;
    let key_path = format!("/v1/keys/{}", erin.key_id);
    w.call(
        &app,
        "POST",
        &format!("{key_path}/rotate"),
        Some(json!({"gracePeriodSeconds": 300})),
    )
    .await;
    live_equals_full(&app, &gw, "key rotated with grace").await;
    w.patch_key(
        &app,
        &key_path,
        json!({"enabled": false, "expiresAt": now_ms() + 5_000}),
    )
    .await;
    live_equals_full(&app, &gw, "key disabled with an expiry").await;
    let g = w
        .call(
            &app,
            "GET",
            &format!("/v1/consumer-groups/{}", w.group),
            None,
        )
        .await;
    let off = json!({"enabled": false, "version": g["version"]});
    w.call(
        &app,
        "PUT",
        &format!("/v1/consumer-groups/{}/status", w.group),
        Some(off),
    )
    .await;
    live_equals_full(&app, &gw, "group disabled").await;
    let join = json!({"consumerGroupId": w.group});
    w.call(
        &app,
        "POST",
        &format!("/v1/consumers/{}/groups", frank.consumer),
        Some(join),
    )
    .await;
    w.call(
        &app,
        "DELETE",
        &format!("/v1/consumers/{}/groups/{}", erin.consumer, w.group),
        None,
    )
    .await;
    live_equals_full(&app, &gw, "memberships changed").await;
    let hmac = |consumer: &str, name: &str| json!({"consumerId": consumer, "name": name, "method": "Hmac"});
    let made = w
        .call(
            &app,
            "POST",
            "/v1/credentials",
            Some(hmac(&frank.consumer, "frank-signing")),
        )
        .await;
    let cred_path = format!(
        "/v1/credentials/{}",
        made["credential"]["credentialId"].as_str().unwrap()
    );
    let made = w
        .call(
            &app,
            "POST",
            "/v1/credentials",
            Some(hmac(&erin.consumer, "erin-signing")),
        )
        .await;
    let erin_cred = format!(
        "/v1/credentials/{}",
        made["credential"]["credentialId"].as_str().unwrap()
    );
    live_equals_full(&app, &gw, "HMAC credentials made").await;
    let rotated = w
        .call(
            &app,
            "POST",
            &format!("{cred_path}/rotate"),
            Some(json!({"gracePeriodSeconds": 300})),
        )
        .await;
    live_equals_full(&app, &gw, "HMAC credential rotated with grace").await;
    let off = json!({"enabled": false, "version": rotated["credential"]["version"]});
    w.call(&app, "PATCH", &cred_path, Some(off)).await;
    live_equals_full(&app, &gw, "HMAC credential disabled").await;
    let jwt = json!({"consumerId": frank.consumer, "name": "frank-jwt", "method": "Jwt",
        "jwt": {"issuer": "https://idp.example", "keySource": "GeneratedSecret"}});
    let made = w.call(&app, "POST", "/v1/credentials", Some(jwt)).await;
    let jwt_path = format!(
        "/v1/credentials/{}",
        made["credential"]["credentialId"].as_str().unwrap()
    );
    let public = std::fs::read_to_string("tests/fixtures/jwt/es256-public.pem").unwrap();
    let jwt = json!({"consumerId": erin.consumer, "name": "erin-jwt", "method": "Jwt",
        "jwt": {"issuer": "https://idp.example", "keySource": "PublicKey", "publicKey": public, "algorithms": ["ES256"]}});
    let made = w.call(&app, "POST", "/v1/credentials", Some(jwt)).await;
    let erin_jwt = format!(
        "/v1/credentials/{}",
        made["credential"]["credentialId"].as_str().unwrap()
    );
    live_equals_full(&app, &gw, "JWT credentials made").await;
    w.call(
        &app,
        "POST",
        &format!("{jwt_path}/rotate"),
        Some(json!({"gracePeriodSeconds": 300})),
    )
    .await;
    live_equals_full(&app, &gw, "JWT secret rotated with grace").await;
    let c = w
        .call(
            &app,
            "GET",
            &format!("/v1/consumers/{}", frank.consumer),
            None,
        )
        .await;
    let off = json!({"enabled": false, "version": c["version"]});
    w.call(
        &app,
        "PUT",
        &format!("/v1/consumers/{}/status", frank.consumer),
        Some(off),
    )
    .await;
    live_equals_full(&app, &gw, "consumer disabled").await;
    w.call(
        &app,
        "DELETE",
        &format!("/v1/authorization-rules/{rule_id}"),
        None,
    )
    .await;
    live_equals_full(&app, &gw, "rule revoked").await;
    // Erin: unbind, delete the key, delete the consumer.
    w.call(
        &app,
        "DELETE",
        &format!(
            "/v1/consumers/{}/credentials/{}",
            erin.consumer, erin.key_id
        ),
        None,
    )
    .await;
    w.call(&app, "DELETE", &key_path, None).await;
    w.call(&app, "DELETE", &erin_cred, None).await;
    w.call(&app, "DELETE", &erin_jwt, None).await;
    w.call(
        &app,
        "DELETE",
        &format!("/v1/consumers/{}", erin.consumer),
        None,
    )
    .await;
    live_equals_full(&app, &gw, "consumer, key and credential deleted").await;
    let stats = app.enforcer.stats();
    assert_eq!(
        stats.full_loads, loads,
        "a consumer, key, credential, group or rule change caused a full load"
    );
    assert!(stats.patches >= 8, "{stats:?}");

    // A model API change is structural: a full load.
    let api = json!({
        "gatewayId": w.gateway, "name": "embeddings", "basePath": "/v1/embeddings",
        "aiProtocols": ["OpenAI/v1"], "modelCategory": "Embedding",
        "description": "", "environmentIds": [w.environment]
    });
    w.call(&app, "POST", "/v1/model-apis", Some(api)).await;
    live_equals_full(&app, &gw, "model API added").await;
    assert_eq!(app.enforcer.stats().full_loads, loads + 1);
}

#[tokio::test]
async fn a_replica_that_cannot_confirm_its_snapshot_stops_granting_and_says_why() {
    let app = spawn_app_with(Settings {
        max_staleness: Duration::from_secs(1),
        ..proxy_headers_trusted()
    })
    .await;
    let w = World::new(&app).await;
    let erin = w.holder(&app, "erin", true).await;
    let key = format!("Bearer {}", erin.key);
    let headers: Vec<(&str, &[u8])> = vec![
        ("x-gateway-id", w.gateway.as_bytes()),
        ("authorization", key.as_bytes()),
        ("x-original-uri", b"/v1/chat"),
    ];
    let started = Instant::now();
    while check(&app, "/authz/check", &headers).await != 200 {
        assert!(started.elapsed() < PROPAGATION, "the baseline never passed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(ready.status(), 200);

    // The database goes away: the snapshot still answers until the allowed staleness has
    // passed, then every check is refused and readiness says why.
    app.db.pool.close().await;
    let lost = Instant::now();
    loop {
        let status = check(&app, "/authz/check", &headers).await;
        if status == 503 {
            break;
        }
        assert_eq!(
            status, 200,
            "before the staleness limit the last snapshot answers"
        );
        assert!(
            lost.elapsed() < Duration::from_secs(4),
            "still granting {:?} after the database went away",
            lost.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(lost.elapsed() >= Duration::from_millis(500));
    let ready = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(ready.status(), 503);
    let why = ready.text().await.unwrap();
    assert!(why.contains("enforcement snapshots unconfirmed"), "{why}");
}

#[tokio::test]
async fn a_replica_is_ready_only_once_its_gateway_is_in_memory() {
    let app = spawn_app().await;
    let w = World::new(&app).await;
    let alice = w.holder(&app, "preloaded", true).await;
    // Enough rows that loading them takes a moment: 20,000 consumers with bound keys.
    let holder = app.db.pool.begin().await.unwrap();
    let mut tx = holder;
    for chunk in 0..40 {
        let (mut consumers, mut keys) = (vec![], vec![]);
        for i in chunk * 500..(chunk + 1) * 500 {
            let (c, k) = (format!("cs-bulk{i:015}"), format!("key-bulk{i:014}"));
            consumers.push(format!(
                "('{c}', '{}', 'bulk-{i}', 'bulk-{i}', '', 0, 0, 1)",
                w.gateway
            ));
            keys.push(format!(
                "('{k}', '{}', 'bulk-{i}', 'bulk-{i}', 'gck_', 'h{i:063}', '{c}', 1, 0, 0, 1)",
                w.gateway
            ));
        }
        for sql in [
            format!("INSERT INTO consumers (id, instance_id, name, name_key, description, created_at, updated_at, version) VALUES {}", consumers.join(",")),
            format!("INSERT INTO api_keys (id, instance_id, name, name_key, prefix, key_hash, consumer_id, enabled, created_at, updated_at, version) VALUES {}", keys.join(",")),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&mut *tx).await.unwrap();
        }
    }
    tx.commit().await.unwrap();

    let replica = common::spawn_app_on(
        &app,
        Settings {
            instance_id: Some(w.gateway.clone()),
            ..Settings::default()
        },
    )
    .await;
    let (mut not_ready, started) = (0, Instant::now());
    loop {
        let res = reqwest::get(format!("{}/readyz", replica.base))
            .await
            .unwrap();
        if res.status() == 200 {
            assert!(
                replica.enforcer.revision(&w.gateway).is_some(),
                "ready before the gateway's snapshot was loaded"
            );
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(res.text().await.unwrap().contains("loading"));
        not_ready += 1;
        assert!(started.elapsed() < Duration::from_secs(30), "never ready");
    }
    eprintln!("readyz said 503 {not_ready} times while 20,000 keys loaded");
    let allowed = reqwest::Client::new()
        .get(format!("{}/authz/check", replica.base))
        .header("x-original-uri", "/v1/chat/completions")
        .header("x-api-key", &alice.key)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}
