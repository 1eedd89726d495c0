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

/// An instance's new name, engine version and description (the region is where it runs and
/// does not change).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InstanceUpdate {
    pub name: String,
    pub engine_version: String,
    #[serde(default)]
    pub description: String,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    pub description: String,
}

/// A consumer group's new name and description.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GroupUpdate {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewKey {
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    /// When the key stops working (milliseconds since the epoch); none means never.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// A value of your own (32–256 visible ASCII characters); none generates one.
    #[serde(default)]
    pub value: Option<String>,
}

/// A change to a key: each field that is present is applied. `expiresAt: null` removes the
/// expiry; leaving the field out keeps it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<i64>))]
    pub expires_at: Option<Option<i64>>,
}

/// Rotating a key: a new value for the same key ID; the old value keeps working for
/// `gracePeriodSeconds` (0, the default, stops it at once; at most 30 days).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct KeyRotation {
    #[serde(default)]
    pub grace_period_seconds: i64,
}

/// A new JWT or HMAC credential for a consumer (an API key is bound instead, with
/// `POST /v1/consumers/{consumerId}/credentials`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewCredential {
    pub consumer_id: String,
    /// Unique among the consumer's credentials.
    pub name: String,
    pub method: crate::domain::credentials::CredentialMethod,
    /// The settings of an HMAC credential; left out, the defaults.
    #[serde(default)]
    pub hmac: Option<HmacInput>,
    /// The settings of a JWT credential (required for `Jwt`).
    #[serde(default)]
    pub jwt: Option<JwtCredentialInput>,
}

/// A JWT credential's settings as asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JwtCredentialInput {
    /// The tokens' issuer (`iss`), required.
    #[serde(default)]
    pub issuer: String,
    /// The claim that names the consumer; default `sub`.
    #[serde(default)]
    pub consumer_claim: String,
    /// The value that claim must have; default the consumer's name.
    #[serde(default)]
    pub subject: String,
    /// The audience a token must name (`aud`); empty: not checked.
    #[serde(default)]
    pub audience: String,
    /// Allowed algorithms: RS256, RS384, RS512, ES256, ES384, EdDSA (a public key) or HS256
    /// (a generated secret). Default RS256, or HS256 for a generated secret.
    #[serde(default)]
    pub algorithms: Vec<String>,
    /// 1 to 2,592,000 seconds (30 days); default 86,400.
    #[serde(default)]
    pub max_lifetime_secs: Option<i64>,
    /// 0 to 300 seconds; default 60.
    #[serde(default)]
    pub clock_skew_secs: Option<i64>,
    /// `PublicKey` (give `publicKey`), `JwksUrl` (give `jwksUrl`: the server fetches the
    /// JWK Set and refreshes it) or `GeneratedSecret` (HS256: the console makes the secret
    /// and shows it once). Default `PublicKey`.
    #[serde(default)]
    pub key_source: crate::domain::credentials::JwtKeySource,
    /// The public key: PEM (`-----BEGIN PUBLIC KEY-----`) or one JWK (JSON).
    #[serde(default)]
    pub public_key: Option<String>,
    /// The JWK Set's URL: https://, or http:// to localhost only.
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// How often the JWK Set is fetched again: 60 to 86,400 seconds; default 300.
    #[serde(default)]
    pub jwks_refresh_secs: Option<i64>,
}

/// An HMAC credential's settings as asked for; each left out takes its default.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HmacInput {
    /// `hmac-sha256` (the default) or `hmac-sha512`.
    #[serde(default)]
    pub algorithm: Option<String>,
    /// 1 to 300 seconds; default 300.
    #[serde(default)]
    pub clock_skew_secs: Option<i64>,
}

/// A change to a JWT or HMAC credential: each field that is present is applied.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CredentialUpdate {
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

/// Enables or disables a consumer or a consumer group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusUpdate {
    pub enabled: bool,
    /// The version the change is based on (optimistic concurrency).
    pub version: i64,
}

/// Adds a consumer to a consumer group.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewMembership {
    #[serde(rename = "consumerGroupId")]
    pub group_id: String,
}

/// Tells a field that is present (even as `null`) from one that is left out.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewConsumer {
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    #[serde(default, rename = "consumerGroupIds")]
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
    #[serde(rename = "gatewayId")]
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
    #[serde(rename = "gatewayId")]
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

/// What the audit log can be narrowed to; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditFilter {
    /// One gateway's entries; none for every gateway's and the account-level ones.
    #[serde(rename = "gatewayId")]
    pub instance_id: Option<String>,
    /// `Consumer`, `ConsumerGroup`, `Key`, `Api`, `Environment`, `AuthorizationRule`,
    /// `Gateway`, `Account` or `ApiToken`.
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Case-insensitive substring of the actor (account or token name).
    pub actor: Option<String>,
    /// From this time (ms since the epoch, inclusive).
    pub from: Option<i64>,
    /// Before this time (ms since the epoch, exclusive).
    pub to: Option<i64>,
}

/// What setting a rate limit takes: its subject (a key, consumer or consumer group of the
/// gateway, by ID), requests per second and/or per minute, and the policy (`local` when
/// empty).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewRateLimit {
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub subject_id: String,
    #[serde(default)]
    pub per_second: Option<i64>,
    #[serde(default)]
    pub per_minute: Option<i64>,
    #[serde(default)]
    pub policy: String,
}

/// A rate limit's new values (its subject does not change).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RateLimitUpdate {
    #[serde(default)]
    pub per_second: Option<i64>,
    #[serde(default)]
    pub per_minute: Option<i64>,
    #[serde(default)]
    pub policy: String,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

/// What setting a quota takes: its subject (a key, consumer or consumer group of the
/// gateway), what it counts (`requests`, the default, or `tokens`), its period (`day`,
/// `week`, `month`), the amount, the time zone (`UTC` when empty) and the warning threshold
/// (80 % when absent).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NewQuota {
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub subject_id: String,
    #[serde(default)]
    pub metric: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub warn_percent: Option<i64>,
}

/// A quota's new amount, time zone and warning threshold (its subject, metric and period do
/// not change).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuotaUpdate {
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub warn_percent: Option<i64>,
    /// The version the caller last saw; a stale one is refused with `Conflict.Version`.
    pub version: i64,
}

/// Resets a quota's count for the current period (with the version the caller saw).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuotaReset {
    pub version: i64,
}
