//! The batcher: due records of one connection and model, re-read together, written together.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    future::Future,
    time::Duration,
};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_bus::Envelope;
use matterhook_domain::sync_events::Read as ReadKind;
use matterhook_domain::Model;
use matterhook_store::{
    connections,
    sync_circuit::{self, Admission},
    sync_queue::{self, Queued},
};
use matterhook_telemetry::chain;
use tokio::task::JoinSet;

use std::sync::Mutex;

mod failure;

use crate::{
    apply::{self, Applied, Causes},
    read, SyncError, SyncStage, Verdict,
};

/// What one batch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOutcome {
    /// Nothing was due (another worker took it).
    Empty,
    /// Re-read and written: how many distinct records, and what changed.
    Done {
        /// Distinct records re-read.
        records: usize,
        /// What the write changed.
        applied: Applied,
    },
    /// Clio's rate limit: this connection's work waits until then.
    Throttled(DateTime<Utc>),
    /// Clio kept failing this connection's reads: its circuit is open (or another worker is
    /// probing), so nothing was read.
    Paused,
    /// The connection needs its user; the work stays parked in the queue.
    Parked,
    /// Failed; tried again later.
    Retrying {
        /// The attempt that failed.
        attempt: u32,
        /// Why.
        error: String,
    },
    /// Given up on: the records' events were dead-lettered.
    DeadLettered {
        /// Distinct records dead-lettered.
        records: usize,
        /// Why.
        reason: &'static str,
    },
}

/// How often an idle batcher looks for due work.
const POLL: Duration = Duration::from_millis(100);

impl SyncStage {
    /// Runs batches until `shutdown` resolves, up to `concurrency` at once, never two for the same
    /// connection: one firm's slow or throttled Clio never holds up another's.
    pub async fn run_batches(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut running: JoinSet<Result<BatchOutcome, SyncError>> = JoinSet::new();
        // Which connection each task works for: never two batches of one connection at once.
        let mut busy: HashMap<tokio::task::Id, i64> = HashMap::new();
        let wake = self.config().wake.clone();
        // Whether to look at the queue this turn; when not, the batcher sleeps on until
        // `planned`, the earliest time it knows a row falls due.
        let mut look = true;
        let mut planned: Option<tokio::time::Instant> = None;
        loop {
            let fallback = wake.as_ref().map_or(POLL, |w| w.fallback);
            let mut idle = fallback;
            let free = self.config().concurrency.saturating_sub(running.len());
            if look && free > 0 {
                planned = None;
                let held: HashSet<i64> = busy.values().copied().collect();
                match self.due_groups(&held, free).await {
                    Ok(groups) => {
                        let started = groups.len();
                        for (connection_id, model) in groups {
                            let stage = self.clone();
                            let task = running
                                .spawn(async move { stage.batch(connection_id, model).await });
                            busy.insert(task.id(), connection_id);
                        }
                        // Slots left: sleep until the next row falls due (a webhook's window
                        // ends), not a poll period.
                        if wake.is_some() && started < free {
                            if let Some(wait) = self.until_next_due(&busy).await {
                                idle = idle.min(wait);
                            }
                        }
                        planned = Some(tokio::time::Instant::now() + idle);
                    }
                    Err(e) => {
                        tracing::warn!(error = %matterhook_telemetry::Chain(&e), "cannot look for sync work; will retry");
                        // The database is likely down: do not hammer it (or the log).
                        idle = Duration::from_secs(1);
                    }
                }
            } else if let Some(at) = planned {
                idle = at.saturating_duration_since(tokio::time::Instant::now());
            }
            let announced = async {
                match &wake {
                    Some(w) => Some(
                        w.wakeups
                            .notified_due(matterhook_store::wakeups::SYNC_QUEUE)
                            .await,
                    ),
                    None => std::future::pending().await,
                }
            };
            look = true;
            tokio::select! {
                Some(done) = running.join_next_with_id(), if !running.is_empty() => {
                    let (id, outcome) = match done {
                        Ok((id, outcome)) => (id, outcome),
                        // A panicked batch: its transaction rolled back and its rows come back.
                        Err(e) => (e.id(), Err(SyncError::Panicked(e))),
                    };
                    if let Some(connection_id) = busy.remove(&id) {
                        log(connection_id, &outcome);
                    }
                }
                Some(due) = announced => {
                    // Rows written that fall due after the batcher's planned wake-up need no
                    // look now: it sleeps on (a burst of webhooks notifies once per event).
                    if let (Some(due), Some(at)) = (due, planned) {
                        let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                        let due_at = tokio::time::Instant::now() + wait;
                        if wait > Duration::ZERO {
                            look = false;
                            planned = Some(at.min(due_at));
                        }
                    }
                }
                () = tokio::time::sleep(idle) => {}
                () = &mut shutdown => break,
            }
        }
        // Let batches in flight finish: their rows are deleted with the write or come back.
        while running.join_next().await.is_some() {}
    }

