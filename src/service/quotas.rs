//! Quotas: set, changed, reset and removed by Admins, audited, and applied by the check of
//! every replica within a second (the audit entry is the snapshot's journal entry). Read back
//! with where each stands in its current period.

use super::change::{Audit, AuditAction};
use super::limits::{parse_subject, subject_name};
use super::{parse_id, Actor};
use crate::domain::inputs::{NewQuota, QuotaReset, QuotaUpdate};
use crate::domain::limits::group_digits;
use crate::domain::quotas::{QuotaStatus, QuotaValues};
use crate::domain::records::{Quota, SubjectRef};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::enforce::quotas::{known_zone, period_bounds, zone};
use crate::error::{AppError, AppResult};
use crate::store::quotas::{self, QuotaFilter};
use crate::store::read::Read;
use crate::store::{now_ms, Db};

fn values(
    metric: &str,
    period: &str,
    amount: Option<i64>,
    time_zone: &str,
    warn_percent: Option<i64>,
) -> AppResult<QuotaValues> {
    checked_values(metric, period, amount, time_zone, warn_percent)
        .map_err(|(field, message)| AppError::invalid(field, message))
}

/// A quota's values as [`QuotaValues::parse`] checks them, and a time zone the server knows;
/// the error names the field. A configuration import checks a file's quotas with it too.
pub(crate) fn checked_values(
    metric: &str,
    period: &str,
    amount: Option<i64>,
    time_zone: &str,
    warn_percent: Option<i64>,
) -> Result<QuotaValues, (&'static str, String)> {
    let v = QuotaValues::parse(metric, period, amount, time_zone, warn_percent)?;
    if !known_zone(&v.time_zone) {
        return Err((
            "TimeZone",
            format!(
                "{} is not a time zone the server knows; use an IANA name such as Europe/Berlin.",
                v.time_zone
            ),
        ));
    }
    Ok(v)
}

/// Fills in where the quota stands now: its current period and what counts against it.
async fn standing(conn: &mut impl Read, mut q: Quota, now: i64) -> AppResult<Quota> {
    let (start, end) = period_bounds(q.period, zone(&q.time_zone), now);
    let (requests, tokens) = quotas::used(conn, &q.id, q.generation, start).await?;
    q.used = match q.metric {
        crate::domain::quotas::QuotaMetric::Requests => requests,
        crate::domain::quotas::QuotaMetric::Tokens => tokens,
    };
    q.period_start = start;
    q.period_end = end;
    q.status = QuotaStatus::of(q.used, q.amount, q.warn_percent);
    Ok(q)
}

/// The quotas of an instance past their warning threshold in their current period, the
/// fullest first (at most `shown`). Candidates come from the counts of the last 32 days (a
/// month at most), each then judged in its own period and time zone.
pub async fn near_limit(
    conn: &mut impl Read,
    instance_id: &str,
    now: i64,
    shown: usize,
) -> AppResult<Vec<Quota>> {
    let since = now - 32 * crate::domain::usage::DAY_MS;
    let mut near = Vec::new();
    for id in quotas::near_limit(conn, instance_id, since, 200).await? {
        if let Some(q) = quotas::get(conn, &id).await? {
            let q = standing(conn, q, now).await?;
            if q.status != QuotaStatus::Ok {
                near.push(q);
            }
        }
    }
    near.sort_by(|a, b| {
        let fill = |q: &Quota| q.used as f64 / q.amount as f64;
        fill(b).total_cmp(&fill(a)).then(a.id.cmp(&b.id))
    });
    near.truncate(shown);
    Ok(near)
}

/// `consumer alice: 1,000 requests a day (Europe/Berlin), warn at 80 %`.
fn summary(q: &Quota) -> String {
    format!(
        "{} {}: {} {} a {} ({}), warn at {} %",
        q.subject_type.label(),
        q.subject.id,
        group_digits(q.amount),
        q.metric.as_str(),
        q.period.as_str(),
        q.time_zone,
        q.warn_percent
    )
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_quota(db: &Db, actor: &Actor, input: NewQuota) -> AppResult<Quota> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let (kind, subject_id) = parse_subject(&input.subject_id)?;
    let v = values(
        &input.metric,
        &input.period,
        input.amount,
        &input.time_zone,
        input.warn_percent,
    )?;
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let name = subject_name(&mut tx, &instance.id, kind, &subject_id).await?;
    let quota = Quota {
        id: ResourceId::generate(IdKind::Quota).to_string(),
        instance_id: instance.id,
        subject_type: kind,
        subject: SubjectRef {
            id: subject_id.to_string(),
            name,
        },
        consumer: None,
        metric: v.metric,
        period: v.period,
        time_zone: v.time_zone,
        amount: v.amount,
        warn_percent: v.warn_percent,
        generation: 0,
        reset_at: None,
        used: 0,
        period_start: 0,
        period_end: 0,
        status: QuotaStatus::Ok,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    quotas::insert(&mut tx, &quota).await.map_err(|e| {
        if crate::store::breaks_unique(&e, "subject_id") {
            AppError::Exists {
                message: format!(
                    "The {} {} has a {} quota per {} already: change that one instead.",
                    kind.label(),
                    quota.subject.name,
                    quota.metric.as_str(),
                    quota.period.as_str()
                ),
            }
        } else {
            e.into()
        }
    })?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateQuota, IdKind::Quota, &quota.id)
                .instance(&quota.instance_id)
                .summary(summary(&quota)),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    get_quota(db, &quota.id).await
}

