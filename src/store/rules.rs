//! Consumer authorization rules, joined with the names of what they refer to.

use super::read::Read;
use super::row::row;
use super::Arg;
use crate::domain::authorization::{expire_status, ExpireMode, ExpireStatus, PrincipalType};
use crate::domain::records::{ApiRef, AuthorizationRule, EnvironmentRef, PrincipalRef};
use crate::domain::PageRequest;
use crate::store::{args, Write};
use crate::store::{update_versioned, Set};

row! {
    /// A rule with the names of its principal, API and environment.
    struct RuleRow {
        id: String,
        instance_id: String,
        principal_type: PrincipalType,
        principal_id: String,
        principal_name: String,
        api_id: String,
        api_name: String,
        base_path: String,
        environment_id: String,
        environment_name: String,
        expire_mode: ExpireMode,
        expire_at: Option<i64>,
        created_at: i64,
        updated_at: i64,
        version: i64,
    }
}

impl RuleRow {
    /// The rule, its status as of `now`.
    fn into_rule(self, now: i64) -> AuthorizationRule {
        AuthorizationRule {
            expire_status: expire_status(self.expire_mode, self.expire_at, now),
            principal_type: self.principal_type,
            principal: PrincipalRef {
                id: self.principal_id,
                name: self.principal_name,
            },
            api: ApiRef {
                id: self.api_id,
                name: self.api_name,
            },
            base_path: self.base_path,
            environment: EnvironmentRef {
                id: self.environment_id,
                name: self.environment_name,
            },
            expire_mode: self.expire_mode,
            expire_timestamp: self.expire_at,
            id: self.id,
            instance_id: self.instance_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            version: self.version,
        }
    }
}

const COLUMNS: &str = "r.id, r.instance_id, r.principal_type, r.principal_id, \
    COALESCE(c.name, g.name) AS principal_name, r.api_id, a.name AS api_name, a.base_path, \
    r.environment_id, e.name AS environment_name, r.expire_mode, r.expire_at, r.created_at, \
    r.updated_at, r.version";

const FROM: &str = "FROM authorization_rules r \
    JOIN model_apis a ON a.id = r.api_id \
    JOIN environments e ON e.id = r.environment_id \
    LEFT JOIN consumers c ON c.id = r.consumer_id \
    LEFT JOIN consumer_groups g ON g.id = r.group_id";

/// A new rule; exactly one of `consumer_id` and `group_id` is set.
pub struct NewRule<'a> {
    pub id: &'a str,
    pub instance_id: &'a str,
    pub principal_type: &'a str,
    pub consumer_id: Option<&'a str>,
    pub group_id: Option<&'a str>,
    pub api_id: &'a str,
    pub environment_id: &'a str,
    pub expire_mode: &'a str,
    pub expire_at: Option<i64>,
    pub now: i64,
}

pub async fn insert(conn: &mut impl Write, r: &NewRule<'_>) -> Result<(), sqlx::Error> {
    conn.execute(
        "INSERT INTO authorization_rules (id, instance_id, principal_type, principal_id, consumer_id, group_id, api_id, environment_id, expire_mode, expire_at, created_at, updated_at, version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, 1)",
        args![
            r.id,
            r.instance_id,
            r.principal_type,
            r.consumer_id.or(r.group_id).unwrap_or_default(),
            r.consumer_id,
            r.group_id,
            r.api_id,
            r.environment_id,
            r.expire_mode,
            r.expire_at,
            r.now,
        ],
    )
    .await
    .map(drop)
}

/// The rule, its status as of `now`.
pub async fn get(
    conn: &mut impl Read,
    id: &str,
    now: i64,
) -> Result<Option<AuthorizationRule>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} {FROM} WHERE r.id = $1");
    let row: Option<RuleRow> = conn.first(&sql, &[id.into()]).await?;
    Ok(row.map(|r| r.into_rule(now)))
}

/// Changes the expiry when `version` is current; returns whether the row changed.
pub async fn update_expiry(
    conn: &mut impl Write,
    id: &str,
    version: i64,
    mode: &str,
    expire_at: Option<i64>,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let columns = [
        ("expire_mode", Set::Text(mode)),
        ("expire_at", Set::OptInt(expire_at)),
    ];
    update_versioned(conn, "authorization_rules", id, version, &columns, now).await
}

pub async fn delete(conn: &mut impl Write, id: &str) -> Result<bool, sqlx::Error> {
    let done = conn
        .execute("DELETE FROM authorization_rules WHERE id = $1", args![id])
        .await?;
    Ok(done == 1)
}

/// Which rules a query wants. Patterns are LIKE patterns on lowercased names.
#[derive(Debug, Default, Clone)]
pub struct RuleFilter {
    pub instance_id: Option<String>,
    /// Rules granted to this consumer directly.
    pub consumer_id: Option<String>,
    /// With `consumer_id`: also the rules of the consumer's enabled groups.
    pub include_groups: bool,
    pub rule_id: Option<String>,
    pub group_id: Option<String>,
    pub api_id: Option<String>,
    pub environment_id: Option<String>,
    pub api_pattern: Option<String>,
    pub principal_pattern: Option<String>,
    pub status: Option<ExpireStatus>,
}

