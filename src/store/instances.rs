//! Gateway instances.

use crate::domain::records::Instance;
use crate::domain::PageRequest;
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{update_versioned, Set};
use sqlx::AnyConnection;

const COLUMNS: &str =
    "id, name, region, engine_version, status, description, created_at, updated_at, version";

row! {
    struct Row {
        id: String,
        name: String,
        region: String,
        engine_version: String,
        status: String,
        description: String,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl From<Row> for Instance {
    fn from(r: Row) -> Self {
        Instance {
            id: r.id,
            name: r.name,
            region: r.region,
            engine_version: r.engine_version,
            status: r.status,
            description: r.description,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    i: &Instance,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO instances (id, name, name_key, region, engine_version, status, description, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&i.id)
    .bind(&i.name)
    .bind(name_key)
    .bind(&i.region)
    .bind(&i.engine_version)
    .bind(&i.status)
    .bind(&i.description)
    .bind(i.created_at)
    .bind(i.updated_at)
    .bind(i.version)
    .execute(conn)
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Instance>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM instances WHERE id = $1");
    Ok(conn
        .first::<Row>(&sql, &[id.into()])
        .await?
        .map(Instance::from))
}

/// Newest first; `pattern` is a LIKE pattern matched against the lowercased name and the ID.
pub async fn list(
    conn: &mut AnyConnection,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<Instance>), sqlx::Error> {
    let filter = "(name_key LIKE $1 ESCAPE '\\' OR id LIKE $1 ESCAPE '\\')";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM instances WHERE {filter}"
    )))
    .bind(pattern)
    .fetch_one(&mut *conn)
    .await?;
    let sql = format!("SELECT {COLUMNS} FROM instances WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3");
    let rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(pattern)
        .bind(page.limit())
        .bind(page.offset())
        .fetch_all(conn)
        .await?;
    Ok((total, rows.into_iter().map(Instance::from).collect()))
}

/// Bumps the version only when `version` is current; returns whether the row changed.
pub async fn update(
    conn: &mut AnyConnection,
    changed: &Instance,
    version: i64,
    name_key: &str,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("name", Set::Text(&changed.name)),
        ("name_key", Set::Text(name_key)),
        ("engine_version", Set::Text(&changed.engine_version)),
        ("description", Set::Text(&changed.description)),
    ];
    update_versioned(
        conn,
        "instances",
        &changed.id,
        version,
        &columns,
        changed.updated_at,
    )
    .await
}

/// What an instance holds beyond what comes with it (its default group and environment), as
/// `(kind, id, name)`: up to `limit` of each kind, by name.
pub async fn contents(
    conn: &mut AnyConnection,
    instance_id: &str,
    default_group_key: &str,
    limit: i64,
) -> Result<Vec<(String, String, String)>, sqlx::Error> {
    let part = |kind: &str, table: &str, extra: &str| {
        format!(
            "SELECT * FROM (SELECT '{kind}' AS kind, id, name FROM {table} WHERE instance_id = $1{extra} ORDER BY name_key LIMIT $2) AS {table}"
        )
    };
    let sql = [
        part("Consumer", "consumers", ""),
        part("ConsumerGroup", "consumer_groups", " AND name_key <> $3"),
        part("Key", "api_keys", ""),
        part("ModelApi", "model_apis", ""),
        part("Environment", "environments", " AND is_default = 0"),
    ]
    .join(" UNION ALL ");
    sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
        .bind(instance_id)
        .bind(limit)
        .bind(default_group_key)
        .fetch_all(conn)
        .await
}

/// Deletes an instance that holds nothing but its default group and environment (the caller
/// has checked `contents`), with those two; whether it was there.
pub async fn delete(conn: &mut AnyConnection, instance_id: &str) -> Result<bool, sqlx::Error> {
    let mut deleted = 0;
    for sql in [
        "DELETE FROM consumer_groups WHERE instance_id = $1",
        "DELETE FROM environments WHERE instance_id = $1",
        "DELETE FROM instances WHERE id = $1",
    ] {
        deleted = sqlx::query(sql)
            .bind(instance_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(deleted == 1)
}
