//! Rate limits as the check applies them, after a request is found allowed.
//!
//! Every limit that covers a request applies: its key's, its consumer's and each of the
//! consumer's groups' (a group's limit is one counter shared by its members). Each limit has
//! up to two windows, a second and a minute. A request is admitted only when every window of
//! every limit has room; it then takes one unit from each. The tightest refuses, and the
//! answer names it.
//!
//! - `local`: a GCRA (the token bucket as one timestamp per window, updated with a
//!   compare-and-swap): exact on each replica, bursts up to the limit, smooth refill. N
//!   replicas behind one balancer admit up to N times the limit.
//! - `cluster`: fixed windows (the current second and minute) counted by each replica and
//!   shared through the database every [`SYNC_INTERVAL`]: a replica admits while its own
//!   count plus the others' last synced count is under the limit. The others' admissions since
//!   their last sync are not seen yet, so the gateway may admit more than the limit by what the
//!   other replicas admit in one sync interval plus the write's delay (at most the limit once
//!   more per other replica, when they all start a window at once); it never admits more than
//!   a `local` limit would.
//!
//! A limit's counters live as long as the limit (they survive snapshot patches and full
//! loads), not longer: a limit removed and set again starts full.

use crate::domain::limits::LimitPolicy;
use crate::store::limits::LimitRow;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How often the replicas share their counts of `cluster` limits.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// The windows: a second and a minute, in nanoseconds.
pub const PERIOD_NS: [i64; 2] = [1_000_000_000, 60_000_000_000];
const NS_PER_MS: i64 = 1_000_000;

/// One limit's counters, shared by every snapshot that holds the limit.
#[derive(Debug, Default)]
pub struct LimitState {
    /// `local`: the window's theoretical arrival time (ns since the epoch).
    tat: [AtomicI64; 2],
    /// `cluster`: the start of the window counted now (ms since the epoch).
    window: [AtomicI64; 2],
    /// `cluster`: what this replica admitted in that window.
    mine: [AtomicI64; 2],
    /// `cluster`: what the other replicas had admitted in it, as of the last sync.
    others: [AtomicI64; 2],
}

/// A limit in the snapshot.
#[derive(Debug, Clone)]
pub struct Limit {
    pub id: Box<str>,
    /// Requests per second and per minute.
    pub rates: [Option<u32>; 2],
    pub policy: LimitPolicy,
    pub state: Arc<LimitState>,
}

impl Limit {
    pub fn from_row(row: &LimitRow) -> Limit {
        let rate = |n: Option<i64>| n.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
        Limit {
            id: row.id.as_str().into(),
            rates: [rate(row.per_second), rate(row.per_minute)],
            policy: row.policy,
            state: Arc::default(),
        }
    }

    /// Takes one unit from window `w` at `now` (ns): the room left, or how long until there
    /// is room again.
    fn take(&self, w: usize, rate: u32, now: i64) -> Result<Room, i64> {
        match self.policy {
            LimitPolicy::Local => self.take_local(w, rate, now),
            LimitPolicy::Cluster => self.take_cluster(w, rate, now),
        }
    }

    fn take_local(&self, w: usize, rate: u32, now: i64) -> Result<Room, i64> {
        let interval = (PERIOD_NS[w] / i64::from(rate)).max(1);
        let tolerance = PERIOD_NS[w] - interval;
        let tat = &self.state.tat[w];
        let mut seen = tat.load(Ordering::Relaxed);
        loop {
            let base = seen.max(now);
            if base - now > tolerance {
                return Err(base - now - tolerance);
            }
            let next = base + interval;
            match tat.compare_exchange_weak(seen, next, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => {
                    let debt = next - now;
                    let remaining = if debt > tolerance {
                        0
                    } else {
                        (tolerance - debt) / interval + 1
                    };
                    return Ok(Room {
                        remaining,
                        reset_ns: debt,
                    });
                }
                Err(actual) => seen = actual,
            }
        }
    }

    fn take_cluster(&self, w: usize, rate: u32, now: i64) -> Result<Room, i64> {
        let s = &self.state;
        let period_ms = PERIOD_NS[w] / NS_PER_MS;
        let now_ms = now / NS_PER_MS;
        let start = now_ms - now_ms.rem_euclid(period_ms);
        let current = s.window[w].load(Ordering::Acquire);
        if start > current
            && s.window[w]
                .compare_exchange(current, start, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            s.mine[w].store(0, Ordering::Release);
            s.others[w].store(0, Ordering::Release);
        }
        let reset_ns = (start + period_ms) * NS_PER_MS - now;
        let others = s.others[w].load(Ordering::Acquire);
        let mine = s.mine[w].fetch_add(1, Ordering::AcqRel) + 1;
        let left = i64::from(rate) - others - mine;
        if left < 0 {
            s.mine[w].fetch_sub(1, Ordering::AcqRel);
            return Err(reset_ns);
        }
        Ok(Room {
            remaining: left,
            reset_ns,
        })
    }

