//! The Usage page's question and answer, shared with the browser: a range (the last hour,
//! day, week or 30 days, or from–to) and filters, as the page's URL carries them; and what
//! its charts draw — requests over time by outcome, tokens over time, the top consumers and
//! model APIs — with the words and CSV that say the same without the picture.

use super::limits::group_digits;
use super::usage::{
    Granularity, QueryError, RawUsageQuery, UsagePoint, UsageTotals, ALLOWED, DAY_MS, HOUR_MS,
};
use super::{format_time, parse_time_utc};
use serde::{Deserialize, Serialize};

/// How far back the Usage page looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageRange {
    LastHour,
    LastDay,
    LastWeek,
    Last30Days,
    Custom,
}

impl UsageRange {
    pub const ALL: [UsageRange; 5] = [
        UsageRange::LastHour,
        UsageRange::LastDay,
        UsageRange::LastWeek,
        UsageRange::Last30Days,
        UsageRange::Custom,
    ];

    /// The value in the page's URL (`range=24h`).
    pub fn as_str(self) -> &'static str {
        match self {
            UsageRange::LastHour => "1h",
            UsageRange::LastDay => "24h",
            UsageRange::LastWeek => "7d",
            UsageRange::Last30Days => "30d",
            UsageRange::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UsageRange::LastHour => "Last hour",
            UsageRange::LastDay => "Last 24 hours",
            UsageRange::LastWeek => "Last 7 days",
            UsageRange::Last30Days => "Last 30 days",
            UsageRange::Custom => "From – to (UTC)",
        }
    }

    /// The range a URL names; none (or an unknown one) is the last 24 hours.
    pub fn parse(s: Option<&str>) -> UsageRange {
        let s = s.map(str::trim).unwrap_or_default();
        UsageRange::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s))
            .unwrap_or(UsageRange::LastDay)
    }

    fn ms(self) -> Option<i64> {
        match self {
            UsageRange::LastHour => Some(HOUR_MS),
            UsageRange::LastDay => Some(DAY_MS),
            UsageRange::LastWeek => Some(7 * DAY_MS),
            UsageRange::Last30Days => Some(30 * DAY_MS),
            UsageRange::Custom => None,
        }
    }
}

/// The Usage page's URL parameters, as text: `range`, `from` and `to` (custom ranges, as a
/// `datetime-local` value in UTC, or milliseconds since the epoch), and the filters `consumer` (an ID or a name), `group`,
/// `api` and `environment` (IDs).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageFilter {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub consumer: Option<String>,
    pub group: Option<String>,
    pub api: Option<String>,
    pub environment: Option<String>,
}

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl UsageFilter {
    /// The usage question the filter asks at `now`, with `consumer_id` already resolved
    /// (the caller looks a name up). A custom range needs both ends.
    pub fn query(
        &self,
        now: i64,
        consumer_id: Option<String>,
    ) -> Result<RawUsageQuery, QueryError> {
        let range = UsageRange::parse(given(&self.range));
        let (from, to) = match range.ms() {
            Some(ms) => (now - ms, now),
            None => (
                custom_end("From", given(&self.from))?,
                custom_end("To", given(&self.to))?,
            ),
        };
        Ok(RawUsageQuery {
            from: Some(from.max(0).to_string()),
            to: Some(to.max(0).to_string()),
            consumer_id,
            consumer_group_id: given(&self.group).map(str::to_owned),
            api_id: given(&self.api).map(str::to_owned),
            environment_id: given(&self.environment).map(str::to_owned),
            ..RawUsageQuery::default()
        })
    }

    /// The filter as a query string (`range=24h&api=…`), without the empty parameters.
    pub fn query_string(&self) -> String {
        [
            ("range", &self.range),
            ("from", &self.from),
            ("to", &self.to),
            ("consumer", &self.consumer),
            ("group", &self.group),
            ("api", &self.api),
            ("environment", &self.environment),
        ]
        .into_iter()
        .filter_map(|(k, v)| given(v).map(|v| format!("{k}={}", super::url_encode(v))))
        .collect::<Vec<_>>()
        .join("&")
    }
}

fn custom_end(field: &'static str, value: Option<&str>) -> Result<i64, QueryError> {
    value
        .and_then(|v| v.parse::<i64>().ok().or_else(|| parse_time_utc(v)))
        .ok_or_else(|| QueryError {
        field,
        message: format!("{field} is a date and time in UTC (YYYY-MM-DDTHH:MM, or milliseconds since the epoch) for a custom range."),
    })
}

/// One outcome's requests in every bucket of an overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct OutcomeSeries {
    /// `allowed`, or the reason of the refusal.
    pub outcome: String,
    /// One count per bucket of `times`.
    pub requests: Vec<i64>,
    pub total: i64,
}

/// A consumer or model API among those with the most requests: its ID is `consumerId` in a
/// ranking of consumers, `apiId` in one of model APIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TopEntry {
    /// Empty for the requests that reached no consumer (no valid key).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub consumer_id: Option<String>,
    /// Empty for the requests that matched no model API.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub api_id: Option<String>,
    /// Its name now (absent once it is deleted, or for the empty ID).
    pub name: Option<String>,
    pub requests: i64,
    pub allowed: i64,
    pub tokens: i64,
}

