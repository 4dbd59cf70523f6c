//! `matterhook-scheduler`: the periodic pass that keeps every connection's tokens fresh and its
//! webhook subscriptions alive (see `matterhook_connections::schedule`), and sends parked work of
//! reconnected connections back to its queues. Run one or several: one pass runs at a time.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use matterhook_config::{AmqpArgs, ClioArgs, DatabaseArgs, PublicArgs};
use matterhook_connections::Connections;
use secrecy::ExposeSecret;

/// The scheduled task.
#[derive(Parser)]
#[command(version, about)]
pub struct SchedulerArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    amqp: AmqpArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    /// Seconds between passes.
    #[arg(long, env = "MATTERHOOK_SCHEDULER_INTERVAL_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    interval_secs: u64,
}

/// Runs passes every interval until SIGTERM or Ctrl-C.
pub async fn run_scheduler(args: SchedulerArgs) -> anyhow::Result<()> {
    let url = args.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(url).await?;
    let pool = matterhook_store::connect_pool(url, 4).context("database pool")?;
    let connections = Connections::from_config(pool.clone(), &args.clio, &args.public)?;
    // Parked work goes back to its queues through the broker.
    let broker =
        matterhook_bus::connect(args.amqp.amqp_url.expose_secret(), "matterhook-scheduler")
            .await
            .context("connecting to RabbitMQ")?;
    let publisher = matterhook_bus::Publisher::new(&broker, 1).await?;
    let interval = Duration::from_secs(args.interval_secs);
    tracing::info!(interval_secs = args.interval_secs, "scheduler ready");
    let shutdown = matterhook_config::shutdown::signal();
    tokio::pin!(shutdown);
    loop {
        match connections.scheduled_pass().await {
            Ok(Some(report)) => {
                let s = &report.subscriptions;
                tracing::info!(
                    tokens_refreshed = report.tokens_refreshed,
                    needs_reauth = report.needs_reauth,
                    created = s.created,
                    renewed = s.renewed,
                    replaced = s.replaced,
                    moved = s.moved,
                    sweeps = s.sweeps,
                    errors = s.errors.len() + report.errors.len(),
                    "scheduled pass done"
                );
                for e in s.errors.iter().chain(&report.errors) {
                    tracing::warn!(error = %e, "scheduled pass: will try again");
                }
                match matterhook_bus::dead_letters::unpark_reconnected(&pool, &publisher).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "sent parked work back"),
                    Err(e) => {
                        tracing::warn!(error = %e, "could not send parked work back; will try again")
                    }
                }
            }
            Ok(None) => tracing::debug!("another scheduler is mid-pass"),
            Err(e) => tracing::error!(error = %e, "scheduled pass failed; will try again"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => break,
        }
    }
    tracing::info!("scheduler stopped");
    Ok(())
}
