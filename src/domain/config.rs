//! Importing a configuration file: what an import would change (a dry run) or changed, resource
//! by resource, with a count per kind. Shared with the browser.

use serde::{Deserialize, Serialize};

/// The largest configuration file an import reads (a gateway with 100,000 consumers, 100,000
/// keys and 1,000,000 rules exports to about 52 MB).
pub const MAX_CONFIG_BYTES: usize = 128 * 1024 * 1024;

/// A kind of resource in a configuration file, in the order the file lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ConfigKind {
    Environment,
    ModelApi,
    ConsumerGroup,
    Consumer,
    Key,
    /// An authorization rule (listed under its consumer or group in the file).
    AuthorizationRule,
    /// A consumer's membership of a group (listed under the consumer in the file).
    GroupMembership,
    /// A rate limit (listed under its consumer, group or key).
    RateLimit,
    /// A quota (listed under its consumer, group or key).
    Quota,
}

impl ConfigKind {
    pub const ALL: [ConfigKind; 9] = [
        ConfigKind::Environment,
        ConfigKind::ModelApi,
        ConfigKind::ConsumerGroup,
        ConfigKind::Consumer,
        ConfigKind::Key,
        ConfigKind::AuthorizationRule,
        ConfigKind::GroupMembership,
        ConfigKind::RateLimit,
        ConfigKind::Quota,
    ];

    /// The kind in words, singular.
    pub fn noun(self) -> &'static str {
        match self {
            ConfigKind::Environment => "environment",
            ConfigKind::ModelApi => "model API",
            ConfigKind::ConsumerGroup => "consumer group",
            ConfigKind::Consumer => "consumer",
            ConfigKind::Key => "key",
            ConfigKind::AuthorizationRule => "authorization rule",
            ConfigKind::GroupMembership => "group membership",
            ConfigKind::RateLimit => "rate limit",
            ConfigKind::Quota => "quota",
        }
    }

    /// The kind in words, plural.
    pub fn plural(self) -> &'static str {
        match self {
            ConfigKind::Environment => "environments",
            ConfigKind::ModelApi => "model APIs",
            ConfigKind::ConsumerGroup => "consumer groups",
            ConfigKind::Consumer => "consumers",
            ConfigKind::Key => "keys",
            ConfigKind::AuthorizationRule => "authorization rules",
            ConfigKind::GroupMembership => "group memberships",
            ConfigKind::RateLimit => "rate limits",
            ConfigKind::Quota => "quotas",
        }
    }
}

/// What happens to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ChangeAction {
    Create,
    Change,
    Delete,
}

impl ChangeAction {
    /// The sign a diff shows: `+`, `~` or `-`.
    pub fn sign(self) -> char {
        match self {
            ChangeAction::Create => '+',
            ChangeAction::Change => '~',
            ChangeAction::Delete => '-',
        }
    }
}

/// One resource created, changed or deleted. Rules and memberships are told under their
/// consumer or group (`name` is then `alice: chat in prod`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ResourceChange {
    pub kind: ConfigKind,
    pub action: ChangeAction,
    pub name: String,
    /// What changes, field by field (`enabled: true -> false`); empty for a create or delete.
    pub details: Vec<String>,
}

/// How many resources of one kind are created, changed and deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KindCount {
    pub kind: ConfigKind,
    pub created: u64,
    pub changed: u64,
    pub deleted: u64,
}

/// What an import changes (a dry run) or changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub gateway_id: String,
    /// True when nothing was written (a dry run, or a file that changes nothing).
    pub dry_run: bool,
    /// Whether resources missing from the file are deleted.
    pub prune: bool,
    /// The gateway's configuration revision the plan was made against; after an apply, the
    /// revision the change set made. Pass it back as `ifRevision` to apply exactly what a dry
    /// run showed.
    pub revision: i64,
    /// Per kind (only the kinds with a change), in the file's order.
    pub counts: Vec<KindCount>,
    /// Every change, in the order of `counts`, then by name.
    pub changes: Vec<ResourceChange>,
}

impl ImportReport {
    /// Creates, changes and deletes in all.
    pub fn total(&self) -> u64 {
        self.counts
            .iter()
            .map(|c| c.created + c.changed + c.deleted)
            .sum()
    }

    /// `2 consumers created, 1 key changed, 3 authorization rules deleted` (or `no changes`).
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for c in &self.counts {
            for (n, what) in [
                (c.created, "created"),
                (c.changed, "changed"),
                (c.deleted, "deleted"),
            ] {
                if n > 0 {
                    let noun = if n == 1 {
                        c.kind.noun()
                    } else {
                        c.kind.plural()
                    };
                    parts.push(format!("{n} {noun} {what}"));
                }
            }
        }
        if parts.is_empty() {
            "no changes".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Counts the changes by kind, in the order of [`ConfigKind::ALL`].
    pub fn count(changes: &[ResourceChange]) -> Vec<KindCount> {
        ConfigKind::ALL
            .iter()
            .filter_map(|&kind| {
                let mut c = KindCount {
                    kind,
                    created: 0,
                    changed: 0,
                    deleted: 0,
                };
                for ch in changes.iter().filter(|ch| ch.kind == kind) {
                    match ch.action {
                        ChangeAction::Create => c.created += 1,
                        ChangeAction::Change => c.changed += 1,
                        ChangeAction::Delete => c.deleted += 1,
                    }
                }
                (c.created + c.changed + c.deleted > 0).then_some(c)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(kind: ConfigKind, action: ChangeAction) -> ResourceChange {
        ResourceChange {
            kind,
            action,
            name: "x".into(),
            details: vec![],
        }
    }

    #[test]
    fn the_summary_counts_each_kind_and_action_in_the_files_order() {
        let changes = vec![
            change(ConfigKind::Key, ChangeAction::Change),
            change(ConfigKind::Consumer, ChangeAction::Create),
            change(ConfigKind::Consumer, ChangeAction::Create),
            change(ConfigKind::AuthorizationRule, ChangeAction::Delete),
        ];
        let report = ImportReport {
            gateway_id: "gw-1".into(),
            dry_run: true,
            prune: false,
            revision: 3,
            counts: ImportReport::count(&changes),
            changes,
        };
        assert_eq!(
            report.summary(),
            "2 consumers created, 1 key changed, 1 authorization rule deleted"
        );
        assert_eq!(report.total(), 4);
    }
}
