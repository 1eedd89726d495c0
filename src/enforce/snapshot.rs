//! One instance's enforcement data, in memory: keys by hash, consumers with their groups and
//! direct grants, groups with theirs, and per environment the model APIs by base path. Built
//! from plain rows (so it can be tested and measured without a database) and then only read.
//! Expiry is kept as a time and compared with the clock at each decision.

use crate::domain::request_path::prefixes;
use std::collections::HashMap;

/// "Never expires".
const NEVER: i64 = i64::MAX;

/// The rows a snapshot is built from, as the store reads them.
#[derive(Debug, Default)]
pub struct SnapshotRows {
    pub revision: i64,
    pub environments: Vec<EnvironmentRow>,
    pub deployments: Vec<DeploymentRow>,
    pub consumers: Vec<ConsumerRow>,
    pub groups: Vec<GroupRow>,
    /// (group ID, consumer ID)
    pub memberships: Vec<(String, String)>,
    pub keys: Vec<KeyRow>,
    pub rules: Vec<RuleRow>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EnvironmentRow {
    pub id: String,
    pub name_key: String,
    pub is_default: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeploymentRow {
    pub api_id: String,
    pub base_path: String,
    pub environment_id: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ConsumerRow {
    pub id: String,
    pub name: String,
    pub enabled: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: String,
    pub enabled: i64,
}

/// A bound key (unbound keys authenticate nobody and are not loaded).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct KeyRow {
    pub key_hash: String,
    pub previous_hash: Option<String>,
    pub previous_expires_at: Option<i64>,
    pub consumer_id: String,
    pub enabled: i64,
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RuleRow {
    pub consumer_id: Option<String>,
    pub group_id: Option<String>,
    pub api_id: String,
    pub environment_id: String,
    pub expire_mode: String,
    pub expire_at: Option<i64>,
}

#[derive(Debug, Clone, Copy)]
struct KeyEntry {
    consumer: u32,
    enabled: bool,
    expires_at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Grant {
    api: u32,
    environment: u32,
    expires_at: i64,
}

#[derive(Debug)]
struct ConsumerEntry {
    id: Box<str>,
    name: Box<str>,
    enabled: bool,
    groups: Box<[u32]>,
    grants: Box<[Grant]>,
}

#[derive(Debug)]
struct GroupEntry {
    enabled: bool,
    grants: Box<[Grant]>,
}

/// Why a request was refused. The first five are authentication failures (401), the rest
/// authorization failures (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoKey,
    UnknownKey,
    DisabledKey,
    ExpiredKey,
    DisabledConsumer,
    UnknownGateway,
    UnknownEnvironment,
    BadPath,
    NoApi,
    NoRule,
}

impl Refusal {
    pub fn is_authentication(self) -> bool {
        matches!(
            self,
            Refusal::NoKey
                | Refusal::UnknownKey
                | Refusal::DisabledKey
                | Refusal::ExpiredKey
                | Refusal::DisabledConsumer
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::NoKey => "no key",
            Refusal::UnknownKey => "unknown key",
            Refusal::DisabledKey => "disabled key",
            Refusal::ExpiredKey => "expired key",
            Refusal::DisabledConsumer => "disabled consumer",
            Refusal::UnknownGateway => "unknown gateway",
            Refusal::UnknownEnvironment => "unknown environment",
            Refusal::BadPath => "refused path",
            Refusal::NoApi => "no model API at this path",
            Refusal::NoRule => "no rule in effect",
        }
    }
}

/// Who may pass, and to which API.
#[derive(Debug, PartialEq, Eq)]
pub struct Allowed<'a> {
    pub consumer_id: &'a str,
    pub consumer_name: &'a str,
    pub api_id: &'a str,
}

#[derive(Debug, Default)]
pub struct Snapshot {
    pub revision: i64,
    keys: HashMap<[u8; 32], KeyEntry>,
    consumers: Vec<ConsumerEntry>,
    groups: Vec<GroupEntry>,
    apis: Vec<Box<str>>,
    /// By environment ID and by lowercased name.
    environments: HashMap<Box<str>, u32>,
    default_environment: Option<u32>,
    /// Per environment: base path -> API.
    routes: Vec<HashMap<Box<str>, u32>>,
}

/// The 32 bytes of a hex SHA-256; None for anything else.
fn hash_bytes(hex_hash: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_hash, &mut out).ok()?;
    Some(out)
}

fn interned(index: &mut HashMap<String, u32>, names: &mut Vec<Box<str>>, id: &str) -> u32 {
    if let Some(i) = index.get(id) {
        return *i;
    }
    let i = names.len() as u32;
    names.push(id.into());
    index.insert(id.to_owned(), i);
    i
}

impl Snapshot {
    pub fn build(rows: SnapshotRows) -> Snapshot {
        let mut s = Snapshot {
            revision: rows.revision,
            ..Snapshot::default()
        };
        let mut env_index: HashMap<String, u32> = HashMap::new();
        for (i, e) in rows.environments.iter().enumerate() {
            let i = i as u32;
            env_index.insert(e.id.clone(), i);
            s.environments.insert(e.id.as_str().into(), i);
            s.environments.insert(e.name_key.as_str().into(), i);
            if e.is_default != 0 {
                s.default_environment = Some(i);
            }
        }
        s.routes = vec![HashMap::new(); rows.environments.len()];
        let mut api_index: HashMap<String, u32> = HashMap::new();
        for d in &rows.deployments {
            let api = interned(&mut api_index, &mut s.apis, &d.api_id);
            if let Some(env) = env_index.get(&d.environment_id) {
                s.routes[*env as usize].insert(d.base_path.as_str().into(), api);
            }
        }

        let consumer_index: HashMap<&str, u32> = rows
            .consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id.as_str(), i as u32))
            .collect();
        let group_index: HashMap<&str, u32> = rows
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.as_str(), i as u32))
            .collect();
        let mut consumer_groups: Vec<Vec<u32>> = vec![Vec::new(); rows.consumers.len()];
        for (g, c) in &rows.memberships {
            if let (Some(g), Some(c)) =
                (group_index.get(g.as_str()), consumer_index.get(c.as_str()))
            {
                consumer_groups[*c as usize].push(*g);
            }
        }
        let mut consumer_grants: Vec<Vec<Grant>> = vec![Vec::new(); rows.consumers.len()];
        let mut group_grants: Vec<Vec<Grant>> = vec![Vec::new(); rows.groups.len()];
        for r in &rows.rules {
            // A rule for an API deployed nowhere can never match a route: skip it.
            let (Some(api), Some(env)) =
                (api_index.get(&r.api_id), env_index.get(&r.environment_id))
            else {
                continue;
            };
            let grant = Grant {
                api: *api,
                environment: *env,
                expires_at: if r.expire_mode == "LongTerm" {
                    NEVER
                } else {
                    r.expire_at.unwrap_or(i64::MIN)
                },
            };
            if let Some(c) = r.consumer_id.as_deref().and_then(|c| consumer_index.get(c)) {
                consumer_grants[*c as usize].push(grant);
            } else if let Some(g) = r.group_id.as_deref().and_then(|g| group_index.get(g)) {
                group_grants[*g as usize].push(grant);
            }
        }
        s.groups = rows
            .groups
            .iter()
            .zip(group_grants)
            .map(|(g, grants)| GroupEntry {
                enabled: g.enabled != 0,
                grants: grants.into_boxed_slice(),
            })
            .collect();

        s.keys.reserve(rows.keys.len());
        for k in &rows.keys {
            let Some(consumer) = consumer_index.get(k.consumer_id.as_str()).copied() else {
                continue;
            };
            let expires_at = k.expires_at.unwrap_or(NEVER);
            let enabled = k.enabled != 0;
            if let Some(h) = hash_bytes(&k.key_hash) {
                s.keys.insert(
                    h,
                    KeyEntry {
                        consumer,
                        enabled,
                        expires_at,
                    },
                );
            }
            if let (Some(prev), Some(until)) = (&k.previous_hash, k.previous_expires_at) {
                if let Some(h) = hash_bytes(prev) {
                    let expires_at = expires_at.min(until);
                    s.keys.insert(
                        h,
                        KeyEntry {
                            consumer,
                            enabled,
                            expires_at,
                        },
                    );
                }
            }
        }
        drop(consumer_index);
        drop(group_index);
        s.consumers = rows
            .consumers
            .into_iter()
            .zip(consumer_groups.into_iter().zip(consumer_grants))
            .map(|(c, (groups, grants))| ConsumerEntry {
                id: c.id.into_boxed_str(),
                name: c.name.into_boxed_str(),
                enabled: c.enabled != 0,
                groups: groups.into_boxed_slice(),
                grants: grants.into_boxed_slice(),
            })
            .collect();
        s
    }

    pub fn key_count(&self) -> usize {
        self.keys.len()
    }

    /// The decision for a key (its SHA-256), an environment (ID or name; none means the
    /// default one) and a normalised request path (none when the path was refused), at
    /// `now` (ms). The key is judged first, so a bad key is a 401 whatever the path.
    pub fn decide(
        &self,
        key_hash: &[u8; 32],
        environment: Option<&str>,
        path: Option<&str>,
        now: i64,
    ) -> Result<Allowed<'_>, Refusal> {
        let key = self.keys.get(key_hash).ok_or(Refusal::UnknownKey)?;
        if !key.enabled {
            return Err(Refusal::DisabledKey);
        }
        if key.expires_at <= now {
            return Err(Refusal::ExpiredKey);
        }
        let consumer = &self.consumers[key.consumer as usize];
        if !consumer.enabled {
            return Err(Refusal::DisabledConsumer);
        }
        let env = match environment {
            Some(e) => self
                .environments
                .get(e)
                .or_else(|| self.environments.get(e.to_ascii_lowercase().as_str())),
            None => self.default_environment.as_ref(),
        }
        .copied()
        .ok_or(Refusal::UnknownEnvironment)?;
        let path = path.ok_or(Refusal::BadPath)?;
        let routes = &self.routes[env as usize];
        let api = prefixes(path)
            .find_map(|p| routes.get(p))
            .copied()
            .ok_or(Refusal::NoApi)?;
        let covers = |g: &Grant| g.api == api && g.environment == env && g.expires_at > now;
        let granted = consumer.grants.iter().any(covers)
            || consumer.groups.iter().any(|g| {
                let group = &self.groups[*g as usize];
                group.enabled && group.grants.iter().any(covers)
            });
        if !granted {
            return Err(Refusal::NoRule);
        }
        Ok(Allowed {
            consumer_id: &consumer.id,
            consumer_name: &consumer.name,
            api_id: &self.apis[api as usize],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::keys::hash_key;

    const NOW: i64 = 1_000_000;

    fn h(key: &str) -> [u8; 32] {
        hash_bytes(&hash_key(key)).unwrap()
    }

    fn rule(
        consumer: Option<&str>,
        group: Option<&str>,
        api: &str,
        expire_at: Option<i64>,
    ) -> RuleRow {
        RuleRow {
            consumer_id: consumer.map(Into::into),
            group_id: group.map(Into::into),
            api_id: api.into(),
            environment_id: "env-1".into(),
            expire_mode: if expire_at.is_some() {
                "ShortTerm"
            } else {
                "LongTerm"
            }
            .into(),
            expire_at,
        }
    }

    /// alice (key-a) has a direct rule on chat; bob (key-b) gets embeddings through group g;
    /// carol (key-c) is disabled; key-d of alice is disabled; key-e of alice has expired;
    /// key-f was rotated: its previous value works until NOW + 10.
    fn snapshot(group_enabled: bool) -> Snapshot {
        let key = |v: &str, c: &str, enabled: bool, expires: Option<i64>| KeyRow {
            key_hash: hash_key(v),
            previous_hash: None,
            previous_expires_at: None,
            consumer_id: c.into(),
            enabled: i64::from(enabled),
            expires_at: expires,
        };
        let mut rotated = key("key-f-new", "cs-alice", true, None);
        rotated.previous_hash = Some(hash_key("key-f-old"));
        rotated.previous_expires_at = Some(NOW + 10);
        Snapshot::build(SnapshotRows {
            revision: 7,
            environments: vec![
                EnvironmentRow {
                    id: "env-1".into(),
                    name_key: "default".into(),
                    is_default: 1,
                },
                EnvironmentRow {
                    id: "env-2".into(),
                    name_key: "staging".into(),
                    is_default: 0,
                },
            ],
            deployments: vec![
                DeploymentRow {
                    api_id: "api-chat".into(),
                    base_path: "/v1/chat".into(),
                    environment_id: "env-1".into(),
                },
                DeploymentRow {
                    api_id: "api-emb".into(),
                    base_path: "/v1/embeddings".into(),
                    environment_id: "env-1".into(),
                },
                DeploymentRow {
                    api_id: "api-root".into(),
                    base_path: "/".into(),
                    environment_id: "env-2".into(),
                },
            ],
            consumers: vec![
                ConsumerRow {
                    id: "cs-alice".into(),
                    name: "alice".into(),
                    enabled: 1,
                },
                ConsumerRow {
                    id: "cs-bob".into(),
                    name: "bob".into(),
                    enabled: 1,
                },
                ConsumerRow {
                    id: "cs-carol".into(),
                    name: "carol".into(),
                    enabled: 0,
                },
            ],
            groups: vec![GroupRow {
                id: "cg-g".into(),
                enabled: i64::from(group_enabled),
            }],
            memberships: vec![("cg-g".into(), "cs-bob".into())],
            keys: vec![
                key("key-a", "cs-alice", true, None),
                key("key-b", "cs-bob", true, None),
                key("key-c", "cs-carol", true, None),
                key("key-d", "cs-alice", false, None),
                key("key-e", "cs-alice", true, Some(NOW - 1)),
                rotated,
            ],
            rules: vec![
                rule(Some("cs-alice"), None, "api-chat", None),
                rule(None, Some("cg-g"), "api-emb", None),
                rule(Some("cs-carol"), None, "api-chat", None),
                rule(Some("cs-bob"), None, "api-chat", Some(NOW + 5)),
            ],
        })
    }

    fn decide(s: &Snapshot, key: &str, path: &str) -> Result<String, Refusal> {
        s.decide(&h(key), None, Some(path), NOW)
            .map(|a| format!("{}:{}", a.consumer_name, a.api_id))
    }

    #[test]
    fn a_direct_rule_lets_the_consumer_through_below_the_base_path() {
        let s = snapshot(true);
        assert_eq!(
            decide(&s, "key-a", "/v1/chat/completions").unwrap(),
            "alice:api-chat"
        );
        assert_eq!(decide(&s, "key-a", "/v1/chat").unwrap(), "alice:api-chat");
        assert_eq!(decide(&s, "key-a", "/v1/embeddings"), Err(Refusal::NoRule));
        assert_eq!(decide(&s, "key-a", "/v1/chatx"), Err(Refusal::NoApi));
    }

    #[test]
    fn keys_are_refused_when_unknown_disabled_or_expired() {
        let s = snapshot(true);
        assert_eq!(decide(&s, "nope", "/v1/chat"), Err(Refusal::UnknownKey));
        assert_eq!(decide(&s, "key-d", "/v1/chat"), Err(Refusal::DisabledKey));
        assert_eq!(decide(&s, "key-e", "/v1/chat"), Err(Refusal::ExpiredKey));
        assert_eq!(
            decide(&s, "key-c", "/v1/chat"),
            Err(Refusal::DisabledConsumer)
        );
    }

    #[test]
    fn a_rotated_key_keeps_its_old_value_only_for_the_grace_period() {
        let s = snapshot(true);
        assert!(decide(&s, "key-f-new", "/v1/chat").is_ok());
        assert!(decide(&s, "key-f-old", "/v1/chat").is_ok());
        let later = s.decide(&h("key-f-old"), None, Some("/v1/chat"), NOW + 10);
        assert_eq!(later, Err(Refusal::ExpiredKey));
        assert!(s
            .decide(&h("key-f-new"), None, Some("/v1/chat"), NOW + 10)
            .is_ok());
    }

    #[test]
    fn group_rules_count_only_while_the_group_is_enabled() {
        assert_eq!(
            decide(&snapshot(true), "key-b", "/v1/embeddings").unwrap(),
            "bob:api-emb"
        );
        assert_eq!(
            decide(&snapshot(false), "key-b", "/v1/embeddings"),
            Err(Refusal::NoRule)
        );
    }

    #[test]
    fn short_term_rules_expire_at_request_time() {
        let s = snapshot(true);
        assert!(s
            .decide(&h("key-b"), None, Some("/v1/chat"), NOW + 4)
            .is_ok());
        assert_eq!(
            s.decide(&h("key-b"), None, Some("/v1/chat"), NOW + 5),
            Err(Refusal::NoRule)
        );
    }

    #[test]
    fn environments_are_chosen_by_id_or_name_and_default_otherwise() {
        let s = snapshot(true);
        assert_eq!(
            s.decide(&h("key-a"), Some("Staging"), Some("/v1/chat"), NOW),
            Err(Refusal::NoRule)
        );
        assert_eq!(
            s.decide(&h("key-a"), Some("env-2"), Some("/anything"), NOW),
            Err(Refusal::NoRule)
        );
        assert_eq!(
            s.decide(&h("key-a"), Some("prod"), Some("/v1/chat"), NOW),
            Err(Refusal::UnknownEnvironment)
        );
        assert!(s
            .decide(&h("key-a"), Some("default"), Some("/v1/chat"), NOW)
            .is_ok());
    }

    #[test]
    fn refusals_split_into_401_and_403() {
        assert!(Refusal::ExpiredKey.is_authentication());
        assert!(Refusal::DisabledConsumer.is_authentication());
        assert!(!Refusal::NoRule.is_authentication());
        assert!(!Refusal::BadPath.is_authentication());
    }

    #[test]
    fn a_refused_path_is_judged_after_the_key() {
        let s = snapshot(true);
        assert_eq!(
            s.decide(&h("nope"), None, None, NOW),
            Err(Refusal::UnknownKey)
        );
        assert_eq!(
            s.decide(&h("key-a"), None, None, NOW),
            Err(Refusal::BadPath)
        );
    }
}
