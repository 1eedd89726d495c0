//! Each consumer's requests, allowed requests and tokens over the hourly part of the Usage
//! page's three ranges, kept as the hours are rolled up, so that its top consumers are read
//! from at most a row per consumer and the minutes not yet rolled up, not summed from up to
//! millions of hourly rows. See `migrations/shared/0018_usage_consumer_windows.sql`.
//!
//! The invariant: a window ending at `H` (where the roll-up has come to) holds, per gateway
//! and consumer with an hourly row in `[span.start(H), H)`, the sums of those rows. Every
//! change to those rows keeps it: the roll-up (its new hours come in, the hours before the new
//! start go out), a late addition to an hour already rolled up (added to the windows that hold
//! the hour as it is to the hour), and pruning (the rows pruned go out first). No hourly row
//! counts nothing, so a window whose counts come to zero has no rows left, and goes.

use super::super::{Arg, Write};
use crate::domain::usage::{UsageDelta, ALLOWED, DAY_MS, HOUR_MS};
use std::collections::BTreeMap;

/// The hourly part of a range of the Usage page, ending where the roll-up has come to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// "Last 24 hours" (by hour): the 24 hours before.
    Day,
    /// "Last 7 days" (by hour): the 168 hours before.
    Week,
    /// "Last 30 days" (by day): the 30 whole days before its day, and its day so far.
    Month,
}

impl Span {
    pub const ALL: [Span; 3] = [Span::Day, Span::Week, Span::Month];

    /// How the span is stored.
    pub(super) fn id(self) -> i64 {
        match self {
            Span::Day => 1,
            Span::Week => 7,
            Span::Month => 30,
        }
    }

    /// Where the window that ends at `h` (an hour's start) starts.
    pub fn start(self, h: i64) -> i64 {
        match self {
            Span::Day => h - DAY_MS,
            Span::Week => h - 7 * DAY_MS,
            Span::Month => h - h.rem_euclid(DAY_MS) - 30 * DAY_MS,
        }
    }

    /// The span whose window ending at `h` starts at `from`.
    pub fn starting_at(from: i64, h: i64) -> Option<Span> {
        Span::ALL.into_iter().find(|s| s.start(h) == from)
    }
}

/// The sums of the hourly rows in `[from, to)`, per gateway and consumer, added to `span`'s
/// windows (`sign` 1), or taken from them (`sign` -1).
async fn fold(
    conn: &mut impl Write,
    span: Span,
    from: i64,
    to: i64,
    sign: i64,
) -> Result<(), sqlx::Error> {
    if from >= to {
        return Ok(());
    }
    // Every consumer of an hour or more: off the async worker while it runs.
    conn.expect_slow();
    conn.execute(
        "INSERT INTO usage_consumer_windows \
         (gateway_id, span, consumer_id, requests, allowed, tokens) \
         SELECT gateway_id, $1, consumer_id, $2 * CAST(SUM(requests) AS BIGINT), \
         $2 * CAST(SUM(CASE WHEN outcome = 'allowed' THEN requests ELSE 0 END) AS BIGINT), \
         $2 * CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) \
         FROM usage_hours WHERE at >= $3 AND at < $4 GROUP BY gateway_id, consumer_id \
         ON CONFLICT (gateway_id, span, consumer_id) DO UPDATE SET \
         requests = usage_consumer_windows.requests + excluded.requests, \
         allowed = usage_consumer_windows.allowed + excluded.allowed, \
         tokens = usage_consumer_windows.tokens + excluded.tokens",
        &[
            Arg::Int(span.id()),
            Arg::Int(sign),
            Arg::Int(from),
            Arg::Int(to),
        ],
    )
    .await?;
    Ok(())
}

/// Drops the windows' consumers left without an hourly row (whose counts came to zero).
async fn drop_empty(conn: &mut impl Write) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM usage_consumer_windows WHERE requests = 0 AND tokens = 0",
        &[],
    )
    .await?;
    Ok(())
}

/// The roll-up has moved from `from` to `to`: the hours in between come into every window,
/// and those before each window's new start go out.
pub(super) async fn rolled(conn: &mut impl Write, from: i64, to: i64) -> Result<(), sqlx::Error> {
    for span in Span::ALL {
        fold(conn, span, from, to, 1).await?;
        fold(conn, span, span.start(from), span.start(to), -1).await?;
    }
    drop_empty(conn).await
}

/// The hourly rows before `before` are about to be pruned, the roll-up being at `h`: those in
/// a window go out of it.
pub(super) async fn pruning(conn: &mut impl Write, before: i64, h: i64) -> Result<(), sqlx::Error> {
    for span in Span::ALL {
        fold(conn, span, span.start(h), before.min(h), -1).await?;
    }
    drop_empty(conn).await
}

/// Window rows per statement of [`added_late`] (6 parameters each).
const LATE_CHUNK: usize = 400;

