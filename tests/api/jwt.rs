//! JWT credentials: made over REST with a public key (PEM or JWK) or a generated HS256
//! secret shown once; the check lets a valid token through as its consumer and refuses every
//! bad one (signature, algorithm confusion, `alg: none`, issuer, audience, times, lifetime,
//! unknown subject) with the same 401, directly and through nginx; a JWKS URL served by the
//! test is fetched, followed through a key rotation and kept through an outage.

use crate::access::gateway;
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_with, TestApp};
use crate::enforcement::{console_addr, Nginx};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ISSUER: &str = "https://idp.example";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("tests/fixtures/jwt/{name}")).unwrap()
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// Claims that the ES256 credential below accepts, changed by `f`.
fn claims(sub: &str, f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let t = now();
    let mut c = json!({"iss": ISSUER, "aud": "gateway", "sub": sub, "iat": t, "exp": t + 600});
    f(c.as_object_mut().unwrap());
    c
}

fn es256(claims: &Value) -> String {
    let key = EncodingKey::from_ec_pem(fixture("es256-private.pem").as_bytes()).unwrap();
    encode(&Header::new(Algorithm::ES256), claims, &key).unwrap()
}

fn hs256(secret: &str, claims: &Value) -> String {
    let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
    encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
}

/// The check's status for a bearer token, as nginx forwards it.
async fn check(app: &TestApp, gw: &str, token: &str) -> (u16, Option<String>, String) {
    let res = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gw)
        .header("x-original-uri", "/v1/chat/completions")
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let name = res
        .headers()
        .get("x-consumer-name")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, name, res.text().await.unwrap())
}

