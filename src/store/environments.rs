//! Environments of an instance.

use crate::domain::records::{ApiRef, Environment};
use crate::domain::PageRequest;
use crate::store::read::{self, Read};
use crate::store::row::row;
use crate::store::Arg;
use crate::store::{args, Write};
use crate::store::{update_versioned, Set};

const COLUMNS: &str =
    "id, instance_id, name, alias, description, is_default, created_at, updated_at, version";

row!(impl Environment {
    id,
    instance_id,
    name,
    alias,
    description,
    is_default,
    created_at,
    updated_at,
    version,
});

pub async fn insert(
    conn: &mut impl Write,
    e: &Environment,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO environments (id, instance_id, name, name_key, alias, description, is_default, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            &e.id,
            &e.instance_id,
            &e.name,
            name_key,
            &e.alias,
            &e.description,
            i64::from(e.is_default),
            e.created_at,
            e.updated_at,
            e.version,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Environment>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM environments WHERE id = $1");
    conn.first(&sql, &[id.into()]).await
}

/// The environments among `ids` that exist.
pub async fn get_many(
    conn: &mut impl Read,
    ids: &[String],
) -> Result<Vec<Environment>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM environments WHERE id IN ({})",
        super::placeholders(1, ids.len())
    );
    let args: Vec<Arg> = ids.iter().map(Arg::from).collect();
    conn.all(&sql, &args).await
}

/// Environments of an instance, the default first, then by name.
pub async fn list(
    conn: &mut impl Read,
    instance_id: &str,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<Environment>), sqlx::Error> {
    let from = "FROM environments WHERE instance_id = $1 AND name_key LIKE $2 ESCAPE '\\'";
    let args = vec![instance_id.into(), pattern.into()];
    read::page(
        conn,
        COLUMNS,
        from,
        "is_default DESC, name_key",
        args,
        page,
        true,
    )
    .await
}

/// Bumps the version only when `version` is current; returns whether the row changed.
pub async fn update(
    conn: &mut impl Write,
    e: &Environment,
    expected_version: i64,
    name_key: &str,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("name", Set::Text(&e.name)),
        ("name_key", Set::Text(name_key)),
        ("alias", Set::Text(&e.alias)),
        ("description", Set::Text(&e.description)),
    ];
    update_versioned(
        conn,
        "environments",
        &e.id,
        expected_version,
        &columns,
        e.updated_at,
    )
    .await
}

/// Whether it was there.
pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    conn.execute("DELETE FROM environments WHERE id = $1", args![id])
        .await
        .map(|done| done == 1)
}

/// The model APIs deployed to the environment.
pub async fn deployed_apis(conn: &mut impl Read, id: &str) -> Result<Vec<ApiRef>, sqlx::Error> {
    conn.all(
        "SELECT a.id, a.name FROM api_deployments d JOIN model_apis a ON a.id = d.api_id \
         WHERE d.environment_id = $1 ORDER BY a.name_key LIMIT 100",
        &[id.into()],
    )
    .await
}
