//! Spawns the real application on a random port against a fresh database: a temporary
//! SQLite file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set.

use gateway_console::enforce::{Enforcer, Settings};
use gateway_console::server::{leptos_options, router};
use gateway_console::service::{accounts, Actor};
use gateway_console::state::AppState;
use gateway_console::state::WebSettings;
use gateway_console::store::Db;
use serde_json::Value;
use std::net::SocketAddr;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const VIEWER_PASSWORD: &str = "viewer-password-1";

/// Tests that load the whole machine (server processes of their own, hundreds of writes, a
/// database stopped) run alone; the others run together, and some of them measure that a
/// change reaches enforcement within a second, which a loaded 2-core machine can delay.
static MACHINE: std::sync::LazyLock<tokio::sync::RwLock<()>> =
    std::sync::LazyLock::new(|| tokio::sync::RwLock::new(()));

/// Taken by a heavy test for its whole run: no other test's server runs meanwhile.
#[allow(dead_code)] // only the heavy tests take it
pub async fn whole_machine() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    MACHINE.write().await
}

pub struct TestApp {
    /// Held for the test's run (see `MACHINE`); none for a second replica of the same test.
    _machine: Option<tokio::sync::RwLockReadGuard<'static, ()>>,
    pub base: String,
    pub db: Db,
    /// The server's enforcement snapshots, to compare with a fresh full load.
    #[allow(dead_code)] // only the enforcement tests look
    pub enforcer: std::sync::Arc<Enforcer>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn fresh_database_url() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(server) => {
            sqlx::any::install_default_drivers();
            let name = format!("gc_test_{}", xid_like());
            let pool = sqlx::AnyPool::connect(&server)
                .await
                .expect("connect to TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&pool)
                .await
                .expect("create test database");
            pool.close().await;
            let base = server
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(server);
            (format!("{base}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().expect("temp dir");
            (
                format!("sqlite:{}", dir.path().join("console.db").display()),
                Some(dir),
            )
        }
    }
}

/// A database name no other test of any run uses: the time, this process, and a count of the
/// databases this process made (tests run in parallel threads of one process).
fn xid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{SystemTime, UNIX_EPOCH};
    static MADE: AtomicU64 = AtomicU64::new(0);
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let k = MADE.fetch_add(1, Ordering::Relaxed);
    format!("{n:x}{:x}n{k}", std::process::id())
}

/// The key-encryption keyring of every test server in this process (as replicas of one
/// deployment share theirs).
pub fn test_keyring() -> std::sync::Arc<gateway_console::secrets::Keyring> {
    use gateway_console::secrets::Keyring;
    static KEYRING: std::sync::OnceLock<std::sync::Arc<Keyring>> = std::sync::OnceLock::new();
    KEYRING
        .get_or_init(|| std::sync::Arc::new(Keyring::parse(&test_keyring_text()).unwrap()))
        .clone()
}

/// The text of [`test_keyring`] (one key, `test`, made once per process).
pub fn test_keyring_text() -> String {
    use gateway_console::secrets::Keyring;
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| Keyring::generate("test")).clone()
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Settings::default()).await
}

/// Enforcement settings for a check that a test calls directly with the headers a proxy
/// would set (`X-Gateway-Id`, `X-Original-URI`).
pub fn proxy_headers_trusted() -> Settings {
    Settings {
        trust_proxy_headers: true,
        ..Settings::default()
    }
}

/// The application with the given enforcement settings.
pub async fn spawn_app_with(settings: Settings) -> TestApp {
    spawn_app_full(settings, WebSettings::default()).await
}

/// The application with the given web settings (origin, cookies, trusted proxies).
pub async fn spawn_app_web(web: WebSettings) -> TestApp {
    spawn_app_full(Settings::default(), web).await
}

async fn spawn_app_full(settings: Settings, web: WebSettings) -> TestApp {
    let machine = MACHINE.read().await;
    let _ = tracing_subscriber::fmt()
        .with_env_filter("error")
        .with_writer(std::io::stderr)
        .try_init();
    let (url, dir) = fresh_database_url().await;
    let db = Db::connect(&url)
        .await
        .expect("connect and migrate")
        .with_keyring(test_keyring());
    let setup = Actor::system("test setup");
    accounts::create_account(&db, &setup, "admin", ADMIN_PASSWORD, "Admin")
        .await
        .unwrap();
    accounts::create_account(&db, &setup, "viewer", VIEWER_PASSWORD, "Viewer")
        .await
        .unwrap();
    let mut app = serve(db, settings, web, None).await;
    app._dir = dir;
    app._machine = Some(machine);
    app
}

/// A second replica on `other`'s database, with its own settings.
pub async fn spawn_app_on(other: &TestApp, settings: Settings) -> TestApp {
    serve(other.db.clone(), settings, WebSettings::default(), None).await
}

/// A second server on `other`'s database whose browser files come from `site` (laid out as
/// `make build` lays out `target/site`), their names carrying a content hash or not.
#[allow(dead_code)] // only the asset tests serve their own files
pub async fn spawn_site_on(other: &TestApp, site: &std::path::Path, hashed: bool) -> TestApp {
    let site = (site.to_string_lossy().into_owned(), hashed);
    serve(
        other.db.clone(),
        Settings::default(),
        WebSettings::default(),
        Some(site),
    )
    .await
}

