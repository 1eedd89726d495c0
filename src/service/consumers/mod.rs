//! Consumers: create with groups and keys, edit with optimistic concurrency, enable or
//! disable, and delete behind a dependency check that is repeated inside the delete
//! transaction. Their credentials, group memberships and the seed-shaped list of their rules
//! are the sibling files.

mod credentials;
mod membership;
pub mod rules;

pub use credentials::{bind_credential, unbind_credential};
pub use membership::{add_to_group, remove_from_group};

use super::change::{Audit, AuditAction, Change, Deletable};
use super::{parse_description, parse_id, parse_ids, parse_name, Actor};
use crate::domain::inputs::{ConsumerUpdate, NewConsumer, StatusUpdate};
use crate::domain::records::{Consumer, Dependency, DependencyKind};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::consumers::{self, ConsumerRow};
use crate::store::read::Read;
use crate::store::Write;
use crate::store::{groups, keys, now_ms, Db};

async fn load(conn: &mut impl Read, id: &ResourceId) -> AppResult<Consumer> {
    consumers::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Consumer, id.as_str()))
}

/// Consumers of an instance, newest first: by name, and optionally only the members of a
/// group (`group_id`) or the holders of a key whose name or prefix contains `key_like`
/// ("which consumer holds this key?").
pub async fn list_consumers(
    db: &Db,
    instance_id: &str,
    name_like: &str,
    group_id: &str,
    key_like: &str,
    page: PageRequest,
) -> AppResult<Page<Consumer>> {
    let instance_id = parse_id(IdKind::Instance, instance_id)?;
    super::search_pattern(name_like)?;
    let filter = consumers::ConsumerFilter {
        group_id: match group_id.trim() {
            "" => None,
            g => Some(
                parse_ids(IdKind::ConsumerGroup, "ConsumerGroupId", &[g.to_owned()])?
                    .remove(0)
                    .to_string(),
            ),
        },
        key_pattern: match key_like.trim() {
            "" => None,
            k => Some(super::search_pattern(k).map_err(|_| {
                AppError::invalid("KeyLike", "Search text can contain up to 100 characters.")
            })?),
        },
    };
    let mut conn = db.reader().await?;
    let (total_size, items) =
        consumers::list(&mut conn, instance_id.as_str(), name_like, &filter, page)
            .await?
            .ok_or_else(|| AppError::not_found(IdKind::Instance, instance_id.as_str()))?;
    Ok(page.answer(total_size, items))
}

pub async fn get_consumer(db: &Db, consumer_id: &str) -> AppResult<Consumer> {
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let mut conn = db.reader().await?;
    load(&mut conn, &id).await
}

/// Creates a consumer, its group memberships and its key bindings in one transaction.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_consumer(db: &Db, actor: &Actor, input: NewConsumer) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let name = parse_name(&input.name)?;
    let description = parse_description(&input.description)?;
    let group_ids = parse_ids(IdKind::ConsumerGroup, "ConsumerGroupIds", &input.group_ids)?;
    let key_ids = parse_ids(IdKind::Key, "KeyIds", &input.key_ids)?;
    let now = now_ms();
    let row = ConsumerRow {
        id: ResourceId::generate(IdKind::Consumer).to_string(),
        instance_id: instance.id.clone(),
        name: name.to_string(),
        description: description.as_str().to_owned(),
        enabled: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = admin.begin(db).await?;
    consumers::insert(&mut tx, &row, &name.unique_key())
        .await
        .map_err(|e| super::name_taken(e, "consumer", &name))?;
    for gid in &group_ids {
        match groups::get(&mut tx, gid.as_str()).await? {
            Some(g) if g.instance_id == instance.id => {
                consumers::add_membership(&mut tx, gid.as_str(), &row.id, now).await?
            }
            _ => {
                return Err(AppError::invalid(
                    "ConsumerGroupIds",
                    format!("The consumer group {gid} does not exist in this instance."),
                ))
            }
        }
    }
    for kid in &key_ids {
        if !keys::bind(&mut tx, kid.as_str(), &instance.id, &row.id, now).await? {
            return Err(AppError::invalid(
                "KeyIds",
                format!("The key {kid} does not exist in this instance or is already bound."),
            ));
        }
    }
    let summary = format!(
        "name={name} groups={} keys={}",
        group_ids.len(),
        key_ids.len()
    );
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateConsumer, IdKind::Consumer, &row.id)
                .instance(&instance.id)
                .summary(summary),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    // Read back after the commit, outside the writer's turn (on SQLite every change waits
    // for it).
    let id = ResourceId::parse(IdKind::Consumer, &row.id).expect("generated id parses");
    load(&mut db.reader().await?, &id).await
}

