//! The console's defences, each tried as an attacker would: cross-site requests, sign-in
//! floods and guesses, hostile `next` targets, paths the router and the session layer could
//! read differently, tokens and sessions that must end, and the response headers.

use crate::common::{client, spawn_app, spawn_app_web, TestApp, ADMIN_PASSWORD, VIEWER_PASSWORD};
use gateway_console::state::WebSettings;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const EVIL: &str = "https://intranet-wiki.example.com";

/// Posts to a server function with the victim's cookies and the given extra headers.
async fn post(
    app: &TestApp,
    c: &reqwest::Client,
    name: &str,
    content_type: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> u16 {
    let mut req = c
        .post(format!("{}/api/{name}", app.base))
        .header("content-type", content_type)
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    req.send().await.unwrap().status().as_u16()
}

async fn account_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM accounts")
        .fetch_one(&app.db.pool)
        .await
        .unwrap()
}

/// A signed-in admin's cookie jar with no default `Origin`, as a victim's browser has.
async fn victim(app: &TestApp) -> reqwest::Client {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let c = reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = c
        .post(format!("{}/api/sign_in", app.base))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    c
}

#[tokio::test]
async fn cross_site_requests_change_nothing() {
    let app = spawn_app().await;
    let c = victim(&app).await;
    let before = account_count(&app).await;
    let form = "application/x-www-form-urlencoded";
    let create = "username=intruder&password=intruder-password-1&role=Admin";

    // The reproduced attack: a form on another site posts with the victim's cookie.
    assert_eq!(
        post(
            &app,
            &c,
            "create_account",
            form,
            create,
            &[("origin", EVIL)]
        )
        .await,
        403
    );
    // No Origin and no Sec-Fetch-Site; a cross-site fetch; an opaque origin.
    assert_eq!(
        post(&app, &c, "create_account", form, create, &[]).await,
        403
    );
    let cross = [("sec-fetch-site", "cross-site")];
    assert_eq!(
        post(&app, &c, "create_account", form, create, &cross).await,
        403
    );
    let same_site = [("sec-fetch-site", "same-site")];
    assert_eq!(
        post(&app, &c, "create_account", form, create, &same_site).await,
        403
    );
    let null = [("origin", "null")];
    assert_eq!(
        post(&app, &c, "create_account", form, create, &null).await,
        403
    );
    let lookalike = format!("{}.evil.example", app.base);
    let lookalike = [("origin", lookalike.as_str())];
    assert_eq!(
        post(&app, &c, "create_account", form, create, &lookalike).await,
        403
    );
    assert_eq!(account_count(&app).await, before, "an account was created");

    // A text/plain JSON body (a form can send one cross-site without asking) is refused
    // even from the console's own origin.
    let own = [("origin", app.base.as_str())];
    let consumer = r#"{"input":{"gatewayId":"gw-d4g5h6j7k8l9m0n1p2q3","name":"x","consumerGroupIds":[],"keyIds":[],"description":""}}"#;
    assert_eq!(
        post(&app, &c, "create_consumer", "text/plain", consumer, &own).await,
        415
    );
    assert_eq!(
        post(
            &app,
            &c,
            "create_consumer",
            "text/plain",
            consumer,
            &[("origin", EVIL)]
        )
        .await,
        403
    );
    let rotate = "key_id=key-d4g5h6j7k8l9m0n1p2q3&grace_period_seconds=0";
    assert_eq!(
        post(&app, &c, "rotate_key", "text/plain", rotate, &own).await,
        415
    );
    assert_eq!(
        post(
            &app,
            &c,
            "rotate_key",
            "multipart/form-data; boundary=x",
            rotate,
            &own
        )
        .await,
        415
    );

    // Sign-out and sign-in are state changes too.
    assert_eq!(
        post(&app, &c, "sign_out", form, "", &[("origin", EVIL)]).await,
        403
    );
    let creds = format!("username=admin&password={ADMIN_PASSWORD}");
    assert_eq!(
        post(
            &app,
            &client(),
            "sign_in",
            form,
            &creds,
            &[("origin", EVIL)]
        )
        .await,
        403
    );

    // The REST API with the session cookie: the same rule. With a bearer token the browser
    // cannot send cross-site, so it needs no Origin.
    let gw = json!({"name": "csrf", "region": "local", "engineVersion": "1", "description": ""});
    let res = c
        .post(format!("{}/v1/gateways", app.base))
        .header("origin", EVIL)
        .json(&gw)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "Forbidden.CrossOrigin");
    let token = app.token("admin").await;
    let r = app
        .rest(Some(&token), "POST", "/v1/gateways", Some(gw))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // The console's own pages still work: same origin, or a same-origin fetch without Origin.
    assert_eq!(
        post(&app, &c, "create_account", form, create, &own).await,
        200
    );
    let same = [("sec-fetch-site", "same-origin")];
    let viewer = "username=watcher&password=watcher-password-1&role=Viewer";
    assert_eq!(
        post(&app, &c, "create_account", form, viewer, &same).await,
        200
    );
    assert_eq!(account_count(&app).await, before + 2);
}

