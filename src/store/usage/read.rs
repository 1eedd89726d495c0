//! Reading usage back: by time bucket and the dimensions asked for, with totals; and the
//! consumers or model APIs with the most requests.

use super::super::read::Read;
use super::super::row::row;
use super::super::Arg;
use crate::domain::usage::{Dimension, Granularity, UsagePoint, UsageQuery, UsageTotals, MAX_ROWS};
use crate::domain::usage_overview::TopEntry;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

/// The buckets a question reads, narrowed by its range and filters, as a derived table
/// (the conditions are written into each part of it, not left to the planner to push down),
/// and its arguments. Minutes come from the minute buckets; hours and days from the hourly
/// ones up to where they are rolled up (`rolled_until`), and from the minutes after it. A
/// question that names no consumer or key, in its filters, its grouping or `per_consumer`,
/// reads the gateway's totals (`usage_gateway_…`), which do not grow with the number of
/// consumers.
fn source(
    gateway_id: &str,
    q: &UsageQuery,
    rolled_until: i64,
    per_consumer: bool,
) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::from(gateway_id), Arg::Int(q.from), Arg::Int(q.to)];
    let per_consumer = per_consumer
        || q.consumer_id.is_some()
        || q.key_id.is_some()
        || q.consumer_group_id.is_some()
        || q.group_by.contains(&Dimension::Consumer)
        || q.group_by.contains(&Dimension::Key);
    let (minutes, hours, columns) = if per_consumer {
        ("usage_minutes", "usage_hours", "consumer_id, key_id, ")
    } else {
        ("usage_gateway_minutes", "usage_gateway_hours", "")
    };
    let columns = format!(
        "gateway_id, at, environment_id, {columns}api_id, outcome, requests, prompt_tokens, \
         completion_tokens"
    );
    // The hourly part ends and the minutes' part starts at the mark (each part with one
    // bound on each side: SQLite picks its index by how many bounds there are).
    let rolled = match q.granularity {
        Granularity::Minute => None,
        Granularity::Hour | Granularity::Day => {
            args.push(Arg::Int(q.to.min(rolled_until)));
            args.push(Arg::Int(q.from.max(rolled_until)));
            Some((args.len() - 1, args.len()))
        }
    };
    let mut cond = String::from("gateway_id = $1");
    for (column, value) in [
        ("consumer_id", &q.consumer_id),
        ("key_id", &q.key_id),
        ("api_id", &q.api_id),
        ("environment_id", &q.environment_id),
        ("outcome", &q.outcome),
    ] {
        if let Some(v) = value {
            args.push(Arg::from(v));
            cond.push_str(&format!(" AND {column} = ${}", args.len()));
        }
    }
    if let Some(group) = &q.consumer_group_id {
        args.push(Arg::from(group));
        cond.push_str(&format!(
            " AND consumer_id IN (SELECT m.consumer_id FROM consumer_group_members m WHERE m.group_id = ${})",
            args.len()
        ));
    }
    // The minute rows of named consumers are found by their key's prefix (gateway, minute,
    // environment, consumer): the minutes and environments are those of the gateway's totals
    // in the range, which a flush writes with them (`usage_minutes` has no index by consumer:
    // see `migrations/shared/0019_usage_minutes_by_key.sql`). Given as a range as well,
    // SQLite would scan every consumer's rows of the range instead.
    let named = q.consumer_id.is_some() || q.consumer_group_id.is_some();
    let minutes_in = |from: usize| {
        if !named {
            return format!("at >= ${from} AND at < $3");
        }
        let totals = format!(
            "FROM usage_gateway_minutes WHERE gateway_id = $1 AND at >= ${from} AND at < $3"
        );
        let mut seek = format!("at IN (SELECT at {totals})");
        if q.environment_id.is_none() {
            seek.push_str(&format!(
                " AND environment_id IN (SELECT environment_id {totals})"
            ));
        }
        seek
    };
    let source = match rolled {
        None => format!(
            "(SELECT {columns} FROM {minutes} WHERE {cond} AND {})",
            minutes_in(2)
        ),
        Some((hours_to, minutes_from)) => format!(
            "(SELECT {columns} FROM {hours} WHERE {cond} AND at >= $2 AND at < ${hours_to} \
             UNION ALL \
             SELECT {columns} FROM {minutes} WHERE {cond} AND {})",
            minutes_in(minutes_from)
        ),
    };
    (source, args)
}

