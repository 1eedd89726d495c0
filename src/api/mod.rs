//! REST API under `/v1`: one module per resource, each a thin translation between
//! HTTP and `service/`. Every answer, error or not, is the envelope
//! `{"requestId", "code", "message", "data"}`; the session layer has already refused callers
//! without a bearer token or session.

mod accounts;
mod audit;
mod consumers;
mod docs;
mod gateways;
mod model_apis;
mod resources;
mod rules;
mod tokens;

use crate::domain::records::CurrentUser;
use crate::domain::PageRequest;
use crate::error::{AppError, AppResult};
use crate::service::Actor;
use crate::state::{AppState, RequestId};
use crate::store::Db;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;

/// The document's frame: title, bearer authentication, tags. Paths and schemas are added by
/// the resource routers from their handlers' annotations, so the document cannot drift from
/// the routes.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Gateway Console API",
        description = "Consumers, keys, consumer groups, model APIs and authorization rules of an API / AI gateway. Every answer is the envelope {requestId, code, message, data}; lists take pageNumber (from 1) and pageSize (1-100, default 10)."
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorEnvelope)),
    security(("bearer" = [])),
    tags(
        (name = "Gateways", description = "Gateway instances and their environments"),
        (name = "Consumers", description = "Consumers, their credentials and their authorization rules"),
        (name = "Groups and keys", description = "Consumer groups and API keys"),
        (name = "Model APIs", description = "Model APIs and where they are deployed"),
        (name = "Authorization rules", description = "Who may call which model API in which environment"),
        (name = "Tokens", description = "The calling account's bearer tokens"),
        (name = "Audit", description = "Who changed what, and when"),
        (name = "Accounts", description = "Console accounts (Admins only)")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// Gives the `name` and `description` of every request body the rules `Name::parse` and
/// `Description::parse` apply, so clients and fuzzers know them without reading the code.
fn document_input_rules(doc: &mut utoipa::openapi::OpenApi) {
    use crate::domain::names::{
        DESCRIPTION_MAX_CHARS, DESCRIPTION_PATTERN, NAME_MAX_CHARS, NAME_PATTERN,
    };
    use utoipa::openapi::{RefOr, Schema};
    let bodies: std::collections::BTreeSet<String> = doc
        .paths
        .paths
        .values()
        .flat_map(|item| {
            [&item.post, &item.put, &item.patch]
                .into_iter()
                .flatten()
                .filter_map(|op| op.request_body.as_ref())
                .flat_map(|body| body.content.values())
                .filter_map(|content| match &content.schema {
                    Some(RefOr::Ref(r)) => r.ref_location.rsplit('/').next().map(str::to_owned),
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (schema_name, schema) in components.schemas.iter_mut() {
        let RefOr::T(Schema::Object(object)) = schema else {
            continue;
        };
        if !bodies.contains(schema_name) {
            continue;
        }
        for (property, rule) in object.properties.iter_mut() {
            let RefOr::T(Schema::Object(field)) = rule else {
                continue;
            };
            match property.as_str() {
                "name" => {
                    field.pattern = Some(NAME_PATTERN.into());
                    field.min_length = Some(1);
                    field.max_length = Some(NAME_MAX_CHARS);
                }
                "description" => {
                    field.pattern = Some(DESCRIPTION_PATTERN.into());
                    field.max_length = Some(DESCRIPTION_MAX_CHARS);
                }
                _ => {}
            }
        }
    }
}

/// Every `/v1` route, and the OpenAPI document that describes them.
pub fn router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (routes, doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(gateways::router())
        .merge(consumers::router())
        .merge(resources::router())
        .merge(model_apis::router())
        .merge(rules::router())
        .merge(tokens::router())
        .merge(audit::router())
        .merge(accounts::router())
        .split_for_parts();
    let mut doc = doc;
    document_input_rules(&mut doc);
    let json = std::sync::Arc::new(doc.to_pretty_json().unwrap_or_default());
    let page = std::sync::Arc::new(docs::page(&doc));
    let routes = routes
        .route(
            "/v1/openapi.json",
            axum::routing::get(move || {
                let json = json.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        (*json).clone(),
                    )
                }
            }),
        )
        .route(
            "/v1/docs",
            axum::routing::get(move || {
                let page = page.clone();
                // Its one inline <style> may apply; nothing may run.
                let policy = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
                async move {
                    (
                        [(header::CONTENT_SECURITY_POLICY, policy)],
                        axum::response::Html((*page).clone()),
                    )
                }
            }),
        )
        .route("/v1/{*rest}", any(unknown_operation))
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn(viewers_only_read));
    (routes, doc)
}

/// The role rule of the whole REST API, in one place: a Viewer's call that would change
/// something is refused before its body is even read, whatever the operation (the service
/// layer checks again). The caller's own API tokens are the one thing a Viewer may change.
async fn viewers_only_read(req: Request, next: axum::middleware::Next) -> Response {
    let reads = matches!(
        *req.method(),
        axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS
    );
    let path = req.uri().path();
    let own_tokens = path == "/v1/tokens" || path.starts_with("/v1/tokens/");
    let viewer = req
        .extensions()
        .get::<CurrentUser>()
        .is_some_and(|u| !u.can_write());
    if viewer && !reads && !own_tokens {
        let rid = request_id_of(req.extensions());
        return error_response(&rid, &AppError::Forbidden);
    }
    next.run(req).await
}

async fn method_not_allowed(req: Request) -> Response {
    let rid = request_id_of(req.extensions());
    error_response(&rid, &AppError::MethodNotAllowed(req.method().to_string()))
}

/// The answer to a `/v1` path that names no operation.
async fn unknown_operation(req: Request) -> Response {
    let rid = request_id_of(req.extensions());
    let err = AppError::not_found_operation(req.uri().path());
    error_response(&rid, &err)
}

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
}

fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
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
    if matches!(err, AppError::Unauthorized) {
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"gateway-console\""),
        );
    }
    res
}

