//! Consumer groups.

use super::{parse_description, parse_id, parse_name, Actor};
use crate::domain::inputs::{NewGroup, StatusUpdate};
use crate::domain::records::ConsumerGroup;
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::{groups, now_ms, Db};

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_group(db: &Db, actor: &Actor, input: NewGroup) -> AppResult<ConsumerGroup> {
    actor.require_admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let name = parse_name(&input.name)?;
    let description = parse_description(&input.description)?;
    let now = now_ms();
    let group = ConsumerGroup {
        id: ResourceId::generate(IdKind::ConsumerGroup).to_string(),
        instance_id: instance.id,
        name: name.to_string(),
        description: description.as_str().to_owned(),
        enabled: true,
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = db.pool.begin().await?;
    groups::insert(&mut tx, &group, &name.unique_key())
        .await
        .map_err(|e| super::name_taken(e, "consumer group", &name))?;
    actor
        .audit(
            &mut tx,
            Some(&group.instance_id),
            "CreateConsumerGroup",
            IdKind::ConsumerGroup,
            &group.id,
            format!("name={name}"),
        )
        .await?;
    tx.commit().await?;
    Ok(group)
}

pub async fn list_groups(
    db: &Db,
    instance_id: &str,
    search: &str,
    page: PageRequest,
) -> AppResult<Page<ConsumerGroup>> {
    let instance = super::require_instance(db, instance_id).await?;
    let pattern = super::search_pattern(search)?;
    let mut conn = db.pool.acquire().await?;
    let (total_size, items) = groups::list(&mut conn, &instance.id, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_group(db: &Db, group_id: &str) -> AppResult<ConsumerGroup> {
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut conn = db.pool.acquire().await?;
    groups::get(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))
}

/// Enables or disables a group; a disabled group grants nothing to its members.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn set_group_enabled(
    db: &Db,
    actor: &Actor,
    group_id: &str,
    input: StatusUpdate,
) -> AppResult<ConsumerGroup> {
    actor.require_admin()?;
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut tx = db.pool.begin().await?;
    let group = groups::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))?;
    if !groups::set_enabled(&mut tx, id.as_str(), input.version, input.enabled, now_ms()).await? {
        return Err(AppError::Version);
    }
    actor
        .audit(
            &mut tx,
            Some(&group.instance_id),
            if input.enabled {
                "EnableConsumerGroup"
            } else {
                "DisableConsumerGroup"
            },
            IdKind::ConsumerGroup,
            id.as_str(),
            format!("enabled={}", input.enabled),
        )
        .await?;
    let group = groups::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))?;
    tx.commit().await?;
    Ok(group)
}
