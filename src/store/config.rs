//! What an export of a gateway's configuration reads: every row of one gateway that the
//! console lets an administrator shape, in one read-only transaction so the rows belong to
//! one revision. Ordered by the names the export sorts by, so the service only maps IDs to
//! names.

use super::read::Read;
use super::{Arg, Db};

/// One gateway's configuration, as the store reads it.
#[derive(Debug, Default)]
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
        pub name: String,
        pub prefix: String,
        pub key_hash: String,
        pub consumer_id: Option<String>,
        pub enabled: bool,
        pub expires_at: Option<i64>,
    }
}

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
                "SELECT name, prefix, key_hash, consumer_id, enabled, expires_at FROM api_keys \
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
    })
}
