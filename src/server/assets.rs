//! The browser's files under `/pkg` (the WASM, its JavaScript glue and the stylesheet):
//! served precompressed — the `.br` or `.gz` beside each file that `make build` writes,
//! chosen by `Accept-Encoding` — and, when their names carry a content hash, cacheable for a
//! year: a new build has new names, so a browser never needs to ask again. Everything else
//! the console answers (pages, server functions, REST) is compressed as it goes out by
//! `compression()`; the proxy's `/authz/check` never is.

use axum::http::{header, HeaderValue, Response, StatusCode};
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
    let cache = move |res: &Response<_>| {
        let ok = res.status() == StatusCode::OK || res.status() == StatusCode::NOT_MODIFIED;
        ok.then(|| {
            // Unhashed names (a development build) may change content: ask every time, and
            // get a 304 when nothing changed.
            HeaderValue::from_static(if hashed { IMMUTABLE } else { "no-cache" })
        })
    };
    let files = ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            cache,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .service(ServeDir::new(dir).precompressed_br().precompressed_gzip());
    axum::routing::get_service(files)
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