#[tokio::test]
async fn behind_a_reverse_proxy_the_public_origin_is_the_only_one() {
    let app = spawn_app_web(WebSettings {
        public_origin: Some("https://console.example.com".into()),
        ..WebSettings::default()
    })
    .await;
    let form = "application/x-www-form-urlencoded";
    let creds = format!("username=admin&password={ADMIN_PASSWORD}");
    let c = client();
    let own_host = [("origin", app.base.as_str())];
    assert_eq!(
        post(&app, &c, "sign_in", form, &creds, &own_host).await,
        403
    );
    let public = [("origin", "https://console.example.com")];
    let status = post(&app, &c, "sign_in", form, &creds, &public).await;
    assert!(status == 200 || status == 302 || status == 303, "{status}");
}

/// Signs in from `client` (an address given by `X-Forwarded-For` when the console trusts the
/// loopback proxy); returns the status.
async fn sign_in_from(app: &TestApp, forwarded: Option<&str>, user: &str, password: &str) -> u16 {
    let mut req = client()
        .post(format!("{}/api/sign_in", app.base))
        .header("origin", &app.base)
        .header("accept", "application/json")
        .form(&[("username", user), ("password", password)]);
    if let Some(f) = forwarded {
        req = req.header("x-forwarded-for", f);
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_limit_nor_lock_the_admin_out_elsewhere() {
    let app = spawn_app_web(WebSettings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..WebSettings::default()
    })
    .await;
    let attacker = Some("203.0.113.66");
    let guesses: Vec<_> = (0..30)
        .map(|i| {
            let app = &app;
            async move { sign_in_from(app, attacker, "admin", &format!("guess-number-{i}")).await }
        })
        .collect();
    let answers = futures_join(guesses).await;
    let evaluated = answers.iter().filter(|s| **s == 400).count();
    let throttled = answers.iter().filter(|s| **s == 429).count();
    assert_eq!(evaluated + throttled, 30, "{answers:?}");
    assert!(
        evaluated <= 5,
        "{evaluated} of 30 parallel guesses were checked: {answers:?}"
    );
    // The attacker's address is done for this account; the real admin elsewhere is not.
    assert_eq!(
        sign_in_from(&app, attacker, "admin", ADMIN_PASSWORD).await,
        429
    );
    assert_eq!(
        sign_in_from(&app, Some("198.51.100.7"), "admin", ADMIN_PASSWORD).await,
        200
    );
    // An IPv6 client is one client across its /64.
    for i in 0..5 {
        let from = format!("2001:db8:5:6::{i:x}");
        assert_eq!(
            sign_in_from(&app, Some(&from), "viewer", "wrong-password").await,
            400
        );
    }
    let same_64 = Some("2001:db8:5:6:ffff::1");
    assert_eq!(
        sign_in_from(&app, same_64, "viewer", VIEWER_PASSWORD).await,
        429
    );
    let other_64 = Some("2001:db8:5:7::1");
    assert_eq!(
        sign_in_from(&app, other_64, "viewer", VIEWER_PASSWORD).await,
        200
    );
}

#[tokio::test]
async fn forwarded_addresses_are_ignored_unless_the_proxy_is_trusted() {
    let app = spawn_app().await;
    for i in 0..5 {
        let spoofed = format!("198.51.100.{i}");
        assert_eq!(
            sign_in_from(&app, Some(&spoofed), "admin", "wrong-password").await,
            400
        );
    }
    // All five came from 127.0.0.1, whatever they claimed.
    assert_eq!(
        sign_in_from(&app, Some("192.0.2.1"), "admin", ADMIN_PASSWORD).await,
        429
    );
}

/// `futures::join_all` without the dependency: runs the futures concurrently on this task.
async fn futures_join<F: std::future::Future<Output = u16>>(futures: Vec<F>) -> Vec<u16> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut out = vec![0; set.len()];
    let mut done = vec![false; set.len()];
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            match f.as_mut().poll(cx) {
                std::task::Poll::Ready(v) => {
                    out[i] = v;
                    done[i] = true;
                }
                std::task::Poll::Pending => pending = true,
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out
}

/// The time of one refused sign-in of `user` from `from` (a forwarded address, so that no
/// limit interferes).
async fn timed_sign_in(app: &TestApp, user: &str, from: &str) -> Duration {
    let started = Instant::now();
    let status = sign_in_from(app, Some(from), user, "not-the-password").await;
    assert_eq!(status, 400, "{user}");
    started.elapsed()
}

#[tokio::test]
async fn unknown_and_disabled_accounts_cost_what_a_real_one_does() {
    let app = spawn_app_web(WebSettings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..WebSettings::default()
    })
    .await;
    let token = app.token("admin").await;
    let t = Some(token.as_str());
    let id = account_id(&app, t, "viewer").await;
    let off = json!({"enabled": false});
    let r = app
        .rest(t, "PUT", &format!("/v1/accounts/{id}/status"), Some(off))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // What one password check costs on this machine at its least busy, computed right here
    // (not through the server's hashing queue, which other tests share): a sign-in that
    // checks one can only take longer (load slows it down, never speeds it up; a third of
    // it leaves room for this measurement itself being slowed), while one that skips it
    // answers in the time of a query.
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    let hash = gateway_console::service::passwords::hash("some-password-1")
        .await
        .unwrap();
    let mut one_check = Duration::MAX;
    for _ in 0..5 {
        let hash = hash.clone();
        let took = tokio::task::spawn_blocking(move || {
            let parsed = PasswordHash::new(&hash).unwrap();
            let started = Instant::now();
            let _ = argon2::Argon2::default().verify_password(b"another-password", &parsed);
            started.elapsed()
        })
        .await
        .unwrap();
        one_check = one_check.min(took);
    }
    timed_sign_in(&app, "nobody-at-all", "192.0.2.1").await;
    for (i, user) in ["admin", "nobody-at-all", "viewer"].iter().enumerate() {
        let mut times = Vec::new();
        for round in 0..3 {
            let from = format!("192.0.2.{}", 10 + i * 3 + round);
            times.push(timed_sign_in(&app, user, &from).await);
        }
        let fastest = times.into_iter().min().unwrap();
        assert!(
            fastest * 3 >= one_check,
            "{user}: a refused sign-in took {fastest:?}, one password check {one_check:?}"
        );
    }
}