    /// How long until the next group not in `busy` falls due (zero when one is due already);
    /// `None` when none waits or the database cannot say.
    async fn until_next_due(&self, busy: &HashMap<tokio::task::Id, i64>) -> Option<Duration> {
        let held: Vec<i64> = busy.values().copied().collect();
        let mut conn = self.pool().get().await.ok()?;
        let at = sync_queue::next_due(&mut conn, &held).await.ok()??;
        // At least a millisecond: a row due now that another batcher is taking is not a reason
        // to spin.
        Some(
            (at - Utc::now())
                .to_std()
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_millis(1)),
        )
    }

    async fn due_groups(
        &self,
        busy: &HashSet<i64>,
        free: usize,
    ) -> Result<Vec<(i64, Model)>, SyncError> {
        let mut conn = self.pool().get().await?;
        let groups = sync_queue::due_groups(&mut conn, Utc::now(), 64).await?;
        let mut seen = busy.clone();
        Ok(groups
            .into_iter()
            .filter(|(c, _)| seen.insert(*c))
            .take(free)
            .collect())
    }

    /// Runs batches until no work is due: every due record read, throttled or parked. For tests,
    /// the bench and `matterhook sync`.
    pub async fn drain(&self) -> Result<Vec<BatchOutcome>, SyncError> {
        let mut outcomes = Vec::new();
        loop {
            let groups = self.due_groups(&HashSet::new(), usize::MAX).await?;
            if groups.is_empty() {
                return Ok(outcomes);
            }
            let batches = groups.iter().map(|(c, m)| self.batch(*c, *m));
            for outcome in futures::future::join_all(batches).await {
                outcomes.push(outcome?);
            }
        }
    }

    /// One batch: take the due rows, re-read their records, write, delete the rows; or decide
    /// what the failure means for them. All in one transaction.
    pub async fn batch(&self, connection_id: i64, model: Model) -> Result<BatchOutcome, SyncError> {
        let mut conn = self.pool().get().await?;
        // Admitted outside the batch's transaction: a probe's claim must be seen by other workers
        // while it reads, and the connection's row must not stay locked across a call to Clio
        // (a token refresh writes it).
        let records = match self.admit(&mut conn, connection_id).await? {
            Admission::Open => return Ok(BatchOutcome::Paused),
            Admission::Probe => 1,
            Admission::Closed => self.config().batch_records,
        };
        let taken = Mutex::new(Vec::new());
        let result = conn
            .transaction::<_, SyncError, _>(async |conn| {
                self.batch_in(conn, connection_id, model, records, &taken)
                    .await
            })
            .await;
        let taken = taken.into_inner().unwrap_or_default();
        match result {
            // The write failed after the read and rolled back (a value the database refuses, say).
            // The attempt is counted in a transaction of its own; otherwise the rows would be
            // re-read from Clio again and again, never dead-lettered.
            Err(e) if !taken.is_empty() => {
                let message = chain(&e);
                tracing::warn!(connection_id, error = %message, "sync write failed");
                conn.transaction::<_, SyncError, _>(async |conn| {
                    self.failed(conn, &taken, &message, false).await
                })
                .await
            }
            other => other,
        }
    }

    /// Whether the connection's circuit lets this batch read, and how much.
    async fn admit(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
    ) -> Result<Admission, SyncError> {
        let now = Utc::now();
        let config = self.config();
        let admission = sync_circuit::admit(
            conn,
            connection_id,
            now,
            i32::try_from(config.circuit_threshold).unwrap_or(i32::MAX),
            now + chrono::Duration::from_std(config.probe_hold).unwrap_or_default(),
        )
        .await?;
        if admission == Admission::Probe {
            tracing::info!(connection_id, "probing Clio with one record");
        }
        Ok(admission)
    }

    async fn batch_in(
        &self,
        conn: &mut AsyncPgConnection,
        connection_id: i64,
        model: Model,
        records: i64,
        taken: &Mutex<Vec<Queued>>,
    ) -> Result<BatchOutcome, SyncError> {
        let now = Utc::now();
        let rows = sync_queue::take(conn, connection_id, model, now, records).await?;
        if rows.is_empty() {
            return Ok(BatchOutcome::Empty);
        }
        if let Ok(mut t) = taken.lock() {
            t.clone_from(&rows);
        }
        let latest = latest_per_record(&rows);
        let ids: Vec<i64> = latest.keys().copied().collect();
        // Each record's latest event, read once: its request id follows the record into the
        // domain events, and a `deleted` event confirms an absence.
        let events: Vec<(i64, Option<Envelope>)> = latest
            .iter()
            .map(|(id, row)| (*id, envelope_of(row)))
            .collect();
        let causes: Causes = events
            .iter()
            .map(|(id, e)| {
                (
                    *id,
                    e.as_ref().map(|e| e.request_id.clone()).unwrap_or_default(),
                )
            })
            .collect();
        let row_ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let read = async {
            let target = self.target(connection_id).await?;
            let reread = self.reread(&target, model, &ids).await?;
            let deleted = events
                .iter()
                .filter(|(_, e)| {
                    e.as_ref()
                        .and_then(|e| e.clio().ok())
                        .is_some_and(|c| c.event == "deleted")
                })
                .map(|(id, _)| *id)
                .collect();
            let gone = self
                .confirm_gone(&target, model, &reread, &ids, deleted)
                .await?;
            Ok::<_, SyncError>((target, reread, gone))
        }
        .await;
        let error = match read {
            Ok((target, reread, gone)) => {
                let mut applied =
                    read::write(conn, &target, &reread, ReadKind::Live, &causes).await?;
                applied += apply::absent(conn, &target, model, &gone, &causes).await?;
                sync_queue::delete(conn, &row_ids).await?;
                let done = Utc::now();
                connections::mark_synced(conn, connection_id, done).await?;
                let brought_forward = sync_circuit::succeeded(conn, connection_id, done).await?;
                if brought_forward > 0 {
                    tracing::info!(
                        connection_id,
                        rows = brought_forward,
                        "Clio answers again: records waiting out failed reads are due now"
                    );
                }
                return Ok(BatchOutcome::Done {
                    records: ids.len(),
                    applied,
                });
            }
            Err(e) => e,
        };
        match error.verdict() {
            Verdict::Throttled(wait) => {
                let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                sync_queue::hold_connection(conn, connection_id, until).await?;
                sync_queue::defer(conn, &row_ids, until).await?;
                Ok(BatchOutcome::Throttled(until))
            }
            Verdict::Parked => {
                // The queue keeps the rows and skips the connection until it is connected again.
                // Should the connection still read as connected (no usable key for its token,
                // say), the rows wait a minute rather than spin.
                let still_connected = connections::get(conn, connection_id)
                    .await?
                    .is_some_and(|c| c.status == connections::CONNECTED);
                if still_connected {
                    sync_queue::defer(conn, &row_ids, now + PARKED_PAUSE).await?;
                }
                Ok(BatchOutcome::Parked)
            }
            Verdict::Transient => {
                let outcome = self.failed(conn, &rows, &chain(&error), false).await?;
                if error.is_clio_outage() {
                    self.trip(conn, connection_id).await?;
                }
                Ok(outcome)
            }
            Verdict::Permanent => self.failed(conn, &rows, &chain(&error), true).await,
        }
    }
}

