//! Import: a configuration file read, checked and planned against the gateway (`plan`), then
//! shown (a dry run) or applied, all of it in one transaction or nothing, audited as one
//! change set with a count per kind.

use super::document::from_yaml;
use super::plan::{plan, Plan, Problem};
use crate::domain::config::{ImportReport, MAX_CONFIG_BYTES};
use crate::domain::IdKind;
use crate::error::{AppError, AppResult};
use crate::service::change::{Audit, AuditAction};
use crate::service::{parse_id, Actor};
use crate::store::{config as store, now_ms, Db, Read};

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Only tell what would change.
    pub dry_run: bool,
    /// Delete what the file does not list.
    pub prune: bool,
    /// Apply a file exported from another gateway (to copy a gateway, or restore into a new one).
    pub allow_other_gateway: bool,
    /// Apply only if the gateway is still at this revision (the one a dry run reported).
    pub if_revision: Option<i64>,
}

/// At most this many problems are told (a file with more has bigger troubles).
const PROBLEMS_TOLD: usize = 50;

/// The field an import's refusal names.
const FIELD: &str = "Configuration";

/// Imports `text` (YAML or JSON) into gateway `gateway_id`. Admins only, a dry run too: it is
/// the first step of a change.
#[tracing::instrument(skip(db, actor, text), fields(actor = %actor.user.username, bytes = text.len()))]
pub async fn import_gateway(
    db: &Db,
    actor: &Actor,
    gateway_id: &str,
    text: &str,
    options: ImportOptions,
) -> AppResult<ImportReport> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Instance, gateway_id)?;
    if text.len() > MAX_CONFIG_BYTES {
        return Err(file_too_large(Some(text.len())));
    }
    let doc = from_yaml(text).map_err(|e| {
        AppError::invalid(FIELD, format!("The file is not a valid configuration: {e}"))
    })?;
    if doc.gateway.id != id.as_str() && !options.allow_other_gateway {
        return Err(AppError::invalid(
            FIELD,
            format!(
                "gateway.id: the file is for the gateway {} ({}), not {id}. To apply it here anyway, allow another gateway (allowOtherGateway=true, --allow-other-gateway).",
                crate::service::truncate(&doc.gateway.id),
                crate::service::truncate(&doc.gateway.name)
            ),
        ));
    }
    let not_found = || AppError::not_found(IdKind::Instance, id.as_str());
    if options.dry_run {
        let mut tx = store::begin_read(db).await?;
        let rows = store::read_for_import(&mut tx, id.as_str()).await?;
        let revision = rows.gateway.as_ref().ok_or_else(not_found)?.revision;
        let planned = checked_plan(&mut tx, id.as_str(), &doc, &rows, options).await?;
        tx.commit().await?;
        return Ok(report(id.as_str(), planned, options, revision, true));
    }
    let mut tx = admin.begin(db).await?;
    let revision = store::lock_gateway(&mut tx, id.as_str())
        .await?
        .ok_or_else(not_found)?;
    if options.if_revision.is_some_and(|r| r != revision) {
        return Err(AppError::Version);
    }
    let rows = store::read_for_import(&mut tx, id.as_str()).await?;
    let planned = checked_plan(&mut tx, id.as_str(), &doc, &rows, options).await?;
    drop(rows);
    drop(doc);
    if planned.changes.is_empty() {
        // Nothing to write: no audit entry, no new revision.
        return Ok(report(id.as_str(), planned, options, revision, true));
    }
    store::apply(&mut tx, id.as_str(), &planned.ops, now_ms())
        .await
        .map_err(|e| {
            if e.as_database_error()
                .is_some_and(|d| d.is_unique_violation())
            {
                AppError::NameTaken {
                    message: "Another change of this gateway took a name, base path or key value the file gives; nothing was applied. Run the import again.".into(),
                }
            } else {
                AppError::from(e)
            }
        })?;
    let answer = report(id.as_str(), planned, options, revision + 1, false);
    let summary = format!(
        "applied a configuration file{}: {}",
        if options.prune { " (prune)" } else { "" },
        answer.summary()
    );
    tx.commit(
        Audit::new(
            AuditAction::ApplyConfiguration,
            IdKind::Instance,
            id.as_str(),
        )
        .instance(id.as_str())
        .summary(summary),
    )
    .await?;
    Ok(answer)
}

/// The refusal of a file over the size limit (told before reading it, where possible; then
/// its size may not be known).
pub fn file_too_large(bytes: Option<usize>) -> AppError {
    let size = match bytes {
        Some(b) => format!("has {} MiB", b >> 20),
        None => "is larger".to_owned(),
    };
    AppError::invalid(
        FIELD,
        format!(
            "The file {size}: a configuration file can have up to {} MiB. Nothing was applied.",
            MAX_CONFIG_BYTES >> 20
        ),
    )
}

/// The plan, or the file's problems as one refusal; a key value another gateway has is a
/// problem too.
async fn checked_plan(
    conn: &mut impl Read,
    gateway_id: &str,
    doc: &super::GatewayConfig,
    rows: &store::GatewayRows,
    options: ImportOptions,
) -> AppResult<Plan> {
    let mut planned = plan(doc, rows, options.prune).map_err(refusal)?;
    let hashes: Vec<String> = planned.new_hashes.iter().map(|(_, h)| h.clone()).collect();
    let taken = store::hashes_elsewhere(conn, gateway_id, &hashes).await?;
    if !taken.is_empty() {
        let problems = planned
            .new_hashes
            .drain(..)
            .filter(|(_, h)| taken.contains(h))
            .map(|(path, _)| Problem {
                path: format!("{path}.hash"),
                message: "a key of another gateway has this value".into(),
            })
            .collect();
        return Err(refusal(problems));
    }
    Ok(planned)
}

/// The file's problems as one refusal, one per line.
fn refusal(problems: Vec<Problem>) -> AppError {
    let n = problems.len();
    let mut lines: Vec<String> = problems
        .iter()
        .take(PROBLEMS_TOLD)
        .map(Problem::to_string)
        .collect();
    if n > PROBLEMS_TOLD {
        lines.push(format!("… and {} more", n - PROBLEMS_TOLD));
    }
    let head = if n == 1 {
        "The file has a problem; nothing was applied:".to_owned()
    } else {
        format!("The file has {n} problems; nothing was applied:")
    };
    AppError::invalid(FIELD, format!("{head}\n{}", lines.join("\n")))
}

fn report(
    gateway_id: &str,
    planned: Plan,
    options: ImportOptions,
    revision: i64,
    dry_run: bool,
) -> ImportReport {
    ImportReport {
        gateway_id: gateway_id.to_owned(),
        dry_run,
        prune: options.prune,
        revision,
        counts: ImportReport::count(&planned.changes),
        changes: planned.changes,
    }
}
