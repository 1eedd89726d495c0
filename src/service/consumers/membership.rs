//! A consumer's consumer groups: joining one more group of its instance, and leaving one.

use super::{finish_change, load};
use crate::domain::inputs::NewMembership;
use crate::domain::records::Consumer;
use crate::domain::IdKind;
use crate::error::{AppError, AppResult};
use crate::service::change::AuditAction;
use crate::service::{parse_id, parse_ids, Actor};
use crate::store::consumers;
use crate::store::{groups, now_ms, Db};

/// Puts the consumer into one more group of its instance.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn add_to_group(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    input: NewMembership,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let gid = parse_ids(IdKind::ConsumerGroup, "ConsumerGroupId", &[input.group_id])?.remove(0);
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    let missing = || {
        AppError::invalid(
            "ConsumerGroupId",
            format!("The consumer group {gid} does not exist in this instance."),
        )
    };
    match groups::get(&mut tx, gid.as_str()).await? {
        Some(g) if g.instance_id == consumer.instance_id => {}
        _ => return Err(missing()),
    }
    let already = || {
        AppError::invalid(
            "ConsumerGroupId",
            format!("The consumer is already a member of the consumer group {gid}."),
        )
    };
    if consumer.groups.iter().any(|g| g.id == gid.as_str()) {
        return Err(already());
    }
    // Another request may add the same membership between the check and the insert (on
    // PostgreSQL both see it absent): the table's key refuses the second, with the same answer.
    if let Err(e) = consumers::add_membership(&mut tx, gid.as_str(), id.as_str(), now_ms()).await {
        return Err(
            if crate::store::breaks_unique(&e, "consumer_group_members") {
                already()
            } else if e
                .as_database_error()
                .is_some_and(|d| d.is_foreign_key_violation())
            {
                // Deleted since it was read, by a change that committed first.
                missing()
            } else {
                e.into()
            },
        );
    }
    finish_change(
        tx,
        &consumer,
        AuditAction::AddGroupMembership,
        format!("group={gid}"),
    )
    .await
}

/// Takes the consumer out of one of its groups (it keeps its other groups and its keys).
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn remove_from_group(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    group_id: &str,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let gid = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    if !consumers::remove_membership(&mut tx, gid.as_str(), id.as_str()).await? {
        return Err(AppError::invalid(
            "ConsumerGroupId",
            format!("The consumer is not a member of the consumer group {gid}."),
        ));
    }
    finish_change(
        tx,
        &consumer,
        AuditAction::RemoveGroupMembership,
        format!("group={gid}"),
    )
    .await
}
