//! PostgreSQL goes away for 10 s under load (a private cluster, stopped and started again
//! with `pg_ctl`): REST answers 503 `Unavailable` promptly and never 500, `/readyz` says 503,
//! the check keeps deciding from its snapshot, and everything recovers without a restart.
//! Runs in the PostgreSQL pass of the suite (when `TEST_DATABASE_URL` is set).

use crate::common::ADMIN_PASSWORD;
use crate::durability::{admin_with_token, call, free_port, granted_holder, world, Server};
use gateway_console::store::Db;
use serde_json::json;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OUTAGE: Duration = Duration::from_secs(10);
/// The longest any answer may take while the database is away: the pool's acquire timeout
/// and a margin.
const PROMPT: Duration = Duration::from_secs(5);

/// A throw-away PostgreSQL cluster of this test's own, so stopping it disturbs no other test.
struct Cluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

fn as_postgres(program: PathBuf) -> Command {
    // PostgreSQL refuses to run as root.
    if Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout == b"0\n")
        .unwrap_or(false)
    {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl Cluster {
    fn start() -> Cluster {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL is installed (make tools-test)")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("bin"))
            .max()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let _ = Command::new("chown")
            .arg("postgres")
            .arg(dir.path())
            .status();
        let cluster = Cluster {
            bin,
            dir,
            port: free_port(),
        };
        let ok = as_postgres(cluster.bin.join("initdb"))
            .arg("-D")
            .arg(cluster.data())
            .args(["-U", "postgres", "-A", "trust"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "initdb");
        cluster.up();
        cluster
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let ok = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-o", &options, "-l"])
            .arg(self.dir.path().join("log"))
            .args(["-w", "start"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "pg_ctl start");
    }

    /// A fast shutdown: open connections are terminated, new ones refused.
    fn down(&self) {
        let ok = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "fast", "-w", "stop"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success(), "pg_ctl stop");
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Before,
    Down,
    Back,
}

/// One answer seen by the load: when, how long it took, its status and error code.
struct Seen {
    phase: Phase,
    /// The phase when the answer arrived: a request sent just before the outage may be
    /// answered during it.
    answered_in: Phase,
    took: Duration,
    status: u16,
    code: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postgresql_outage_is_503_never_500_and_heals_itself() {
    if std::env::var_os("TEST_DATABASE_URL").is_none() {
        return; // SQLite is in the process: it cannot go away on its own
    }
    let _alone = crate::common::whole_machine().await;
    let cluster = Cluster::start();
    let url = cluster.url();
    let db = Db::connect(&url).await.expect("connect and migrate");
    let token = admin_with_token(&db).await;
    db.pool.close().await;
    let server = Server::start_with(&url, &[("CONSOLE_AUTHZ_TRUST_PROXY_HEADERS", "1")]).await;
    let world = world(&server.base, &token).await;
    let gateway = world.0.clone();
    let (consumer, _, key) = granted_holder(&server.base, &token, &world, "steady").await;
    let c = reqwest::Client::new();
    let check = {
        let (base, gateway, key) = (server.base.clone(), gateway.clone(), key.clone());
        move || {
            let (base, gateway, key) = (base.clone(), gateway.clone(), key.clone());
            async move {
                reqwest::Client::new()
                    .get(format!("{base}/authz/check"))
                    .header("x-gateway-id", gateway)
                    .header("x-original-uri", "/v1/chat/completions")
                    .header("x-api-key", key)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            }
        }
    };
    let deadline = Instant::now() + Duration::from_secs(3);
    while check().await != 200 {
        assert!(Instant::now() < deadline, "the key is never allowed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A signed-in console user, to call a server function and open a page during the outage.
    let console = crate::common::browser(&server.base);
    let signed = console
        .post(format!("{}/api/sign_in", server.base))
        .header("Accept", "application/json")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(signed.status().is_success() || signed.status().is_redirection());
    let console_calls = || async {
        let f = console
            .post(format!("{}/api/list_instances", server.base))
            .header("Accept", "application/json")
            .form(&[("search", "")])
            .send()
            .await
            .unwrap();
        let f = (f.status().as_u16(), f.text().await.unwrap());
        let page = console
            .get(format!("{}/instances", server.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        (f, page)
    };
    let ((s, _), page) = console_calls().await;
    assert_eq!((s, page), (200, 200));

    // Load: reads and writes, every answer recorded with the phase it was sent in.
    let phase = Arc::new(Mutex::new(Phase::Before));
    let seen = Arc::new(Mutex::new(Vec::<Seen>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let load: Vec<_> = (0..4)
        .map(|i| {
            let (base, token, gateway) = (server.base.clone(), token.clone(), gateway.clone());
            let (phase, seen, stop) = (phase.clone(), seen.clone(), stop.clone());
            tokio::spawn(async move {
                let c = reqwest::Client::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let sent_in = *phase.lock().unwrap();
                    let started = Instant::now();
                    let answer = if i % 2 == 0 {
                        call(
                            &c,
                            &base,
                            &token,
                            reqwest::Method::GET,
                            &format!("/v1/consumers?gatewayId={gateway}&pageSize=10"),
                            None,
                        )
                        .await
                    } else {
                        call(
                            &c,
                            &base,
                            &token,
                            reqwest::Method::POST,
                            "/v1/consumers",
                            Some(json!({"gatewayId": gateway, "name": format!("load-{i}-{n}")})),
                        )
                        .await
                    };
                    let (status, body) = answer.expect("the server itself stays up");
                    let answered_in = *phase.lock().unwrap();
                    seen.lock().unwrap().push(Seen {
                        phase: sent_in,
                        answered_in,
                        took: started.elapsed(),
                        status,
                        code: match &body {
                            serde_json::Value::String(text) => format!("not JSON: {text}"),
                            body => body["code"].as_str().unwrap_or("Ok").to_owned(),
                        },
                    });
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;

    *phase.lock().unwrap() = Phase::Down;
    cluster.down();
    let down_at = Instant::now();
    let mut ready_during = vec![];
    let mut checks_during = vec![];
    while down_at.elapsed() < OUTAGE {
        let r = reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap();
        ready_during.push(r.status().as_u16());
        checks_during.push(check().await);
        let (function, page) = console_calls().await;
        assert_eq!(
            function,
            (503, "\"Unavailable\"".to_owned()),
            "a server function"
        );
        assert_eq!(page, 503, "a page");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    cluster.up();
    *phase.lock().unwrap() = Phase::Back;
    let back_at = Instant::now();
    let healed = loop {
        let r = reqwest::get(format!("{}/readyz", server.base))
            .await
            .unwrap();
        let (s, _) = call(
            &c,
            &server.base,
            &token,
            reqwest::Method::GET,
            &format!("/v1/consumers/{consumer}"),
            None,
        )
        .await
        .unwrap();
        if r.status() == 200 && s == 200 {
            break back_at.elapsed();
        }
        assert!(
            back_at.elapsed() < Duration::from_secs(20),
            "not healed 20 s after the database came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for l in load {
        l.await.unwrap();
    }

    let seen = seen.lock().unwrap();
    let during: Vec<&Seen> = seen.iter().filter(|s| s.phase == Phase::Down).collect();
    eprintln!(
        "outage: {} answers before, {} during (slowest {:?}), healed {:?} after the database returned",
        seen.iter().filter(|s| s.phase == Phase::Before).count(),
        during.len(),
        during.iter().map(|s| s.took).max(),
        healed
    );
    for s in seen.iter() {
        assert!(
            s.status == 200 || (s.status == 503 && s.code == "Unavailable"),
            "{:?}: {} {} after {:?}",
            s.phase,
            s.status,
            s.code,
            s.took
        );
        assert!(
            s.took <= PROMPT,
            "{:?}: an answer took {:?}",
            s.phase,
            s.took
        );
    }
    assert!(
        during.iter().any(|s| s.status == 503),
        "the outage was seen"
    );
    assert!(seen
        .iter()
        .filter(|s| s.phase == Phase::Before && s.answered_in == Phase::Before)
        .all(|s| s.status == 200));
    assert!(
        ready_during.iter().skip(1).all(|s| *s == 503),
        "readyz during: {ready_during:?}"
    );
    assert!(
        checks_during.iter().all(|s| *s == 200),
        "check during: {checks_during:?}"
    );
    let last = seen
        .iter()
        .rev()
        .find(|s| s.phase == Phase::Back)
        .map(|s| s.status);
    assert!(last.is_none_or(|s| s == 200), "the load recovered");
}