fn request_id_of(ext: &axum::http::Extensions) -> String {
    ext.get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// The database and the acting account of a REST call.
pub struct Ctx {
    pub db: Db,
    pub actor: Actor,
}

impl Ctx {
    /// Wraps a service result in the envelope.
    pub fn reply<T: Serialize>(&self, result: AppResult<T>) -> Response {
        match result {
            Ok(data) => {
                let body = serde_json::to_vec(&Envelope {
                    request_id: self.actor.request_id.clone(),
                    code: "Ok".to_owned(),
                    message: "success".to_owned(),
                    data,
                });
                match body {
                    Ok(b) => json_response(StatusCode::OK, b),
                    Err(e) => {
                        tracing::error!(error = %e, "response encoding failed");
                        error_response(&self.actor.request_id, &AppError::Internal)
                    }
                }
            }
            Err(e) => error_response(&self.actor.request_id, &e),
        }
    }

    /// The envelope for a deletion: no data to return.
    pub fn done(&self, result: AppResult<()>) -> Response {
        self.reply(result.map(|()| Empty {}))
    }
}

impl<S> FromRequestParts<S> for Ctx
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let request_id = request_id_of(&parts.extensions);
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or_else(|| error_response(&request_id, &AppError::Unauthorized))?;
        Ok(Ctx {
            db: AppState::from_ref(state).db,
            actor: Actor { user, request_id },
        })
    }
}

/// Query parameters, with malformed ones answered in the envelope.
pub struct Params<T>(pub T);

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(rej) => Err(error_response(
                &request_id_of(&parts.extensions),
                &AppError::invalid("Query", rej.body_text()),
            )),
        }
    }
}

/// A JSON request body, with malformed ones answered in the envelope.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let rid = request_id_of(req.extensions());
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rej) => Err(error_response(
                &rid,
                &AppError::invalid("Body", rej.body_text()),
            )),
        }
    }
}

/// `pageNumber` and `pageSize` as given (text), checked with the shared paging rules.
pub fn page_of(number: Option<&str>, size: Option<&str>) -> AppResult<PageRequest> {
    fn num(field: &str, raw: Option<&str>) -> AppResult<Option<u32>> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(s) => s.parse::<u32>().map(Some).map_err(|_| {
                AppError::invalid(
                    field,
                    format!(
                        "{field} must be a whole number, not {:?}.",
                        crate::service::truncate(s)
                    ),
                )
            }),
        }
    }
    let n = num("PageNumber", number)?;
    let s = num("PageSize", size)?;
    crate::service::page(n, s)
}

/// A boolean query parameter: `true` or `false`, absent means false.
pub fn flag(field: &str, raw: Option<&str>) -> AppResult<bool> {
    match raw.map(str::trim) {
        None | Some("") | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(AppError::invalid(
            field,
            format!("{field} must be true or false."),
        )),
    }
}

/// A required query parameter.
pub fn required<'a>(field: &str, raw: &'a Option<String>) -> AppResult<&'a str> {
    raw.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AppError::invalid(field, format!("{field} is required.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parameters_default_and_are_checked() {
        assert_eq!(page_of(None, None).unwrap(), PageRequest::default());
        assert_eq!(
            page_of(Some("abc"), None).unwrap_err().code(),
            "InvalidParameter.PageNumber"
        );
        assert_eq!(
            page_of(None, Some("101")).unwrap_err().code(),
            "InvalidParameter.PageSize"
        );
        assert_eq!(
            page_of(Some("0"), None).unwrap_err().code(),
            "InvalidParameter.PageNumber"
        );
        assert_eq!(
            page_of(Some("-1"), None).unwrap_err().code(),
            "InvalidParameter.PageNumber"
        );
    }

    #[test]
    fn flags_accept_only_true_and_false() {
        assert!(flag("IncludeInherited", Some("true")).unwrap());
        assert!(!flag("IncludeInherited", None).unwrap());
        assert!(flag("IncludeInherited", Some("yes")).is_err());
    }
}