#[tokio::test]
async fn after_sign_in_only_a_local_path_is_followed_and_nothing_panics() {
    let app = spawn_app_web(WebSettings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..WebSettings::default()
    })
    .await;
    let hostile = [
        "//evil.example/x",
        "/\\evil.example",
        "/\t/evil.example/x",
        "/\n",
        "/\r\nSet-Cookie: a=b",
        "https://evil.example",
        "/%2F%2Fevil.example",
        "/%09/evil.example",
        "/%0a",
        "javascript:alert(1)",
    ];
    for (i, next) in hostile.iter().enumerate() {
        for accept in ["application/json", "text/html"] {
            let from = format!("192.0.2.{}", 100 + i);
            let res = client()
                .post(format!("{}/api/sign_in", app.base))
                .header("origin", &app.base)
                .header("accept", accept)
                .header("x-forwarded-for", &from)
                .form(&[
                    ("username", "admin"),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ])
                .send()
                .await
                .unwrap_or_else(|e| panic!("{next:?}: the connection dropped: {e}"));
            let location = res
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_owned())
                .unwrap_or_default();
            assert!(res.status().as_u16() < 500, "{next:?}: {}", res.status());
            assert_eq!(location, "/instances", "{next:?} ({accept})");
        }
    }
    // A failed sign-in without JavaScript goes back to the form with a safe `next`.
    let res = client()
        .post(format!("{}/api/sign_in", app.base))
        .header("origin", &app.base)
        .header("accept", "text/html")
        .header("x-forwarded-for", "192.0.2.200")
        .form(&[
            ("username", "admin"),
            ("password", "wrong"),
            ("next", "//evil"),
        ])
        .send()
        .await
        .unwrap();
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(location, "/login?error=failed&next=%2Finstances");
}

