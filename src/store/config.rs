//! Configuration as code in the store. An export reads every row of one gateway that the
//! console lets an administrator shape, in one read-only transaction so the rows belong to one
//! revision, ordered by the names the export sorts by. An import reads the same rows (and its
//! rules' IDs) and writes the changes the service planned, all in one transaction.

use super::read::Read;
use super::{args, Arg, Db, Write};

/// One gateway's configuration, as the store reads it.
#[derive(Debug, Default, Clone)]
pub struct GatewayRows {
    pub gateway: Option<GatewayRow>,
    pub environments: Vec<EnvironmentRow>,
    pub model_apis: Vec<ModelApiRow>,
    /// (API ID, environment ID)
    pub deployments: Vec<DeploymentRow>,
    pub groups: Vec<GroupRow>,
    pub consumers: Vec<ConsumerRow>,
    pub memberships: Vec<MembershipRow>,
    pub keys: Vec<KeyRow>,
    pub rules: Vec<RuleRow>,
    pub rate_limits: Vec<LimitRow>,
    pub quotas: Vec<QuotaRow>,
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct GatewayRow {
        pub id: String,
        pub name: String,
        pub revision: i64,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct EnvironmentRow {
        pub id: String,
        pub name: String,
        pub alias: String,
        pub description: String,
        pub is_default: bool,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct ModelApiRow {
        pub id: String,
        pub name: String,
        pub base_path: String,
        /// Comma-separated, as stored.
        pub ai_protocols: String,
        pub model_category: String,
        pub description: String,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct DeploymentRow {
        pub api_id: String,
        pub environment_id: String,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct GroupRow {
        pub id: String,
        pub name: String,
        pub description: String,
        pub enabled: bool,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct ConsumerRow {
        pub id: String,
        pub name: String,
        pub description: String,
        pub enabled: bool,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct MembershipRow {
        pub group_id: String,
        pub consumer_id: String,
    }
}

super::row::row! {
    #[derive(Debug, Clone)]
    pub struct KeyRow {
        pub id: String,
        pub name: String,
        pub prefix: String,
        pub key_hash: String,
        pub consumer_id: Option<String>,
        pub enabled: bool,
        pub expires_at: Option<i64>,
    }
}

/// A rate limit and a quota as the enforcement snapshot reads them (the same columns); an
/// import writes them too.
pub use super::limits::LimitRow;
pub use super::quotas::QuotaRow;

/// A rule as the enforcement snapshot reads it (the same columns).
pub use super::snapshot::RuleRow;

/// Everything one gateway holds; `gateway` is `None` when there is no such gateway.
pub async fn read_gateway(db: &Db, gateway_id: &str) -> Result<GatewayRows, sqlx::Error> {
    let mut tx = super::snapshot::begin(db).await?;
    let rows = read_rows(&mut tx, gateway_id).await?;
    tx.commit().await?;
    Ok(rows)
}

async fn read_rows(conn: &mut impl Read, gateway_id: &str) -> Result<GatewayRows, sqlx::Error> {
    let gw = [Arg::from(gateway_id)];
    let Some(gateway) = conn
        .first::<GatewayRow>(
            "SELECT id, name, revision FROM instances WHERE id = $1",
            &gw,
        )
        .await?
    else {
        return Ok(GatewayRows::default());
    };
    conn.expect_slow();
    Ok(GatewayRows {
        gateway: Some(gateway),
        environments: conn
            .all(
                "SELECT id, name, alias, description, is_default FROM environments \
                 WHERE instance_id = $1 ORDER BY name_key",
                &gw,
            )
            .await?,
        model_apis: conn
            .all(
                "SELECT id, name, base_path, ai_protocols, model_category, description \
                 FROM model_apis WHERE instance_id = $1 ORDER BY name_key",
                &gw,
            )
            .await?,
        deployments: conn
            .all(
                "SELECT d.api_id, d.environment_id FROM api_deployments d \
                 JOIN model_apis a ON a.id = d.api_id WHERE a.instance_id = $1",
                &gw,
            )
            .await?,
        groups: conn
            .all(
                "SELECT id, name, description, enabled FROM consumer_groups \
                 WHERE instance_id = $1 ORDER BY name_key",
                &gw,
            )
            .await?,
        consumers: conn
            .all(
                "SELECT id, name, description, enabled FROM consumers \
                 WHERE instance_id = $1 ORDER BY name_key",
                &gw,
            )
            .await?,
        memberships: conn
            .all(
                "SELECT m.group_id, m.consumer_id FROM consumer_group_members m \
                 JOIN consumer_groups g ON g.id = m.group_id WHERE g.instance_id = $1",
                &gw,
            )
            .await?,
        keys: conn
            .all(
                "SELECT id, name, prefix, key_hash, consumer_id, enabled, expires_at FROM api_keys \
                 WHERE instance_id = $1 ORDER BY name_key",
                &gw,
            )
            .await?,
        rules: conn
            .all(
                "SELECT consumer_id, group_id, api_id, environment_id, expire_mode, expire_at \
                 FROM authorization_rules WHERE instance_id = $1",
                &gw,
            )
            .await?,
        rate_limits: super::limits::load(conn, gateway_id).await?,
        quotas: super::quotas::load(conn, gateway_id).await?,
    })
}

/// What an import reads before it plans, in the caller's transaction (a read-only one for a
/// dry run, the write for an apply).
pub async fn read_for_import(
    conn: &mut impl Read,
    gateway_id: &str,
) -> Result<GatewayRows, sqlx::Error> {
    read_rows(conn, gateway_id).await
}

/// A read-only transaction for a dry run (one consistent state).
pub async fn begin_read(db: &Db) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
    super::snapshot::begin(db).await
}

/// Takes the gateway's row for the import's transaction, so that no other change of the
/// gateway commits between the import's read and its writes; the gateway's revision, `None`
/// when there is no such gateway.
pub async fn lock_gateway(
    conn: &mut impl Write,
    gateway_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    conn.number(
        "UPDATE instances SET revision = revision WHERE id = $1 RETURNING revision",
        &[Arg::from(gateway_id)],
    )
    .await
}

/// A rule to insert, change or delete. A rule is the one of its principal for its API and
/// environment (unique), so only an insert needs its `id` (new).
#[derive(Debug, Clone)]
pub struct RuleOp {
    pub id: String,
    pub consumer_id: Option<String>,
    pub group_id: Option<String>,
    pub api_id: String,
    pub environment_id: String,
    /// `LongTerm` or `ShortTerm`.
    pub expire_mode: &'static str,
    pub expire_at: Option<i64>,
}

impl RuleOp {
    /// The consumer or group it grants.
    pub fn principal(&self) -> &str {
        self.consumer_id
            .as_deref()
            .or(self.group_id.as_deref())
            .unwrap_or_default()
    }
}

/// A key to insert or change. A change writes every field; `key_hash` is `None` when the
/// value stays.
#[derive(Debug, Clone)]
pub struct KeyOp {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub key_hash: Option<String>,
    pub consumer_id: Option<String>,
    pub enabled: bool,
    pub expires_at: Option<i64>,
    /// The binding changes (an unbind is done before consumers are deleted).
    pub rebind: bool,
}

/// Everything an import writes, planned by the service against the rows read in the same
/// transaction. Creates carry new IDs; changes carry the whole new row.
#[derive(Debug, Default)]
pub struct ImportOps {
    pub environment_creates: Vec<EnvironmentRow>,
    pub environment_changes: Vec<EnvironmentRow>,
    pub environment_deletes: Vec<String>,
    pub api_creates: Vec<ModelApiRow>,
    pub api_changes: Vec<ModelApiRow>,
    pub api_deletes: Vec<String>,
    /// The full set of environments of each API whose deployments change (or that is new).
    pub deployments: Vec<(String, Vec<String>)>,
    pub group_creates: Vec<GroupRow>,
    pub group_changes: Vec<GroupRow>,
    pub group_deletes: Vec<String>,
    pub consumer_creates: Vec<ConsumerRow>,
    pub consumer_changes: Vec<ConsumerRow>,
    pub consumer_deletes: Vec<String>,
    pub membership_adds: Vec<MembershipRow>,
    pub membership_removes: Vec<MembershipRow>,
    pub key_creates: Vec<KeyOp>,
    pub key_changes: Vec<KeyOp>,
    pub key_deletes: Vec<String>,
    pub rule_creates: Vec<RuleOp>,
    pub rule_changes: Vec<RuleOp>,
    pub rule_deletes: Vec<RuleOp>,
    pub limit_creates: Vec<LimitRow>,
    pub limit_changes: Vec<LimitRow>,
    pub limit_deletes: Vec<String>,
    pub quota_creates: Vec<QuotaRow>,
    pub quota_changes: Vec<QuotaRow>,
    pub quota_deletes: Vec<String>,
}

/// Writes `ops` in an order every foreign key and unique rule accepts: what goes away first
/// (rules, memberships, bindings, then the records), then what comes or changes (environments,
/// APIs, groups, consumers, memberships, keys, rules).
pub async fn apply(
    conn: &mut impl Write,
    gateway_id: &str,
    ops: &ImportOps,
    now: i64,
) -> Result<(), sqlx::Error> {
    for id in &ops.limit_deletes {
        conn.execute("DELETE FROM rate_limits WHERE id = $1", args![id])
            .await?;
    }
    for id in &ops.quota_deletes {
        conn.execute("DELETE FROM quotas WHERE id = $1", args![id])
            .await?;
    }
    for r in &ops.rule_deletes {
        conn.execute(
            "DELETE FROM authorization_rules WHERE principal_id = $1 AND api_id = $2 AND environment_id = $3",
            args![r.principal(), &r.api_id, &r.environment_id],
        )
        .await?;
    }
    for m in &ops.membership_removes {
        super::consumers::remove_membership(conn, &m.group_id, &m.consumer_id).await?;
    }
    for k in ops.key_changes.iter().filter(|k| k.rebind) {
        conn.execute(
            "UPDATE api_keys SET consumer_id = NULL WHERE id = $1",
            args![&k.id],
        )
        .await?;
    }
    for id in &ops.key_deletes {
        conn.execute("DELETE FROM api_keys WHERE id = $1", args![id])
            .await?;
    }
    for id in &ops.consumer_deletes {
        // Its JWT and HMAC credentials are not in the file (a secret cannot be exported):
        // they go with the consumer, as its limits and quotas do.
        conn.execute("DELETE FROM credentials WHERE consumer_id = $1", args![id])
            .await?;
        super::consumers::delete(conn, id, gateway_id).await?;
    }
    for id in &ops.group_deletes {
        conn.execute("DELETE FROM consumer_groups WHERE id = $1", args![id])
            .await?;
    }
    for id in &ops.api_deletes {
        super::model_apis::delete(conn, id).await?;
    }
    for id in &ops.environment_deletes {
        conn.execute(
            "DELETE FROM api_deployments WHERE environment_id = $1",
            args![id],
        )
        .await?;
        super::environments::delete(conn, id).await?;
    }
    for e in &ops.environment_creates {
        conn.execute(
            "INSERT INTO environments (id, instance_id, name, name_key, alias, description, is_default, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, 1)",
            args![&e.id, gateway_id, &e.name, e.name.to_ascii_lowercase(), &e.alias, &e.description, e.is_default, now],
        )
        .await?;
    }
    for e in &ops.environment_changes {
        conn.execute(
            "UPDATE environments SET name = $1, alias = $2, description = $3, is_default = $4, \
             updated_at = $5, version = version + 1 WHERE id = $6",
            args![&e.name, &e.alias, &e.description, e.is_default, now, &e.id],
        )
        .await?;
    }
    // Two APIs may trade base paths: each changing one first takes a path no other can have.
    for a in &ops.api_changes {
        conn.execute(
            "UPDATE model_apis SET base_path = $1 WHERE id = $2",
            args![format!("/~{}", a.id), &a.id],
        )
        .await?;
    }
    let mut resource_no = super::model_apis::next_resource_no(conn).await?;
    for a in &ops.api_creates {
        conn.execute(
            "INSERT INTO model_apis (id, instance_id, resource_no, name, name_key, base_path, ai_protocols, model_category, description, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)",
            args![&a.id, gateway_id, resource_no, &a.name, a.name.to_ascii_lowercase(), &a.base_path, &a.ai_protocols, &a.model_category, &a.description, now],
        )
        .await?;
        resource_no += 1;
    }
    for a in &ops.api_changes {
        conn.execute(
            "UPDATE model_apis SET name = $1, name_key = $2, base_path = $3, ai_protocols = $4, \
             model_category = $5, description = $6, updated_at = $7, version = version + 1 WHERE id = $8",
            args![&a.name, a.name.to_ascii_lowercase(), &a.base_path, &a.ai_protocols, &a.model_category, &a.description, now, &a.id],
        )
        .await?;
    }
    for (api, envs) in &ops.deployments {
        super::model_apis::set_deployments(conn, api, envs, now).await?;
    }
    for g in &ops.group_creates {
        conn.execute(
            "INSERT INTO consumer_groups (id, instance_id, name, name_key, description, enabled, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, 1)",
            args![&g.id, gateway_id, &g.name, g.name.to_ascii_lowercase(), &g.description, g.enabled, now],
        )
        .await?;
    }
    for g in &ops.group_changes {
        conn.execute(
            "UPDATE consumer_groups SET name = $1, name_key = $2, description = $3, enabled = $4, \
             updated_at = $5, version = version + 1 WHERE id = $6",
            args![
                &g.name,
                g.name.to_ascii_lowercase(),
                &g.description,
                g.enabled,
                now,
                &g.id
            ],
        )
        .await?;
    }
    for c in &ops.consumer_creates {
        let row = super::consumers::ConsumerRow {
            id: c.id.clone(),
            instance_id: gateway_id.to_owned(),
            name: c.name.clone(),
            description: c.description.clone(),
            enabled: c.enabled,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        super::consumers::insert(conn, &row, &c.name.to_ascii_lowercase()).await?;
    }
    for c in &ops.consumer_changes {
        conn.execute(
            "UPDATE consumers SET name = $1, name_key = $2, description = $3, enabled = $4, \
             updated_at = $5, version = version + 1 WHERE id = $6",
            args![
                &c.name,
                c.name.to_ascii_lowercase(),
                &c.description,
                c.enabled,
                now,
                &c.id
            ],
        )
        .await?;
    }
    for m in &ops.membership_adds {
        super::consumers::add_membership(conn, &m.group_id, &m.consumer_id, now).await?;
    }
    for k in &ops.key_creates {
        conn.execute(
            "INSERT INTO api_keys (id, instance_id, name, name_key, prefix, key_hash, consumer_id, enabled, expires_at, created_at, updated_at, version) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, 1)",
            args![&k.id, gateway_id, &k.name, k.name.to_ascii_lowercase(), &k.prefix, k.key_hash.as_deref().unwrap_or_default(), k.consumer_id.as_deref(), k.enabled, k.expires_at, now],
        )
        .await?;
    }
    for k in &ops.key_changes {
        // A new value replaces the old one at once (no grace period: the file states the
        // value there is to be).
        conn.execute(
            "UPDATE api_keys SET name = $1, name_key = $2, prefix = $3, \
             key_hash = COALESCE($4, key_hash), \
             previous_hash = CASE WHEN $4 IS NULL THEN previous_hash ELSE NULL END, \
             previous_expires_at = CASE WHEN $4 IS NULL THEN previous_expires_at ELSE NULL END, \
             consumer_id = $5, enabled = $6, expires_at = $7, updated_at = $8, version = version + 1 \
             WHERE id = $9",
            args![&k.name, k.name.to_ascii_lowercase(), &k.prefix, k.key_hash.as_deref(), k.consumer_id.as_deref(), k.enabled, k.expires_at, now, &k.id],
        )
        .await?;
    }
    for r in &ops.rule_creates {
        let principal_type = if r.consumer_id.is_some() {
            "Consumer"
        } else {
            "ConsumerGroup"
        };
        super::rules::insert(
            conn,
            &super::rules::NewRule {
                id: &r.id,
                instance_id: gateway_id,
                principal_type,
                consumer_id: r.consumer_id.as_deref(),
                group_id: r.group_id.as_deref(),
                api_id: &r.api_id,
                environment_id: &r.environment_id,
                expire_mode: r.expire_mode,
                expire_at: r.expire_at,
                now,
            },
        )
        .await?;
    }
    for r in &ops.rule_changes {
        conn.execute(
            "UPDATE authorization_rules SET expire_mode = $1, expire_at = $2, updated_at = $3, \
             version = version + 1 WHERE principal_id = $4 AND api_id = $5 AND environment_id = $6",
            args![
                r.expire_mode,
                r.expire_at,
                now,
                r.principal(),
                &r.api_id,
                &r.environment_id
            ],
        )
        .await?;
    }
    // Limits and quotas last: their subjects exist now.
    for l in &ops.limit_creates {
        super::limits::insert_row(conn, gateway_id, l, now).await?;
    }
    for l in &ops.limit_changes {
        conn.execute(
            "UPDATE rate_limits SET per_second = $1, per_minute = $2, policy = $3, updated_at = $4, \
             version = version + 1 WHERE id = $5",
            args![l.per_second, l.per_minute, l.policy.as_str(), now, &l.id],
        )
        .await?;
    }
    for q in &ops.quota_creates {
        super::quotas::insert_row(conn, gateway_id, q, now).await?;
    }
    for q in &ops.quota_changes {
        conn.execute(
            "UPDATE quotas SET time_zone = $1, amount = $2, warn_percent = $3, updated_at = $4, \
             version = version + 1 WHERE id = $5",
            args![&q.time_zone, q.amount, q.warn_percent, now, &q.id],
        )
        .await?;
    }
    Ok(())
}

super::row::row! {
    struct HashRow {
        key_hash: String,
    }
}

/// Which of `hashes` a key of another gateway has (as its value or its previous value).
pub async fn hashes_elsewhere(
    conn: &mut impl Read,
    gateway_id: &str,
    hashes: &[String],
) -> Result<Vec<String>, sqlx::Error> {
    let mut found = Vec::new();
    for chunk in hashes.chunks(500) {
        let list = super::placeholders(2, chunk.len());
        let sql = format!(
            "SELECT key_hash FROM api_keys WHERE instance_id <> $1 AND key_hash IN ({list}) \
             UNION SELECT previous_hash AS key_hash FROM api_keys \
             WHERE instance_id <> $1 AND previous_hash IN ({list})"
        );
        let mut args = vec![Arg::from(gateway_id)];
        args.extend(chunk.iter().map(Arg::from));
        let rows: Vec<HashRow> = conn.all(&sql, &args).await?;
        found.extend(rows.into_iter().map(|r| r.key_hash));
    }
    Ok(found)
}
