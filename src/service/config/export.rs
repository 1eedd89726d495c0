//! Export: the store's rows of one gateway as a [`GatewayConfig`], every reference by name
//! and every list in name order, so two exports of the same state are byte-identical.

use super::document::{
    rfc3339, ConsumerSpec, EnvironmentSpec, GatewayConfig, GatewayRef, GroupSpec, KeySpec,
    ModelApiSpec, QuotaSpec, RateLimitSpec, RuleSpec, Version,
};
use crate::domain::limits::LimitPolicy;
use crate::domain::quotas::DEFAULT_WARN_PERCENT;
use crate::domain::IdKind;
use crate::error::{AppError, AppResult};
use crate::service::{parse_id, Actor};
use crate::store::config::{GatewayRows, LimitRow, QuotaRow, RuleRow};
use crate::store::Db;
use std::collections::HashMap;

/// The configuration of gateway `gateway_id`. Key hashes only when asked for, and only for
/// an Admin: with a hash, anyone who guesses a value can test it offline.
#[tracing::instrument(skip(db, actor), fields(actor = %actor.user.username))]
pub async fn export_gateway(
    db: &Db,
    actor: &Actor,
    gateway_id: &str,
    include_key_hashes: bool,
) -> AppResult<GatewayConfig> {
    if include_key_hashes && !actor.user.can_write() {
        return Err(AppError::Forbidden);
    }
    let id = parse_id(IdKind::Instance, gateway_id)?;
    let rows = crate::store::config::read_gateway(db, id.as_str()).await?;
    build(rows, include_key_hashes)
        .ok_or_else(|| AppError::not_found(IdKind::Instance, id.as_str()))
}

/// Sorts by what a reader sees: the name, case-insensitively, then as written.
fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    a.to_lowercase()
        .cmp(&b.to_lowercase())
        .then_with(|| a.cmp(b))
}

