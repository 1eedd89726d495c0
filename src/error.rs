//! One error type for the whole application. It is serialisable so it crosses the
//! server-function boundary intact (the UI matches on variants), and under `ssr` it maps once
//! to an HTTP status and error code.

use crate::domain::records::Dependency;
use crate::domain::IdKind;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Input refused; `field` names the parameter (`Name`, `Description`, `PageSize` …).
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("The {kind} {id} does not exist.")]
    NotFound { kind: String, id: String },
    /// Another record of the same kind already has this name in the instance.
    #[error("{message}")]
    NameTaken { message: String },
    /// The thing exists already and there may be only one (a second rate limit on the same
    /// key, consumer or group).
    #[error("{message}")]
    Exists { message: String },
    #[error("This record was changed by someone else since you opened it. Reload it and apply your change again.")]
    Version,
    #[error("There are unresolved dependencies.")]
    Dependencies(Vec<Dependency>),
    #[error("Sign in to continue.")]
    Unauthorized,
    #[error("Your account may view but not change this.")]
    Forbidden,
    #[error("Too many sign-in attempts. Wait a few minutes and try again.")]
    RateLimited,
    /// A state-changing request that did not come from the console's own pages (CSRF).
    #[error("This change was not sent from the console's own pages, so it was refused.")]
    CrossOrigin,
    /// A body in an encoding the operation does not declare.
    #[error("This operation accepts {0} bodies only.")]
    ContentType(String),
    /// The path exists but not with this HTTP method.
    #[error("This operation does not accept the {0} method.")]
    MethodNotAllowed(String),
    /// A framework-level failure (network, encoding); carries a message safe to show.
    #[error("The request could not be completed: {0}")]
    Transport(String),
    /// The database cannot be reached (down, restarting, or every connection busy past the
    /// timeout): nothing was changed, and trying again later may succeed.
    #[error("The service is temporarily unavailable. Nothing was changed; try again in a moment.")]
    Unavailable,
    /// Anything unexpected. The cause is logged on the server and never sent to the client.
    #[error("Something went wrong on the server. The request ID identifies it in the log.")]
    Internal,
}

impl AppError {
    pub fn invalid(field: &str, message: impl ToString) -> AppError {
        AppError::Invalid {
            field: field.to_owned(),
            message: message.to_string(),
        }
    }

    /// A REST path that names no operation.
    pub fn not_found_operation(path: &str) -> AppError {
        AppError::NotFound {
            kind: "Operation".into(),
            id: path.chars().take(80).collect(),
        }
    }

    pub fn not_found(kind: IdKind, id: &str) -> AppError {
        AppError::NotFound {
            kind: kind.noun().to_owned(),
            id: id.chars().take(80).collect(),
        }
    }

    /// The REST error code, e.g. `InvalidParameter.Name` or `NotFound.Consumer`.
    pub fn code(&self) -> String {
        match self {
            AppError::Invalid { field, .. } => format!("InvalidParameter.{field}"),
            AppError::NotFound { kind, .. } => format!("NotFound.{kind}"),
            AppError::NameTaken { .. } => "Conflict.Name".into(),
            AppError::Exists { .. } => "Conflict.Exists".into(),
            AppError::Version => "Conflict.Version".into(),
            AppError::Dependencies(_) => "Conflict.Dependencies".into(),
            AppError::Unauthorized => "Unauthorized".into(),
            AppError::Forbidden => "Forbidden".into(),
            AppError::RateLimited => "Throttling".into(),
            AppError::CrossOrigin => "Forbidden.CrossOrigin".into(),
            AppError::ContentType(_) => "InvalidRequest.ContentType".into(),
            AppError::MethodNotAllowed(_) => "UnsupportedOperation".into(),
            AppError::Transport(_) => "InvalidRequest".into(),
            AppError::Unavailable => "Unavailable".into(),
            AppError::Internal => "InternalError".into(),
        }
    }

    /// The message for a given form field, if this error is about it.
    pub fn field_message(&self, name: &str) -> Option<String> {
        match self {
            AppError::Invalid { field, message } if field == name => Some(message.clone()),
            AppError::NameTaken { message } if name == "Name" => Some(message.clone()),
            _ => None,
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        AppError::Transport(value.to_string())
    }
}

#[cfg(feature = "ssr")]
mod http {
    use super::AppError;
    use axum::http::StatusCode;

    impl AppError {
        pub fn status(&self) -> StatusCode {
            match self {
                AppError::Invalid { .. } | AppError::Transport(_) => StatusCode::BAD_REQUEST,
                AppError::NotFound { .. } => StatusCode::NOT_FOUND,
                AppError::NameTaken { .. }
                | AppError::Exists { .. }
                | AppError::Version
                | AppError::Dependencies(_) => StatusCode::CONFLICT,
                AppError::Unauthorized => StatusCode::UNAUTHORIZED,
                AppError::Forbidden | AppError::CrossOrigin => StatusCode::FORBIDDEN,
                AppError::ContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                AppError::RateLimited => StatusCode::TOO_MANY_REQUESTS,
                AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
                AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
    }

    impl From<sqlx::Error> for AppError {
        fn from(err: sqlx::Error) -> Self {
            use crate::telemetry::names::DB_ERRORS;
            if is_unavailable(&err) {
                metrics::counter!(DB_ERRORS, "kind" => "unavailable").increment(1);
                tracing::error!(error = %err, "database unavailable");
                return AppError::Unavailable;
            }
            if lost_a_race(&err) {
                tracing::warn!(error = %err, "a concurrent change won; answered Conflict.Version");
                return AppError::Version;
            }
            metrics::counter!(DB_ERRORS, "kind" => "other").increment(1);
            tracing::error!(error = %err, "database error");
            AppError::Internal
        }
    }

    /// The engine refused a change because of another one that committed first: a record it
    /// refers to was deleted meanwhile (a foreign key), or PostgreSQL aborted it to break a
    /// deadlock or a serialization conflict. Nothing was written; the caller may reload and
    /// try again, as after a stale version.
    fn lost_a_race(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Database(e) => {
                e.is_foreign_key_violation()
                    || e.code().is_some_and(|c| c == "40P01" || c == "40001")
            }
            _ => false,
        }
    }

    /// The database did not answer (connection refused or lost, no connection free in time,
    /// the server shutting down) as opposed to answering with an error.
    fn is_unavailable(err: &sqlx::Error) -> bool {
        match err {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => true,
            // PostgreSQL: admin shutdown, crash shutdown, cannot connect now (57P01..03).
            sqlx::Error::Database(e) => e.code().is_some_and(|c| c.starts_with("57P")),
            _ => false,
        }
    }

    impl From<sqlx::migrate::MigrateError> for AppError {
        fn from(err: sqlx::migrate::MigrateError) -> Self {
            tracing::error!(error = %err, "migration error");
            AppError::Internal
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
