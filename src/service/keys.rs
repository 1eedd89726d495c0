//! API keys: generated server-side, revealed once, stored as a hash.

use super::change::{Audit, AuditAction, Deletable};
use super::{parse_id, parse_name, Actor};
use crate::domain::authorization::MAX_EXPIRE_AT;
use crate::domain::inputs::{KeyRotation, KeyUpdate, NewKey};
use crate::domain::keys::PlainApiKey;
use crate::domain::records::{ApiKey, CreatedKey, Dependency, DependencyKind};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::{AppError, AppResult};
use crate::store::read::Read;
use crate::store::Write;
use crate::store::{keys, now_ms, Db};

/// The longest grace period a rotation may give the old value: 30 days.
pub const MAX_GRACE_SECONDS: i64 = 30 * 24 * 3600;

/// A key's expiry must lie in the future (and before year 9999).
fn parse_expiry(expires_at: Option<i64>, now: i64) -> AppResult<Option<i64>> {
    match expires_at {
        Some(t) if t <= now || t > MAX_EXPIRE_AT => Err(AppError::invalid(
            "ExpiresAt",
            "The expiry time must be in the future (milliseconds since the epoch).",
        )),
        other => Ok(other),
    }
}

async fn load(conn: &mut impl Read, id: &ResourceId) -> AppResult<ApiKey> {
    keys::get(conn, id.as_str())
        .await?
        .ok_or_else(|| AppError::not_found(IdKind::Key, id.as_str()))
}

/// Generates a key from the OS CSPRNG. The answer is the only place its value ever appears.
const VALUE_IN_USE: &str = "This value is already in use by another key; choose another.";

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_key(db: &Db, actor: &Actor, input: NewKey) -> AppResult<CreatedKey> {
    let admin = actor.admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let name = parse_name(&input.name)?;
    let plain = match input.value.as_deref() {
        None => PlainApiKey::generate(),
        Some(v) => {
            let plain =
                PlainApiKey::custom(v).map_err(|e| AppError::invalid("Value", e.to_string()))?;
            let mut conn = db.reader().await?;
            if keys::value_in_use(&mut conn, &plain.hash()).await? {
                return Err(AppError::invalid("Value", VALUE_IN_USE));
            }
            plain
        }
    };
    let now = now_ms();
    let expires_at = parse_expiry(input.expires_at, now)?;
    let key = ApiKey {
        id: ResourceId::generate(IdKind::Key).to_string(),
        instance_id: instance.id,
        name: name.to_string(),
        prefix: plain.visible_prefix(),
        consumer: None,
        enabled: true,
        expires_at,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut tx = admin.begin(db).await?;
    keys::insert(&mut tx, &key, &name.unique_key(), &plain.hash())
        .await
        .map_err(|e| {
            if crate::store::breaks_unique(&e, "key_hash") {
                // Another key took the same custom value since it was checked.
                AppError::invalid("Value", VALUE_IN_USE)
            } else {
                super::name_taken(e, "key", &name)
            }
        })?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::CreateKey, IdKind::Key, &key.id)
                .instance(&key.instance_id)
                .summary(format!(
                    "name={name} value={}",
                    if input.value.is_some() {
                        "custom"
                    } else {
                        "generated"
                    }
                )),
        )
        .await?;
    tx.commit_recorded(recorded).await?;
    Ok(CreatedKey {
        key,
        value: plain.expose().to_owned(),
    })
}

/// Keys of an instance; `unbound_only` lists the keys a consumer can still take.
pub async fn list_keys(
    db: &Db,
    instance_id: &str,
    search: &str,
    unbound_only: bool,
    page: PageRequest,
) -> AppResult<Page<ApiKey>> {
    let instance = super::require_instance(db, instance_id).await?;
    let pattern = super::search_pattern(search)?;
    let mut conn = db.reader().await?;
    let (total_size, items) =
        keys::list(&mut conn, &instance.id, &pattern, unbound_only, page).await?;
    Ok(page.answer(total_size, items))
}

pub async fn get_key(db: &Db, key_id: &str) -> AppResult<ApiKey> {
    let id = parse_id(IdKind::Key, key_id)?;
    let mut conn = db.reader().await?;
    load(&mut conn, &id).await
}

