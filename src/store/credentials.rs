//! A consumer's JWT and HMAC credentials. Their secrets are stored sealed (see
//! `crate::secrets`); nothing here reads one back out except the snapshot loader.

use crate::domain::credentials::{CredentialMethod, JwtAlgorithm, JwtKeySource};
use crate::domain::records::{ConsumerCredential, ConsumerRef, HmacSettings, JwtSettings};
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{args, Write};

const COLUMNS: &str = "c.id, c.instance_id, c.consumer_id, cs.name AS consumer_name, c.method, \
     c.name, c.enabled, c.access_key, c.algorithms, c.clock_skew_secs, c.issuer, \
     c.consumer_claim, c.subject, c.audience, c.max_lifetime_secs, c.key_source, c.public_key, \
     c.jwks_url, c.jwks_refresh_secs, c.previous_expires_at, c.created_at, c.updated_at, c.version";

row! {
    struct Row {
        id: String,
        instance_id: String,
        consumer_id: String,
        consumer_name: String,
        method: String,
        name: String,
        enabled: bool,
        access_key: Option<String>,
        algorithms: String,
        clock_skew_secs: i64,
        issuer: Option<String>,
        consumer_claim: Option<String>,
        subject: Option<String>,
        audience: Option<String>,
        max_lifetime_secs: Option<i64>,
        key_source: Option<String>,
        public_key: Option<String>,
        jwks_url: Option<String>,
        jwks_refresh_secs: Option<i64>,
        previous_expires_at: Option<i64>,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for ConsumerCredential {
    fn from(r: Row) -> Self {
        // Only the two methods the table allows are ever written (a CHECK constraint).
        let method = CredentialMethod::parse(&r.method).unwrap_or(CredentialMethod::Hmac);
        ConsumerCredential {
            id: r.id,
            instance_id: r.instance_id,
            consumer: ConsumerRef {
                id: r.consumer_id,
                name: r.consumer_name,
            },
            method,
            name: r.name,
            enabled: r.enabled,
            jwt: (method == CredentialMethod::Jwt).then(|| JwtSettings {
                issuer: r.issuer.clone().unwrap_or_default(),
                consumer_claim: r.consumer_claim.clone().unwrap_or_default(),
                subject: r.subject.clone().unwrap_or_default(),
                audience: r.audience.clone(),
                algorithms: r
                    .algorithms
                    .split(',')
                    .filter_map(JwtAlgorithm::parse)
                    .collect(),
                max_lifetime_secs: r.max_lifetime_secs.unwrap_or_default(),
                clock_skew_secs: r.clock_skew_secs,
                key_source: match r.key_source.as_deref() {
                    Some("JwksUrl") => JwtKeySource::JwksUrl,
                    Some("GeneratedSecret") => JwtKeySource::GeneratedSecret,
                    _ => JwtKeySource::PublicKey,
                },
                public_key: r.public_key.clone(),
                jwks_url: r.jwks_url.clone(),
                jwks_refresh_secs: r.jwks_refresh_secs,
            }),
            hmac: (method == CredentialMethod::Hmac).then(|| HmacSettings {
                access_key: r.access_key.unwrap_or_default(),
                algorithm: r.algorithms,
                clock_skew_secs: r.clock_skew_secs,
            }),
            previous_expires_at: r.previous_expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// A new HMAC credential as it is stored: its settings, and its secret sealed.
pub struct NewHmac<'a> {
    pub credential: &'a ConsumerCredential,
    pub name_key: &'a str,
    pub secret_sealed: &'a str,
}

/// Inserts an HMAC credential.
pub async fn insert_hmac(conn: &mut impl Write, new: NewHmac<'_>) -> Result<(), sqlx::Error> {
    let c = new.credential;
    let hmac = c.hmac.as_ref().ok_or(sqlx::Error::Protocol(
        "an HMAC credential without its settings".into(),
    ))?;
    conn.execute(
        "INSERT INTO credentials (id, instance_id, consumer_id, method, name, name_key, access_key, \
         algorithms, clock_skew_secs, secret_sealed, enabled, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1)",
        args![
            &c.id,
            &c.instance_id,
            &c.consumer.id,
            c.method.as_str(),
            &c.name,
            new.name_key,
            &hmac.access_key,
            &hmac.algorithm,
            hmac.clock_skew_secs,
            new.secret_sealed,
            i64::from(c.enabled),
            c.created_at,
            c.updated_at,
        ],
    )
    .await
    .map(drop)
}

/// The name a key source is stored under.
pub fn key_source_name(source: JwtKeySource) -> &'static str {
    match source {
        JwtKeySource::PublicKey => "PublicKey",
        JwtKeySource::JwksUrl => "JwksUrl",
        JwtKeySource::GeneratedSecret => "GeneratedSecret",
    }
}

/// Inserts a JWT credential; `secret_sealed` for a generated secret.
pub async fn insert_jwt(
    conn: &mut impl Write,
    c: &ConsumerCredential,
    name_key: &str,
    secret_sealed: Option<&str>,
) -> Result<(), sqlx::Error> {
    let jwt = c.jwt.as_ref().ok_or(sqlx::Error::Protocol(
        "a JWT credential without its settings".into(),
    ))?;
    let algorithms: Vec<&str> = jwt.algorithms.iter().map(|a| a.as_str()).collect();
    conn.execute(
        "INSERT INTO credentials (id, instance_id, consumer_id, method, name, name_key, algorithms, \
         clock_skew_secs, issuer, consumer_claim, subject, audience, max_lifetime_secs, key_source, \
         public_key, jwks_url, jwks_refresh_secs, secret_sealed, enabled, created_at, updated_at, \
         version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
         $20, $21, 1)",
        args![
            &c.id,
            &c.instance_id,
            &c.consumer.id,
            c.method.as_str(),
            &c.name,
            name_key,
            algorithms.join(","),
            jwt.clock_skew_secs,
            &jwt.issuer,
            &jwt.consumer_claim,
            &jwt.subject,
            jwt.audience.as_deref(),
            jwt.max_lifetime_secs,
            key_source_name(jwt.key_source),
            jwt.public_key.as_deref(),
            jwt.jwks_url.as_deref(),
            jwt.jwks_refresh_secs,
            secret_sealed,
            i64::from(c.enabled),
            c.created_at,
            c.updated_at,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(
    conn: &mut impl Read,
    id: &str,
) -> Result<Option<ConsumerCredential>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM credentials c JOIN consumers cs ON cs.id = c.consumer_id WHERE c.id = $1"
    );
    Ok(conn
        .first::<Row>(&sql, &[id.into()])
        .await?
        .map(ConsumerCredential::from))
}

/// The JWT credential of the gateway whose tokens are those of `issuer` with `claim` =
/// `subject`, if one is.
pub async fn claiming(
    conn: &mut impl Read,
    instance_id: &str,
    issuer: &str,
    claim: &str,
    subject: &str,
) -> Result<Option<ConsumerCredential>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM credentials c JOIN consumers cs ON cs.id = c.consumer_id \
         WHERE c.instance_id = $1 AND c.issuer = $2 AND c.consumer_claim = $3 AND c.subject = $4"
    );
    Ok(conn
        .first::<Row>(
            &sql,
            &[
                instance_id.into(),
                issuer.into(),
                claim.into(),
                subject.into(),
            ],
        )
        .await?
        .map(ConsumerCredential::from))
}

/// A consumer's JWT and HMAC credentials, by name.
pub async fn of_consumer(
    conn: &mut impl Read,
    consumer_id: &str,
) -> Result<Vec<ConsumerCredential>, sqlx::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM credentials c JOIN consumers cs ON cs.id = c.consumer_id \
         WHERE c.consumer_id = $1 ORDER BY c.name_key"
    );
    let rows = conn.all::<Row>(&sql, &[consumer_id.into()]).await?;
    Ok(rows.into_iter().map(ConsumerCredential::from).collect())
}

