//! What a REST handler takes from its request: the database and the acting account (`Ctx`),
//! query parameters and a JSON body whose refusals are answered in the envelope, and the
//! parsing of paging and flag parameters.

use crate::domain::records::CurrentUser;
use crate::domain::PageRequest;
use crate::error::{AppError, AppResult};
use crate::service::Actor;
use crate::state::{AppState, RequestId};
use crate::store::Db;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The database and the acting account of a REST call.
pub struct Ctx {
    pub db: Db,
    pub actor: Actor,
}

impl<S> FromRequestParts<S> for Ctx
where
    S: Send + Sync,
    AppState: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(AppError::Unauthorized)?;
        Ok(Ctx {
            db: AppState::from_ref(state).db,
            actor: Actor {
                user,
                request_id: RequestId::current(),
            },
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
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Params(v)),
            Err(rej) => Err(AppError::invalid("Query", rej.body_text())),
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
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rej) => Err(AppError::invalid("Body", rej.body_text())),
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

/// The gateway, search text and paging, shared by the lists of a gateway's records.
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// The gateway (instance) whose records to list.
    #[param(required = true)]
    #[serde(rename = "gatewayId")]
    pub instance_id: Option<String>,
    /// Case-insensitive substring of the name.
    pub name_like: Option<String>,
    /// From 1; default 1.
    #[param(value_type = Option<u32>, minimum = 1)]
    pub page_number: Option<String>,
    /// 1 to 100; default 10.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 100)]
    pub page_size: Option<String>,
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
