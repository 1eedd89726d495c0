//! Reading usage back: by time bucket and the dimensions asked for, with totals; and the
//! consumers or model APIs with the most requests.

use super::super::read::Read;
use super::super::row::row;
use super::super::Arg;
use crate::domain::usage::{Dimension, Granularity, UsagePoint, UsageQuery, UsageTotals, MAX_ROWS};
use crate::domain::usage_overview::TopEntry;

row! {
    struct PointRow {
        time: i64,
        consumer_id: Option<String>,
        consumer_name: Option<String>,
        key_id: Option<String>,
        api_id: Option<String>,
        api_name: Option<String>,
        environment_id: Option<String>,
        outcome: Option<String>,
        requests: i64,
        prompt_tokens: i64,
        completion_tokens: i64,
    }
}

row! {
    struct TotalsRow {
        requests: i64,
        allowed: i64,
        prompt_tokens: i64,
        completion_tokens: i64,
    }
}

/// The table a granularity reads, and the `WHERE` clause and arguments of a question.
fn filtered(gateway_id: &str, q: &UsageQuery) -> (&'static str, String, Vec<Arg>) {
    let table = match q.granularity {
        Granularity::Minute => "usage_minutes",
        Granularity::Hour | Granularity::Day => "usage_hours",
    };
    let mut args = vec![Arg::from(gateway_id), Arg::Int(q.from), Arg::Int(q.to)];
    let mut sql = String::from("u.gateway_id = $1 AND u.at >= $2 AND u.at < $3");
    for (column, value) in [
        ("consumer_id", &q.consumer_id),
        ("key_id", &q.key_id),
        ("api_id", &q.api_id),
        ("environment_id", &q.environment_id),
        ("outcome", &q.outcome),
    ] {
        if let Some(v) = value {
            args.push(Arg::from(v));
            sql.push_str(&format!(" AND u.{column} = ${}", args.len()));
        }
    }
    if let Some(group) = &q.consumer_group_id {
        args.push(Arg::from(group));
        sql.push_str(&format!(
            " AND u.consumer_id IN (SELECT consumer_id FROM consumer_group_members WHERE group_id = ${})",
            args.len()
        ));
    }
    (table, sql, args)
}

