//! Consumer groups.

use crate::domain::records::{ConsumerGroup, ConsumerRef};
use crate::domain::PageRequest;
use crate::store::read::{self, Read};
use crate::store::row::row;
use crate::store::{args, Write};
use crate::store::{update_versioned, Set};

const COLUMNS: &str = "g.id, g.instance_id, g.name, g.description, g.enabled, \
    (SELECT COUNT(*) FROM consumer_group_members m WHERE m.group_id = g.id) AS member_count, \
    g.created_at, g.updated_at, g.version";

row!(impl ConsumerGroup {
    id,
    instance_id,
    name,
    description,
    enabled,
    member_count,
    created_at,
    updated_at,
    version,
});

pub async fn insert(
    conn: &mut impl Write,
    g: &ConsumerGroup,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO consumer_groups (id, instance_id, name, name_key, description, enabled, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            &g.id,
            &g.instance_id,
            &g.name,
            name_key,
            &g.description,
            i64::from(g.enabled),
            g.created_at,
            g.updated_at,
            g.version,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<ConsumerGroup>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM consumer_groups g WHERE g.id = $1");
    conn.first(&sql, &[id.into()]).await
}

/// Groups of an instance by name; `pattern` is a LIKE pattern on the lowercased name.
pub async fn list(
    conn: &mut impl Read,
    instance_id: &str,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<ConsumerGroup>), sqlx::Error> {
    let from = "FROM consumer_groups g WHERE g.instance_id = $1 AND g.name_key LIKE $2 ESCAPE '\\'";
    let args = vec![instance_id.into(), pattern.into()];
    read::page(conn, COLUMNS, from, "g.name_key", args, page, true).await
}

/// Enables or disables the group when `version` is current; returns whether it changed.
pub async fn set_enabled(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    enabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [("enabled", Set::Int(i64::from(enabled)))];
    update_versioned(conn, "consumer_groups", id, version, &columns, now).await
}

/// Bumps the version only when `version` is current; returns whether the row changed.
pub async fn update(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    name: &str,
    name_key: &str,
    description: &str,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("name", Set::Text(name)),
        ("name_key", Set::Text(name_key)),
        ("description", Set::Text(description)),
    ];
    update_versioned(conn, "consumer_groups", id, version, &columns, now).await
}

/// The group's members by name (at most `limit`).
pub async fn members(
    conn: &mut impl Read,
    group_id: &str,
    limit: i64,
) -> Result<Vec<ConsumerRef>, sqlx::Error> {
    conn.all(
        "SELECT c.id, c.name FROM consumer_group_members m JOIN consumers c ON c.id = m.consumer_id \
         WHERE m.group_id = $1 ORDER BY c.name_key LIMIT $2",
        &[group_id.into(), limit.into()],
    )
    .await
}

/// Deletes the group when nothing refers to it any more (checked by the statement itself,
/// so a member or rule added meanwhile keeps it); returns whether it was deleted.
pub async fn delete_if_unused(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "DELETE FROM consumer_groups WHERE id = $1 \
             AND NOT EXISTS (SELECT 1 FROM consumer_group_members WHERE group_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM authorization_rules WHERE group_id = $1)",
            args![id],
        )
        .await?;
    Ok(done == 1)
}

/// Consumers of the instance that are not in the group, by name (at most `limit`): the
/// candidates to add.
pub async fn non_members(
    conn: &mut impl Read,
    instance_id: &str,
    group_id: &str,
    limit: i64,
) -> Result<Vec<ConsumerRef>, sqlx::Error> {
    conn.all(
        "SELECT c.id, c.name FROM consumers c WHERE c.instance_id = $1 AND c.id NOT IN \
         (SELECT consumer_id FROM consumer_group_members WHERE group_id = $2) ORDER BY c.name_key LIMIT $3",
        &[instance_id.into(), group_id.into(), limit.into()],
    )
    .await
}
