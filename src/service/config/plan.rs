//! The import's plan: a configuration file against the gateway's rows, as the changes that make
//! the gateway what the file says (created, changed and, with `prune`, deleted), or every
//! problem of the file, each at its place in it (`consumers[12].groups[1]: no consumer group
//! named "ops"`). Pure: the service reads the rows and writes the plan in one transaction.
//!
//! Resources are matched by name (case-insensitively, as the console's names are unique). A
//! resource listed in the file is whole there: its groups, rules, deployments, rate limit and
//! quotas are exactly the file's. One not listed stays as it is, unless `prune` deletes it.

use super::document::{parse_rfc3339, rfc3339, GatewayConfig, QuotaSpec, RateLimitSpec, RuleSpec};
use crate::domain::apis::{parse_ai_protocols, parse_model_category, BasePath};
use crate::domain::config::{ChangeAction, ConfigKind, ResourceChange};
use crate::domain::limits::LimitValues;
use crate::domain::{Description, IdKind, Name, ResourceId};
use crate::store::config::{
    ConsumerRow, EnvironmentRow, GatewayRows, GroupRow, ImportOps, KeyOp, LimitRow, MembershipRow,
    ModelApiRow, QuotaRow, RuleOp,
};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// Something wrong in the file, at its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `consumers[12].groups[1]`, or empty for the file as a whole.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// What to write, and the same in words.
#[derive(Debug, Default)]
pub struct Plan {
    pub ops: ImportOps,
    pub changes: Vec<ResourceChange>,
    /// Key hashes the plan gives a key: no key of another gateway may have them.
    pub new_hashes: Vec<(String, String)>,
}

struct Planner<'a> {
    rows: &'a GatewayRows,
    /// The name of every environment, model API, group and consumer there is, by ID.
    names_by_id: HashMap<&'a str, &'a str>,
    prune: bool,
    problems: Vec<Problem>,
    plan: Plan,
}

/// The name's unique key, or a problem at `path`.
fn name_key(problems: &mut Vec<Problem>, path: &str, raw: &str) -> Option<(String, String)> {
    match Name::parse(raw) {
        Ok(n) => Some((n.unique_key(), n.to_string())),
        Err(e) => {
            problems.push(Problem {
                path: format!("{path}.name"),
                message: e.to_string(),
            });
            None
        }
    }
}

fn quoted(s: &str) -> String {
    format!("{:?}", crate::service::truncate(s))
}

/// A field as the domain names it in an error (`PerSecond`) as the file spells it
/// (`perSecond`).
fn camel(field: &str) -> String {
    let mut chars = field.chars();
    chars
        .next()
        .map(|c| c.to_ascii_lowercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// `field: old -> new` when they differ.
fn differ<T: PartialEq + fmt::Display>(details: &mut Vec<String>, field: &str, old: T, new: T) {
    if old != new {
        details.push(format!("{field}: {old} -> {new}"));
    }
}

fn differ_text(details: &mut Vec<String>, field: &str, old: &str, new: &str) {
    if old != new {
        details.push(format!("{field}: {} -> {}", quoted(old), quoted(new)));
    }
}

fn expiry_text(t: Option<i64>) -> String {
    t.map(rfc3339).unwrap_or_else(|| "never".to_owned())
}

fn new_id(kind: IdKind) -> String {
    ResourceId::generate(kind).to_string()
}

/// What the file names as the gateway's environments, APIs, groups and consumers after the
/// import: name key -> ID (existing or new).
#[derive(Default)]
struct Names {
    envs: HashMap<String, (String, String)>,
    apis: HashMap<String, (String, String)>,
    groups: HashMap<String, (String, String)>,
    consumers: HashMap<String, (String, String)>,
    /// The keys the file lists (others are not named by anything in it).
    keys: HashMap<String, (String, String)>,
}

/// A kind of record a file lists by name: how a plan names it, and where its writes go.
trait Planned: Sized {
    const KIND: ConfigKind;
    const IDS: IdKind;
    fn id(&self) -> &str;
    fn name(&self) -> &str;
    fn set_id(&mut self, id: String);
    /// What differs, field by field (`enabled: true -> false`).
    fn details(old: &Self, new: &Self) -> Vec<String>;
    /// Its creates, its changes and its deletes.
    fn writes(ops: &mut ImportOps) -> (&mut Vec<Self>, &mut Vec<Self>, &mut Vec<String>);
}

macro_rules! planned {
    ($row:ty, $kind:ident, $ids:ident, $creates:ident, $changes:ident, $deletes:ident, $details:expr) => {
        impl Planned for $row {
            const KIND: ConfigKind = ConfigKind::$kind;
            const IDS: IdKind = IdKind::$ids;
            fn id(&self) -> &str {
                &self.id
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn set_id(&mut self, id: String) {
                self.id = id;
            }
            fn details(old: &Self, new: &Self) -> Vec<String> {
                $details(old, new)
            }
            fn writes(ops: &mut ImportOps) -> (&mut Vec<Self>, &mut Vec<Self>, &mut Vec<String>) {
                (&mut ops.$creates, &mut ops.$changes, &mut ops.$deletes)
            }
        }
    };
}

planned!(
    EnvironmentRow,
    Environment,
    Environment,
    environment_creates,
    environment_changes,
    environment_deletes,
    env_details
);
planned!(
    ModelApiRow,
    ModelApi,
    Api,
    api_creates,
    api_changes,
    api_deletes,
    api_details
);
planned!(
    GroupRow,
    ConsumerGroup,
    ConsumerGroup,
    group_creates,
    group_changes,
    group_deletes,
    |o: &GroupRow, n: &GroupRow| {
        owner_details(
            &o.name,
            &o.description,
            o.enabled,
            &n.name,
            &n.description,
            n.enabled,
        )
    }
);
planned!(
    ConsumerRow,
    Consumer,
    Consumer,
    consumer_creates,
    consumer_changes,
    consumer_deletes,
    |o: &ConsumerRow, n: &ConsumerRow| {
        owner_details(
            &o.name,
            &o.description,
            o.enabled,
            &n.name,
            &n.description,
            n.enabled,
        )
    }
);

/// A group's or consumer's own fields that differ.
fn owner_details(
    old_name: &str,
    old_description: &str,
    old_enabled: bool,
    name: &str,
    description: &str,
    enabled: bool,
) -> Vec<String> {
    let mut details = Vec::new();
    differ_text(&mut details, "name", old_name, name);
    differ_text(&mut details, "description", old_description, description);
    differ(&mut details, "enabled", old_enabled, enabled);
    details
}

impl Planner<'_> {
    /// `row` as the file has it: created with a new ID, or changed when it differs from `old`
    /// (or `extra` tells of more); its ID.
    fn upsert<R: Planned>(
        &mut self,
        old: Option<&R>,
        mut row: R,
        name: &str,
        extra: Vec<String>,
    ) -> String {
        match old {
            Some(old) => {
                let id = old.id().to_owned();
                row.set_id(id.clone());
                let mut details = R::details(old, &row);
                details.extend(extra);
                if !details.is_empty() {
                    self.change(R::KIND, ChangeAction::Change, name, details);
                    R::writes(&mut self.plan.ops).1.push(row);
                }
                id
            }
            None => {
                let id = new_id(R::IDS);
                row.set_id(id.clone());
                self.change(R::KIND, ChangeAction::Create, name, vec![]);
                R::writes(&mut self.plan.ops).0.push(row);
                id
            }
        }
    }

    /// The records of a kind the file does not list: deleted with prune; kept otherwise, and
    /// then named in `kept` (name key -> ID, name).
    fn unlisted<R: Planned>(
        &mut self,
        rows: &[R],
        listed: &HashSet<String>,
        kept: &mut HashMap<String, (String, String)>,
    ) {
        for old in rows {
            let key = old.name().to_ascii_lowercase();
            if listed.contains(&key) {
                continue;
            }
            if self.prune {
                self.change(R::KIND, ChangeAction::Delete, old.name(), vec![]);
                R::writes(&mut self.plan.ops).2.push(old.id().to_owned());
            } else {
                kept.insert(key, (old.id().to_owned(), old.name().to_owned()));
            }
        }
    }

    fn problem(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            path: path.into(),
            message: message.into(),
        });
    }

    fn change(&mut self, kind: ConfigKind, action: ChangeAction, name: &str, details: Vec<String>) {
        self.plan.changes.push(ResourceChange {
            kind,
            action,
            name: name.to_owned(),
            details,
        });
    }

    /// The name keys of a list, each checked once: a bad or repeated name is a problem.
    fn keys_of<'n>(
        &mut self,
        list: &str,
        names: impl Iterator<Item = &'n str>,
    ) -> Vec<Option<(String, String)>> {
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for (i, raw) in names.enumerate() {
            let path = format!("{list}[{i}]");
            let key = name_key(&mut self.problems, &path, raw);
            if let Some((k, _)) = &key {
                if let Some(first) = seen.insert(k.clone(), i) {
                    self.problem(
                        format!("{path}.name"),
                        format!("{} is listed twice (also {list}[{first}])", quoted(raw)),
                    );
                    out.push(None);
                    continue;
                }
            }
            out.push(key);
        }
        out
    }
}

