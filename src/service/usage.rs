//! Usage: what the enforcement check decided, counted by every replica (see
//! `enforce::usage`), asked by time bucket, dimension and filter. Anyone signed in may read
//! it, as they may read the rules it follows from.

use crate::domain::records::TokenScope;
use crate::domain::usage::{
    Dimension, RawUsageQuery, RejectedRecord, UsageDelta, UsageIngested, UsageQuery, UsageRecords,
    UsageReport, ALLOWED, FUTURE_SKEW_MS, MAX_RECORDS, MAX_ROWS, MINUTE_MS,
};
use crate::domain::usage_charts::Chart;
use crate::domain::usage_overview::{UsageFilter, UsageOverview, TOP};
use crate::domain::{IdKind, ResourceId};
use crate::error::{AppError, AppResult};
use crate::service::{require_instance, truncate, Actor};
use crate::store::usage::{Named, Ranked};
use crate::store::Read;
use crate::store::{self, now_ms, Db};
use std::collections::HashMap;

/// The usage of a gateway: rows per time bucket (and per the dimensions grouped by), and the
/// totals over the range.
#[tracing::instrument(skip(db, actor, raw), fields(actor = %actor.user.username))]
pub async fn usage(
    db: &Db,
    actor: &Actor,
    gateway_id: &str,
    raw: RawUsageQuery,
) -> AppResult<UsageReport> {
    let gateway = require_instance(db, gateway_id).await?;
    let q = checked(&raw)?;
    let mut conn = db.reader().await?;
    let (items, totals) = store::usage::query(&mut conn, &gateway.id, &q).await?;
    let items = items.ok_or_else(|| {
        AppError::invalid(
            "GroupBy",
            format!("The answer would have more than {MAX_ROWS} rows: choose a shorter range, a coarser granularity, fewer dimensions to group by, or a filter."),
        )
    })?;
    Ok(UsageReport {
        gateway_id: gateway.id,
        from: q.from,
        to: q.to,
        granularity: q.granularity,
        group_by: q.group_by,
        items,
        totals,
    })
}

/// The question checked: its times and granularity, and the IDs it filters by well formed.
fn checked(raw: &RawUsageQuery) -> AppResult<UsageQuery> {
    let q = raw
        .parse(now_ms())
        .map_err(|e| AppError::invalid(e.field, e.message))?;
    for (kind, field, value) in [
        (IdKind::Consumer, "ConsumerId", &q.consumer_id),
        (
            IdKind::ConsumerGroup,
            "ConsumerGroupId",
            &q.consumer_group_id,
        ),
        (IdKind::Key, "KeyId", &q.key_id),
        (IdKind::Api, "ApiId", &q.api_id),
        (IdKind::Environment, "EnvironmentId", &q.environment_id),
    ] {
        if let Some(v) = value {
            // Usage is counted per key, or per JWT or HMAC credential in the same place.
            let credential =
                kind == IdKind::Key && ResourceId::parse(IdKind::Credential, v).is_some();
            if ResourceId::parse(kind, v).is_none() && !credential {
                return Err(AppError::invalid(
                    field,
                    format!("{} is not a valid {} ID.", truncate(v), kind.noun()),
                ));
            }
        }
    }
    Ok(q)
}

/// A filter's consumer, group or model API as its ID: an ID as given, or the ID of the one
/// with this name; an error naming the filter when the gateway has none.
async fn named(
    conn: &mut impl Read,
    gateway_id: &str,
    named: Named,
    given: &Option<String>,
) -> AppResult<Option<String>> {
    let (kind, field, noun) = match named {
        Named::Consumer => (IdKind::Consumer, "Consumer", "consumer"),
        Named::Group => (IdKind::ConsumerGroup, "ConsumerGroupId", "consumer group"),
        Named::Api => (IdKind::Api, "ApiId", "model API"),
        Named::Environment => (IdKind::Environment, "EnvironmentId", "environment"),
    };
    let value = match given.as_deref().map(str::trim) {
        None | Some("") => return Ok(None),
        Some(v) => v,
    };
    if ResourceId::parse(kind, value).is_some() {
        return Ok(Some(value.to_owned()));
    }
    match store::usage::id_by_name(conn, named, gateway_id, value).await? {
        Some(id) => Ok(Some(id)),
        None => Err(AppError::invalid(
            field,
            format!(
                "This instance has no {noun} with the name or ID {:?}.",
                truncate(value)
            ),
        )),
    }
}

