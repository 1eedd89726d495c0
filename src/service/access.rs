//! The access check: the decision `/authz/check` would give a request now, explained. It
//! decides through the very function the check uses (`Snapshot::decide_traced`), on the
//! same snapshot, and only names what that decision looked at.
//!
//! Who may ask: anyone signed in may ask about a consumer (a Viewer can read every rule
//! anyway); only an Admin may ask about a typed key, since the answer tells whether a key
//! with that value exists.

use crate::domain::access::{
    AccessAnswer, AccessQuestion, ApiFinding, ConsumerFinding, EnvironmentFinding, GroupFinding,
    KeyFinding, LimitFinding, QuotaFinding, RuleFinding,
};
use crate::domain::limits::LimitSubject;
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
            let key = key.trim();
            if crate::enforce::jwt::looks_like_jwt(key.as_bytes()) {
                Asked::Token(key.to_owned(), crate::enforce::jwt::peek(key))
            } else {
                Asked::Key(key_hash(key.as_bytes()))
            }
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
    // A token of a JWKS URL's credential is judged with its key set, fetched first as the
    // check would.
    if let Asked::Token(_, Some(peeked)) = &asked {
        slot.ready_for_token(&enforcer.jwks, peeked).await;
    }
    let mut trace = Recording::default();
    let (decision, revision, windows, quotas) = {
        let snapshot = slot.read();
        let decision = match &asked {
            Asked::Key(Some(hash)) => snapshot
                .decide_traced(hash, environment, path.as_deref(), now_ms(), &mut trace)
                .map(|_| ()),
            Asked::Key(None) => {
                trace.key = Some(KeyStep::Unknown);
                Err(Refusal::UnknownKey)
            }
            Asked::Token(token, Some(peeked)) => {
                let now = now_ms();
                snapshot
                    .decide_token(
                        peeked,
                        &enforcer.jwks,
                        |key| crate::enforce::check::token_verified(token, key, now),
                        environment,
                        path.as_deref(),
                        now,
                        &mut trace,
                    )
                    .map(|_| ())
            }
            Asked::Token(_, None) => {
                trace.key = Some(KeyStep::Unknown);
                Err(Refusal::BadToken)
            }
            Asked::Consumer(id) => snapshot
                .decide_for_consumer(id, environment, path.as_deref(), now_ms(), &mut trace)
                .ok_or_else(|| AppError::not_found(IdKind::Consumer, id))?
                .map(|_| ()),
        };
        // The rate limits that would apply next, read without taking anything.
        let key_id = match &asked {
            Asked::Key(Some(hash)) => snapshot.key_id(hash),
            Asked::Token(_, Some(peeked)) => snapshot.token_credential_id(peeked),
            _ => None,
        };
        let now = crate::enforce::limits::now_ns();
        let windows: Vec<WindowSeen> = match &trace.consumer {
            Some((consumer, _, _)) => snapshot
                .limits_covering(consumer, key_id)
                .into_iter()
                .flat_map(|(subject, limit)| {
                    (0..2).filter_map(move |w| {
                        let (remaining, wait_ns) = limit.peek(w, now)?;
                        Some(WindowSeen {
                            limit_id: limit.id.to_string(),
                            subject_id: subject.to_owned(),
                            policy: limit.policy,
                            window: ["second", "minute"][w],
                            limit: i64::from(limit.rates[w]?),
                            remaining,
                            wait_ns,
                        })
                    })
                })
                .collect(),
            None => Vec::new(),
        };
        let now_ms = now_ms();
        let quotas: Vec<QuotaSeen> = match &trace.consumer {
            Some((consumer, _, _)) => snapshot
                .quotas_covering(consumer, key_id)
                .into_iter()
                .map(|(subject, q)| {
                    q.roll(now_ms);
                    QuotaSeen {
                        quota_id: q.id.to_string(),
                        subject_id: subject.to_owned(),
                        metric: q.metric,
                        period: q.period,
                        amount: q.amount,
                        used: q.used(),
                        resets_in: ((q.period_end() - now_ms).max(0) + 999) / 1000,
                    }
                })
                .collect(),
            None => Vec::new(),
        };
        (decision, snapshot.revision, windows, quotas)
    };
    answer(db, decision, revision, trace, windows, quotas).await
}

