//! Consumers and their group memberships.

use crate::domain::credentials::CredentialMethod;
use crate::domain::records::{Consumer, Credential, GroupRef};
use crate::domain::PageRequest;
use crate::store::read::Read;
use crate::store::row::row;
use crate::store::{args, Write};
use crate::store::{placeholders, Arg};
use crate::store::{update_versioned, Set};
use std::collections::HashMap;

const COLUMNS: &str =
    "id, instance_id, name, description, enabled, created_at, updated_at, version";

row! {
    /// A consumer row without its groups and credentials.
    #[derive(Debug, Clone)]
    pub struct ConsumerRow {
        pub id: String,
        pub instance_id: String,
        pub name: String,
        pub description: String,
        pub enabled: bool,
        pub created_at: i64,
        pub updated_at: i64,
        pub version: i64,
    }
}

pub async fn insert(
    conn: &mut impl Write,
    c: &ConsumerRow,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO consumers (id, instance_id, name, name_key, description, enabled, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            &c.id,
            &c.instance_id,
            &c.name,
            name_key,
            &c.description,
            i64::from(c.enabled),
            c.created_at,
            c.updated_at,
            c.version,
        ],
    )
    .await?;
    conn.execute(
        "UPDATE instances SET consumer_count = consumer_count + 1 WHERE id = $1",
        args![&c.instance_id],
    )
    .await
    .map(drop)
}

/// The consumer's own fields, without its groups and credentials (one query fewer).
pub async fn get_row(conn: &mut impl Read, id: &str) -> Result<Option<ConsumerRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM consumers WHERE id = $1");
    conn.first(&sql, &[id.into()]).await
}

/// The consumer with its groups and credentials.
/// The ID of the consumer of `instance_id` with this name (compared as names are: by their
/// unique key); none when there is none, or when the name is not a valid name.
pub async fn id_by_name(
    conn: &mut impl Read,
    instance_id: &str,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    let Ok(name) = crate::domain::Name::parse(name) else {
        return Ok(None);
    };
    let row: Option<IdRow> = conn
        .first(
            "SELECT id FROM consumers WHERE instance_id = $1 AND name_key = $2",
            &[instance_id.into(), name.unique_key().into()],
        )
        .await?;
    Ok(row.map(|r| r.id))
}

super::row::row! {
    struct IdRow {
        id: String,
    }
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Consumer>, sqlx::Error> {
    let Some(row) = get_row(conn, id).await? else {
        return Ok(None);
    };
    Ok(with_relations(conn, vec![row]).await?.pop())
}

/// Attaches groups and credentials to consumer rows, preserving their order.
async fn with_relations(
    conn: &mut impl Read,
    rows: Vec<ConsumerRow>,
) -> Result<Vec<Consumer>, sqlx::Error> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let relations = relations_of(conn, &ids).await?;
    let mut groups_by: HashMap<String, Vec<_>> = HashMap::new();
    for (cid, g) in relations.groups {
        groups_by.entry(cid).or_default().push(g);
    }
    let mut creds_by: HashMap<String, Vec<_>> = HashMap::new();
    for (cid, c) in relations.credentials {
        creds_by.entry(cid).or_default().push(c);
    }
    Ok(rows
        .into_iter()
        .map(|r| Consumer {
            groups: groups_by.remove(&r.id).unwrap_or_default(),
            credentials: creds_by.remove(&r.id).unwrap_or_default(),
            id: r.id,
            instance_id: r.instance_id,
            name: r.name,
            description: r.description,
            enabled: r.enabled,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        })
        .collect())
}

/// From this many rows skipped, a page read counts as slow (see `Read::expect_slow`).
const DEEP_OFFSET: i64 = 10_000;

/// From this many rows skipped, a page's rows are found by ID first (a deferred join).
const DEFERRED_JOIN_OFFSET: i64 = 100;

