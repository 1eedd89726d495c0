//! A consumer's JWT and HMAC credentials: made with a secret shown once, enabled or
//! disabled, rotated with a grace period, removed. (Binding an API key is
//! `consumers::bind_credential`.) The secret is sealed with the server's keyring before it
//! is stored, and no audit entry, log line or later answer carries it.

use super::change::{Audit, AuditAction};
use super::keys::MAX_GRACE_SECONDS;
use super::{parse_id, parse_name, Actor};
use crate::domain::credentials::{
    generate_access_key, generate_hmac_secret, generate_jwt_secret, jwks_url, CredentialMethod,
    HmacValues, JwtInput, JwtKeySource, JwtValues,
};
use crate::domain::inputs::{CredentialUpdate, KeyRotation, NewCredential};
use crate::domain::records::{
    ConsumerCredential, ConsumerRef, CreatedCredential, HmacSettings, JwtSettings,
};
use crate::domain::{IdKind, ResourceId};
use crate::error::{AppError, AppResult};
use crate::secrets::Keyring;
use crate::store::read::Read;
use crate::store::{credentials, now_ms, Db};

async fn load(conn: &mut impl Read, id: &ResourceId) -> AppResult<ConsumerCredential> {
    credentials::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Credential, id.as_str()))
}

/// The keyring every running server has (a server without one refuses to start).
fn keyring(db: &Db) -> AppResult<&Keyring> {
    db.keyring().ok_or_else(|| {
        tracing::error!("no key-encryption keyring is loaded: credentials cannot be sealed");
        AppError::Internal
    })
}

/// The audit entry of a change to a credential: under its consumer, which is what the
/// enforcement snapshot re-reads.
fn audit<'a>(action: AuditAction, c: &'a ConsumerCredential) -> Audit<'a> {
    Audit::new(action, IdKind::Credential, &c.id)
        .instance(&c.instance_id)
        .subject(Some(&c.consumer.id))
}

