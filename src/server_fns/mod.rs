//! Server functions behind the console. Each is a thin call into `service/`; the session
//! layer has already refused anonymous callers, and the service refuses Viewers' writes.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod consumers;
pub mod credentials;
pub mod environments;
pub mod groups;
pub mod instances;
pub mod keys;
pub mod limits;
pub mod model_apis;
pub mod quotas;
pub mod rules;
pub mod session;
pub mod tokens;
pub mod usage;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::error::{AppError, AppResult};
    use crate::service::Actor;
    use crate::state::{AppState, RequestId};
    use crate::store::Db;
    use leptos::prelude::*;

    /// The database and the acting account of the current request.
    pub fn actor() -> AppResult<(Db, Actor)> {
        respond(current_actor())
    }

    fn current_actor() -> AppResult<(Db, Actor)> {
        let state = use_context::<AppState>().ok_or(AppError::Internal)?;
        let parts = use_context::<http::request::Parts>().ok_or(AppError::Unauthorized)?;
        let user = parts
            .extensions
            .get::<crate::domain::records::CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthorized)?;
        let request_id = parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default();
        Ok((state.db, Actor { user, request_id }))
    }

    /// Results of the read server functions within one request, by function and arguments.
    /// While resources are pending, Leptos walks a `<Suspense>`'s children again during
    /// server-side rendering, and each walk creates the page's resources afresh
    /// (leptos-rs/leptos#4688): without this, a first page load ran every query three times.
    #[derive(Clone, Default)]
    pub struct RenderReads(
        std::sync::Arc<
            std::sync::Mutex<
                std::collections::HashMap<String, std::sync::Arc<tokio::sync::OnceCell<String>>>,
            >,
        >,
    );

    /// Runs `read` once per request for the same `key` (the function's name and arguments);
    /// the others asking for it meanwhile wait for that answer. A failed read is not kept.
    pub async fn once<T>(
        key: impl serde::Serialize,
        read: impl std::future::Future<Output = AppResult<T>>,
    ) -> AppResult<T>
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let Some(reads) = use_context::<RenderReads>() else {
            return read.await;
        };
        let key = serde_json::to_string(&key).map_err(|_| AppError::Internal)?;
        let cell = reads
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        let json = cell
            .get_or_try_init(|| async {
                let value = read.await?;
                serde_json::to_string(&value).map_err(|_| AppError::Internal)
            })
            .await?;
        serde_json::from_str(json).map_err(|_| AppError::Internal)
    }

    /// Sets the HTTP status of a failed server function from the error (400, 404, 409 …), so
    /// bad input is never reported as a server error.
    pub fn respond<T>(result: AppResult<T>) -> AppResult<T> {
        if let Err(e) = &result {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.set_status(e.status());
            }
        }
        result
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        /// Reads `value`, counting how often it really ran.
        async fn counted(runs: Arc<AtomicUsize>, value: u32) -> AppResult<u32> {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(value)
        }

        #[tokio::test]
        async fn the_same_read_within_one_request_runs_once_and_others_run_apart() {
            let owner = Owner::new();
            owner.with(|| provide_context(RenderReads::default()));
            let runs = Arc::new(AtomicUsize::new(0));
            let read = |key: u32, value: u32| {
                let runs = runs.clone();
                owner.with(|| ScopedFuture::new(once(("read", key), counted(runs, value))))
            };
            let (a, b, c) = tokio::join!(read(1, 10), read(1, 99), read(2, 20));
            assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (10, 10, 20));
            assert_eq!(runs.load(Ordering::SeqCst), 2);
        }

        #[tokio::test]
        async fn outside_a_request_every_read_runs() {
            let runs = Arc::new(AtomicUsize::new(0));
            for _ in 0..2 {
                let value = once(("read", 1), counted(runs.clone(), 5)).await;
                assert_eq!(value.unwrap(), 5);
            }
            assert_eq!(runs.load(Ordering::SeqCst), 2);
        }
    }
}
