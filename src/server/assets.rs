//! The browser's files under `/pkg` (the WASM, its JavaScript glue and the stylesheet):
//! served precompressed — the `.br` or `.gz` beside each file that `make build` writes,
//! chosen by `Accept-Encoding` — and, when their names carry a content hash, cacheable for a
//! year: a new build has new names, so a browser never needs to ask again. Everything else
//! the console answers (pages, server functions, REST) is compressed as it goes out by
//! `compression()`; the proxy's `/authz/check` never is.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use leptos::prelude::LeptosOptions;
use std::path::PathBuf;
use tower::ServiceBuilder;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// How long a browser keeps a file whose name carries its content hash.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Answers below this size are sent as they are: compressing them saves less than it costs.
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// The service behind `/pkg`: precompressed files, with the caching their names allow.
pub fn service(options: &LeptosOptions) -> axum::routing::MethodRouter {
    let dir = PathBuf::from(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let hashed = options.hash_files;
    let files = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(ServeDir::new(dir).precompressed_br().precompressed_gzip());
    axum::routing::get_service(files).layer(axum::middleware::from_fn(
        move |req: Request, next: Next| async move {
            let immutable = hashed && named_by_content(req.uri().path());
            let mut res = next.run(req).await;
            let ok = res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED;
            if ok {
                // A name without a content hash (a development build, or the WASM split
                // loader, whose name is fixed) may change content: ask every time, and get a
                // 304 when nothing changed.
                let policy = if immutable { IMMUTABLE } else { "no-cache" };
                res.headers_mut()
                    .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
            }
            res
        },
    ))
}

/// Whether a file's name carries the hash of its content (`name.<22 base64url>.ext`, as
/// cargo-leptos' hash-files writes it), rather than the all-underscores placeholder that the
/// WASM split loader keeps.
fn named_by_content(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or_default();
    name.split('.').any(|part| {
        part.len() == 22
            && part
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && part.bytes().any(|b| b != b'_')
    })
}

/// Compression of what the console answers as it goes out (brotli or gzip, as the client
/// accepts): HTML, server-function and REST JSON, when larger than 1 KiB. Not images, and
/// not what is already encoded (the precompressed files).
pub fn compression() -> CompressionLayer<impl Predicate> {
    let worth_it = SizeAbove::new(COMPRESS_ABOVE_BYTES)
        .and(NotForContentType::GRPC)
        .and(NotForContentType::IMAGES)
        .and(NotForContentType::SSE);
    CompressionLayer::new()
        .br(true)
        .gzip(true)
        .no_deflate()
        .no_zstd()
        .compress_when(worth_it)
}

#[cfg(test)]
mod tests {
    use super::named_by_content;

    #[test]
    fn only_names_that_carry_a_content_hash_are_cached_for_a_year() {
        assert!(named_by_content(
            "/gateway-console.ndg5go3ShZTEl1pF0AZXTg.wasm"
        ));
        assert!(named_by_content("/chunk_15.vVBQLIloRcZelBT-UY0wxQ.wasm"));
        assert!(named_by_content(
            "/gateway-console.lRwunNQSbbeEPK74zaIlbQ.js"
        ));
        assert!(!named_by_content("/__wasm_split.______________________.js"));
        assert!(!named_by_content("/gateway-console.wasm"));
        assert!(!named_by_content("/gateway-console.css"));
    }
}
