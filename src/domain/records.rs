//! The records the service layer answers with: the same shapes cross the server-function
//! boundary to the browser and are serialised by the REST API.

use crate::domain::authorization::{ExpireMode, ExpireStatus, PrincipalType};
use crate::domain::credentials::CredentialMethod;
use crate::domain::limits::{LimitPolicy, LimitSubject};
use crate::domain::quotas::{QuotaMetric, QuotaPeriod, QuotaStatus};
use serde::{Deserialize, Serialize};

/// What a console account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Role {
    Admin,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "Admin",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "Admin" => Some(Role::Admin),
            "Viewer" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// What a REST token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum TokenScope {
    /// Whatever its account may do.
    #[default]
    Account,
    /// Only report usage (`POST /v1/usage`), for a gateway's log shipper; nothing else, not
    /// even reads.
    UsageWrite,
}

impl TokenScope {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Account => "Account",
            TokenScope::UsageWrite => "UsageWrite",
        }
    }

    pub fn parse(s: &str) -> Option<TokenScope> {
        match s {
            "Account" => Some(TokenScope::Account),
            "UsageWrite" => Some(TokenScope::UsageWrite),
            _ => None,
        }
    }
}

/// The signed-in account, as the UI needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CurrentUser {
    #[serde(rename = "accountId")]
    pub id: String,
    pub username: String,
    pub role: Role,
}

impl CurrentUser {
    pub fn can_write(&self) -> bool {
        self.role == Role::Admin
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Instance {
    #[serde(rename = "gatewayId")]
    pub id: String,
    pub name: String,
    pub region: String,
    pub engine_version: String,
    pub status: String,
    pub description: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A reference to another record of a known kind, enough to name and link it. In Rust its ID
/// is `id`; on the wire it is named by the kind (`consumerId`), as every ID field is.
macro_rules! reference {
    ($(#[$doc:meta])* $name:ident, $wire:tt) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        pub struct $name {
            #[serde(rename = $wire)]
            pub id: String,
            pub name: String,
        }
    };
}

reference!(
    /// A consumer, by ID and name.
    ConsumerRef,
    "consumerId"
);
reference!(
    /// A consumer group, by ID and name.
    GroupRef,
    "consumerGroupId"
);
reference!(
    /// A model API, by ID and name.
    ApiRef,
    "apiId"
);
reference!(
    /// An environment, by ID and name.
    EnvironmentRef,
    "environmentId"
);
reference!(
    /// A rule's principal, a consumer or a consumer group (as its `principalType` says).
    PrincipalRef,
    "principalId"
);
reference!(
    /// What a limit is on: a key, a consumer or a consumer group (as its `subjectType`
    /// says).
    SubjectRef,
    "subjectId"
);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Consumer {
    #[serde(rename = "consumerId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    pub description: String,
    /// A disabled consumer is refused by enforcement, whatever its keys and rules.
    pub enabled: bool,
    pub groups: Vec<GroupRef>,
    pub credentials: Vec<Credential>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A consumer's credential of any method, as Credential Management lists it: a bound API
/// key, or a JWT or HMAC credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Credential {
    pub method: CredentialMethod,
    /// `key-…` for an API key, `cred-…` for a JWT or HMAC credential.
    pub credential_id: String,
    /// An API key's ID again (API keys only), as older clients read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub name: String,
    /// What tells it apart at a glance: an API key's visible prefix, an HMAC credential's
    /// access key ID, a JWT credential's issuer.
    pub identifier: String,
    pub enabled: bool,
    /// The key's or credential's version, for a change based on it.
    pub version: i64,
    /// Whether it can be given a new secret (an API key, an HMAC credential, a JWT
    /// credential with a generated secret; not one with a public key).
    pub rotatable: bool,
}

/// An HMAC (AK/SK) credential's settings. The secret is shown once, when it is made or
/// rotated, and never again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct HmacSettings {
    /// The access key ID a signed request names (`keyId="…"`).
    pub access_key: String,
    /// `hmac-sha256` or `hmac-sha512`.
    pub algorithm: String,
    /// How far a request's `Date` may be from the check's clock, in seconds.
    pub clock_skew_secs: i64,
}

/// A JWT credential's settings. A generated HS256 secret is shown once, when it is made or
/// rotated, and never again; a public key is not secret and is shown as given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JwtSettings {
    /// The tokens' issuer (`iss`).
    pub issuer: String,
    /// The claim that names the consumer (`sub` by default)…
    pub consumer_claim: String,
    /// …and the value it must have (the consumer's name unless given).
    pub subject: String,
    /// The audience a token must name (`aud`), if any.
    pub audience: Option<String>,
    /// The algorithms a token may be signed with.
    pub algorithms: Vec<crate::domain::credentials::JwtAlgorithm>,
    /// The longest a token may live (`exp` − `iat`), in seconds.
    pub max_lifetime_secs: i64,
    /// How far `exp`, `nbf` and `iat` may be off the check's clock, in seconds.
    pub clock_skew_secs: i64,
    pub key_source: crate::domain::credentials::JwtKeySource,
    /// The public key as given (PEM or JWK), for `PublicKey`.
    pub public_key: Option<String>,
    /// The JWK Set's URL, for `JwksUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    /// How often the JWK Set is fetched again, in seconds, for `JwksUrl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_refresh_secs: Option<i64>,
}

/// A consumer's JWT or HMAC credential in full (its secret never).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsumerCredential {
    #[serde(rename = "credentialId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub consumer: ConsumerRef,
    pub method: CredentialMethod,
    pub name: String,
    /// A disabled credential is refused by enforcement.
    pub enabled: bool,
    /// HMAC credentials only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hmac: Option<HmacSettings>,
    /// JWT credentials only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt: Option<JwtSettings>,
    /// After a rotation with a grace period: until when (ms) the previous secret still works.
    pub previous_expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// For optimistic concurrency: an update names the version it saw.
    pub version: i64,
}

