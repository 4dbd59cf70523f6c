//! The sync stage: a local mirror of each firm's Clio data, so downstream workers read facts from
//! our database and none of them calls Clio.
//!
//! A Clio webhook is a hint (no event id, duplicated, reordered, only the fields asked for), so:
//! - [`SyncHandler`] (on the ingest runtime) turns each matter, contact or bill event into a row of
//!   `sync_queue`, due after a short coalescing window;
//! - the batcher ([`SyncStage::run_batches`]) takes the due rows of one connection and model
//!   together, up to 200 distinct records, re-reads them in one `ids[]` call with every field the
//!   product needs, and writes the mirror ([`apply`]) with the domain events the change implies
//!   into the outbox, in one transaction;
//! - the relay ([`relay`]) publishes the outbox with publisher confirms, then retires it (kept
//!   72 hours for republishing after a loss of the broker's data);
//! - sweeps ([`SyncStage::sweep`]) page through records updated since the last complete sweep,
//!   every 12 hours, on demand, and when the connections stage asks for one (a lapsed webhook),
//!   and feed the same write path.
//!
//! Failures: a 429 holds only that connection's work; a connection that needs reauthorization
//! keeps its work parked in the queue until it is reconnected; other failures retry with backoff
//! (an attempt is a failed read of the record, however many events it gathered meanwhile) and
//! are dead-lettered (replayable) after the last attempt. When Clio keeps failing a connection's
//! reads (5xx, timeouts), a circuit pauses them, then probes with one record; the first read
//! Clio answers closes it and brings the connection's waiting records forward.

pub mod apply;
mod batch;
mod error;
pub mod fields;
mod handler;
mod news;
mod read;
pub mod records;
mod refresh;
pub mod relay;
mod schedule;
mod sweep;
mod unlisted;

use std::{sync::Arc, time::Duration};

use matterhook_bus::topology::Names;
use matterhook_connections::Connections;
use matterhook_store::PgPool;

pub use batch::BatchOutcome;
pub use error::{SyncError, Verdict};
pub use handler::SyncHandler;
pub use refresh::Refreshed;
pub use sweep::{SweepMode, SweepReport};

/// The worker's name: its queue is `matterhook.sync`.
pub const WORKER: &str = "sync";

/// How the stage behaves.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Distinct records re-read in one call (Clio's `ids[]` and page limit: 200).
    pub batch_records: i64,
    /// Failed reads before the work is dead-lettered.
    pub max_attempts: u32,
    /// Waits after the 1st, 2nd, ... failed read (the last repeats).
    pub backoff: Vec<Duration>,
    /// Consecutive failed reads of a connection (Clio's 5xx, timeouts) that pause its reads.
    pub circuit_threshold: u32,
    /// How long the reads pause after the threshold, then after each failed probe (the last
    /// repeats). The first read after Clio answers again brings every record waiting out a failed
    /// read forward, so the longest pause bounds how late they are re-read.
    pub circuit_pauses: Vec<Duration>,
    /// How long a probe holds the connection against other workers' reads (the Clio client's
    /// timeout, and some).
    pub probe_hold: Duration,
    /// Batches in flight at once (each for a different connection and model).
    pub concurrency: usize,
    /// A connection is swept when its last sweep is older than this.
    pub sweep_interval: Duration,
    /// A periodic sweep lists every record, not only those updated since the last one, when the
    /// last complete listing is older than this: the only way to notice a deletion no webhook
    /// reported.
    pub full_sweep_interval: Duration,
    /// How long a sweeper may hold a cursor before another may take it over.
    pub sweep_lease: Duration,
    /// The AMQP namespace (dead letters name the sync queue).
    pub names: Names,
    /// Where the batcher counts records it retries and dead-letters (under the sync queue's
    /// name, beside the consumer's own counts).
    pub metrics: matterhook_telemetry::Metrics,
    /// Notifications of new work (`LISTEN`): with them an idle batcher sleeps until the next row
    /// falls due or one is written; without them it looks every 100 ms.
    pub wake: Option<Wake>,
}

/// What wakes an idle batcher or relay.
#[derive(Debug, Clone)]
pub struct Wake {
    /// The notifications it listens for.
    pub wakeups: matterhook_store::wakeups::Wakeups,
    /// How long it sleeps when nothing is due or announced: what a lost notification costs at
    /// most ([`IDLE_LISTENING`] in the binaries).
    pub fallback: Duration,
}

/// How long a listening batcher or relay sleeps when nothing is due or announced.
pub const IDLE_LISTENING: Duration = Duration::from_secs(1);

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            batch_records: matterhook_clio::MAX_PAGE_SIZE as i64,
            max_attempts: 6,
            backoff: [10, 60, 600, 3600].map(Duration::from_secs).to_vec(),
            circuit_threshold: 3,
            circuit_pauses: [5, 10, 20, 30].map(Duration::from_secs).to_vec(),
            probe_hold: Duration::from_secs(45),
            concurrency: 4,
            sweep_interval: Duration::from_secs(12 * 3600),
            full_sweep_interval: Duration::from_secs(7 * 24 * 3600),
            sweep_lease: Duration::from_secs(15 * 60),
            names: Names::default(),
            metrics: matterhook_telemetry::Metrics::default(),
            wake: None,
        }
    }
}

/// The sync stage: batches, sweeps. Cheap to clone.
#[derive(Clone)]
pub struct SyncStage {
    inner: Arc<Inner>,
}

struct Inner {
    pool: PgPool,
    connections: Connections,
    config: SyncConfig,
}

impl SyncStage {
    /// The stage over `pool`, reading Clio through `connections`.
    pub fn new(pool: PgPool, connections: Connections, config: SyncConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                connections,
                config,
            }),
        }
    }

    fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    fn connections(&self) -> &Connections {
        &self.inner.connections
    }

    fn config(&self) -> &SyncConfig {
        &self.inner.config
    }
}