/// Sends a raw request line (no client normalises its path) and returns the status.
async fn raw_get(app: &TestApp, path: &str, cookie: Option<&str>) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{cookie}Connection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let head = String::from_utf8_lossy(&buf);
    head.split(' ').nth(1).unwrap_or("0").parse().unwrap_or(0)
}

#[tokio::test]
async fn the_session_layer_decides_on_the_path_the_router_serves() {
    let app = spawn_app().await;
    for path in [
        "/pkg/../instances",
        "/pkg/%2e%2e/instances",
        "/pkg/./../instances",
        "//instances",
        "/login/../instances",
        "/healthz/..%2finstances",
        "/instances;x=1",
        "/pkg\\..\\instances",
    ] {
        let status = raw_get(&app, path, None).await;
        assert!(
            status == 400 || status == 303 || status == 404,
            "{path}: {status} (a console page without a session?)"
        );
        assert_ne!(status, 200, "{path}");
    }
    assert_eq!(raw_get(&app, "/instances", None).await, 303);
    assert_eq!(raw_get(&app, "/healthz", None).await, 200);
}

async fn account_id(app: &TestApp, t: Option<&str>, username: &str) -> String {
    app.rest(t, "GET", "/v1/accounts", None).await.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["username"] == username)
        .unwrap()["accountId"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn a_password_reset_or_a_disable_revokes_the_accounts_tokens() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    let id = account_id(&app, t, "viewer").await;

    let before_reset = app.token("viewer").await;
    assert_eq!(
        app.rest(Some(&before_reset), "GET", "/v1/gateways", None)
            .await
            .status,
        200
    );
    let reset = json!({"password": "a-brand-new-password"});
    let r = app
        .rest(
            t,
            "PUT",
            &format!("/v1/accounts/{id}/password"),
            Some(reset),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        app.rest(Some(&before_reset), "GET", "/v1/gateways", None)
            .await
            .status,
        401
    );

    let before_disable = app.token("viewer").await;
    let path = format!("/v1/accounts/{id}/status");
    app.rest(t, "PUT", &path, Some(json!({"enabled": false})))
        .await;
    app.rest(t, "PUT", &path, Some(json!({"enabled": true})))
        .await;
    let r = app
        .rest(Some(&before_disable), "GET", "/v1/gateways", None)
        .await;
    assert_eq!(
        r.status, 401,
        "a token came back with its re-enabled account"
    );
    let audit: Vec<String> = sqlx::query_scalar(
        "SELECT summary FROM audit_events WHERE resource_id = $1 AND action IN ('ResetAccountPassword', 'DisableAccount')",
    )
    .bind(&id)
    .fetch_all(&app.db.pool)
    .await
    .unwrap();
    assert_eq!(audit.len(), 2, "{audit:?}");
    assert!(
        audit.iter().all(|s| s.contains("tokens_revoked=1")),
        "{audit:?}"
    );
}

/// The caller's token `id` as the token list shows it.
async fn listed_token(app: &TestApp, t: Option<&str>, id: &str) -> Value {
    let listed = app.rest(t, "GET", "/v1/tokens", None).await;
    listed.body["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tokenId"] == id)
        .unwrap()
        .clone()
}