impl<'a> Planner<'a> {
    /// The name of the environment, model API, group or consumer with this ID (the ID when
    /// there is none). It does not borrow the planner, which may go on changing.
    fn named<'s>(&self, id: &'s str) -> &'s str
    where
        'a: 's,
    {
        self.names_by_id.get(id).copied().unwrap_or(id)
    }
}

/// Plans the import of `doc` into the gateway whose rows are `rows`.
pub fn plan(doc: &GatewayConfig, rows: &GatewayRows, prune: bool) -> Result<Plan, Vec<Problem>> {
    let names_by_id = rows
        .environments
        .iter()
        .map(|e| (e.id.as_str(), e.name.as_str()))
        .chain(
            rows.model_apis
                .iter()
                .map(|a| (a.id.as_str(), a.name.as_str())),
        )
        .chain(rows.groups.iter().map(|g| (g.id.as_str(), g.name.as_str())))
        .chain(
            rows.consumers
                .iter()
                .map(|c| (c.id.as_str(), c.name.as_str())),
        )
        .collect();
    let mut p = Planner {
        rows,
        names_by_id,
        prune,
        problems: Vec::new(),
        plan: Plan::default(),
    };
    let mut names = Names::default();
    p.environments(doc, &mut names);
    let deployed = p.model_apis(doc, &mut names);
    p.groups(doc, &mut names);
    p.consumers(doc, &mut names);
    p.keys(doc, &mut names);
    p.rules(doc, &names, &deployed);
    p.limits_and_quotas(doc, &names);
    if !p.problems.is_empty() {
        return Err(p.problems);
    }
    let mut plan = p.plan;
    plan.changes
        .sort_by(|a, b| (a.kind, &a.name, a.action).cmp(&(b.kind, &b.name, b.action)));
    Ok(plan)
}

