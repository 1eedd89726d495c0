//! API keys: generated server-side, revealed once, stored as a hash.

use super::{parse_name, Actor};
use crate::domain::inputs::NewKey;
use crate::domain::keys::PlainApiKey;
use crate::domain::records::{ApiKey, CreatedKey};
use crate::domain::{IdKind, Page, PageRequest, ResourceId};
use crate::error::AppResult;
use crate::store::{keys, now_ms, Db};

/// Generates a key from the OS CSPRNG. The answer is the only place its value ever appears.
#[tracing::instrument(skip_all, fields(actor = %actor.user.username))]
pub async fn create_key(db: &Db, actor: &Actor, input: NewKey) -> AppResult<CreatedKey> {
    actor.require_admin()?;
    let instance = super::require_instance(db, &input.instance_id).await?;
    let name = parse_name(&input.name)?;
    let plain = PlainApiKey::generate();
    let now = now_ms();
    let key = ApiKey {
        id: ResourceId::generate(IdKind::Key).to_string(),
        instance_id: instance.id,
        name: name.to_string(),
        prefix: plain.visible_prefix(),
        consumer: None,
        enabled: true,
        expires_at: None,
        created_at: now,
        updated_at: now,
    };
    let mut tx = db.pool.begin().await?;
    keys::insert(&mut tx, &key, &name.unique_key(), &plain.hash())
        .await
        .map_err(|e| super::name_taken(e, "key", &name))?;
    actor
        .audit(
            &mut tx,
            Some(&key.instance_id),
            "CreateKey",
            IdKind::Key,
            &key.id,
            format!("name={name}"),
        )
        .await?;
    tx.commit().await?;
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
    let mut conn = db.pool.acquire().await?;
    let (total_size, items) =
        keys::list(&mut conn, &instance.id, &pattern, unbound_only, page).await?;
    Ok(page.answer(total_size, items))
}
