//! `make bench-list`: the consumer list at 1,000 and at 1,000,000 consumers, through the
//! server function and the server-rendered page, beside a trivial axum handler measured in
//! the same run. The 1M database is built once (bulk insert) and reused.

mod common;

use common::{bench_actor, bench_db, instance_with, measure, report, serve, PASSWORD};
use gateway_console::service::accounts;

#[global_allocator]
static ALLOCATOR: gateway_console::ServerAllocator = gateway_console::ServerAllocator;

#[tokio::main]
async fn main() {
    common::server_allocator();
    let db = bench_db().await;
    let _ = accounts::create_account(&db, &bench_actor(), "bench", PASSWORD, "Admin").await;
    let small = instance_with(&db, "bench-1k", 1_000).await;
    let large = instance_with(&db, "bench-1m", 1_000_000).await;

    let base = serve(db, axum::routing::get(|| async { "ok" })).await;

    // A browser sends its page's origin with every server-function call.
    let mut origin = reqwest::header::HeaderMap::new();
    origin.insert("origin", base.parse().unwrap());
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(origin)
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
