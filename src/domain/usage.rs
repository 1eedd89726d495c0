//! Usage: what the check decided (and, reported by the gateway side, how many tokens were
//! used), counted per gateway, environment, consumer, key, model API, time bucket and
//! outcome; and the questions that can be asked of it. Shared with the browser, so a Usage
//! page builds the same query the REST API validates.

use serde::{Deserialize, Serialize};

/// The outcome of a granted request.
pub const ALLOWED: &str = "allowed";

/// Where usage is reported (`POST`), the one operation of a `UsageWrite` token.
pub const USAGE_PATH: &str = "/v1/usage";

/// What a decision ended in: `allowed`, or the reason of the refusal. (`unknown-gateway` is
/// never counted: there is no gateway to count it under.)
pub const OUTCOMES: [&str; 15] = [
    ALLOWED,
    "no-key",
    "unknown-key",
    "disabled-key",
    "expired-key",
    "disabled-consumer",
    "bad-signature",
    "bad-token",
    "unknown-environment",
    "refused-path",
    "case-mismatch",
    "no-api",
    "no-rule",
    RATE_LIMITED,
    QUOTA_EXHAUSTED,
];

/// The outcome of a request the rules allowed and a used-up quota refused.
pub const QUOTA_EXHAUSTED: &str = "quota-exhausted";

/// The outcome of a request the rules allowed and a rate limit refused.
pub const RATE_LIMITED: &str = "rate-limited";

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
pub const DAY_MS: i64 = 86_400_000;

/// The most time buckets one answer covers (a week of minutes, 420 days of hours).
pub const MAX_BUCKETS: i64 = 10_080;
/// The most rows one answer has; more asks for a narrower question.
pub const MAX_ROWS: usize = 10_000;
/// The latest time a query may name: the year 9999.
const LATEST: i64 = 253_402_300_799_999;

/// Counts to add to a stored bucket: one combination's requests (and tokens) in one bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageDelta {
    pub gateway_id: String,
    /// The bucket's start (ms since the epoch, UTC).
    pub at: i64,
    pub environment_id: String,
    pub consumer_id: String,
    pub key_id: String,
    pub api_id: String,
    pub outcome: String,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

impl UsageDelta {
    /// Whether it counts nothing: no request and no token.
    pub fn is_empty(&self) -> bool {
        self.requests == 0 && self.prompt_tokens == 0 && self.completion_tokens == 0
    }

    /// What a minute bucket is kept under: gateway, minute, environment, consumer, key,
    /// model API and outcome, in the order of the table's primary key.
    pub fn bucket_key(&self) -> (&str, i64, &str, &str, &str, &str, &str) {
        (
            &self.gateway_id,
            self.at,
            &self.environment_id,
            &self.consumer_id,
            &self.key_id,
            &self.api_id,
            &self.outcome,
        )
    }
}

/// The width of a time bucket in an answer. Minutes come from the minute buckets (kept 48 h
/// by default), hours and days (UTC) from the hourly ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Minute,
    Hour,
    Day,
}

impl Granularity {
    pub fn ms(self) -> i64 {
        match self {
            Granularity::Minute => MINUTE_MS,
            Granularity::Hour => HOUR_MS,
            Granularity::Day => DAY_MS,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Minute => "minute",
            Granularity::Hour => "hour",
            Granularity::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Granularity> {
        match s.trim().to_ascii_lowercase().as_str() {
            "minute" => Some(Granularity::Minute),
            "hour" => Some(Granularity::Hour),
            "day" => Some(Granularity::Day),
            _ => None,
        }
    }

    /// The granularity a range is drawn in when none is asked for: minutes up to 6 hours,
    /// hours up to 14 days, days beyond.
    pub fn for_range(ms: i64) -> Granularity {
        if ms <= 6 * HOUR_MS {
            Granularity::Minute
        } else if ms <= 14 * DAY_MS {
            Granularity::Hour
        } else {
            Granularity::Day
        }
    }
}

/// What an answer's rows are split by (besides time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    Consumer,
    Key,
    Api,
    Environment,
    Outcome,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Consumer,
        Dimension::Key,
        Dimension::Api,
        Dimension::Environment,
        Dimension::Outcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Consumer => "consumer",
            Dimension::Key => "key",
            Dimension::Api => "api",
            Dimension::Environment => "environment",
            Dimension::Outcome => "outcome",
        }
    }

    /// The stored column.
    pub fn column(self) -> &'static str {
        match self {
            Dimension::Consumer => "consumer_id",
            Dimension::Key => "key_id",
            Dimension::Api => "api_id",
            Dimension::Environment => "environment_id",
            Dimension::Outcome => "outcome",
        }
    }
}

