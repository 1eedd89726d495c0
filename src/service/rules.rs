//! Authorization rules: grant a consumer or a consumer group a model API in an environment,
//! change the expiry, revoke; and the per-consumer view of them
//! (`ListConsumerAuthorizationRules`).

use super::change::{Audit, AuditAction};
use super::{parse_id, Actor};
use crate::domain::authorization::{ExpireStatus, Expiry, PrincipalType};
use crate::domain::inputs::{NewRule, RuleExpiryUpdate};
use crate::domain::records::{AuthorizationRule, Dependency, DependencyKind};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::rules::{self, RuleFilter};
use crate::store::{consumers, environments, groups, model_apis, now_ms, Db};

/// Most rules one batch may create or delete.
pub const MAX_BATCH: usize = 100;

/// The rules matching `filter` as dependencies.
pub(crate) async fn dependencies(
    conn: &mut impl Read,
    filter: &RuleFilter,
) -> AppResult<Vec<Dependency>> {
    Ok(rules::all(conn, filter, now_ms())
        .await?
        .into_iter()
        .map(|r| Dependency {
            kind: DependencyKind::AuthorizationRule,
            name: format!(
                "{} → {} ({})",
                r.principal.name, r.api.name, r.environment.name
            ),
            instance_id: r.instance_id,
            consumer_id: None,
            id: r.id,
        })
        .collect())
}

/// A grant checked against the database, ready to insert.
struct CheckedRule {
    principal_type: PrincipalType,
    principal_id: ResourceId,
    /// The instance of the API, the principal and the environment alike.
    instance_id: String,
    api_id: String,
    environment_id: String,
    expiry: Expiry,
}

/// Checks one grant against the database; `index` names it in errors of a batch.
async fn check_new(
    conn: &mut impl Read,
    input: &NewRule,
    index: Option<usize>,
    now: i64,
) -> AppResult<CheckedRule> {
    let at = |field: &str| match index {
        Some(i) => format!("Rules.{i}.{field}"),
        None => field.to_owned(),
    };
    let field_err = |field: &str, msg: String| AppError::invalid(&at(field), msg);
    let principal_type = PrincipalType::parse(input.principal_type.trim()).ok_or_else(|| {
        field_err(
            "PrincipalType",
            "principalType must be Consumer or ConsumerGroup.".into(),
        )
    })?;
    let expiry = Expiry::parse(input.expire_mode.trim(), input.expire_timestamp, now)
        .map_err(|e| field_err(e.field(), e.to_string()))?;
    let kind = match principal_type {
        PrincipalType::Consumer => IdKind::Consumer,
        PrincipalType::ConsumerGroup => IdKind::ConsumerGroup,
    };
    let missing = |field: &str, kind: IdKind, raw: &str| {
        field_err(
            field,
            format!(
                "The {} {} does not exist.",
                kind.noun(),
                super::truncate(raw)
            ),
        )
    };
    let api_id = ResourceId::parse(IdKind::Api, input.api_id.trim())
        .ok_or_else(|| missing("ApiId", IdKind::Api, &input.api_id))?;
    let api = model_apis::get(&mut *conn, api_id.as_str())
        .await?
        .ok_or_else(|| missing("ApiId", IdKind::Api, &input.api_id))?;
    let principal_id = ResourceId::parse(kind, input.principal_id.trim())
        .ok_or_else(|| missing("PrincipalId", kind, &input.principal_id))?;
    let principal_instance = match principal_type {
        PrincipalType::Consumer => consumers::get_row(&mut *conn, principal_id.as_str())
            .await?
            .map(|c| c.instance_id),
        PrincipalType::ConsumerGroup => groups::get(&mut *conn, principal_id.as_str())
            .await?
            .map(|g| g.instance_id),
    };
    if principal_instance.as_deref() != Some(api.instance_id.as_str()) {
        return Err(field_err(
            "PrincipalId",
            format!(
                "The {} {principal_id} does not exist in the API's instance.",
                kind.noun()
            ),
        ));
    }
    let env_id = ResourceId::parse(IdKind::Environment, input.environment_id.trim())
        .ok_or_else(|| missing("EnvironmentId", IdKind::Environment, &input.environment_id))?;
    let env = environments::get(&mut *conn, env_id.as_str())
        .await?
        .filter(|e| e.instance_id == api.instance_id)
        .ok_or_else(|| missing("EnvironmentId", IdKind::Environment, &input.environment_id))?;
    if !api.environments.iter().any(|e| e.id == env.id) {
        return Err(field_err(
            "EnvironmentId",
            format!(
                "The model API {} is not deployed to the environment {}.",
                api.name, env.name
            ),
        ));
    }
    Ok(CheckedRule {
        principal_type,
        principal_id,
        instance_id: api.instance_id,
        api_id: api.id,
        environment_id: env.id,
        expiry,
    })
}

