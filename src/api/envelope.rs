//! The envelope every REST answer is: `{"requestId", "code", "message", "data"}`, with the
//! HTTP status of its error code, built in this one place. Handlers return `Answer<T>`: their
//! data (`Data`) or an `AppError`, each of which answers in the envelope with the request's ID.

use crate::error::AppError;
use crate::state::RequestId;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The envelope of every answer: `code` is `Ok` or a specific error code, `requestId` the
/// request's ID (also its `x-request-id` header).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<T> {
    /// Also the `x-request-id` response header, and in the server's log lines.
    pub request_id: String,
    /// `Ok`, or an error code such as `InvalidParameter.Name` or `NotFound.Consumer`.
    pub code: String,
    pub message: String,
    pub data: T,
}

/// What every REST handler returns: its data, or the error (so `?` works all the way down).
pub type Answer<T> = Result<Data<T>, AppError>;

/// A handler's data, answered as `{"requestId", "code": "Ok", "message": "success", "data"}`.
pub struct Data<T>(pub T);

impl<T: Serialize> IntoResponse for Data<T> {
    fn into_response(self) -> Response {
        let request_id = RequestId::current();
        let body = serde_json::to_vec(&Envelope {
            request_id: request_id.clone(),
            code: "Ok".to_owned(),
            message: "success".to_owned(),
            data: self.0,
        });
        match body {
            Ok(body) => json_response(StatusCode::OK, body),
            Err(e) => {
                tracing::error!(error = %e, "response encoding failed");
                error_response(&request_id, &AppError::Internal)
            }
        }
    }
}

/// Any error a handler or an extractor meets answers in the error envelope.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        error_response(&RequestId::current(), &self)
    }
}

/// What an error answer carries: the dependency list of a `Conflict.Dependencies`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorData {
    pub dependencies: Vec<crate::domain::records::Dependency>,
}

/// The envelope of an error; `data` is null except for `Conflict.Dependencies`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorEnvelope {
    pub request_id: String,
    /// For example `InvalidParameter.Name`, `NotFound.Consumer`, `Conflict.Dependencies`.
    pub code: String,
    pub message: String,
    pub data: Option<ErrorData>,
}

/// The `data` of an operation that has nothing to return (a deletion).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Empty {}

/// The `data` of a dependency check.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Dependencies {
    pub dependencies: Vec<crate::domain::records::Dependency>,
}

/// The `data` of an unpaginated list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// The error answers every operation may give.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)] // documentation only: the answers are built by `error_response`
pub enum ErrorResponses {
    /// Bad input: `InvalidParameter.<Field>`.
    #[response(status = 400)]
    BadRequest(ErrorEnvelope),
    /// No valid bearer token or session: `Unauthorized`.
    #[response(status = 401)]
    Unauthorized(ErrorEnvelope),
    /// A Viewer asked for a change: `Forbidden`.
    #[response(status = 403)]
    Forbidden(ErrorEnvelope),
    /// `NotFound.<Kind>`.
    #[response(status = 404)]
    NotFound(ErrorEnvelope),
    /// The path exists but not with this method: `UnsupportedOperation`.
    #[response(status = 405)]
    MethodNotAllowed(ErrorEnvelope),
    /// `Conflict.Name`, `Conflict.Version` or `Conflict.Dependencies` (with the list).
    #[response(status = 409)]
    Conflict(ErrorEnvelope),
    /// The database cannot be reached; nothing was changed: `Unavailable` (with `Retry-After`).
    #[response(status = 503)]
    Unavailable(ErrorEnvelope),
}

pub fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// The error envelope: a specific code, the message, and for dependency conflicts the list.
pub fn error_response(request_id: &str, err: &AppError) -> Response {
    let data = match err {
        AppError::Dependencies(deps) => Some(ErrorData {
            dependencies: deps.clone(),
        }),
        _ => None,
    };
    let body = serde_json::to_vec(&ErrorEnvelope {
        request_id: request_id.to_owned(),
        code: err.code(),
        message: err.to_string(),
        data,
    })
    .unwrap_or_default();
    let mut res = json_response(err.status(), body);
    if matches!(err, AppError::Unavailable) {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    }
    if matches!(err, AppError::Unauthorized) {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gateway-console\""),
        );
    }
    res
}