/// What late deltas add to each window that holds their hours, by gateway, span and
/// consumer (in that order, in which replicas writing at once take the rows' locks): the
/// requests, the allowed ones, the tokens. Windows they add nothing to are left out.
fn late_sums(h: i64, late: &[UsageDelta]) -> BTreeMap<(&str, i64, &str), (i64, i64, i64)> {
    let mut sums: BTreeMap<(&str, i64, &str), (i64, i64, i64)> = BTreeMap::new();
    for d in late {
        let hour = d.at - d.at.rem_euclid(HOUR_MS);
        if hour >= h || d.is_empty() {
            continue;
        }
        let tokens = d.prompt_tokens + d.completion_tokens;
        let allowed = if d.outcome == ALLOWED { d.requests } else { 0 };
        for span in Span::ALL {
            if hour >= span.start(h) {
                let sum = sums
                    .entry((d.gateway_id.as_str(), span.id(), d.consumer_id.as_str()))
                    .or_default();
                sum.0 += d.requests;
                sum.1 += allowed;
                sum.2 += tokens;
            }
        }
    }
    sums
}

/// Deltas were added to hours already rolled up (`h` being where the roll-up is): they are
/// added to the windows that hold those hours too (a consumer new to a window comes in).
pub(super) async fn added_late(
    conn: &mut impl Write,
    h: i64,
    late: &[UsageDelta],
) -> Result<(), sqlx::Error> {
    let sums: Vec<_> = late_sums(h, late).into_iter().collect();
    for chunk in sums.chunks(LATE_CHUNK) {
        let sql = format!(
            "INSERT INTO usage_consumer_windows \
             (gateway_id, span, consumer_id, requests, allowed, tokens) VALUES {} \
             ON CONFLICT (gateway_id, span, consumer_id) DO UPDATE SET \
             requests = usage_consumer_windows.requests + excluded.requests, \
             allowed = usage_consumer_windows.allowed + excluded.allowed, \
             tokens = usage_consumer_windows.tokens + excluded.tokens",
            super::super::value_rows(chunk.len(), 6)
        );
        let mut args = Vec::with_capacity(chunk.len() * 6);
        for ((gateway, span, consumer), (requests, allowed, tokens)) in chunk {
            args.extend([
                Arg::from(*gateway),
                Arg::Int(*span),
                Arg::from(*consumer),
                Arg::Int(*requests),
                Arg::Int(*allowed),
                Arg::Int(*tokens),
            ]);
        }
        conn.expect_slow();
        conn.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Every window summed again from the hourly rows, the roll-up being at `h` (for hourly rows
/// written by other means than the roll-up: a benchmark's seeding).
pub(super) async fn rebuild(conn: &mut impl Write, h: i64) -> Result<(), sqlx::Error> {
    conn.execute("DELETE FROM usage_consumer_windows", &[])
        .await?;
    for span in Span::ALL {
        fold(conn, span, span.start(h), h, 1).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_start_where_the_pages_ranges_start() {
        let h = 20_000 * DAY_MS + 5 * HOUR_MS;
        assert_eq!(Span::Day.start(h), h - 24 * HOUR_MS);
        assert_eq!(Span::Week.start(h), h - 168 * HOUR_MS);
        assert_eq!(Span::Month.start(h), 19_970 * DAY_MS);
        for span in Span::ALL {
            assert_eq!(Span::starting_at(span.start(h), h), Some(span));
        }
        assert_eq!(Span::starting_at(h - 25 * HOUR_MS, h), None);
    }

    fn delta(consumer: &str, at: i64, outcome: &str, requests: i64, tokens: i64) -> UsageDelta {
        UsageDelta {
            gateway_id: "gw-1".into(),
            at,
            environment_id: String::new(),
            consumer_id: consumer.into(),
            key_id: String::new(),
            api_id: String::new(),
            outcome: outcome.into(),
            requests,
            prompt_tokens: tokens,
            completion_tokens: 2 * tokens,
        }
    }

    #[test]
    fn late_deltas_add_to_the_windows_that_hold_their_hour_only() {
        let h = 20_000 * DAY_MS + 5 * HOUR_MS;
        let late = [
            // An hour ago: in every window; twice, summed.
            delta("cs-a", h - HOUR_MS + 59_000, "allowed", 2, 1),
            delta("cs-a", h - HOUR_MS, "no-rule", 3, 0),
            // Two days ago: the week's and the month's.
            delta("cs-b", h - 2 * DAY_MS, "allowed", 1, 0),
            // The first hour of the month's window, and the hour before it.
            delta("cs-c", Span::Month.start(h), "allowed", 4, 0),
            delta("cs-d", Span::Month.start(h) - 1, "allowed", 5, 0),
            // Not rolled up yet, and a delta that counts nothing.
            delta("cs-e", h, "allowed", 6, 0),
            delta("cs-f", h - HOUR_MS, "allowed", 0, 0),
        ];
        let sums: Vec<_> = late_sums(h, &late).into_iter().collect();
        assert_eq!(
            sums,
            vec![
                (("gw-1", 1, "cs-a"), (5, 2, 3)),
                (("gw-1", 7, "cs-a"), (5, 2, 3)),
                (("gw-1", 7, "cs-b"), (1, 1, 0)),
                (("gw-1", 30, "cs-a"), (5, 2, 3)),
                (("gw-1", 30, "cs-b"), (1, 1, 0)),
                (("gw-1", 30, "cs-c"), (4, 4, 0)),
            ]
        );
    }
}
