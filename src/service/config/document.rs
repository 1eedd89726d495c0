//! The configuration file's format (`gateway-console/v1`): one YAML document per gateway,
//! resources referenced by name, each list in a fixed order, and only what differs from a
//! default written out, so that a Git diff of two exports reads like the change. The JSON
//! Schema served at `/v1/schemas/gateway-config.json` is derived from these types.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A gateway's whole configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "Gateway Console configuration")]
pub struct GatewayConfig {
    /// The format of this file.
    pub version: Version,
    /// The gateway the file was exported from.
    pub gateway: GatewayRef,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<EnvironmentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_apis: Vec<ModelApiSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumer_groups: Vec<GroupSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<ConsumerSpec>,
    /// API keys: never their value; their hash only when exported with `includeKeyHashes`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<KeySpec>,
}

/// The one format there is so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Version {
    #[serde(rename = "gateway-console/v1")]
    V1,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GatewayRef {
    /// `gw-…`
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvironmentSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The environment a rule or deployment means when it names none (exactly one has it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub default: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ModelApiSpec {
    pub name: String,
    pub base_path: String,
    pub ai_protocols: Vec<String>,
    pub model_category: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The environments it is deployed to, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// What its members may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    /// The rate limit its members share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    /// Its quotas (all its members' use together).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<QuotaSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// The consumer groups it is a member of, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    /// What it may call itself (besides what its groups may).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<RuleSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<QuotaSpec>,
}

/// A rate limit of the consumer, group or key it is listed under (one at most).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_second: Option<i64>,
    /// Requests per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_minute: Option<i64>,
    /// `local` (each replica counts on its own; the default) or `cluster`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub policy: String,
}

/// A quota of the consumer, group or key it is listed under (one per metric and period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuotaSpec {
    /// `requests` or `tokens`.
    pub metric: String,
    /// `day`, `week` (Monday to Sunday) or `month`.
    pub period: String,
    pub amount: i64,
    /// The IANA time zone its periods start in (`UTC` when absent).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub time_zone: String,
    /// The warning threshold, percent of the amount (80 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warn_percent: Option<i64>,
}

/// An authorization rule of the consumer or group it is listed under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleSpec {
    /// The model API, by name.
    pub api: String,
    /// The environment, by name.
    pub environment: String,
    /// When the rule stops granting (RFC 3339, UTC); absent for a rule that does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeySpec {
    pub name: String,
    /// The first characters of the value, as the console shows them.
    pub prefix: String,
    /// The consumer it is bound to, by name (its credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<String>,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// RFC 3339, UTC; absent for a key that does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// The value's SHA-256 (hex), only in an export asked for with key hashes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quotas: Vec<QuotaSpec>,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Milliseconds since the epoch as RFC 3339 in UTC (`2027-01-31T23:59:59Z`), with the
/// milliseconds only when there are any, so that a time read back is the time written.
pub fn rfc3339(ms: i64) -> String {
    let day_time = crate::domain::format_time(ms).replace(' ', "T");
    match ms.rem_euclid(1000) {
        0 => format!("{day_time}Z"),
        frac => format!("{day_time}.{frac:03}Z"),
    }
}

/// Reads what [`rfc3339`] writes (a `Z` or `+00:00` offset, optional milliseconds).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (whole, frac) = match s.split_once('.') {
        Some((whole, frac)) if frac.len() == 3 && frac.bytes().all(|b| b.is_ascii_digit()) => {
            (whole, frac.parse::<i64>().ok()?)
        }
        Some(_) => return None,
        None => (s, 0),
    };
    // `HH:MM:SS` exactly: the browser's form parser also takes `HH:MM`.
    if whole.len() != 19 {
        return None;
    }
    Some(crate::domain::parse_time_utc(whole)? + frac)
}

/// The document as YAML, after a comment that says what it is.
pub fn to_yaml(config: &GatewayConfig) -> Result<String, serde_yaml_ng::Error> {
    let body = serde_yaml_ng::to_string(config)?;
    Ok(format!(
        "# Gateway Console configuration of gateway {:?} ({}).\n\
         # Format: /v1/schemas/gateway-config.json. Keys are listed without their values.\n{body}",
        config.gateway.name, config.gateway.id
    ))
}

/// Reads a document (YAML, or JSON, which is YAML too); an unknown field, a wrong version or a
/// wrong type is an error that says where it is (line and column). It streams: no buffer of
/// the whole file's events (serde_yaml's took 1 GiB for a 52 MB file).
pub fn from_yaml(text: &str) -> Result<GatewayConfig, serde_saphyr::Error> {
    // The defaults (250,000 nodes) suit a small file; a gateway's file is bounded by its size
    // (`MAX_CONFIG_BYTES`) instead, each node taking at least two bytes. Alias expansion keeps
    // its default limits (no "billion laughs").
    let max = crate::domain::config::MAX_CONFIG_BYTES;
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: max,
            max_nodes: max,
            max_total_scalar_bytes: max,
        },
    };
    serde_saphyr::from_str_with_options(text, options)
}

/// The JSON Schema of the format.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(GatewayConfig)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_time_is_written_in_utc_with_milliseconds_only_when_there_are_any() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_800_000_000_123), "2027-01-15T08:00:00.123Z");
        assert_eq!(
            parse_rfc3339("2027-01-15T08:00:00+00:00"),
            Some(1_800_000_000_000)
        );
    }

    #[test]
    fn a_time_without_seconds_or_offset_is_not_read() {
        for bad in [
            "2027-01-15T08:00Z",
            "2027-01-15T08:00:00",
            "2027-01-15T08:00:00.1Z",
            "2027-02-30T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn defaults_are_left_out_and_read_back() {
        let c = ConsumerSpec {
            name: "alice".into(),
            description: String::new(),
            enabled: true,
            groups: vec![],
            rules: vec![],
            rate_limit: None,
            quotas: vec![],
        };
        let yaml = serde_yaml_ng::to_string(&c).unwrap();
        assert_eq!(yaml, "name: alice\n");
        assert_eq!(serde_yaml_ng::from_str::<ConsumerSpec>(&yaml).unwrap(), c);
    }

    #[test]
    fn an_unknown_field_or_version_is_refused() {
        assert!(serde_yaml_ng::from_str::<ConsumerSpec>("name: a\nenabeld: false\n").is_err());
        let doc = "version: gateway-console/v2\ngateway: {id: gw-x, name: x}\n";
        assert!(serde_yaml_ng::from_str::<GatewayConfig>(doc).is_err());
    }

    #[test]
    fn the_schema_names_the_version_and_refuses_unknown_fields() {
        let schema = json_schema().to_string();
        assert!(schema.contains("gateway-console/v1"), "{schema}");
        assert!(
            schema.contains("\"additionalProperties\":false"),
            "{schema}"
        );
    }

    proptest! {
        #[test]
        fn every_time_reads_back_as_written(ms in 0i64..253_402_300_799_999) {
            prop_assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
    }
}
