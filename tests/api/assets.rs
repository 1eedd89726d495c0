//! The browser's files and the console's answers on the wire: `/pkg` files precompressed
//! (brotli or gzip, as the client accepts) and cacheable for a year when their names carry
//! a content hash; pages, server functions and REST JSON compressed as they go out; the
//! proxy's check never.

use crate::common::{client, spawn_app, spawn_site_on};
use reqwest::header::{ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, VARY};

/// A site laid out as `make build` lays out `target/site`: a WASM named by its content hash
/// (22 base64url characters) with its `.br` and `.gz` beside it (their bytes tell which one
/// was sent), and the WASM split loader, whose name is fixed.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(
        pkg.join("app.AbCdEfGhIjKlMnOpQrSt_w.wasm"),
        vec![b'w'; 4096],
    )
    .unwrap();
    std::fs::write(
        pkg.join("app.AbCdEfGhIjKlMnOpQrSt_w.wasm.br"),
        b"brotli bytes",
    )
    .unwrap();
    std::fs::write(
        pkg.join("app.AbCdEfGhIjKlMnOpQrSt_w.wasm.gz"),
        b"gzip bytes",
    )
    .unwrap();
    std::fs::write(pkg.join("plain.css"), b"body { margin: 0 }").unwrap();
    std::fs::write(pkg.join(LOADER), b"export const load = 1;").unwrap();
    dir
}

const LOADER: &str = "__wasm_split.______________________.js";

async fn get(url: &str, accept: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url);
    if let Some(encodings) = accept {
        req = req.header(ACCEPT_ENCODING, encodings);
    }
    req.send().await.unwrap()
}

fn header(res: &reqwest::Response, name: reqwest::header::HeaderName) -> String {
    res.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn hashed_files_are_sent_precompressed_and_cached_for_a_year() {
    let app = spawn_app().await;
    let dir = site();
    let served = spawn_site_on(&app, dir.path(), true).await;
    let wasm = format!("{}/pkg/app.AbCdEfGhIjKlMnOpQrSt_w.wasm", served.base);

    // No session needed: the sign-in page loads them.
    let br = get(&wasm, Some("gzip, deflate, br")).await;
    assert_eq!(br.status(), 200);
    assert_eq!(header(&br, CONTENT_ENCODING), "br");
    assert_eq!(
        header(&br, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert!(header(&br, VARY)
        .to_ascii_lowercase()
        .contains("accept-encoding"));
    assert_eq!(
        header(&br, reqwest::header::CONTENT_TYPE),
        "application/wasm"
    );
    assert_eq!(br.bytes().await.unwrap().as_ref(), b"brotli bytes");

    let gz = get(&wasm, Some("gzip")).await;
    assert_eq!(header(&gz, CONTENT_ENCODING), "gzip");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzip bytes");

    let raw = get(&wasm, None).await;
    assert_eq!(header(&raw, CONTENT_ENCODING), "");
    assert_eq!(
        header(&raw, CACHE_CONTROL),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(raw.bytes().await.unwrap().len(), 4096);

    // What is not there is not cached.
    let missing = get(
        &format!("{}/pkg/app.ffff0000.wasm", served.base),
        Some("br"),
    )
    .await;
    assert_eq!(missing.status(), 404);
    assert_eq!(header(&missing, CACHE_CONTROL), "");
    // Nothing outside the folder is reachable through it.
    let outside = get(&format!("{}/pkg/../Cargo.toml", served.base), None).await;
    assert_ne!(outside.status(), 200);

    // The split loader's name is fixed while its content names the chunks of this build:
    // revalidated on every visit, never kept for a year.
    let loader = get(&format!("{}/pkg/{LOADER}", served.base), None).await;
    assert_eq!(loader.status(), 200);
    assert_eq!(header(&loader, CACHE_CONTROL), "no-cache");
}

#[tokio::test]
async fn unhashed_files_are_revalidated_each_time() {
    let app = spawn_app().await;
    let dir = site();
    let served = spawn_site_on(&app, dir.path(), false).await;
    let css = format!("{}/pkg/plain.css", served.base);
    let first = get(&css, None).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, CACHE_CONTROL), "no-cache");
    let modified = header(&first, reqwest::header::LAST_MODIFIED);
    assert!(!modified.is_empty());
    let again = client()
        .get(&css)
        .header(reqwest::header::IF_MODIFIED_SINCE, modified)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "a revalidation transfers nothing");
}

#[tokio::test]
async fn pages_and_json_are_compressed_and_the_check_never_is() {
    let app = spawn_app().await;
    let page = get(&format!("{}/login", app.base), Some("br")).await;
    assert_eq!(page.status(), 200);
    assert_eq!(header(&page, CONTENT_ENCODING), "br");
    assert!(header(&page, VARY)
        .to_ascii_lowercase()
        .contains("accept-encoding"));

    let token = app.token("admin").await;
    let doc = client()
        .get(format!("{}/v1/openapi.json", app.base))
        .bearer_auth(&token)
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(doc.status(), 200);
    assert_eq!(header(&doc, CONTENT_ENCODING), "gzip");
    let plain = client()
        .get(format!("{}/v1/openapi.json", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(&plain, CONTENT_ENCODING),
        "",
        "only when the client asks"
    );
    let (zipped, whole) = (doc.bytes().await.unwrap(), plain.bytes().await.unwrap());
    assert!(
        zipped.len() * 4 < whole.len(),
        "{} of {}",
        zipped.len(),
        whole.len()
    );

    // A small answer goes as it is.
    let small = get(&format!("{}/healthz", app.base), Some("br")).await;
    assert_eq!(header(&small, CONTENT_ENCODING), "");

    let check = client()
        .get(format!("{}/authz/check", app.base))
        .header(ACCEPT_ENCODING, "br, gzip")
        .header("x-original-uri", "/v1/chat/completions")
        .header("authorization", format!("Bearer {}", "k".repeat(2048)))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&check, CONTENT_ENCODING), "");
}