/// Enables or disables a key and/or sets or clears its expiry. A disabled or expired key is
/// refused by enforcement but stays bound.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn update_key(
    db: &Db,
    actor: &Actor,
    key_id: &str,
    input: KeyUpdate,
) -> AppResult<ApiKey> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Key, key_id)?;
    let now = now_ms();
    let expiry = input.expires_at.map(|e| parse_expiry(e, now)).transpose()?;
    let mut tx = admin.begin(db).await?;
    let key = load(&mut tx, &id).await?;
    super::at_version(keys::claim_version(&mut tx, id.as_str(), input.version, now).await?)?;
    let mut changes = Vec::new();
    if let Some(enabled) = input.enabled {
        keys::set_enabled(&mut tx, id.as_str(), enabled, now).await?;
        changes.push(format!("enabled={enabled}"));
    }
    if let Some(expires_at) = expiry {
        keys::set_expiry(&mut tx, id.as_str(), expires_at, now).await?;
        changes.push(match expires_at {
            Some(t) => format!("expiresAt={t}"),
            None => "expiresAt=never".into(),
        });
    }
    if changes.is_empty() {
        return Ok(key);
    }
    let recorded = tx
        .record(
            Audit::new(AuditAction::UpdateKey, IdKind::Key, id.as_str())
                .instance(&key.instance_id)
                .summary(changes.join(" ")),
        )
        .await?;
    let key = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(key)
}

/// Gives the key a new value (shown once). During the grace period the previous value
/// still works; after it, or at once without one, only the new value does.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn rotate_key(
    db: &Db,
    actor: &Actor,
    key_id: &str,
    input: KeyRotation,
) -> AppResult<CreatedKey> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Key, key_id)?;
    if !(0..=MAX_GRACE_SECONDS).contains(&input.grace_period_seconds) {
        return Err(AppError::invalid(
            "GracePeriodSeconds",
            format!("The grace period must be between 0 and {MAX_GRACE_SECONDS} seconds."),
        ));
    }
    let now = now_ms();
    let previous_until =
        (input.grace_period_seconds > 0).then(|| now + input.grace_period_seconds * 1000);
    let plain = PlainApiKey::generate();
    let mut tx = admin.begin(db).await?;
    let key = load(&mut tx, &id).await?;
    keys::rotate(
        &mut tx,
        id.as_str(),
        &plain.hash(),
        &plain.visible_prefix(),
        previous_until,
        now,
    )
    .await?;
    let recorded = tx
        .record(
            Audit::new(AuditAction::RotateKey, IdKind::Key, id.as_str())
                .instance(&key.instance_id)
                .summary(format!("gracePeriodSeconds={}", input.grace_period_seconds)),
        )
        .await?;
    let key = load(&mut tx, &id).await?;
    tx.commit_recorded(recorded).await?;
    Ok(CreatedKey {
        key,
        value: plain.expose().to_owned(),
    })
}

/// What keeps the key from being deleted: the consumer it is bound to.
fn key_dependencies(key: &ApiKey) -> Vec<Dependency> {
    key.consumer
        .iter()
        .map(|c| Dependency {
            kind: DependencyKind::BoundConsumer,
            id: c.id.clone(),
            name: c.name.clone(),
            instance_id: key.instance_id.clone(),
            consumer_id: None,
        })
        .collect()
}

pub async fn check_key_dependencies(db: &Db, key_id: &str) -> AppResult<Vec<Dependency>> {
    Ok(key_dependencies(&get_key(db, key_id).await?))
}

/// Deletes an unbound key; a bound one is refused with the consumer it is bound to. The
/// delete itself is conditional on the key being unbound, so a bind that races it wins.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn delete_key(db: &Db, actor: &Actor, key_id: &str) -> AppResult<()> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Key, key_id)?;
    let mut tx = admin.begin(db).await?;
    let key = load(&mut tx, &id).await?;
    let audit = Audit::new(AuditAction::DeleteKey, IdKind::Key, id.as_str())
        .instance(&key.instance_id)
        .summary(format!("name={}", key.name));
    tx.delete_checked(db, audit, &key).await
}

impl Deletable for ApiKey {
    async fn dependencies(&self, conn: &mut impl Read) -> AppResult<Vec<Dependency>> {
        // Read again: a bind may have committed since the key was loaded.
        let id = parse_id(IdKind::Key, &self.id)?;
        Ok(key_dependencies(&load(conn, &id).await?))
    }

    async fn delete(&self, conn: &mut impl Write) -> Result<bool, crate::store::Error> {
        keys::delete_unbound(conn, &self.id).await
    }
}
