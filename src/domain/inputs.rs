//! What the use cases take as input: plain data, validated by the service layer with the
//! parsers in this module's siblings (and by the browser as the user types).

use serde::{Deserialize, Serialize};

/// What registering an instance takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewInstance {
    pub name: String,
    pub region: String,
    pub engine_version: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    pub instance_id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    pub instance_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewConsumer {
    pub instance_id: String,
    pub name: String,
    #[serde(default)]
    pub group_ids: Vec<String>,
    #[serde(default)]
    pub key_ids: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsumerUpdate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewEnvironment {
    pub instance_id: String,
    pub name: String,
    #[serde(default)]
    pub alias: String,
    #[serde(default)]
    pub description: String,
}

/// What registering a model API takes; `environment_ids` are where it is deployed.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewModelApi {
    pub instance_id: String,
    pub name: String,
    pub base_path: String,
    pub ai_protocols: Vec<String>,
    pub model_category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub environment_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelApiUpdate {
    pub name: String,
    pub base_path: String,
    pub ai_protocols: Vec<String>,
    pub model_category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub environment_ids: Vec<String>,
    pub version: i64,
}

/// One grant: a principal (consumer or consumer group) may call an API in an environment.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewRule {
    pub principal_type: String,
    pub principal_id: String,
    pub api_id: String,
    pub environment_id: String,
    pub expire_mode: String,
    #[serde(default)]
    pub expire_timestamp: Option<i64>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RuleExpiryUpdate {
    pub expire_mode: String,
    #[serde(default)]
    pub expire_timestamp: Option<i64>,
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentUpdate {
    pub name: String,
    #[serde(default)]
    pub alias: String,
    #[serde(default)]
    pub description: String,
    pub version: i64,
}