/// Changes name and description only; groups and keys are managed elsewhere.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_consumer(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    input: ConsumerUpdate,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let name = parse_name(&input.name)?;
    let description = parse_description(&input.description)?;
    let mut tx = admin.begin(db).await?;
    let current = consumers::get_row(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Consumer, id.as_str()))?;
    let changed = consumers::update(
        &mut tx,
        id.as_str(),
        input.version,
        name.as_str(),
        &name.unique_key(),
        description.as_str(),
        now_ms(),
    )
    .await
    .map_err(|e| super::name_taken(e, "consumer", &name))?;
    super::at_version(changed)?;
    let summary = format!("name {} -> {name}", current.name);
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateConsumer, IdKind::Consumer, id.as_str())
                .instance(&current.instance_id)
                .summary(summary),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    load(&mut db.reader().await?, &id).await
}

/// Everything that must be removed before the consumer can be deleted.
async fn dependencies(conn: &mut impl Read, consumer: &Consumer) -> AppResult<Vec<Dependency>> {
    let fresh = load(
        conn,
        &ResourceId::parse(IdKind::Consumer, &consumer.id).expect("stored id parses"),
    )
    .await?;
    let mut deps: Vec<Dependency> = fresh
        .groups
        .iter()
        .map(|g| Dependency {
            kind: DependencyKind::GroupMembership,
            id: g.id.clone(),
            name: g.name.clone(),
            instance_id: consumer.instance_id.clone(),
            consumer_id: Some(consumer.id.clone()),
        })
        .collect();
    deps.extend(fresh.credentials.iter().map(|c| Dependency {
        kind: DependencyKind::Credential,
        id: c.credential_id.clone(),
        name: c.name.clone(),
        instance_id: consumer.instance_id.clone(),
        consumer_id: Some(consumer.id.clone()),
    }));
    let direct_rules = crate::store::rules::RuleFilter {
        consumer_id: Some(consumer.id.clone()),
        ..Default::default()
    };
    deps.extend(super::rules::dependencies(conn, &direct_rules).await?);
    Ok(deps)
}

pub async fn check_consumer_dependencies(db: &Db, consumer_id: &str) -> AppResult<Vec<Dependency>> {
    let consumer = get_consumer(db, consumer_id).await?;
    let mut conn = db.reader().await?;
    dependencies(&mut conn, &consumer).await
}

/// Deletes a consumer that has no dependencies. The check is repeated inside the delete's
/// transaction, and the foreign keys refuse the delete if a dependency appears concurrently.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_consumer(db: &Db, actor: &Actor, consumer_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    let audit = Audit::new(AuditAction::DeleteConsumer, IdKind::Consumer, id.as_str())
        .instance(&consumer.instance_id)
        .summary(format!("name={}", consumer.name));
    tx.delete_checked(db, audit, &consumer).await
}

/// Audits a change to `consumer`, commits it, and answers with the consumer as it now is.
async fn finish_change(
    mut tx: Change<'_>,
    consumer: &Consumer,
    action: AuditAction,
    summary: String,
) -> AppResult<Consumer> {
    let id = ResourceId::parse(IdKind::Consumer, &consumer.id).expect("stored id parses");
    let recorded = tx
        .record(
            Audit::new(action, IdKind::Consumer, id.as_str())
                .instance(&consumer.instance_id)
                .summary(summary),
        )
        .await?;
    let changed = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(changed)
}

/// Enables or disables a consumer: a disabled consumer is refused by enforcement.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn set_consumer_enabled(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    input: StatusUpdate,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    super::at_version(
        consumers::set_enabled(&mut tx, id.as_str(), input.version, input.enabled, now_ms())
            .await?,
    )?;
    let action = if input.enabled {
        AuditAction::EnableConsumer
    } else {
        AuditAction::DisableConsumer
    };
    finish_change(tx, &consumer, action, format!("enabled={}", input.enabled)).await
}

impl Deletable for Consumer {
    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        dependencies(conn, self).await
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        consumers::delete(conn, &self.id, &self.instance_id).await
    }
}
