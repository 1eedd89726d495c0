//! The access check: the decision `/authz/check` would give a request now, explained. It
//! decides through the very function the check uses (`Snapshot::decide_traced`), on the
//! same snapshot, and only names what that decision looked at.
//!
//! Who may ask: anyone signed in may ask about a consumer (a Viewer can read every rule
//! anyway); only an Admin may ask about a typed key, since the answer tells whether a key
//! with that value exists.

use crate::domain::access::{
    AccessAnswer, AccessQuestion, ApiFinding, ConsumerFinding, EnvironmentFinding, GroupFinding,
    KeyFinding, RuleFinding,
};
use crate::domain::request_path::request_path;
use crate::domain::IdKind;
use crate::enforce::check::key_hash;
use crate::enforce::snapshot::Refusal;
use crate::enforce::trace::{KeyStep, Recording};
use crate::enforce::Enforcer;
use crate::error::{AppError, AppResult};
use crate::service::{parse_id, require_instance, Actor};
use crate::store::{now_ms, Db};
use std::collections::HashMap;

#[tracing::instrument(skip(db, enforcer, actor, question), fields(actor = %actor.user.username))]
pub async fn explain(
    db: &Db,
    enforcer: &Enforcer,
    actor: &Actor,
    gateway_id: &str,
    question: AccessQuestion,
) -> AppResult<AccessAnswer> {
    let gateway = require_instance(db, gateway_id).await?;
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (key, consumer_id, consumer_name) = (
        question.key.clone().filter(|k| !k.is_empty()),
        given(&question.consumer_id),
        given(&question.consumer_name),
    );
    let asked = match (key, consumer_id, consumer_name) {
        (Some(key), None, None) => {
            if !actor.user.can_write() {
                return Err(AppError::Forbidden);
            }
            Asked::Key(key_hash(key.trim().as_bytes()))
        }
        (None, Some(c), None) => {
            Asked::Consumer(parse_id(IdKind::Consumer, &c)?.as_str().to_owned())
        }
        (None, None, Some(name)) => {
            let mut conn = db.reader().await?;
            let id = crate::store::consumers::id_by_name(&mut conn, &gateway.id, &name).await?;
            Asked::Consumer(id.ok_or_else(|| {
                AppError::invalid(
                    "ConsumerName",
                    format!("This gateway has no consumer named {name}."),
                )
            })?)
        }
        _ => {
            return Err(AppError::invalid(
                "Key",
                "Give one of a key, a consumer ID or a consumer name.",
            ))
        }
    };
    if question.path.len() > 8192 {
        return Err(AppError::invalid(
            "Path",
            "The path is longer than 8192 bytes.",
        ));
    }
    let environment = question
        .environment
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty());
    let path = request_path(question.path.as_bytes()).ok();

    // What the proxy gets now: the snapshot brought up to the last committed change.
    enforcer.refresh().await?;
    if enforcer.staleness().is_some() {
        return Err(AppError::Unavailable);
    }
    let slot = enforcer
        .snapshot(&gateway.id)
        .await
        .ok_or(AppError::Unavailable)?;
    let mut trace = Recording::default();
    let (decision, revision) = {
        let snapshot = slot.read();
        let decision = match &asked {
            Asked::Key(Some(hash)) => snapshot
                .decide_traced(hash, environment, path.as_deref(), now_ms(), &mut trace)
                .map(|_| ()),
            Asked::Key(None) => {
                trace.key = Some(KeyStep::Unknown);
                Err(Refusal::UnknownKey)
            }
            Asked::Consumer(id) => snapshot
                .decide_for_consumer(id, environment, path.as_deref(), now_ms(), &mut trace)
                .ok_or_else(|| AppError::not_found(IdKind::Consumer, id))?
                .map(|_| ()),
        };
        (decision, snapshot.revision)
    };
    answer(db, decision, revision, trace).await
}

enum Asked {
    /// The key's hash; none for a value no key can have.
    Key(Option<[u8; 32]>),
    Consumer(String),
}

