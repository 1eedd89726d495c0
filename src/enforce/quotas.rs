//! Quotas as the check applies them, after the rules allow a request and before its rate
//! limits take from their windows.
//!
//! Every quota that covers a request applies (its key's, its consumer's, its groups'); one
//! used up refuses it (`quota-exhausted`) until its period rolls over (midnight, Monday or the
//! first of the month in the quota's time zone) or an Admin resets it. A request quota counts
//! the requests the check admitted; a token quota the tokens the gateway side reported.
//!
//! Counting: each replica counts the requests it admits under each quota and shares its
//! count through the database every second (`quota_counts`, its own row per quota and
//! period, written when it changed; every 5 seconds while it sees no other replica change a
//! count, and when it stops); it reads back the other replicas' counts and the
//! reported tokens: in full for a quota it starts using and every 30 seconds, else only
//! the periods changed since its last exchange. A replica
//! decides on its own count plus what the others had shared: the whole gateway may admit
//! more than the quota by what the other replicas admit in about a second, and a token quota
//! is as current as the last report. A restarted replica reads its predecessor's row as one
//! of the others', so nothing is forgotten.

use crate::domain::quotas::{QuotaMetric, QuotaPeriod};
use crate::store::quotas::QuotaRow;
use chrono::{Datelike, Days, Months, NaiveDate, TimeZone};
use chrono_tz::Tz;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

/// One quota's counts in its current period, shared by every snapshot that holds it.
#[derive(Debug, Default)]
pub struct QuotaState {
    period_start: AtomicI64,
    period_end: AtomicI64,
    /// Requests this replica admitted in the period.
    mine: AtomicI64,
    /// Of those, how many it has written to the database (only a change is written again).
    written: AtomicI64,
    /// Requests the other replicas admitted in it, as of the last share.
    others: AtomicI64,
    /// Tokens reported in it, as of the last share.
    tokens: AtomicI64,
    /// When a request was last judged by it (ms, to the second): the quotas in use are the
    /// ones whose counts are shared every second.
    judged_at: AtomicI64,
    /// The exchange of counts' full-read round (see [`Quota::read_in_full`]) in which this
    /// quota's period starting at `read_start` was read in full: from then on only its
    /// changes are read.
    read_round: AtomicU64,
    read_start: AtomicI64,
}

/// A quota in the snapshot.
#[derive(Debug, Clone)]
pub struct Quota {
    /// Shared by the quota's clones (each exchange of counts takes one of every quota in use).
    pub id: Arc<str>,
    pub metric: QuotaMetric,
    pub period: QuotaPeriod,
    pub tz: Tz,
    pub amount: i64,
    pub warn_percent: i64,
    /// Bumped by each reset: the counts of earlier generations do not count.
    pub generation: i64,
    /// A hash of the ID: which of a lone replica's exchanges writes its count.
    pub spread: u32,
    pub state: Arc<QuotaState>,
}

impl Quota {
    pub fn from_row(row: &QuotaRow) -> Quota {
        Quota {
            id: row.id.as_str().into(),
            metric: row.metric,
            period: row.period,
            tz: zone(&row.time_zone),
            amount: row.amount,
            warn_percent: row.warn_percent,
            generation: row.generation,
            spread: spread(&row.id),
            state: Arc::default(),
        }
    }

    /// Takes over the counts of the same quota as it was, unless a reset or a change of its
    /// period or time zone started it anew.
    pub fn carry_over(&mut self, before: &Quota) {
        if before.generation == self.generation
            && before.period == self.period
            && before.tz == self.tz
            && before.metric == self.metric
        {
            self.state = before.state.clone();
        }
    }

    /// Moves the counts to the period `now` (ms) is in, when it has rolled over; the period's
    /// start.
    pub fn roll(&self, now: i64) -> i64 {
        let s = &self.state;
        let end = s.period_end.load(Ordering::Acquire);
        if now < end {
            return s.period_start.load(Ordering::Acquire);
        }
        let (start, new_end) = period_bounds(self.period, self.tz, now);
        if s.period_end
            .compare_exchange(end, new_end, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            s.period_start.store(start, Ordering::Release);
            s.mine.store(0, Ordering::Release);
            s.written.store(0, Ordering::Release);
            s.others.store(0, Ordering::Release);
            s.tokens.store(0, Ordering::Release);
        }
        s.period_start.load(Ordering::Acquire)
    }

