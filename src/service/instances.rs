//! Gateway instances.

use super::change::{Audit, AuditAction, Deletable};
use super::{parse_description, parse_name, Actor};
use crate::domain::inputs::{InstanceUpdate, NewInstance};
use crate::domain::instance_overview::InstanceOverview;
use crate::domain::records::{ConsumerGroup, Dependency, DependencyKind, Instance};
use crate::domain::usage::{Granularity, UsageQuery, DAY_MS};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::Write;
use crate::store::{groups, instances, now_ms, Db};

/// How many records of each kind a gateway's dependency list shows.
const DEPENDENCIES_SHOWN: i64 = 20;

/// The name every instance's first group carries.
pub use crate::domain::records::DEFAULT_GROUP_NAME;

fn parse_token(field: &str, label: &str, raw: &str, max: usize) -> AppResult<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(AppError::invalid(field, format!("Enter the {label}.")));
    }
    if s.chars().count() > max
        || !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
    {
        return Err(AppError::invalid(
            field,
            format!("The {label} can contain up to {max} characters: letters, digits, \"-\", \".\" and \"_\"."),
        ));
    }
    Ok(s.to_owned())
}

/// Registers an instance together with its default consumer group and environment.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_instance(db: &Db, actor: &Actor, input: NewInstance) -> AppResult<Instance> {
    let admin = actor.admin()?;
    let name = parse_name(&input.name)?;
    let region = parse_token("Region", "region", &input.region, 40)?;
    let engine_version = parse_token("EngineVersion", "engine version", &input.engine_version, 20)?;
    let description = parse_description(&input.description)?;
    let now = now_ms();
    let instance = Instance {
        id: ResourceId::generate(IdKind::Instance).to_string(),
        name: name.to_string(),
        region,
        engine_version,
        status: "Running".into(),
        description: description.as_str().to_owned(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let group = ConsumerGroup {
        id: ResourceId::generate(IdKind::ConsumerGroup).to_string(),
        instance_id: instance.id.clone(),
        name: DEFAULT_GROUP_NAME.into(),
        description: "Default consumer group".into(),
        enabled: true,
        member_count: 0,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = admin.begin(db).await?;
    instances::insert(&mut tx, &instance, &name.unique_key())
        .await
        .map_err(|e| super::name_taken_in(e, "gateway instance", &name, ""))?;
    groups::insert(&mut tx, &group, &DEFAULT_GROUP_NAME.to_ascii_lowercase()).await?;
    super::environments::insert_default(&mut tx, &instance.id, now).await?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateGateway, IdKind::Instance, &instance.id)
                .instance(&instance.id)
                .summary(format!("name={name}")),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(instance)
}

pub async fn list_instances(db: &Db, search: &str, page: PageRequest) -> AppResult<Page<Instance>> {
    let pattern = super::search_pattern(search)?;
    let mut conn = db.reader().await?;
    let (total_size, items) = instances::list(&mut conn, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_instance(db: &Db, id: &str) -> AppResult<Instance> {
    super::require_instance(db, id).await
}

/// What the instance page shows first (see [`InstanceOverview`]); the caller adds what only
/// the serving replica knows: its snapshot's revision and age, and its own address.
pub async fn overview(db: &Db, id: &str) -> AppResult<InstanceOverview> {
    let instance = super::require_instance(db, id).await?;
    let now = now_ms();
    let mut conn = db.reader().await?;
    let counts = instances::counts(&mut conn, &instance.id, now)
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Instance, &instance.id))?;
    let today_from = now - now.rem_euclid(DAY_MS);
    let today = UsageQuery::unfiltered(today_from, now, Granularity::Hour);
    let (_, totals) = crate::store::usage::query(&mut conn, &instance.id, &today).await?;
    let quotas_near_limit = super::quotas::near_limit(&mut conn, &instance.id, now, 10).await?;
    Ok(InstanceOverview {
        gateway_id: instance.id,
        consumers: counts.consumers,
        consumer_groups: counts.consumer_groups,
        keys: counts.keys,
        apis: counts.apis,
        rules_in_effect: counts.rules_in_effect,
        today_from,
        today_to: now,
        today: totals,
        quotas_near_limit,
        revision: counts.revision,
        snapshot_revision: None,
        snapshot_confirmed_ago: 0,
        console_origin: String::new(),
    })
}

/// Renames an instance or changes its engine version and description (with its version).
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_instance(
    db: &Db,
    actor: &Actor,
    instance_id: &str,
    input: InstanceUpdate,
) -> AppResult<Instance> {
    let admin = actor.admin()?;
    let id = super::parse_id(IdKind::Instance, instance_id)?;
    let name = parse_name(&input.name)?;
    let engine_version = parse_token("EngineVersion", "engine version", &input.engine_version, 20)?;
    let description = parse_description(&input.description)?;
    let mut tx = admin.begin(db).await?;
    let current = instances::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Instance, id.as_str()))?;
    let changed = Instance {
        name: name.to_string(),
        engine_version,
        description: description.as_str().to_owned(),
        updated_at: now_ms(),
        version: current.version + 1,
        ..current.clone()
    };
    super::at_version(
        instances::update(&mut tx, &changed, input.version, &name.unique_key())
            .await
            .map_err(|e| super::name_taken_in(e, "gateway instance", &name, ""))?,
    )?;
    let summary = format!(
        "name {} -> {name}, engineVersion {} -> {}",
        current.name, current.engine_version, changed.engine_version
    );
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateGateway, IdKind::Instance, id.as_str())
                .instance(id.as_str())
                .summary(summary),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(changed)
}