impl TopEntry {
    /// The consumer's or model API's ID.
    pub fn id(&self) -> &str {
        self.consumer_id
            .as_deref()
            .or(self.api_id.as_deref())
            .unwrap_or_default()
    }

    /// Its name, else its ID, else what the empty ID stands for.
    pub fn label(&self, empty: &str) -> String {
        match (&self.name, self.id()) {
            (Some(name), _) => name.clone(),
            (None, "") => empty.to_owned(),
            (None, id) => id.to_owned(),
        }
    }
}

/// How many consumers and model APIs the overview ranks.
pub const TOP: usize = 10;

/// What the Usage page draws for a gateway, a range and filters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UsageOverview {
    pub gateway_id: String,
    /// The range, rounded to whole buckets: from (inclusive), to (exclusive), in ms.
    pub from: i64,
    pub to: i64,
    pub granularity: Granularity,
    /// The start of every bucket in the range, with requests or not.
    pub times: Vec<i64>,
    /// Requests by outcome (`allowed` first, then the refusals by count), only those seen.
    pub outcomes: Vec<OutcomeSeries>,
    pub prompt_tokens: Vec<i64>,
    pub completion_tokens: Vec<i64>,
    pub totals: UsageTotals,
    /// The consumers with the most requests (at most 10).
    pub top_consumers: Vec<TopEntry>,
    /// The model APIs with the most requests (at most 10).
    pub top_apis: Vec<TopEntry>,
}

impl UsageOverview {
    /// Lays the rows of a query grouped by outcome over every bucket of the range.
    #[allow(clippy::too_many_arguments)]
    pub fn build(
        gateway_id: String,
        from: i64,
        to: i64,
        granularity: Granularity,
        by_outcome: &[UsagePoint],
        totals: UsageTotals,
        top_consumers: Vec<TopEntry>,
        top_apis: Vec<TopEntry>,
    ) -> UsageOverview {
        let width = granularity.ms();
        let times: Vec<i64> = (from..to).step_by(width as usize).collect();
        let slot = |t: i64| {
            usize::try_from((t - from) / width)
                .ok()
                .filter(|i| *i < times.len())
        };
        let mut outcomes: Vec<OutcomeSeries> = Vec::new();
        let mut prompt_tokens = vec![0; times.len()];
        let mut completion_tokens = vec![0; times.len()];
        for p in by_outcome {
            let Some(i) = slot(p.time) else { continue };
            prompt_tokens[i] += p.prompt_tokens;
            completion_tokens[i] += p.completion_tokens;
            if p.requests == 0 {
                continue;
            }
            let outcome = p.outcome.clone().unwrap_or_else(|| ALLOWED.to_owned());
            let series = match outcomes.iter_mut().position(|s| s.outcome == outcome) {
                Some(at) => &mut outcomes[at],
                None => {
                    outcomes.push(OutcomeSeries {
                        outcome,
                        requests: vec![0; times.len()],
                        total: 0,
                    });
                    outcomes.last_mut().expect("just pushed")
                }
            };
            series.requests[i] += p.requests;
            series.total += p.requests;
        }
        outcomes.sort_by(|a, b| {
            (b.outcome == ALLOWED)
                .cmp(&(a.outcome == ALLOWED))
                .then(b.total.cmp(&a.total))
                .then(a.outcome.cmp(&b.outcome))
        });
        UsageOverview {
            gateway_id,
            from,
            to,
            granularity,
            times,
            outcomes,
            prompt_tokens,
            completion_tokens,
            totals,
            top_consumers,
            top_apis,
        }
    }

    /// A bucket's label in the charts and tables: the time of day for minutes and hours, the
    /// date for days (UTC).
    pub fn time_label(&self, t: i64) -> String {
        let full = format_time(t);
        match self.granularity {
            Granularity::Day => full[..10].to_owned(),
            _ if self.to - self.from <= DAY_MS => full[11..16].to_owned(),
            _ => full[5..16].to_owned(),
        }
    }

    /// The range in words: `2026-12-02 10:00 to 2026-12-03 10:00 UTC, by hour`.
    pub fn range_words(&self) -> String {
        format!(
            "{} to {} UTC, by {}",
            &format_time(self.from)[..16],
            &format_time(self.to)[..16],
            self.granularity.as_str()
        )
    }

    /// The text alternative of the requests chart.
    pub fn requests_summary(&self) -> String {
        if self.totals.requests == 0 {
            return format!("Requests over time, {}: none.", self.range_words());
        }
        let parts: Vec<String> = self
            .outcomes
            .iter()
            .map(|s| format!("{} {}", group_digits(s.total), s.outcome))
            .collect();
        let (peak_at, peak) = (0..self.times.len())
            .map(|i| (i, self.outcomes.iter().map(|s| s.requests[i]).sum::<i64>()))
            .max_by_key(|(i, n)| (*n, std::cmp::Reverse(*i)))
            .unwrap_or_default();
        format!(
            "Requests over time, {}: {} requests ({}); the most, {}, at {}.",
            self.range_words(),
            group_digits(self.totals.requests),
            parts.join(", "),
            group_digits(peak),
            self.time_label(self.times.get(peak_at).copied().unwrap_or(self.from)),
        )
    }

