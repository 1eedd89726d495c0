//! Gateway instances.

use super::{parse_description, parse_name, Actor};
use crate::domain::inputs::NewInstance;
use crate::domain::records::{ConsumerGroup, Instance};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::{groups, instances, now_ms, Db};

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
    actor.require_admin()?;
    let name = parse_name(&input.name)?;
    let region = parse_token("Region", "region", &input.region, 40)?;
    let engine_version = parse_token("EngineVersion", "engine version", &input.engine_version, 20)?;
    let description = parse_description(&input.description)?;
    let now = now_ms();
    let instance = Instance {
        id: ResourceId::generate(IdKind::Gateway).to_string(),
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
    let mut tx = db.pool.begin().await?;
    instances::insert(&mut tx, &instance, &name.unique_key())
        .await
        .map_err(|e| super::name_taken(e, "gateway instance", &name))?;
    groups::insert(&mut tx, &group, &DEFAULT_GROUP_NAME.to_ascii_lowercase()).await?;
    super::environments::insert_default(&mut tx, &instance.id, now).await?;
    actor
        .audit(
            &mut tx,
            Some(&instance.id),
            "CreateGateway",
            IdKind::Gateway,
            &instance.id,
            format!("name={name}"),
        )
        .await?;
    tx.commit().await?;
    Ok(instance)
}

pub async fn list_instances(db: &Db, search: &str, page: PageRequest) -> AppResult<Page<Instance>> {
    let pattern = super::search_pattern(search)?;
    let mut conn = db.pool.acquire().await?;
    let (total_size, items) = instances::list(&mut conn, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_instance(db: &Db, id: &str) -> AppResult<Instance> {
    super::require_instance(db, id).await
}
