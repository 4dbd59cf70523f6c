//! How far a queue's consumers have got, for the support console's oldest-message estimate
//! ([`matterhook_store::queue_progress`]).

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use chrono::{DateTime, Utc};
use lapin::message::Delivery;
use matterhook_store::{queue_progress, PgPool};

use super::headers;
use crate::Envelope;

/// At most one write per queue and process this often: the estimate is for people, and the hot
/// path should not pay a write per message.
const EVERY: Duration = Duration::from_secs(1);

/// When a consumer last recorded its progress.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    last: Mutex<Option<Instant>>,
}

/// When the message was sent into the pipeline: the receiver's or a replay's header, or the
/// envelope's own time for a domain event relayed from the outbox.
fn sent_at(delivery: &Delivery) -> Option<DateTime<Utc>> {
    headers::time(delivery, headers::SENT_AT)
        .or_else(|| Envelope::decode(&delivery.data).ok().map(|e| e.received_at))
}

impl Progress {
    /// Notes that `deliveries` were taken from `queue`: sets the queue's lag metric and records
    /// the newest's sent-at in the background, unless this process did so under a second ago.
    pub(crate) fn taken(
        &self,
        pool: &PgPool,
        queue: &str,
        metrics: &matterhook_telemetry::QueueMetrics,
        deliveries: &[Delivery],
    ) {
        let now = Instant::now();
        {
            let mut last = self
                .last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| now.duration_since(at) < EVERY) {
                return;
            }
            *last = Some(now);
        }
        let Some(sent) = deliveries.iter().filter_map(sent_at).max() else {
            return;
        };
        let taken = Utc::now();
        metrics.lag((taken - sent).as_seconds_f64().max(0.0));
        let (pool, queue) = (pool.clone(), queue.to_owned());
        tokio::spawn(async move {
            let recorded = async {
                let mut conn = pool.get().await.map_err(|e| e.to_string())?;
                queue_progress::record(&mut conn, &queue, sent, taken)
                    .await
                    .map_err(|e| e.to_string())
            };
            if let Err(error) = recorded.await {
                tracing::debug!(%queue, %error, "could not record the queue's progress");
            }
        });
    }
}