/// A usage question as it arrives (query parameters, or a page's URL): all text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawUsageQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub granularity: Option<String>,
    pub group_by: Option<String>,
    pub consumer_id: Option<String>,
    pub consumer_group_id: Option<String>,
    pub key_id: Option<String>,
    pub api_id: Option<String>,
    pub environment_id: Option<String>,
    pub outcome: Option<String>,
}

/// A usage question, checked: `[from, to)` aligned to whole buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageQuery {
    pub from: i64,
    pub to: i64,
    pub granularity: Granularity,
    pub group_by: Vec<Dimension>,
    pub consumer_id: Option<String>,
    pub consumer_group_id: Option<String>,
    pub key_id: Option<String>,
    pub api_id: Option<String>,
    pub environment_id: Option<String>,
    pub outcome: Option<String>,
}

impl UsageQuery {
    /// The whole gateway's usage in `[from, to)` by `granularity`: no filter, no grouping.
    pub fn unfiltered(from: i64, to: i64, granularity: Granularity) -> UsageQuery {
        UsageQuery {
            from,
            to,
            granularity,
            group_by: Vec::new(),
            consumer_id: None,
            consumer_group_id: None,
            key_id: None,
            api_id: None,
            environment_id: None,
            outcome: None,
        }
    }
}

/// Why a usage question cannot be answered: the parameter (`From`, `To`, `Granularity`,
/// `GroupBy`, `Outcome`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub field: &'static str,
    pub message: String,
}

fn problem(field: &'static str, message: impl Into<String>) -> QueryError {
    QueryError {
        field,
        message: message.into(),
    }
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn time(field: &'static str, raw: Option<&str>) -> Result<Option<i64>, QueryError> {
    let Some(s) = raw else { return Ok(None) };
    match s.parse::<i64>() {
        Ok(t) if (0..=LATEST).contains(&t) => Ok(Some(t)),
        _ => Err(problem(
            field,
            format!("{field} is a time in milliseconds since the epoch, from 0 to the year 9999."),
        )),
    }
}

impl RawUsageQuery {
    /// Checks the question at `now` (ms): `to` defaults to now and `from` to 24 hours
    /// before `to`; the granularity defaults by the range ([`Granularity::for_range`]);
    /// `from` is rounded down and `to` up to whole buckets. IDs are checked by the caller.
    pub fn parse(&self, now: i64) -> Result<UsageQuery, QueryError> {
        let to = time("To", given(&self.to))?.unwrap_or(now.clamp(0, LATEST));
        let from = time("From", given(&self.from))?.unwrap_or((to - DAY_MS).max(0));
        if from >= to {
            return Err(problem("From", "From must be before To."));
        }
        let granularity = match given(&self.granularity) {
            None => Granularity::for_range(to - from),
            Some(g) => Granularity::parse(g)
                .ok_or_else(|| problem("Granularity", "Granularity is minute, hour or day."))?,
        };
        let g = granularity.ms();
        let from = from - from.rem_euclid(g);
        let to = match to.rem_euclid(g) {
            0 => to,
            r => to - r + g,
        };
        let buckets = (to - from) / g;
        if buckets > MAX_BUCKETS {
            return Err(problem(
                "Granularity",
                format!(
                    "By {} this range has {buckets} buckets; at most {MAX_BUCKETS}: choose a coarser granularity or a shorter range.",
                    granularity.as_str()
                ),
            ));
        }
        let mut group_by = Vec::new();
        for part in given(&self.group_by).unwrap_or_default().split(',') {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let d = Dimension::ALL
                .into_iter()
                .find(|d| d.as_str().eq_ignore_ascii_case(part))
                .ok_or_else(|| {
                    problem(
                        "GroupBy",
                        format!("GroupBy lists consumer, key, api, environment or outcome, not {part:?}."),
                    )
                })?;
            if group_by.contains(&d) {
                return Err(problem(
                    "GroupBy",
                    format!("GroupBy names {} twice.", d.as_str()),
                ));
            }
            group_by.push(d);
        }
        let outcome = match given(&self.outcome) {
            None => None,
            Some(o) => Some(
                OUTCOMES
                    .into_iter()
                    .find(|known| known.eq_ignore_ascii_case(o))
                    .ok_or_else(|| {
                        problem(
                            "Outcome",
                            format!("Outcome is one of {}.", OUTCOMES.join(", ")),
                        )
                    })?
                    .to_owned(),
            ),
        };
        let id = |v: &Option<String>| given(v).map(str::to_owned);
        Ok(UsageQuery {
            from,
            to,
            granularity,
            group_by,
            consumer_id: id(&self.consumer_id),
            consumer_group_id: id(&self.consumer_group_id),
            key_id: id(&self.key_id),
            api_id: id(&self.api_id),
            environment_id: id(&self.environment_id),
            outcome,
        })
    }
}

/// One row of an answer: a time bucket, the dimensions grouped by (absent when not grouped
/// by; empty when the decision did not reach it, e.g. the consumer of a request without a
/// valid key), and the counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsagePoint {
    /// The bucket's start, in milliseconds since the epoch.
    pub time: i64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_id: Option<String>,
    /// The consumer's name now (absent once it is deleted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_id: Option<String>,
    /// The model API's name now (absent once it is deleted).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub environment_id: Option<String>,
    /// `allowed`, or the reason of the refusal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub outcome: Option<String>,
    pub requests: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// The sums over the whole answer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageTotals {
    pub requests: i64,
    pub allowed: i64,
    pub denied: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
}

