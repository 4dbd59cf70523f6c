//! Sending webhook handshakes and deliveries, with Clio's retries.
//!
//! A delivery is one POST of a signed body. 2xx, 3xx and 410 count as delivered (410 also
//! suspends the webhook, as Clio disables it). Anything else, or no answer within the delivery
//! timeout, is retried after 2, 4, 8, 16 and 32 minutes (times `retry_scale`). A delivery that
//! exhausts its retries counts against the webhook; enough of them in a row suspend it.

use std::{
    sync::{Arc, Weak},
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::json;
use sha2::Sha256;
use tokio::sync::{mpsc, oneshot};

use crate::Shared;

/// Work for the dispatcher.
#[derive(Debug)]
pub(crate) enum Job {
    Deliver(Outgoing),
    Handshake {
        webhook_id: i64,
        url: String,
        secret: String,
        log_index: usize,
    },
}

/// One delivery, ready to send.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub log_index: usize,
    pub webhook_id: i64,
    pub url: String,
    pub secret: String,
    pub body: Arc<[u8]>,
}

/// A delivery (or handshake) and what happened to it.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryLog {
    /// Its index in the log.
    pub id: usize,
    /// The webhook.
    pub webhook_id: i64,
    /// `handshake`, or the event delivered.
    pub event: String,
    /// The record the event is about.
    pub record_id: Option<i64>,
    /// The exact body sent.
    pub body: String,
    /// Sent again by a `duplicate` fault.
    pub duplicate: bool,
    /// Every attempt so far.
    pub attempts: Vec<Attempt>,
    /// pending, delivered, failed or dropped (webhook gone or no longer enabled).
    pub outcome: String,
}

/// One attempt at a delivery.
#[derive(Debug, Clone, Serialize)]
pub struct Attempt {
    /// When, in simulated time.
    pub at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    pub status: Option<u16>,
    /// Why there was no answer.
    pub error: Option<String>,
    /// How long the attempt took.
    pub duration_ms: u64,
}

impl DeliveryLog {
    pub(crate) fn new(
        id: usize,
        webhook_id: i64,
        event: &str,
        record_id: Option<i64>,
        body: &str,
    ) -> Self {
        Self {
            id,
            webhook_id,
            event: event.to_owned(),
            record_id,
            body: body.to_owned(),
            duplicate: false,
            attempts: vec![],
            outcome: "pending".into(),
        }
    }
}

/// Lowercase hex HMAC-SHA256 of `body` keyed with `secret`: Clio's `X-Hook-Signature`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Runs jobs until the simulator is dropped.
pub(crate) async fn dispatch(shared: Weak<Shared>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = jobs.recv().await {
        let Some(shared) = shared.upgrade() else {
            return;
        };
        match job {
            Job::Handshake {
                webhook_id,
                url,
                secret,
                log_index,
            } => {
                tokio::spawn(handshake(shared, webhook_id, url, secret, log_index));
            }
            Job::Deliver(outgoing) => plan(shared, outgoing),
        }
    }
}

/// Applies delivery faults, then starts the delivery.
fn plan(shared: Arc<Shared>, outgoing: Outgoing) {
    let mut state = shared.state.lock();
    let faults = &mut state.faults;
    if faults.reorder > 0 {
        faults.reorder -= 1;
        let release = faults.reorder == 0;
        state.held_for_reorder.push_back(outgoing);
        if release {
            let held: Vec<Outgoing> = state.held_for_reorder.drain(..).rev().collect();
            drop(state);
            tokio::spawn(async move {
                // Newest first, each one's first attempt finished before the next starts.
                for o in held {
                    let (done, first_attempt) = oneshot::channel();
                    tokio::spawn(run(shared.clone(), o, Duration::ZERO, Some(done)));
                    let _ = first_attempt.await;
                }
            });
        }
        return;
    }
    let duplicate = faults.duplicate > 0;
    if duplicate {
        faults.duplicate -= 1;
    }
    let delay = if faults.delay.0 > 0 {
        faults.delay.0 -= 1;
        faults.delay.1
    } else {
        Duration::ZERO
    };
    let copy = duplicate.then(|| {
        let mut log = state.deliveries[outgoing.log_index].clone();
        log.id = state.deliveries.len();
        log.duplicate = true;
        state.deliveries.push(log);
        Outgoing {
            log_index: state.deliveries.len() - 1,
            ..outgoing.clone()
        }
    });
    drop(state);
    tokio::spawn(run(shared.clone(), outgoing, delay, None));
    if let Some(copy) = copy {
        tokio::spawn(run(shared, copy, delay, None));
    }
}

enum Verdict {
    Delivered { gone: bool },
    Failed,
}

