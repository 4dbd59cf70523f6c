//! `matterhook-scheduler`: the periodic pass that keeps every connection's tokens fresh and its
//! webhook subscriptions alive, probes once a day each grant Clio has not accepted for a day (see
//! `matterhook_connections::schedule`), and sends parked work of reconnected connections back to
//! its queues. Run one or several: one pass runs at a time.

use std::{sync::Arc, time::Duration};

use anyhow::Context;
use clap::Parser;
use matterhook_config::{AmqpArgs, ClioArgs, DatabaseArgs, HealthListenArgs, PublicArgs};
use matterhook_connections::Connections;
use matterhook_telemetry::{health, Metrics, Readiness, Telemetry};
use secrecy::ExposeSecret;

/// The scheduled task.
#[derive(Parser)]
#[command(
    name = "matterhook-scheduler",
    version,
    about = "Keeps every connection's tokens fresh and its webhook subscriptions alive, and sends \
             parked work back once its connection is reconnected. Run one or several: one pass \
             runs at a time."
)]
pub struct SchedulerArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    amqp: AmqpArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    #[command(flatten)]
    health: HealthListenArgs,
    /// Seconds between passes.
    #[arg(long, env = "MATTERHOOK_SCHEDULER_INTERVAL_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    interval_secs: u64,
}

/// Runs passes every interval until SIGTERM or Ctrl-C.
pub async fn run_scheduler(args: SchedulerArgs) -> anyhow::Result<()> {
    let url = args.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(url).await?;
    let metrics = Metrics::new();
    // One pass at a time, each step one connection (and one more for a token refresh).
    let size = args.db.pool_size(3);
    metrics.db_pool(size);
    let pool = matterhook_store::connect_pool(url, size).context("database pool")?;
    let observer = metrics.clone();
    let connections =
        Connections::from_config_with(pool.clone(), &args.clio, &args.public, move |mut c| {
            c.observer = Some(Arc::new(observer));
            c
        })?;
    // Parked work goes back to its queues through the broker.
    let publisher = matterhook_bus::Publisher::supervised(
        args.amqp.amqp_url.expose_secret(),
        "matterhook-scheduler",
        1,
        |_| async { Ok(()) },
    )
    .await
    .context("connecting to RabbitMQ")?;
    let ready = publisher.clone();
    let telemetry = Telemetry::new(
        metrics.clone(),
        Readiness::new()
            .broker(move || ready.connected())
            .database(pool.clone()),
    );
    let health = health::spawn(args.health.addr, telemetry)
        .with_context(|| format!("listening on {}", args.health.addr))?;
    let interval = Duration::from_secs(args.interval_secs);
    tracing::info!(interval_secs = args.interval_secs, health_addr = %health.addr, "scheduler ready");
    let shutdown = matterhook_config::shutdown::signal();
    tokio::pin!(shutdown);
    loop {
        let started = std::time::Instant::now();
        let pass = connections.scheduled_pass().await;
        if matches!(pass, Ok(Some(_))) {
            metrics.scheduler_pass(started.elapsed().as_secs_f64());
        }
        match pass {
            Ok(Some(report)) => {
                let s = &report.subscriptions;
                tracing::info!(
                    tokens_refreshed = report.tokens_refreshed,
                    needs_reauth = report.needs_reauth,
                    grants_verified = report.grants_verified,
                    grants_revoked = report.grants_revoked,
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
                        tracing::warn!(error = %matterhook_telemetry::Chain(&e), "could not send parked work back; will try again")
                    }
                }
            }
            Ok(None) => tracing::debug!("another scheduler is mid-pass"),
            Err(e) => {
                tracing::error!(error = %matterhook_telemetry::Chain(&e), "scheduled pass failed; will try again")
            }
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = &mut shutdown => break,
        }
    }
    health.handle.stop(true).await;
    tracing::info!("scheduler stopped");
    Ok(())
}