/// Narrows a consumer list beyond the name: members of a group, holders of a key whose name
/// or visible prefix matches a LIKE pattern.
#[derive(Debug, Clone, Default)]
pub struct ConsumerFilter {
    pub group_id: Option<String>,
    pub key_pattern: Option<String>,
}

/// Newest first within an instance, narrowed to names containing `name` (any case) and by
/// `filter`. `None` when the instance does not exist.
pub async fn list(
    conn: &mut impl Read,
    instance_id: &str,
    name: &str,
    filter: &ConsumerFilter,
    page: PageRequest,
) -> Result<Option<(i64, Vec<Consumer>)>, sqlx::Error> {
    let mut conditions = String::from("instance_id = $1");
    let mut args = vec![Arg::Text(instance_id.to_owned())];
    let needle = name.trim().to_ascii_lowercase();
    if !needle.is_empty() {
        super::search::narrow_to_name(conn.backend(), &needle, &mut conditions, &mut args);
    }
    if let Some(g) = &filter.group_id {
        args.push(Arg::Text(g.clone()));
        conditions.push_str(&format!(
            " AND id IN (SELECT consumer_id FROM consumer_group_members WHERE group_id = ${})",
            args.len()
        ));
    }
    if let Some(k) = &filter.key_pattern {
        args.push(Arg::Text(k.clone()));
        let n = args.len();
        conditions.push_str(&format!(
            " AND id IN (SELECT consumer_id FROM api_keys WHERE instance_id = $1 AND consumer_id IS NOT NULL \
             AND (name_key LIKE ${n} ESCAPE '\\' OR lower(prefix) LIKE ${n} ESCAPE '\\'))"
        ));
    }
    // Searching or filtering reads many rows, as does skipping to a deep page.
    let narrowed = args.len() > 1;
    // Past the first pages, the page's IDs come from the (instance, created) index alone and
    // only those rows are read whole, however deep the page; near the start a plain query
    // is cheaper.
    let n = args.len();
    let (limit, offset) = (n + 1, n + 2);
    let sql = if page.offset() >= DEFERRED_JOIN_OFFSET {
        format!(
            "SELECT {COLUMNS} FROM consumers WHERE id IN \
             (SELECT id FROM consumers WHERE {conditions} ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}) \
             ORDER BY created_at DESC, id DESC"
        )
    } else {
        format!(
            "SELECT {COLUMNS} FROM consumers WHERE {conditions} \
             ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}"
        )
    };
    let mut page_args = args;
    page_args.extend([Arg::Int(page.limit()), Arg::Int(page.offset())]);
    if narrowed || page.offset() >= DEEP_OFFSET {
        conn.expect_slow();
    }
    let rows: Vec<ConsumerRow> = conn.all(&sql, &page_args).await?;
    // A page that is not full tells the total; its rows tell that the instance exists.
    if let Some(total) = page.total_if_last(rows.len()).filter(|_| !rows.is_empty()) {
        return Ok(Some((total, with_relations(conn, rows).await?)));
    }
    // Otherwise one query answers whether the instance exists and how many consumers match:
    // without any narrowing the instance's counter is the total, else the matches are counted.
    page_args.truncate(n);
    let total_expr = if narrowed {
        format!("(SELECT COUNT(*) FROM consumers WHERE {conditions})")
    } else {
        "consumer_count".to_owned()
    };
    let count_sql = format!("SELECT {total_expr} FROM instances WHERE id = $1");
    if narrowed {
        conn.expect_slow();
    }
    let Some(total) = conn.number(&count_sql, &page_args).await? else {
        return Ok(None);
    };
    Ok(Some((total, with_relations(conn, rows).await?)))
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
    update_versioned(conn, "consumers", id, version, &columns, now).await
}

/// Enables or disables the consumer when `version` is current; returns whether it changed.
pub async fn set_enabled(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    enabled: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [("enabled", Set::Int(i64::from(enabled)))];
    update_versioned(conn, "consumers", id, version, &columns, now).await
}