/// Takes the credential's `version` for a change, or answers false when it is at another
/// one (someone changed it since the caller read it).
pub async fn claim_version(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE credentials SET updated_at = $1 WHERE id = $2 AND version = $3",
            args![now, id, version],
        )
        .await?;
    Ok(done == 1)
}

/// Enables or disables a credential; false when it does not exist.
pub async fn set_enabled(
    conn: &mut impl Write,
    id: &str,
    enabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE credentials SET enabled = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            args![i64::from(enabled), now, id],
        )
        .await?;
    Ok(done == 1)
}

/// Gives a credential a new sealed secret. With a grace period the previous secret keeps
/// working until `previous_expires_at`; without one it stops at once (any older one too).
pub async fn rotate(
    conn: &mut impl Write,
    id: &str,
    secret_sealed: &str,
    previous_expires_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE credentials SET previous_sealed = CASE WHEN $1 IS NULL THEN NULL ELSE secret_sealed END, \
             previous_expires_at = $1, secret_sealed = $2, updated_at = $3, version = version + 1 \
             WHERE id = $4",
            args![previous_expires_at, secret_sealed, now, id],
        )
        .await?;
    Ok(done == 1)
}

/// Deletes a credential; whether it was there.
pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute("DELETE FROM credentials WHERE id = $1", args![id])
        .await?;
    Ok(done == 1)
}

row! {
    /// A credential's sealed secrets, for re-sealing them with another key.
    pub struct SealedRow {
        pub id: String,
        pub secret_sealed: Option<String>,
        pub previous_sealed: Option<String>,
    }
}

/// Every credential's sealed secrets.
pub async fn all_sealed(conn: &mut impl Read) -> Result<Vec<SealedRow>, sqlx::Error> {
    conn.all(
        "SELECT id, secret_sealed, previous_sealed FROM credentials ORDER BY id",
        &[],
    )
    .await
}

/// Replaces a credential's sealed secrets (the same secrets, sealed with another key).
pub async fn set_sealed(
    conn: &mut impl Write,
    id: &str,
    secret_sealed: Option<&str>,
    previous_sealed: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE credentials SET secret_sealed = $1, previous_sealed = $2 WHERE id = $3",
            args![secret_sealed, previous_sealed, id],
        )
        .await?;
    Ok(done == 1)
}
