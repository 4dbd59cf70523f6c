//! Per-access-token pacing.
//!
//! Clio budgets calls per access token (50 a minute at peak) and says so on every answer with
//! `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`. The [`Pacer`] keeps one
//! budget per token: a call takes a slot before it is sent; when the slots of the current window are
//! spent, the next call waits for the window's reset; a 429 blocks the token for its `Retry-After`.
//! Budgets are independent, so a token that is waiting never delays another token's calls.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use parking_lot::Mutex;
use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// Clio's documented peak budget, assumed until a token's first answer says otherwise.
pub const DEFAULT_LIMIT_PER_MINUTE: u32 = 50;

/// How long a 429 blocks a token when it carries no `Retry-After`.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// `X-RateLimit-Reset` is whole seconds; waiting a little past it avoids an off-by-one 429.
const RESET_MARGIN: Duration = Duration::from_millis(250);

/// The window assumed until Clio states one: its documented minute.
const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// Budgets kept before idle ones are dropped.
const MAX_TRACKED_TOKENS: usize = 10_000;

/// The budget of every token this process has used.
#[derive(Debug, Default)]
pub struct Pacer {
    budgets: Mutex<HashMap<TokenKey, Arc<Mutex<Budget>>>>,
}

/// A token's identity for pacing: its SHA-256, so the map never holds the token itself.
pub type TokenKey = [u8; 32];

#[derive(Debug)]
struct Budget {
    limit: u32,
    /// Calls this window still allows, minus the ones we have started since Clio last told us.
    remaining: i64,
    window_end: Option<Instant>,
    /// Whether `window_end` came from Clio's headers rather than our assumption.
    window_stated: bool,
    blocked_until: Option<Instant>,
    in_flight: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            limit: DEFAULT_LIMIT_PER_MINUTE,
            remaining: i64::from(DEFAULT_LIMIT_PER_MINUTE),
            window_end: None,
            window_stated: false,
            blocked_until: None,
            in_flight: 0,
        }
    }
}

/// The right to send one call; hand the answer's headers back through [`Permit::finish`].
#[derive(Debug)]
pub struct Permit {
    budget: Arc<Mutex<Budget>>,
    finished: bool,
}

/// What one answer said about the budget.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateInfo {
    /// `X-RateLimit-Limit`.
    pub limit: Option<u32>,
    /// `X-RateLimit-Remaining`.
    pub remaining: Option<u32>,
    /// Time until `X-RateLimit-Reset`.
    pub reset_in: Option<Duration>,
    /// `Retry-After` (or `Retry-At`, as one Clio article calls it).
    pub retry_after: Option<Duration>,
}

impl Pacer {
    /// Waits until `token` may send a call. Fails with the remaining wait instead when that is
    /// longer than `max_wait`, so a caller can put the work aside rather than hold a worker.
    pub async fn acquire(&self, token: TokenKey, max_wait: Duration) -> Result<Permit, Duration> {
        let budget = self.budget(token);
        loop {
            let until = {
                let mut b = budget.lock();
                match b.next_slot(Instant::now()) {
                    None => {
                        let now = Instant::now();
                        // Every slot belongs to a window that ends: without one, a run of calls
                        // that never got an answer (so never told us the window) would leave the
                        // budget spent for good.
                        b.window_end.get_or_insert(now + DEFAULT_WINDOW);
                        b.remaining -= 1;
                        b.in_flight += 1;
                        return Ok(Permit {
                            budget: budget.clone(),
                            finished: false,
                        });
                    }
                    Some(until) => until,
                }
            };
            let wait = until.saturating_duration_since(Instant::now());
            if wait > max_wait {
                return Err(wait);
            }
            tracing::debug!(
                wait_ms = wait.as_millis() as u64,
                "pacing: waiting for Clio's rate window"
            );
            tokio::time::sleep_until(until).await;
        }
    }

    fn budget(&self, token: TokenKey) -> Arc<Mutex<Budget>> {
        let mut map = self.budgets.lock();
        if map.len() >= MAX_TRACKED_TOKENS && !map.contains_key(&token) {
            let now = Instant::now();
            map.retain(|_, b| Arc::strong_count(b) > 1 || b.lock().is_active(now));
        }
        map.entry(token).or_default().clone()
    }
}

impl Budget {
    /// `None` when a call may go now, otherwise when to look again.
    fn next_slot(&mut self, now: Instant) -> Option<Instant> {
        if let Some(until) = self.blocked_until {
            if until > now {
                return Some(until);
            }
            self.blocked_until = None;
        }
        if let Some(end) = self.window_end {
            if now >= end {
                self.window_end = None;
                self.window_stated = false;
                self.remaining = i64::from(self.limit) - i64::from(self.in_flight);
            }
        }
        if self.remaining > 0 {
            return None;
        }
        // Spent, and the window's end is unknown only while our first answers are in flight.
        Some(self.window_end.unwrap_or(now + Duration::from_millis(100)))
    }

    fn is_active(&self, now: Instant) -> bool {
        self.in_flight > 0
            || self.blocked_until.is_some_and(|t| t > now)
            || self.window_end.is_some_and(|t| t > now)
    }
}

