//! What a decision looked at. The check decides through [`Snapshot::decide_traced`] with the
//! empty trace `()`, which records nothing and costs nothing; the access explainer passes a
//! [`Recording`], which keeps every step and every grant considered, named by ID.

use super::snapshot::{ConsumerEntry, Grant, GroupEntry, KeyEntry, Snapshot};

/// Why a grant applies to a request or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Applies,
    /// It grants another model API than the one the path reaches.
    OtherApi,
    /// It grants the API in another environment.
    OtherEnvironment,
    /// Its expiry has passed.
    Expired,
    /// It is a grant of a disabled consumer group.
    GroupDisabled,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Applies => "applies",
            Verdict::OtherApi => "other-api",
            Verdict::OtherEnvironment => "other-environment",
            Verdict::Expired => "expired",
            Verdict::GroupDisabled => "group-disabled",
        }
    }
}

/// Told each step of a decision, in order. Every method does nothing unless implemented.
pub trait Trace {
    /// Look at every grant, not only until one applies (the decision is the same).
    const ALL_GRANTS: bool = false;
    /// The key looked up: `None` when no bound key has this value.
    fn key(&mut self, _found: Option<KeyEntry>) {}
    fn consumer(&mut self, _consumer: &ConsumerEntry) {}
    fn environment(&mut self, _snapshot: &Snapshot, _at: u32) {}
    /// The model API the path reaches, by the base path it matched.
    fn route(&mut self, _snapshot: &Snapshot, _base_path: &str, _api: u32) {}
    /// A grant of the consumer (`group` none) or of one of its groups, and its verdict.
    fn grant(
        &mut self,
        _snapshot: &Snapshot,
        _group: Option<&GroupEntry>,
        _grant: Grant,
        _verdict: Verdict,
    ) {
    }
}

/// The check's trace: nothing.
impl Trace for () {}

/// What the key lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyStep {
    /// No bound key has this value (or none was given in a form a key can have).
    Unknown,
    /// `expires_at` none for a key that does not expire.
    Found {
        enabled: bool,
        expires_at: Option<i64>,
    },
}

/// A grant considered, named by IDs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantStep {
    /// The group it belongs to, none for the consumer's own: (ID, enabled).
    pub group: Option<(String, bool)>,
    pub api_id: String,
    pub environment_id: String,
    /// None when it does not expire.
    pub expires_at: Option<i64>,
    pub verdict: Verdict,
}

/// Everything a decision looked at, for the explainer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    /// None when the decision started from a consumer, not a key.
    pub key: Option<KeyStep>,
    /// (ID, name, enabled)
    pub consumer: Option<(String, String, bool)>,
    pub environment_id: Option<String>,
    /// (base path matched, model API ID)
    pub route: Option<(String, String)>,
    pub grants: Vec<GrantStep>,
}

fn expiry(at: i64) -> Option<i64> {
    (at != i64::MAX).then_some(at)
}

impl Trace for Recording {
    const ALL_GRANTS: bool = true;

    fn key(&mut self, found: Option<KeyEntry>) {
        self.key = Some(match found {
            None => KeyStep::Unknown,
            Some(k) => KeyStep::Found {
                enabled: k.enabled,
                expires_at: expiry(k.expires_at),
            },
        });
    }

    fn consumer(&mut self, c: &ConsumerEntry) {
        self.consumer = Some((c.id.to_string(), c.name.to_string(), c.enabled));
    }

    fn environment(&mut self, snapshot: &Snapshot, at: u32) {
        self.environment_id = Some(snapshot.environment_id(at).to_owned());
    }

    fn route(&mut self, snapshot: &Snapshot, base_path: &str, api: u32) {
        self.route = Some((base_path.to_owned(), snapshot.api_id(api).to_owned()));
    }

    fn grant(
        &mut self,
        snapshot: &Snapshot,
        group: Option<&GroupEntry>,
        g: Grant,
        verdict: Verdict,
    ) {
        self.grants.push(GrantStep {
            group: group.map(|g| (g.id.to_string(), g.enabled)),
            api_id: snapshot.api_id(g.api).to_owned(),
            environment_id: snapshot.environment_id(g.environment).to_owned(),
            expires_at: expiry(g.expires_at),
            verdict,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::hash_key;
    use crate::enforce::snapshot::Refusal;
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
                revision: 1,
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