/// The answer to a usage question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub gateway_id: String,
    /// The range covered, rounded to whole buckets: from (inclusive), to (exclusive).
    pub from: i64,
    pub to: i64,
    pub granularity: Granularity,
    pub group_by: Vec<Dimension>,
    /// Rows with at least one request or token, by time and then by the dimensions.
    pub items: Vec<UsagePoint>,
    pub totals: UsageTotals,
}

/// The most records one `POST /v1/usage` carries.
pub const MAX_RECORDS: usize = 10_000;
/// The most tokens one record may report (prompt or completion).
pub const MAX_TOKENS: i64 = 100_000_000;
/// How far ahead of the server's clock a record's time may be (the gateway's clock drifts).
pub const FUTURE_SKEW_MS: i64 = 5 * MINUTE_MS;

/// A batch of token usage reported by the gateway side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageRecords {
    pub gateway_id: String,
    /// At most 10,000.
    pub records: Vec<UsageRecord>,
}

/// One model call's tokens: who (a key, or a consumer), which model API, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UsageRecord {
    /// The request's unique ID (1–128 visible ASCII characters, e.g. nginx's
    /// `$request_id`): a record whose ID this gateway has seen is not counted again.
    pub request_id: String,
    /// The key the request was made with (its consumer is the one it is bound to now). Give
    /// this or `consumerId`.
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub consumer_id: Option<String>,
    pub api_id: String,
    /// The environment; the gateway's default one when absent.
    #[serde(default)]
    pub environment_id: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    /// When the request was made, in milliseconds since the epoch.
    pub timestamp: i64,
}

impl UsageRecord {
    /// The record's own rules (what needs no database): its request ID, exactly one of key
    /// and consumer, token counts from 0 to [`MAX_TOKENS`].
    pub fn check(&self) -> Result<(), String> {
        let id = &self.request_id;
        if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            return Err("requestId is 1 to 128 visible ASCII characters.".into());
        }
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        if given(&self.key_id) == given(&self.consumer_id) {
            return Err("give keyId or consumerId, one of them.".into());
        }
        for (name, n) in [
            ("promptTokens", self.prompt_tokens),
            ("completionTokens", self.completion_tokens),
        ] {
            if !(0..=MAX_TOKENS).contains(&n) {
                return Err(format!("{name} is from 0 to {MAX_TOKENS}."));
            }
        }
        Ok(())
    }
}

/// Why a well-formed record was not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RejectedRecord {
    /// Its place in `records`, from 0.
    pub index: usize,
    pub request_id: String,
    pub reason: String,
}

