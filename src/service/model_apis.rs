//! Model APIs: register, edit (with optimistic concurrency), deploy to environments, and
//! delete behind a dependency check on the authorization rules that grant them.

use super::change::{Audit, AuditAction, Deletable};
use super::{parse_description, parse_id, parse_ids, parse_name, Actor};
use crate::domain::apis::{parse_ai_protocols, parse_model_category, BasePath};
use crate::domain::inputs::{ModelApiUpdate, NewModelApi};
use crate::domain::records::{Dependency, ModelApi};
use crate::domain::{IdKind, Name, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::model_apis;
use crate::store::read::Read;
use crate::store::rules::RuleFilter;
use crate::store::Write;
use crate::store::{environments, now_ms, Db};

/// The API with the environments it is deployed to, or `NotFound.Api`.
pub(crate) async fn load(conn: &mut impl Read, id: &ResourceId) -> AppResult<ModelApi> {
    model_apis::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Api, id.as_str()))
}

/// The checked fields shared by create and update.
struct Checked {
    name: Name,
    base_path: BasePath,
    ai_protocols: Vec<String>,
    model_category: String,
    description: String,
    environment_ids: Vec<ResourceId>,
}

fn check(
    name: &str,
    base_path: &str,
    ai_protocols: &[String],
    model_category: &str,
    description: &str,
    environment_ids: &[String],
) -> AppResult<Checked> {
    Ok(Checked {
        name: parse_name(name)?,
        base_path: BasePath::parse(base_path).map_err(|e| AppError::invalid("BasePath", e))?,
        ai_protocols: parse_ai_protocols(ai_protocols)
            .map_err(|e| AppError::invalid("AiProtocols", e))?,
        model_category: parse_model_category(model_category)
            .map_err(|e| AppError::invalid("ModelCategory", e))?,
        description: parse_description(description)?.as_str().to_owned(),
        environment_ids: parse_ids(IdKind::Environment, "EnvironmentIds", environment_ids)?,
    })
}

/// Every environment must exist in the API's instance.
async fn require_environments(
    conn: &mut impl Read,
    instance_id: &str,
    ids: &[ResourceId],
) -> AppResult<Vec<String>> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match environments::get(&mut *conn, id.as_str()).await? {
            Some(e) if e.instance_id == instance_id => out.push(e.id),
            _ => {
                return Err(AppError::invalid(
                    "EnvironmentIds",
                    format!("The environment {id} does not exist in this instance."),
                ))
            }
        }
    }
    Ok(out)
}