/// The answer's rows (at most `MAX_ROWS`; `None` when there would be more) and its totals.
pub async fn query(
    conn: &mut impl Read,
    gateway_id: &str,
    q: &UsageQuery,
) -> Result<(Option<Vec<UsagePoint>>, UsageTotals), sqlx::Error> {
    let rolled_until = super::rolled_until(conn).await?;
    let (table, mut args) = source(gateway_id, q, rolled_until, false);
    conn.expect_slow();
    let totals: Option<TotalsRow> = conn
        .first(
            &format!(
                "SELECT CAST(COALESCE(SUM(u.requests), 0) AS BIGINT) AS requests, \
                 CAST(COALESCE(SUM(CASE WHEN u.outcome = 'allowed' THEN u.requests ELSE 0 END), 0) AS BIGINT) AS allowed, \
                 CAST(COALESCE(SUM(u.prompt_tokens), 0) AS BIGINT) AS prompt_tokens, \
                 CAST(COALESCE(SUM(u.completion_tokens), 0) AS BIGINT) AS completion_tokens \
                 FROM {table} u"
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
               FROM {table} u GROUP BY 1{inner_dims}) s \
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

/// Rankings that took long to read, kept [`RankingCache::TTL`] by their question. The Usage
/// page asks for each ranking twice with the same range (for its figures, then for its
/// chart's image), and ranking the consumers of a month of a large gateway reads every
/// consumer's hours: the second asking finds the first's answer. A ranking read quickly is
/// not kept, so a small gateway's page always shows the latest flush.
#[derive(Default)]
pub struct RankingCache {
    entries: Mutex<HashMap<String, (Vec<TopEntry>, Instant)>>,
}

impl RankingCache {
    pub const TTL: Duration = Duration::from_secs(15);
    /// A ranking that took at least this long to read is kept.
    const SLOW: Duration = Duration::from_millis(100);
    /// Beyond this many questions the cache starts again empty rather than grow.
    const MAX_ENTRIES: usize = 256;

    /// Forgets every answer (for benchmarks that measure the reading itself).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn get(&self, question: &str) -> Option<Vec<TopEntry>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(question) {
            Some((answer, at)) if at.elapsed() < Self::TTL => Some(answer.clone()),
            _ => None,
        }
    }

    fn put(&self, question: String, answer: Vec<TopEntry>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= Self::MAX_ENTRIES {
            entries.retain(|_, (_, at)| at.elapsed() < Self::TTL);
            if entries.len() >= Self::MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(question, (answer, Instant::now()));
    }
}

/// The top consumers of a question whose hourly part is one of the consumers' windows (see
/// `super::windows`: the Usage page's last 24 hours, 7 days or 30 days while the roll-up is
/// current) and that filters on nothing: from the windows and the minutes after them. A
/// consumer outside the window's first `limit` and without minutes cannot be among the
/// first `limit`: minutes only add to a window's counts. None for any other question.
fn windowed(
    gateway_id: &str,
    q: &UsageQuery,
    rolled_until: i64,
    ranked: Ranked,
    limit: usize,
) -> Option<(String, Vec<Arg>)> {
    let unfiltered = q.consumer_id.is_none()
        && q.consumer_group_id.is_none()
        && q.key_id.is_none()
        && q.api_id.is_none()
        && q.environment_id.is_none()
        && q.outcome.is_none();
    let span = super::windows::Span::starting_at(q.from, rolled_until)?;
    if ranked != Ranked::Consumers
        || !unfiltered
        || q.granularity == Granularity::Minute
        || q.to < rolled_until
    {
        return None;
    }
    let sums = "CAST(SUM(requests) AS BIGINT) AS requests, \
                CAST(SUM(CASE WHEN outcome = 'allowed' THEN requests ELSE 0 END) AS BIGINT) AS allowed, \
                CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) AS tokens";
    // Each consumer with minutes, its window added; and the window's first `limit`, which
    // a consumer with minutes outdoes with them (minutes only add): its largest row is its
    // total. The minutes' sums are read once and joined to the windows by their key, not
    // joined back to themselves: with statistics taken before a burst of new minutes,
    // PostgreSQL joined such a set to itself row by row (a 200,000-row minute ran for
    // minutes; this takes about a second even then).
    let sql = format!(
        "WITH m AS (SELECT consumer_id AS id, {sums} FROM usage_minutes \
                    WHERE gateway_id = $1 AND at >= $3 AND at < $4 GROUP BY consumer_id), \
              t AS (SELECT m.id, m.requests + COALESCE(x.requests, 0) AS requests, \
                           m.allowed + COALESCE(x.allowed, 0) AS allowed, \
                           m.tokens + COALESCE(x.tokens, 0) AS tokens \
                    FROM m LEFT JOIN usage_consumer_windows x \
                         ON x.gateway_id = $1 AND x.span = $2 AND x.consumer_id = m.id \
                    UNION ALL \
                    SELECT * FROM (SELECT consumer_id AS id, requests, allowed, tokens \
                                   FROM usage_consumer_windows \
                                   WHERE gateway_id = $1 AND span = $2 \
                                   ORDER BY requests DESC, tokens DESC, consumer_id \
                                   LIMIT {limit}) w) \
         SELECT id, MAX(requests) AS requests, MAX(allowed) AS allowed, MAX(tokens) AS tokens \
         FROM t GROUP BY id ORDER BY 2 DESC, 4 DESC, 1 LIMIT {limit}"
    );
    let args = vec![
        Arg::from(gateway_id),
        Arg::Int(span.id()),
        Arg::Int(rolled_until),
        Arg::Int(q.to),
    ];
    Some((sql, args))
}

/// The `limit` consumers or model APIs with the most requests in the question's
/// range and filters, most first (then most tokens, then by ID), with their names now (a
/// slow answer of the last few seconds to the same question is taken from `cache`).
pub async fn top(
    conn: &mut impl Read,
    cache: &RankingCache,
    gateway_id: &str,
    q: &UsageQuery,
    ranked: Ranked,
    limit: usize,
) -> Result<Vec<TopEntry>, sqlx::Error> {
    let rolled_until = super::rolled_until(conn).await?;
    let (column, join) = match ranked {
        Ranked::Consumers => ("consumer_id", "LEFT JOIN consumers n ON n.id = s.id"),
        Ranked::Apis => ("api_id", "LEFT JOIN model_apis n ON n.id = s.id"),
    };
    let (ranking, args) = match windowed(gateway_id, q, rolled_until, ranked, limit) {
        Some(fast) => fast,
        None => {
            let (table, args) = source(gateway_id, q, rolled_until, ranked == Ranked::Consumers);
            let ranking = format!(
                "SELECT u.{column} AS id, CAST(SUM(u.requests) AS BIGINT) AS requests, \
                 CAST(SUM(CASE WHEN u.outcome = 'allowed' THEN u.requests ELSE 0 END) AS BIGINT) AS allowed, \
                 CAST(SUM(u.prompt_tokens + u.completion_tokens) AS BIGINT) AS tokens \
                 FROM {table} u GROUP BY u.{column} \
                 ORDER BY 2 DESC, 4 DESC, 1 LIMIT {limit}"
            );
            (ranking, args)
        }
    };
    let sql = format!(
        "SELECT s.id, n.name AS name, s.requests, s.allowed, s.tokens \
         FROM ({ranking}) s {join} ORDER BY s.requests DESC, s.tokens DESC, s.id"
    );
    let question = format!("{sql}\u{0}{args:?}");
    if let Some(answer) = cache.get(&question) {
        return Ok(answer);
    }
    conn.expect_slow();
    let started = Instant::now();
    let rows: Vec<TopRow> = conn.all(&sql, &args).await?;
    let answer: Vec<TopEntry> = rows
        .into_iter()
        .map(|r| TopEntry {
            consumer_id: (ranked == Ranked::Consumers).then(|| r.id.clone()),
            api_id: (ranked == Ranked::Apis).then_some(r.id),
            name: r.name,
            requests: r.requests,
            allowed: r.allowed,
            tokens: r.tokens,
        })
        .collect();
    if started.elapsed() >= RankingCache::SLOW {
        cache.put(question, answer.clone());
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    /// How SQLite reads the minutes of `q`.
    async fn minutes_plan(db: &Db, q: &UsageQuery) -> String {
        let (table, args) = source("gw-1", q, 0, false);
        super::super::tests::query_plan(db, &format!("SELECT * FROM {table} u"), &args)
            .await
            .into_iter()
            .find(|d| d.contains("usage_minutes "))
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_consumers_and_a_groups_minutes_are_sought_by_the_tables_key() {
        let (_dir, db) = super::super::tests::sqlite_db().await;
        let by_key =
            "USING PRIMARY KEY (gateway_id=? AND at=? AND environment_id=? AND consumer_id=?)";
        for granularity in [Granularity::Minute, Granularity::Hour] {
            let mut q = UsageQuery::unfiltered(0, 7_200_000, granularity);
            q.consumer_id = Some("cs-1".into());
            let plan = minutes_plan(&db, &q).await;
            assert!(plan.contains(by_key), "{granularity:?}: {plan}");
            q.environment_id = Some("env-1".into());
            let plan = minutes_plan(&db, &q).await;
            assert!(
                plan.contains(by_key),
                "{granularity:?}, environment: {plan}"
            );
            q.consumer_id = None;
            q.consumer_group_id = Some("grp-1".into());
            let plan = minutes_plan(&db, &q).await;
            assert!(plan.contains(by_key), "{granularity:?}, group: {plan}");
        }
    }

    fn entry(requests: i64) -> TopEntry {
        TopEntry {
            consumer_id: Some("cs-1".into()),
            api_id: None,
            name: Some("alice".into()),
            requests,
            allowed: requests,
            tokens: 0,
        }
    }

    #[test]
    fn a_ranking_is_found_again_by_the_same_question_only() {
        let cache = RankingCache::default();
        assert_eq!(cache.get("q1"), None);
        cache.put("q1".into(), vec![entry(3)]);
        assert_eq!(cache.get("q1"), Some(vec![entry(3)]));
        assert_eq!(cache.get("q2"), None);
    }

    #[test]
    fn a_full_cache_starts_again_rather_than_grow() {
        let cache = RankingCache::default();
        for i in 0..RankingCache::MAX_ENTRIES + 10 {
            cache.put(format!("q{i}"), vec![entry(1)]);
        }
        let held = cache.entries.lock().unwrap().len();
        assert!(held <= RankingCache::MAX_ENTRIES, "{held}");
        assert!(cache
            .get(&format!("q{}", RankingCache::MAX_ENTRIES + 9))
            .is_some());
    }
}
