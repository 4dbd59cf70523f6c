//! `matterhook-worker-sync`: the sync stage in one binary. The consumer turns Clio events into
//! records to re-read; beside it the batcher re-reads and writes the mirror, the relay publishes
//! the outbox, and the sweeper catches what webhooks missed. Run several: batches and sweeps
//! share work through row locks and leases.

use std::{future::Future, time::Duration};

use clap::Parser;
use matterhook_bus::topology::WorkerQueue;
use matterhook_config::{ClioArgs, PublicArgs};
use matterhook_store::{outbox, sync_queue, PgPool};
use matterhook_sync::{relay, SyncConfig, SyncHandler, SyncStage};
use matterhook_telemetry::Metrics;
use secrecy::ExposeSecret;

use crate::{run_worker_alongside, stopped, WorkerArgs};

/// The sync worker's command line.
#[derive(Parser)]
#[command(
    name = "matterhook-worker-sync",
    version,
    about = "Mirrors each firm's Clio matters, contacts, bills, users and custom fields: re-reads \
             what webhooks point at in batches, sweeps for what they missed, and publishes the \
             domain events the changes imply."
)]
pub struct SyncArgs {
    #[command(flatten)]
    worker: WorkerArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    /// How long an event waits for others of its connection and model to join its batch.
    #[arg(long, env = "MATTERHOOK_SYNC_WINDOW_MS", default_value_t = 250,
          value_parser = clap::value_parser!(u64).range(0..=60_000))]
    window_ms: u64,
    /// Whether a webhook's own record is written to the mirror at once when strictly newer than
    /// the mirror's (its effects then need not wait for the window; the re-read still confirms
    /// it). `false` leaves every write to the re-read.
    #[arg(long, env = "MATTERHOOK_SYNC_APPLY_WEBHOOK_DATA", default_value_t = true,
          action = clap::ArgAction::Set)]
    apply_webhook_data: bool,
    /// Batches in flight at once (each for a different connection).
    #[arg(long, env = "MATTERHOOK_SYNC_CONCURRENCY", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    concurrency: u64,
    /// Seconds between periodic sweeps of a connection (12 hours).
    #[arg(long, env = "MATTERHOOK_SYNC_SWEEP_INTERVAL_SECS", default_value_t = 43_200,
          value_parser = clap::value_parser!(u64).range(60..=604_800))]
    sweep_interval_secs: u64,
    /// Seconds after which a periodic sweep lists every record rather than the recently updated
    /// ones, to notice deletions no webhook reported (7 days).
    #[arg(long, env = "MATTERHOOK_SYNC_FULL_SWEEP_INTERVAL_SECS", default_value_t = 604_800,
          value_parser = clap::value_parser!(u64).range(3_600..=7_776_000))]
    full_sweep_interval_secs: u64,
    /// Seconds between looks for sweeps to run (requested or periodic).
    #[arg(long, env = "MATTERHOOK_SYNC_SWEEP_TICK_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=3_600))]
    sweep_tick_secs: u64,
}

/// A throttled token fails fast rather than holding a batch slot: its connection's work is held
/// (and only its) until Clio's window reopens.
const MAX_PACING_WAIT: Duration = Duration::from_secs(1);

/// The workers that consume the domain events the relay publishes. Their queues are declared
/// by the relay too, so the order in which operators start the binaries loses nothing.
fn downstream() -> Vec<WorkerQueue> {
    let tiers = matterhook_bus::topology::TIERS;
    vec![
        WorkerQueue::of(&matterhook_referrals::Matching, &tiers),
        WorkerQueue::of(&matterhook_referrals::StatusSync, &tiers),
        WorkerQueue::of(&matterhook_review::ReviewTrigger::default(), &tiers),
        WorkerQueue::of(&matterhook_writeback::WritebackRequests::default(), &tiers),
        WorkerQueue::of(&matterhook_crm::CrmProjector, &tiers),
        WorkerQueue::of(&matterhook_watches::WatchSyncer, &tiers),
    ]
}