pub(super) fn build(rows: GatewayRows, include_key_hashes: bool) -> Option<GatewayConfig> {
    let gateway = rows.gateway?;
    let env_names: HashMap<&str, &str> = rows
        .environments
        .iter()
        .map(|e| (e.id.as_str(), e.name.as_str()))
        .collect();
    let api_names: HashMap<&str, &str> = rows
        .model_apis
        .iter()
        .map(|a| (a.id.as_str(), a.name.as_str()))
        .collect();
    let group_names: HashMap<&str, &str> = rows
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.name.as_str()))
        .collect();
    let consumer_names: HashMap<&str, &str> = rows
        .consumers
        .iter()
        .map(|c| (c.id.as_str(), c.name.as_str()))
        .collect();

    let mut deployed: HashMap<&str, Vec<String>> = HashMap::new();
    for d in &rows.deployments {
        if let Some(env) = env_names.get(d.environment_id.as_str()) {
            deployed
                .entry(d.api_id.as_str())
                .or_default()
                .push((*env).to_owned());
        }
    }
    let mut member_of: HashMap<&str, Vec<String>> = HashMap::new();
    for m in &rows.memberships {
        if let Some(group) = group_names.get(m.group_id.as_str()) {
            member_of
                .entry(m.consumer_id.as_str())
                .or_default()
                .push((*group).to_owned());
        }
    }
    let (mut consumer_rules, mut group_rules) = (HashMap::new(), HashMap::new());
    for r in &rows.rules {
        let Some(spec) = rule_spec(r, &api_names, &env_names) else {
            continue;
        };
        let (map, owner): (&mut HashMap<&str, Vec<RuleSpec>>, _) =
            match (&r.consumer_id, &r.group_id) {
                (Some(c), _) => (&mut consumer_rules, c.as_str()),
                (None, Some(g)) => (&mut group_rules, g.as_str()),
                (None, None) => continue,
            };
        map.entry(owner).or_default().push(spec);
    }
    let sorted_rules = |rules: Option<Vec<RuleSpec>>| {
        let mut rules = rules.unwrap_or_default();
        rules.sort_by(|a, b| {
            by_name(&a.api, &b.api)
                .then_with(|| by_name(&a.environment, &b.environment))
                .then_with(|| a.expires_at.cmp(&b.expires_at))
        });
        rules
    };
    let mut limits: HashMap<&str, RateLimitSpec> = rows
        .rate_limits
        .iter()
        .map(|l| (l.subject_id.as_str(), limit_spec(l)))
        .collect();
    let mut quotas: HashMap<&str, Vec<QuotaSpec>> = HashMap::new();
    for q in &rows.quotas {
        quotas
            .entry(q.subject_id.as_str())
            .or_default()
            .push(quota_spec(q));
    }
    for list in quotas.values_mut() {
        list.sort_by_key(|q| (q.metric.clone(), period_rank(&q.period)));
    }
    let sorted_names = |names: Option<Vec<String>>| {
        let mut names = names.unwrap_or_default();
        names.sort_by(|a, b| by_name(a, b));
        names
    };

    let mut config = GatewayConfig {
        version: Version::V1,
        gateway: GatewayRef {
            id: gateway.id,
            name: gateway.name,
        },
        environments: rows
            .environments
            .iter()
            .map(|e| EnvironmentSpec {
                name: e.name.clone(),
                alias: e.alias.clone(),
                description: e.description.clone(),
                default: e.is_default,
            })
            .collect(),
        model_apis: rows
            .model_apis
            .iter()
            .map(|a| ModelApiSpec {
                name: a.name.clone(),
                base_path: a.base_path.clone(),
                ai_protocols: a
                    .ai_protocols
                    .split(',')
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
                model_category: a.model_category.clone(),
                description: a.description.clone(),
                environments: sorted_names(deployed.remove(a.id.as_str())),
            })
            .collect(),
        consumer_groups: rows
            .groups
            .iter()
            .map(|g| GroupSpec {
                name: g.name.clone(),
                description: g.description.clone(),
                enabled: g.enabled,
                rules: sorted_rules(group_rules.remove(g.id.as_str())),
                rate_limit: limits.remove(g.id.as_str()),
                quotas: quotas.remove(g.id.as_str()).unwrap_or_default(),
            })
            .collect(),
        consumers: rows
            .consumers
            .iter()
            .map(|c| ConsumerSpec {
                name: c.name.clone(),
                description: c.description.clone(),
                enabled: c.enabled,
                groups: sorted_names(member_of.remove(c.id.as_str())),
                rules: sorted_rules(consumer_rules.remove(c.id.as_str())),
                rate_limit: limits.remove(c.id.as_str()),
                quotas: quotas.remove(c.id.as_str()).unwrap_or_default(),
            })
            .collect(),
        keys: rows
            .keys
            .iter()
            .map(|k| KeySpec {
                name: k.name.clone(),
                prefix: k.prefix.clone(),
                consumer: k
                    .consumer_id
                    .as_deref()
                    .and_then(|c| consumer_names.get(c))
                    .map(|c| (*c).to_owned()),
                enabled: k.enabled,
                expires_at: k.expires_at.map(rfc3339),
                hash: include_key_hashes.then(|| k.key_hash.clone()),
                rate_limit: limits.remove(k.id.as_str()),
                quotas: quotas.remove(k.id.as_str()).unwrap_or_default(),
            })
            .collect(),
    };
    // The store orders by its name key; the file by the name a reader sees.
    config
        .environments
        .sort_by(|a, b| by_name(&a.name, &b.name));
    config.model_apis.sort_by(|a, b| by_name(&a.name, &b.name));
    config
        .consumer_groups
        .sort_by(|a, b| by_name(&a.name, &b.name));
    config.consumers.sort_by(|a, b| by_name(&a.name, &b.name));
    config.keys.sort_by(|a, b| by_name(&a.name, &b.name));
    Some(config)
}

fn rule_spec(
    r: &RuleRow,
    api_names: &HashMap<&str, &str>,
    env_names: &HashMap<&str, &str>,
) -> Option<RuleSpec> {
    Some(RuleSpec {
        api: (*api_names.get(&*r.api_id)?).to_owned(),
        environment: (*env_names.get(&*r.environment_id)?).to_owned(),
        expires_at: match &*r.expire_mode {
            "LongTerm" => None,
            _ => r.expire_at.map(rfc3339),
        },
    })
}

/// A rate limit as the file has it: the default policy (`local`) left out.
fn limit_spec(l: &LimitRow) -> RateLimitSpec {
    RateLimitSpec {
        per_second: l.per_second,
        per_minute: l.per_minute,
        policy: match l.policy {
            LimitPolicy::Local => String::new(),
            other => other.as_str().to_owned(),
        },
    }
}

/// A quota as the file has it: the defaults (UTC, 80 %) left out.
fn quota_spec(q: &QuotaRow) -> QuotaSpec {
    QuotaSpec {
        metric: q.metric.as_str().to_owned(),
        period: q.period.as_str().to_owned(),
        amount: q.amount,
        time_zone: match q.time_zone.as_str() {
            "UTC" => String::new(),
            zone => zone.to_owned(),
        },
        warn_percent: (q.warn_percent != DEFAULT_WARN_PERCENT).then_some(q.warn_percent),
    }
}

/// Days before weeks before months.
fn period_rank(period: &str) -> u8 {
    match period {
        "day" => 0,
        "week" => 1,
        _ => 2,
    }
}