/// One delivery with its retries.
async fn run(
    shared: Arc<Shared>,
    o: Outgoing,
    delay: Duration,
    mut first_attempt: Option<oneshot::Sender<()>>,
) {
    tokio::time::sleep(delay).await;
    let max_retries = shared.config.read().max_retries;
    for attempt in 0..=max_retries {
        if attempt > 0 {
            let wait = shared.config.read().retry_delay(attempt);
            tokio::time::sleep(wait).await;
        }
        if !hook_is_enabled(&shared, o.webhook_id) {
            shared.state.lock().deliveries[o.log_index].outcome = "dropped".into();
            shared.changed.notify_waiters();
            return;
        }
        let verdict = attempt_once(&shared, &o).await;
        if let Some(done) = first_attempt.take() {
            let _ = done.send(());
        }
        if let Verdict::Delivered { gone } = verdict {
            let mut state = shared.state.lock();
            state.deliveries[o.log_index].outcome = "delivered".into();
            if let Some(hook) = state.hooks.get_mut(&o.webhook_id) {
                hook.consecutive_failures = 0;
                if gone {
                    hook.status = "suspended".into();
                }
            }
            drop(state);
            shared.changed.notify_waiters();
            return;
        }
    }
    let threshold = shared.config.read().suspend_after_failed_deliveries;
    let mut state = shared.state.lock();
    if state.deliveries[o.log_index].outcome == "pending" {
        state.deliveries[o.log_index].outcome = "failed".into();
        if let Some(hook) = state.hooks.get_mut(&o.webhook_id) {
            hook.consecutive_failures += 1;
            if hook.consecutive_failures >= threshold {
                hook.status = "suspended".into();
            }
        }
    }
    drop(state);
    shared.changed.notify_waiters();
}

/// Whether the webhook still delivers: enabled and not expired (an expired webhook stops silently,
/// retries included).
fn hook_is_enabled(shared: &Shared, webhook_id: i64) -> bool {
    let state = shared.state.lock();
    let now = state.now();
    state
        .hooks
        .get(&webhook_id)
        .is_some_and(|h| h.status == "enabled" && h.expires_at > now)
}

async fn attempt_once(shared: &Shared, o: &Outgoing) -> Verdict {
    let timeout = shared.config.read().delivery_timeout;
    let started = Instant::now();
    let at = shared.state.lock().now();
    let result = shared
        .http
        .post(&o.url)
        .header("Content-Type", "application/json")
        .header("X-Hook-Signature", sign(&o.secret, &o.body))
        .body(o.body.to_vec())
        .timeout(timeout)
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let (status, error) = match &result {
        Ok(r) => (Some(r.status().as_u16()), None),
        Err(e) if e.is_timeout() => (None, Some("timed out".to_owned())),
        Err(e) => (None, Some(e.to_string())),
    };
    shared.state.lock().deliveries[o.log_index]
        .attempts
        .push(Attempt {
            at,
            status,
            error,
            duration_ms,
        });
    shared.changed.notify_waiters();
    match status {
        Some(410) => Verdict::Delivered { gone: true },
        Some(s) if (200..400).contains(&s) => Verdict::Delivered { gone: false },
        _ => Verdict::Failed,
    }
}

/// Clio's handshake: an unsigned POST carrying `X-Hook-Secret`. Echoing the secret back in the
/// answer's `X-Hook-Secret` header enables the webhook.
async fn handshake(
    shared: Arc<Shared>,
    webhook_id: i64,
    url: String,
    secret: String,
    log_index: usize,
) {
    let timeout = shared.config.read().delivery_timeout;
    let started = Instant::now();
    let at = shared.state.lock().now();
    let body = json!({"data": {"webhook_id": webhook_id}}).to_string();
    let result = shared
        .http
        .post(&url)
        .header("Content-Type", "application/json")
        .header("X-Hook-Secret", &secret)
        .body(body)
        .timeout(timeout)
        .send()
        .await;
    let duration_ms = started.elapsed().as_millis() as u64;
    let mut state = shared.state.lock();
    let (status, error, echoed) = match &result {
        Ok(r) => (
            Some(r.status().as_u16()),
            None,
            r.status().is_success()
                && r.headers()
                    .get("X-Hook-Secret")
                    .and_then(|v| v.to_str().ok())
                    == Some(secret.as_str()),
        ),
        Err(e) => (None, Some(e.to_string()), false),
    };
    let log = &mut state.deliveries[log_index];
    log.attempts.push(Attempt {
        at,
        status,
        error,
        duration_ms,
    });
    log.outcome = if echoed { "delivered" } else { "failed" }.into();
    if echoed {
        if let Some(hook) = state.hooks.get_mut(&webhook_id) {
            if hook.status == "pending" && hook.shared_secret == secret {
                hook.status = "enabled".into();
            }
        }
    }
    drop(state);
    shared.changed.notify_waiters();
}
