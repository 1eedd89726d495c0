//! Consumer groups.

use super::change::{Audit, AuditAction, Deletable};
use super::{parse_description, parse_id, parse_name, Actor};
use crate::domain::inputs::{GroupUpdate, NewGroup, StatusUpdate};
use crate::domain::records::{ConsumerGroup, ConsumerGroupDetails, Dependency, DependencyKind};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::Write;
use crate::store::{groups, now_ms, Db};

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_group(db: &Db, actor: &Actor, input: NewGroup) -> AppResult<ConsumerGroup> {
    let admin = actor.admin()?;
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
    let mut tx = admin.begin(db).await?;
    groups::insert(&mut tx, &group, &name.unique_key())
        .await
        .map_err(|e| super::name_taken(e, "consumer group", &name))?;
    let recorded = tx
        .record(
            Audit::new(
                AuditAction::CreateConsumerGroup,
                IdKind::ConsumerGroup,
                &group.id,
            )
            .instance(&group.instance_id)
            .summary(format!("name={name}")),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
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
    let mut conn = db.reader().await?;
    let (total_size, items) = groups::list(&mut conn, &instance.id, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_group(db: &Db, group_id: &str) -> AppResult<ConsumerGroup> {
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut conn = db.reader().await?;
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
    let admin = actor.admin()?;
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut tx = admin.begin(db).await?;
    let group = groups::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))?;
    super::at_version(
        groups::set_enabled(&mut tx, id.as_str(), input.version, input.enabled, now_ms()).await?,
    )?;
    let recorded = tx
        .record(
            Audit::new(
                if input.enabled {
                    AuditAction::EnableConsumerGroup
                } else {
                    AuditAction::DisableConsumerGroup
                },
                IdKind::ConsumerGroup,
                id.as_str(),
            )
            .instance(&group.instance_id)
            .summary(format!("enabled={}", input.enabled)),
        )
        .await?;
    let group = groups::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))?;
    tx.commit_recorded(recorded).await?;
    Ok(group)
}

/// The most members a dependency list or the details panel shows.
const MEMBERS_SHOWN: i64 = 100;

async fn load(conn: &mut impl Read, id: &ResourceId) -> AppResult<ConsumerGroup> {
    groups::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::ConsumerGroup, id.as_str()))
}

/// The default group every instance has cannot be renamed or deleted.
fn refuse_default(group: &ConsumerGroup, what: &str) -> AppResult<()> {
    if group
        .name
        .eq_ignore_ascii_case(super::instances::DEFAULT_GROUP_NAME)
    {
        return Err(AppError::invalid(
            "ConsumerGroupId",
            format!("The default consumer group cannot be {what}."),
        ));
    }
    Ok(())
}

/// Changes name and description, with optimistic concurrency.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_group(
    db: &Db,
    actor: &Actor,
    group_id: &str,
    input: GroupUpdate,
) -> AppResult<ConsumerGroup> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let name = parse_name(&input.name)?;
    let description = parse_description(&input.description)?;
    let mut tx = admin.begin(db).await?;
    let current = load(&mut tx, &id).await?;
    if current.name != name.as_str() {
        refuse_default(&current, "renamed")?;
    }
    let changed = groups::update(
        &mut tx,
        id.as_str(),
        input.version,
        name.as_str(),
        &name.unique_key(),
        description.as_str(),
        now_ms(),
    )
    .await
    .map_err(|e| super::name_taken(e, "consumer group", &name))?;
    super::at_version(changed)?;
    let summary = format!("name {} -> {name}", current.name);
    let recorded = tx
        .record(
            Audit::new(
                AuditAction::UpdateConsumerGroup,
                IdKind::ConsumerGroup,
                id.as_str(),
            )
            .instance(&current.instance_id)
            .summary(summary),
        )
        .await?;
    let group = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(group)
}

/// Members and the rules that grant the group: what must go before it can be deleted.
async fn dependencies(conn: &mut impl Read, group: &ConsumerGroup) -> AppResult<Vec<Dependency>> {
    let mut deps: Vec<Dependency> = groups::members(&mut *conn, &group.id, MEMBERS_SHOWN)
        .await?
        .into_iter()
        .map(|m| Dependency {
            kind: DependencyKind::Member,
            instance_id: group.instance_id.clone(),
            consumer_id: None,
            id: m.id,
            name: m.name,
        })
        .collect();
    let filter = crate::store::rules::RuleFilter {
        group_id: Some(group.id.clone()),
        ..Default::default()
    };
    deps.extend(super::rules::dependencies(conn, &filter).await?);
    Ok(deps)
}

pub async fn check_group_dependencies(db: &Db, group_id: &str) -> AppResult<Vec<Dependency>> {
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut conn = db.reader().await?;
    let group = load(&mut conn, &id).await?;
    dependencies(&mut conn, &group).await
}

/// Deletes a group without members or rules; otherwise `Conflict.Dependencies` lists them.
/// The delete statement re-checks, so a member added meanwhile keeps the group.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_group(db: &Db, actor: &Actor, group_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut tx = admin.begin(db).await?;
    let group = load(&mut tx, &id).await?;
    refuse_default(&group, "deleted")?;
    let audit = Audit::new(
        AuditAction::DeleteConsumerGroup,
        IdKind::ConsumerGroup,
        id.as_str(),
    )
    .instance(&group.instance_id)
    .summary(format!("name={}", group.name));
    tx.delete_checked(db, audit, &group).await
}

/// A group with its members, the consumers that could join, and the rules that grant it.
pub async fn group_details(db: &Db, group_id: &str) -> AppResult<ConsumerGroupDetails> {
    let id = parse_id(IdKind::ConsumerGroup, group_id)?;
    let mut conn = db.reader().await?;
    let group = load(&mut conn, &id).await?;
    let members = groups::members(&mut conn, id.as_str(), MEMBERS_SHOWN).await?;
    let candidates =
        groups::non_members(&mut conn, &group.instance_id, id.as_str(), MEMBERS_SHOWN).await?;
    drop(conn);
    let rules = super::rules::query_rules(
        db,
        super::rules::RuleQuery {
            group_id: Some(id.to_string()),
            ..Default::default()
        },
        PageRequest::new(Some(1), Some(100)).expect("a valid page"),
    )
    .await?
    .items;
    Ok(ConsumerGroupDetails {
        group,
        members,
        candidates,
        rules,
    })
}

impl Deletable for ConsumerGroup {
    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        dependencies(conn, self).await
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        groups::delete_if_unused(conn, &self.id).await
    }
}
