//! Environments of an instance.

use crate::domain::records::Environment;
use crate::domain::PageRequest;
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::Arg;
use crate::store::{update_versioned, Set};
use sqlx::AnyConnection;

const COLUMNS: &str =
    "id, instance_id, name, alias, description, is_default, created_at, updated_at, version";

row! {
    struct Row {
        id: String,
        instance_id: String,
        name: String,
        alias: String,
        description: String,
        is_default: i64,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for Environment {
    fn from(r: Row) -> Self {
        Environment {
            id: r.id,
            instance_id: r.instance_id,
            name: r.name,
            alias: r.alias,
            description: r.description,
            is_default: r.is_default != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    e: &Environment,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO environments (id, instance_id, name, name_key, alias, description, is_default, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(&e.instance_id)
    .bind(&e.name)
    .bind(name_key)
    .bind(&e.alias)
    .bind(&e.description)
    .bind(i64::from(e.is_default))
    .bind(e.created_at)
    .bind(e.updated_at)
    .bind(e.version)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn get(conn: &mut AnyConnection, id: &str) -> Result<Option<Environment>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM environments WHERE id = $1");
    Ok(sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(id)
        .fetch_optional(conn)
        .await?
        .map(Environment::from))
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
    Ok(conn
        .all::<Row>(&sql, &args)
        .await?
        .into_iter()
        .map(Environment::from)
        .collect())
}

/// Environments of an instance, the default first, then by name.
pub async fn list(
    conn: &mut AnyConnection,
    instance_id: &str,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<Environment>), sqlx::Error> {
    let filter = "instance_id = $1 AND name_key LIKE $2 ESCAPE '\\'";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM environments WHERE {filter}"
    )))
    .bind(instance_id)
    .bind(pattern)
    .fetch_one(&mut *conn)
    .await?;
    let sql = format!("SELECT {COLUMNS} FROM environments WHERE {filter} ORDER BY is_default DESC, name_key LIMIT $3 OFFSET $4");
    let rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(instance_id)
        .bind(pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    Ok((total, rows.into_iter().map(Environment::from).collect()))
}

/// Bumps the version only when `version` is current; returns whether the row changed.
pub async fn update(
    conn: &mut AnyConnection,
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
pub async fn delete(conn: &mut AnyConnection, id: &str) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM environments WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
}

/// The model APIs deployed to the environment, as `(id, name)`.
pub async fn deployed_apis(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT a.id, a.name FROM api_deployments d JOIN model_apis a ON a.id = d.api_id \
         WHERE d.environment_id = $1 ORDER BY a.name_key LIMIT 100",
    )
    .bind(id)
    .fetch_all(conn)
    .await
}
