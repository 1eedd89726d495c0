//! Server functions behind the console. Each is a thin call into `service/`; the session
//! layer has already refused anonymous callers, and the service refuses Viewers' writes.

pub mod accounts;
pub mod audit;
pub mod authorization;
pub mod consumers;
pub mod environments;
pub mod instances;
pub mod session;
pub mod tokens;

#[cfg(feature = "ssr")]
pub(crate) mod context {
    use crate::error::{AppError, AppResult};
    use crate::server::{AppState, RequestId};
    use crate::service::Actor;
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
}
