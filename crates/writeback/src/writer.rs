//! The writer: each connection with activities due gets a lane that writes them at its token's
//! pace, so a token waiting for Clio's rate window (or blocked by a 429) holds up only its own
//! connection's activities.

use std::{
    collections::HashSet,
    future::Future,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use chrono::Utc;
use diesel_async::AsyncConnection;
use futures::StreamExt;
use matterhook_bus::{Envelope, WritebackRequest};
use matterhook_connections::Connections;
use matterhook_domain::{AccountId, ActivityId, ClioId, ConnectionId, Model};
use matterhook_store::{
    activities::ActivityRow,
    activity_writes::{self, Unsent},
    dead_letters::{self, NewDeadLetter},
    PgPool,
};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::write::{write, NotWritten, Written};

/// How often, and how soon, a write's outcome is recorded again when the database is away.
const RECORD_TRIES: u32 = 5;
const RECORD_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// How the writer paces itself.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// How long a claimed activity is held: longer than a write can take, pacing waits included.
    pub lease: Duration,
    /// Counted attempts before an activity is given up on (a dead letter).
    pub max_attempts: i32,
    /// The wait before the first retry; each next one doubles, up to [`WriterConfig::max_backoff`].
    pub backoff: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// Activities a lane claims at a time.
    pub claim: i64,
    /// Writes of one connection in flight at once.
    pub per_connection: usize,
    /// Connections written at once by this process.
    pub lanes: usize,
    /// The longest the writer sleeps without looking for due work.
    pub idle: Duration,
    /// The queue dead letters name (the writeback worker's): a replay goes there.
    pub queue: String,
    /// Where outcomes are counted.
    pub metrics: matterhook_telemetry::Metrics,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(300),
            max_attempts: 6,
            backoff: Duration::from_secs(10),
            max_backoff: Duration::from_secs(3_600),
            claim: 16,
            per_connection: 4,
            lanes: 64,
            idle: Duration::from_secs(1),
            queue: matterhook_bus::topology::Names::default().worker_queue(crate::WORKER),
            metrics: matterhook_telemetry::Metrics::new(),
        }
    }
}

/// What happened to one activity in a lane (as the metrics count it).
pub use matterhook_telemetry::WritebackOutcome as Outcome;

/// Writes due activities until told to stop.
#[derive(Clone)]
pub struct Writer {
    pool: PgPool,
    connections: Connections,
    config: Arc<WriterConfig>,
    wake: Arc<Notify>,
    running: Arc<Mutex<HashSet<i64>>>,
    /// Set on shutdown: lanes finish the activities they hold and claim no more.
    stopping: Arc<AtomicBool>,
}

impl Writer {
    /// A writer over `pool`, calling Clio through `connections`.
    pub fn new(pool: PgPool, connections: Connections, config: WriterConfig) -> Self {
        Self {
            pool,
            connections,
            config: Arc::new(config),
            wake: Arc::new(Notify::new()),
            running: Arc::default(),
            stopping: Arc::default(),
        }
    }

