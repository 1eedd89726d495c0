//! API keys. Only the hash and a short visible prefix of a key's value are stored.

use crate::domain::records::{ApiKey, ConsumerRef};
use crate::domain::PageRequest;
use crate::store::read::{self, Read};
use crate::store::row::row;
use crate::store::{args, Write};

const COLUMNS: &str =
    "k.id, k.instance_id, k.name, k.prefix, k.consumer_id, c.name AS consumer_name, \
     k.enabled, k.expires_at, k.created_at, k.updated_at, k.version";

row! {
    struct Row {
        id: String,
        instance_id: String,
        name: String,
        prefix: String,
        consumer_id: Option<String>,
        consumer_name: Option<String>,
        enabled: bool,
        expires_at: Option<i64>,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for ApiKey {
    fn from(r: Row) -> Self {
        ApiKey {
            id: r.id,
            instance_id: r.instance_id,
            name: r.name,
            prefix: r.prefix,
            consumer: r
                .consumer_id
                .zip(r.consumer_name)
                .map(|(id, name)| ConsumerRef { id, name }),
            enabled: r.enabled,
            expires_at: r.expires_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// Inserts a new, unbound key with the hash of its value.
pub async fn insert(
    conn: &mut impl Write,
    k: &ApiKey,
    name_key: &str,
    key_hash: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO api_keys (id, instance_id, name, name_key, prefix, key_hash, consumer_id, enabled, expires_at, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7, $8, $9, $10, 1)",
        args![
            &k.id,
            &k.instance_id,
            &k.name,
            name_key,
            &k.prefix,
            key_hash,
            i64::from(k.enabled),
            k.expires_at,
            k.created_at,
            k.updated_at,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<ApiKey>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys k LEFT JOIN consumers c ON c.id = k.consumer_id WHERE k.id = $1");
    Ok(conn
        .first::<Row>(&sql, &[id.into()])
        .await?
        .map(ApiKey::from))
}

/// Keys of an instance by name; `pattern` matches the lowercased name or the prefix.
/// `unbound_only` narrows to keys that can still be bound.
pub async fn list(
    conn: &mut impl Read,
    instance_id: &str,
    pattern: &str,
    unbound_only: bool,
    page: PageRequest,
) -> Result<(i64, Vec<ApiKey>), sqlx::Error> {
    let from =
        format!(
        "FROM api_keys k LEFT JOIN consumers c ON c.id = k.consumer_id WHERE k.instance_id = $1 \
         AND (k.name_key LIKE $2 ESCAPE '\\' OR lower(k.prefix) LIKE $2 ESCAPE '\\'){}",
        if unbound_only { " AND k.consumer_id IS NULL" } else { "" }
    );
    let args = vec![instance_id.into(), pattern.into()];
    let (total, rows) =
        read::page::<Row>(conn, COLUMNS, &from, "k.name_key", args, page, true).await?;
    Ok((total, rows.into_iter().map(ApiKey::from).collect()))
}

/// Binds an unbound key of the instance to a consumer. False when the key is already bound
/// (the condition, not a read before the write, is what keeps a key to one consumer).
pub async fn bind(
    conn: &mut impl Write,
    key_id: &str,
    instance_id: &str,
    consumer_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET consumer_id = $1, updated_at = $2, version = version + 1 \
             WHERE id = $3 AND instance_id = $4 AND consumer_id IS NULL",
            args![consumer_id, now, key_id, instance_id],
        )
        .await?;
    Ok(done == 1)
}

/// Unbinds a key from the given consumer; false when it was not bound to it.
pub async fn unbind(
    conn: &mut impl Write,
    key_id: &str,
    consumer_id: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET consumer_id = NULL, updated_at = $1, version = version + 1 WHERE id = $2 AND consumer_id = $3",
            args![now, key_id, consumer_id],
        )
        .await?;
    Ok(done == 1)
}

/// Takes the key's `version` for a change, or answers false when the key is at another one
/// (someone changed it since the caller read it). The change's own updates then follow in the
/// same transaction.
pub async fn claim_version(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET updated_at = $1 WHERE id = $2 AND version = $3",
            args![now, id, version],
        )
        .await?;
    Ok(done == 1)
}

/// Enables or disables a key; false when it does not exist.
pub async fn set_enabled(
    conn: &mut impl Write,
    key_id: &str,
    enabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET enabled = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            args![i64::from(enabled), now, key_id],
        )
        .await?;
    Ok(done == 1)
}

/// Sets or clears a key's expiry; false when it does not exist.
pub async fn set_expiry(
    conn: &mut impl Write,
    key_id: &str,
    expires_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET expires_at = $1, updated_at = $2, version = version + 1 WHERE id = $3",
            args![expires_at, now, key_id],
        )
        .await?;
    Ok(done == 1)
}

/// Gives a key a new value. With a grace period the old value keeps working until
/// `previous_expires_at`; without one it stops at once (any older previous value too).
pub async fn rotate(
    conn: &mut impl Write,
    key_id: &str,
    new_hash: &str,
    new_prefix: &str,
    previous_expires_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "UPDATE api_keys SET previous_hash = CASE WHEN $1 IS NULL THEN NULL ELSE key_hash END, \
             previous_expires_at = $1, key_hash = $2, prefix = $3, updated_at = $4, version = version + 1 \
             WHERE id = $5",
            args![previous_expires_at, new_hash, new_prefix, now, key_id],
        )
        .await?;
    Ok(done == 1)
}

/// Deletes an unbound key; false when it is bound (or gone), which the caller reports.
pub async fn delete_unbound(conn: &mut impl Write, key_id: &str) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "DELETE FROM api_keys WHERE id = $1 AND consumer_id IS NULL",
            args![key_id],
        )
        .await?;
    Ok(done == 1)
}

/// True when a key's current or previous value has this hash.
pub async fn value_in_use(conn: &mut impl Read, key_hash: &str) -> Result<bool, sqlx::Error> {
    let n = conn
        .number(
            "SELECT COUNT(*) FROM api_keys WHERE key_hash = $1 OR previous_hash = $1",
            &[key_hash.into()],
        )
        .await?;
    Ok(n.unwrap_or(0) > 0)
}