/// Creates the rules all together or none of them.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username, n = inputs.len()))]
pub async fn create_rules(
    db: &Db,
    actor: &Actor,
    inputs: Vec<NewRule>,
) -> AppResult<Vec<AuthorizationRule>> {
    let admin = actor.admin()?;
    if inputs.is_empty() || inputs.len() > MAX_BATCH {
        return Err(AppError::invalid(
            "Rules",
            format!("Send from 1 to {MAX_BATCH} rules."),
        ));
    }
    let batch = inputs.len() > 1;
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let mut recorded = None;
    let mut ids = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.iter().enumerate() {
        let checked = check_new(&mut tx, input, batch.then_some(i), now).await?;
        let (ptype, principal) = (checked.principal_type, &checked.principal_id);
        let id = ResourceId::generate(IdKind::AuthorizationRule);
        let new = rules::NewRule {
            id: id.as_str(),
            instance_id: &checked.instance_id,
            principal_type: ptype.as_str(),
            consumer_id: (ptype == PrincipalType::Consumer).then_some(principal.as_str()),
            group_id: (ptype == PrincipalType::ConsumerGroup).then_some(principal.as_str()),
            api_id: &checked.api_id,
            environment_id: &checked.environment_id,
            expire_mode: checked.expiry.mode.as_str(),
            expire_at: checked.expiry.expire_at,
            now,
        };
        if let Err(e) = rules::insert(&mut tx, &new).await {
            if crate::store::breaks_unique(&e, "principal_id") {
                return Err(AppError::NameTaken {
                    message: format!(
                        "The {} {principal} already has a rule for this API in this environment; change its expiry instead.",
                        ptype.as_str()
                    ),
                });
            }
            return Err(e.into());
        }
        let summary = format!(
            "{}={principal} api={} environment={} expireMode={}",
            ptype.as_str(),
            checked.api_id,
            checked.environment_id,
            checked.expiry.mode.as_str()
        );
        let audit = Audit::new(
            AuditAction::CreateConsumerAuthorizationRule,
            IdKind::AuthorizationRule,
            id.as_str(),
        )
        .instance(&checked.instance_id)
        .subject(Some(principal.as_str()))
        .summary(summary);
        recorded = Some(tx.record(audit).await?);
        ids.push(id);
    }
    tx.commit_recorded(recorded.ok_or(AppError::Internal)?)
        .await?;
    // Read back after the commit, outside the writer's turn.
    let mut reader = db.reader().await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        out.push(load(&mut reader, id, now).await?);
    }
    Ok(out)
}

async fn load(conn: &mut impl Read, id: &ResourceId, now: i64) -> AppResult<AuthorizationRule> {
    rules::get(conn, id.as_str(), now)
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::AuthorizationRule, id.as_str()))
}

pub async fn get_rule(db: &Db, rule_id: &str) -> AppResult<AuthorizationRule> {
    let id = parse_id(IdKind::AuthorizationRule, rule_id)?;
    let mut conn = db.reader().await?;
    load(&mut conn, &id, now_ms()).await
}

/// What a rule query may filter on; text filters are case-insensitive substrings.
#[derive(Debug, Default, Clone)]
pub struct RuleQuery {
    pub instance_id: Option<String>,
    /// One rule, by ID (the console's search box takes a rule ID too).
    pub rule_id: Option<String>,
    pub consumer_id: Option<String>,
    pub group_id: Option<String>,
    pub api_id: Option<String>,
    pub environment_id: Option<String>,
    pub api_name_like: Option<String>,
    pub principal_name_like: Option<String>,
    pub expire_status: Option<String>,
}

fn optional_id(kind: IdKind, field: &str, raw: &Option<String>) -> AppResult<Option<String>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => ResourceId::parse(kind, s)
            .map(|id| Some(id.to_string()))
            .ok_or_else(|| {
                AppError::invalid(
                    field,
                    format!("{} is not a valid {} ID.", super::truncate(s), kind.noun()),
                )
            }),
    }
}

fn optional_pattern(field: &str, raw: &Option<String>) -> AppResult<Option<String>> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => super::search_pattern(s)
            .map(Some)
            .map_err(|_| AppError::invalid(field, "Search text can contain up to 100 characters.")),
    }
}