    /// What counts against the quota now.
    pub fn used(&self) -> i64 {
        let s = &self.state;
        match self.metric {
            QuotaMetric::Requests => {
                s.mine.load(Ordering::Acquire) + s.others.load(Ordering::Acquire)
            }
            QuotaMetric::Tokens => s.tokens.load(Ordering::Acquire),
        }
    }

    /// Whether a request was judged by it since `since` (ms), or this replica counted any in
    /// its period: its counts are worth sharing.
    pub fn in_use(&self, since: i64) -> bool {
        self.state.judged_at.load(Ordering::Relaxed) >= since
            || self.state.mine.load(Ordering::Relaxed) > 0
    }

    /// When the current period ends (ms).
    pub fn period_end(&self) -> i64 {
        self.state.period_end.load(Ordering::Acquire)
    }

    /// Counts one admitted request (for a request quota).
    pub fn count(&self) {
        if self.metric == QuotaMetric::Requests {
            self.state.mine.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// This replica's admitted requests in the current period, to share.
    pub fn mine(&self) -> i64 {
        self.state.mine.load(Ordering::Acquire)
    }

    /// This replica's admitted requests in the current period when they changed since they
    /// were last written.
    pub fn unwritten(&self) -> Option<i64> {
        let mine = self.state.mine.load(Ordering::Acquire);
        (mine != self.state.written.load(Ordering::Acquire)).then_some(mine)
    }

    /// `requests` of the period starting at `start` were written.
    pub fn set_written(&self, start: i64, requests: i64) {
        if self.state.period_start.load(Ordering::Acquire) == start {
            self.state.written.store(requests, Ordering::Release);
        }
    }

    /// Whether its period starting at `start` was read in full in the exchanges' full-read
    /// round `round` (a round starts every 30 seconds, and when a gateway is loaded).
    pub fn read_in_full(&self, round: u64, start: i64) -> bool {
        self.state.read_round.load(Ordering::Acquire) == round
            && self.state.read_start.load(Ordering::Acquire) == start
    }

    /// Its period starting at `start` was read in full in round `round`.
    pub fn set_read_in_full(&self, round: u64, start: i64) {
        self.state.read_start.store(start, Ordering::Release);
        self.state.read_round.store(round, Ordering::Release);
    }

    /// The other replicas' requests and the reported tokens of the period starting at
    /// `start`, as just read.
    pub fn set_shared(&self, start: i64, others: i64, tokens: i64) {
        if self.state.period_start.load(Ordering::Acquire) == start {
            self.state.others.store(others, Ordering::Release);
            self.state.tokens.store(tokens, Ordering::Release);
        }
    }
}

/// A quota ID's hash, to spread the quotas over a lone replica's exchanges.
fn spread(id: &str) -> u32 {
    id.bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)))
}

/// A stored time zone (checked when it was set); UTC should one ever not parse.
pub fn zone(name: &str) -> Tz {
    name.parse().unwrap_or(Tz::UTC)
}

/// Whether a time zone name is one the quotas know.
pub fn known_zone(name: &str) -> bool {
    name.parse::<Tz>().is_ok()
}

/// The start and end (ms) of the period `now` (ms) is in, in the zone: from midnight, Monday
/// midnight or the first of the month at midnight, local time (the first moment of that day
/// when a clock change skips midnight).
pub fn period_bounds(period: QuotaPeriod, tz: Tz, now: i64) -> (i64, i64) {
    let Some(local) = tz.timestamp_millis_opt(now).single() else {
        return (now, now + 86_400_000);
    };
    let day = local.date_naive();
    let first = match period {
        QuotaPeriod::Day => day,
        QuotaPeriod::Week => day - Days::new(u64::from(day.weekday().num_days_from_monday())),
        QuotaPeriod::Month => day.with_day(1).unwrap_or(day),
    };
    let next = match period {
        QuotaPeriod::Day => first + Days::new(1),
        QuotaPeriod::Week => first + Days::new(7),
        QuotaPeriod::Month => first + Months::new(1),
    };
    (midnight(tz, first), midnight(tz, next))
}

