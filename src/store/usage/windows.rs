//! Each consumer's requests, allowed requests and tokens over the hourly part of the Usage
//! page's three ranges, kept as the hours are rolled up, so that its top consumers are read
//! from at most a row per consumer and the minutes not yet rolled up, not summed from up to
//! millions of hourly rows. See `migrations/shared/0018_usage_consumer_windows.sql`.
//!
//! The invariant: a window ending at `H` (where the roll-up has come to) holds, per gateway
//! and consumer, the sums and the number of the hourly rows in `[span.start(H), H)`. Every
//! change to those rows keeps it: the roll-up (its new hours come in, the hours before the new
//! start go out), a late addition to an hour already rolled up (the consumers it touches are
//! summed again), and pruning (the rows pruned go out first).

use super::super::{Arg, Write};
use crate::domain::usage::DAY_MS;

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
         (gateway_id, span, consumer_id, hour_rows, requests, allowed, tokens) \
         SELECT gateway_id, $1, consumer_id, $2 * COUNT(*), $2 * CAST(SUM(requests) AS BIGINT), \
         $2 * CAST(SUM(CASE WHEN outcome = 'allowed' THEN requests ELSE 0 END) AS BIGINT), \
         $2 * CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) \
         FROM usage_hours WHERE at >= $3 AND at < $4 GROUP BY gateway_id, consumer_id \
         ON CONFLICT (gateway_id, span, consumer_id) DO UPDATE SET \
         hour_rows = usage_consumer_windows.hour_rows + excluded.hour_rows, \
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

/// Drops the windows' consumers left without an hourly row.
async fn drop_empty(conn: &mut impl Write) -> Result<(), sqlx::Error> {
    conn.execute(
        "DELETE FROM usage_consumer_windows WHERE hour_rows = 0",
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

/// Hours already rolled up (`h` being where the roll-up is) were added to for these
/// gateways' consumers: their windows are summed again.
pub(super) async fn added_late(
    conn: &mut impl Write,
    h: i64,
    consumers: &[(&str, &str)],
) -> Result<(), sqlx::Error> {
    for span in Span::ALL {
        let start = span.start(h);
        for chunk in consumers.chunks(200) {
            let mut pairs = String::new();
            let mut args = vec![Arg::Int(span.id()), Arg::Int(start), Arg::Int(h)];
            for (i, (gateway, consumer)) in chunk.iter().enumerate() {
                if i > 0 {
                    pairs.push_str(" OR ");
                }
                let n = args.len();
                pairs.push_str(&format!(
                    "(gateway_id = ${} AND consumer_id = ${})",
                    n + 1,
                    n + 2
                ));
                args.push(Arg::from(*gateway));
                args.push(Arg::from(*consumer));
            }
            conn.expect_slow();
            conn.execute(
                &format!("DELETE FROM usage_consumer_windows WHERE span = $1 AND ({pairs})"),
                &args,
            )
            .await?;
            conn.expect_slow();
            conn.execute(
                &format!(
                    "INSERT INTO usage_consumer_windows \
                     (gateway_id, span, consumer_id, hour_rows, requests, allowed, tokens) \
                     SELECT gateway_id, $1, consumer_id, COUNT(*), CAST(SUM(requests) AS BIGINT), \
                     CAST(SUM(CASE WHEN outcome = 'allowed' THEN requests ELSE 0 END) AS BIGINT), \
                     CAST(SUM(prompt_tokens + completion_tokens) AS BIGINT) \
                     FROM usage_hours WHERE at >= $2 AND at < $3 AND ({pairs}) \
                     GROUP BY gateway_id, consumer_id"
                ),
                &args,
            )
            .await?;
        }
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
    use crate::domain::usage::HOUR_MS;

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
}
