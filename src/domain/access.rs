//! The access check ("why was this request refused?"): what is asked, and the decision the
//! proxy would get, with the trace of how it was reached. Shared with the browser.

use serde::{Deserialize, Serialize};

/// A request to explain: a key as a client would present it, or a consumer (as if it
/// presented a valid key of its own); the request's path; the environment (ID or name, as
/// the proxy passes it; none means the default one).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessQuestion {
    /// The API key, or a JWT (`eyJ…`), exactly as sent (Admins only: the answer tells
    /// whether it exists; a token is verified as the check verifies it).
    #[serde(default)]
    pub key: Option<String>,
    /// Instead of a key: the consumer, `cs-…`.
    #[serde(default)]
    pub consumer_id: Option<String>,
    /// Instead of a key or an ID: the consumer's name.
    #[serde(default)]
    pub consumer_name: Option<String>,
    /// The request's path (and query), as the proxy passes it: `/v1/chat/completions`.
    pub path: String,
    #[serde(default)]
    pub environment: Option<String>,
}

/// The decision and its trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessAnswer {
    pub allowed: bool,
    /// What the proxy gets from `/authz/check`: 200, 401 (the key, or its consumer) or 403.
    pub status: u16,
    /// Why it is refused, as the check's metrics name it (`no_rule`, `expired_key`, …).
    pub reason: Option<String>,
    /// The decision in a sentence.
    pub message: String,
    /// The configuration revision it was decided at.
    pub revision: i64,
    /// What the key lookup found; none when a consumer was asked about.
    pub key: Option<KeyFinding>,
    pub consumer: Option<ConsumerFinding>,
    pub environment: Option<EnvironmentFinding>,
    /// The model API the path reaches, and the base path it matched.
    pub api: Option<ApiFinding>,
    /// Every rule of the consumer and its groups that was considered, and why it applies or not.
    pub rules: Vec<RuleFinding>,
    /// The windows of the rate limits that cover the request (its key's, its consumer's,
    /// its groups'), each with what is left of it now; `decides` on the one that refuses, or
    /// that would be the first to.
    pub limits: Vec<LimitFinding>,
    /// The quotas that cover the request, each with what is used of it in its period;
    /// `decides` on the one used up (quotas are judged before rate limits).
    #[serde(default)]
    pub quotas: Vec<QuotaFinding>,
}

/// A quota as the explainer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuotaFinding {
    pub quota_id: String,
    pub subject_type: crate::domain::limits::LimitSubject,
    pub subject_id: String,
    pub subject_name: String,
    pub metric: crate::domain::quotas::QuotaMetric,
    pub period: crate::domain::quotas::QuotaPeriod,
    pub amount: i64,
    /// What this replica counts against it now (its own and the others' last shared).
    pub used: i64,
    /// Seconds until the period rolls over.
    pub resets_in: i64,
    pub decides: bool,
}

/// One window of a rate limit, as the explainer sees it (reading it takes nothing from it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LimitFinding {
    pub rate_limit_id: String,
    pub subject_type: crate::domain::limits::LimitSubject,
    pub subject_id: String,
    pub subject_name: String,
    pub policy: crate::domain::limits::LimitPolicy,
    /// `second` or `minute`.
    pub window: String,
    pub limit: i64,
    /// What a request could take now (this replica's view, for a `cluster` limit).
    pub remaining: i64,
    /// Seconds until the window has room again, when it has none.
    pub retry_after: Option<i64>,
    pub decides: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyFinding {
    /// Whether a key bound to a consumer has this value.
    pub found: bool,
    pub enabled: Option<bool>,
    /// Milliseconds since the epoch; none when it does not expire (or was not found).
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsumerFinding {
    pub consumer_id: String,
    pub name: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentFinding {
    pub environment_id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiFinding {
    pub api_id: String,
    pub name: String,
    pub base_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleFinding {
    /// The group whose rule it is; none for the consumer's own.
    pub consumer_group: Option<GroupFinding>,
    pub api_id: String,
    pub api_name: String,
    pub environment_id: String,
    pub environment_name: String,
    /// Milliseconds since the epoch; none when it does not expire.
    pub expires_at: Option<i64>,
    /// `applies`, `other-api`, `other-environment`, `expired` or `group-disabled`.
    pub verdict: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupFinding {
    pub consumer_group_id: String,
    pub name: String,
    pub enabled: bool,
}
