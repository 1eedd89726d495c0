//! Gateway Console: a Leptos (SSR + hydration) console and its server.

#[cfg(feature = "ssr")]
pub mod api;
pub mod app;
pub mod domain;
pub mod error;
pub mod server_fns;
pub mod ui;

#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod enforce;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod server;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod state;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod telemetry;

/// The allocator the server runs with (declared `#[global_allocator]` by `main.rs` and by the
/// benchmarks that serve in process): mimalloc, since under load glibc's malloc makes threads
/// wait on its arena locks.
#[cfg(feature = "ssr")]
pub use mimalloc::MiMalloc as ServerAllocator;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
