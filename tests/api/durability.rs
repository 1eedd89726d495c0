//! Durability, with the real binary as a separate process: SIGKILL while a dozen clients
//! write through REST loses no write that was answered 200 and leaves nothing half-applied;
//! `gateway-console backup` copies a live SQLite database under write load.

use crate::common::{fresh_database_url, ADMIN_PASSWORD};
use gateway_console::service::{accounts, tokens, Actor};
use gateway_console::store::Db;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_gateway-console");
const CLIENTS: usize = 12;
const KILL_ROUNDS: usize = 10;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The release-shaped server: its own process on the test's database.
pub(crate) struct Server {
    child: Child,
    pub(crate) base: String,
}

impl Server {
    async fn start(database_url: &str) -> Server {
        Server::start_with(database_url, &[]).await
    }

    /// The server with extra environment variables (settings), on a port of its own.
    pub(crate) async fn start_with(database_url: &str, settings: &[(&str, &str)]) -> Server {
        let mut server = Server::spawn(database_url, free_port(), settings);
        server.healthy().await;
        server
    }

    /// Starts the process without waiting for it to answer.
    pub(crate) fn spawn(database_url: &str, port: u16, settings: &[(&str, &str)]) -> Server {
        let child = Command::new(BIN)
            .env_remove("CONSOLE_ADMIN_USERNAME")
            .env_remove("CONSOLE_METRICS_ADDR")
            .env("RUST_LOG", "error")
            .envs(settings.iter().copied())
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_OUTPUT_NAME", "gateway-console")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the server binary");
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits until `/healthz` answers; fails at once if the process exited.
    pub(crate) async fn healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server at {} exited: {status}", self.base);
            }
            if let Ok(r) = reqwest::get(format!("{}/healthz", self.base)).await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the server did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing the process can react to.
    pub(crate) fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A REST call: Ok((status, data-or-envelope)) when answered, Err when the connection failed.