#[tokio::test]
async fn tokens_expire_when_their_creator_chose() {
    let app = spawn_app().await;
    let admin = app.token("admin").await;
    let t = Some(admin.as_str());
    for bad in [json!(0), json!(366), json!(-1), json!("soon")] {
        let body = json!({"name": "bad", "expiresInDays": bad});
        let r = app.rest(t, "POST", "/v1/tokens", Some(body)).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
    }
    let now = gateway_console::store::now_ms();
    let made = app
        .rest(t, "POST", "/v1/tokens", Some(json!({"name": "ci"})))
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    let expires = made.body["data"]["token"]["expiresAt"].as_i64().unwrap();
    let day = 24 * 60 * 60 * 1000;
    assert!(
        (expires - (now + 90 * day)).abs() < 60_000,
        "default is 90 days"
    );
    let short = json!({"name": "short", "expiresInDays": 7});
    let short = app.rest(t, "POST", "/v1/tokens", Some(short)).await;
    let value = short.body["data"]["value"].as_str().unwrap().to_owned();
    let id = short.body["data"]["token"]["tokenId"]
        .as_str()
        .unwrap()
        .to_owned();
    let row = listed_token(&app, t, &id).await;
    assert_eq!(row["expired"], false);
    assert!((row["expiresAt"].as_i64().unwrap() - (now + 7 * day)).abs() < 60_000);

    // Its time comes: it stops working and the list says why.
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE id = $2")
        .bind(now - 1)
        .bind(&id)
        .execute(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(
        app.rest(Some(&value), "GET", "/v1/gateways", None)
            .await
            .status,
        401
    );
    let row = listed_token(&app, t, &id).await;
    assert_eq!(row["expired"], true);
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old_and_the_dead_are_purged() {
    let app = spawn_app().await;
    let minute = 60_000;
    for (column, age) in [("last_seen_at", 61 * minute), ("expires_at", 0)] {
        let c = app.admin().await;
        assert_eq!(app.call_form(&c, "whoami", &[]).await.0, 200);
        let now = gateway_console::store::now_ms();
        let sql = format!("UPDATE sessions SET {column} = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now - age)
            .execute(&app.db.pool)
            .await
            .unwrap();
        assert_eq!(app.call_form(&c, "whoami", &[]).await.0, 401, "{column}");
    }
    // A session in use stays; what is dead is purged with old failures and tokens.
    let live = app.admin().await;
    let _ = app
        .call_form(
            &client(),
            "sign_in",
            &[("username", "admin"), ("password", "x")],
        )
        .await;
    let expired_token = app.token("viewer").await;
    let now = gateway_console::store::now_ms();
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE account_id = (SELECT id FROM accounts WHERE username = 'viewer')")
        .bind(now - 8 * 24 * 60 * minute)
        .execute(&app.db.pool)
        .await
        .unwrap();
    let count = |sql: &'static str| {
        let pool = app.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count("SELECT COUNT(*) FROM sessions").await, 3);
    let later = now + 16 * minute;
    gateway_console::service::auth::purge(&app.db, later)
        .await
        .unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM login_failures").await, 0);
    assert_eq!(
        count("SELECT COUNT(*) FROM api_tokens t JOIN accounts a ON a.id = t.account_id WHERE a.username = 'viewer'").await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM sessions").await,
        1,
        "only the live one stays"
    );
    assert_eq!(app.call_form(&live, "whoami", &[]).await.0, 200);
    let _ = expired_token;
}

#[tokio::test]
async fn every_page_sends_the_security_headers_and_a_nonce_for_its_scripts() {
    let app = spawn_app().await;
    let res = client()
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    let h = res.headers().clone();
    let html = res.text().await.unwrap();
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|r| r.split('\'').next())
        .unwrap_or_else(|| panic!("no nonce in {csp}"));
    assert!(nonce.len() >= 16, "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"));
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the scripts carry no nonce"
    );
    for tag in html.split("<script").skip(1) {
        assert!(
            tag.contains(&format!("nonce=\"{nonce}\"")),
            "a script without the nonce: {tag:.80}"
        );
    }
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "same-origin");
    assert!(h.get("strict-transport-security").is_none());
    let other = client()
        .get(format!("{}/login", app.base))
        .send()
        .await
        .unwrap();
    assert_ne!(
        other.headers()["content-security-policy"],
        csp.as_str(),
        "the nonce repeats"
    );
    for path in ["/healthz", "/v1/gateways", "/v1/openapi.json", "/v1/docs"] {
        let res = client()
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .unwrap();
        let h = res.headers();
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
    }

    let https = spawn_app_web(WebSettings {
        secure_cookies: true,
        ..WebSettings::default()
    })
    .await;
    let res = client()
        .post(format!("{}/api/sign_in", https.base))
        .header("origin", &https.base)
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .starts_with("max-age="));
    let cookie = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-gc_session=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(
        cookie.contains("Path=/") && !cookie.contains("Domain"),
        "{cookie}"
    );
}

