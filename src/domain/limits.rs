//! Rate limits: how many requests per second and per minute one key, consumer or consumer
//! group may make (a group's limit is shared by all its members). The check applies every
//! limit that covers a request (its key's, its consumer's, and each of the consumer's
//! groups'); the tightest refuses. Validation lives here so the console's dialog and the
//! server refuse the same values with the same words.

use serde::{Deserialize, Serialize};

/// The most requests per second a limit may allow.
pub const MAX_PER_SECOND: i64 = 1_000_000;
/// The most requests per minute a limit may allow.
pub const MAX_PER_MINUTE: i64 = 60_000_000;

/// What a limit is on: a key, a consumer or a consumer group, told by its ID's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum LimitSubject {
    Key,
    Consumer,
    ConsumerGroup,
}

impl LimitSubject {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitSubject::Key => "Key",
            LimitSubject::Consumer => "Consumer",
            LimitSubject::ConsumerGroup => "ConsumerGroup",
        }
    }

    pub fn parse(s: &str) -> Option<LimitSubject> {
        match s {
            "Key" => Some(LimitSubject::Key),
            "Consumer" => Some(LimitSubject::Consumer),
            "ConsumerGroup" => Some(LimitSubject::ConsumerGroup),
            _ => None,
        }
    }

    /// The kind of subject an ID names (`key-…`, `cs-…`, `cg-…`).
    pub fn of(id: &str) -> Option<LimitSubject> {
        use crate::domain::IdKind;
        match IdKind::of(id)? {
            IdKind::Key => Some(LimitSubject::Key),
            IdKind::Consumer => Some(LimitSubject::Consumer),
            IdKind::ConsumerGroup => Some(LimitSubject::ConsumerGroup),
            _ => None,
        }
    }

    pub fn id_kind(self) -> crate::domain::IdKind {
        use crate::domain::IdKind;
        match self {
            LimitSubject::Key => IdKind::Key,
            LimitSubject::Consumer => IdKind::Consumer,
            LimitSubject::ConsumerGroup => IdKind::ConsumerGroup,
        }
    }

    /// How the console names it in a sentence.
    pub fn label(self) -> &'static str {
        match self {
            LimitSubject::Key => "key",
            LimitSubject::Consumer => "consumer",
            LimitSubject::ConsumerGroup => "consumer group",
        }
    }
}

/// Where a limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LimitPolicy {
    /// Each replica counts on its own, exactly: with N replicas behind a load balancer the
    /// gateway as a whole admits up to N times the limit.
    #[default]
    Local,
    /// The replicas share their counts through the database (at least every second): the
    /// whole gateway admits about the limit.
    Cluster,
}

impl LimitPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitPolicy::Local => "local",
            LimitPolicy::Cluster => "cluster",
        }
    }

    pub fn parse(s: &str) -> Option<LimitPolicy> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Some(LimitPolicy::Local),
            "cluster" => Some(LimitPolicy::Cluster),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            LimitPolicy::Local => "Per replica (exact)",
            LimitPolicy::Cluster => "Shared by all replicas (approximate)",
        }
    }
}

/// A limit's values, validated: at least one window, each within its bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitValues {
    pub per_second: Option<u32>,
    pub per_minute: Option<u32>,
    pub policy: LimitPolicy,
}

