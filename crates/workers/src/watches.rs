//! `matterhook-worker-watches`: watches (`matterhook_watches`). The consumer re-syncs the
//! watches a mirror change touches; beside it, the job runner syncs every watch of a connection
//! (Sync All, the automatic schedule, a login), re-reading Clio through the sync stage.

use std::time::Duration;

use clap::Parser;
use matterhook_config::{ClioArgs, PublicArgs};
use matterhook_sync::{SyncConfig, SyncStage};
use matterhook_telemetry::Metrics;
use matterhook_watches::{jobs, WatchSyncer};
use secrecy::ExposeSecret;

use crate::{run_worker_alongside, stopped, WorkerArgs, CONSUMER_POOL};

/// The watches worker's command line.
#[derive(Parser)]
#[command(
    name = "matterhook-worker-watches",
    version,
    about = "Keeps watches (matters imported from Clio as records) in step with Clio field by \
             field: on every change the sync stage announces, and in Sync All jobs that re-read \
             200 matters per call; users' edits and local fields are never overwritten."
)]
pub struct WatchesArgs {
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    /// Seconds between looks for automatic syncs that are due (`auto_sync`, `frequency`).
    #[arg(long, env = "MATTERHOOK_WATCHES_SCHEDULE_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    schedule_secs: u64,
}

/// How often the job runner looks for a job when it has none.
const JOB_TICK: Duration = Duration::from_secs(1);

/// A job waits out its token's rate window (it is nobody's request in flight).
const MAX_PACING_WAIT: Duration = Duration::from_secs(90);

/// Runs the watches worker until SIGTERM or Ctrl-C.
pub async fn run_watches(args: WatchesArgs) -> anyhow::Result<()> {
    let url = args.worker.db.database_url.expose_secret().to_owned();
    matterhook_store::ensure_schema_current(&url).await?;
    let metrics = Metrics::new();
    // The consumer's transactions and one job at a time (a page's refresh, then its merge).
    let pool = args.worker.pool(CONSUMER_POOL + 1, &metrics)?;
    let connections = crate::main_loop::clio_connections(
        pool.clone(),
        &args.clio,
        &args.public,
        MAX_PACING_WAIT,
        &metrics,
    )?;
    let names = matterhook_bus::topology::Names::new(&args.worker.amqp.amqp_prefix);
    let stage = SyncStage::new(
        pool.clone(),
        connections,
        SyncConfig {
            names,
            metrics: metrics.clone(),
            ..SyncConfig::default()
        },
    );
    let schedule = Duration::from_secs(args.schedule_secs);
    run_worker_alongside(
        WatchSyncer,
        args.worker,
        metrics,
        pool.clone(),
        move |stopping| async move {
            jobs::run_jobs(pool, stage, JOB_TICK, schedule, stopped(stopping)).await;
            Ok(())
        },
    )
    .await
}
