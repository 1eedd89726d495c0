//! Usage: what the enforcement check decided, counted by every replica (see
//! `enforce::usage`), asked by time bucket, dimension and filter. Anyone signed in may read
//! it, as they may read the rules it follows from.

use crate::domain::usage::{RawUsageQuery, UsageReport, MAX_ROWS};
use crate::domain::{IdKind, ResourceId};
use crate::error::{AppError, AppResult};
use crate::service::{require_instance, truncate, Actor};
use crate::store::{self, now_ms, Db};

/// The usage of a gateway: rows per time bucket (and per the dimensions grouped by), and the
/// totals over the range.
#[tracing::instrument(skip(db, actor, raw), fields(actor = %actor.user.username))]
pub async fn usage(
    db: &Db,
    actor: &Actor,
    gateway_id: &str,
    raw: RawUsageQuery,
) -> AppResult<UsageReport> {
    let gateway = require_instance(db, gateway_id).await?;
    let q = raw
        .parse(now_ms())
        .map_err(|e| AppError::invalid(e.field, e.message))?;
    for (kind, field, value) in [
        (IdKind::Consumer, "ConsumerId", &q.consumer_id),
        (
            IdKind::ConsumerGroup,
            "ConsumerGroupId",
            &q.consumer_group_id,
        ),
        (IdKind::Key, "KeyId", &q.key_id),
        (IdKind::Api, "ApiId", &q.api_id),
        (IdKind::Environment, "EnvironmentId", &q.environment_id),
    ] {
        if let Some(v) = value {
            if ResourceId::parse(kind, v).is_none() {
                return Err(AppError::invalid(
                    field,
                    format!("{} is not a valid {} ID.", truncate(v), kind.noun()),
                ));
            }
        }
    }
    let mut conn = db.reader().await?;
    let (items, totals) = store::usage::query(&mut conn, &gateway.id, &q).await?;
    let items = items.ok_or_else(|| {
        AppError::invalid(
            "GroupBy",
            format!("The answer would have more than {MAX_ROWS} rows: choose a shorter range, a coarser granularity, fewer dimensions to group by, or a filter."),
        )
    })?;
    Ok(UsageReport {
        gateway_id: gateway.id,
        from: q.from,
        to: q.to,
        granularity: q.granularity,
        group_by: q.group_by,
        items,
        totals,
    })
}
