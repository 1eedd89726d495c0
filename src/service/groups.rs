//! Consumer groups.

use super::{parse_description, parse_name, Actor};
use crate::domain::inputs::NewGroup;
use crate::domain::records::ConsumerGroup;
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::AppResult;
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
