//! What the use cases take as input: plain data, validated by the service layer with the
//! parsers in this module's siblings (and by the browser as the user types).

use serde::{Deserialize, Serialize};

/// What registering an instance takes.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewInstance {
    pub name: String,
    pub region: String,
    pub engine_version: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    pub instance_id: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    pub instance_id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
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
#[serde(rename_all = "camelCase")]
pub struct ConsumerUpdate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}
