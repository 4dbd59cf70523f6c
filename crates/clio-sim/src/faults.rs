//! Injected faults: API calls that fail, and deliveries that misbehave.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

use serde::Deserialize;

/// How an API call should fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFaultKind {
    /// 429 with `Retry-After`.
    RateLimit,
    /// 500.
    ServerError,
    /// No answer until the client gives up.
    Timeout,
    /// A write (POST, PATCH, PUT, DELETE) is applied, then its answer never comes: the client
    /// gives up not knowing whether it took. Reads pass untouched and do not use it up.
    DropAnswer,
}

/// "The next `count` calls (of `token`, or of anyone) fail like this."
#[derive(Debug, Clone, Deserialize)]
pub struct ApiFault {
    /// What happens.
    pub kind: ApiFaultKind,
    /// How many calls it hits.
    pub count: u32,
    /// Only calls made with this access token; every token when absent.
    #[serde(default)]
    pub token: Option<String>,
    /// The `Retry-After` of a rate-limit fault, in seconds.
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: u64,
    /// Calls it lets through first (to fail, say, the second page of a listing).
    #[serde(default)]
    pub after: u32,
}

fn default_retry_after() -> u64 {
    1
}

/// "Every call (of `token`, or of anyone) fails like this for the next `for_ms`": an outage
/// bounded in time rather than in calls, for load that keeps calling through it.
#[derive(Debug, Clone, Deserialize)]
pub struct ApiOutage {
    /// What happens.
    pub kind: ApiFaultKind,
    /// How long, from when it is injected, in milliseconds.
    pub for_ms: u64,
    /// Only calls made with this access token; every token when absent.
    #[serde(default)]
    pub token: Option<String>,
    /// The `Retry-After` of a rate-limit outage, in seconds.
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: u64,
}

/// How deliveries should misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryFaultKind {
    /// Each delivery is sent twice.
    Duplicate,
    /// Each delivery waits `delay_ms` before its first attempt.
    Delay,
    /// The next `count` deliveries are held, then sent newest first.
    Reorder,
}

/// "The next `count` deliveries misbehave like this."
#[derive(Debug, Clone, Deserialize)]
pub struct DeliveryFault {
    /// What happens.
    pub kind: DeliveryFaultKind,
    /// How many deliveries it hits.
    pub count: u32,
    /// For `delay`.
    #[serde(default)]
    pub delay_ms: u64,
}

/// Pending faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    api: VecDeque<ApiFault>,
    outages: Vec<(ApiOutage, Instant)>,
    pub duplicate: u32,
    pub delay: (u32, Duration),
    pub reorder: u32,
}

impl Faults {
    pub fn push_api(&mut self, fault: ApiFault) {
        if fault.count > 0 {
            self.api.push_back(fault);
        }
    }

    pub fn push_delivery(&mut self, fault: &DeliveryFault) {
        match fault.kind {
            DeliveryFaultKind::Duplicate => self.duplicate += fault.count,
            DeliveryFaultKind::Delay => {
                self.delay = (fault.count, Duration::from_millis(fault.delay_ms))
            }
            DeliveryFaultKind::Reorder => self.reorder += fault.count,
        }
    }

    pub fn push_outage(&mut self, outage: ApiOutage) {
        let ends = Instant::now() + Duration::from_millis(outage.for_ms);
        self.outages.push((outage, ends));
    }

    /// Takes one use of the first fault that applies to a call of `token` (a `write` or a read):
    /// an outage under way first. A `drop_answer` fault applies to writes only.
    pub fn take_api(&mut self, token: &str, write: bool) -> Option<ApiFault> {
        let now = Instant::now();
        self.outages.retain(|(_, ends)| *ends > now);
        let applies = |kind: ApiFaultKind, for_token: Option<&str>| {
            for_token.is_none_or(|t| t == token) && (write || kind != ApiFaultKind::DropAnswer)
        };
        if let Some((outage, _)) = self
            .outages
            .iter()
            .find(|(o, _)| applies(o.kind, o.token.as_deref()))
        {
            return Some(ApiFault {
                kind: outage.kind,
                count: 1,
                token: outage.token.clone(),
                retry_after_secs: outage.retry_after_secs,
                after: 0,
            });
        }
        let pos = self
            .api
            .iter()
            .position(|f| applies(f.kind, f.token.as_deref()))?;
        let fault = &mut self.api[pos];
        if fault.after > 0 {
            fault.after -= 1;
            return None;
        }
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            self.api.remove(pos);
        }
        Some(taken)
    }
}