/// Makes a credential for a consumer; the answer carries its secret, the only time it is
/// ever sent.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_credential(
    db: &Db,
    actor: &Actor,
    input: NewCredential,
) -> AppResult<CreatedCredential> {
    let admin = actor.admin()?;
    let consumer_id = parse_id(IdKind::Consumer, &input.consumer_id)?;
    let name = parse_name(&input.name)?;
    let field = |(field, message): (&str, String)| AppError::invalid(field, message);
    let asked = match input.method {
        CredentialMethod::Hmac => {
            let asked = input.hmac.unwrap_or_default();
            Asked::Hmac(
                HmacValues::parse(asked.algorithm.as_deref().unwrap_or(""), asked.clock_skew_secs)
                    .map_err(field)?,
            )
        }
        CredentialMethod::Jwt => {
            let asked = input.jwt.ok_or_else(|| {
                AppError::invalid("Jwt", "Give the JWT credential's settings (jwt).")
            })?;
            let values = JwtValues::parse(
                &JwtInput {
                    issuer: &asked.issuer,
                    consumer_claim: &asked.consumer_claim,
                    subject: &asked.subject,
                    audience: &asked.audience,
                    algorithms: &asked.algorithms,
                    max_lifetime_secs: asked.max_lifetime_secs,
                    clock_skew_secs: asked.clock_skew_secs,
                },
                asked.key_source,
            )
            .map_err(field)?;
            let mut jwks = None;
            let public_key = match asked.key_source {
                JwtKeySource::PublicKey => {
                    let text = asked.public_key.as_deref().unwrap_or("").trim();
                    if text.is_empty() {
                        return Err(AppError::invalid(
                            "PublicKey",
                            "Give the public key (PEM or JWK) that verifies the tokens.",
                        ));
                    }
                    crate::enforce::jwt::public_key(text, values.algorithms[0].family())
                        .map_err(|e| AppError::invalid("PublicKey", e))?;
                    Some(text.to_owned())
                }
                JwtKeySource::GeneratedSecret => None,
                JwtKeySource::JwksUrl => {
                    jwks = Some(
                        jwks_url(asked.jwks_url.as_deref().unwrap_or(""), asked.jwks_refresh_secs)
                            .map_err(field)?,
                    );
                    None
                }
            };
            Asked::Jwt(values, asked.key_source, public_key, jwks)
        }
        CredentialMethod::ApiKey => {
            return Err(AppError::invalid(
                "Method",
                "An API key is made under Keys and bound with POST /v1/consumers/{consumerId}/credentials.",
            ))
        }
    };
    let keyring = keyring(db)?;
    let now = now_ms();
    let id = ResourceId::generate(IdKind::Credential);
    let secret = match &asked {
        Asked::Hmac(_) => generate_hmac_secret(),
        Asked::Jwt(_, JwtKeySource::GeneratedSecret, ..) => generate_jwt_secret(),
        Asked::Jwt(..) => String::new(),
    };
    let sealed = (!secret.is_empty()).then(|| keyring.seal(secret.as_bytes(), id.as_str()));
    let mut tx = admin.begin(db).await?;
    let consumer = crate::store::consumers::get(&mut tx, consumer_id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Consumer, consumer_id.as_str()))?;
    let mut credential = ConsumerCredential {
        id: id.to_string(),
        instance_id: consumer.instance_id.clone(),
        consumer: ConsumerRef {
            id: consumer.id.clone(),
            name: consumer.name.clone(),
        },
        method: input.method,
        name: name.to_string(),
        enabled: true,
        jwt: None,
        hmac: None,
        previous_expires_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let summary;
    let inserted = match asked {
        Asked::Hmac(hmac) => {
            credential.hmac = Some(HmacSettings {
                access_key: generate_access_key(),
                algorithm: hmac.algorithm.as_str().to_owned(),
                clock_skew_secs: hmac.clock_skew_secs,
            });
            summary = format!(
                "name={name} method=Hmac algorithm={} clockSkewSecs={}",
                hmac.algorithm.as_str(),
                hmac.clock_skew_secs
            );
            credentials::insert_hmac(
                &mut tx,
                credentials::NewHmac {
                    credential: &credential,
                    name_key: &name.unique_key(),
                    secret_sealed: sealed.as_deref().unwrap_or_default(),
                },
            )
            .await
        }
        Asked::Jwt(values, source, public_key, jwks) => {
            let jwt = JwtSettings {
                issuer: values.issuer,
                consumer_claim: values.consumer_claim,
                subject: values.subject.unwrap_or_else(|| consumer.name.clone()),
                audience: values.audience,
                algorithms: values.algorithms,
                max_lifetime_secs: values.max_lifetime_secs,
                clock_skew_secs: values.clock_skew_secs,
                key_source: source,
                public_key,
                jwks_refresh_secs: jwks.as_ref().map(|(_, refresh)| *refresh),
                jwks_url: jwks.map(|(url, _)| url),
            };
            summary = format!(
                "name={name} method=Jwt issuer={} {}={} keySource={}",
                jwt.issuer,
                jwt.consumer_claim,
                jwt.subject,
                credentials::key_source_name(source)
            );
            if let Some(other) = credentials::claiming(
                &mut tx,
                &credential.instance_id,
                &jwt.issuer,
                &jwt.consumer_claim,
                &jwt.subject,
            )
            .await?
            {
                return Err(claimed(&jwt, &other));
            }
            credential.jwt = Some(jwt);
            credentials::insert_jwt(&mut tx, &credential, &name.unique_key(), sealed.as_deref())
                .await
        }
    };
    inserted.map_err(|e| {
        if crate::store::breaks_foreign_key(&e) {
            // The consumer was deleted since it was read.
            AppError::not_found(IdKind::Consumer, consumer_id.as_str())
        } else if crate::store::breaks_unique(&e, "subject") {
            // Another credential for the same tokens was made since the look above.
            AppError::Exists {
                message: "A credential for the same issuer, claim and value was just made: one credential per issuer, claim and value in a gateway.".into(),
            }
        } else {
            super::name_taken_in(e, "credential", &name, " for this consumer")
        }
    })?;
    let recorded = tx
        .record(audit(AuditAction::CreateCredential, &credential).summary(summary))
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(CreatedCredential { credential, secret })
}

/// What a new credential was asked to be, checked.
enum Asked {
    Hmac(HmacValues),
    /// The settings, the key source, a public key, a JWKS URL and its refresh interval.
    Jwt(
        JwtValues,
        JwtKeySource,
        Option<String>,
        Option<(String, i64)>,
    ),
}

/// The refusal of a JWT credential whose tokens `other` already claims.
fn claimed(jwt: &JwtSettings, other: &ConsumerCredential) -> AppError {
    AppError::Exists {
        message: format!(
            "Tokens of {} whose {} is {} are already {}'s, by the credential {}: one credential per issuer, claim and value in a gateway.",
            jwt.issuer, jwt.consumer_claim, jwt.subject, other.consumer.name, other.name
        ),
    }
}

/// A consumer's JWT and HMAC credentials, by name.
pub async fn list_credentials(db: &Db, consumer_id: &str) -> AppResult<Vec<ConsumerCredential>> {
    let consumer = super::consumers::get_consumer(db, consumer_id).await?;
    let mut conn = db.reader().await?;
    Ok(credentials::of_consumer(&mut conn, &consumer.id).await?)
}

pub async fn get_credential(db: &Db, credential_id: &str) -> AppResult<ConsumerCredential> {
    let id = parse_id(IdKind::Credential, credential_id)?;
    let mut conn = db.reader().await?;
    load(&mut conn, &id).await
}

/// What this replica holds of a JWKS credential's key set; with `fetch`, fetched first
/// (an Admin checking the URL: it is fetched at once, whatever the refresh interval).
#[tracing::instrument(skip(db, jwks, actor), fields(actor = %actor.user.username))]
pub async fn jwks_status(
    db: &Db,
    jwks: &crate::enforce::jwks::Jwks,
    actor: &Actor,
    credential_id: &str,
    fetch: bool,
) -> AppResult<crate::domain::records::JwksStatus> {
    let credential = get_credential(db, credential_id).await?;
    let url = credential.jwt.and_then(|j| j.jwks_url).ok_or_else(|| {
        AppError::invalid(
            "Method",
            "Only a JWT credential verified with a JWKS URL has a key set.",
        )
    })?;
    if fetch {
        actor.admin()?;
        jwks.fetch_now(&url).await;
    }
    Ok(jwks.status(&url))
}