#[tokio::test]
async fn a_client_chosen_request_id_is_kept_only_when_short_and_plain() {
    let app = spawn_app().await;
    let id_of = |sent: &'static str| {
        let base = app.base.clone();
        async move {
            let res = client()
                .get(format!("{base}/healthz"))
                .header("x-request-id", sent)
                .send()
                .await
                .unwrap();
            res.headers()["x-request-id"].to_str().unwrap().to_owned()
        }
    };
    assert_eq!(
        id_of("trace-0123456789abcdef").await,
        "trace-0123456789abcdef"
    );
    for hostile in [
        "a b",
        "<script>",
        "'; DROP TABLE audit_events; --",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    ] {
        let got = id_of(hostile).await;
        assert_ne!(got, hostile);
        assert!(got.len() <= 64 && got.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    }
}

/// The real binary, started on an empty database without a first-Admin password.
struct Binary {
    child: std::process::Child,
    base: String,
    dir: tempfile::TempDir,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    async fn start() -> Binary {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = |name: &str| std::fs::File::create(dir.path().join(name)).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_gateway-console"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite:{}/console.db", dir.path().display()),
            )
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "CONSOLE_ADMIN_PASSWORD_FILE",
                dir.path().join("first-admin.txt"),
            )
            .env("CONSOLE_LOG_FORMAT", "json")
            .env("RUST_LOG", "debug")
            .stdout(log("stdout.log"))
            .stderr(log("stderr.log"))
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{base}/healthz")).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the binary did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Binary { child, base, dir }
    }

    fn output(&self) -> String {
        ["stdout.log", "stderr.log"]
            .iter()
            .map(|f| std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default())
            .collect()
    }
}

#[tokio::test]
async fn no_secret_reaches_the_log() {
    use std::os::unix::fs::PermissionsExt;
    let bin = Binary::start().await;
    let file = bin.dir.path().join("first-admin.txt");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the password file is readable by others"
    );
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(password.len() >= 16);

    let sign_in = |username: &'static str, password: String| {
        let base = bin.base.clone();
        async move {
            client()
                .post(format!("{base}/api/sign_in"))
                .header("origin", &base)
                .header("accept", "application/json")
                .form(&[("username", username), ("password", password.as_str())])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // Someone types their password into the username field.
    let typed = "Hunter2-is-my-password";
    assert_eq!(sign_in(typed, "whatever-else".into()).await, 400);
    assert_eq!(sign_in("admin", password.clone()).await, 200);

    let output = bin.output();
    assert!(
        output.contains("first Admin"),
        "the log says where the password is: {output}"
    );
    assert!(output.contains("signed in"), "{output}");
    assert!(
        !output.contains(&password),
        "the first Admin's password is in the log"
    );
    assert!(!output.contains(typed), "a refused username is in the log");
    // Nor in the database, where failed attempts are counted.
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite:{}",
        bin.dir.path().join("console.db").display()
    ))
    .await
    .unwrap();
    let subjects: Vec<String> = sqlx::query_scalar("SELECT subject FROM login_failures")
        .fetch_all(&db)
        .await
        .unwrap();
    assert!(!subjects.is_empty());
    assert!(
        subjects
            .iter()
            .all(|s| !s.to_lowercase().contains("hunter2")),
        "{subjects:?}"
    );
}