    /// What wakes the writer when work arrives (the consumer of the writeback queue rings it).
    pub fn waker(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Starts a lane for each connection with due activities, then sleeps until the next falls
    /// due, work arrives, or [`WriterConfig::idle`] passes; until `shutdown`, then lets the
    /// lanes finish the writes they started.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut lanes = tokio::task::JoinSet::new();
        loop {
            let nap = match self.start_lanes(&mut lanes).await {
                Ok(nap) => nap,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look for due activities now");
                    self.config.idle
                }
            };
            while lanes.try_join_next().is_some() {}
            tokio::select! {
                () = &mut shutdown => break,
                () = self.wake.notified() => {}
                () = tokio::time::sleep(nap) => {}
                Some(_) = lanes.join_next(), if !lanes.is_empty() => {}
            }
        }
        self.stopping.store(true, Ordering::SeqCst);
        while lanes.join_next().await.is_some() {}
    }

    /// Starts the missing lanes; how long to sleep after.
    async fn start_lanes(
        &self,
        lanes: &mut tokio::task::JoinSet<()>,
    ) -> Result<Duration, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.pool.get().await?;
        let free = self.config.lanes.saturating_sub(self.running.lock().len());
        if free > 0 {
            let due = activity_writes::due_connections(
                &mut conn,
                Utc::now(),
                i64::try_from(free).unwrap_or(i64::MAX),
            )
            .await?;
            for connection_id in due {
                if self.running.lock().insert(connection_id) {
                    let writer = self.clone();
                    lanes.spawn(async move {
                        writer.lane(connection_id).await;
                        writer.running.lock().remove(&connection_id);
                    });
                }
            }
        }
        self.config
            .metrics
            .writeback_due(activity_writes::due_count(&mut conn, Utc::now()).await?);
        let next = activity_writes::next_due(&mut conn).await?;
        Ok(next
            .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(self.config.idle)
            .min(self.config.idle)
            .max(Duration::from_millis(10)))
    }

    /// Writes the connection's due activities until none is left.
    async fn lane(&self, connection_id: i64) {
        while !self.stopping.load(Ordering::SeqCst) {
            let claimed = async {
                let mut conn = self.pool.get().await?;
                let now = Utc::now();
                let lease = now
                    + chrono::Duration::from_std(self.config.lease)
                        .unwrap_or(chrono::Duration::minutes(5));
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(
                    activity_writes::claim(&mut conn, connection_id, now, lease, self.config.claim)
                        .await?,
                )
            }
            .await;
            let rows = match claimed {
                Ok(rows) if rows.is_empty() => return,
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(connection_id, error = %e, "cannot claim activities now");
                    return;
                }
            };
            futures::stream::iter(rows)
                .for_each_concurrent(self.config.per_connection, |row| async move {
                    self.write_one(row).await;
                })
                .await;
        }
    }

    /// Writes one claimed activity and records the outcome.
    pub async fn write_one(&self, row: ActivityRow) -> Outcome {
        let result = write(&self.pool, &self.connections, &row).await;
        // A database restart between the write and its record would otherwise leave the
        // activity leased for the whole lease (five minutes; found by `make chaos`): the record
        // is tried again for a few seconds first.
        let mut pause = RECORD_PAUSE;
        let mut tries = 1;
        let outcome = loop {
            match self.record(&row, &result).await {
                Ok(outcome) => break outcome,
                Err(e) if tries < RECORD_TRIES => {
                    tracing::warn!(activity = row.id, error = %e, "cannot record a write's outcome yet; trying again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    tries += 1;
                }
                Err(e) => {
                    // Its lease runs out and it is tried again; `write_sent_at` keeps that from
                    // writing it twice.
                    tracing::warn!(activity = row.id, error = %e, "cannot record a write's outcome now");
                    break Outcome::Retried;
                }
            }
        };
        self.config.metrics.writeback_activity(outcome);
        outcome
    }

    async fn record(
        &self,
        row: &ActivityRow,
        result: &Result<Written, NotWritten>,
    ) -> Result<Outcome, Box<dyn std::error::Error + Send + Sync>> {
        let mut conn = self.pool.get().await?;
        let now = Utc::now();
        Ok(match result {
            Ok(w) => {
                activity_writes::written(&mut conn, row.id, w.record, w.clio_id, now).await?;
                tracing::info!(
                    activity = row.id,
                    connection_id = row.connection_id,
                    record = %w.record,
                    clio_id = w.clio_id,
                    adopted = w.adopted,
                    "activity written to Clio"
                );
                if w.adopted {
                    Outcome::Adopted
                } else {
                    Outcome::Written
                }
            }
            Err(NotWritten::Skipped(reason)) => {
                activity_writes::skipped(&mut conn, row.id, reason).await?;
                Outcome::Skipped
            }
            Err(NotWritten::Retry {
                error,
                wait,
                unsent,
                counted,
            }) => {
                if *counted && row.attempts >= self.config.max_attempts {
                    let why = format!("gave up after {} attempts: {error}", row.attempts);
                    self.give_up(&mut conn, row, "retries exhausted", &why, *unsent)
                        .await?;
                    return Ok(Outcome::Failed);
                }
                let wait = wait.unwrap_or_else(|| self.backoff(row.attempts));
                let due = now + chrono::Duration::from_std(wait).unwrap_or_default();
                tracing::warn!(activity = row.id, %error, wait_ms = wait.as_millis() as u64, "write failed; will try again");
                activity_writes::retry_at(&mut conn, row, due, *unsent, *counted, error).await?;
                Outcome::Retried
            }
            Err(NotWritten::Refused { error }) => {
                self.give_up(&mut conn, row, "refused", error, Unsent::Certainly)
                    .await?;
                Outcome::Failed
            }
            Err(NotWritten::NeedsReauth(error)) => {
                let letter = self.letter(row, matterhook_bus::retry::PARKED_REASON, error);
                conn.transaction::<_, diesel::result::Error, _>(async |conn| {
                    let id = dead_letters::record_returning_id(conn, &letter).await?;
                    activity_writes::parked(conn, row, error, id).await
                })
                .await?;
                tracing::info!(
                    activity = row.id,
                    "connection needs reauthorization; activity parked"
                );
                Outcome::Parked
            }
        })
    }

    /// Records the dead letter support staff can replay, and the activity as failed with it.
    async fn give_up(
        &self,
        conn: &mut matterhook_store::AsyncPgConnection,
        row: &ActivityRow,
        reason: &str,
        error: &str,
        unsent: Unsent,
    ) -> Result<(), diesel::result::Error> {
        let letter = self.letter(row, reason, error);
        let id = conn
            .transaction::<_, diesel::result::Error, _>(async |conn| {
                let id = dead_letters::record_returning_id(conn, &letter).await?;
                activity_writes::failed(conn, row, error, id, unsent).await?;
                Ok(id)
            })
            .await?;
        tracing::error!(activity = row.id, dead_letter = id, %error, "activity failed; dead-lettered");
        Ok(())
    }

    /// The dead letter of `row`: its replay is a new request to write it.
    fn letter(&self, row: &ActivityRow, reason: &str, error: &str) -> NewDeadLetter {
        let key = uuid::Uuid::new_v4().to_string();
        let activity = ActivityId(row.id);
        let envelope = Envelope::for_writeback(
            WritebackRequest::replay_event_id(activity, &key),
            ConnectionId(row.connection_id),
            WritebackRequest {
                activity,
                account: AccountId(row.clio_account_id),
                contact: ClioId(row.contact_id),
            },
            Utc::now(),
            String::new(),
        );
        let now = Utc::now();
        NewDeadLetter {
            dead_letter_id: format!("writeback:activity:{}:{key}", row.id),
            queue: self.config.queue.clone(),
            routing_key: envelope.routing_key(),
            event_id: envelope.event_id.clone(),
            envelope: serde_json::to_value(&envelope).unwrap_or_default(),
            model: Some(Model::Contact),
            event: Some(envelope.event_name().to_owned()),
            connection_id: Some(row.connection_id),
            reason: reason.to_owned(),
            error: error.to_owned(),
            attempts: row.attempts.max(1),
            first_failed_at: row.updated_at.min(now),
            last_failed_at: now,
            // Given up on by the writer itself, not on a delivery: no message headers.
            headers: serde_json::json!({"given_up_by": "writeback", "activity_id": row.id}),
        }
    }

    /// The wait after `attempts` counted attempts: doubling from the first, capped.
    fn backoff(&self, attempts: i32) -> Duration {
        let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
        self.config
            .backoff
            .saturating_mul(2u32.saturating_pow(doublings))
            .min(self.config.max_backoff)
    }
}