/// How long parked rows of a connection that still reads as connected wait.
const PARKED_PAUSE: chrono::Duration = chrono::Duration::minutes(1);

/// The Clio event a queued row came from (every row is one: the sync handler and the unlisted
/// sweep queue Clio events only).
pub(super) fn envelope_of(row: &Queued) -> Option<Envelope> {
    Envelope::decode_value(row.envelope.clone()).ok()
}

/// The newest row of each record.
pub(super) fn latest_per_record(rows: &[Queued]) -> BTreeMap<i64, &Queued> {
    let mut latest: BTreeMap<i64, &Queued> = BTreeMap::new();
    for row in rows {
        let newer = latest
            .get(&row.record_id)
            .is_none_or(|held| held.id < row.id);
        if newer {
            latest.insert(row.record_id, row);
        }
    }
    latest
}

fn log(connection_id: i64, outcome: &Result<BatchOutcome, SyncError>) {
    match outcome {
        Ok(BatchOutcome::Empty) => {}
        Ok(BatchOutcome::Done { records, applied }) => tracing::info!(
            connection_id,
            records,
            changed = applied.changed,
            deleted = applied.deleted,
            events = applied.events,
            "synced"
        ),
        Ok(BatchOutcome::Throttled(until)) => {
            tracing::warn!(connection_id, %until, "Clio rate limit: this connection waits")
        }
        Ok(BatchOutcome::Paused) => {}
        Ok(BatchOutcome::Parked) => {
            tracing::warn!(
                connection_id,
                "connection needs reauthorization: work parked"
            )
        }
        Ok(BatchOutcome::Retrying { attempt, error }) => {
            tracing::warn!(connection_id, attempt, %error, "sync failed; retrying later")
        }
        Ok(BatchOutcome::DeadLettered { records, reason }) => {
            tracing::error!(
                connection_id,
                records,
                reason,
                "sync gave up; dead-lettered"
            )
        }
        Err(e) => {
            tracing::warn!(connection_id, error = %matterhook_telemetry::Chain(e), "sync batch failed; will retry")
        }
    }
}