    /// Gives back a unit taken from window `w` (another limit refused the request).
    fn give_back(&self, w: usize, rate: u32) {
        match self.policy {
            LimitPolicy::Local => {
                let interval = (PERIOD_NS[w] / i64::from(rate)).max(1);
                self.state.tat[w].fetch_sub(interval, Ordering::AcqRel);
            }
            LimitPolicy::Cluster => {
                self.state.mine[w].fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// This replica's count of window `w` of a `cluster` limit: the window's start (ms) and
    /// what it admitted in it, when that window is the current one.
    pub fn cluster_count(&self, w: usize, now_ms: i64) -> Option<(i64, i64)> {
        let period_ms = PERIOD_NS[w] / NS_PER_MS;
        let start = self.state.window[w].load(Ordering::Acquire);
        (self.policy == LimitPolicy::Cluster
            && self.rates[w].is_some()
            && start > 0
            && now_ms - start < period_ms)
            .then(|| (start, self.state.mine[w].load(Ordering::Acquire)))
    }

    /// What the other replicas admitted in window `w` starting at `start` (ms), as just
    /// read. A window this replica has not counted in yet starts here, so its first request
    /// already sees the others' count.
    pub fn set_others(&self, w: usize, start: i64, others: i64) {
        let s = &self.state;
        let current = s.window[w].load(Ordering::Acquire);
        if start > current
            && s.window[w]
                .compare_exchange(current, start, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            s.mine[w].store(0, Ordering::Release);
        }
        if s.window[w].load(Ordering::Acquire) == start {
            s.others[w].store(others, Ordering::Release);
        }
    }

    /// Takes over the counters of the same limit as it was (`before`), converting what a
    /// `local` window has used to the new rate: a limit raised from 2 to 4 a minute after
    /// two requests has two left, not none.
    pub fn carry_over(&mut self, before: &Limit, now: i64) {
        self.state = before.state.clone();
        for w in 0..2 {
            let (Some(old), Some(new)) = (before.rates[w], self.rates[w]) else {
                continue;
            };
            if old == new {
                continue;
            }
            let tat = &self.state.tat[w];
            let seen = tat.load(Ordering::Acquire);
            let debt = i128::from((seen - now).max(0));
            let rescaled = debt * i128::from(old) / i128::from(new);
            let _ = tat.compare_exchange(
                seen,
                now + i64::try_from(rescaled).unwrap_or(i64::MAX / 2),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }
}

impl Limit {
    /// What is left of window `w` at `now` (ns), and how long until it has room when it has
    /// none; takes nothing (for the explainer).
    pub fn peek(&self, w: usize, now: i64) -> Option<(i64, i64)> {
        let rate = i64::from(self.rates[w]?);
        Some(match self.policy {
            LimitPolicy::Local => {
                let interval = (PERIOD_NS[w] / rate).max(1);
                let tolerance = PERIOD_NS[w] - interval;
                let debt = self.state.tat[w].load(Ordering::Relaxed).max(now) - now;
                if debt > tolerance {
                    (0, debt - tolerance)
                } else {
                    ((tolerance - debt) / interval + 1, 0)
                }
            }
            LimitPolicy::Cluster => {
                let s = &self.state;
                let period_ms = PERIOD_NS[w] / NS_PER_MS;
                let start = s.window[w].load(Ordering::Acquire);
                let current = now / NS_PER_MS - start < period_ms;
                let used = if current {
                    s.mine[w].load(Ordering::Acquire) + s.others[w].load(Ordering::Acquire)
                } else {
                    0
                };
                let left = (rate - used).max(0);
                let wait = if left == 0 {
                    (start + period_ms) * NS_PER_MS - now
                } else {
                    0
                };
                (left, wait)
            }
        })
    }
}

/// Seconds, rounded up, at least one (for `Retry-After`).
pub fn retry_secs(ns: i64) -> i64 {
    secs_up(ns).max(1)
}

/// The room left under one window.
#[derive(Debug, Clone, Copy)]
struct Room {
    remaining: i64,
    /// Until the window is full again (local) or starts anew (cluster).
    reset_ns: i64,
}

/// The window a decision is reported by: the tightest that applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<'a> {
    pub limit_id: &'a str,
    /// `second` or `minute`.
    pub window: &'static str,
    pub limit: u32,
    pub remaining: i64,
    /// Seconds until the window is full again (rounded up).
    pub reset_secs: i64,
}

/// What the limits say about a request the rules allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission<'a> {
    /// No limit covers it.
    Unlimited,
    /// Admitted; the tightest window.
    Admitted(Window<'a>),
    /// Refused by this window; `retry_secs` until every refusing window has room again.
    Refused { by: Window<'a>, retry_secs: i64 },
}

const WINDOW_NAMES: [&str; 2] = ["second", "minute"];

fn secs_up(ns: i64) -> i64 {
    (ns.max(0) + 999_999_999) / 1_000_000_000
}

/// Applies `limits` to one request at `now` (ns since the epoch): takes a unit from every
/// window of every limit, or from none.
pub fn admit<'a, I>(limits: I, now: i64) -> Admission<'a>
where
    I: Iterator<Item = &'a Limit> + Clone,
{
    let mut tightest: Option<Window<'a>> = None;
    let mut taken = 0usize;
    for limit in limits.clone() {
        for (w, rate) in limit.rates.iter().enumerate() {
            let Some(rate) = *rate else {
                continue;
            };
            match limit.take(w, rate, now) {
                Ok(room) => {
                    taken += 1;
                    if tightest
                        .as_ref()
                        .is_none_or(|t| room.remaining < t.remaining)
                    {
                        tightest = Some(Window {
                            limit_id: &limit.id,
                            window: WINDOW_NAMES[w],
                            limit: rate,
                            remaining: room.remaining,
                            reset_secs: secs_up(room.reset_ns),
                        });
                    }
                }
                Err(wait_ns) => {
                    give_back(limits.clone(), taken);
                    let retry = wait_ns.max(longest_wait(limits.clone(), now));
                    let by = Window {
                        limit_id: &limit.id,
                        window: WINDOW_NAMES[w],
                        limit: rate,
                        remaining: 0,
                        reset_secs: secs_up(wait_ns),
                    };
                    return Admission::Refused {
                        by,
                        retry_secs: secs_up(retry).max(1),
                    };
                }
            }
        }
    }
    tightest.map_or(Admission::Unlimited, Admission::Admitted)
}

/// Gives back the first `n` units taken.
fn give_back<'a>(limits: impl Iterator<Item = &'a Limit>, mut n: usize) {
    for limit in limits {
        for (w, rate) in limit.rates.iter().enumerate() {
            let Some(rate) = *rate else {
                continue;
            };
            if n == 0 {
                return;
            }
            limit.give_back(w, rate);
            n -= 1;
        }
    }
}

/// The longest any window would make a request wait now (ns), without taking anything.
fn longest_wait<'a>(limits: impl Iterator<Item = &'a Limit>, now: i64) -> i64 {
    let mut longest = 0;
    for limit in limits {
        for (w, rate) in limit.rates.iter().enumerate() {
            let Some(rate) = *rate else {
                continue;
            };
            let wait = match limit.policy {
                LimitPolicy::Local => {
                    let interval = (PERIOD_NS[w] / i64::from(rate)).max(1);
                    let base = limit.state.tat[w].load(Ordering::Relaxed).max(now);
                    base - now - (PERIOD_NS[w] - interval)
                }
                LimitPolicy::Cluster => {
                    let s = &limit.state;
                    let period_ms = PERIOD_NS[w] / NS_PER_MS;
                    let start = s.window[w].load(Ordering::Acquire);
                    let used =
                        s.mine[w].load(Ordering::Acquire) + s.others[w].load(Ordering::Acquire);
                    if now / NS_PER_MS - start < period_ms && used >= i64::from(rate) {
                        (start + period_ms) * NS_PER_MS - now
                    } else {
                        0
                    }
                }
            };
            longest = longest.max(wait);
        }
    }
    longest
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(second: Option<u32>, minute: Option<u32>, policy: LimitPolicy) -> Limit {
        Limit {
            id: "rl-x".into(),
            rates: [second, minute],
            policy,
            state: Arc::default(),
        }
    }

    const T0: i64 = 1_700_000_000_000_000_000;
    const SEC: i64 = 1_000_000_000;

    fn admitted(a: &Admission<'_>) -> bool {
        matches!(a, Admission::Admitted(_) | Admission::Unlimited)
    }

    #[test]
    fn a_local_limit_admits_its_burst_then_refills_smoothly() {
        let l = limit(Some(5), None, LimitPolicy::Local);
        for i in 0..5 {
            match admit(std::iter::once(&l), T0) {
                Admission::Admitted(w) => assert_eq!(w.remaining, 4 - i),
                other => panic!("{other:?}"),
            }
        }
        match admit(std::iter::once(&l), T0) {
            Admission::Refused { by, retry_secs } => {
                assert_eq!((by.window, by.limit, retry_secs), ("second", 5, 1));
            }
            other => panic!("{other:?}"),
        }
        // One fifth of a second later, one more.
        assert!(admitted(&admit(std::iter::once(&l), T0 + SEC / 5)));
        assert!(!admitted(&admit(std::iter::once(&l), T0 + SEC / 5)));
        // A second later, the full burst again.
        for _ in 0..5 {
            assert!(admitted(&admit(std::iter::once(&l), T0 + 3 * SEC)));
        }
    }

    #[test]
    fn a_burst_of_the_limit_then_the_limit_per_period() {
        let l = limit(Some(10), Some(100), LimitPolicy::Local);
        // 50 requests a second for two minutes.
        let at = |i: i64| T0 + i * SEC / 50;
        let admitted_in = |from: i64, to: i64| {
            (from..to)
                .filter(|i| admitted(&admit(std::iter::once(&l), at(*i))))
                .count()
        };
        // The first second: the per-second burst of 10, then one every tenth of a second.
        let first = admitted_in(0, 50);
        assert_eq!(first, 19);
        // Then 10 a second until the per-minute bucket is empty: over the first 20 s, its
        // burst of 100 and 20 s of its refill at 100 a minute...
        let warm_up = admitted_in(50, 20 * 50);
        assert!((132..=134).contains(&(first + warm_up)), "{warm_up}");
        // ... and from then on 100 a minute.
        let steady = admitted_in(20 * 50, 80 * 50);
        assert!((99..=101).contains(&steady), "{steady}");
    }

    #[test]
    fn the_tightest_refuses_and_nothing_is_taken_from_the_others() {
        let key = limit(Some(100), None, LimitPolicy::Local);
        let group = limit(None, Some(2), LimitPolicy::Local);
        let both = [&key, &group];
        assert!(admitted(&admit(both.iter().copied(), T0)));
        match admit(both.iter().copied(), T0) {
            Admission::Admitted(w) => assert_eq!((w.window, w.remaining), ("minute", 0)),
            other => panic!("{other:?}"),
        }
        for _ in 0..10 {
            match admit(both.iter().copied(), T0) {
                Admission::Refused { by, retry_secs } => {
                    assert_eq!((by.window, by.limit), ("minute", 2));
                    assert!((29..=30).contains(&retry_secs), "{retry_secs}");
                }
                other => panic!("{other:?}"),
            }
        }
        // The key's own limit lost only the two admitted requests.
        let alone = admit(std::iter::once(&key), T0);
        match alone {
            Admission::Admitted(w) => assert_eq!(w.remaining, 97),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_cluster_limit_adds_the_other_replicas_counts() {
        let l = limit(Some(10), None, LimitPolicy::Cluster);
        for _ in 0..4 {
            assert!(admitted(&admit(std::iter::once(&l), T0)));
        }
        let now_ms = T0 / NS_PER_MS;
        let (start, mine) = l.cluster_count(0, now_ms).unwrap();
        assert_eq!(mine, 4);
        l.set_others(0, start, 5);
        assert!(admitted(&admit(std::iter::once(&l), T0)));
        assert!(!admitted(&admit(std::iter::once(&l), T0)));
        // The next second starts empty.
        assert!(admitted(&admit(std::iter::once(&l), T0 + SEC)));
        assert_eq!(l.cluster_count(0, now_ms + 1000).unwrap().1, 1);
    }

    #[test]
    fn concurrent_requests_never_exceed_a_local_limit() {
        let l = Arc::new(limit(None, Some(1000), LimitPolicy::Local));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let l = l.clone();
                std::thread::spawn(move || {
                    (0..1000)
                        .filter(|_| admitted(&admit(std::iter::once(&*l), T0)))
                        .count()
                })
            })
            .collect();
        let total: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(total, 1000);
    }
}
