//! What a failed batch means for its records: a retry after the backoff of their own attempt,
//! a dead letter after the last, and the connection's circuit counting Clio's failures.

use std::{collections::BTreeMap, time::Duration};

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use matterhook_bus::Envelope;
use matterhook_store::{
    dead_letters::{self, NewDeadLetter},
    processed, sync_circuit,
    sync_queue::{self, Queued},
};
use matterhook_telemetry::QueueOutcome;

use super::{envelope_of, latest_per_record, BatchOutcome};
use crate::{SyncError, SyncStage};

impl SyncStage {
    /// Counts a read Clio failed to answer against the connection's circuit; at the threshold,
    /// the connection's reads pause.
    pub(super) async fn trip(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
    ) -> Result<(), SyncError> {
        let config = self.config();
        let threshold = i32::try_from(config.circuit_threshold).unwrap_or(i32::MAX);
        let pauses = &config.circuit_pauses;
        let opened = sync_circuit::failed(conn, connection_id, Utc::now(), threshold, |past| {
            let pause = pauses
                .get(past as usize)
                .or(pauses.last())
                .copied()
                .unwrap_or(Duration::from_secs(30));
            chrono::Duration::from_std(pause).unwrap_or_default()
        })
        .await?;
        if let Some(until) = opened {
            config.metrics.sync_circuit_opened();
            tracing::warn!(connection_id, %until, "Clio keeps failing this connection's reads: paused");
        }
        Ok(())
    }

    /// A failed attempt on `rows`: each record that has used up its attempts (all of them, when
    /// `permanent`) is dead-lettered; the others wait out the backoff of their own attempt.
    pub(super) async fn failed(
        &self,
        conn: &mut AsyncPgConnection,
        rows: &[Queued],
        message: &str,
        permanent: bool,
    ) -> Result<BatchOutcome, SyncError> {
        let now = Utc::now();
        let mut attempts: BTreeMap<i64, u32> = BTreeMap::new();
        for row in rows {
            let a = attempts.entry(row.record_id).or_default();
            *a = (*a).max(u32::try_from(row.attempts).unwrap_or(0) + 1);
        }
        let max = self.config().max_attempts;
        let (dead, waiting): (Vec<&Queued>, Vec<&Queued>) = rows
            .iter()
            .partition(|r| permanent || attempts[&r.record_id] >= max);
        let mut by_wait: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
        for row in &waiting {
            by_wait
                .entry(attempts[&row.record_id])
                .or_default()
                .push(row.id);
        }
        for (attempt, ids) in &by_wait {
            let backoff = &self.config().backoff;
            let wait = backoff
                .get(*attempt as usize - 1)
                .or(backoff.last())
                .copied()
                .unwrap_or(Duration::from_secs(10));
            let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
            let attempt = i32::try_from(*attempt).unwrap_or(i32::MAX);
            sync_queue::retry(conn, ids, due, attempt, message).await?;
        }
        let counted = self.queue_metrics();
        for _ in by_wait.values().flatten() {
            counted.count(QueueOutcome::Retried);
        }
        if dead.is_empty() {
            return Ok(BatchOutcome::Retrying {
                attempt: by_wait.keys().copied().max().unwrap_or(1),
                error: message.to_owned(),
            });
        }
        let reason = if permanent {
            "permanent error"
        } else {
            "attempts exhausted"
        };
        let dead: Vec<Queued> = dead.into_iter().cloned().collect();
        self.dead_letter(conn, &dead, &attempts, reason, message)
            .await
    }

    /// The sync queue's series, for the batcher's own retries and dead letters (a failure path:
    /// resolving them here costs nothing that matters).
    fn queue_metrics(&self) -> matterhook_telemetry::QueueMetrics {
        let config = self.config();
        config
            .metrics
            .queue(&config.names.worker_queue(crate::WORKER))
    }

    /// Gives up on the rows: one dead letter per record (its latest event, replayable to the sync
    /// queue), the rows deleted, and the events' idempotency marks forgotten so a replay applies.
    async fn dead_letter(
        &self,
        conn: &mut AsyncPgConnection,
        rows: &[Queued],
        attempts: &BTreeMap<i64, u32>,
        reason: &'static str,
        error: &str,
    ) -> Result<BatchOutcome, SyncError> {
        let latest = latest_per_record(rows);
        let queue = self.config().names.worker_queue(crate::WORKER);
        let counted = self.queue_metrics();
        let now = Utc::now();
        for row in latest.values() {
            let attempt = attempts.get(&row.record_id).copied().unwrap_or(1);
            let envelope = envelope_of(row);
            let letter = NewDeadLetter {
                dead_letter_id: format!("{queue}:{}:batch:{attempt}", row.event_id),
                queue: queue.clone(),
                routing_key: envelope
                    .as_ref()
                    .map(Envelope::routing_key)
                    .unwrap_or_default(),
                event_id: row.event_id.clone(),
                envelope: row.envelope.clone(),
                model: envelope.as_ref().map(Envelope::model),
                event: envelope.as_ref().map(|e| e.event_name().to_owned()),
                connection_id: envelope.as_ref().map(|e| e.connection_id.get()),
                reason: reason.to_owned(),
                error: error.to_owned(),
                attempts: i32::try_from(attempt).unwrap_or(i32::MAX),
                first_failed_at: row.first_failed_at.unwrap_or(now),
                last_failed_at: now,
                // Given up on by a batched re-read, not on a delivery: no message headers.
                headers: serde_json::json!({"given_up_by": "sync batch", "attempt": attempt}),
            };
            dead_letters::record(conn, &letter).await?;
            counted.count(QueueOutcome::DeadLettered);
        }
        let event_ids: Vec<String> = rows.iter().map(|r| r.event_id.clone()).collect();
        processed::forget(conn, crate::WORKER, &event_ids).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        sync_queue::delete(conn, &ids).await?;
        Ok(BatchOutcome::DeadLettered {
            records: latest.len(),
            reason,
        })
    }
}