/// A quota that covers the request, as it stands.
struct QuotaSeen {
    quota_id: String,
    subject_id: String,
    metric: crate::domain::quotas::QuotaMetric,
    period: crate::domain::quotas::QuotaPeriod,
    amount: i64,
    used: i64,
    resets_in: i64,
}

/// One window of a limit that covers the request, as it stands.
struct WindowSeen {
    limit_id: String,
    subject_id: String,
    policy: crate::domain::limits::LimitPolicy,
    window: &'static str,
    limit: i64,
    remaining: i64,
    wait_ns: i64,
}

enum Asked {
    /// The key's hash; none for a value no key can have.
    Key(Option<[u8; 32]>),
    /// A JWT, and what it says before it is verified (none: not a token the check reads).
    Token(String, Option<crate::enforce::jwt::Unverified>),
    Consumer(String),
}

/// The trace, with the names of what it names by ID.
async fn answer(
    db: &Db,
    decision: Result<(), Refusal>,
    revision: i64,
    trace: Recording,
    windows: Vec<WindowSeen>,
    quotas: Vec<QuotaSeen>,
) -> AppResult<AccessAnswer> {
    let mut conn = db.reader().await?;
    // Quotas are judged first: the first used up decides.
    let used_up_quota = quotas
        .iter()
        .position(|q| q.used >= q.amount)
        .filter(|_| decision.is_ok());
    let mut quota_findings = Vec::with_capacity(quotas.len());
    for (i, q) in quotas.iter().enumerate() {
        let subject_name = crate::store::quotas::get(&mut conn, &q.quota_id)
            .await?
            .map(|q| q.subject.name)
            .unwrap_or_default();
        quota_findings.push(QuotaFinding {
            quota_id: q.quota_id.clone(),
            subject_type: LimitSubject::of(&q.subject_id).unwrap_or(LimitSubject::Consumer),
            subject_id: q.subject_id.clone(),
            subject_name,
            metric: q.metric,
            period: q.period,
            amount: q.amount,
            used: q.used,
            resets_in: q.resets_in,
            decides: Some(i) == used_up_quota,
        });
    }
    // The window that decides: the first used up, else the one with the least left.
    let deciding = windows
        .iter()
        .enumerate()
        .min_by_key(|(i, w)| (w.remaining, *i))
        .map(|(i, _)| i);
    let used_up = deciding.filter(|i| windows[*i].remaining == 0 && decision.is_ok());
    let used_up = used_up.filter(|_| used_up_quota.is_none());
    let mut limits = Vec::with_capacity(windows.len());
    for (i, w) in windows.iter().enumerate() {
        let subject_name = crate::store::limits::get(&mut conn, &w.limit_id)
            .await?
            .map(|l| l.subject.name)
            .unwrap_or_default();
        limits.push(LimitFinding {
            rate_limit_id: w.limit_id.clone(),
            subject_type: LimitSubject::of(&w.subject_id).unwrap_or(LimitSubject::Consumer),
            subject_id: w.subject_id.clone(),
            subject_name,
            policy: w.policy,
            window: w.window.to_owned(),
            limit: w.limit,
            remaining: w.remaining,
            retry_after: (w.remaining == 0).then(|| crate::enforce::limits::retry_secs(w.wait_ns)),
            decides: Some(i) == deciding && decision.is_ok() && used_up_quota.is_none(),
        });
    }
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
        Ok(()) if used_up_quota.is_some() => {
            let q = &quota_findings[used_up_quota.unwrap_or_default()];
            (
                403,
                Some("quota_exhausted".to_owned()),
                format!(
                    "Refused (403; a 429 through the README's nginx): a rule grants this model API, but the {} {}'s quota of {} {} a {} is used up; it starts anew in {} s, or when an Admin resets it.",
                    q.subject_type.label(),
                    q.subject_name,
                    crate::domain::limits::group_digits(q.amount),
                    q.metric.as_str(),
                    q.period.as_str(),
                    q.resets_in
                ),
            )
        }
        Ok(()) if used_up.is_some() => {
            let l = &limits[used_up.unwrap_or_default()];
            (
                403,
                Some("rate_limited".to_owned()),
                format!(
                    "Refused (403; a 429 through the README's nginx): a rule grants this model API, but the rate limit of the {} {} ({} a {}) is used up; retry in {} s.",
                    l.subject_type.label(),
                    l.subject_name,
                    crate::domain::limits::group_digits(l.limit),
                    l.window,
                    l.retry_after.unwrap_or(1)
                ),
            )
        }
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
        limits,
        quotas: quota_findings,
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
        Refusal::BadSignature => {
            "the request's signature, date or signature header does not verify"
        }
        Refusal::BadToken => {
            "the token's signature, algorithm, issuer, audience or times do not verify"
        }
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

/// The explainer decides as the check does: the check's `decide` and the explainer's
/// `decide_traced` with a `Recording`, on random snapshots and requests.
#[cfg(test)]
mod tests {
    use crate::domain::keys::hash_key;
    use crate::enforce::snapshot::{Refusal, Snapshot};
    use crate::enforce::trace::{KeyStep, Recording, Verdict};
    use crate::store::snapshot::{
        ConsumerRow, DeploymentRow, EnvironmentRow, GroupRow, KeyHash, KeyRow, RuleRow,
        SnapshotRows,
    };
    use proptest::prelude::*;

    const NOW: i64 = 1_000_000;
    const APIS: [&str; 3] = ["api-a", "api-b", "api-c"];
    const ENVS: [&str; 2] = ["env-1", "env-2"];
    const PATHS: [&str; 5] = ["/v1/chat", "/V1/chat", "/v1", "/", "/v1/chat/x"];

    fn hashed(v: &str) -> KeyHash {
        KeyHash::from_hex(&hash_key(v)).unwrap()
    }

    /// An expiry around NOW (or none), so rules and keys are both in effect and expired.
    fn expiry() -> impl Strategy<Value = Option<i64>> {
        prop_oneof![Just(None), (NOW - 2..NOW + 2).prop_map(Some)]
    }

    prop_compose! {
        /// A small gateway where every kind of case occurs: up to 4 consumers with a key
        /// each, 2 groups, rules of either on 3 APIs in 2 environments, base paths that
        /// nest and differ only in case.
        fn rows()(
            consumers in prop::collection::vec(any::<bool>(), 1..4),
            groups in prop::collection::vec(any::<bool>(), 0..3),
            members in prop::collection::vec((0usize..4, 0usize..3), 0..6),
            keys in prop::collection::vec((0usize..4, any::<bool>(), expiry()), 1..5),
            deployments in prop::collection::vec((0usize..3, 0usize..2, 0usize..4), 0..6),
            rules in prop::collection::vec((any::<bool>(), 0usize..4, 0usize..3, 0usize..2, expiry()), 0..10),
            default_env in 0usize..2,
        ) -> SnapshotRows {
            let cs = |i: usize| format!("cs-{}", i % consumers.len());
            let gs = |i: usize| format!("cg-{}", i % groups.len().max(1));
            SnapshotRows {
                hmac: Vec::new(),
                jwt: Vec::new(),
                revision: 1,
                limits: Vec::new(),
                quotas: Vec::new(),
                environments: ENVS.iter().enumerate().map(|(i, e)| EnvironmentRow {
                    id: (*e).into(), name_key: format!("e{i}"), is_default: i == default_env,
                }).collect(),
                deployments: deployments.iter().map(|(a, e, p)| DeploymentRow {
                    api_id: APIS[*a].into(),
                    base_path: ["/v1", "/v1/chat", "/V1/chat", "/"][*p].into(),
                    environment_id: ENVS[*e].into(),
                }).collect(),
                consumers: consumers.iter().enumerate().map(|(i, enabled)| ConsumerRow {
                    id: cs(i), name: format!("c{i}"), enabled: *enabled,
                }).collect(),
                groups: groups.iter().enumerate().map(|(i, enabled)| GroupRow {
                    id: gs(i), enabled: *enabled,
                }).collect(),
                memberships: if groups.is_empty() { vec![] } else {
                    let mut m: Vec<(String, String)> = members.iter().map(|(c, g)| (gs(*g), cs(*c))).collect();
                    m.sort();
                    m.dedup();
                    m
                },
                keys: keys.iter().enumerate().map(|(i, (c, enabled, exp))| KeyRow {
                    id: format!("key-{i}"),
                    key_hash: Some(hashed(&format!("key-{i}"))),
                    previous_hash: None,
                    previous_expires_at: None,
                    consumer_id: cs(*c),
                    enabled: *enabled,
                    expires_at: *exp,
                }).collect(),
                rules: rules.iter().filter(|(of_group, ..)| !*of_group || !groups.is_empty())
                    .map(|(of_group, p, a, e, exp)| RuleRow {
                        consumer_id: (!*of_group).then(|| cs(*p)),
                        group_id: of_group.then(|| gs(*p)),
                        api_id: APIS[*a].into(),
                        environment_id: ENVS[*e].into(),
                        expire_mode: if exp.is_some() { "ShortTerm" } else { "LongTerm" }.into(),
                        expire_at: *exp,
                    }).collect(),
            }
        }
    }

    proptest! {
        /// The explainer's decision is the check's, for every snapshot and request; and what
        /// it recorded agrees with that decision.
        #[test]
        fn the_explained_decision_is_always_the_checks(
            rows in rows(),
            key in 0usize..6,
            env in prop::option::of(0usize..4),
            path in prop::option::of(0usize..PATHS.len()),
        ) {
            let s = Snapshot::build(rows);
            let hash = hashed(&format!("key-{key}")).0;
            let env = env.map(|e| ["env-1", "E2", "e1", "env-9"][e]);
            let path = path.map(|p| PATHS[p]);
            let checked = s.decide(&hash, env, path, NOW).map(|a| (a.consumer_id.to_owned(), a.api_id.to_owned()));
            let mut recording = Recording::default();
            let explained = s.decide_traced(&hash, env, path, NOW, &mut recording)
                .map(|a| (a.consumer_id.to_owned(), a.api_id.to_owned()));
            prop_assert_eq!(&explained, &checked);

            let applies = recording.grants.iter().any(|g| g.verdict == Verdict::Applies);
            match &checked {
                Ok((consumer, api)) => {
                    prop_assert!(applies);
                    prop_assert_eq!(&recording.consumer.as_ref().unwrap().0, consumer);
                    prop_assert_eq!(&recording.route.as_ref().unwrap().1, api);
                }
                Err(Refusal::UnknownKey) => prop_assert_eq!(&recording.key, &Some(KeyStep::Unknown)),
                Err(Refusal::NoRule) => prop_assert!(!applies && recording.route.is_some()),
                Err(_) => prop_assert!(!applies),
            }

            // From the consumer the key names, the same decision once the key is judged.
            if let (Some(KeyStep::Found { .. }), Some((consumer, ..))) = (&recording.key, &recording.consumer) {
                let from_consumer = s.decide_for_consumer(consumer, env, path, NOW, &mut Recording::default())
                    .unwrap()
                    .map(|a| (a.consumer_id.to_owned(), a.api_id.to_owned()));
                if !matches!(checked, Err(Refusal::DisabledKey | Refusal::ExpiredKey)) {
                    prop_assert_eq!(from_consumer, checked);
                }
            }
        }
    }
}