    /// The text alternative of the tokens chart.
    pub fn tokens_summary(&self) -> String {
        let t = &self.totals;
        if t.prompt_tokens + t.completion_tokens == 0 {
            return format!("Tokens over time, {}: none reported.", self.range_words());
        }
        format!(
            "Tokens over time, {}: {} prompt and {} completion tokens.",
            self.range_words(),
            group_digits(t.prompt_tokens),
            group_digits(t.completion_tokens)
        )
    }

    /// The text alternative of a ranking (`consumers` or `model APIs`).
    pub fn top_summary(entries: &[TopEntry], what: &str, empty: &str) -> String {
        if entries.is_empty() {
            return format!("Top {what} by requests: none.");
        }
        let parts: Vec<String> = entries
            .iter()
            .map(|e| format!("{} {}", e.label(empty), group_digits(e.requests)))
            .collect();
        format!("Top {what} by requests: {}.", parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(time: i64, outcome: &str, requests: i64, prompt: i64) -> UsagePoint {
        UsagePoint {
            time,
            consumer_id: None,
            consumer_name: None,
            key_id: None,
            api_id: None,
            api_name: None,
            environment_id: None,
            outcome: Some(outcome.into()),
            requests,
            prompt_tokens: prompt,
            completion_tokens: 0,
        }
    }

    #[test]
    fn a_named_range_ends_now_and_an_unknown_one_is_the_last_day() {
        let now = 10 * DAY_MS;
        let week = UsageFilter {
            range: Some("7d".into()),
            ..UsageFilter::default()
        };
        let q = week.query(now, None).unwrap();
        assert_eq!(
            (q.from.unwrap(), q.to.unwrap()),
            ((3 * DAY_MS).to_string(), now.to_string())
        );
        let odd = UsageFilter {
            range: Some("fortnight".into()),
            ..UsageFilter::default()
        };
        assert_eq!(
            odd.query(now, None).unwrap().from.unwrap(),
            (9 * DAY_MS).to_string()
        );
    }

    #[test]
    fn a_custom_range_without_a_readable_end_names_that_end() {
        let f = UsageFilter {
            range: Some("custom".into()),
            from: Some("2026-12-01T00:00".into()),
            to: Some("yesterday".into()),
            ..UsageFilter::default()
        };
        assert_eq!(f.query(0, None).unwrap_err().field, "To");
    }

    #[test]
    fn the_query_string_keeps_only_what_is_set_and_encodes_it() {
        let f = UsageFilter {
            range: Some("custom".into()),
            from: Some("2026-12-01T00:00".into()),
            consumer: Some("a b".into()),
            api: Some(" ".into()),
            ..UsageFilter::default()
        };
        assert_eq!(
            f.query_string(),
            "range=custom&from=2026-12-01T00%3A00&consumer=a%20b"
        );
    }

    #[test]
    fn an_overview_has_every_bucket_and_puts_allowed_first() {
        let rows = [
            point(0, "no-rule", 1, 0),
            point(0, ALLOWED, 2, 10),
            point(2 * HOUR_MS, "no-key", 5, 0),
            point(2 * HOUR_MS, ALLOWED, 1, 3),
        ];
        let totals = UsageTotals {
            requests: 9,
            allowed: 3,
            denied: 6,
            prompt_tokens: 13,
            completion_tokens: 0,
        };
        let o = UsageOverview::build(
            "gw".into(),
            0,
            3 * HOUR_MS,
            Granularity::Hour,
            &rows,
            totals,
            vec![],
            vec![],
        );
        assert_eq!(o.times, vec![0, HOUR_MS, 2 * HOUR_MS]);
        let names: Vec<&str> = o.outcomes.iter().map(|s| s.outcome.as_str()).collect();
        assert_eq!(names, vec![ALLOWED, "no-key", "no-rule"]);
        assert_eq!(o.outcomes[1].requests, vec![0, 0, 5]);
        assert_eq!(o.prompt_tokens, vec![10, 0, 3]);
        assert_eq!(
            o.requests_summary(),
            "Requests over time, 1970-01-01 00:00 to 1970-01-01 03:00 UTC, by hour: 9 requests (3 allowed, 5 no-key, 1 no-rule); the most, 6, at 02:00."
        );
    }

    #[test]
    fn a_ranking_names_the_requests_without_a_consumer() {
        let entries = [TopEntry {
            consumer_id: Some(String::new()),
            api_id: None,
            name: None,
            requests: 1200,
            allowed: 0,
            tokens: 0,
        }];
        assert_eq!(
            UsageOverview::top_summary(&entries, "consumers", "no consumer"),
            "Top consumers by requests: no consumer 1,200."
        );
    }
}