/// The answer's rows (at most `MAX_ROWS`; `None` when there would be more) and its totals.
pub async fn query(
    conn: &mut impl Read,
    gateway_id: &str,
    q: &UsageQuery,
) -> Result<(Option<Vec<UsagePoint>>, UsageTotals), sqlx::Error> {
    let (table, filter, mut args) = filtered(gateway_id, q);
    conn.expect_slow();
    let totals: Option<TotalsRow> = conn
        .first(
            &format!(
                "SELECT CAST(COALESCE(SUM(u.requests), 0) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(CASE WHEN u.outcome = 'allowed' THEN u.requests ELSE 0 END), 0) AS BIGINT) AS allowed, \
                 CAST(COALESCE(SUM(u.prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
                 CAST(COALESCE(SUM(u.completion_tokens), 0) AS BIGINT) AS completion_tokens \
                 FROM {table} u WHERE {filter}"
            ),
            &args,
        )
        .await?;
    let totals = totals.map_or_else(UsageTotals::default, |t| UsageTotals {
        requests: t.requests,
        allowed: t.allowed,
        denied: t.requests - t.allowed,
        prompt_tokens: t.prompt_tokens,
        completion_tokens: t.completion_tokens,
    });

    args.push(Arg::Int(q.granularity.ms()));
    let g = args.len();
    let grouped = |d: Dimension| q.group_by.contains(&d);
    let dims: Vec<&str> = Dimension::ALL
        .into_iter()
        .filter(|d| grouped(*d))
        .map(Dimension::column)
        .collect();
    let inner_dims: String = dims.iter().map(|c| format!(", u.{c}")).collect();
    let outer = |d: Dimension| {
        if grouped(d) {
            format!("s.{}", d.column())
        } else {
            "CAST(NULL AS TEXT)".to_owned()
        }
    };
    let consumer_name = if grouped(Dimension::Consumer) {
        "c.name"
    } else {
        "CAST(NULL AS TEXT)"
    };
    let api_name = if grouped(Dimension::Api) {
        "a.name"
    } else {
        "CAST(NULL AS TEXT)"
    };
    let order: String = std::iter::once("s.time".to_owned())
        .chain(dims.iter().map(|c| format!("s.{c}")))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT s.time, {consumer_id} AS consumer_id, {consumer_name} AS consumer_name, \
         {key_id} AS key_id, {api_id} AS api_id, {api_name} AS api_name, \
         {environment_id} AS environment_id, {outcome} AS outcome, \
         s.requests, s.prompt_tokens, s.completion_tokens \
         FROM (SELECT u.at / ${g} * ${g} AS time{inner_dims}, \
               CAST(SUM(u.requests) AS BIGINT) AS requests, \
               CAST(SUM(u.prompt_tokens) AS BIGINT) AS prompt_tokens, \
               CAST(SUM(u.completion_tokens) AS BIGINT) AS completion_tokens \
               FROM {table} u WHERE {filter} GROUP BY 1{inner_dims}) s \
         {join_consumers} {join_apis} \
         ORDER BY {order} LIMIT {limit}",
        consumer_id = outer(Dimension::Consumer),
        key_id = outer(Dimension::Key),
        api_id = outer(Dimension::Api),
        environment_id = outer(Dimension::Environment),
        outcome = outer(Dimension::Outcome),
        join_consumers = if grouped(Dimension::Consumer) {
            "LEFT JOIN consumers c ON c.id = s.consumer_id"
        } else {
            ""
        },
        join_apis = if grouped(Dimension::Api) {
            "LEFT JOIN model_apis a ON a.id = s.api_id"
        } else {
            ""
        },
        limit = MAX_ROWS + 1,
    );
    let rows: Vec<PointRow> = conn.all(&sql, &args).await?;
    if rows.len() > MAX_ROWS {
        return Ok((None, totals));
    }
    let points = rows
        .into_iter()
        .map(|r| UsagePoint {
            time: r.time,
            consumer_id: r.consumer_id,
            consumer_name: r.consumer_name,
            key_id: r.key_id,
            api_id: r.api_id,
            api_name: r.api_name,
            environment_id: r.environment_id,
            outcome: r.outcome,
            requests: r.requests,
            prompt_tokens: r.prompt_tokens,
            completion_tokens: r.completion_tokens,
        })
        .collect();
    Ok((Some(points), totals))
}

row! {
    struct TopRow {
        id: String,
        name: Option<String>,
        requests: i64,
        allowed: i64,
        tokens: i64,
    }
}

/// What a ranking ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ranked {
    Consumers,
    Apis,
}

/// The `limit` consumers or model APIs with the most requests in the question's
/// range and filters, most first (then most tokens, then by ID), with their names now.
pub async fn top(
    conn: &mut impl Read,
    gateway_id: &str,
    q: &UsageQuery,
    ranked: Ranked,
    limit: usize,
) -> Result<Vec<TopEntry>, sqlx::Error> {
    let (table, filter, args) = filtered(gateway_id, q);
    let (column, join) = match ranked {
        Ranked::Consumers => ("consumer_id", "LEFT JOIN consumers n ON n.id = s.id"),
        Ranked::Apis => ("api_id", "LEFT JOIN model_apis n ON n.id = s.id"),
    };
    conn.expect_slow();
    let rows: Vec<TopRow> = conn
        .all(
            &format!(
                "SELECT s.id, n.name AS name, s.requests, s.allowed, s.tokens \
                 FROM (SELECT u.{column} AS id, CAST(SUM(u.requests) AS BIGINT) AS requests, \
                       CAST(SUM(CASE WHEN u.outcome = 'allowed' THEN u.requests ELSE 0 END) AS BIGINT) AS allowed, \
                       CAST(SUM(u.prompt_tokens + u.completion_tokens) AS BIGINT) AS tokens \
                       FROM {table} u WHERE {filter} GROUP BY u.{column} \
                       ORDER BY 2 DESC, 4 DESC, 1 LIMIT {limit}) s \
                 {join} ORDER BY s.requests DESC, s.tokens DESC, s.id"
            ),
            &args,
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| TopEntry {
            consumer_id: (ranked == Ranked::Consumers).then(|| r.id.clone()),
            api_id: (ranked == Ranked::Apis).then_some(r.id),
            name: r.name,
            requests: r.requests,
            allowed: r.allowed,
            tokens: r.tokens,
        })
        .collect())
}