/// The first moment of a local day (ms).
fn midnight(tz: Tz, day: NaiveDate) -> i64 {
    for hour in 0..24 {
        if let Some(at) = day
            .and_hms_opt(hour, 0, 0)
            .and_then(|t| tz.from_local_datetime(&t).earliest())
        {
            return at.timestamp_millis();
        }
    }
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// What the quotas say about a request the rules allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaVerdict<'a> {
    /// No quota covers it, or every one has room; the tightest (least left), if any.
    Room(Option<Standing<'a>>),
    /// This quota is used up.
    Exhausted(Standing<'a>),
}

/// Where one quota stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing<'a> {
    pub quota_id: &'a str,
    pub metric: QuotaMetric,
    pub period: QuotaPeriod,
    pub amount: i64,
    pub remaining: i64,
    /// Seconds until the period rolls over (rounded up).
    pub reset_secs: i64,
}

/// Judges a request by the quotas that cover it, at `now` (ms). Takes nothing: the caller
/// counts the request ([`Quota::count`]) once every limit has admitted it.
pub fn judge<'a>(quotas: impl Iterator<Item = &'a Quota>, now: i64) -> QuotaVerdict<'a> {
    let mut tightest: Option<Standing<'a>> = None;
    for q in quotas {
        q.roll(now);
        // Written at most once a second, so a group's quota is not a cache line every
        // request of every member writes.
        if q.state.judged_at.load(Ordering::Relaxed) < now - 1000 {
            q.state.judged_at.store(now, Ordering::Relaxed);
        }
        let used = q.used();
        let standing = Standing {
            quota_id: &q.id,
            metric: q.metric,
            period: q.period,
            amount: q.amount,
            remaining: (q.amount - used).max(0),
            reset_secs: ((q.period_end() - now).max(0) + 999) / 1000,
        };
        if used >= q.amount {
            return QuotaVerdict::Exhausted(standing);
        }
        if tightest
            .as_ref()
            .is_none_or(|t| standing.remaining < t.remaining)
        {
            tightest = Some(standing);
        }
    }
    QuotaVerdict::Room(tightest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quotas::QuotaMetric;

    fn at(s: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(s)
            .unwrap()
            .timestamp_millis()
    }

    #[test]
    fn periods_start_at_local_midnight_monday_and_the_first() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        // Wednesday 2026-12-02 10:00 UTC = 11:00 in Berlin.
        let now = at("2026-12-02T10:00:00Z");
        assert_eq!(
            period_bounds(QuotaPeriod::Day, berlin, now),
            (at("2026-12-01T23:00:00Z"), at("2026-12-02T23:00:00Z"))
        );
        assert_eq!(
            period_bounds(QuotaPeriod::Week, berlin, now),
            (at("2026-11-29T23:00:00Z"), at("2026-12-06T23:00:00Z"))
        );
        assert_eq!(
            period_bounds(QuotaPeriod::Month, berlin, now),
            (at("2026-11-30T23:00:00Z"), at("2026-12-31T23:00:00Z"))
        );
        // Half-hour zones and the UTC day differ.
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            period_bounds(QuotaPeriod::Day, kolkata, at("2026-12-02T20:00:00Z")).0,
            at("2026-12-02T18:30:00Z")
        );
        // A day with a clock change is 23 hours long.
        let (start, end) = period_bounds(QuotaPeriod::Day, berlin, at("2026-03-29T12:00:00Z"));
        assert_eq!(end - start, 23 * 3_600_000);
        // Where midnight is skipped (Santiago moves 00:00 to 01:00), the day starts at 01:00.
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let (start, _) = period_bounds(QuotaPeriod::Day, santiago, at("2026-09-06T12:00:00Z"));
        assert_eq!(start, at("2026-09-06T04:00:00Z"));
        assert!(!known_zone("Mars/Olympus_Mons") && known_zone("UTC"));
    }

    fn quota(metric: QuotaMetric, amount: i64) -> Quota {
        Quota {
            id: "qt-x".into(),
            metric,
            period: QuotaPeriod::Day,
            tz: Tz::UTC,
            amount,
            warn_percent: 80,
            generation: 0,
            spread: spread("qt-x"),
            state: Arc::default(),
        }
    }

    #[test]
    fn a_quota_refuses_once_used_up_until_its_period_rolls_over() {
        let q = quota(QuotaMetric::Requests, 2);
        let now = at("2026-12-02T10:00:00Z");
        for left in [2, 1] {
            match judge(std::iter::once(&q), now) {
                QuotaVerdict::Room(Some(s)) => assert_eq!(s.remaining, left),
                other => panic!("{other:?}"),
            }
            q.count();
        }
        match judge(std::iter::once(&q), now) {
            QuotaVerdict::Exhausted(s) => assert_eq!(s.reset_secs, 14 * 3600),
            other => panic!("{other:?}"),
        }
        // The others' shared count adds up; a new day starts empty.
        let tomorrow = at("2026-12-03T00:00:01Z");
        assert!(matches!(
            judge(std::iter::once(&q), tomorrow),
            QuotaVerdict::Room(_)
        ));
        let start = q.roll(tomorrow);
        q.set_shared(start, 2, 0);
        assert!(matches!(
            judge(std::iter::once(&q), tomorrow),
            QuotaVerdict::Exhausted(_)
        ));
    }

    #[test]
    fn a_token_quota_counts_reported_tokens_only() {
        let q = quota(QuotaMetric::Tokens, 1000);
        let now = at("2026-12-02T10:00:00Z");
        let start = q.roll(now);
        q.count();
        assert_eq!(q.used(), 0);
        q.set_shared(start, 5, 1000);
        assert!(matches!(
            judge(std::iter::once(&q), now),
            QuotaVerdict::Exhausted(_)
        ));
    }

    #[test]
    fn a_count_is_written_again_only_when_it_changed_and_a_new_period_starts_unwritten() {
        let q = quota(QuotaMetric::Requests, 1000);
        let start = q.roll(at("2026-12-02T10:00:00Z"));
        assert_eq!(q.unwritten(), None);
        q.count();
        q.count();
        assert_eq!(q.unwritten(), Some(2));
        q.set_written(start, 2);
        assert_eq!(q.unwritten(), None);
        q.count();
        assert_eq!(q.unwritten(), Some(3));
        // A write of the last period does not mark this one's count as written.
        let next = q.roll(at("2026-12-03T10:00:00Z"));
        assert_ne!(next, start);
        q.count();
        q.set_written(start, 1);
        assert_eq!(q.unwritten(), Some(1));
    }

    #[test]
    fn a_period_counts_as_read_in_full_only_in_its_round_and_a_new_state_starts_unread() {
        let q = quota(QuotaMetric::Requests, 1000);
        let start = q.roll(at("2026-12-02T10:00:00Z"));
        assert!(
            !q.read_in_full(1, start),
            "a new quota is read in full first"
        );
        q.set_read_in_full(1, start);
        assert!(q.read_in_full(1, start));
        // The next round reads everything again, and so does a new period.
        assert!(!q.read_in_full(2, start));
        let next = q.roll(at("2026-12-03T10:00:00Z"));
        assert!(!q.read_in_full(1, next));
        // A clone shares the mark; a reset quota (a new state) does not.
        assert!(q.clone().read_in_full(1, start));
        let mut reset = quota(QuotaMetric::Requests, 1000);
        reset.generation = 1;
        reset.carry_over(&q);
        reset.roll(at("2026-12-02T10:00:00Z"));
        assert!(!reset.read_in_full(1, start));
    }
}