/// The trace, with the names of what it names by ID.
async fn answer(
    db: &Db,
    decision: Result<(), Refusal>,
    revision: i64,
    trace: Recording,
) -> AppResult<AccessAnswer> {
    let mut conn = db.reader().await?;
    let mut api_ids: Vec<String> = trace.grants.iter().map(|g| g.api_id.clone()).collect();
    api_ids.extend(trace.route.iter().map(|(_, api)| api.clone()));
    api_ids.sort();
    api_ids.dedup();
    let apis: HashMap<String, String> = crate::store::model_apis::get_many(&mut conn, &api_ids)
        .await?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let mut env_ids: Vec<String> = trace
        .grants
        .iter()
        .map(|g| g.environment_id.clone())
        .collect();
    env_ids.extend(trace.environment_id.clone());
    env_ids.sort();
    env_ids.dedup();
    let envs: HashMap<String, String> = crate::store::environments::get_many(&mut conn, &env_ids)
        .await?
        .into_iter()
        .map(|e| (e.id, e.name))
        .collect();
    let mut groups = HashMap::new();
    for (id, _) in trace.grants.iter().filter_map(|g| g.group.as_ref()) {
        if !groups.contains_key(id) {
            let name = crate::store::groups::get(&mut conn, id)
                .await?
                .map(|g| g.name)
                .unwrap_or_default();
            groups.insert(id.clone(), name);
        }
    }
    let name =
        |names: &HashMap<String, String>, id: &str| names.get(id).cloned().unwrap_or_default();
    let (status, reason, message) = match decision {
        Ok(()) => (
            200,
            None,
            "Allowed: a rule in effect grants this model API.".to_owned(),
        ),
        Err(r) => (
            if r.is_authentication() { 401 } else { 403 },
            Some(r.label().to_owned()),
            format!(
                "Refused ({}): {}.",
                if r.is_authentication() { 401 } else { 403 },
                sentence(r)
            ),
        ),
    };
    Ok(AccessAnswer {
        allowed: status == 200,
        status,
        reason,
        message,
        revision,
        key: trace.key.map(|k| match k {
            KeyStep::Unknown => KeyFinding {
                found: false,
                enabled: None,
                expires_at: None,
            },
            KeyStep::Found {
                enabled,
                expires_at,
            } => KeyFinding {
                found: true,
                enabled: Some(enabled),
                expires_at,
            },
        }),
        consumer: trace
            .consumer
            .map(|(consumer_id, name, enabled)| ConsumerFinding {
                consumer_id,
                name,
                enabled,
            }),
        environment: trace
            .environment_id
            .map(|environment_id| EnvironmentFinding {
                name: name(&envs, &environment_id),
                environment_id,
            }),
        api: trace.route.map(|(base_path, api_id)| ApiFinding {
            name: apis.get(&api_id).cloned().unwrap_or_default(),
            api_id,
            base_path,
        }),
        rules: trace
            .grants
            .iter()
            .map(|g| RuleFinding {
                consumer_group: g.group.as_ref().map(|(id, enabled)| GroupFinding {
                    consumer_group_id: id.clone(),
                    name: groups.get(id).cloned().unwrap_or_default(),
                    enabled: *enabled,
                }),
                api_id: g.api_id.clone(),
                api_name: name(&apis, &g.api_id),
                environment_id: g.environment_id.clone(),
                environment_name: name(&envs, &g.environment_id),
                expires_at: g.expires_at,
                verdict: g.verdict.as_str().to_owned(),
            })
            .collect(),
        limits: vec![],
    })
}

/// A refusal as the explainer says it.
fn sentence(r: Refusal) -> &'static str {
    match r {
        Refusal::NoKey => "no key was presented",
        Refusal::UnknownKey => "no key bound to a consumer has this value",
        Refusal::DisabledKey => "the key is disabled",
        Refusal::ExpiredKey => "the key has expired",
        Refusal::DisabledConsumer => "the consumer is disabled",
        Refusal::UnknownInstance => "the gateway is unknown",
        Refusal::UnknownEnvironment => "the gateway has no such environment",
        Refusal::BadPath => "the path is refused (it leaves its base path or is malformed)",
        Refusal::CaseMismatch => "the path matches a base path only when case is ignored",
        Refusal::NoApi => "no model API is deployed at this path in this environment",
        Refusal::NoRule => {
            "no rule in effect grants the consumer or its groups this model API here"
        }
    }
}