/// What became of a batch: records counted, records already counted before (the same
/// request ID, in this batch or an earlier one), and records refused with their reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageIngested {
    pub accepted: usize,
    pub duplicates: usize,
    pub rejected: Vec<RejectedRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn raw(pairs: &[(&str, &str)]) -> RawUsageQuery {
        let mut q = RawUsageQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "from" => q.from = v,
                "to" => q.to = v,
                "granularity" => q.granularity = v,
                "groupBy" => q.group_by = v,
                "outcome" => q.outcome = v,
                _ => unreachable!(),
            }
        }
        q
    }

    const NOW: i64 = 1_800_000_000_000 + 12_345;

    #[test]
    fn defaults_are_the_last_24_hours_by_hour() {
        let q = RawUsageQuery::default().parse(NOW).unwrap();
        assert_eq!(q.granularity, Granularity::Hour);
        assert_eq!(q.to % HOUR_MS, 0);
        assert!(q.to >= NOW && q.to - NOW < HOUR_MS);
        assert_eq!(q.to - q.from, 25 * HOUR_MS, "rounded out to whole hours");
        assert!(q.group_by.is_empty());
    }

    #[test]
    fn ranges_round_out_to_whole_buckets() {
        let q = raw(&[
            ("from", "90000"),
            ("to", "150001"),
            ("granularity", "MINUTE"),
        ])
        .parse(NOW)
        .unwrap();
        assert_eq!((q.from, q.to), (60_000, 180_000));
    }

    #[test]
    fn bad_questions_name_their_parameter() {
        let field = |pairs: &[(&str, &str)]| raw(pairs).parse(NOW).unwrap_err().field;
        assert_eq!(field(&[("from", "10"), ("to", "10")]), "From");
        assert_eq!(field(&[("from", "-1")]), "From");
        assert_eq!(field(&[("to", "soon")]), "To");
        assert_eq!(field(&[("to", "99999999999999999999")]), "To");
        assert_eq!(field(&[("granularity", "second")]), "Granularity");
        assert_eq!(
            field(&[
                ("from", "0"),
                ("to", "86400000000"),
                ("granularity", "minute")
            ]),
            "Granularity"
        );
        assert_eq!(field(&[("groupBy", "consumer,planet")]), "GroupBy");
        assert_eq!(field(&[("groupBy", "api,API")]), "GroupBy");
        assert_eq!(field(&[("outcome", "maybe")]), "Outcome");
    }

    #[test]
    fn group_by_and_outcome_are_read_case_insensitively() {
        let q = raw(&[("groupBy", " Consumer, outcome ,"), ("outcome", "No-Rule")])
            .parse(NOW)
            .unwrap();
        assert_eq!(q.group_by, vec![Dimension::Consumer, Dimension::Outcome]);
        assert_eq!(q.outcome.as_deref(), Some("no-rule"));
    }

    fn record() -> UsageRecord {
        UsageRecord {
            request_id: "req-1".into(),
            key_id: Some("key-1".into()),
            consumer_id: None,
            api_id: "api-1".into(),
            environment_id: None,
            prompt_tokens: 10,
            completion_tokens: 20,
            timestamp: NOW,
        }
    }

    #[test]
    fn a_record_names_one_holder_and_sane_counts() {
        assert_eq!(record().check(), Ok(()));
        let bad = [
            UsageRecord {
                request_id: "".into(),
                ..record()
            },
            UsageRecord {
                request_id: "has space".into(),
                ..record()
            },
            UsageRecord {
                request_id: "x".repeat(129),
                ..record()
            },
            UsageRecord {
                consumer_id: Some("cs-1".into()),
                ..record()
            },
            UsageRecord {
                key_id: None,
                ..record()
            },
            UsageRecord {
                key_id: Some(" ".into()),
                ..record()
            },
            UsageRecord {
                prompt_tokens: -1,
                ..record()
            },
            UsageRecord {
                completion_tokens: MAX_TOKENS + 1,
                ..record()
            },
        ];
        for r in bad {
            assert!(r.check().is_err(), "{r:?}");
        }
    }

    proptest! {
        /// Whatever arrives is either refused with a field or is a range of whole buckets,
        /// from before to, of at most MAX_BUCKETS buckets.
        #[test]
        fn any_question_is_refused_or_well_formed(
            from in proptest::option::of(any::<i64>().prop_map(|n| n.to_string())),
            to in proptest::option::of(any::<i64>().prop_map(|n| n.to_string())),
            granularity in proptest::option::of("[a-zA-Z]{0,8}"),
            group_by in proptest::option::of("[a-z, ]{0,30}"),
        ) {
            let q = RawUsageQuery { from, to, granularity, group_by, ..Default::default() };
            match q.parse(NOW) {
                Ok(q) => {
                    let g = q.granularity.ms();
                    prop_assert!(q.from < q.to);
                    prop_assert_eq!(q.from % g, 0);
                    prop_assert_eq!(q.to % g, 0);
                    prop_assert!((q.to - q.from) / g <= MAX_BUCKETS);
                }
                Err(e) => prop_assert!(!e.message.is_empty()),
            }
        }
    }
}