/// Polls until `token` gets `want` (a change reaches the snapshot shortly after it commits).
async fn until(app: &TestApp, gw: &str, token: impl Fn() -> String, want: u16, what: &str) {
    let started = Instant::now();
    loop {
        let (got, _, _) = check(app, gw, &token()).await;
        if got == want {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: still {got}, expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create(
    app: &TestApp,
    t: &str,
    consumer: &str,
    name: &str,
    jwt: Value,
) -> crate::common::Rest {
    app.rest(
        Some(t),
        "POST",
        "/v1/credentials",
        Some(json!({"consumerId": consumer, "name": name, "method": "Jwt", "jwt": jwt})),
    )
    .await
}

#[tokio::test]
async fn a_jwt_credential_with_a_public_key_lets_valid_tokens_through_and_refuses_every_bad_one_alike(
) {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "jwt-public-gw").await;

    // Bad settings: specific errors, nothing made.
    let public = fixture("es256-public.pem");
    for (jwt, code) in [
        (
            json!({"keySource": "PublicKey", "publicKey": public, "algorithms": ["ES256"]}),
            "InvalidParameter.Issuer",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "algorithms": ["ES256"]}),
            "InvalidParameter.PublicKey",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "publicKey": fixture("es256-private.pem"), "algorithms": ["ES256"]}),
            "InvalidParameter.PublicKey",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "publicKey": public, "algorithms": ["RS256"]}),
            "InvalidParameter.PublicKey",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "publicKey": public, "algorithms": ["HS256"]}),
            "InvalidParameter.Algorithms",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "publicKey": public, "algorithms": ["none"]}),
            "InvalidParameter.Algorithms",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "PublicKey", "publicKey": public, "algorithms": ["ES256"], "maxLifetimeSecs": 0}),
            "InvalidParameter.MaxLifetime",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "GeneratedSecret", "algorithms": ["RS256"]}),
            "InvalidParameter.Algorithms",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "JwksUrl"}),
            "InvalidParameter.JwksUrl",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "JwksUrl", "jwksUrl": "http://idp.example/jwks"}),
            "InvalidParameter.JwksUrl",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "JwksUrl", "jwksUrl": "https://idp.example/jwks", "jwksRefreshSecs": 5}),
            "InvalidParameter.JwksRefresh",
        ),
        (
            json!({"issuer": ISSUER, "keySource": "JwksUrl", "jwksUrl": "https://idp.example/jwks", "algorithms": ["HS256"]}),
            "InvalidParameter.Algorithms",
        ),
    ] {
        refused(
            &create(&app, &admin, &gw.alice, "alice-jwt", jwt).await,
            400,
            code,
        );
    }
    let listed = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/credentials?consumerId={}", gw.alice),
            None,
        )
        .await;
    assert_eq!(ok(&listed).as_array().unwrap().len(), 0);

    // alice's tokens: ES256 from the identity provider, `sub` = her name (the default).
    let made = create(
        &app,
        &admin,
        &gw.alice,
        "alice-jwt",
        json!({"issuer": ISSUER, "audience": "gateway", "keySource": "PublicKey",
               "publicKey": public, "algorithms": ["ES256"], "maxLifetimeSecs": 3600, "clockSkewSecs": 30}),
    )
    .await;
    let made = ok(&made).clone();
    assert_eq!(made["secret"], "", "a public key has no secret to show");
    let jwt = &made["credential"]["jwt"];
    assert_eq!(jwt["subject"], "alice");
    assert_eq!(jwt["consumerClaim"], "sub");
    assert_eq!(jwt["algorithms"], json!(["ES256"]));
    assert_eq!(jwt["keySource"], "PublicKey");
    let id = made["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    // bob's credential cannot claim alice's tokens (same issuer, claim and value).
    refused(
        &create(
            &app,
            &admin,
            &gw.bob,
            "bob-as-alice",
            json!({"issuer": ISSUER, "subject": "alice", "keySource": "PublicKey",
                   "publicKey": public, "algorithms": ["ES256"]}),
        )
        .await,
        409,
        "Conflict.Exists",
    );
    let consumer = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumers/{}", gw.alice),
            None,
        )
        .await;
    assert!(ok(&consumer)["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["method"] == "Jwt" && c["identifier"] == ISSUER));

    until(
        &app,
        &gw.id,
        || es256(&claims("alice", |_| {})),
        200,
        "a valid token",
    )
    .await;
    let (status, name, _) = check(&app, &gw.id, &es256(&claims("alice", |_| {}))).await;
    assert_eq!((status, name.as_deref()), (200, Some("alice")));

    let t = now();
    let public_text = public.clone();
    let bad: Vec<(&str, String)> = vec![
        (
            "another issuer",
            es256(&claims("alice", |c| {
                c.insert("iss".into(), json!("https://evil.example"));
            })),
        ),
        (
            "another audience",
            es256(&claims("alice", |c| {
                c.insert("aud".into(), json!("elsewhere"));
            })),
        ),
        (
            "no audience",
            es256(&claims("alice", |c| {
                c.remove("aud");
            })),
        ),
        (
            "expired",
            es256(&claims("alice", |c| {
                c.insert("exp".into(), json!(t - 31));
                c.insert("iat".into(), json!(t - 600));
            })),
        ),
        (
            "no exp",
            es256(&claims("alice", |c| {
                c.remove("exp");
            })),
        ),
        (
            "not yet valid",
            es256(&claims("alice", |c| {
                c.insert("nbf".into(), json!(t + 120));
            })),
        ),
        (
            "issued in the future",
            es256(&claims("alice", |c| {
                c.insert("iat".into(), json!(t + 120));
            })),
        ),
        (
            "too long a lifetime",
            es256(&claims("alice", |c| {
                // From its own iat (which `claims` takes afresh): a minute over, so a second
                // ticking between the two reads cannot make it fit.
                let iat = c["iat"].as_i64().unwrap();
                c.insert("exp".into(), json!(iat + 3_660));
            })),
        ),
        ("an unknown subject", es256(&claims("mallory", |_| {}))),
        (
            "bob's subject with alice's key (bob has no JWT credential)",
            es256(&claims("bob", |_| {})),
        ),
        ("signed by another key", {
            let key = EncodingKey::from_rsa_pem(fixture("rs256-private.pem").as_bytes()).unwrap();
            encode(
                &Header::new(Algorithm::RS256),
                &claims("alice", |_| {}),
                &key,
            )
            .unwrap()
        }),
        (
            "algorithm confusion: HS256 keyed with the public key",
            hs256(&public_text, &claims("alice", |_| {})),
        ),
        ("alg none", {
            use base64::Engine as _;
            let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(claims("alice", |_| {}).to_string().as_bytes())
            )
        }),
        ("a tampered payload", {
            let good = es256(&claims("alice", |_| {}));
            let other = es256(&claims("alice", |c| {
                c.insert("exp".into(), json!(t + 3_000));
                c.remove("iat");
            }));
            let parts: Vec<&str> = good.split('.').collect();
            format!(
                "{}.{}.{}",
                parts[0],
                other.split('.').nth(1).unwrap(),
                parts[2]
            )
        }),
    ];
    let mut bodies = std::collections::BTreeSet::new();
    for (what, token) in &bad {
        let (status, _, body) = check(&app, &gw.id, token).await;
        assert_eq!(status, 401, "{what}");
        bodies.insert(body);
    }
    assert_eq!(bodies.len(), 1, "every refusal answers alike: {bodies:?}");
    // The access check verifies a token as the check does: same decision, same consumer.
    let explained = explain(&app, &admin, &gw.id, &es256(&claims("alice", |_| {}))).await;
    assert_eq!(
        (explained["allowed"].clone(), explained["status"].clone()),
        (json!(true), json!(200)),
        "{explained}"
    );
    assert_eq!(explained["consumer"]["name"], "alice");
    assert_eq!(explained["key"]["found"], true);
    for (what, token) in &bad {
        let explained = explain(&app, &admin, &gw.id, token).await;
        assert_eq!(explained["status"], 401, "{what}: {explained}");
    }
    // The same through the real nginx, configured as the README says.
    let proxy = Nginx::start(console_addr(&app), Some(&gw.id));
    let (status, body) = through(&proxy, es256(&claims("alice", |_| {}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(&format!("consumer={}", gw.alice)), "{body}");
    for (what, token) in &bad {
        assert_eq!(
            through(&proxy, token.clone()).await.0,
            401,
            "{what}, through nginx"
        );
    }
    // Within the skew an expired token still passes.
    let grace = es256(&claims("alice", |c| {
        c.insert("exp".into(), json!(t - 10));
        c.insert("iat".into(), json!(t - 600));
    }));
    assert_eq!(check(&app, &gw.id, &grace).await.0, 200);

    // A public key does not rotate; disabled, the token is refused; removed, too.
    refused(
        &app.rest(
            Some(&admin),
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({})),
        )
        .await,
        400,
        "InvalidParameter.Method",
    );
    let off = app
        .rest(
            Some(&admin),
            "PATCH",
            &format!("/v1/credentials/{id}"),
            Some(json!({"enabled": false, "version": 1})),
        )
        .await;
    ok(&off);
    until(
        &app,
        &gw.id,
        || es256(&claims("alice", |_| {})),
        401,
        "a disabled credential",
    )
    .await;
    ok(&app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/credentials/{id}"),
            None,
        )
        .await);

    // The same key given as a JWK verifies the same tokens.
    let jwk = {
        // x and y of the fixture's P-256 point, from its PEM (SubjectPublicKeyInfo).
        let der = pem_body(&public);
        let point = &der[der.len() - 65..];
        use base64::Engine as _;
        let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
        json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])})
            .to_string()
    };
    let made = create(
        &app,
        &admin,
        &gw.alice,
        "alice-jwk",
        json!({"issuer": ISSUER, "audience": "gateway", "keySource": "PublicKey", "publicKey": jwk, "algorithms": ["ES256"]}),
    )
    .await;
    ok(&made);
    until(
        &app,
        &gw.id,
        || es256(&claims("alice", |_| {})),
        200,
        "a JWK",
    )
    .await;
}

