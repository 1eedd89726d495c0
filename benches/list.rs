//! `make bench-list`: the consumer list at 1,000 and at 1,000,000 consumers, through the
//! server function and the server-rendered page, beside a trivial axum handler measured in
//! the same run. The 1M database is built once (bulk insert) and reused.

use gateway_console::domain::inputs::NewInstance;
use gateway_console::domain::records::{CurrentUser, Role};
use gateway_console::domain::{IdKind, PageRequest, ResourceId};
use gateway_console::server::{leptos_options, router, AppState};
use gateway_console::service::{auth, instances, Actor};
use gateway_console::store::{now_ms, Db};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-password-1";

async fn instance_with(db: &Db, name: &str, consumers: usize) -> String {
    let page = instances::list_instances(db, name, PageRequest::default())
        .await
        .unwrap();
    if let Some(i) = page.items.into_iter().find(|i| i.name == name) {
        return i.id;
    }
    let actor = Actor {
        user: CurrentUser {
            id: "bench".into(),
            username: "bench".into(),
            role: Role::Admin,
        },
        request_id: "bench".into(),
    };
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
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
    println!(
        "seeded {consumers} consumers into {name} in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    instance.id
}

struct Stats {
    p50: Duration,
    p99: Duration,
    rps: f64,
}

/// Sequential latency over `n` requests, then throughput with 8 concurrent clients for 2 s.
async fn measure(
    client: &reqwest::Client,
    make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder + Clone + Send + 'static,
) -> Stats {
    for _ in 0..20 {
        assert!(make(client).send().await.unwrap().status().is_success());
    }
    let mut samples = Vec::with_capacity(300);
    for _ in 0..300 {
        let t = Instant::now();
        let res = make(client).send().await.unwrap();
        assert!(res.status().is_success(), "status {}", res.status());
        res.bytes().await.unwrap();
        samples.push(t.elapsed());
    }
    samples.sort();
    let deadline = Instant::now() + Duration::from_secs(2);
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
    Stats {
        p50: samples[samples.len() / 2],
        p99: samples[samples.len() * 99 / 100],
        rps: total as f64 / 2.0,
    }
}

fn report(name: &str, s: &Stats) {
    println!(
        "{name:<44} p50 {:>8.2} ms   p99 {:>8.2} ms   {:>8.0} req/s",
        s.p50.as_secs_f64() * 1e3,
        s.p99.as_secs_f64() * 1e3,
        s.rps
    );
}

#[tokio::main]
async fn main() {
    let dir = std::path::Path::new("target/bench-data");
    std::fs::create_dir_all(dir).unwrap();
    let db = Db::connect(&format!("sqlite:{}", dir.join("list.db").display()))
        .await
        .unwrap();
    let _ = auth::create_account(&db, "bench", PASSWORD, Role::Admin).await;
    let small = instance_with(&db, "bench-1k", 1_000).await;
    let large = instance_with(&db, "bench-1m", 1_000_000).await;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let state = AppState {
        leptos_options: leptos_options(addr),
        db,
        secure_cookies: false,
    };
    let app = router(state).route("/bench/trivial", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let base = format!("http://{addr}");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let res = client
        .post(format!("{base}/api/sign_in"))
        .header("Accept", "application/json")
        .form(&[("username", "bench"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "sign in: {}", res.status());

    let trivial = {
        let url = format!("{base}/bench/trivial");
        measure(&client, move |c| c.get(&url)).await
    };
    report("trivial axum handler (same server)", &trivial);
    for (label, instance) in [("1k", &small), ("1M", &large)] {
        for (what, page, like) in [
            ("page 1", "1", ""),
            ("page 5000", "5000", ""),
            ("name search", "1", "consumer-00009"),
        ] {
            if label == "1k" && page == "5000" {
                continue;
            }
            let (url, form) = (
                format!("{base}/api/list_consumers"),
                [
                    ("instance_id".to_owned(), instance.clone()),
                    ("name_like".to_owned(), like.to_owned()),
                    ("page_number".to_owned(), page.to_owned()),
                ],
            );
            let s = measure(&client, move |c| {
                c.post(&url)
                    .header("Accept", "application/json")
                    .form(&form)
            })
            .await;
            report(&format!("list_consumers {label} {what}"), &s);
            let url = format!("{base}/instances/{instance}/consumers?page={page}&q={like}");
            let s = measure(&client, move |c| c.get(&url)).await;
            report(&format!("SSR consumer page {label} {what}"), &s);
        }
    }
}