pub(crate) async fn call(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<(u16, Value), reqwest::Error> {
    let mut req = c
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let text = res.text().await?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Ok((
        status,
        if status == 200 {
            body["data"].clone()
        } else {
            body
        },
    ))
}

/// A database with an Admin, and a bearer token for it.
pub(crate) async fn prepared() -> (String, Option<tempfile::TempDir>, Db, String) {
    let (url, dir) = fresh_database_url().await;
    let db = Db::connect(&url).await.expect("connect and migrate");
    let token = admin_with_token(&db).await;
    (url, dir, db, token)
}

/// Makes the Admin on `db` and returns a bearer token for it.
pub(crate) async fn admin_with_token(db: &Db) -> String {
    let setup = Actor::system("test setup");
    accounts::create_account(db, &setup, "admin", ADMIN_PASSWORD, "Admin")
        .await
        .unwrap();
    tokens::create_token_for(db, "admin", "tests", None, Default::default())
        .await
        .unwrap()
        .value
}

/// A consumer named `name` with a key bound to it and a rule granting it the `world`'s API:
/// (consumer ID, key ID, key value).
pub(crate) async fn granted_holder(
    base: &str,
    token: &str,
    (gateway, environment, api): &(String, String, String),
    name: &str,
) -> (String, String, String) {
    let c = reqwest::Client::new();
    let post = || reqwest::Method::POST;
    let ok = |answer: Result<(u16, Value), reqwest::Error>| {
        let (status, data) = answer.unwrap();
        assert_eq!(status, 200, "{data}");
        data
    };
    let consumer = ok(call(
        &c,
        base,
        token,
        post(),
        "/v1/consumers",
        Some(json!({"gatewayId": gateway, "name": name})),
    )
    .await);
    let consumer = consumer["consumerId"].as_str().unwrap().to_owned();
    let key = ok(call(
        &c,
        base,
        token,
        post(),
        "/v1/keys",
        Some(json!({"gatewayId": gateway, "name": format!("{name}-key")})),
    )
    .await);
    let (key_id, value) = (
        key["key"]["keyId"].as_str().unwrap().to_owned(),
        key["value"].as_str().unwrap().to_owned(),
    );
    ok(call(
        &c,
        base,
        token,
        post(),
        &format!("/v1/consumers/{consumer}/credentials"),
        Some(json!({"keyId": key_id})),
    )
    .await);
    ok(call(
        &c,
        base,
        token,
        post(),
        "/v1/authorization-rules",
        Some(
            json!({"principalType": "Consumer", "principalId": consumer, "apiId": api,
            "environmentId": environment, "expireMode": "LongTerm"}),
        ),
    )
    .await);
    (consumer, key_id, value)
}

/// A gateway with one model API; returns the gateway, environment and API IDs.
pub(crate) async fn world(base: &str, token: &str) -> (String, String, String) {
    let c = reqwest::Client::new();
    let post = reqwest::Method::POST;
    let (s, gw) = call(
        &c,
        base,
        token,
        post.clone(),
        "/v1/gateways",
        Some(
            json!({"name": "durable", "region": "local", "engineVersion": "1", "description": ""}),
        ),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{gw}");
    let gateway = gw["gatewayId"].as_str().unwrap().to_owned();
    let (_, envs) = call(
        &c,
        base,
        token,
        reqwest::Method::GET,
        &format!("/v1/environments?gatewayId={gateway}"),
        None,
    )
    .await
    .unwrap();
    let environment = envs["items"][0]["environmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, api) = call(
        &c,
        base,
        token,
        post,
        "/v1/model-apis",
        Some(json!({
            "gatewayId": gateway, "name": "chat", "basePath": "/v1/chat",
            "aiProtocols": ["OpenAI/v1"], "modelCategory": "Text",
            "description": "", "environmentIds": [environment]
        })),
    )
    .await
    .unwrap();
    assert_eq!(s, 200, "{api}");
    (
        gateway,
        environment,
        api["apiId"].as_str().unwrap().to_owned(),
    )
}

/// What the clients were told was done, and the updates sent but not (yet) answered.
#[derive(Default, Clone)]
struct Acks {
    /// Consumer ID -> name.
    consumers: HashMap<String, String>,
    keys: Vec<String>,
    /// Key ID -> the consumer it was bound to.
    bindings: HashMap<String, String>,
    rules: Vec<String>,
    /// Consumer ID -> the description last answered 200, and those sent after it.
    descriptions: HashMap<String, (String, Vec<String>)>,
}

/// One client: create a consumer, a key, bind it, grant a rule, update the consumer; again,
/// until the server stops answering. Every answer is 200 or no answer at all.
async fn client(
    base: String,
    token: String,
    ids: Arc<(String, String, String)>,
    name: String,
    acks: Arc<Mutex<Acks>>,
) {
    let c = reqwest::Client::new();
    let (gateway, environment, api) = (&ids.0, &ids.1, &ids.2);
    let post = reqwest::Method::POST;
    macro_rules! answered {
        ($res:expr) => {
            match $res {
                Ok((200, data)) => data,
                Ok((status, body)) => panic!("answered {status}: {body}"),
                Err(_) => return,
            }
        };
    }
    for n in 0.. {
        let consumer_name = format!("{name}-{n}");
        let consumer = answered!(
            call(
                &c,
                &base,
                &token,
                post.clone(),
                "/v1/consumers",
                Some(json!({"gatewayId": gateway, "name": consumer_name}))
            )
            .await
        );
        let consumer_id = consumer["consumerId"].as_str().unwrap().to_owned();
        acks.lock()
            .unwrap()
            .consumers
            .insert(consumer_id.clone(), consumer_name.clone());

        let key = answered!(
            call(
                &c,
                &base,
                &token,
                post.clone(),
                "/v1/keys",
                Some(json!({"gatewayId": gateway, "name": format!("{consumer_name}-key")}))
            )
            .await
        );
        let key_id = key["key"]["keyId"].as_str().unwrap().to_owned();
        acks.lock().unwrap().keys.push(key_id.clone());

        answered!(
            call(
                &c,
                &base,
                &token,
                post.clone(),
                &format!("/v1/consumers/{consumer_id}/credentials"),
                Some(json!({"keyId": key_id}))
            )
            .await
        );
        acks.lock()
            .unwrap()
            .bindings
            .insert(key_id, consumer_id.clone());

        let rule =
            answered!(call(&c, &base, &token, post.clone(), "/v1/authorization-rules",
            Some(json!({"principalType": "Consumer", "principalId": consumer_id, "apiId": api,
                "environmentId": environment, "expireMode": "LongTerm"}))).await);
        acks.lock().unwrap().rules.push(
            rule["consumerAuthorizationRuleId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );

        let description = format!("updated {n}");
        acks.lock()
            .unwrap()
            .descriptions
            .entry(consumer_id.clone())
            .or_insert_with(|| (String::new(), vec![]))
            .1
            .push(description.clone());
        answered!(call(&c, &base, &token, reqwest::Method::PUT, &format!("/v1/consumers/{consumer_id}"),
            Some(json!({"name": consumer_name, "description": description, "version": consumer["version"]}))).await);
        let mut a = acks.lock().unwrap();
        let entry = a.descriptions.get_mut(&consumer_id).unwrap();
        *entry = (description, vec![]);
    }
}

async fn text_of(db: &Db, sql: &str, id: &str) -> Option<String> {
    sqlx::query_scalar::<_, Option<String>>(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(id.to_owned())
        .fetch_optional(&db.pool)
        .await
        .unwrap()
        .flatten()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

/// Every acknowledged write is stored, and no record lacks its audit entry.
async fn verify(db: &Db, acks: &Acks, round: usize) {
    for (id, name) in &acks.consumers {
        let stored = text_of(db, "SELECT name FROM consumers WHERE id = $1", id).await;
        assert_eq!(
            stored.as_deref(),
            Some(name.as_str()),
            "round {round}: consumer {id} lost"
        );
    }
    for (id, (acked, in_flight)) in &acks.descriptions {
        let stored = text_of(db, "SELECT description FROM consumers WHERE id = $1", id)
            .await
            .unwrap_or_default();
        assert!(
            stored == *acked || in_flight.contains(&stored),
            "round {round}: consumer {id} has {stored:?}, acknowledged {acked:?}"
        );
    }
    for id in &acks.keys {
        let stored = text_of(db, "SELECT id FROM api_keys WHERE id = $1", id).await;
        assert!(stored.is_some(), "round {round}: key {id} lost");
    }
    for (key, consumer) in &acks.bindings {
        let bound = text_of(db, "SELECT consumer_id FROM api_keys WHERE id = $1", key).await;
        assert_eq!(
            bound.as_deref(),
            Some(consumer.as_str()),
            "round {round}: binding of {key} lost"
        );
    }
    for id in &acks.rules {
        let stored = text_of(db, "SELECT id FROM authorization_rules WHERE id = $1", id).await;
        assert!(stored.is_some(), "round {round}: rule {id} lost");
    }
    for table in ["consumers", "api_keys", "authorization_rules"] {
        let unaudited = count(
            db,
            &format!("SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.resource_id = t.id)"),
        )
        .await;
        assert_eq!(
            unaudited, 0,
            "round {round}: {table} without their audit entry"
        );
    }
    if db.backend == gateway_console::store::Backend::Sqlite {
        assert_eq!(integrity(db.url()).await, "ok", "round {round}");
    }
}

/// `PRAGMA integrity_check` on a new connection. (A connection that was open across the
/// other process's writes can report FTS5 segments that a merge has since removed: its
/// cached view of the index is stale, the file is sound.)
async fn integrity(url: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::sqlite::SqliteConnection::connect(url).await.unwrap();
    let check = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    check
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_under_write_load_loses_no_acknowledged_write_in_ten_rounds() {
    let _alone = crate::common::whole_machine().await;
    let (url, _dir, db, token) = prepared().await;
    let mut server = Server::start(&url).await;
    let ids = Arc::new(world(&server.base, &token).await);
    let acks = Arc::new(Mutex::new(Acks::default()));
    for round in 0..KILL_ROUNDS {
        let writers: Vec<_> = (0..CLIENTS)
            .map(|i| {
                tokio::spawn(client(
                    server.base.clone(),
                    token.clone(),
                    ids.clone(),
                    format!("r{round}c{i}"),
                    acks.clone(),
                ))
            })
            .collect();
        // Kill at a different moment of the load in every round.
        tokio::time::sleep(Duration::from_millis(300 + 97 * round as u64 % 400)).await;
        server.kill();
        for w in writers {
            w.await
                .expect("a client saw only 200s or a dropped connection");
        }
        server = Server::start(&url).await;
        let answered = acks.lock().unwrap().clone();
        verify(&db, &answered, round).await;
    }
    let acks = acks.lock().unwrap();
    eprintln!(
        "{KILL_ROUNDS} SIGKILL rounds: {} consumers, {} keys, {} bindings, {} rules acknowledged and found",
        acks.consumers.len(),
        acks.keys.len(),
        acks.bindings.len(),
        acks.rules.len()
    );
    assert!(
        acks.consumers.len() >= KILL_ROUNDS * CLIENTS,
        "too little load: {}",
        acks.consumers.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_under_write_load_holds_every_write_acknowledged_before_it() {
    if std::env::var_os("TEST_DATABASE_URL").is_some() {
        return; // PostgreSQL is backed up with pg_dump (README, Operations)
    }
    let _alone = crate::common::whole_machine().await;
    let (url, dir, _db, token) = prepared().await;
    let server = Server::start(&url).await;
    let ids = Arc::new(world(&server.base, &token).await);
    let acks = Arc::new(Mutex::new(Acks::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (base, token, ids, acks, stop) =
                (server.base.clone(), token.clone(), ids.clone(), acks.clone(), stop.clone());
            tokio::spawn(async move {
                let run = client(base, token, ids, format!("b{i}"), acks);
                tokio::select! {
                    _ = run => {}
                    _ = async { while !stop.load(Ordering::Relaxed) { tokio::time::sleep(Duration::from_millis(20)).await } } => {}
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let acknowledged_before: Vec<String> = acks.lock().unwrap().consumers.keys().cloned().collect();
    let copy = dir.as_ref().unwrap().path().join("backups/copy.db");
    let out = {
        let (copy, url) = (copy.clone(), url.clone());
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["backup", "--to"])
                .arg(&copy)
                .env("DATABASE_URL", &url)
                .env("RUST_LOG", "error")
                .output()
        })
        .await
        .unwrap()
        .unwrap()
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    let after = acks.lock().unwrap().consumers.len();
    assert!(
        after > acknowledged_before.len(),
        "the writes went on during the backup"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
    assert_eq!(mode & 0o077, 0, "the copy holds hashes: owner only");

    // A server on the copy: sound, and holding everything acknowledged before the backup.
    let copy_url = format!("sqlite:{}", copy.display());
    let restored = Server::start(&copy_url).await;
    assert_eq!(integrity(&copy_url).await, "ok");
    for id in &acknowledged_before {
        let (status, _) = call(
            &reqwest::Client::new(),
            &restored.base,
            &token,
            reqwest::Method::GET,
            &format!("/v1/consumers/{id}"),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            status, 200,
            "consumer {id}, acknowledged before the backup, is not in it"
        );
    }
    // A second backup to the same file is refused rather than overwriting it.
    let again = std::process::Command::new(BIN)
        .args(["backup", "--to"])
        .arg(&copy)
        .env("DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("already exists") && said.lines().count() == 1,
        "{said}"
    );
}

#[test]
fn a_database_that_cannot_be_opened_is_one_line_and_a_failing_exit() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-folder");
    std::fs::write(&file, "x").unwrap();
    let out = Command::new(BIN)
        .env(
            "DATABASE_URL",
            format!("sqlite:{}/console.db", file.display()),
        )
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(said.lines().count(), 1, "{said}");
    assert!(
        said.contains("cannot open the database") && said.contains("not-a-folder"),
        "{said}"
    );
    assert!(!said.contains("panicked"));
}

#[tokio::test]
async fn sqlite_connections_sync_every_commit() {
    let (url, _dir) = fresh_database_url().await;
    let db = Db::connect(&url).await.unwrap();
    if db.backend != gateway_console::store::Backend::Sqlite {
        return;
    }
    // Several connections at once, so more than the first one is looked at.
    let mut held = vec![];
    for _ in 0..3 {
        let mut conn = db.pool.acquire().await.unwrap();
        let level: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(level, 2, "synchronous = FULL");
        held.push(conn);
    }
}
