//! Rate limits: set, changed and removed by Admins, audited, and applied by the check of
//! every replica within a second (the audit entry is the snapshot's journal entry).

use super::change::{Audit, AuditAction};
use super::{parse_id, Actor};
use crate::domain::inputs::{NewRateLimit, RateLimitUpdate};
use crate::domain::limits::{LimitSubject, LimitValues};
use crate::domain::records::{RateLimit, SubjectRef};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::limits::{self, LimitFilter};
use crate::store::{now_ms, Db};

fn values(
    per_second: Option<i64>,
    per_minute: Option<i64>,
    policy: &str,
) -> AppResult<LimitValues> {
    LimitValues::parse(per_second, per_minute, policy)
        .map_err(|(field, message)| AppError::invalid(field, message))
}

/// The kind and parsed ID of a limit's or quota's subject.
pub(crate) fn parse_subject(raw: &str) -> AppResult<(LimitSubject, ResourceId)> {
    let raw = raw.trim();
    let kind = LimitSubject::of(raw).ok_or_else(|| {
        AppError::invalid(
            "SubjectId",
            "The subject is a key (key-…), a consumer (cs-…) or a consumer group (cg-…).",
        )
    })?;
    Ok((kind, parse_id(kind.id_kind(), raw)?))
}

/// The name of a limit's or quota's subject, which must be of the gateway.
pub(crate) async fn subject_name(
    conn: &mut impl crate::store::read::Read,
    gateway_id: &str,
    kind: LimitSubject,
    id: &ResourceId,
) -> AppResult<String> {
    let (gateway, name) = limits::subject(conn, kind, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(kind.id_kind(), id.as_str()))?;
    if gateway != gateway_id {
        return Err(AppError::invalid(
            "SubjectId",
            format!("The {} {id} belongs to another gateway.", kind.label()),
        ));
    }
    Ok(name)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_rate_limit(
    db: &Db,
    actor: &Actor,
    input: NewRateLimit,
) -> AppResult<RateLimit> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let (kind, subject_id) = parse_subject(&input.subject_id)?;
    let v = values(input.per_second, input.per_minute, &input.policy)?;
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let name = subject_name(&mut tx, &instance.id, kind, &subject_id).await?;
    let limit = RateLimit {
        id: ResourceId::generate(IdKind::RateLimit).to_string(),
        instance_id: instance.id,
        subject_type: kind,
        subject: SubjectRef {
            id: subject_id.to_string(),
            name,
        },
        consumer: None,
        per_second: v.per_second.map(i64::from),
        per_minute: v.per_minute.map(i64::from),
        policy: v.policy,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    limits::insert(&mut tx, &limit).await.map_err(|e| {
        if crate::store::breaks_unique(&e, "subject_id") {
            AppError::Exists {
                message: format!(
                    "The {} {} has a rate limit already: change that one instead.",
                    kind.label(),
                    limit.subject.name
                ),
            }
        } else {
            e.into()
        }
    })?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateRateLimit, IdKind::RateLimit, &limit.id)
                .instance(&limit.instance_id)
                .summary(format!(
                    "{} {}: {}, {}",
                    kind.label(),
                    limit.subject.id,
                    v.summary(),
                    v.policy.as_str()
                )),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    get_rate_limit(db, &limit.id).await
}

pub async fn get_rate_limit(db: &Db, rate_limit_id: &str) -> AppResult<RateLimit> {
    let id = parse_id(IdKind::RateLimit, rate_limit_id)?;
    let mut conn = db.reader().await?;
    limits::get(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::RateLimit, id.as_str()))
}

/// The limits of a gateway, newest first: all, the one on a subject, or every one that
/// covers a consumer's requests (its own, its keys' and its groups').
pub async fn list_rate_limits(
    db: &Db,
    instance_id: &str,
    subject_id: Option<&str>,
    consumer_id: Option<&str>,
    page: PageRequest,
) -> AppResult<Page<RateLimit>> {
    let instance = super::require_instance(db, instance_id).await?;
    let subject_id = match subject_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(parse_subject(s)?.1.to_string()),
        None => None,
    };
    let covering = match consumer_id.map(str::trim).filter(|s| !s.is_empty()) {
        Some(c) => Some(parse_id(IdKind::Consumer, c)?.to_string()),
        None => None,
    };
    let filter = LimitFilter {
        instance_id: instance.id,
        subject_id,
        covering,
    };
    let mut conn = db.reader().await?;
    let (total, items) = limits::list(&mut conn, &filter, page).await?;
    Ok(page.answer(total, items))
}

/// Changes a limit's values (its subject stays), with its version.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_rate_limit(
    db: &Db,
    actor: &Actor,
    rate_limit_id: &str,
    input: RateLimitUpdate,
) -> AppResult<RateLimit> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::RateLimit, rate_limit_id)?;
    let v = values(input.per_second, input.per_minute, &input.policy)?;
    let mut tx = admin.begin(db).await?;
    let current = limits::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::RateLimit, id.as_str()))?;
    let changed = RateLimit {
        per_second: v.per_second.map(i64::from),
        per_minute: v.per_minute.map(i64::from),
        policy: v.policy,
        updated_at: now_ms(),
        version: current.version + 1,
        ..current.clone()
    };
    super::at_version(limits::update(&mut tx, &changed, input.version).await?)?;
    let before = crate::domain::limits::describe(
        current.per_second.map(|n| n as u32),
        current.per_minute.map(|n| n as u32),
    );
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateRateLimit, IdKind::RateLimit, id.as_str())
                .instance(&current.instance_id)
                .summary(format!(
                    "{} {}: {before}, {} -> {}, {}",
                    current.subject_type.label(),
                    current.subject.id,
                    current.policy.as_str(),
                    v.summary(),
                    v.policy.as_str()
                )),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(changed)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_rate_limit(db: &Db, actor: &Actor, rate_limit_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::RateLimit, rate_limit_id)?;
    let mut tx = admin.begin(db).await?;
    let current = limits::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::RateLimit, id.as_str()))?;
    if !limits::delete(&mut tx, id.as_str()).await? {
        return Err(AppError::not_found(IdKind::RateLimit, id.as_str()));
    }
    let recorded = tx
        .record(
            Audit::new(AuditAction::DeleteRateLimit, IdKind::RateLimit, id.as_str())
                .instance(&current.instance_id)
                .summary(format!(
                    "{} {}",
                    current.subject_type.label(),
                    current.subject.id
                )),
        )
        .await?;
    tx.commit_recorded(recorded).await
}
