//! The use cases. Every rule (validation, dependency check, permission, audit) lives here
//! once and is called by both the server functions behind the console and the REST API.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod auth;
pub mod change;
pub mod config;
pub mod consumers;
pub mod credentials;
pub mod demo;
pub mod environments;
pub mod groups;
pub mod instances;
pub mod keys;
pub mod limits;
pub mod model_apis;
pub mod passwords;
pub mod quotas;
pub mod rules;
pub mod tokens;
pub mod usage;

use crate::domain::records::CurrentUser;
use crate::domain::{Description, IdKind, Name, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::Db;

/// Who is acting, and the request that carries the action (for the audit log). Its role
/// check and its writes are in `change`.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user: CurrentUser,
    pub request_id: String,
}

/// Parses an ID argument, answering `NotFound` for a malformed one: a malformed ID names
/// nothing, and saying so is clearer than a syntax lecture.
pub fn parse_id(kind: IdKind, raw: &str) -> AppResult<ResourceId> {
    ResourceId::parse(kind, raw.trim()).ok_or_else(|| AppError::not_found(kind, raw))
}

/// Parses a list of ID arguments of one kind, as a field error naming the first bad one.
pub fn parse_ids(kind: IdKind, field: &str, raw: &[String]) -> AppResult<Vec<ResourceId>> {
    let mut ids: Vec<ResourceId> = Vec::with_capacity(raw.len());
    for r in raw {
        let id = ResourceId::parse(kind, r.trim()).ok_or_else(|| {
            AppError::invalid(
                field,
                format!("{} is not a valid {} ID.", truncate(r), kind.noun()),
            )
        })?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

pub fn parse_name(raw: &str) -> AppResult<Name> {
    Name::parse(raw).map_err(|e| AppError::invalid("Name", e))
}

pub fn parse_description(raw: &str) -> AppResult<Description> {
    Description::parse(raw).map_err(|e| AppError::invalid("Description", e))
}

pub fn page(page_number: Option<u32>, page_size: Option<u32>) -> AppResult<PageRequest> {
    PageRequest::new(page_number, page_size).map_err(|e| match e {
        crate::domain::paging::PageError::Number => AppError::invalid("PageNumber", e),
        crate::domain::paging::PageError::Size => AppError::invalid("PageSize", e),
    })
}

/// Search text is bounded so a huge query string cannot become a huge LIKE pattern.
pub fn search_pattern(raw: &str) -> AppResult<String> {
    let s = raw.trim();
    if s.chars().count() > 100 {
        return Err(AppError::invalid(
            "NameLike",
            "Search text can contain up to 100 characters.",
        ));
    }
    Ok(crate::store::like_pattern(s))
}

/// At most 40 characters of user input, for echoing in messages.
pub fn truncate(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The answer to a versioned update (`store::update_versioned`) that found the record at
/// another version than the caller read: `Conflict.Version`.
pub fn at_version(updated: bool) -> AppResult<()> {
    if updated {
        Ok(())
    } else {
        Err(AppError::Version)
    }
}

/// Maps a broken unique rule on a name to a `Conflict.Name` error; other errors pass through.
pub fn name_taken(err: crate::store::Error, what: &str, name: &Name) -> AppError {
    name_taken_in(err, what, name, " in this instance")
}

/// `name_taken` for names unique elsewhere than in an instance (`where_` says where, with its
/// leading space, or is empty).
pub fn name_taken_in(err: crate::store::Error, what: &str, name: &Name, where_: &str) -> AppError {
    if crate::store::breaks_unique(&err, "name_key") {
        let article = if what.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "An"
        } else {
            "A"
        };
        AppError::NameTaken {
            message: format!("{article} {what} named {name} already exists{where_}."),
        }
    } else {
        err.into()
    }
}

/// Loads an instance or answers `NotFound.Gateway`.
pub async fn require_instance(db: &Db, id: &str) -> AppResult<crate::domain::records::Instance> {
    let id = parse_id(IdKind::Instance, id)?;
    let mut conn = db.reader().await?;
    crate::store::instances::get(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Instance, id.as_str()))
}