impl Planner<'_> {
    fn environments(&mut self, doc: &GatewayConfig, names: &mut Names) {
        let current: HashMap<String, &EnvironmentRow> = self
            .rows
            .environments
            .iter()
            .map(|e| (e.name.to_ascii_lowercase(), e))
            .collect();
        let keys = self.keys_of(
            "environments",
            doc.environments.iter().map(|e| e.name.as_str()),
        );
        let marked: Vec<usize> = (0..doc.environments.len())
            .filter(|&i| doc.environments[i].default)
            .collect();
        if let [first, second, ..] = marked[..] {
            self.problem(
                format!("environments[{second}].default"),
                format!("only one environment can be the default (also environments[{first}])"),
            );
        }
        let current_default = self
            .rows
            .environments
            .iter()
            .find(|e| e.is_default)
            .map(|e| e.name.to_ascii_lowercase());
        let default_key = marked
            .first()
            .and_then(|&i| keys[i].as_ref().map(|(k, _)| k.clone()))
            .or(current_default);
        let mut listed = HashSet::new();
        for (i, (spec, key)) in doc.environments.iter().zip(keys).enumerate() {
            let Some((key, name)) = key else { continue };
            listed.insert(key.clone());
            let path = format!("environments[{i}]");
            let parsed = Name::parse(&name).expect("checked");
            let alias = match crate::service::environments::parse_alias(&spec.alias, &parsed) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(format!("{path}.alias"), e.to_string());
                    continue;
                }
            };
            let Some(description) = self.description(&path, &spec.description) else {
                continue;
            };
            let row = EnvironmentRow {
                id: String::new(),
                name: name.clone(),
                alias,
                description,
                is_default: default_key.as_deref() == Some(key.as_str()),
            };
            let id = self.upsert(current.get(&key).copied(), row, &name, Vec::new());
            names.envs.insert(key, (id, name.clone()));
        }
        for old in &self.rows.environments {
            let key = old.name.to_ascii_lowercase();
            if listed.contains(&key) {
                continue;
            }
            if self.prune {
                if default_key.as_deref() == Some(key.as_str()) {
                    self.problem(
                        "environments",
                        format!(
                            "the default environment {} is not listed: list it, or mark another one `default: true`",
                            quoted(&old.name)
                        ),
                    );
                    continue;
                }
                self.change(
                    ConfigKind::Environment,
                    ChangeAction::Delete,
                    &old.name,
                    vec![],
                );
                self.plan.ops.environment_deletes.push(old.id.clone());
                continue;
            }
            names
                .envs
                .insert(key.clone(), (old.id.clone(), old.name.clone()));
            if old.is_default && default_key.as_deref() != Some(key.as_str()) {
                let row = EnvironmentRow {
                    is_default: false,
                    ..old.clone()
                };
                self.change(
                    ConfigKind::Environment,
                    ChangeAction::Change,
                    &old.name,
                    vec!["default: true -> false".into()],
                );
                self.plan.ops.environment_changes.push(row);
            }
        }
    }

    fn description(&mut self, path: &str, raw: &str) -> Option<String> {
        match Description::parse(raw) {
            Ok(d) => Some(d.as_str().to_owned()),
            Err(e) => {
                self.problem(format!("{path}.description"), e.to_string());
                None
            }
        }
    }

    /// Plans the model APIs; returns each API's environments after the import (API ID ->
    /// environment IDs).
    fn model_apis(
        &mut self,
        doc: &GatewayConfig,
        names: &mut Names,
    ) -> HashMap<String, BTreeSet<String>> {
        let current: HashMap<String, &ModelApiRow> = self
            .rows
            .model_apis
            .iter()
            .map(|a| (a.name.to_ascii_lowercase(), a))
            .collect();
        let mut current_deployed: HashMap<&str, BTreeSet<String>> = HashMap::new();
        for d in &self.rows.deployments {
            current_deployed
                .entry(d.api_id.as_str())
                .or_default()
                .insert(d.environment_id.clone());
        }
        let env_names: HashMap<String, String> = names
            .envs
            .values()
            .map(|(id, name)| (id.clone(), name.clone()))
            .chain(
                self.rows
                    .environments
                    .iter()
                    .map(|e| (e.id.clone(), e.name.clone())),
            )
            .collect();
        let keys = self.keys_of("modelApis", doc.model_apis.iter().map(|a| a.name.as_str()));
        let mut deployed_after: HashMap<String, BTreeSet<String>> = HashMap::new();
        // base path -> who has it, to tell a clash.
        let mut base_paths: HashMap<String, String> = HashMap::new();
        let mut listed = HashSet::new();
        for (i, (spec, key)) in doc.model_apis.iter().zip(keys).enumerate() {
            let path = format!("modelApis[{i}]");
            let Some((key, name)) = key else { continue };
            listed.insert(key.clone());
            let base_path = match BasePath::parse(&spec.base_path) {
                Ok(b) => b.as_str().to_owned(),
                Err(e) => {
                    self.problem(format!("{path}.basePath"), e.to_string());
                    continue;
                }
            };
            if let Some(other) = base_paths.insert(base_path.clone(), path.clone()) {
                self.problem(
                    format!("{path}.basePath"),
                    format!("{base_path} is also the base path of {other}"),
                );
            }
            let protocols = match parse_ai_protocols(&spec.ai_protocols) {
                Ok(p) => p.join(","),
                Err(e) => {
                    self.problem(format!("{path}.aiProtocols"), e);
                    continue;
                }
            };
            let category = match parse_model_category(&spec.model_category) {
                Ok(c) => c,
                Err(e) => {
                    self.problem(format!("{path}.modelCategory"), e);
                    continue;
                }
            };
            let Some(description) = self.description(&path, &spec.description) else {
                continue;
            };
            let mut envs = BTreeSet::new();
            for (j, env) in spec.environments.iter().enumerate() {
                match names.envs.get(&env.to_ascii_lowercase()) {
                    Some((id, _)) => {
                        if !envs.insert(id.clone()) {
                            self.problem(
                                format!("{path}.environments[{j}]"),
                                format!("{} is listed twice", quoted(env)),
                            );
                        }
                    }
                    None => self.problem(
                        format!("{path}.environments[{j}]"),
                        format!("no environment named {}", quoted(env)),
                    ),
                }
            }
            let row = ModelApiRow {
                id: String::new(),
                name: name.clone(),
                base_path,
                ai_protocols: protocols,
                model_category: category,
                description,
            };
            let old = current.get(&key).copied();
            let mut extra = Vec::new();
            if let Some(old) = old {
                let before = current_deployed.remove(old.id.as_str()).unwrap_or_default();
                let name_of = |e: &String| env_names.get(e).cloned().unwrap_or_else(|| e.clone());
                let mut parts: Vec<String> = envs
                    .difference(&before)
                    .map(|e| format!("+{}", name_of(e)))
                    .collect();
                parts.extend(before.difference(&envs).map(|e| format!("-{}", name_of(e))));
                if !parts.is_empty() {
                    extra.push(format!("environments: {}", parts.join(" ")));
                }
            }
            let deployments_change = old.is_none() || !extra.is_empty();
            let id = self.upsert(old, row, &name, extra);
            if deployments_change {
                self.plan
                    .ops
                    .deployments
                    .push((id.clone(), envs.iter().cloned().collect()));
            }
            names.apis.insert(key, (id.clone(), name.clone()));
            deployed_after.insert(id, envs);
        }
        for old in &self.rows.model_apis {
            let key = old.name.to_ascii_lowercase();
            if listed.contains(&key) {
                continue;
            }
            if self.prune {
                self.change(
                    ConfigKind::ModelApi,
                    ChangeAction::Delete,
                    &old.name,
                    vec![],
                );
                self.plan.ops.api_deletes.push(old.id.clone());
                continue;
            }
            if let Some(other) = base_paths.get(&old.base_path) {
                self.problem(
                    format!("{other}.basePath"),
                    format!(
                        "{} is the base path of the model API {} (not in the file)",
                        old.base_path,
                        quoted(&old.name)
                    ),
                );
            }
            names.apis.insert(key, (old.id.clone(), old.name.clone()));
            deployed_after.insert(
                old.id.clone(),
                current_deployed.remove(old.id.as_str()).unwrap_or_default(),
            );
        }
        deployed_after
    }

    fn groups(&mut self, doc: &GatewayConfig, names: &mut Names) {
        let current: HashMap<String, &GroupRow> = self
            .rows
            .groups
            .iter()
            .map(|g| (g.name.to_ascii_lowercase(), g))
            .collect();
        let keys = self.keys_of(
            "consumerGroups",
            doc.consumer_groups.iter().map(|g| g.name.as_str()),
        );
        let mut listed = HashSet::new();
        for (i, (spec, key)) in doc.consumer_groups.iter().zip(keys).enumerate() {
            let Some((key, name)) = key else { continue };
            listed.insert(key.clone());
            let Some(description) =
                self.description(&format!("consumerGroups[{i}]"), &spec.description)
            else {
                continue;
            };
            let row = GroupRow {
                id: String::new(),
                name: name.clone(),
                description,
                enabled: spec.enabled,
            };
            let id = self.upsert(current.get(&key).copied(), row, &name, Vec::new());
            names.groups.insert(key, (id, name.clone()));
        }
        let rows = self.rows;
        self.unlisted(&rows.groups, &listed, &mut names.groups);
    }

    fn consumers(&mut self, doc: &GatewayConfig, names: &mut Names) {
        let current: HashMap<String, &ConsumerRow> = self
            .rows
            .consumers
            .iter()
            .map(|c| (c.name.to_ascii_lowercase(), c))
            .collect();
        let mut member_of: HashMap<&str, BTreeSet<&str>> = HashMap::new();
        for m in &self.rows.memberships {
            member_of
                .entry(m.consumer_id.as_str())
                .or_default()
                .insert(m.group_id.as_str());
        }
        let keys = self.keys_of("consumers", doc.consumers.iter().map(|c| c.name.as_str()));
        let mut listed = HashSet::new();
        for (i, (spec, key)) in doc.consumers.iter().zip(keys).enumerate() {
            let path = format!("consumers[{i}]");
            let Some((key, name)) = key else { continue };
            listed.insert(key.clone());
            let Some(description) = self.description(&path, &spec.description) else {
                continue;
            };
            let row = ConsumerRow {
                id: String::new(),
                name: name.clone(),
                description,
                enabled: spec.enabled,
            };
            let id = self.upsert(current.get(&key).copied(), row, &name, Vec::new());
            names.consumers.insert(key, (id.clone(), name.clone()));
            let mut wanted: BTreeMap<String, String> = BTreeMap::new();
            for (j, group) in spec.groups.iter().enumerate() {
                match names.groups.get(&group.to_ascii_lowercase()) {
                    Some((gid, gname)) => {
                        if wanted.insert(gid.clone(), gname.clone()).is_some() {
                            self.problem(
                                format!("{path}.groups[{j}]"),
                                format!("{} is listed twice", quoted(group)),
                            );
                        }
                    }
                    None => self.problem(
                        format!("{path}.groups[{j}]"),
                        format!("no consumer group named {}", quoted(group)),
                    ),
                }
            }
            let before = member_of.remove(id.as_str()).unwrap_or_default();
            for (gid, gname) in &wanted {
                if !before.contains(gid.as_str()) {
                    self.change(
                        ConfigKind::GroupMembership,
                        ChangeAction::Create,
                        &format!("{name} in {gname}"),
                        vec![],
                    );
                    self.plan.ops.membership_adds.push(MembershipRow {
                        group_id: gid.clone(),
                        consumer_id: id.clone(),
                    });
                }
            }
            for gid in before.iter().filter(|g| !wanted.contains_key(**g)) {
                let gname = self.named(gid);
                self.change(
                    ConfigKind::GroupMembership,
                    ChangeAction::Delete,
                    &format!("{name} in {gname}"),
                    vec![],
                );
                self.plan.ops.membership_removes.push(MembershipRow {
                    group_id: (*gid).to_owned(),
                    consumer_id: id.clone(),
                });
            }
        }
        let rows = self.rows;
        self.unlisted(&rows.consumers, &listed, &mut names.consumers);
        // Memberships of consumers not in the file that are kept stay, unless their group
        // goes; those of deleted consumers go with them.
        let deleted_groups: HashSet<&str> = self
            .plan
            .ops
            .group_deletes
            .iter()
            .map(String::as_str)
            .collect();
        let deleted_consumers: HashSet<&str> = self
            .plan
            .ops
            .consumer_deletes
            .iter()
            .map(String::as_str)
            .collect();
        let mut gone = Vec::new();
        for (cid, groups) in member_of {
            for gid in groups {
                if deleted_groups.contains(gid) || deleted_consumers.contains(cid) {
                    let cname = self.named(cid);
                    let gname = self.named(gid);
                    gone.push((
                        format!("{cname} in {gname}"),
                        gid.to_owned(),
                        cid.to_owned(),
                    ));
                }
            }
        }
        for (label, gid, cid) in gone {
            self.change(
                ConfigKind::GroupMembership,
                ChangeAction::Delete,
                &label,
                vec![],
            );
            self.plan.ops.membership_removes.push(MembershipRow {
                group_id: gid,
                consumer_id: cid,
            });
        }
    }

    fn keys(&mut self, doc: &GatewayConfig, names: &mut Names) {
        let current: HashMap<String, &crate::store::config::KeyRow> = self
            .rows
            .keys
            .iter()
            .map(|k| (k.name.to_ascii_lowercase(), k))
            .collect();
        let keys = self.keys_of("keys", doc.keys.iter().map(|k| k.name.as_str()));
        let mut listed = HashSet::new();
        // hash -> where in the file, to tell two keys with one value.
        let mut hashes: HashMap<String, String> = HashMap::new();
        for (i, (spec, key)) in doc.keys.iter().zip(keys).enumerate() {
            let path = format!("keys[{i}]");
            let Some((key, name)) = key else { continue };
            listed.insert(key.clone());
            let prefix = spec.prefix.trim();
            if prefix.is_empty()
                || prefix.chars().count() > 32
                || prefix.chars().any(|c| c.is_control())
            {
                self.problem(
                    format!("{path}.prefix"),
                    "the prefix is the first characters of the value: 1 to 32 characters, no control characters",
                );
                continue;
            }
            let consumer = match &spec.consumer {
                None => None,
                Some(c) => match names.consumers.get(&c.to_ascii_lowercase()) {
                    Some((id, cname)) => Some((id.clone(), cname.clone())),
                    None => {
                        self.problem(
                            format!("{path}.consumer"),
                            format!("no consumer named {}", quoted(c)),
                        );
                        continue;
                    }
                },
            };
            let Some(expires_at) = self.time(&format!("{path}.expiresAt"), &spec.expires_at) else {
                continue;
            };
            let hash = match &spec.hash {
                None => None,
                Some(h) => {
                    let h = h.trim().to_ascii_lowercase();
                    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        self.problem(
                            format!("{path}.hash"),
                            "a key's hash is the SHA-256 of its value: 64 hexadecimal digits",
                        );
                        continue;
                    }
                    if let Some(other) = hashes.insert(h.clone(), path.clone()) {
                        self.problem(
                            format!("{path}.hash"),
                            format!("{other} has the same value"),
                        );
                    }
                    Some(h)
                }
            };
            let consumer_id = consumer.as_ref().map(|(id, _)| id.clone());
            match current.get(&key) {
                Some(old) => {
                    let new_hash = hash.filter(|h| *h != old.key_hash);
                    let mut details = Vec::new();
                    differ_text(&mut details, "name", &old.name, &name);
                    let old_owner = old
                        .consumer_id
                        .as_deref()
                        .map(|c| self.named(c))
                        .unwrap_or("(none)");
                    let new_owner = consumer.as_ref().map_or("(none)", |(_, n)| n.as_str());
                    let rebind = old.consumer_id != consumer_id;
                    if rebind {
                        details.push(format!("consumer: {old_owner} -> {new_owner}"));
                    }
                    differ(&mut details, "enabled", old.enabled, spec.enabled);
                    differ(
                        &mut details,
                        "expiresAt",
                        expiry_text(old.expires_at),
                        expiry_text(expires_at),
                    );
                    let prefix = match &new_hash {
                        Some(h) => {
                            details.push("value: replaced (a new hash)".into());
                            self.plan.new_hashes.push((path.clone(), h.clone()));
                            prefix.to_owned()
                        }
                        // Without a hash the value, and so its prefix, stays.
                        None => old.prefix.clone(),
                    };
                    names
                        .keys
                        .insert(key.clone(), (old.id.clone(), name.clone()));
                    if !details.is_empty() {
                        self.change(ConfigKind::Key, ChangeAction::Change, &name, details);
                        self.plan.ops.key_changes.push(KeyOp {
                            id: old.id.clone(),
                            name: name.clone(),
                            prefix,
                            key_hash: new_hash,
                            consumer_id,
                            enabled: spec.enabled,
                            expires_at,
                            rebind,
                        });
                    }
                }
                None => {
                    let Some(hash) = hash else {
                        self.problem(
                            path.clone(),
                            format!(
                                "there is no key named {} to update, and a new key needs its value's hash (export with --include-key-hashes), or create it in the console",
                                quoted(&name)
                            ),
                        );
                        continue;
                    };
                    self.plan.new_hashes.push((path.clone(), hash.clone()));
                    self.change(ConfigKind::Key, ChangeAction::Create, &name, vec![]);
                    let id = new_id(IdKind::Key);
                    names.keys.insert(key.clone(), (id.clone(), name.clone()));
                    self.plan.ops.key_creates.push(KeyOp {
                        id,
                        name: name.clone(),
                        prefix: prefix.to_owned(),
                        key_hash: Some(hash),
                        consumer_id,
                        enabled: spec.enabled,
                        expires_at,
                        rebind: false,
                    });
                }
            }
        }
        let mut deletes = Vec::new();
        for old in &self.rows.keys {
            let key = old.name.to_ascii_lowercase();
            if listed.contains(&key) {
                continue;
            }
            if self.prune {
                deletes.push((old.name.clone(), old.id.clone()));
            } else if let Some(at) = hashes.get(&old.key_hash) {
                self.problem(
                    format!("{at}.hash"),
                    format!(
                        "the key {} (not in the file) has this value",
                        quoted(&old.name)
                    ),
                );
            }
        }
        for (name, id) in deletes {
            self.change(ConfigKind::Key, ChangeAction::Delete, &name, vec![]);
            self.plan.ops.key_deletes.push(id);
        }
    }

    /// The rate limit and quotas of each group, consumer and key the file lists: exactly the
    /// file's. One not listed keeps its own; a deleted one's go with it.
    fn limits_and_quotas(&mut self, doc: &GatewayConfig, names: &Names) {
        let rows = self.rows;
        let limits: HashMap<&str, &LimitRow> = rows
            .rate_limits
            .iter()
            .map(|l| (l.subject_id.as_str(), l))
            .collect();
        let mut quotas: HashMap<&str, Vec<&QuotaRow>> = HashMap::new();
        for q in &rows.quotas {
            quotas.entry(q.subject_id.as_str()).or_default().push(q);
        }
        let listed = |map: &HashMap<String, (String, String)>, raw: &str| {
            let key = Name::parse(raw).ok()?.unique_key();
            map.get(&key).cloned()
        };
        let mut subjects = Vec::new();
        for (i, g) in doc.consumer_groups.iter().enumerate() {
            let subject = listed(&names.groups, &g.name);
            subjects.push((
                format!("consumerGroups[{i}]"),
                "consumer group",
                subject,
                &g.rate_limit,
                &g.quotas,
            ));
        }
        for (i, c) in doc.consumers.iter().enumerate() {
            let subject = listed(&names.consumers, &c.name);
            subjects.push((
                format!("consumers[{i}]"),
                "consumer",
                subject,
                &c.rate_limit,
                &c.quotas,
            ));
        }
        for (i, k) in doc.keys.iter().enumerate() {
            let subject = listed(&names.keys, &k.name);
            subjects.push((
                format!("keys[{i}]"),
                "key",
                subject,
                &k.rate_limit,
                &k.quotas,
            ));
        }
        for (path, noun, subject, limit, specs) in subjects {
            // A subject the file names wrongly is a problem of its own already.
            let Some((id, name)) = subject else { continue };
            let label = format!("{noun} {name}");
            self.rate_limit(
                &path,
                &id,
                &label,
                limit.as_ref(),
                limits.get(id.as_str()).copied(),
            );
            let old = quotas.remove(id.as_str()).unwrap_or_default();
            self.quotas(&path, &id, &label, specs, old);
        }
    }

    fn rate_limit(
        &mut self,
        path: &str,
        subject_id: &str,
        label: &str,
        spec: Option<&RateLimitSpec>,
        old: Option<&LimitRow>,
    ) {
        let new = match spec {
            None => None,
            Some(s) => match LimitValues::parse(s.per_second, s.per_minute, &s.policy) {
                Ok(v) => Some(LimitRow {
                    id: String::new(),
                    subject_id: subject_id.to_owned(),
                    per_second: v.per_second.map(i64::from),
                    per_minute: v.per_minute.map(i64::from),
                    policy: v.policy,
                }),
                Err((field, message)) => {
                    self.problem(format!("{path}.rateLimit.{}", camel(field)), message);
                    return;
                }
            },
        };
        let window = |n: Option<i64>| n.map_or_else(|| "none".to_owned(), |n| n.to_string());
        match (old, new) {
            (None, None) => {}
            (Some(old), None) => {
                self.change(ConfigKind::RateLimit, ChangeAction::Delete, label, vec![]);
                self.plan.ops.limit_deletes.push(old.id.clone());
            }
            (None, Some(mut new)) => {
                new.id = new_id(IdKind::RateLimit);
                self.change(ConfigKind::RateLimit, ChangeAction::Create, label, vec![]);
                self.plan.ops.limit_creates.push(new);
            }
            (Some(old), Some(mut new)) => {
                new.id = old.id.clone();
                let mut details = Vec::new();
                differ(
                    &mut details,
                    "perSecond",
                    window(old.per_second),
                    window(new.per_second),
                );
                differ(
                    &mut details,
                    "perMinute",
                    window(old.per_minute),
                    window(new.per_minute),
                );
                differ(
                    &mut details,
                    "policy",
                    old.policy.as_str(),
                    new.policy.as_str(),
                );
                if !details.is_empty() {
                    self.change(ConfigKind::RateLimit, ChangeAction::Change, label, details);
                    self.plan.ops.limit_changes.push(new);
                }
            }
        }
    }

    fn quotas(
        &mut self,
        path: &str,
        subject_id: &str,
        label: &str,
        specs: &[QuotaSpec],
        old: Vec<&QuotaRow>,
    ) {
        let mut old: BTreeMap<(&str, &str), &QuotaRow> = old
            .into_iter()
            .map(|q| ((q.metric.as_str(), q.period.as_str()), q))
            .collect();
        let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
        for (j, s) in specs.iter().enumerate() {
            let at = format!("{path}.quotas[{j}]");
            let v = match crate::service::quotas::checked_values(
                &s.metric,
                &s.period,
                Some(s.amount),
                &s.time_zone,
                s.warn_percent,
            ) {
                Ok(v) => v,
                Err((field, message)) => {
                    self.problem(format!("{at}.{}", camel(field)), message);
                    continue;
                }
            };
            let (metric, period) = (v.metric.as_str(), v.period.as_str());
            let what = format!("{label}: {metric} per {period}");
            if let Some(first) = seen.insert((metric, period), j) {
                self.problem(
                    at,
                    format!(
                        "a second quota of {metric} per {period} (also {path}.quotas[{first}])"
                    ),
                );
                continue;
            }
            let new = QuotaRow {
                id: String::new(),
                subject_id: subject_id.to_owned(),
                metric: v.metric,
                period: v.period,
                time_zone: v.time_zone,
                amount: v.amount,
                warn_percent: v.warn_percent,
                generation: 0,
            };
            match old.remove(&(metric, period)) {
                None => {
                    self.change(ConfigKind::Quota, ChangeAction::Create, &what, vec![]);
                    self.plan.ops.quota_creates.push(QuotaRow {
                        id: new_id(IdKind::Quota),
                        ..new
                    });
                }
                Some(o) => {
                    let mut details = Vec::new();
                    // A change keeps the quota's count (its generation is not written).
                    differ(&mut details, "amount", o.amount, new.amount);
                    differ(
                        &mut details,
                        "timeZone",
                        o.time_zone.as_str(),
                        new.time_zone.as_str(),
                    );
                    differ(
                        &mut details,
                        "warnPercent",
                        o.warn_percent,
                        new.warn_percent,
                    );
                    if !details.is_empty() {
                        self.change(ConfigKind::Quota, ChangeAction::Change, &what, details);
                        self.plan.ops.quota_changes.push(QuotaRow {
                            id: o.id.clone(),
                            ..new
                        });
                    }
                }
            }
        }
        for ((metric, period), o) in old {
            self.change(
                ConfigKind::Quota,
                ChangeAction::Delete,
                &format!("{label}: {metric} per {period}"),
                vec![],
            );
            self.plan.ops.quota_deletes.push(o.id.clone());
        }
    }

    /// An RFC 3339 time from the file (`None` inside for no time), or a problem.
    fn time(&mut self, path: &str, raw: &Option<String>) -> Option<Option<i64>> {
        match raw {
            None => Some(None),
            Some(s) => match parse_rfc3339(s.trim()) {
                Some(t) if (0..=crate::domain::authorization::MAX_EXPIRE_AT).contains(&t) => {
                    Some(Some(t))
                }
                _ => {
                    self.problem(
                        path,
                        format!(
                            "{} is not a time in RFC 3339 UTC (2027-01-31T23:59:59Z)",
                            quoted(s)
                        ),
                    );
                    None
                }
            },
        }
    }

    fn rules(
        &mut self,
        doc: &GatewayConfig,
        names: &Names,
        deployed: &HashMap<String, BTreeSet<String>>,
    ) {
        // principal -> (api, env) -> expiry, as now.
        let mut current: HashMap<&str, BTreeMap<(&str, &str), Option<i64>>> = HashMap::new();
        for r in &self.rows.rules {
            let Some(principal) = r.consumer_id.as_deref().or(r.group_id.as_deref()) else {
                continue;
            };
            let expiry = match &*r.expire_mode {
                "LongTerm" => None,
                _ => Some(r.expire_at.unwrap_or(i64::MIN)),
            };
            current
                .entry(principal)
                .or_default()
                .insert((&*r.api_id, &*r.environment_id), expiry);
        }
        let mut listed: HashSet<String> = HashSet::new();
        let owners = doc
            .consumer_groups
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("consumerGroups[{i}]"), &g.name, &g.rules, false))
            .chain(
                doc.consumers
                    .iter()
                    .enumerate()
                    .map(|(i, c)| (format!("consumers[{i}]"), &c.name, &c.rules, true)),
            )
            .collect::<Vec<_>>();
        for (path, owner, rules, is_consumer) in owners {
            let table = if is_consumer {
                &names.consumers
            } else {
                &names.groups
            };
            let Some((pid, pname)) = table.get(&owner.to_ascii_lowercase()) else {
                continue; // a bad or repeated name, told already
            };
            if !listed.insert(pid.clone()) {
                continue;
            }
            let who = if is_consumer { "consumer" } else { "group" };
            let mut wanted: BTreeMap<(String, String), (usize, Option<i64>)> = BTreeMap::new();
            for (j, spec) in rules.iter().enumerate() {
                let at = format!("{path}.rules[{j}]");
                if let Some(key) = self.rule(&at, spec, names, deployed) {
                    let Some(expiry) = self.time(&format!("{at}.expiresAt"), &spec.expires_at)
                    else {
                        continue;
                    };
                    if let Some((first, _)) = wanted.insert(key, (j, expiry)) {
                        self.problem(
                            at,
                            format!("the same model API and environment as {path}.rules[{first}]"),
                        );
                    }
                }
            }
            let before = current.remove(pid.as_str()).unwrap_or_default();
            for ((api, env), (j, expiry)) in &wanted {
                let label = format!(
                    "{who} {pname}: {} in {}",
                    rules[*j].api, rules[*j].environment
                );
                let op = RuleOp {
                    id: String::new(),
                    consumer_id: is_consumer.then(|| pid.clone()),
                    group_id: (!is_consumer).then(|| pid.clone()),
                    api_id: api.clone(),
                    environment_id: env.clone(),
                    expire_mode: if expiry.is_some() {
                        "ShortTerm"
                    } else {
                        "LongTerm"
                    },
                    expire_at: *expiry,
                };
                match before.get(&(api.as_str(), env.as_str())) {
                    None => {
                        self.change(
                            ConfigKind::AuthorizationRule,
                            ChangeAction::Create,
                            &label,
                            vec![],
                        );
                        self.plan.ops.rule_creates.push(RuleOp {
                            id: new_id(IdKind::AuthorizationRule),
                            ..op
                        });
                    }
                    Some(old) if old != expiry => {
                        self.change(
                            ConfigKind::AuthorizationRule,
                            ChangeAction::Change,
                            &label,
                            vec![format!(
                                "expiresAt: {} -> {}",
                                expiry_text(*old),
                                expiry_text(*expiry)
                            )],
                        );
                        self.plan.ops.rule_changes.push(op);
                    }
                    Some(_) => {}
                }
            }
            for (api, env) in before.keys() {
                if wanted.contains_key(&((*api).to_owned(), (*env).to_owned())) {
                    continue;
                }
                let label = format!("{who} {pname}: {} in {}", self.named(api), self.named(env));
                self.change(
                    ConfigKind::AuthorizationRule,
                    ChangeAction::Delete,
                    &label,
                    vec![],
                );
                self.plan.ops.rule_deletes.push(rule_at(
                    pid,
                    is_consumer,
                    (*api).to_owned(),
                    (*env).to_owned(),
                ));
            }
        }
        // The rules of consumers and groups not in the file: deleted with them, or kept, and
        // then they must still hold (their API deployed to their environment).
        let deleted: HashSet<String> = self
            .plan
            .ops
            .consumer_deletes
            .iter()
            .chain(&self.plan.ops.group_deletes)
            .cloned()
            .collect();
        let mut leftover: Vec<(String, RuleOp)> = Vec::new();
        for (principal, rules) in current {
            let pname = self.named(principal);
            let who = if IdKind::of(principal) == Some(IdKind::Consumer) {
                "consumer"
            } else {
                "group"
            };
            for ((api, env), _) in rules {
                let aname = self.named(api);
                let ename = self.named(env);
                if deleted.contains(principal) {
                    leftover.push((
                        format!("{who} {pname}: {aname} in {ename}"),
                        rule_at(principal, who == "consumer", api.to_owned(), env.to_owned()),
                    ));
                } else if !deployed.get(api).is_some_and(|d| d.contains(env)) {
                    self.problem(
                        "modelApis",
                        format!(
                            "the {who} {} (not in the file) has a rule on {} in {}, so {} must stay deployed to {}",
                            quoted(pname),
                            quoted(aname),
                            quoted(ename),
                            quoted(aname),
                            quoted(ename)
                        ),
                    );
                }
            }
        }
        for (label, rule) in leftover {
            self.change(
                ConfigKind::AuthorizationRule,
                ChangeAction::Delete,
                &label,
                vec![],
            );
            self.plan.ops.rule_deletes.push(rule);
        }
    }

    /// The (API ID, environment ID) of a rule in the file, or a problem.
    fn rule(
        &mut self,
        at: &str,
        spec: &RuleSpec,
        names: &Names,
        deployed: &HashMap<String, BTreeSet<String>>,
    ) -> Option<(String, String)> {
        let api = names.apis.get(&spec.api.to_ascii_lowercase());
        let env = names.envs.get(&spec.environment.to_ascii_lowercase());
        match (api, env) {
            (None, _) => {
                self.problem(
                    format!("{at}.api"),
                    format!("no model API named {}", quoted(&spec.api)),
                );
                None
            }
            (_, None) => {
                self.problem(
                    format!("{at}.environment"),
                    format!("no environment named {}", quoted(&spec.environment)),
                );
                None
            }
            (Some((api_id, api_name)), Some((env_id, env_name))) => {
                if !deployed.get(api_id).is_some_and(|d| d.contains(env_id)) {
                    self.problem(
                        format!("{at}.environment"),
                        format!(
                            "the model API {} is not deployed to the environment {}",
                            quoted(api_name),
                            quoted(env_name)
                        ),
                    );
                    return None;
                }
                Some((api_id.clone(), env_id.clone()))
            }
        }
    }
}

