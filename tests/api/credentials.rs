//! HMAC (AK/SK) credentials: made over REST with a secret shown once and stored sealed,
//! listed with the consumer's keys, disabled, rotated with a grace period and removed; and
//! the check, which lets a correctly signed request through and refuses every bad one with
//! the same 401.

use crate::access::gateway;
use crate::common::{ok, proxy_headers_trusted, refused, spawn_app_with, TestApp};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The signature of a request, computed here from the README's description (not with the
/// server's own code): the key ID, then `METHOD target` and `date: …`, each line ended by a
/// newline, HMAC'd with the secret's text.
fn signature_header(c: &Signer<'_>, method: &str, target: &str, date: &str) -> String {
    let signing = format!("{}\n{method} {target}\ndate: {date}\n", c.access_key);
    let sig = match c.algorithm {
        "hmac-sha512" => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(c.secret.as_bytes()).unwrap();
            mac.update(signing.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        _ => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(c.secret.as_bytes()).unwrap();
            mac.update(signing.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    format!(
        r#"Signature keyId="{}",algorithm="{}",headers="@request-target date",signature="{}""#,
        c.access_key,
        c.algorithm,
        base64::engine::general_purpose::STANDARD.encode(sig)
    )
}

/// What a bad case is called, its method, its URI and its headers.
type Case<'a> = (&'a str, &'a str, &'a str, Vec<(&'a str, String)>);

#[derive(Clone, Copy)]
struct Signer<'a> {
    access_key: &'a str,
    secret: &'a str,
    algorithm: &'a str,
}

/// An HTTP date `offset_secs` from now.
fn http_date(offset_secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset_secs))
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// What the check answers a request as nginx forwards it (`X-Original-Method`,
/// `X-Original-URI`, and the client's own headers).
async fn check(
    app: &TestApp,
    gw: &str,
    method: &str,
    uri: &str,
    headers: &[(&str, String)],
) -> u16 {
    let mut req = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", gw)
        .header("x-original-method", method)
        .header("x-original-uri", uri);
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    req.send().await.unwrap().status().as_u16()
}

/// A request signed with `c` now, as the README's script signs it.
async fn signed(app: &TestApp, gw: &str, c: &Signer<'_>) -> u16 {
    let date = http_date(0);
    let auth = signature_header(c, "POST", "/v1/chat/completions", &date);
    check(
        app,
        gw,
        "POST",
        "/v1/chat/completions",
        &[("date", date), ("authorization", auth)],
    )
    .await
}

/// Polls until a request signed with `c` gets `want` (a change reaches the check's
/// snapshot shortly after it commits).
async fn until_signed(app: &TestApp, gw: &str, c: &Signer<'_>, want: u16, what: &str) {
    let started = Instant::now();
    loop {
        let got = signed(app, gw, c).await;
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

async fn create(app: &TestApp, t: &str, body: Value) -> crate::common::Rest {
    app.rest(Some(t), "POST", "/v1/credentials", Some(body))
        .await
}

#[tokio::test]
async fn an_hmac_credential_is_made_with_a_secret_shown_once_and_stored_sealed() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let viewer = app.token("viewer").await;
    let gw = gateway(&app, &admin, "hmac-made-gw").await;

    let made = create(
        &app,
        &admin,
        json!({"consumerId": gw.alice, "name": "alice-signing", "method": "Hmac",
               "hmac": {"algorithm": "hmac-sha512", "clockSkewSecs": 60}}),
    )
    .await;
    let made = ok(&made).clone();
    let secret = made["secret"].as_str().unwrap().to_owned();
    let cred = &made["credential"];
    let id = cred["credentialId"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cred-"), "{id}");
    assert!(
        secret.starts_with("gcsk_") && secret.len() == 45,
        "{secret}"
    );
    assert!(cred["hmac"]["accessKey"]
        .as_str()
        .unwrap()
        .starts_with("gcak_"));
    assert_eq!(cred["hmac"]["algorithm"], "hmac-sha512");
    assert_eq!(cred["hmac"]["clockSkewSecs"], 60);
    assert_eq!(cred["method"], "Hmac");
    assert_eq!(cred["consumer"]["name"], "alice");
    assert_eq!(cred["enabled"], true);

    // Never again: not in the credential, its list, the consumer, or the audit log.
    let got = app
        .rest(Some(&admin), "GET", &format!("/v1/credentials/{id}"), None)
        .await;
    let listed = app
        .rest(
            Some(&viewer),
            "GET",
            &format!("/v1/credentials?consumerId={}", gw.alice),
            None,
        )
        .await;
    let consumer = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumers/{}", gw.alice),
            None,
        )
        .await;
    let audit = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/audit-events?gatewayId={}&pageSize=100", gw.id),
            None,
        )
        .await;
    assert_eq!(ok(&got)["credentialId"], id.as_str());
    assert_eq!(ok(&listed).as_array().unwrap().len(), 1);
    for answer in [&got, &listed, &consumer, &audit] {
        assert!(
            !answer.body.to_string().contains(&secret[5..]),
            "{}",
            answer.body
        );
    }
    let methods: Vec<&str> = ok(&consumer)["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect();
    assert_eq!(
        methods,
        ["ApiKey", "Hmac"],
        "alice's key and her HMAC credential"
    );
    let entry = ok(&audit)["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "CreateCredential")
        .expect("audited")
        .clone();
    assert_eq!(entry["resourceId"], id.as_str());

    // Stored sealed with the keyring, bound to its row: the database alone reveals nothing.
    let stored: String = sqlx::query_scalar::<_, String>("SELECT secret_sealed FROM credentials")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert!(stored.starts_with("kek1:test:"), "{stored}");
    assert!(!stored.contains(&secret[5..]));
    let keyring = crate::common::test_keyring();
    assert_eq!(keyring.open(&stored, &id).unwrap(), secret.as_bytes());
    assert!(keyring.open(&stored, "cred-another").is_err());

    // Bad input: specific errors, nothing made.
    for (body, status, code) in [
        (
            json!({"consumerId": gw.alice, "name": "x", "method": "Hmac", "hmac": {"algorithm": "hmac-md5"}}),
            400,
            "InvalidParameter.Algorithm",
        ),
        (
            json!({"consumerId": gw.alice, "name": "x", "method": "Hmac", "hmac": {"clockSkewSecs": 0}}),
            400,
            "InvalidParameter.ClockSkew",
        ),
        (
            json!({"consumerId": gw.alice, "name": "x", "method": "Hmac", "hmac": {"clockSkewSecs": 301}}),
            400,
            "InvalidParameter.ClockSkew",
        ),
        (
            json!({"consumerId": gw.alice, "name": "x", "method": "ApiKey"}),
            400,
            "InvalidParameter.Method",
        ),
        (
            json!({"consumerId": gw.alice, "name": "", "method": "Hmac"}),
            400,
            "InvalidParameter.Name",
        ),
        (
            json!({"consumerId": "cs-00000000000000000000", "name": "x", "method": "Hmac"}),
            404,
            "NotFound.Consumer",
        ),
        (
            json!({"consumerId": gw.alice, "name": "ALICE-signing", "method": "Hmac"}),
            409,
            "Conflict.Name",
        ),
    ] {
        refused(&create(&app, &admin, body.clone()).await, status, code);
    }
    refused(
        &create(
            &app,
            &viewer,
            json!({"consumerId": gw.alice, "name": "v", "method": "Hmac"}),
        )
        .await,
        403,
        "Forbidden",
    );
    assert_eq!(
        ok(&app
            .rest(
                Some(&admin),
                "GET",
                &format!("/v1/credentials?consumerId={}", gw.alice),
                None
            )
            .await)
        .as_array()
        .unwrap()
        .len(),
        1
    );

    // A consumer with a credential is not deleted until the credential is removed.
    let unbind = app
        .rest(
            Some(&admin),
            "DELETE",
            &format!(
                "/v1/consumers/{}/credentials/{}",
                gw.alice,
                ok(&consumer)["credentials"][0]["credentialId"]
                    .as_str()
                    .unwrap()
            ),
            None,
        )
        .await;
    ok(&unbind);
    let blocked = app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/consumers/{}", gw.alice),
            None,
        )
        .await;
    refused(&blocked, 409, "Conflict.Dependencies");
    assert!(blocked.body.to_string().contains(&id), "{}", blocked.body);
    ok(&app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/credentials/{id}"),
            None,
        )
        .await);
    refused(
        &app.rest(Some(&admin), "GET", &format!("/v1/credentials/{id}"), None)
            .await,
        404,
        "NotFound.Credential",
    );
    let deps = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/consumers/{}/dependencies", gw.alice),
            None,
        )
        .await;
    assert!(!ok(&deps).to_string().contains(&id), "{}", deps.body);
}

#[tokio::test]
async fn the_check_lets_a_signed_request_through_and_refuses_every_bad_one_alike() {
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "hmac-check-gw").await;
    let made = create(
        &app,
        &admin,
        json!({"consumerId": gw.alice, "name": "alice-signing", "method": "Hmac"}),
    )
    .await;
    let made = ok(&made).clone();
    let id = made["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    let access_key = made["credential"]["hmac"]["accessKey"]
        .as_str()
        .unwrap()
        .to_owned();
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert_eq!(made["credential"]["hmac"]["algorithm"], "hmac-sha256");
    assert_eq!(made["credential"]["hmac"]["clockSkewSecs"], 300);
    let alice = Signer {
        access_key: &access_key,
        secret: &secret,
        algorithm: "hmac-sha256",
    };
    until_signed(&app, &gw.id, &alice, 200, "a new credential signs").await;

    // Allowed: the consumer is named to the proxy, as for a key.
    let date = http_date(0);
    let auth = signature_header(&alice, "POST", "/v1/chat/completions", &date);
    let res = reqwest::Client::new()
        .get(format!("{}/authz/check", app.base))
        .header("x-gateway-id", &gw.id)
        .header("x-original-method", "POST")
        .header("x-original-uri", "/v1/chat/completions")
        .header("date", &date)
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-consumer-id"], gw.alice.as_str());
    assert_eq!(res.headers()["x-consumer-name"], "alice");

    // Every bad case: 401, with one body that does not say which.
    let target = "/v1/chat/completions";
    let wrong_secret = Signer {
        secret: "gcsk_not-the-secret",
        ..alice
    };
    let unknown = Signer {
        access_key: "gcak_nobody0000000000000",
        ..alice
    };
    let other_algorithm = Signer {
        algorithm: "hmac-sha512",
        ..alice
    };
    let d = http_date(0);
    let cases: Vec<Case<'_>> = vec![
        (
            "wrong secret",
            "POST",
            target,
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&wrong_secret, "POST", target, &d),
                ),
            ],
        ),
        (
            "unknown key ID",
            "POST",
            target,
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&unknown, "POST", target, &d),
                ),
            ],
        ),
        (
            "another algorithm than the credential's",
            "POST",
            target,
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&other_algorithm, "POST", target, &d),
                ),
            ],
        ),
        (
            "signed for another method",
            "GET",
            target,
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &d),
                ),
            ],
        ),
        (
            "signed for another path",
            "POST",
            "/v1/chat/other",
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &d),
                ),
            ],
        ),
        (
            "date changed after signing",
            "POST",
            target,
            vec![
                ("date", http_date(-60)),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &d),
                ),
            ],
        ),
        (
            "no date",
            "POST",
            target,
            vec![(
                "authorization",
                signature_header(&alice, "POST", target, &d),
            )],
        ),
        (
            "a date too old (a replay)",
            "POST",
            target,
            vec![
                ("date", http_date(-310)),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &http_date(-310)),
                ),
            ],
        ),
        (
            "a date too far ahead",
            "POST",
            target,
            vec![
                ("date", http_date(310)),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &http_date(310)),
                ),
            ],
        ),
        (
            "the date not signed",
            "POST",
            target,
            vec![
                ("date", d.clone()),
                (
                    "authorization",
                    signature_header(&alice, "POST", target, &d)
                        .replace("@request-target date", "@request-target"),
                ),
            ],
        ),
        (
            "a malformed signature header",
            "POST",
            target,
            vec![
                ("date", d.clone()),
                ("authorization", "Signature keyId=".to_owned()),
            ],
        ),
    ];
    for (what, method, uri, headers) in &cases {
        let mut req = reqwest::Client::new()
            .get(format!("{}/authz/check", app.base))
            .header("x-gateway-id", &gw.id)
            .header("x-original-method", *method)
            .header("x-original-uri", *uri);
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401, "{what}");
        assert_eq!(
            res.text().await.unwrap(),
            r#"{"code":"Unauthorized","message":"A valid API key, token or signature is required."}"#,
            "{what}"
        );
    }
    // Within the skew either way is fine.
    for offset in [-290, 290] {
        let d = http_date(offset);
        let auth = signature_header(&alice, "POST", target, &d);
        assert_eq!(
            check(
                &app,
                &gw.id,
                "POST",
                target,
                &[("date", d), ("authorization", auth)]
            )
            .await,
            200
        );
    }
    // Signed correctly but not granted: the rules decide, as for a key (403).
    let d = http_date(0);
    let auth = signature_header(&alice, "POST", "/v1/embeddings", &d);
    assert_eq!(
        check(
            &app,
            &gw.id,
            "POST",
            "/v1/embeddings",
            &[("date", d), ("authorization", auth)]
        )
        .await,
        403
    );

    // Disabled, then enabled again.
    let version = made["credential"]["version"].as_i64().unwrap();
    let off = app
        .rest(
            Some(&admin),
            "PATCH",
            &format!("/v1/credentials/{id}"),
            Some(json!({"enabled": false, "version": version})),
        )
        .await;
    assert_eq!(ok(&off)["enabled"], false);
    until_signed(&app, &gw.id, &alice, 401, "a disabled credential").await;
    refused(
        &app.rest(
            Some(&admin),
            "PATCH",
            &format!("/v1/credentials/{id}"),
            Some(json!({"enabled": true, "version": version})),
        )
        .await,
        409,
        "Conflict.Version",
    );
    let on = app
        .rest(
            Some(&admin),
            "PATCH",
            &format!("/v1/credentials/{id}"),
            Some(json!({"enabled": true, "version": ok(&off)["version"]})),
        )
        .await;
    ok(&on);
    until_signed(&app, &gw.id, &alice, 200, "enabled again").await;

    // Rotated with a grace period: old and new both sign; rotated at once: only the new.
    let rotated = app
        .rest(
            Some(&admin),
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": 600})),
        )
        .await;
    let second = ok(&rotated)["secret"].as_str().unwrap().to_owned();
    assert_ne!(second, secret);
    assert!(
        ok(&rotated)["credential"]["previousExpiresAt"]
            .as_i64()
            .unwrap()
            > 0
    );
    let alice2 = Signer {
        secret: &second,
        ..alice
    };
    until_signed(&app, &gw.id, &alice2, 200, "the new secret").await;
    assert_eq!(
        signed(&app, &gw.id, &alice).await,
        200,
        "the old secret in its grace period"
    );
    let third = app
        .rest(
            Some(&admin),
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({})),
        )
        .await;
    let third_secret = ok(&third)["secret"].as_str().unwrap().to_owned();
    let alice3 = Signer {
        secret: &third_secret,
        ..alice
    };
    until_signed(&app, &gw.id, &alice3, 200, "the third secret").await;
    assert_eq!(
        signed(&app, &gw.id, &alice2).await,
        401,
        "no grace: the second stops"
    );
    assert_eq!(
        signed(&app, &gw.id, &alice).await,
        401,
        "nor does the first come back"
    );
    refused(
        &app.rest(
            Some(&admin),
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": -1})),
        )
        .await,
        400,
        "InvalidParameter.GracePeriodSeconds",
    );

    // A disabled consumer's credential is refused too; removed, it signs nothing.
    ok(&app
        .rest(
            Some(&admin),
            "DELETE",
            &format!("/v1/credentials/{id}"),
            None,
        )
        .await);
    until_signed(&app, &gw.id, &alice3, 401, "a removed credential").await;

    // Counted as usage under the credential, like a key's requests under the key.
    app.enforcer.flush_usage().await.unwrap();
    let usage = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/usage?gatewayId={}&groupBy=key", gw.id),
            None,
        )
        .await;
    assert!(usage.body.to_string().contains(&id), "{}", usage.body);
    let only = app
        .rest(
            Some(&admin),
            "GET",
            &format!("/v1/usage?gatewayId={}&keyId={id}&groupBy=outcome", gw.id),
            None,
        )
        .await;
    let outcomes = ok(&only).to_string();
    assert!(
        outcomes.contains("allowed") && outcomes.contains("bad-signature"),
        "{outcomes}"
    );
}