/// What this replica holds of a JWKS URL's key set: each replica's check fetches its own,
/// so another replica may be a fetch ahead or behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct JwksStatus {
    pub jwks_url: String,
    /// When the set in use was fetched (ms since the epoch); none before a fetch succeeded.
    pub fetched_at: Option<i64>,
    /// Until when that set verifies if no fetch succeeds again (ms).
    pub usable_until: Option<i64>,
    /// The key IDs of the set in use (empty text for a key without one).
    pub key_ids: Vec<String>,
    /// When a fetch was last tried (ms).
    pub last_attempt_at: Option<i64>,
    /// Why the last fetch failed; none when it succeeded or none was tried.
    pub last_error: Option<String>,
}

/// A credential just made or rotated: the only answer that ever carries its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedCredential {
    pub credential: ConsumerCredential,
    /// The HMAC secret key, or a JWT credential's generated HS256 secret (the key is its
    /// text as UTF-8 bytes); empty for a JWT credential with a public key.
    pub secret: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroup {
    #[serde(rename = "consumerGroupId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    pub description: String,
    pub enabled: bool,
    pub member_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiKey {
    #[serde(rename = "keyId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    pub prefix: String,
    pub consumer: Option<ConsumerRef>,
    pub enabled: bool,
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// For optimistic concurrency: an update names the version it saw.
    pub version: i64,
}

/// A key just created: the only answer that ever carries the plain value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    pub key: ApiKey,
    pub value: String,
}

/// What keeps a record from being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DependencyKind {
    GroupMembership,
    Credential,
    AuthorizationRule,
    Member,
    BoundConsumer,
    Deployment,
    /// What an instance still holds: consumers, groups, keys, model APIs and environments.
    Consumer,
    ConsumerGroup,
    Key,
    ModelApi,
    Environment,
}

impl DependencyKind {
    pub fn label(self) -> &'static str {
        match self {
            DependencyKind::GroupMembership => "Consumer group",
            DependencyKind::Credential => "Credential",
            DependencyKind::AuthorizationRule => "Authorization rule",
            DependencyKind::Member => "Member",
            DependencyKind::BoundConsumer => "Bound consumer",
            DependencyKind::Deployment => "Model API deployed here",
            DependencyKind::Consumer => "Consumer",
            DependencyKind::ConsumerGroup => "Consumer group",
            DependencyKind::Key => "Key",
            DependencyKind::ModelApi => "Model API",
            DependencyKind::Environment => "Environment",
        }
    }
}

/// One dependency: what it is and where it lives, so that a client can remove it (the console
/// builds its links from these fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub kind: DependencyKind,
    /// The dependent record's ID; `kind` says what it is (a membership's group, a credential's
    /// key, a rule, a member or bound consumer, a deployed model API, an instance's contents).
    #[serde(rename = "resourceId")]
    pub id: String,
    pub name: String,
    /// The gateway it belongs to.
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    /// The consumer it is removed from, for a group membership or a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_id: Option<String>,
}