/// Enables or disables a credential: a disabled one is refused by enforcement.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_credential(
    db: &Db,
    actor: &Actor,
    credential_id: &str,
    input: CredentialUpdate,
) -> AppResult<ConsumerCredential> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Credential, credential_id)?;
    let now = now_ms();
    let mut tx = admin.begin(db).await?;
    let credential = load(&mut tx, &id).await?;
    super::at_version(credentials::claim_version(&mut tx, id.as_str(), input.version, now).await?)?;
    let Some(enabled) = input.enabled else {
        return Ok(credential);
    };
    credentials::set_enabled(&mut tx, id.as_str(), enabled, now).await?;
    let recorded = tx
        .record(
            audit(AuditAction::UpdateCredential, &credential).summary(format!("enabled={enabled}")),
        )
        .await?;
    let credential = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(credential)
}

/// Gives the credential a new secret (shown once). During the grace period the previous
/// secret still verifies; after it, or at once without one, only the new one does.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn rotate_credential(
    db: &Db,
    actor: &Actor,
    credential_id: &str,
    input: KeyRotation,
) -> AppResult<CreatedCredential> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Credential, credential_id)?;
    if !(0..=MAX_GRACE_SECONDS).contains(&input.grace_period_seconds) {
        return Err(AppError::invalid(
            "GracePeriodSeconds",
            format!("The grace period must be between 0 and {MAX_GRACE_SECONDS} seconds."),
        ));
    }
    let keyring = keyring(db)?;
    let now = now_ms();
    let previous_until =
        (input.grace_period_seconds > 0).then(|| now + input.grace_period_seconds * 1000);
    let mut tx = admin.begin(db).await?;
    let credential = load(&mut tx, &id).await?;
    let secret = match credential.jwt.as_ref().map(|j| j.key_source) {
        None => generate_hmac_secret(),
        Some(JwtKeySource::GeneratedSecret) => generate_jwt_secret(),
        Some(_) => {
            return Err(AppError::invalid(
                "Method",
                "Only a generated secret rotates: for a new public key, add a credential with it and remove this one once tokens carry the new signature.",
            ))
        }
    };
    let sealed = keyring.seal(secret.as_bytes(), id.as_str());
    credentials::rotate(&mut tx, id.as_str(), &sealed, previous_until, now).await?;
    let recorded = tx
        .record(
            audit(AuditAction::RotateCredential, &credential)
                .summary(format!("gracePeriodSeconds={}", input.grace_period_seconds)),
        )
        .await?;
    let credential = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(CreatedCredential { credential, secret })
}

/// Removes a credential: requests it signs are refused from the next snapshot on.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_credential(db: &Db, actor: &Actor, credential_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Credential, credential_id)?;
    let mut tx = admin.begin(db).await?;
    let credential = load(&mut tx, &id).await?;
    if !credentials::delete(&mut tx, id.as_str()).await? {
        return Err(AppError::not_found(IdKind::Credential, id.as_str()));
    }
    let recorded = tx
        .record(
            audit(AuditAction::DeleteCredential, &credential)
                .summary(format!("name={}", credential.name)),
        )
        .await?;
    tx.commit_recorded(recorded).await
}

/// Seals every stored secret that another key sealed with the keyring's first key, in one
/// transaction; how many credentials changed. The secrets themselves stay the same, so
/// nothing a check decides changes and no audit entry is written. A secret that does not
/// open with the keyring stops the whole re-seal, naming the credential: nothing is
/// changed then.
pub async fn reseal_secrets(db: &Db) -> AppResult<usize> {
    let keyring = keyring(db)?;
    let mut tx = db.begin_write().await?;
    let rows = credentials::all_sealed(&mut tx).await?;
    let mut changed = 0;
    for row in rows {
        let reseal = |sealed: Option<&str>| -> AppResult<Option<String>> {
            match sealed {
                Some(s) if keyring.needs_reseal(s) => {
                    let secret = keyring.open(s, &row.id).map_err(|e| {
                        AppError::invalid(
                            "Keyring",
                            format!(
                                "The secret of {} does not open with this keyring: {e}",
                                row.id
                            ),
                        )
                    })?;
                    Ok(Some(keyring.seal(&secret, &row.id)))
                }
                other => Ok(other.map(str::to_owned)),
            }
        };
        let secret = reseal(row.secret_sealed.as_deref())?;
        let previous = reseal(row.previous_sealed.as_deref())?;
        if secret != row.secret_sealed || previous != row.previous_sealed {
            credentials::set_sealed(&mut tx, &row.id, secret.as_deref(), previous.as_deref())
                .await?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(changed)
}