/// Rules matching a query, newest first. One of instance, consumer, group or API is required.
pub async fn query_rules(
    db: &Db,
    q: RuleQuery,
    page: PageRequest,
) -> AppResult<Page<AuthorizationRule>> {
    let filter = RuleFilter {
        instance_id: optional_id(IdKind::Instance, "GatewayId", &q.instance_id)?,
        consumer_id: optional_id(IdKind::Consumer, "ConsumerId", &q.consumer_id)?,
        include_groups: false,
        rule_id: optional_id(
            IdKind::AuthorizationRule,
            "ConsumerAuthorizationRuleId",
            &q.rule_id,
        )?,
        group_id: optional_id(IdKind::ConsumerGroup, "ConsumerGroupId", &q.group_id)?,
        api_id: optional_id(IdKind::Api, "ApiId", &q.api_id)?,
        environment_id: optional_id(IdKind::Environment, "EnvironmentId", &q.environment_id)?,
        api_pattern: optional_pattern("ApiNameLike", &q.api_name_like)?,
        principal_pattern: optional_pattern("ConsumerNameLike", &q.principal_name_like)?,
        status: match q
            .expire_status
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(ExpireStatus::parse(s).ok_or_else(|| {
                AppError::invalid("ExpireStatus", "expireStatus must be InEffect or Expired.")
            })?),
        },
    };
    if filter.instance_id.is_none()
        && filter.consumer_id.is_none()
        && filter.group_id.is_none()
        && filter.api_id.is_none()
    {
        return Err(AppError::invalid(
            "GatewayId",
            "Give a gatewayId (or a consumerId, consumerGroupId or apiId) to list rules.",
        ));
    }
    if let Some(gw) = &filter.instance_id {
        super::require_instance(db, gw).await?;
    }
    let now = now_ms();
    let mut conn = db.reader().await?;
    let (total_size, items) = rules::query(&mut conn, &filter, page, now).await?;
    Ok(page.answer(total_size, items))
}

/// Changes a rule's expiry (LongTerm, or ShortTerm with a future time).
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_rule_expiry(
    db: &Db,
    actor: &Actor,
    rule_id: &str,
    input: RuleExpiryUpdate,
) -> AppResult<AuthorizationRule> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::AuthorizationRule, rule_id)?;
    let now = now_ms();
    let expiry = Expiry::parse(input.expire_mode.trim(), input.expire_timestamp, now)
        .map_err(|e| AppError::invalid(e.field(), e))?;
    let mut tx = admin.begin(db).await?;
    let current = load(&mut tx, &id, now).await?;
    super::at_version(
        rules::update_expiry(
            &mut tx,
            id.as_str(),
            input.version,
            expiry.mode.as_str(),
            expiry.expire_at,
            now,
        )
        .await?,
    )?;
    let summary = format!(
        "expireMode {} -> {} expireTimestamp {:?} -> {:?}",
        current.expire_mode.as_str(),
        expiry.mode.as_str(),
        current.expire_timestamp,
        expiry.expire_at
    );
    let recorded = tx
        .record(
            Audit::new(
                AuditAction::UpdateConsumerAuthorizationRule,
                IdKind::AuthorizationRule,
                id.as_str(),
            )
            .instance(&current.instance_id)
            .subject(Some(&current.principal.id))
            .summary(summary),
        )
        .await?;
    let rule = load(&mut tx, &id, now).await?;
    tx.commit_recorded(recorded).await?;
    Ok(rule)
}

/// Revokes rules, all or none: an unknown ID refuses the whole batch.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username, n = rule_ids.len()))]
pub async fn delete_rules(db: &Db, actor: &Actor, rule_ids: &[String]) -> AppResult<()> {
    let admin = actor.admin()?;
    if rule_ids.is_empty() || rule_ids.len() > MAX_BATCH {
        return Err(AppError::invalid(
            "ConsumerAuthorizationRuleIds",
            format!("Send from 1 to {MAX_BATCH} rule IDs."),
        ));
    }
    let mut ids: Vec<ResourceId> = Vec::with_capacity(rule_ids.len());
    for raw in rule_ids {
        let id = parse_id(IdKind::AuthorizationRule, raw)?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let mut recorded = None;
    for id in &ids {
        let rule = load(&mut tx, id, now).await?;
        rules::delete(&mut tx, id.as_str()).await?;
        let summary = format!(
            "{}={} api={} environment={}",
            rule.principal_type.as_str(),
            rule.principal.id,
            rule.api.id,
            rule.environment.id
        );
        let audit = Audit::new(
            AuditAction::DeleteConsumerAuthorizationRule,
            IdKind::AuthorizationRule,
            id.as_str(),
        )
        .instance(&rule.instance_id)
        .subject(Some(&rule.principal.id))
        .summary(summary);
        recorded = Some(tx.record(audit).await?);
    }
    tx.commit_recorded(recorded.ok_or(AppError::Internal)?)
        .await?;
    Ok(())
}
