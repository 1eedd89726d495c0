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

/// `mi_option_purge_delay` in mimalloc.h (libmimalloc-sys names only some options).
#[cfg(feature = "ssr")]
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long memory the server has freed is kept for reuse before it goes back to the system,
/// in milliseconds.
///
/// mimalloc's default gave it back after a second, and the next usage flush (every 5 s) or
/// quota exchange took it from the system again, each page faulted in (and zeroed) anew:
/// under `BENCH_RATE_LIMITS=1 make bench-authz` that was 4 % of the server's CPU, and the
/// check's CPU per request went from 28–43 µs to 20–22 µs with freed memory kept. Kept for
/// good (`-1`), the server's resident size stayed at its busiest moment, and `make soak` grew
/// 27–51 % after its warm-up; ten seconds outlasts the flush interval, and `make soak` grew
/// 6.5 % and 10.5 % in two runs (README, Benchmarks, *The soak's memory*).
#[cfg(feature = "ssr")]
pub const FREED_MEMORY_KEPT_MS: std::ffi::c_long = 10_000;

/// Keeps the memory the server frees for [`FREED_MEMORY_KEPT_MS`], unless
/// `MIMALLOC_PURGE_DELAY` says how many milliseconds (`-1`: for good).
/// Called first thing in `main` (and in the benchmarks that serve in process).
#[cfg(feature = "ssr")]
pub fn keep_freed_memory() {
    // SAFETY: sets one option's value (unless the environment set it), read by mimalloc
    // when it decides to purge; no other memory is touched.
    unsafe { libmimalloc_sys::mi_option_set_default(PURGE_DELAY, FREED_MEMORY_KEPT_MS) }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    #[test]
    fn freed_memory_is_kept_unless_the_environment_says_otherwise() {
        super::keep_freed_memory();
        // SAFETY: reads one option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
            assert_eq!(delay, super::FREED_MEMORY_KEPT_MS);
        }
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(app::App);
}