/// The access check's answer for a request with `token` (an Admin asks).
async fn explain(app: &TestApp, t: &str, gw: &str, token: &str) -> Value {
    let answer = app
        .rest(
            Some(t),
            "POST",
            &format!("/v1/gateways/{gw}/authz/explain"),
            Some(json!({"key": token, "path": "/v1/chat/completions"})),
        )
        .await;
    ok(&answer).clone()
}

/// A model API call through `proxy` with a bearer token: nginx's status and the backend's
/// echo of what reached it.
async fn through(proxy: &Nginx, token: String) -> (u16, String) {
    let res = reqwest::Client::new()
        .get(format!(
            "http://127.0.0.1:{}/v1/chat/completions",
            proxy.port
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The DER bytes of a PEM block.
fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

#[tokio::test]
async fn a_generated_hs256_secret_is_shown_once_rotates_with_a_grace_period_and_works_through_nginx(
) {
    use crate::enforcement::World;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let bob = w.holder(&app, "bob", true).await;
    let made = w
        .call(
            &app,
            "POST",
            "/v1/credentials",
            Some(
                json!({"consumerId": bob.consumer, "name": "bob-jwt", "method": "Jwt",
                        "jwt": {"issuer": "https://tokens.example", "consumerClaim": "client_id",
                                "subject": "bob-client", "keySource": "GeneratedSecret"}}),
            ),
        )
        .await;
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(
        secret.starts_with("gcjs_") && secret.len() == 45,
        "{secret}"
    );
    assert_eq!(made["credential"]["jwt"]["algorithms"], json!(["HS256"]));
    let id = made["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored: String =
        sqlx::query_scalar::<_, String>("SELECT secret_sealed FROM credentials WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert!(stored.starts_with("kek1:") && !stored.contains(&secret[5..]));
    let got = w
        .call(&app, "GET", &format!("/v1/credentials/{id}"), None)
        .await;
    assert!(!got.to_string().contains(&secret[5..]));

    let token_with = |secret: &str| {
        let t = now();
        hs256(
            secret,
            &json!({"iss": "https://tokens.example", "client_id": "bob-client", "iat": t, "exp": t + 300}),
        )
    };
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));
    let started = Instant::now();
    let (status, body) = loop {
        let got = through(&gw, token_with(&secret)).await;
        if got.0 == 200 || started.elapsed() > Duration::from_secs(5) {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("consumer={}", bob.consumer)),
        "{body}"
    );
    assert!(
        body.contains("authorization= "),
        "the backend never sees the token: {body}"
    );
    let (status, body) = through(&gw, token_with("gcjs_not-the-secret")).await;
    assert_eq!(status, 401, "{body}");
    // bob's API key still works beside his token.
    assert_eq!(through(&gw, bob.key.clone()).await.0, 200);

    // Rotated with a grace period: both secrets; at once: only the newest.
    let rotated = w
        .call(
            &app,
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": 600})),
        )
        .await;
    let second = rotated["secret"].as_str().unwrap().to_owned();
    assert!(second.starts_with("gcjs_") && second != secret);
    until(
        &app,
        &w.gateway,
        || token_with(&second),
        200,
        "the new secret",
    )
    .await;
    assert_eq!(
        check(&app, &w.gateway, &token_with(&secret)).await.0,
        200,
        "the old one in its grace period"
    );
    let third = w
        .call(
            &app,
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": 0})),
        )
        .await;
    let third = third["secret"].as_str().unwrap().to_owned();
    until(
        &app,
        &w.gateway,
        || token_with(&third),
        200,
        "the third secret",
    )
    .await;
    assert_eq!(check(&app, &w.gateway, &token_with(&second)).await.0, 401);
    assert_eq!(check(&app, &w.gateway, &token_with(&secret)).await.0, 401);
}

/// A JWK Set server for the tests: answers `GET /jwks` with what it is told to, and counts
/// the fetches.
#[derive(Clone)]
struct IdentityProvider {
    answer: std::sync::Arc<std::sync::Mutex<(u16, String)>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    url: String,
}

impl IdentityProvider {
    async fn start() -> IdentityProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = IdentityProvider {
            answer: Default::default(),
            fetches: Default::default(),
            url: format!("http://{}/jwks", listener.local_addr().unwrap()),
        };
        let served = idp.clone();
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let served = served.clone();
                async move {
                    served
                        .fetches
                        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let (status, body) = served.answer.lock().unwrap().clone();
                    (
                        axum::http::StatusCode::from_u16(status).unwrap(),
                        [("content-type", "application/json")],
                        body,
                    )
                }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        idp
    }

    /// Serves the test keys named, each under its own key ID.
    fn serve(&self, kids: &[&str]) {
        let keys: Vec<Value> = kids
            .iter()
            .map(|kid| {
                let file = if *kid == "b" {
                    "es256-b-public.jwk"
                } else {
                    "es256-public.jwk"
                };
                let mut key: Value = serde_json::from_str(&fixture(file)).unwrap();
                key["kid"] = json!(kid);
                key["use"] = json!("sig");
                key
            })
            .collect();
        *self.answer.lock().unwrap() = (200, json!({ "keys": keys }).to_string());
    }

    fn fail(&self) {
        *self.answer.lock().unwrap() = (503, "down".into());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// An ES256 token of alice under key ID `kid`, signed with the key the test serves under it
/// (`b`: the rotated-in key); `n` makes it a distinct token.
fn es256_kid(kid: &str, n: i64) -> String {
    let file = if kid == "b" {
        "es256-b-private.pem"
    } else {
        "es256-private.pem"
    };
    let key = EncodingKey::from_ec_pem(fixture(file).as_bytes()).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = claims("alice", |c| {
        c.insert("jti".into(), json!(n));
    });
    encode(&header, &claims, &key).unwrap()
}

#[tokio::test]
async fn a_jwks_url_is_fetched_followed_through_a_key_rotation_and_kept_through_an_outage() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "jwks-gw").await;
    let idp = IdentityProvider::start().await;
    idp.serve(&["a"]);

    let made = create(
        &app,
        &admin,
        &gw.alice,
        "alice-jwks",
        json!({"issuer": ISSUER, "audience": "gateway", "keySource": "JwksUrl",
               "jwksUrl": idp.url, "jwksRefreshSecs": 60, "algorithms": ["ES256"]}),
    )
    .await;
    let made = ok(&made).clone();
    assert_eq!(made["secret"], "");
    assert_eq!(made["credential"]["jwt"]["jwksUrl"], json!(idp.url));
    assert_eq!(made["credential"]["jwt"]["jwksRefreshSecs"], 60);
    assert_eq!(made["credential"]["jwt"]["keySource"], "JwksUrl");
    let id = made["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let status_path = format!("/v1/credentials/{id}/jwks");
    let nothing_yet = ok(&app.rest(Some(&admin), "GET", &status_path, None).await).clone();
    assert_eq!(
        (
            nothing_yet["fetchedAt"].clone(),
            nothing_yet["keyIds"].clone()
        ),
        (Value::Null, json!([])),
        "{nothing_yet}"
    );

    // The first token makes the check fetch the set, and passes.
    until(&app, &gw.id, || es256_kid("a", 1), 200, "a key of the set").await;
    assert_eq!(idp.fetches(), 1, "fetched once, then kept");
    for n in 2..12 {
        assert_eq!(check(&app, &gw.id, &es256_kid("a", n)).await.0, 200);
    }
    assert_eq!(idp.fetches(), 1, "tokens of a key it holds fetch nothing");
    let fetched = ok(&app.rest(Some(&admin), "GET", &status_path, None).await).clone();
    assert_eq!(fetched["keyIds"], json!(["a"]), "{fetched}");
    assert!(fetched["fetchedAt"].is_i64() && fetched["usableUntil"].is_i64());
    assert_eq!(fetched["lastError"], Value::Null);
    // The key named but another's signature: refused like any bad token.
    let forged = {
        let key = EncodingKey::from_ec_pem(fixture("es256-b-private.pem").as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some("a".into());
        encode(&header, &claims("alice", |_| {}), &key).unwrap()
    };
    assert_eq!(check(&app, &gw.id, &forged).await.0, 401);

    // The identity provider rotates to key `b`: the check fetches the set again for the key
    // ID it lacks (at most once per 10 s), then `a`'s tokens, even one it verified, stop.
    idp.serve(&["b"]);
    let started = Instant::now();
    loop {
        let (status, name, _) = check(&app, &gw.id, &es256_kid("b", 100)).await;
        if status == 200 {
            assert_eq!(name.as_deref(), Some("alice"));
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the rotated-in key is still refused"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(check(&app, &gw.id, &es256_kid("a", 1)).await.0, 401);
    assert_eq!(check(&app, &gw.id, &es256_kid("a", 500)).await.0, 401);
    // Through the real nginx: the rotated-in key passes, the rotated-out one does not.
    let proxy = Nginx::start(console_addr(&app), Some(&gw.id));
    let (status, body) = through(&proxy, es256_kid("b", 101)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(through(&proxy, es256_kid("a", 2)).await.0, 401);
    // And the access check says the same.
    assert_eq!(
        explain(&app, &admin, &gw.id, &es256_kid("b", 102)).await["status"],
        200
    );
    assert_eq!(
        explain(&app, &admin, &gw.id, &es256_kid("a", 3)).await["status"],
        401
    );
    let after_rotation = idp.fetches();
    assert!(after_rotation >= 2, "fetched for the new key");

    // Key IDs nobody holds cannot make the check fetch at every request.
    for n in 0..30 {
        assert_eq!(
            check(&app, &gw.id, &es256_kid(&format!("x{n}"), n)).await.0,
            401
        );
    }
    assert!(
        idp.fetches() <= after_rotation + 1,
        "{} fetches for 30 unknown key IDs",
        idp.fetches() - after_rotation
    );

    // The URL goes down: the set fetched keeps verifying (for a day after its fetch).
    idp.fail();
    for n in 200..205 {
        assert_eq!(check(&app, &gw.id, &es256_kid("b", n)).await.0, 200);
    }
    // An Admin fetches it now and sees why it fails, and what is still in use until when.
    let viewer = app.token("viewer").await;
    refused(
        &app.rest(Some(&viewer), "POST", &status_path, None).await,
        403,
        "Forbidden",
    );
    let failing = ok(&app.rest(Some(&admin), "POST", &status_path, None).await).clone();
    assert!(
        failing["lastError"].as_str().unwrap().contains("503"),
        "{failing}"
    );
    assert_eq!(failing["keyIds"], json!(["b"]), "{failing}");
    assert_eq!(check(&app, &gw.id, &es256_kid("b", 300)).await.0, 200);
    // Only a JWKS credential has a key set.
    let public = create(
        &app,
        &admin,
        &gw.alice,
        "alice-public",
        json!({"issuer": "https://other.example", "keySource": "PublicKey",
               "publicKey": fixture("es256-public.pem"), "algorithms": ["ES256"]}),
    )
    .await;
    let public_id = ok(&public)["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    refused(
        &app.rest(
            Some(&admin),
            "GET",
            &format!("/v1/credentials/{public_id}/jwks"),
            None,
        )
        .await,
        400,
        "InvalidParameter.Method",
    );
}
