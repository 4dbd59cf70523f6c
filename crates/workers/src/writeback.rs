//! `matterhook-worker-writeback`: the consumer of writeback requests, and beside it the writer
//! that writes each connection's due activities at its token's pace.

use std::time::Duration;

use clap::Parser;
use matterhook_config::{ClioArgs, PublicArgs};
use matterhook_telemetry::Metrics;
use matterhook_writeback::{WritebackRequests, Writer, WriterConfig};
use secrecy::ExposeSecret;

use crate::{run_worker_alongside, stopped, WorkerArgs};

/// The writeback worker's command line.
#[derive(Parser)]
#[command(
    name = "matterhook-worker-writeback",
    version,
    about = "Writes the activities users post (emails, notes, calls, cards, texts) to Clio as \
             contact Notes or Communications, each exactly once, paced to each connection's \
             token."
)]
pub struct WritebackArgs {
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    /// Connections written at once by this process (each at its own token's pace).
    #[arg(long, env = "MATTERHOOK_WRITEBACK_LANES", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=1_024))]
    lanes: u64,
    /// Writes of one connection in flight at once.
    #[arg(long, env = "MATTERHOOK_WRITEBACK_PER_CONNECTION", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=32))]
    per_connection: u64,
    /// Counted attempts to write an activity before it is dead-lettered (429s do not count).
    #[arg(long, env = "MATTERHOOK_WRITEBACK_MAX_ATTEMPTS", default_value_t = 6,
          value_parser = clap::value_parser!(u64).range(1..=50))]
    write_attempts: u64,
    /// The first retry's wait, in milliseconds; each next one doubles, up to an hour.
    #[arg(long, env = "MATTERHOOK_WRITEBACK_BACKOFF_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    backoff_ms: u64,
}

/// A lane waits for its own token's rate window rather than giving its activities back: the
/// wait holds only that connection's lane. Longer than Clio's minute window.
const MAX_PACING_WAIT: Duration = Duration::from_secs(90);

/// The writeback worker's default connection budget.
const WRITEBACK_POOL: usize = 6;

/// Runs the writeback worker until SIGTERM or Ctrl-C.
pub async fn run_writeback(args: WritebackArgs) -> anyhow::Result<()> {
    let url = args.worker.db.database_url.expose_secret().to_owned();
    matterhook_store::ensure_schema_current(&url).await?;
    let lanes = usize::try_from(args.lanes).unwrap_or(64);
    let metrics = Metrics::new();
    // Lanes hold a connection only to claim and to record (never across a call to Clio): a few
    // serve many lanes, shared with the consumer.
    let pool = args.worker.pool(WRITEBACK_POOL, &metrics)?;
    let connections = crate::main_loop::clio_connections(
        pool.clone(),
        &args.clio,
        &args.public,
        MAX_PACING_WAIT,
        &metrics,
    )?;
    let names = matterhook_bus::topology::Names::new(&args.worker.amqp.amqp_prefix);
    let writer = Writer::new(
        pool.clone(),
        connections,
        WriterConfig {
            lanes,
            per_connection: usize::try_from(args.per_connection).unwrap_or(4),
            max_attempts: i32::try_from(args.write_attempts).unwrap_or(6),
            backoff: Duration::from_millis(args.backoff_ms),
            queue: names.worker_queue(matterhook_writeback::WORKER),
            metrics: metrics.clone(),
            ..WriterConfig::default()
        },
    );
    let handler = WritebackRequests {
        wake: writer.waker(),
    };
    // One registry: the writer's counts are served with the consumer's.
    run_worker_alongside(
        handler,
        args.worker,
        metrics,
        pool,
        move |stopping| async move {
            writer.run(stopped(stopping)).await;
            Ok(())
        },
    )
    .await
}
