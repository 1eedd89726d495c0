//! Reading the audit log (it is written by every other use case, in their transactions).

use crate::domain::inputs::AuditFilter;
use crate::domain::records::AuditEvent;
use crate::domain::{IdKind, Page, PageRequest};
use crate::error::{AppError, AppResult};
use crate::store::{audit, Db};

/// The log, newest first, narrowed by `filter`. Admins and Viewers may read it.
pub async fn list_audit_events(
    db: &Db,
    filter: AuditFilter,
    page: PageRequest,
) -> AppResult<Page<AuditEvent>> {
    let mut f = AuditFilter {
        instance_id: None,
        ..filter
    };
    if let Some(id) = filter
        .instance_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        f.instance_id = Some(super::require_instance(db, id).await?.id);
    }
    f.resource_type = match f.resource_type.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(t) if IdKind::from_noun(t).is_some() => Some(t.to_owned()),
        Some(t) => {
            return Err(AppError::invalid(
                "ResourceType",
                format!(
                    "{:?} is not a resource type; use one of {}.",
                    super::truncate(t),
                    IdKind::ALL.map(IdKind::noun).join(", ")
                ),
            ))
        }
    };
    f.resource_id = match f.resource_id.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(id) if id.chars().count() <= 64 => Some(id.to_owned()),
        Some(_) => {
            return Err(AppError::invalid(
                "ResourceId",
                "A resource ID has at most 64 characters.",
            ))
        }
    };
    let actor = match f.actor.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(a) => Some(super::search_pattern(a).map_err(|_| {
            AppError::invalid("Actor", "Search text can contain up to 100 characters.")
        })?),
    };
    if let (Some(from), Some(to)) = (f.from, f.to) {
        if from >= to {
            return Err(AppError::invalid(
                "To",
                "The end of the period must come after its start.",
            ));
        }
    }
    let mut conn = db.reader().await?;
    let (total, items) = audit::list(&mut conn, &f, actor, page).await?;
    Ok(page.answer(total, items))
}
