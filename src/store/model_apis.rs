//! Model APIs and the environments they are deployed to.

use crate::domain::records::{EnvironmentRef, ModelApi};
use crate::domain::PageRequest;
use crate::store::read::{self, Read};
use crate::store::row::row;
use crate::store::{args, Write};
use crate::store::{placeholders, Arg};
use crate::store::{update_versioned, Set};
use std::collections::HashMap;

const COLUMNS: &str = "id, instance_id, resource_no, name, base_path, ai_protocols, \
    model_category, description, created_at, updated_at, version";

row! {
    /// A model API without its deployments; `ai_protocols` is stored comma-separated
    /// (protocol names have no commas).
    struct Row {
        id: String,
        instance_id: String,
        resource_no: i64,
        name: String,
        base_path: String,
        ai_protocols: String,
        model_category: String,
        description: String,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl Row {
    fn into_api(self, environments: Vec<EnvironmentRef>) -> ModelApi {
        ModelApi {
            ai_protocols: self
                .ai_protocols
                .split(',')
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            id: self.id,
            instance_id: self.instance_id,
            resource_no: self.resource_no,
            name: self.name,
            base_path: self.base_path,
            model_category: self.model_category,
            description: self.description,
            environments,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

/// The APIs of `rows`, each with the environments it is deployed to.
async fn with_deployments(
    conn: &mut impl Read,
    rows: Vec<Row>,
) -> Result<Vec<ModelApi>, sqlx::Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut envs: HashMap<String, Vec<EnvironmentRef>> = HashMap::new();
    for (api, env) in deployments_of(conn, &ids).await? {
        envs.entry(api).or_default().push(env);
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let e = envs.remove(&r.id).unwrap_or_default();
            r.into_api(e)
        })
        .collect())
}

/// The next numeric resource ID. Two concurrent creates may pick the same one; the unique
/// index refuses the second, and the service retries.
pub async fn next_resource_no(conn: &mut impl Write) -> Result<i64, sqlx::Error> {
    let next = conn
        .number(
            "SELECT COALESCE(MAX(resource_no), 0) + 1 FROM model_apis",
            &[],
        )
        .await?;
    Ok(next.unwrap_or(1))
}

/// Inserts the API (not its deployments: `set_deployments`).
pub async fn insert(
    conn: &mut impl Write,
    a: &ModelApi,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO model_apis (id, instance_id, resource_no, name, name_key, base_path, ai_protocols, model_category, description, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        args![
            &a.id,
            &a.instance_id,
            a.resource_no,
            &a.name,
            name_key,
            &a.base_path,
            a.ai_protocols.join(","),
            &a.model_category,
            &a.description,
            a.created_at,
            a.updated_at,
            a.version,
        ],
    )
    .await
    .map(drop)
}

/// Bumps the version only when `version` is current; returns whether the row changed. The
/// deployments are `set_deployments`' business.
pub async fn update(
    conn: &mut impl Write,
    a: &ModelApi,
    expected_version: i64,
    name_key: &str,
) -> Result<bool, sqlx::Error> {
    let protocols = a.ai_protocols.join(",");
    let columns = [
        ("name", Set::Text(&a.name)),
        ("name_key", Set::Text(name_key)),
        ("base_path", Set::Text(&a.base_path)),
        ("ai_protocols", Set::Text(&protocols)),
        ("model_category", Set::Text(&a.model_category)),
        ("description", Set::Text(&a.description)),
    ];
    update_versioned(
        conn,
        "model_apis",
        &a.id,
        expected_version,
        &columns,
        a.updated_at,
    )
    .await
}

pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute("DELETE FROM model_apis WHERE id = $1", args![id])
        .await?;
    Ok(done == 1)
}

/// Replaces the environments an API is deployed to.
pub async fn set_deployments(
    conn: &mut impl Write,
    api_id: &str,
    environment_ids: &[String],
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM api_deployments WHERE api_id = $1",
        args![api_id],
    )
    .await?;
    for env in environment_ids {
        conn.execute(
            "INSERT INTO api_deployments (api_id, environment_id, created_at) VALUES ($1, $2, $3)",
            args![api_id, env, now],
        )
        .await?;
    }
    Ok(())
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<ModelApi>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM model_apis WHERE id = $1");
    let Some(row) = conn.first::<Row>(&sql, &[id.into()]).await? else {
        return Ok(None);
    };
    Ok(with_deployments(conn, vec![row]).await?.pop())
}

/// APIs by ID, in no particular order.
pub async fn get_many(conn: &mut impl Read, ids: &[String]) -> Result<Vec<ModelApi>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM model_apis WHERE id IN ({})",
        placeholders(1, ids.len())
    );
    let args: Vec<Arg> = ids.iter().map(Arg::from).collect();
    let rows = conn.all(&sql, &args).await?;
    with_deployments(conn, rows).await
}

/// Newest first within an instance; `pattern` is a LIKE pattern on the lowercased name.
pub async fn list(
    conn: &mut impl Read,
    instance_id: &str,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<ModelApi>), sqlx::Error> {
    let from = "FROM model_apis WHERE instance_id = $1 AND name_key LIKE $2 ESCAPE '\\'";
    let args = vec![instance_id.into(), pattern.into()];
    let order = "created_at DESC, id DESC";
    let (total, rows) = read::page(conn, COLUMNS, from, order, args, page, true).await?;
    Ok((total, with_deployments(conn, rows).await?))
}

row! {
    /// An environment an API is deployed to.
    struct DeploymentRow {
        api_id: String,
        id: String,
        name: String,
    }
}

/// `(api_id, environment)` for every deployment of the given APIs.
async fn deployments_of(
    conn: &mut impl Read,
    api_ids: &[String],
) -> Result<Vec<(String, EnvironmentRef)>, sqlx::Error> {
    if api_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT d.api_id, e.id, e.name FROM api_deployments d JOIN environments e ON e.id = d.environment_id \
         WHERE d.api_id IN ({}) ORDER BY e.is_default DESC, e.name_key",
        placeholders(1, api_ids.len())
    );
    let args: Vec<Arg> = api_ids.iter().map(Arg::from).collect();
    Ok(conn
        .all::<DeploymentRow>(&sql, &args)
        .await?
        .into_iter()
        .map(|d| {
            (
                d.api_id,
                EnvironmentRef {
                    id: d.id,
                    name: d.name,
                },
            )
        })
        .collect())
}

/// Whether the API is deployed to the environment.
pub async fn is_deployed(
    conn: &mut impl Read,
    api_id: &str,
    environment_id: &str,
) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM api_deployments WHERE api_id = $1 AND environment_id = $2";
    let n = conn
        .number(sql, &[api_id.into(), environment_id.into()])
        .await?;
    Ok(n.unwrap_or(0) > 0)
}