impl LimitValues {
    /// Checks what a caller asked for; the error names the field (`PerSecond`,
    /// `PerMinute`, `Policy`).
    pub fn parse(
        per_second: Option<i64>,
        per_minute: Option<i64>,
        policy: &str,
    ) -> Result<LimitValues, (&'static str, String)> {
        let window = |field: &'static str, v: Option<i64>, max: i64, unit: &str| match v {
            None => Ok(None),
            Some(n) if (1..=max).contains(&n) => Ok(Some(n as u32)),
            Some(_) => Err((
                field,
                format!(
                    "Requests per {unit} is a whole number from 1 to {}.",
                    group_digits(max)
                ),
            )),
        };
        let per_second = window("PerSecond", per_second, MAX_PER_SECOND, "second")?;
        let per_minute = window("PerMinute", per_minute, MAX_PER_MINUTE, "minute")?;
        if per_second.is_none() && per_minute.is_none() {
            return Err((
                "PerSecond",
                "Give requests per second, per minute, or both.".into(),
            ));
        }
        let policy = if policy.trim().is_empty() {
            LimitPolicy::default()
        } else {
            LimitPolicy::parse(policy).ok_or((
                "Policy",
                "Policy is local (each replica counts on its own) or cluster (replicas share their counts).".to_owned(),
            ))?
        };
        Ok(LimitValues {
            per_second,
            per_minute,
            policy,
        })
    }

    /// `10/s, 300/min`.
    pub fn summary(&self) -> String {
        describe(self.per_second, self.per_minute)
    }
}

/// `10/s, 300/min` (either part may be missing).
pub fn describe(per_second: Option<u32>, per_minute: Option<u32>) -> String {
    let parts: Vec<String> = [
        per_second.map(|n| format!("{}/s", group_digits(i64::from(n)))),
        per_minute.map(|n| format!("{}/min", group_digits(i64::from(n)))),
    ]
    .into_iter()
    .flatten()
    .collect();
    parts.join(", ")
}

/// `1,000,000`.
pub fn group_digits(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn at_least_one_window_within_bounds() {
        let v = LimitValues::parse(Some(10), None, "").unwrap();
        assert_eq!(v.per_second, Some(10));
        assert_eq!(v.policy, LimitPolicy::Local);
        assert_eq!(
            LimitValues::parse(None, Some(60_000_000), "Cluster")
                .unwrap()
                .policy,
            LimitPolicy::Cluster
        );
        assert_eq!(
            LimitValues::parse(None, None, "local").unwrap_err().0,
            "PerSecond"
        );
        assert_eq!(
            LimitValues::parse(Some(0), None, "").unwrap_err().0,
            "PerSecond"
        );
        assert_eq!(
            LimitValues::parse(Some(-5), None, "").unwrap_err().0,
            "PerSecond"
        );
        assert_eq!(
            LimitValues::parse(Some(1), Some(60_000_001), "")
                .unwrap_err()
                .0,
            "PerMinute"
        );
        assert_eq!(
            LimitValues::parse(Some(1), None, "global").unwrap_err().0,
            "Policy"
        );
    }

    #[test]
    fn subjects_are_told_by_their_prefix() {
        assert_eq!(
            LimitSubject::of("key-d4g5h6j7k8l9m0n1p2q3"),
            Some(LimitSubject::Key)
        );
        assert_eq!(
            LimitSubject::of("cs-d4g5h6j7k8l9m0n1p2q3"),
            Some(LimitSubject::Consumer)
        );
        assert_eq!(
            LimitSubject::of("cg-d4g5h6j7k8l9m0n1p2q3"),
            Some(LimitSubject::ConsumerGroup)
        );
        assert_eq!(LimitSubject::of("api-d4g5h6j7k8l9m0n1p2q3"), None);
        assert_eq!(describe(Some(1000), Some(60_000)), "1,000/s, 60,000/min");
        assert_eq!(group_digits(-1234), "-1,234");
    }

    proptest! {
        #[test]
        fn accepted_values_are_within_bounds(s in any::<Option<i64>>(), m in any::<Option<i64>>(), p in ".{0,12}") {
            if let Ok(v) = LimitValues::parse(s, m, &p) {
                prop_assert!(v.per_second.is_some() || v.per_minute.is_some());
                prop_assert!(v.per_second.is_none_or(|n| n >= 1 && i64::from(n) <= MAX_PER_SECOND));
                prop_assert!(v.per_minute.is_none_or(|n| n >= 1 && i64::from(n) <= MAX_PER_MINUTE));
            }
        }
    }
}