/// `text` written to a file named `name` in a fresh temporary folder (kept for the process).
fn gw_dir_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A request through nginx signed with `c` for `signed_as` (method and target), sent as
/// `method` to `uri`, with `date` (the signed one unless told): status and body.
async fn through_nginx(
    gw: &crate::enforcement::Nginx,
    c: &Signer<'_>,
    signed_as: (&str, &str, &str),
    method: &str,
    uri: &str,
    date: &str,
) -> (u16, String) {
    let (signed_method, signed_target, signed_date) = signed_as;
    let auth = signature_header(c, signed_method, signed_target, signed_date);
    let res = reqwest::Client::new()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("http://127.0.0.1:{}{uri}", gw.port),
        )
        .header("date", date)
        .header("authorization", auth)
        .body("{\"model\": \"m\"}")
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

#[tokio::test]
async fn through_nginx_a_signed_request_reaches_the_backend_as_its_consumer_and_a_bad_one_does_not()
{
    use crate::enforcement::{console_addr, Nginx, World};
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let w = World::new(&app).await;
    let alice = w.holder(&app, "alice", true).await;
    let made = w
        .call(
            &app,
            "POST",
            "/v1/credentials",
            Some(json!({"consumerId": alice.consumer, "name": "alice-signing", "method": "Hmac"})),
        )
        .await;
    let access_key = made["credential"]["hmac"]["accessKey"].as_str().unwrap();
    let secret = made["secret"].as_str().unwrap();
    let c = Signer {
        access_key,
        secret,
        algorithm: "hmac-sha256",
    };
    let gw = Nginx::start(console_addr(&app), Some(&w.gateway));
    let target = "/v1/chat/completions?stream=true";
    let started = Instant::now();
    let (status, body) = loop {
        let d = http_date(0);
        let got = through_nginx(&gw, &c, ("POST", target, &d), "POST", target, &d).await;
        if got.0 == 200 || started.elapsed() > Duration::from_secs(5) {
            break got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains(&format!("consumer={}", alice.consumer)),
        "{body}"
    );
    assert!(body.contains("name=alice"), "{body}");
    assert!(
        body.contains("authorization= "),
        "the backend never sees the signature: {body}"
    );

    // The README's script signs and sends the same request.
    let readme = include_str!("../../README.md");
    let start = readme
        .find("```python\n# sign-request.py")
        .expect("the script is in the README")
        + "```python\n".len();
    let script = &readme[start..start + readme[start..].find("\n```").unwrap()];
    let file = gw_dir_file("sign-request.py", script);
    // Run apart from this test's runtime, which also serves the check nginx asks.
    let run = |secret: &str| {
        let mut command = std::process::Command::new("python3");
        command
            .arg(&file)
            .arg("POST")
            .arg(format!("http://127.0.0.1:{}{target}", gw.port))
            .arg("{\"model\": \"m\"}")
            .env("GC_ACCESS_KEY", access_key)
            .env("GC_SECRET", secret);
        tokio::task::spawn_blocking(move || {
            command.output().expect("python3 runs the README's script")
        })
    };
    let out = run(secret).await.unwrap();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(printed.starts_with("200 "), "{printed}");
    assert!(
        printed.contains(&format!("consumer={}", alice.consumer)),
        "{printed}"
    );
    let out = run("gcsk_wrong").await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("401 "));

    let d = http_date(0);
    let wrong = Signer {
        secret: "gcsk_wrong",
        ..c
    };
    let old = http_date(-400);
    for (what, signer, signed_as, method, uri, date) in [
        (
            "wrong secret",
            wrong,
            ("POST", target, d.as_str()),
            "POST",
            target,
            d.as_str(),
        ),
        (
            "signed as GET, sent as POST",
            c,
            ("GET", target, d.as_str()),
            "POST",
            target,
            d.as_str(),
        ),
        (
            "signed without the query",
            c,
            ("POST", "/v1/chat/completions", d.as_str()),
            "POST",
            target,
            d.as_str(),
        ),
        (
            "signed for another path",
            c,
            ("POST", "/v1/chat/other", d.as_str()),
            "POST",
            target,
            d.as_str(),
        ),
        (
            "an old date, replayed",
            c,
            ("POST", target, old.as_str()),
            "POST",
            target,
            old.as_str(),
        ),
    ] {
        let (status, body) = through_nginx(&gw, &signer, signed_as, method, uri, date).await;
        assert_eq!(status, 401, "{what}: {body}");
        assert!(
            !body.contains("consumer="),
            "{what}: the backend was reached: {body}"
        );
    }
}