pub async fn get_quota(db: &Db, quota_id: &str) -> AppResult<Quota> {
    let id = parse_id(IdKind::Quota, quota_id)?;
    let mut conn = db.reader().await?;
    let q = quotas::get(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Quota, id.as_str()))?;
    standing(&mut conn, q, now_ms()).await
}

/// The quotas of a gateway, newest first, each with where it stands: all, the ones of a
/// subject, or every one that covers a consumer's requests (its own, its keys', its groups').
pub async fn list_quotas(
    db: &Db,
    instance_id: &str,
    subject_id: Option<&str>,
    consumer_id: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<Quota>> {
    let instance = super::require_instance(db, instance_id).await?;
    let subject_id = match subject_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_subject(s)?.1.to_string()),
        None => None,
    };
    let covering = match consumer_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(parse_id(IdKind::Consumer, c)?.to_string()),
        None => None,
    };
    let filter = QuotaFilter {
        instance_id: instance.id,
        subject_id,
        covering,
    };
    let mut conn = db.reader().await?;
    let (total, rows) = quotas::list(&mut conn, &filter, page).await?;
    let now = now_ms();
    let mut items = Vec::with_capacity(rows.len());
    for q in rows {
        items.push(standing(&mut conn, q, now).await?);
    }
    Ok(page.answer(total, items))
}

/// Changes a quota's amount, time zone and warning threshold, with its version.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_quota(
    db: &Db,
    actor: &Actor,
    quota_id: &str,
    input: QuotaUpdate,
) -> AppResult<Quota> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Quota, quota_id)?;
    let mut tx = admin.begin(db).await?;
    let current = quotas::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Quota, id.as_str()))?;
    let v = values(
        current.metric.as_str(),
        current.period.as_str(),
        input.amount,
        &input.time_zone,
        input.warn_percent,
    )?;
    let changed = Quota {
        amount: v.amount,
        time_zone: v.time_zone,
        warn_percent: v.warn_percent,
        updated_at: now_ms(),
        version: current.version + 1,
        ..current.clone()
    };
    super::at_version(quotas::update(&mut tx, &changed, input.version).await?)?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateQuota, IdKind::Quota, id.as_str())
                .instance(&current.instance_id)
                .summary(format!("{} -> {}", summary(&current), summary(&changed))),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    get_quota(db, id.as_str()).await
}

/// Starts the quota's count anew for its current period (audited): a consumer refused for
/// `quota-exhausted` is admitted again within a second.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn reset_quota(
    db: &Db,
    actor: &Actor,
    quota_id: &str,
    input: QuotaReset,
) -> AppResult<Quota> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Quota, quota_id)?;
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let current = quotas::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Quota, id.as_str()))?;
    let before = standing(&mut tx, current.clone(), now).await?;
    super::at_version(quotas::reset(&mut tx, id.as_str(), input.version, now).await?)?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::ResetQuota, IdKind::Quota, id.as_str())
                .instance(&current.instance_id)
                .summary(format!(
                    "{}; {} of {} used this {} when reset",
                    summary(&current),
                    group_digits(before.used),
                    group_digits(current.amount),
                    current.period.as_str()
                )),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    get_quota(db, id.as_str()).await
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_quota(db: &Db, actor: &Actor, quota_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Quota, quota_id)?;
    let mut tx = admin.begin(db).await?;
    let current = quotas::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Quota, id.as_str()))?;
    if !quotas::delete(&mut tx, id.as_str()).await? {
        return Err(AppError::not_found(IdKind::Quota, id.as_str()));
    }
    let recorded = tx
        .record(
            Audit::new(AuditAction::DeleteQuota, IdKind::Quota, id.as_str())
                .instance(&current.instance_id)
                .summary(summary(&current)),
        )
        .await?;
    tx.commit_recorded(recorded).await
}
