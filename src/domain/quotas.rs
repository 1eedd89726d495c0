//! Quotas: how many requests, or how many tokens, one key, consumer or consumer group may use
//! per day, week or month, in a time zone of the Admin's choosing, with a warning threshold.
//! Used up, the check refuses (`quota-exhausted`) until the period rolls over or an Admin
//! resets it. Validation lives here so the console's dialog and the server agree.

use serde::{Deserialize, Serialize};

/// The most a quota may allow in one period (requests or tokens).
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// The warning threshold when none is given (percent of the amount).
pub const DEFAULT_WARN_PERCENT: i64 = 80;

/// What a quota counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum QuotaMetric {
    /// Requests the check admitted.
    #[default]
    Requests,
    /// Prompt and completion tokens the gateway side reported (`POST /v1/usage`).
    Tokens,
}

impl QuotaMetric {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaMetric::Requests => "requests",
            QuotaMetric::Tokens => "tokens",
        }
    }

    pub fn parse(s: &str) -> Option<QuotaMetric> {
        match s.trim().to_ascii_lowercase().as_str() {
            "requests" => Some(QuotaMetric::Requests),
            "tokens" => Some(QuotaMetric::Tokens),
            _ => None,
        }
    }
}

/// How long a quota's period is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum QuotaPeriod {
    #[default]
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl QuotaPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaPeriod::Day => "day",
            QuotaPeriod::Week => "week",
            QuotaPeriod::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<QuotaPeriod> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" => Some(QuotaPeriod::Day),
            "week" => Some(QuotaPeriod::Week),
            "month" => Some(QuotaPeriod::Month),
            _ => None,
        }
    }
}

/// A quota's values, checked: the amount within bounds, a time zone name of the right shape
/// (the server also checks that it exists), a warning threshold of 1–100 %.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaValues {
    pub metric: QuotaMetric,
    pub period: QuotaPeriod,
    pub amount: i64,
    pub time_zone: String,
    pub warn_percent: i64,
}

impl QuotaValues {
    /// Checks what a caller asked for; the error names the field (`Metric`, `Period`,
    /// `Amount`, `TimeZone`, `WarnPercent`).
    pub fn parse(
        metric: &str,
        period: &str,
        amount: Option<i64>,
        time_zone: &str,
        warn_percent: Option<i64>,
    ) -> Result<QuotaValues, (&'static str, String)> {
        let metric = if metric.trim().is_empty() {
            QuotaMetric::default()
        } else {
            QuotaMetric::parse(metric)
                .ok_or(("Metric", "A quota counts requests or tokens.".to_owned()))?
        };
        let period = QuotaPeriod::parse(period).ok_or((
            "Period",
            "The period is a day, a week (Monday to Sunday) or a month.".to_owned(),
        ))?;
        let amount = match amount {
            Some(n) if (1..=MAX_AMOUNT).contains(&n) => n,
            _ => {
                return Err((
                    "Amount",
                    format!(
                        "The amount is a whole number of {} from 1 to {}.",
                        metric.as_str(),
                        crate::domain::limits::group_digits(MAX_AMOUNT)
                    ),
                ))
            }
        };
        let tz = time_zone.trim();
        let time_zone = if tz.is_empty() {
            "UTC".to_owned()
        } else if tz.len() <= 64
            && tz
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+-/".contains(c))
        {
            tz.to_owned()
        } else {
            return Err((
                "TimeZone",
                "The time zone is a name such as UTC, Europe/Berlin or Asia/Shanghai.".to_owned(),
            ));
        };
        let warn_percent = match warn_percent {
            None => DEFAULT_WARN_PERCENT,
            Some(p) if (1..=100).contains(&p) => p,
            Some(_) => {
                return Err((
                    "WarnPercent",
                    "The warning threshold is a percentage from 1 to 100.".to_owned(),
                ))
            }
        };
        Ok(QuotaValues {
            metric,
            period,
            amount,
            time_zone,
            warn_percent,
        })
    }
}

/// Where a quota stands in its period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum QuotaStatus {
    /// Below the warning threshold.
    Ok,
    /// At or past the warning threshold.
    Warning,
    /// Used up: the check refuses until the period rolls over or an Admin resets it.
    Exhausted,
}

impl QuotaStatus {
    pub fn of(used: i64, amount: i64, warn_percent: i64) -> QuotaStatus {
        if used >= amount {
            QuotaStatus::Exhausted
        } else if used.saturating_mul(100) >= amount.saturating_mul(warn_percent) {
            QuotaStatus::Warning
        } else {
            QuotaStatus::Ok
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            QuotaStatus::Ok => "OK",
            QuotaStatus::Warning => "Warning",
            QuotaStatus::Exhausted => "Used up",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_are_checked_field_by_field() {
        let v = QuotaValues::parse("", "day", Some(1000), "", None).unwrap();
        assert_eq!(
            (v.metric, v.period, v.time_zone.as_str(), v.warn_percent),
            (QuotaMetric::Requests, QuotaPeriod::Day, "UTC", 80)
        );
        let v = QuotaValues::parse("Tokens", "Month", Some(5), "Asia/Kolkata", Some(90)).unwrap();
        assert_eq!(
            (v.metric, v.period),
            (QuotaMetric::Tokens, QuotaPeriod::Month)
        );
        let field = |m: &str, p: &str, a: Option<i64>, tz: &str, w: Option<i64>| {
            QuotaValues::parse(m, p, a, tz, w).unwrap_err().0
        };
        assert_eq!(field("bytes", "day", Some(1), "", None), "Metric");
        assert_eq!(field("", "year", Some(1), "", None), "Period");
        assert_eq!(field("", "", Some(1), "", None), "Period");
        assert_eq!(field("", "day", None, "", None), "Amount");
        assert_eq!(field("", "day", Some(0), "", None), "Amount");
        assert_eq!(field("", "day", Some(-3), "", None), "Amount");
        assert_eq!(field("", "day", Some(MAX_AMOUNT + 1), "", None), "Amount");
        assert_eq!(
            field("", "day", Some(1), "Mars/Olympus Mons", None),
            "TimeZone"
        );
        assert_eq!(field("", "day", Some(1), "", Some(0)), "WarnPercent");
        assert_eq!(field("", "day", Some(1), "", Some(101)), "WarnPercent");
    }

    #[test]
    fn status_by_threshold() {
        assert_eq!(QuotaStatus::of(79, 100, 80), QuotaStatus::Ok);
        assert_eq!(QuotaStatus::of(80, 100, 80), QuotaStatus::Warning);
        assert_eq!(QuotaStatus::of(100, 100, 80), QuotaStatus::Exhausted);
        assert_eq!(
            QuotaStatus::of(i64::MAX, MAX_AMOUNT, 100),
            QuotaStatus::Exhausted
        );
    }

    proptest! {
        #[test]
        fn accepted_values_are_within_bounds(
            m in ".{0,10}", p in ".{0,10}", a in any::<Option<i64>>(), tz in ".{0,70}", w in any::<Option<i64>>()
        ) {
            if let Ok(v) = QuotaValues::parse(&m, &p, a, &tz, w) {
                prop_assert!((1..=MAX_AMOUNT).contains(&v.amount));
                prop_assert!((1..=100).contains(&v.warn_percent));
                prop_assert!(!v.time_zone.is_empty() && v.time_zone.len() <= 64);
            }
        }
    }
}