/// An environment of an instance (`env-…`); every instance has a default one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    #[serde(rename = "environmentId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub name: String,
    pub alias: String,
    pub description: String,
    pub is_default: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A model API (`api-…`) and the environments it is deployed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ModelApi {
    #[serde(rename = "apiId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    /// The numeric resource ID rules refer to (`resourceId` in the seed).
    pub resource_no: i64,
    pub name: String,
    pub base_path: String,
    pub ai_protocols: Vec<String>,
    pub model_category: String,
    pub description: String,
    pub environments: Vec<EnvironmentRef>,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// An authorization rule (`car-…`) as the console and the rule endpoints show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationRule {
    #[serde(rename = "consumerAuthorizationRuleId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub principal_type: PrincipalType,
    pub principal: PrincipalRef,
    pub api: ApiRef,
    pub base_path: String,
    pub environment: EnvironmentRef,
    pub expire_mode: ExpireMode,
    pub expire_timestamp: Option<i64>,
    pub expire_status: ExpireStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A rate limit (`rl-…`): requests per second and/or per minute for one key, consumer or
/// consumer group (shared by the group's members).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    #[serde(rename = "rateLimitId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub subject_type: LimitSubject,
    pub subject: SubjectRef,
    /// For a key's limit: the consumer the key is bound to now (none when unbound).
    #[serde(default)]
    pub consumer: Option<ConsumerRef>,
    pub per_second: Option<i64>,
    pub per_minute: Option<i64>,
    pub policy: LimitPolicy,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A quota (`qt-…`): how many requests or tokens one key, consumer or consumer group may use
/// per day, week or month, in a time zone; with where it stands in its current period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Quota {
    #[serde(rename = "quotaId")]
    pub id: String,
    #[serde(rename = "gatewayId")]
    pub instance_id: String,
    pub subject_type: LimitSubject,
    pub subject: SubjectRef,
    /// For a key's quota: the consumer the key is bound to now (none when unbound).
    #[serde(default)]
    pub consumer: Option<ConsumerRef>,
    pub metric: QuotaMetric,
    pub period: QuotaPeriod,
    /// The IANA time zone its periods start in (midnight, Monday, the first of the month).
    pub time_zone: String,
    pub amount: i64,
    /// The percentage of `amount` from which it is shown as a warning.
    pub warn_percent: i64,
    /// How many times an Admin has reset it.
    pub generation: i64,
    /// When an Admin last reset it (ms).
    pub reset_at: Option<i64>,
    /// What counts against it in the current period, as the replicas have shared it.
    pub used: i64,
    pub period_start: i64,
    pub period_end: i64,
    pub status: QuotaStatus,
    pub created_at: i64,
    pub updated_at: i64,
    pub version: i64,
}

/// A REST bearer token of an account; the value itself is never stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiToken {
    #[serde(rename = "tokenId")]
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    /// When the token stops working (ms).
    pub expires_at: Option<i64>,
    /// Whether it had stopped working when it was read.
    #[serde(default)]
    pub expired: bool,
    /// What it may do.
    #[serde(default)]
    pub scope: TokenScope,
}

/// A token just created: the only answer that ever carries the plain value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedToken {
    pub token: ApiToken,
    pub value: String,
}

/// One entry of the audit log: who changed what, when, through which request. The summary
/// never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    #[serde(rename = "auditEventId")]
    pub id: String,
    /// The gateway the change belongs to (none for account-level changes).
    #[serde(rename = "gatewayId")]
    pub instance_id: Option<String>,
    /// The account, or `account (token name)` for REST calls.
    pub actor: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
    pub summary: String,
    pub request_id: String,
    pub created_at: i64,
}

/// A console account, as the Accounts page lists it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Account {
    #[serde(rename = "accountId")]
    pub id: String,
    pub username: String,
    pub role: Role,
    pub enabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// The consumer group every instance is created with; it can be neither renamed nor deleted.
pub const DEFAULT_GROUP_NAME: &str = "Default-consumer-group";

/// What a consumer group's details panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsumerGroupDetails {
    pub group: ConsumerGroup,
    /// The first 100 members by name.
    pub members: Vec<ConsumerRef>,
    /// The first 100 consumers by name that could join.
    pub candidates: Vec<ConsumerRef>,
    pub rules: Vec<AuthorizationRule>,
}