/// Deletes the consumer and counts it out of its instance; whether it was there.
pub async fn delete(
    conn: &mut impl Write,
    id: &str,
    instance_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute("DELETE FROM consumers WHERE id = $1", args![id])
        .await?;
    if done > 0 {
        conn.execute(
            "UPDATE instances SET consumer_count = consumer_count - 1 WHERE id = $1",
            args![instance_id],
        )
        .await?;
    }
    Ok(done > 0)
}

pub async fn add_membership(
    conn: &mut impl Write,
    group_id: &str,
    consumer_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO consumer_group_members (group_id, consumer_id, created_at) VALUES ($1, $2, $3)",
        args![group_id, consumer_id, now],
    )
    .await
        .map(drop)
}

/// Removes a membership; false when the consumer was not in the group.
pub async fn remove_membership(
    conn: &mut impl Write,
    group_id: &str,
    consumer_id: &str,
) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute(
            "DELETE FROM consumer_group_members WHERE group_id = $1 AND consumer_id = $2",
            args![group_id, consumer_id],
        )
        .await?;
    Ok(done == 1)
}

row! {
    /// A group membership or a credential (bound key, JWT, HMAC) of a consumer, read together
    /// in one query.
    struct RelationRow {
        consumer_id: String,
        kind: String,
        id: String,
        name: String,
        prefix: String,
        enabled: bool,
        version: i64,
        rotatable: bool,
    }
}

/// What the consumers of a page belong to and hold, each ordered by name.
#[derive(Default)]
struct Relations {
    pub groups: Vec<(String, GroupRef)>,
    pub credentials: Vec<(String, Credential)>,
}

/// The groups of each of `consumer_ids` and the keys bound to them, as
/// `(consumer_id, group)` and `(consumer_id, credential)`.
async fn relations_of(
    conn: &mut impl Read,
    consumer_ids: &[String],
) -> Result<Relations, sqlx::Error> {
    if consumer_ids.is_empty() {
        return Ok(Relations::default());
    }
    let ids = placeholders(1, consumer_ids.len());
    let sql = format!(
        "SELECT m.consumer_id, 'group' AS kind, g.id, g.name, '' AS prefix, g.enabled, g.version, CAST(0 AS BIGINT) AS rotatable, g.name_key AS sort_key \
         FROM consumer_group_members m JOIN consumer_groups g ON g.id = m.group_id WHERE m.consumer_id IN ({ids}) \
         UNION ALL \
         SELECT consumer_id, 'ApiKey' AS kind, id, name, prefix, enabled, version, CAST(1 AS BIGINT) AS rotatable, name_key AS sort_key FROM api_keys WHERE consumer_id IN ({ids}) \
         UNION ALL \
         SELECT consumer_id, method AS kind, id, name, COALESCE(access_key, issuer, '') AS prefix, enabled, version, \
         CAST(CASE WHEN method = 'Hmac' OR key_source = 'GeneratedSecret' THEN 1 ELSE 0 END AS BIGINT) AS rotatable, name_key AS sort_key \
         FROM credentials WHERE consumer_id IN ({ids}) \
         ORDER BY sort_key"
    );
    let args: Vec<Arg> = consumer_ids.iter().map(Arg::from).collect();
    let mut out = Relations::default();
    for r in conn.all::<RelationRow>(&sql, &args).await? {
        if r.kind == "group" {
            out.groups.push((
                r.consumer_id,
                GroupRef {
                    id: r.id,
                    name: r.name,
                },
            ));
        } else {
            // 'ApiKey', or a credential's method (the table allows only those).
            let method = CredentialMethod::parse(&r.kind).unwrap_or(CredentialMethod::ApiKey);
            out.credentials.push((
                r.consumer_id,
                Credential {
                    method,
                    key_id: (method == CredentialMethod::ApiKey).then(|| r.id.clone()),
                    credential_id: r.id,
                    name: r.name,
                    identifier: r.prefix,
                    enabled: r.enabled,
                    version: r.version,
                    rotatable: r.rotatable,
                },
            ));
        }
    }
    Ok(out)
}