async fn serve(
    db: Db,
    settings: Settings,
    web: WebSettings,
    site: Option<(String, bool)>,
) -> TestApp {
    // Every test server records metrics, as a production one with CONSOLE_METRICS_ADDR does.
    gateway_console::telemetry::install_metrics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let enforcer = Enforcer::start(db.clone(), settings).await.unwrap();
    let mut options = leptos_options(addr);
    if let Some((root, hashed)) = site {
        options.site_root = root.into();
        options.hash_files = hashed;
    }
    let state = AppState {
        leptos_options: options,
        enforcer: enforcer.clone(),
        db: db.clone(),
        web,
    };
    tokio::spawn(async move {
        axum::serve(
            listener,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    TestApp {
        _machine: None,
        base: format!("http://{addr}"),
        db,
        enforcer,
        _dir: None,
    }
}

/// A client that keeps cookies, does not follow redirects, and sends `origin` as a browser
/// on the console's own pages does.
pub fn browser(origin: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("origin", origin.parse().unwrap());
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// A client that keeps cookies and does not follow redirects.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    /// Serves this server's `GET /metrics` on a port of its own (as `CONSOLE_METRICS_ADDR`
    /// does) and returns its URL.
    #[allow(dead_code)] // only the metrics tests scrape
    pub async fn metrics_url(&self) -> String {
        let handle = gateway_console::telemetry::install_metrics();
        let router = gateway_console::server::metrics::router(
            handle,
            self.db.clone(),
            self.enforcer.clone(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        format!("http://{addr}/metrics")
    }

    /// A client signed in as `username`.
    pub async fn signed_in(&self, username: &str, password: &str) -> reqwest::Client {
        let c = browser(&self.base);
        let res = c
            .post(format!("{}/api/sign_in", self.base))
            .header("Accept", "application/json")
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .unwrap();
        assert!(
            res.status().is_success() || res.status().is_redirection(),
            "sign in failed: {}",
            res.status()
        );
        c
    }

    pub async fn admin(&self) -> reqwest::Client {
        self.signed_in("admin", ADMIN_PASSWORD).await
    }

    /// Calls a server function with a form-encoded body; returns status and JSON.
    pub async fn call_form(
        &self,
        c: &reqwest::Client,
        name: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let res = c
            .post(format!("{}/api/{name}", self.base))
            .header("Accept", "application/json")
            .header("origin", &self.base)
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// Calls a server function with a JSON body; returns status and JSON.
    pub async fn call_json(&self, c: &reqwest::Client, name: &str, body: Value) -> (u16, Value) {
        let res = c
            .post(format!("{}/api/{name}", self.base))
            .header("Accept", "application/json")
            .header("origin", &self.base)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// A REST client call: status, the envelope, and the `x-request-id` header.
pub struct Rest {
    pub status: u16,
    pub body: Value,
    pub request_id: String,
}

impl TestApp {
    /// A bearer token for `username`, made the way `gateway-console token create` makes it.
    pub async fn token(&self, username: &str) -> String {
        gateway_console::service::tokens::create_token_for(
            &self.db,
            username,
            "tests",
            None,
            Default::default(),
        )
        .await
        .unwrap()
        .value
    }

    /// Calls `/v1` with a bearer token (or none) and an optional JSON body.
    pub async fn rest(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Rest {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = client().request(method, format!("{}{path}", self.base));
        match token {
            Some(t) => req = req.bearer_auth(t),
            None => req = req.header("origin", &self.base),
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let request_id = res
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{path}: not JSON ({status}): {text}"));
        Rest {
            status,
            body,
            request_id,
        }
    }
}

/// The `data` of a successful answer; fails the test with the envelope otherwise.
pub fn ok(r: &Rest) -> &Value {
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["code"], "Ok", "{}", r.body);
    assert_eq!(r.body["message"], "success", "{}", r.body);
    &r.body["data"]
}

/// Asserts a refusal with this status and error code.
pub fn refused(r: &Rest, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.body["code"], code, "{}", r.body);
}

/// An answer made fit for a snapshot (`insta`), exactly: every value equal to one of `known`
/// (the IDs and times the test made) becomes `[its name]`, and the times the server chose
/// (`createdAt`, `updateTimestamp`, …) and the request ID become `[time]` and
/// `[requestId]`. An ID the test did not expect stays as it is and fails the snapshot.
pub fn stable(value: &Value, known: &[(Value, &str)]) -> Value {
    const SERVER_CHOSEN: [(&str, &str); 7] = [
        ("createdAt", "[time]"),
        ("updatedAt", "[time]"),
        ("createTimestamp", "[time]"),
        ("updateTimestamp", "[time]"),
        ("lastUsedAt", "[time]"),
        ("requestId", "[requestId]"),
        ("resourceId", "[resourceNo]"),
    ];
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let chosen = SERVER_CHOSEN.iter().find(|(name, _)| name == k);
                    let v = match chosen {
                        Some((_, mark)) if !v.is_null() && !v.is_string() || k == "requestId" => {
                            Value::from(*mark)
                        }
                        _ => stable(v, known),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| stable(v, known)).collect()),
        other => match known.iter().find(|(v, _)| v == other) {
            Some((_, name)) => Value::from(format!("[{name}]")),
            None => other.clone(),
        },
    }
}
