//! Gateway instances.

use crate::domain::records::Instance;
use crate::domain::PageRequest;
use crate::store::read::{self, Read};
use crate::store::row::row;
use crate::store::{args, Write};
use crate::store::{update_versioned, Set};

const COLUMNS: &str =
    "id, name, region, engine_version, status, description, created_at, updated_at, version";

row!(impl Instance {
    id,
    name,
    region,
    engine_version,
    status,
    description,
    created_at,
    updated_at,
    version,
});

row! {
    /// Something an instance holds: its kind (a `DependencyKind` name), ID and name.
    pub struct Held {
        pub kind: String,
        pub id: String,
        pub name: String,
    }
}

pub async fn insert(
    conn: &mut impl Write,
    i: &Instance,
    name_key: &str,
) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO instances (id, name, name_key, region, engine_version, status, description, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        args![
            &i.id,
            &i.name,
            name_key,
            &i.region,
            &i.engine_version,
            &i.status,
            &i.description,
            i.created_at,
            i.updated_at,
            i.version,
        ],
    )
    .await
    .map(drop)
}

pub async fn get(conn: &mut impl Read, id: &str) -> Result<Option<Instance>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM instances WHERE id = $1");
    conn.first(&sql, &[id.into()]).await
}

/// Newest first; `pattern` is a LIKE pattern matched against the lowercased name and the ID.
pub async fn list(
    conn: &mut impl Read,
    pattern: &str,
    page: PageRequest,
) -> Result<(i64, Vec<Instance>), sqlx::Error> {
    let from = "FROM instances WHERE (name_key LIKE $1 ESCAPE '\\' OR id LIKE $1 ESCAPE '\\')";
    let order = "created_at DESC, id DESC";
    // Not announced as slow: one row per gateway, a few hundred at most, read in well under
    // a millisecond. A read announced as slow hands the async worker over to another thread
    // (see `lite::off_the_worker`); at every console page that moved the server's work
    // across dozens of threads, each of which then kept its own allocator pages (`make
    // soak`: 46 worker threads, resident memory +40 % after the warm-up).
    read::page(
        conn,
        COLUMNS,
        from,
        order,
        vec![pattern.into()],
        page,
        false,
    )
    .await
}

/// Bumps the version only when `version` is current; returns whether the row changed.
pub async fn update(
    conn: &mut impl Write,
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
/// [`Held`]: up to `limit` of each kind, by name.
pub async fn contents(
    conn: &mut impl Read,
    instance_id: &str,
    default_group_key: &str,
    limit: i64,
) -> Result<Vec<Held>, sqlx::Error> {
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
    let args = [instance_id.into(), limit.into(), default_group_key.into()];
    conn.all(&sql, &args).await
}

/// Deletes an instance that holds nothing but its default group and environment (the caller
/// has checked `contents`), with those two; whether it was there.
pub async fn delete(conn: &mut impl Write, instance_id: &str) -> Result<bool, sqlx::Error> {
    let mut deleted = 0;
    for sql in [
        "DELETE FROM consumer_groups WHERE instance_id = $1",
        "DELETE FROM environments WHERE instance_id = $1",
        "DELETE FROM instances WHERE id = $1",
    ] {
        deleted = conn.execute(sql, args![instance_id]).await?;
    }
    Ok(deleted == 1)
}

row! {
    /// What an instance holds, counted.
    pub struct Counts {
        pub consumers: i64,
        pub consumer_groups: i64,
        pub keys: i64,
        pub apis: i64,
        pub rules_in_effect: i64,
        pub revision: i64,
    }
}

/// How many consumers, groups, keys and model APIs the instance holds, how many of its
/// authorization rules are in effect at `now` (long-term, or expiring later), and the
/// revision of its enforcement data.
pub async fn counts(
    conn: &mut impl Read,
    id: &str,
    now: i64,
) -> Result<Option<Counts>, sqlx::Error> {
    conn.expect_slow();
    conn.first(
        "SELECT \
         (SELECT COUNT(*) FROM consumers WHERE instance_id = $1) AS consumers, \
         (SELECT COUNT(*) FROM consumer_groups WHERE instance_id = $1) AS consumer_groups, \
         (SELECT COUNT(*) FROM api_keys WHERE instance_id = $1) AS keys, \
         (SELECT COUNT(*) FROM model_apis WHERE instance_id = $1) AS apis, \
         (SELECT COUNT(*) FROM authorization_rules WHERE instance_id = $1 \
            AND (expire_mode = 'LongTerm' OR expire_at > $2)) AS rules_in_effect, \
         i.revision FROM instances i WHERE i.id = $1",
        &[id.into(), crate::store::Arg::Int(now)],
    )
    .await
}
