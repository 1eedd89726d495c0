//! A consumer's credentials: binding an unbound key of its instance, and unbinding it.

use super::{finish_change, load};
use crate::domain::records::Consumer;
use crate::domain::IdKind;
use crate::error::{AppError, AppResult};
use crate::service::change::AuditAction;
use crate::service::{parse_id, parse_ids, Actor};
use crate::store::{keys, now_ms, Db};

/// Binds an unbound key of the consumer's instance to the consumer.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn bind_credential(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    key_id: &str,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let kid = parse_ids(IdKind::Key, "KeyId", &[key_id.to_owned()])?.remove(0);
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    if !keys::bind(
        &mut tx,
        kid.as_str(),
        &consumer.instance_id,
        id.as_str(),
        now_ms(),
    )
    .await?
    {
        return Err(AppError::invalid(
            "KeyId",
            format!("The key {kid} does not exist in this instance or is already bound."),
        ));
    }
    finish_change(
        tx,
        &consumer,
        AuditAction::BindCredential,
        format!("key={kid}"),
    )
    .await
}

#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn unbind_credential(
    db: &Db,
    actor: &Actor,
    consumer_id: &str,
    key_id: &str,
) -> AppResult<Consumer> {
    let admin = actor.admin()?;
    let id = parse_id(IdKind::Consumer, consumer_id)?;
    let kid = parse_id(IdKind::Key, key_id)?;
    let mut tx = admin.begin(db).await?;
    let consumer = load(&mut tx, &id).await?;
    if !keys::unbind(&mut tx, kid.as_str(), id.as_str(), now_ms()).await? {
        return Err(AppError::invalid(
            "KeyId",
            format!("The key {kid} is not bound to this consumer."),
        ));
    }
    finish_change(
        tx,
        &consumer,
        AuditAction::UnbindCredential,
        format!("key={kid}"),
    )
    .await
}