/// A rule by what identifies it: its consumer or group, API and environment.
fn rule_at(principal: &str, is_consumer: bool, api_id: String, environment_id: String) -> RuleOp {
    RuleOp {
        id: String::new(),
        consumer_id: is_consumer.then(|| principal.to_owned()),
        group_id: (!is_consumer).then(|| principal.to_owned()),
        api_id,
        environment_id,
        expire_mode: "LongTerm",
        expire_at: None,
    }
}

fn env_details(old: &EnvironmentRow, new: &EnvironmentRow) -> Vec<String> {
    let mut details = Vec::new();
    differ_text(&mut details, "name", &old.name, &new.name);
    differ_text(&mut details, "alias", &old.alias, &new.alias);
    differ_text(
        &mut details,
        "description",
        &old.description,
        &new.description,
    );
    differ(&mut details, "default", old.is_default, new.is_default);
    details
}

fn api_details(old: &ModelApiRow, new: &ModelApiRow) -> Vec<String> {
    let mut details = Vec::new();
    differ_text(&mut details, "name", &old.name, &new.name);
    differ(&mut details, "basePath", &old.base_path, &new.base_path);
    differ(
        &mut details,
        "aiProtocols",
        &old.ai_protocols,
        &new.ai_protocols,
    );
    differ(
        &mut details,
        "modelCategory",
        &old.model_category,
        &new.model_category,
    );
    differ_text(
        &mut details,
        "description",
        &old.description,
        &new.description,
    );
    details
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::apis::{AI_PROTOCOLS, MODEL_CATEGORIES};
    use crate::domain::limits::LimitPolicy;
    use crate::domain::quotas::{QuotaMetric, QuotaPeriod};
    use crate::store::config::{DeploymentRow, GatewayRow, KeyRow, LimitRow, QuotaRow, RuleRow};
    use proptest::prelude::*;
    use std::sync::Arc;

    /// A gateway of `envs` environments (the first the default), `apis` model APIs deployed
    /// as `deployments` says, `groups` groups, `consumers` consumers with `memberships`, rules
    /// on deployed pairs, and keys, all named by their index.
    #[allow(clippy::type_complexity)]
    fn gateway(
        (envs, apis, groups, consumers): (usize, usize, usize, usize),
        deployments: &[(usize, usize)],
        memberships: &[(usize, usize)],
        rules: &[(usize, usize, Option<i64>)],
        keys: &[(Option<usize>, bool, Option<i64>)],
    ) -> GatewayRows {
        let mut rows = GatewayRows {
            gateway: Some(GatewayRow {
                id: "gw-1".into(),
                name: "gw".into(),
                revision: 7,
            }),
            ..GatewayRows::default()
        };
        for e in 0..envs {
            rows.environments.push(EnvironmentRow {
                id: format!("env-{e}"),
                name: format!("env{e}"),
                alias: format!("Env {e}"),
                description: String::new(),
                is_default: e == 0,
            });
        }
        for a in 0..apis {
            rows.model_apis.push(ModelApiRow {
                id: format!("api-{a}"),
                name: format!("api{a}"),
                base_path: format!("/v1/api{a}"),
                ai_protocols: AI_PROTOCOLS[a % AI_PROTOCOLS.len()].into(),
                model_category: MODEL_CATEGORIES[a % MODEL_CATEGORIES.len()].into(),
                description: if a % 2 == 0 {
                    String::new()
                } else {
                    "d".into()
                },
            });
        }
        let mut pairs: Vec<(usize, usize)> = deployments
            .iter()
            .map(|(a, e)| (a % apis.max(1), e % envs))
            .filter(|_| apis > 0)
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        for (a, e) in &pairs {
            rows.deployments.push(DeploymentRow {
                api_id: format!("api-{a}"),
                environment_id: format!("env-{e}"),
            });
        }
        for g in 0..groups {
            rows.groups.push(GroupRow {
                id: format!("cg-{g}"),
                name: format!("group{g}"),
                description: String::new(),
                enabled: g % 3 != 0,
            });
        }
        for c in 0..consumers {
            rows.consumers.push(ConsumerRow {
                id: format!("cs-{c}"),
                name: format!("Consumer{c}"),
                description: "x".into(),
                enabled: c % 2 == 0,
            });
        }
        let mut members: Vec<(usize, usize)> = memberships
            .iter()
            .filter(|_| groups > 0 && consumers > 0)
            .map(|(g, c)| (g % groups.max(1), c % consumers.max(1)))
            .collect();
        members.sort_unstable();
        members.dedup();
        for (g, c) in members {
            rows.memberships.push(MembershipRow {
                group_id: format!("cg-{g}"),
                consumer_id: format!("cs-{c}"),
            });
        }
        let principals = groups + consumers;
        let mut seen = HashSet::new();
        for (p, pair, expiry) in rules {
            if principals == 0 || pairs.is_empty() {
                break;
            }
            let (p, (a, e)) = (p % principals, pairs[pair % pairs.len()]);
            if !seen.insert((p, a, e)) {
                continue;
            }
            let (consumer_id, group_id) = if p < groups {
                (None, Some(format!("cg-{p}")))
            } else {
                (Some(format!("cs-{}", p - groups)), None)
            };
            rows.rules.push(RuleRow {
                consumer_id,
                group_id,
                api_id: Arc::from(format!("api-{a}")),
                environment_id: Arc::from(format!("env-{e}")),
                expire_mode: Arc::from(if expiry.is_some() {
                    "ShortTerm"
                } else {
                    "LongTerm"
                }),
                expire_at: *expiry,
            });
        }
        for (k, (owner, enabled, expires_at)) in keys.iter().enumerate() {
            rows.keys.push(KeyRow {
                id: format!("k-{k}"),
                name: format!("key{k}"),
                prefix: format!("sk-{k:04}"),
                key_hash: format!("{k:064x}"),
                consumer_id: owner
                    .filter(|_| consumers > 0)
                    .map(|c| format!("cs-{}", c % consumers)),
                enabled: *enabled,
                expires_at: *expires_at,
            });
        }
        rows
    }

    type LimitSeed = (usize, Option<i64>, i64, bool);
    type QuotaSeed = (usize, usize, usize, i64, usize, i64);

    /// Puts rate limits and quotas on the gateway's groups, consumers and keys (subject `i`
    /// of them all, in that order): a limit per subject at most, a quota per metric and
    /// period.
    fn add_limits(rows: &mut GatewayRows, limits: &[LimitSeed], quotas: &[QuotaSeed]) {
        let subjects: Vec<String> = rows
            .groups
            .iter()
            .map(|g| g.id.clone())
            .chain(rows.consumers.iter().map(|c| c.id.clone()))
            .chain(rows.keys.iter().map(|k| k.id.clone()))
            .collect();
        if subjects.is_empty() {
            return;
        }
        let mut limited = HashSet::new();
        for (i, (s, per_second, per_minute, cluster)) in limits.iter().enumerate() {
            let subject = &subjects[s % subjects.len()];
            if limited.insert(subject.clone()) {
                rows.rate_limits.push(LimitRow {
                    id: format!("rl-{i}"),
                    subject_id: subject.clone(),
                    per_second: *per_second,
                    per_minute: Some(*per_minute),
                    policy: if *cluster {
                        LimitPolicy::Cluster
                    } else {
                        LimitPolicy::Local
                    },
                });
            }
        }
        let mut seen = HashSet::new();
        for (i, (s, metric, period, amount, zone, warn)) in quotas.iter().enumerate() {
            let subject = &subjects[s % subjects.len()];
            let metric = ["requests", "tokens"][metric % 2];
            let period = ["day", "week", "month"][period % 3];
            if seen.insert((subject.clone(), metric, period)) {
                rows.quotas.push(QuotaRow {
                    id: format!("qt-{i}"),
                    subject_id: subject.clone(),
                    metric: QuotaMetric::parse(metric).unwrap(),
                    period: QuotaPeriod::parse(period).unwrap(),
                    time_zone: ["UTC", "Europe/Berlin", "Asia/Kolkata"][zone % 3].into(),
                    amount: *amount,
                    warn_percent: *warn,
                    generation: 0,
                });
            }
        }
    }

    proptest! {
        /// A gateway's own export, imported back, changes nothing, with or without prune.
        #[test]
        fn a_gateways_own_export_plans_no_change(
            sizes in (1usize..4, 0usize..4, 0usize..4, 0usize..5),
            deployments in proptest::collection::vec((0usize..4, 0usize..4), 0..8),
            memberships in proptest::collection::vec((0usize..4, 0usize..5), 0..8),
            rules in proptest::collection::vec((0usize..9, 0usize..8, proptest::option::of(0i64..253_402_300_799_000)), 0..12),
            keys in proptest::collection::vec((proptest::option::of(0usize..5), any::<bool>(), proptest::option::of(0i64..253_402_300_799_000)), 0..5),
            limits in proptest::collection::vec((0usize..20, proptest::option::of(1i64..100_000), 1i64..1_000_000, any::<bool>()), 0..6),
            quotas in proptest::collection::vec((0usize..20, 0usize..2, 0usize..3, 1i64..1_000_000_000, 0usize..3, 1i64..=100), 0..10),
            prune in any::<bool>(),
        ) {
            let mut rows = gateway(sizes, &deployments, &memberships, &rules, &keys);
            add_limits(&mut rows, &limits, &quotas);
            let doc = super::super::export::build(rows.clone(), false).unwrap();
            let planned = plan(&doc, &rows, prune).unwrap();
            prop_assert!(planned.changes.is_empty(), "{:?}", planned.changes);
            // The same through the YAML text.
            let text = super::super::document::to_yaml(&doc).unwrap();
            let read = super::super::document::from_yaml(&text).unwrap();
            prop_assert_eq!(read, doc);
        }

        /// Into an empty gateway, everything is created, each once, and nothing is deleted.
        #[test]
        fn an_export_into_an_empty_gateway_creates_each_resource_once(
            sizes in (1usize..4, 0usize..4, 0usize..4, 0usize..5),
            deployments in proptest::collection::vec((0usize..4, 0usize..4), 0..8),
            memberships in proptest::collection::vec((0usize..4, 0usize..5), 0..8),
            rules in proptest::collection::vec((0usize..9, 0usize..8, proptest::option::of(0i64..253_402_300_799_000)), 0..12),
            limits in proptest::collection::vec((0usize..20, proptest::option::of(1i64..100_000), 1i64..1_000_000, any::<bool>()), 0..6),
            quotas in proptest::collection::vec((0usize..20, 0usize..2, 0usize..3, 1i64..1_000_000_000, 0usize..3, 1i64..=100), 0..10),
        ) {
            let mut rows = gateway(sizes, &deployments, &memberships, &rules, &[]);
            add_limits(&mut rows, &limits, &quotas);
            let doc = super::super::export::build(rows.clone(), false).unwrap();
            let empty = gateway((1, 0, 0, 0), &[], &[], &[], &[]);
            let planned = plan(&doc, &empty, true).unwrap();
            let ops = &planned.ops;
            prop_assert_eq!(ops.environment_creates.len(), rows.environments.len() - 1);
            prop_assert_eq!(ops.api_creates.len(), rows.model_apis.len());
            prop_assert_eq!(ops.group_creates.len(), rows.groups.len());
            prop_assert_eq!(ops.consumer_creates.len(), rows.consumers.len());
            prop_assert_eq!(ops.membership_adds.len(), rows.memberships.len());
            prop_assert_eq!(ops.rule_creates.len(), rows.rules.len());
            prop_assert_eq!(ops.limit_creates.len(), rows.rate_limits.len());
            prop_assert_eq!(ops.quota_creates.len(), rows.quotas.len());
            prop_assert!(planned.changes.iter().all(|c| c.action != ChangeAction::Delete));
        }
    }

    #[test]
    fn a_listed_subjects_limit_and_quotas_become_the_files() {
        let mut rows = gateway((1, 0, 1, 2), &[], &[], &[], &[]);
        // Consumer0: a limit and two quotas; Consumer1 (left out of the file): a quota.
        add_limits(
            &mut rows,
            &[(1, Some(10), 600, false)],
            &[
                (1, 0, 0, 1_000, 0, 80),
                (1, 1, 2, 50_000, 1, 90),
                (2, 0, 0, 5, 0, 80),
            ],
        );
        let mut doc = super::super::export::build(rows.clone(), false).unwrap();
        let c0 = &mut doc.consumers[0];
        assert_eq!(c0.name, "Consumer0");
        c0.rate_limit = Some(RateLimitSpec {
            per_second: Some(20),
            per_minute: None,
            policy: "cluster".into(),
        });
        c0.quotas[0].amount = 2_000;
        c0.quotas.remove(1);
        c0.quotas.push(QuotaSpec {
            metric: "requests".into(),
            period: "week".into(),
            amount: 9,
            time_zone: "Asia/Kolkata".into(),
            warn_percent: None,
        });
        doc.consumer_groups[0].quotas.push(QuotaSpec {
            metric: "tokens".into(),
            period: "month".into(),
            amount: 1,
            time_zone: String::new(),
            warn_percent: Some(50),
        });
        doc.consumers.remove(1);
        let planned = plan(&doc, &rows, false).unwrap();
        let said: Vec<String> = planned
            .changes
            .iter()
            .map(|c| format!("{} {} {:?}", c.action.sign(), c.name, c.details))
            .collect();
        assert_eq!(
            said,
            [
                "~ consumer Consumer0 [\"perSecond: 10 -> 20\", \"perMinute: 600 -> none\", \"policy: local -> cluster\"]",
                "~ consumer Consumer0: requests per day [\"amount: 1000 -> 2000\"]",
                "+ consumer Consumer0: requests per week []",
                "- consumer Consumer0: tokens per month []",
                "+ consumer group group0: tokens per month []",
            ]
        );
        let ops = &planned.ops;
        assert_eq!(ops.limit_changes[0].id, "rl-0");
        assert_eq!(ops.limit_changes[0].per_minute, None);
        assert_eq!(ops.quota_deletes, ["qt-1"]);
        assert_eq!(ops.quota_changes[0].id, "qt-0");
        assert_eq!(ops.quota_creates.len(), 2);
        let group_quota = ops.quota_creates.iter().find(|q| q.subject_id == "cg-0");
        assert_eq!(group_quota.map(|q| q.warn_percent), Some(50));
        assert!(ops.quota_creates.iter().all(|q| q.id.starts_with("qt-")));
        // Consumer1 is not in the file: its quota stays, with prune it goes with it.
        assert!(!ops.quota_deletes.contains(&"qt-2".to_owned()));
    }

    #[test]
    fn a_bad_limit_or_quota_is_a_problem_at_its_place() {
        let rows = gateway((1, 0, 0, 1), &[], &[], &[], &[]);
        let mut doc = super::super::export::build(rows.clone(), false).unwrap();
        let quota = |period: &str, amount, zone: &str| QuotaSpec {
            metric: "requests".into(),
            period: period.into(),
            amount,
            time_zone: zone.into(),
            warn_percent: None,
        };
        let c0 = &mut doc.consumers[0];
        c0.rate_limit = Some(RateLimitSpec {
            per_second: Some(0),
            per_minute: None,
            policy: String::new(),
        });
        c0.quotas = vec![
            quota("day", 0, ""),
            quota("day", 5, "Mars/Olympus"),
            quota("week", 5, ""),
            quota("week", 6, ""),
            quota("fortnight", 6, ""),
        ];
        let problems: Vec<String> = plan(&doc, &rows, false)
            .unwrap_err()
            .iter()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(
            problems[0].starts_with(
                "consumers[0].rateLimit.perSecond: Requests per second is a whole number from 1 to"
            ),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].starts_with(
                "consumers[0].quotas[0].amount: The amount is a whole number of requests"
            ),
            "{}",
            problems[1]
        );
        assert!(
            problems[2]
                .starts_with("consumers[0].quotas[1].timeZone: Mars/Olympus is not a time zone"),
            "{}",
            problems[2]
        );
        assert_eq!(problems[3], "consumers[0].quotas[3]: a second quota of requests per week (also consumers[0].quotas[2])");
        assert!(
            problems[4].starts_with("consumers[0].quotas[4].period: "),
            "{}",
            problems[4]
        );
    }

    #[test]
    fn a_rule_on_an_api_not_deployed_there_is_a_problem_at_its_place() {
        let rows = gateway((2, 1, 0, 1), &[(0, 0)], &[], &[], &[]);
        let mut doc = super::super::export::build(rows.clone(), false).unwrap();
        doc.consumers[0].rules.push(RuleSpec {
            api: "api0".into(),
            environment: "env1".into(),
            expires_at: None,
        });
        let problems = plan(&doc, &rows, false).unwrap_err();
        assert_eq!(
            problems[0].to_string(),
            "consumers[0].rules[0].environment: the model API \"api0\" is not deployed to the environment \"env1\""
        );
    }
}