impl Permit {
    /// Records what the answer said. `rate_limited` is true for a 429.
    pub fn finish(mut self, info: &RateInfo, rate_limited: bool) {
        self.finished = true;
        let now = Instant::now();
        let mut b = self.budget.lock();
        b.in_flight = b.in_flight.saturating_sub(1);
        if let Some(limit) = info.limit.filter(|l| *l > 0) {
            b.limit = limit;
        }
        if let (Some(remaining), Some(reset_in)) = (info.remaining, info.reset_in) {
            let end = now + reset_in + RESET_MARGIN;
            // The server's count lags our in-flight calls, so subtract them.
            let fresh = i64::from(remaining) - i64::from(b.in_flight);
            // An assumed window gives way to the one Clio states.
            let new_window = !b.window_stated
                || b.window_end
                    .is_none_or(|old| end > old + Duration::from_secs(1));
            if new_window {
                b.remaining = fresh;
                b.window_end = Some(end);
            } else {
                b.remaining = b.remaining.min(fresh);
                // A late answer from an earlier window must not pull the end back.
                b.window_end = b.window_end.map(|old| old.max(end));
            }
            b.window_stated = true;
        }
        if rate_limited {
            let wait = info
                .retry_after
                .or(info.reset_in)
                .unwrap_or(DEFAULT_RETRY_AFTER);
            b.blocked_until = Some(now + wait);
            b.remaining = 0;
            // Clio's wait ends the window: afterwards the budget starts afresh.
            b.window_end = Some(now + wait);
        }
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.finished {
            // The call never got an answer (network error, cancelled): give the slot's accounting back.
            let mut b = self.budget.lock();
            b.in_flight = b.in_flight.saturating_sub(1);
        }
    }
}

impl RateInfo {
    /// Reads the rate headers of an answer.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let num =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let now_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let until_unix = |t: u64| Duration::from_secs(t.saturating_sub(now_unix));
        let retry_after = num("retry-after").map(Duration::from_secs).or_else(|| {
            // `Retry-At` is read as a unix time when large, otherwise as seconds.
            num("retry-at").map(|v| {
                if v > 1_000_000_000 {
                    until_unix(v)
                } else {
                    Duration::from_secs(v)
                }
            })
        });
        Self {
            limit: num("x-ratelimit-limit").and_then(|v| u32::try_from(v).ok()),
            remaining: num("x-ratelimit-remaining").and_then(|v| u32::try_from(v).ok()),
            reset_in: num("x-ratelimit-reset").map(until_unix),
            retry_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(remaining: u32, reset_secs: u64) -> RateInfo {
        RateInfo {
            limit: Some(3),
            remaining: Some(remaining),
            reset_in: Some(Duration::from_secs(reset_secs)),
            retry_after: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn waits_for_the_window_once_the_budget_is_spent() {
        let pacer = Pacer::default();
        let key = [1; 32];
        for remaining in [2, 1, 0] {
            let p = pacer
                .acquire(key, Duration::from_secs(120))
                .await
                .expect("slot");
            p.finish(&info(remaining, 10), false);
        }
        let start = Instant::now();
        let p = pacer
            .acquire(key, Duration::from_secs(120))
            .await
            .expect("slot after reset");
        assert!(
            start.elapsed() >= Duration::from_secs(10),
            "waited {:?}",
            start.elapsed()
        );
        drop(p);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_blocks_only_its_own_token() {
        let pacer = Pacer::default();
        let p = pacer
            .acquire([1; 32], Duration::from_secs(120))
            .await
            .expect("slot");
        p.finish(
            &RateInfo {
                retry_after: Some(Duration::from_secs(30)),
                ..RateInfo::default()
            },
            true,
        );

        let start = Instant::now();
        drop(
            pacer
                .acquire([2; 32], Duration::from_secs(120))
                .await
                .expect("other token"),
        );
        assert_eq!(start.elapsed(), Duration::ZERO);

        assert_eq!(
            pacer.acquire([1; 32], Duration::from_secs(5)).await.err(),
            Some(Duration::from_secs(30))
        );
        drop(
            pacer
                .acquire([1; 32], Duration::from_secs(120))
                .await
                .expect("after the wait"),
        );
        assert!(start.elapsed() >= Duration::from_secs(30));
    }

    #[tokio::test(start_paused = true)]
    async fn calls_that_never_get_an_answer_do_not_spend_the_budget_forever() {
        let pacer = Pacer::default();
        for _ in 0..DEFAULT_LIMIT_PER_MINUTE {
            // Dropped without `finish`: a network error, no headers.
            drop(
                pacer
                    .acquire([3; 32], Duration::from_secs(120))
                    .await
                    .expect("slot"),
            );
        }
        let start = Instant::now();
        drop(
            pacer
                .acquire([3; 32], Duration::from_secs(120))
                .await
                .expect("a slot once the assumed window ends"),
        );
        assert!(start.elapsed() <= DEFAULT_WINDOW);
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_answer_does_not_pull_the_window_back() {
        let pacer = Pacer::default();
        let key = [4; 32];
        let first = pacer
            .acquire(key, Duration::from_secs(120))
            .await
            .expect("slot");
        let second = pacer
            .acquire(key, Duration::from_secs(120))
            .await
            .expect("slot");
        second.finish(&info(0, 30), false);
        first.finish(&info(1, 5), false);
        let start = Instant::now();
        drop(
            pacer
                .acquire(key, Duration::from_secs(120))
                .await
                .expect("slot"),
        );
        assert!(
            start.elapsed() >= Duration::from_secs(30),
            "waited only {:?}",
            start.elapsed()
        );
    }

    #[test]
    fn reads_retry_after_and_retry_at() {
        let mut h = HeaderMap::new();
        h.insert("Retry-At", "7".parse().expect("header"));
        assert_eq!(
            RateInfo::from_headers(&h).retry_after,
            Some(Duration::from_secs(7))
        );
        h.insert("Retry-After", "3".parse().expect("header"));
        h.insert("X-RateLimit-Limit", "50".parse().expect("header"));
        let i = RateInfo::from_headers(&h);
        assert_eq!(
            (i.retry_after, i.limit),
            (Some(Duration::from_secs(3)), Some(50))
        );
    }
}