#[tokio::test]
async fn after_a_new_key_is_put_first_resealing_moves_every_secret_to_it() {
    use gateway_console::secrets::Keyring;
    use std::sync::Arc;
    let app = spawn_app_with(proxy_headers_trusted()).await;
    let admin = app.token("admin").await;
    let gw = gateway(&app, &admin, "hmac-reseal-gw").await;
    let made = create(
        &app,
        &admin,
        json!({"consumerId": gw.alice, "name": "alice-signing", "method": "Hmac"}),
    )
    .await;
    let id = ok(&made)["credential"]["credentialId"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&app
        .rest(
            Some(&admin),
            "POST",
            &format!("/v1/credentials/{id}/rotate"),
            Some(json!({"gracePeriodSeconds": 60})),
        )
        .await);
    let loaded = |ring: Keyring| {
        let db = app.db.clone().with_keyring(Arc::new(ring));
        let gw = gw.id.clone();
        async move {
            gateway_console::store::snapshot::load(&db, &gw)
                .await
                .unwrap()
                .hmac
        }
    };
    let new_key = Keyring::generate("k2");
    let new_only = || Keyring::parse(&new_key).unwrap();
    assert!(
        loaded(new_only()).await.is_empty(),
        "a key that sealed nothing opens nothing"
    );

    // Re-seal with a ring of both keys (the new one first), through the service.
    let both = gateway_console::secrets::Keyring::parse(&format!(
        "{new_key}\n{}",
        crate::common::test_keyring_text()
    ))
    .unwrap();
    assert_eq!(both.current_id(), "k2");
    let db = app.db.clone().with_keyring(Arc::new(both));
    let changed = gateway_console::service::credentials::reseal_secrets(&db)
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(
        gateway_console::service::credentials::reseal_secrets(&db)
            .await
            .unwrap(),
        0,
        "a second run finds nothing to do"
    );
    let sealed: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT secret_sealed, previous_sealed FROM credentials")
            .fetch_all(&app.db.pool)
            .await
            .unwrap();
    for (current, previous) in &sealed {
        assert!(current.as_deref().unwrap().starts_with("kek1:k2:"));
        assert!(previous.as_deref().unwrap().starts_with("kek1:k2:"));
    }
    // Now the new key alone opens both secrets (current and previous), and the old one none.
    let opened = loaded(new_only()).await;
    assert_eq!(opened.len(), 1);
    assert!(opened[0].previous.is_some());
    assert!(
        loaded(Keyring::parse(&crate::common::test_keyring_text()).unwrap())
            .await
            .is_empty()
    );
}