/// What keeps an instance from being deleted: its consumers, groups other than the default
/// one, keys, model APIs and environments other than the default one (up to
/// `DEPENDENCIES_SHOWN` of each).
async fn dependencies(conn: &mut impl Read, instance_id: &str) -> AppResult<Vec<Dependency>> {
    let default_key = DEFAULT_GROUP_NAME.to_ascii_lowercase();
    let rows = instances::contents(conn, instance_id, &default_key, DEPENDENCIES_SHOWN).await?;
    Ok(rows
        .into_iter()
        .filter_map(|held| {
            let (id, name) = (held.id, held.name);
            let kind = match held.kind.as_str() {
                "Consumer" => DependencyKind::Consumer,
                "ConsumerGroup" => DependencyKind::ConsumerGroup,
                "Key" => DependencyKind::Key,
                "ModelApi" => DependencyKind::ModelApi,
                "Environment" => DependencyKind::Environment,
                _ => return None,
            };
            Some(Dependency {
                kind,
                id,
                name,
                instance_id: instance_id.to_owned(),
                consumer_id: None,
            })
        })
        .collect())
}

pub async fn check_instance_dependencies(db: &Db, instance_id: &str) -> AppResult<Vec<Dependency>> {
    let instance = super::require_instance(db, instance_id).await?;
    let mut conn = db.reader().await?;
    dependencies(&mut conn, &instance.id).await
}

/// Deletes an instance that holds nothing but its default group and environment; otherwise
/// `Conflict.Dependencies` lists what it still holds. Its audit entries stay.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_instance(db: &Db, actor: &Actor, instance_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = super::parse_id(IdKind::Instance, instance_id)?;
    let mut tx = admin.begin(db).await?;
    let instance = instances::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Instance, id.as_str()))?;
    let audit = Audit::new(AuditAction::DeleteGateway, IdKind::Instance, id.as_str())
        .instance(id.as_str())
        .summary(format!("name={}", instance.name));
    tx.delete_checked(db, audit, &instance).await?;
    tracing::info!(gateway = %id, "gateway deleted");
    Ok(())
}

impl Deletable for Instance {
    /// Its entry bumps its own revision row, which keeps every other change of the instance
    /// out until the delete commits.
    const RECORD_FIRST: bool = true;

    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        dependencies(conn, &self.id).await
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        instances::delete(conn, &self.id).await
    }
}
