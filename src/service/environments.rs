//! Environments: where model APIs are deployed and rules apply.

use super::change::{Audit, AuditAction, Deletable};
use super::{parse_description, parse_id, parse_name, Actor};
use crate::domain::inputs::{EnvironmentUpdate, NewEnvironment};
use crate::domain::records::{Dependency, DependencyKind, Environment};
use crate::domain::{IdKind, Name, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::rules::RuleFilter;
use crate::store::Write;
use crate::store::{environments, now_ms, Db};

/// The name of the environment every instance starts with.
pub const DEFAULT_ENVIRONMENT_NAME: &str = "default";

/// An alias is a display label: up to 60 characters, no control characters.
pub(crate) fn parse_alias(raw: &str, name: &Name) -> AppResult<String> {
    let s = raw.trim();
    if s.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "Alias",
            "The alias cannot contain control characters.",
        ));
    }
    if s.chars().count() > 60 {
        return Err(AppError::invalid(
            "Alias",
            "The alias can contain up to 60 characters.",
        ));
    }
    Ok(if s.is_empty() {
        name.to_string()
    } else {
        s.to_owned()
    })
}

/// Inserts the default environment of a new instance, inside the caller's transaction.
pub async fn insert_default(
    conn: &mut impl Write,
    instance_id: &str,
    now: i64,
) -> AppResult<Environment> {
    let env = Environment {
        id: ResourceId::generate(IdKind::Environment).to_string(),
        instance_id: instance_id.to_owned(),
        name: DEFAULT_ENVIRONMENT_NAME.into(),
        alias: "Default".into(),
        description: "Default environment".into(),
        is_default: true,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    environments::insert(conn, &env, DEFAULT_ENVIRONMENT_NAME).await?;
    Ok(env)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_environment(
    db: &Db,
    actor: &Actor,
    input: NewEnvironment,
) -> AppResult<Environment> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let name = parse_name(&input.name)?;
    let alias = parse_alias(&input.alias, &name)?;
    let description = parse_description(&input.description)?;
    let now = now_ms();
    let env = Environment {
        id: ResourceId::generate(IdKind::Environment).to_string(),
        instance_id: instance.id,
        name: name.to_string(),
        alias,
        description: description.as_str().to_owned(),
        is_default: false,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = admin.begin(db).await?;
    environments::insert(&mut tx, &env, &name.unique_key())
        .await
        .map_err(|e| super::name_taken(e, "environment", &name))?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateEnvironment, IdKind::Environment, &env.id)
                .instance(&env.instance_id)
                .summary(format!("name={name}")),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(env)
}

pub async fn list_environments(
    db: &Db,
    instance_id: &str,
    search: &str,
    page: PageRequest,
) -> AppResult<Page<Environment>> {
    let instance = super::require_instance(db, instance_id).await?;
    let pattern = super::search_pattern(search)?;
    let mut conn = db.reader().await?;
    let (total_size, items) = environments::list(&mut conn, &instance.id, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_environment(db: &Db, environment_id: &str) -> AppResult<Environment> {
    let id = parse_id(IdKind::Environment, environment_id)?;
    let mut conn = db.reader().await?;
    environments::get(&mut conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Environment, id.as_str()))
}

/// Renames an environment or changes its alias and description (with its version).
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_environment(
    db: &Db,
    actor: &Actor,
    environment_id: &str,
    input: EnvironmentUpdate,
) -> AppResult<Environment> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Environment, environment_id)?;
    let name = parse_name(&input.name)?;
    let alias = parse_alias(&input.alias, &name)?;
    let description = parse_description(&input.description)?;
    let mut tx = admin.begin(db).await?;
    let current = environments::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Environment, id.as_str()))?;
    let changed = Environment {
        name: name.to_string(),
        alias,
        description: description.as_str().to_owned(),
        updated_at: now_ms(),
        version: current.version + 1,
        ..current.clone()
    };
    super::at_version(
        environments::update(&mut tx, &changed, input.version, &name.unique_key())
            .await
            .map_err(|e| super::name_taken(e, "environment", &name))?,
    )?;
    let summary = format!("name {} -> {name}", current.name);
    let recorded = tx
        .record(
            Audit::new(
                AuditAction::UpdateEnvironment,
                IdKind::Environment,
                id.as_str(),
            )
            .instance(&current.instance_id)
            .summary(summary),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(changed)
}

/// What keeps an environment from being deleted: the APIs deployed to it and the rules
/// that name it.
async fn dependencies(conn: &mut impl Read, env: &Environment) -> AppResult<Vec<Dependency>> {
    let mut deps: Vec<Dependency> = environments::deployed_apis(&mut *conn, &env.id)
        .await?
        .into_iter()
        .map(|api| Dependency {
            kind: DependencyKind::Deployment,
            instance_id: env.instance_id.clone(),
            consumer_id: None,
            id: api.id,
            name: api.name,
        })
        .collect();
    let rules = RuleFilter {
        environment_id: Some(env.id.clone()),
        ..Default::default()
    };
    deps.extend(super::rules::dependencies(conn, &rules).await?);
    Ok(deps)
}

pub async fn check_environment_dependencies(
    db: &Db,
    environment_id: &str,
) -> AppResult<Vec<Dependency>> {
    let env = get_environment(db, environment_id).await?;
    let mut conn = db.reader().await?;
    dependencies(&mut conn, &env).await
}

/// Deletes an environment nothing is deployed to and no rule names; the default one stays.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_environment(db: &Db, actor: &Actor, environment_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Environment, environment_id)?;
    let mut tx = admin.begin(db).await?;
    let env = environments::get(&mut tx, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Environment, id.as_str()))?;
    if env.is_default {
        return Err(AppError::invalid(
            "EnvironmentId",
            "The default environment of an instance cannot be deleted.",
        ));
    }
    let audit = Audit::new(
        AuditAction::DeleteEnvironment,
        IdKind::Environment,
        id.as_str(),
    )
    .instance(&env.instance_id)
    .summary(format!("name={}", env.name));
    tx.delete_checked(db, audit, &env).await
}

impl Deletable for Environment {
    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        dependencies(conn, self).await
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        environments::delete(conn, &self.id).await
    }
}
