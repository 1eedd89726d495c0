//! The audit log, for the console's Audit log pages.
// One argument per URL filter: the generated client and server code both take them all.
#![allow(clippy::too_many_arguments)]

use crate::domain::records::AuditEvent;
use crate::domain::Page;
use crate::error::AppError;
use leptos::prelude::*;

/// The log narrowed by the page's filters; `from` and `to` are UTC `datetime-local` values.
#[server(endpoint = "list_audit_events")]
pub async fn list_audit_events(
    instance_id: Option<String>,
    resource_type: String,
    resource_id: String,
    actor: String,
    from: String,
    to: String,
    page_number: Option<u32>,
    page_size: Option<u32>,
) -> Result<Page<AuditEvent>, AppError> {
    use super::context::{actor as current, respond};
    use crate::domain::parse_time_utc;
    let (db, _) = current()?;
    let time = |field: &str, raw: &str| -> Result<Option<i64>, AppError> {
        match raw.trim() {
            "" => Ok(None),
            s => parse_time_utc(s)
                .map(Some)
                .ok_or_else(|| AppError::invalid(field, "Enter a date and time (UTC).")),
        }
    };
    let filter = crate::domain::inputs::AuditFilter {
        instance_id,
        resource_type: Some(resource_type),
        resource_id: Some(resource_id),
        actor: Some(actor),
        from: respond(time("From", &from))?,
        to: respond(time("To", &to))?,
    };
    let page = respond(crate::service::page(page_number, page_size))?;
    respond(crate::service::audit::list_audit_events(&db, filter, page).await)
}