/// A name or base-path clash, told apart by which one another API of the instance has.
fn taken(err: crate::store::Error, c: &Checked) -> AppError {
    if crate::store::breaks_unique(&err, "base_path") {
        return AppError::NameTaken {
            message: format!(
                "Another model API in this instance already uses the base path {}.",
                c.base_path
            ),
        };
    }
    super::name_taken(err, "model API", &c.name)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_api(db: &Db, actor: &Actor, input: NewModelApi) -> AppResult<ModelApi> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let c = check(
        &input.name,
        &input.base_path,
        &input.ai_protocols,
        &input.model_category,
        &input.description,
        &input.environment_ids,
    )?;
    let id = ResourceId::generate(IdKind::Api);
    // Two concurrent creates can draw the same resource number; the loser retries.
    for attempt in 0..3 {
        let mut tx = admin.begin(db).await?;
        let envs = require_environments(&mut tx, &instance.id, &c.environment_ids).await?;
        let now = now_ms();
        let row = ModelApi {
            id: id.to_string(),
            instance_id: instance.id.clone(),
            resource_no: model_apis::next_resource_no(&mut tx).await?,
            name: c.name.to_string(),
            base_path: c.base_path.to_string(),
            ai_protocols: c.ai_protocols.clone(),
            model_category: c.model_category.clone(),
            description: c.description.clone(),
            environments: Vec::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        match model_apis::insert(&mut tx, &row, &c.name.unique_key()).await {
            Err(e) if attempt < 2 && crate::store::breaks_unique(&e, "resource_no") => continue,
            other => other.map_err(|e| taken(e, &c))?,
        }
        model_apis::set_deployments(&mut tx, &row.id, &envs, now).await?;
        let summary = format!(
            "name={} basePath={} environments={}",
            c.name,
            c.base_path,
            envs.len()
        );
        let recorded = tx
            .record(
                Audit::new(AuditAction::CreateHttpApi, IdKind::Api, &row.id)
                    .instance(&instance.id)
                    .summary(summary),
            )
            .await?;
        let api = load(&mut tx, &id).await?;
        tx.commit_recorded(recorded).await?;
        return Ok(api);
    }
    Err(AppError::Internal)
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_api(
    db: &Db,
    actor: &Actor,
    api_id: &str,
    input: ModelApiUpdate,
) -> AppResult<ModelApi> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Api, api_id)?;
    let c = check(
        &input.name,
        &input.base_path,
        &input.ai_protocols,
        &input.model_category,
        &input.description,
        &input.environment_ids,
    )?;
    let mut tx = admin.begin(db).await?;
    let current = load(&mut tx, &id).await?;
    let envs = require_environments(&mut tx, &current.instance_id, &c.environment_ids).await?;
    // Rules name an environment; undeploying from it would leave them pointing nowhere.
    for gone in current
        .environments
        .iter()
        .filter(|e| !envs.contains(&e.id))
    {
        let filter = RuleFilter {
            api_id: Some(current.id.clone()),
            environment_id: Some(gone.id.clone()),
            ..Default::default()
        };
        let deps = super::rules::dependencies(&mut tx, &filter).await?;
        if !deps.is_empty() {
            return Err(AppError::Dependencies(deps));
        }
    }
    let now = now_ms();
    let row = ModelApi {
        name: c.name.to_string(),
        base_path: c.base_path.to_string(),
        ai_protocols: c.ai_protocols.clone(),
        model_category: c.model_category.clone(),
        description: c.description.clone(),
        updated_at: now,
        ..current.clone()
    };
    super::at_version(
        model_apis::update(&mut tx, &row, input.version, &c.name.unique_key())
            .await
            .map_err(|e| taken(e, &c))?,
    )?;
    model_apis::set_deployments(&mut tx, &row.id, &envs, now).await?;
    let summary = format!(
        "name {} -> {} basePath {} -> {}",
        current.name, c.name, current.base_path, c.base_path
    );
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateHttpApi, IdKind::Api, id.as_str())
                .instance(&current.instance_id)
                .summary(summary),
        )
        .await?;
    let api = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(api)
}

pub async fn list_apis(
    db: &Db,
    instance_id: &str,
    name_like: &str,
    page: PageRequest,
) -> AppResult<Page<ModelApi>> {
    let instance = super::require_instance(db, instance_id).await?;
    let pattern = super::search_pattern(name_like)?;
    let mut conn = db.reader().await?;
    let (total_size, items) = model_apis::list(&mut conn, &instance.id, &pattern, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_api(db: &Db, api_id: &str) -> AppResult<ModelApi> {
    let id = parse_id(IdKind::Api, api_id)?;
    let mut conn = db.reader().await?;
    load(&mut conn, &id).await
}

fn api_rules(api: &ModelApi) -> RuleFilter {
    RuleFilter {
        api_id: Some(api.id.clone()),
        ..Default::default()
    }
}

pub async fn check_api_dependencies(db: &Db, api_id: &str) -> AppResult<Vec<Dependency>> {
    let api = get_api(db, api_id).await?;
    let mut conn = db.reader().await?;
    super::rules::dependencies(&mut conn, &api_rules(&api)).await
}

/// Deletes an API no rule refers to; the check is repeated inside the transaction and the
/// foreign key from rules is the backstop.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_api(db: &Db, actor: &Actor, api_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Api, api_id)?;
    let mut tx = admin.begin(db).await?;
    let api = load(&mut tx, &id).await?;
    let audit = Audit::new(AuditAction::DeleteHttpApi, IdKind::Api, id.as_str())
        .instance(&api.instance_id)
        .summary(format!("name={}", api.name));
    tx.delete_checked(db, audit, &api).await
}

impl Deletable for ModelApi {
    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        super::rules::dependencies(conn, &api_rules(self)).await
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        model_apis::delete(conn, &self.id).await
    }
}