/// Runs the sync worker until SIGTERM or Ctrl-C.
pub async fn run_sync(args: SyncArgs) -> anyhow::Result<()> {
    let url = args.worker.db.database_url.expose_secret().to_owned();
    let amqp_url = args.worker.amqp.amqp_url.expose_secret().to_owned();
    let names = matterhook_bus::topology::Names::new(&args.worker.amqp.amqp_prefix);
    matterhook_store::ensure_schema_current(&url).await?;
    let concurrency = usize::try_from(args.concurrency).unwrap_or(4);
    let metrics = Metrics::new();
    // Each batch holds one connection for its transaction and may need one more (its target, a
    // token); the relay, the sweeper and the consumer's inserts share the rest.
    let pool = args.worker.pool(concurrency * 2 + 3, &metrics)?;
    let connections = crate::main_loop::clio_connections(
        pool.clone(),
        &args.clio,
        &args.public,
        MAX_PACING_WAIT,
        &metrics,
    )?;
    // One more connection, listening: the batcher and the relay sleep until work is written.
    let wakeups = matterhook_store::wakeups::Wakeups::listen(
        &url,
        &[
            matterhook_store::wakeups::SYNC_QUEUE,
            matterhook_store::wakeups::OUTBOX,
        ],
    );
    metrics.db_pool(1);
    let wake = matterhook_sync::Wake {
        wakeups,
        fallback: matterhook_sync::IDLE_LISTENING,
    };
    let stage = SyncStage::new(
        pool.clone(),
        connections,
        SyncConfig {
            concurrency,
            wake: Some(wake.clone()),
            sweep_interval: Duration::from_secs(args.sweep_interval_secs),
            full_sweep_interval: Duration::from_secs(args.full_sweep_interval_secs),
            names: names.clone(),
            metrics: metrics.clone(),
            ..SyncConfig::default()
        },
    );
    let handler = SyncHandler {
        window: Duration::from_millis(args.window_ms),
        apply_webhook_data: args.apply_webhook_data,
        ..SyncHandler::default()
    };
    let tick = Duration::from_secs(args.sweep_tick_secs);
    let sampled = (pool.clone(), metrics.clone());
    run_worker_alongside(
        handler,
        args.worker,
        metrics,
        pool.clone(),
        move |stopping| async move {
            tokio::join!(
                stage.run_batches(stopped(stopping.clone())),
                stage.run_sweeps(tick, stopped(stopping.clone())),
                relay::run_relay_with(
                    pool,
                    amqp_url,
                    names,
                    downstream(),
                    Some(wake),
                    stopped(stopping.clone())
                ),
                sample_backlogs(sampled.0, sampled.1, stopped(stopping)),
            );
            Ok(())
        },
    )
    .await
}

/// How often the sync queue's depth and the outbox's lag are read into the metrics.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Reads the two backlogs that live in PostgreSQL into the metrics until `shutdown`.
async fn sample_backlogs(pool: PgPool, metrics: Metrics, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let sampled: Result<(), Box<dyn std::error::Error + Send + Sync>> = async {
            let mut conn = pool.get().await?;
            let depth = sync_queue::depth(&mut conn).await?;
            let (pending, oldest) = outbox::backlog(&mut conn).await?;
            metrics.sync_queue_depth(depth);
            let lag = oldest.map_or(0.0, |at| {
                (chrono::Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
            });
            metrics.outbox(pending, lag);
            Ok(())
        }
        .await;
        if let Err(e) = sampled {
            tracing::debug!(error = %matterhook_telemetry::Chain(&*e), "cannot sample the backlogs now");
        }
        tokio::select! {
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
            () = &mut shutdown => return,
        }
    }
}

#[cfg(test)]
mod worker_list {
    use matterhook_bus::{topology::WORKERS, Handler};

    /// The support console lists queues and ops scale workers by `WORKERS`: it must name every
    /// handler, and nothing else.
    #[test]
    fn the_topology_names_every_worker_and_only_them() {
        let mut handlers: Vec<String> = super::downstream().into_iter().map(|q| q.worker).collect();
        handlers.push(crate::journal::Journal::NAME.to_owned());
        handlers.push(matterhook_sync::SyncHandler::NAME.to_owned());
        handlers.sort_unstable();
        let mut listed: Vec<String> = WORKERS.iter().map(|w| (*w).to_owned()).collect();
        listed.sort_unstable();
        assert_eq!(handlers, listed);
    }
}
