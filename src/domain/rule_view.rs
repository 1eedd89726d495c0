//! The item shape of `ListConsumerAuthorizationRules`, the cloud API gateway operation this
//! REST call reproduces: field names, nesting and JSON types follow that operation's sample
//! response (a copy is in `tests/fixtures/`). Fields the sample carries for features
//! this product does not have (ingress sources, VPCs, resource groups, deployment backends
//! and policies) are left out rather than filled with invented values; everything emitted is
//! true of the stored data.

use super::authorization::{ExpireMode, ExpireStatus, PrincipalType};
use serde::{Deserialize, Serialize};

/// What `resourceType` says: a rule grants a whole model API.
pub const RESOURCE_TYPE: &str = "HttpApi";
/// What `apiInfo.type` says for every model API.
pub const API_TYPE: &str = "LLM";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GatewayInfo {
    pub gateway_id: String,
    pub name: String,
    pub engine_version: String,
}

/// The short gateway reference inside `apiInfo.environments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GatewayRef {
    pub gateway_id: String,
    pub name: String,
}

/// An environment an API is deployed to, inside `apiInfo.environments`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiEnvironment {
    pub environment_id: String,
    pub name: String,
    pub alias: String,
    pub gateway_info: GatewayRef,
    pub deploy_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HttpApiApiInfo {
    pub http_api_id: String,
    pub name: String,
    pub base_path: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Spelled as in the seed. Model APIs always require a key.
    #[serde(rename = "enabelAuth")]
    pub enable_auth: bool,
    pub gateway_id: String,
    pub model_category: String,
    pub protocols: Vec<String>,
    pub environments: Vec<ApiEnvironment>,
    pub ai_protocols: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentInfo {
    pub environment_id: String,
    pub name: String,
    pub alias: String,
    pub description: String,
    pub gateway_info: GatewayInfo,
    pub default: bool,
    pub create_timestamp: i64,
    pub update_timestamp: i64,
}

/// Where a consumer's rule comes from, present only when inherited rules were asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleSource {
    #[serde(rename = "type")]
    pub kind: PrincipalType,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_group_name: Option<String>,
}

/// One item of `GET /v1/consumers/{consumerId}/authorization-rules`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsumerAuthorizationRule {
    pub consumer_authorization_rule_id: String,
    pub consumer_id: String,
    pub api_info: HttpApiApiInfo,
    pub environment_info: EnvironmentInfo,
    pub gateway_info: GatewayInfo,
    pub resource_id: i64,
    pub resource_type: String,
    pub expire_status: ExpireStatus,
    pub expire_mode: ExpireMode,
    /// Absent for LongTerm rules, which do not expire.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expire_timestamp: Option<i64>,
    pub create_timestamp: i64,
    pub update_timestamp: i64,
    /// An object as in the seed; the per-environment deployment status is in
    /// `apiInfo.environments[].deployStatus`.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub deploy_status: serde_json::Map<String, serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub source: Option<RuleSource>,
}