/// What the Usage page draws for a gateway (and `GET /v1/usage/overview` answers): requests
/// by outcome and tokens in every bucket of the range, the totals, and the consumers and
/// model APIs with the most requests. The filter's consumer is an ID or a name. With `only`
/// a chart, just what that chart draws is read (the rest is left empty).
#[tracing::instrument(skip(db, actor, filter), fields(actor = %actor.user.username))]
pub async fn overview(
    db: &Db,
    actor: &Actor,
    gateway_id: &str,
    filter: &UsageFilter,
    only: Option<Chart>,
) -> AppResult<UsageOverview> {
    let wants = |c: Chart| only.is_none_or(|o| o == c);
    let series = wants(Chart::Requests) || wants(Chart::Tokens);
    let gateway = require_instance(db, gateway_id).await?;
    let mut conn = db.reader().await?;
    let consumer_id = named(&mut conn, &gateway.id, Named::Consumer, &filter.consumer).await?;
    let resolved = UsageFilter {
        group: named(&mut conn, &gateway.id, Named::Group, &filter.group).await?,
        api: named(&mut conn, &gateway.id, Named::Api, &filter.api).await?,
        ..filter.clone()
    };
    let raw = resolved
        .query(now_ms(), consumer_id)
        .map_err(|e| AppError::invalid(e.field, e.message))?;
    let mut q = checked(&raw)?;
    q.group_by = vec![Dimension::Outcome];
    let (rows, totals) = if series {
        let (rows, totals) = store::usage::query(&mut conn, &gateway.id, &q).await?;
        let rows = rows.ok_or_else(|| {
            AppError::invalid(
                "To",
                format!("This range has too many buckets to draw (more than {MAX_ROWS} rows): choose a shorter range."),
            )
        })?;
        (rows, totals)
    } else {
        (Vec::new(), Default::default())
    };
    let top_consumers = if wants(Chart::Consumers) {
        store::usage::top(
            &mut conn,
            &db.usage_rankings,
            &gateway.id,
            &q,
            Ranked::Consumers,
            TOP,
        )
        .await?
    } else {
        Vec::new()
    };
    let top_apis = if wants(Chart::Apis) {
        store::usage::top(
            &mut conn,
            &db.usage_rankings,
            &gateway.id,
            &q,
            Ranked::Apis,
            TOP,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok(UsageOverview::build(
        gateway.id,
        q.from,
        q.to,
        q.granularity,
        &rows,
        totals,
        top_consumers,
        top_apis,
    ))
}

/// Token usage reported by the gateway side (`POST /v1/usage`), with a `UsageWrite` token
/// only. A batch that cannot be read (too many records, a record breaking its own rules) is
/// refused whole, naming the first bad record. Otherwise each well-formed record is counted
/// once per request ID; a record naming a key, consumer, model API or environment the
/// gateway does not have (or a key bound to no consumer), older than the minute buckets are
/// kept, or more than five minutes ahead of the server's clock, is left out and listed with
/// its reason, and the rest are counted.
#[tracing::instrument(skip(db, actor, batch), fields(actor = %actor.user.username, records = batch.records.len()))]
pub async fn ingest(
    db: &Db,
    actor: &Actor,
    scope: TokenScope,
    minute_retention: std::time::Duration,
    batch: UsageRecords,
) -> AppResult<UsageIngested> {
    if scope != TokenScope::UsageWrite {
        return Err(AppError::Forbidden);
    }
    let gateway = require_instance(db, &batch.gateway_id).await?;
    let records = batch.records;
    if records.len() > MAX_RECORDS {
        return Err(AppError::invalid(
            "Records",
            format!(
                "A batch has at most {MAX_RECORDS} records, not {}: send it in parts.",
                records.len()
            ),
        ));
    }
    for (i, r) in records.iter().enumerate() {
        r.check()
            .map_err(|m| AppError::invalid("Records", format!("records[{i}]: {m}")))?;
    }
    let now = now_ms();
    let oldest = now - i64::try_from(minute_retention.as_millis()).unwrap_or(i64::MAX);
    let trimmed = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };

    // What the records name, read once for the whole batch.
    let mut conn = db.reader().await?;
    let key_ids: Vec<&str> = unique(records.iter().filter_map(|r| r.key_id.as_deref()));
    let holders = store::usage::key_holders(&mut conn, &gateway.id, &key_ids).await?;
    let consumer_ids: Vec<&str> = unique(records.iter().filter_map(|r| r.consumer_id.as_deref()));
    let consumers =
        store::usage::existing(&mut conn, Named::Consumer, &gateway.id, &consumer_ids).await?;
    let api_ids: Vec<&str> = unique(records.iter().map(|r| r.api_id.as_str()));
    let apis = store::usage::existing(&mut conn, Named::Api, &gateway.id, &api_ids).await?;
    let env_ids: Vec<&str> = unique(records.iter().filter_map(|r| r.environment_id.as_deref()));
    let environments =
        store::usage::existing(&mut conn, Named::Environment, &gateway.id, &env_ids).await?;
    let default_environment = store::usage::default_environment(&mut conn, &gateway.id)
        .await?
        .unwrap_or_default();
    drop(conn);

    let mut out = UsageIngested::default();
    let mut counted: Vec<(usize, UsageDelta)> = Vec::new();
    for (index, r) in records.iter().enumerate() {
        let key = trimmed(&r.key_id);
        let holder = match &key {
            Some(k) => match holders.get(k) {
                None => Err("no key of this gateway has this keyId"),
                Some(None) => Err("the key is bound to no consumer"),
                Some(Some(c)) => Ok(c.clone()),
            },
            None => {
                let c = trimmed(&r.consumer_id).unwrap_or_default();
                if consumers.contains(&c) {
                    Ok(c)
                } else {
                    Err("no consumer of this gateway has this consumerId")
                }
            }
        };
        let environment = match trimmed(&r.environment_id) {
            None => Ok(default_environment.clone()),
            Some(e) if environments.contains(&e) => Ok(e),
            Some(_) => Err("no environment of this gateway has this environmentId"),
        };
        let verdict = holder.and_then(|consumer| {
            if !apis.contains(r.api_id.trim()) {
                return Err("no model API of this gateway has this apiId");
            }
            if r.timestamp > now + FUTURE_SKEW_MS {
                return Err("timestamp is more than 5 minutes ahead of the server's clock");
            }
            if r.timestamp < oldest {
                return Err("timestamp is older than the minute buckets are kept");
            }
            Ok((consumer, environment?))
        });
        match verdict {
            Err(reason) => out.rejected.push(RejectedRecord {
                index,
                request_id: r.request_id.clone(),
                reason: reason.to_owned(),
            }),
            Ok((consumer, environment)) => counted.push((
                index,
                UsageDelta {
                    gateway_id: gateway.id.clone(),
                    at: r.timestamp - r.timestamp.rem_euclid(MINUTE_MS),
                    environment_id: environment,
                    consumer_id: consumer,
                    key_id: key.unwrap_or_default(),
                    api_id: r.api_id.trim().to_owned(),
                    outcome: ALLOWED.to_owned(),
                    requests: 0,
                    prompt_tokens: r.prompt_tokens,
                    completion_tokens: r.completion_tokens,
                },
            )),
        }
    }

    // Request IDs seen before (in an earlier batch, or earlier in this one) count once.
    let mut once = std::collections::HashSet::new();
    let reports: Vec<(&str, i64)> = counted
        .iter()
        .map(|(i, _)| (records[*i].request_id.as_str(), records[*i].timestamp))
        .filter(|(id, _)| once.insert(*id))
        .collect();
    let mut tx = db.begin_write().await?;
    let mut new = store::usage::remember_reports(&mut tx, &gateway.id, &reports).await?;
    let deltas: Vec<UsageDelta> = counted
        .into_iter()
        .filter_map(|(i, d)| new.remove(&records[i].request_id).then_some(d))
        .collect();
    store::usage::add_in(&mut tx, &deltas).await?;
    let reported = token_quota_counts(&mut tx, &gateway.id, &deltas).await?;
    store::quotas::add_reported(&mut tx, &reported, now).await?;
    tx.commit().await?;
    out.accepted = deltas.len();
    out.duplicates = records.len() - out.accepted - out.rejected.len();
    Ok(out)
}

/// The reported tokens as they count against token quotas: each record's tokens under every
/// token quota of its key, its consumer and its consumer's groups, in the quota's period that
/// the record's time falls in.
async fn token_quota_counts(
    conn: &mut impl crate::store::read::Read,
    gateway_id: &str,
    deltas: &[UsageDelta],
) -> AppResult<Vec<store::quotas::PeriodCount>> {
    use crate::enforce::quotas::{period_bounds, zone};
    let with_tokens: Vec<&UsageDelta> = deltas
        .iter()
        .filter(|d| d.prompt_tokens + d.completion_tokens > 0)
        .collect();
    if with_tokens.is_empty() {
        return Ok(Vec::new());
    }
    let consumers = unique(with_tokens.iter().map(|d| d.consumer_id.as_str()));
    let groups = store::quotas::groups_of(conn, &consumers).await?;
    let mut subjects: Vec<&str> = consumers.clone();
    subjects.extend(unique(with_tokens.iter().map(|d| d.key_id.as_str())));
    subjects.extend(unique(groups.iter().map(|(g, _)| g.as_str())));
    let quotas = store::quotas::token_quotas_of(conn, gateway_id, &subjects).await?;
    if quotas.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_subject: HashMap<&str, Vec<&store::quotas::QuotaRow>> = HashMap::new();
    for q in &quotas {
        by_subject.entry(q.subject_id.as_str()).or_default().push(q);
    }
    let mut groups_of: HashMap<&str, Vec<&str>> = HashMap::new();
    for (g, c) in &groups {
        groups_of.entry(c.as_str()).or_default().push(g.as_str());
    }
    let mut sums: HashMap<(String, i64, i64), i64> = HashMap::new();
    for d in with_tokens {
        let tokens = d.prompt_tokens + d.completion_tokens;
        let mut of: Vec<&str> = vec![d.consumer_id.as_str()];
        if !d.key_id.is_empty() {
            of.push(d.key_id.as_str());
        }
        of.extend(groups_of.get(d.consumer_id.as_str()).into_iter().flatten());
        for q in of.iter().filter_map(|s| by_subject.get(s)).flatten() {
            let (start, _) = period_bounds(q.period, zone(&q.time_zone), d.at);
            *sums.entry((q.id.clone(), q.generation, start)).or_default() += tokens;
        }
    }
    Ok(sums
        .into_iter()
        .map(
            |((quota_id, generation, period_start), tokens)| store::quotas::PeriodCount {
                quota_id,
                generation,
                period_start,
                requests: 0,
                tokens,
            },
        )
        .collect())
}

/// Each value once, in first-seen order.
fn unique<'a>(values: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen = std::collections::HashSet::new();
    values
        .map(str::trim)
        .filter(|v| !v.is_empty() && seen.insert(*v))
        .collect()
}