/// The WHERE clause and its arguments, numbered from `$1`.
fn where_clause(f: &RuleFilter, now: i64) -> (String, Vec<Arg>) {
    let mut parts: Vec<String> = Vec::new();
    let mut args: Vec<Arg> = Vec::new();
    let mut push = |sql: &str, arg: Arg, args: &mut Vec<Arg>| {
        args.push(arg);
        parts.push(sql.replace('?', &format!("${}", args.len())));
    };
    if let Some(v) = &f.instance_id {
        push("r.instance_id = ?", Arg::Text(v.clone()), &mut args);
    }
    if let Some(v) = &f.consumer_id {
        if f.include_groups {
            push(
                "(r.consumer_id = ? OR r.group_id IN (SELECT m.group_id FROM consumer_group_members m \
                 JOIN consumer_groups mg ON mg.id = m.group_id WHERE mg.enabled = 1 AND m.consumer_id = ?))",
                Arg::Text(v.clone()),
                &mut args,
            );
        } else {
            push("r.consumer_id = ?", Arg::Text(v.clone()), &mut args);
        }
    }
    if let Some(v) = &f.rule_id {
        push("r.id = ?", Arg::Text(v.clone()), &mut args);
    }
    if let Some(v) = &f.group_id {
        push("r.group_id = ?", Arg::Text(v.clone()), &mut args);
    }
    if let Some(v) = &f.api_id {
        push("r.api_id = ?", Arg::Text(v.clone()), &mut args);
    }
    if let Some(v) = &f.environment_id {
        push("r.environment_id = ?", Arg::Text(v.clone()), &mut args);
    }
    if let Some(v) = &f.api_pattern {
        push(
            "a.name_key LIKE ? ESCAPE '\\'",
            Arg::Text(v.clone()),
            &mut args,
        );
    }
    if let Some(v) = &f.principal_pattern {
        push(
            "COALESCE(c.name_key, g.name_key) LIKE ? ESCAPE '\\'",
            Arg::Text(v.clone()),
            &mut args,
        );
    }
    match f.status {
        Some(ExpireStatus::InEffect) => push(
            "(r.expire_mode = 'LongTerm' OR r.expire_at > ?)",
            Arg::Int(now),
            &mut args,
        ),
        Some(ExpireStatus::Expired) => push(
            "(r.expire_mode = 'ShortTerm' AND r.expire_at <= ?)",
            Arg::Int(now),
            &mut args,
        ),
        None => {}
    }
    let sql = if parts.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", parts.join(" AND "))
    };
    (sql, args)
}

/// Newest first, each rule's status as of `now`.
pub async fn query(
    conn: &mut impl Read,
    filter: &RuleFilter,
    page: PageRequest,
    now: i64,
) -> Result<(i64, Vec<AuthorizationRule>), sqlx::Error> {
    let (clause, args) = where_clause(filter, now);
    // One consumer's or group's rules are found by index; anything wider may read many.
    let narrow = filter.consumer_id.is_some() || filter.group_id.is_some();
    let from = format!("{FROM} {clause}");
    let order = "r.created_at DESC, r.id DESC";
    let (total, rows) =
        super::read::page::<RuleRow>(conn, COLUMNS, &from, order, args, page, !narrow).await?;
    Ok((total, rows.into_iter().map(|r| r.into_rule(now)).collect()))
}

/// Every rule matching the filter, for dependency lists (bounded: a dependency list longer
/// than this is shown truncated).
pub async fn all(
    conn: &mut impl Read,
    filter: &RuleFilter,
    now: i64,
) -> Result<Vec<AuthorizationRule>, sqlx::Error> {
    let (clause, args) = where_clause(filter, now);
    let sql = format!("SELECT {COLUMNS} {FROM} {clause} ORDER BY r.created_at, r.id LIMIT 100");
    let rows: Vec<RuleRow> = conn.all(&sql, &args).await?;
    Ok(rows.into_iter().map(|r| r.into_rule(now)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_numbered_in_order() {
        let f = RuleFilter {
            instance_id: Some("gw".into()),
            api_pattern: Some("%a%".into()),
            status: Some(ExpireStatus::Expired),
            ..Default::default()
        };
        let (sql, args) = where_clause(&f, 5);
        assert_eq!(args.len(), 3);
        assert!(
            sql.contains("r.instance_id = $1") && sql.contains("LIKE $2") && sql.contains("<= $3")
        );
    }

    #[test]
    fn inherited_rules_reuse_the_consumer_argument() {
        let f = RuleFilter {
            consumer_id: Some("cs".into()),
            include_groups: true,
            ..Default::default()
        };
        let (sql, args) = where_clause(&f, 0);
        assert_eq!(args.len(), 1);
        assert!(!sql.contains('?'));
    }
}
