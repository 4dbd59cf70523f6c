//! What every worker binary does around its handler.

use anyhow::Context;
use matterhook_bus::{Handler, Runtime, RuntimeConfig};
use matterhook_config::{AmqpArgs, DatabaseArgs};
use secrecy::ExposeSecret;

/// The command line every worker takes.
#[derive(clap::Parser, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    amqp: AmqpArgs,
    /// Messages in flight at once.
    #[arg(long, env = "MATTERHOOK_WORKER_PREFETCH", default_value_t = 32)]
    prefetch: u16,
    /// Tries before a transiently failing message is dead-lettered.
    #[arg(long, env = "MATTERHOOK_WORKER_MAX_ATTEMPTS", default_value_t = 6)]
    max_attempts: u32,
}

/// Runs `handler` until SIGINT or SIGTERM: refuses an outdated schema, consumes its queue, records
/// broker-level dead letters, and on the signal finishes what is in flight and returns.
pub async fn run_worker<H: Handler>(handler: H, args: WorkerArgs) -> anyhow::Result<()> {
    let database_url = args.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(database_url).await?;
    let pool = matterhook_store::connect_pool(database_url, usize::from(args.prefetch).max(2) + 2)
        .context("database pool")?;
    let amqp_url = args.amqp.amqp_url.expose_secret();
    let names = matterhook_bus::topology::Names::new(&args.amqp.amqp_prefix);
    let config = RuntimeConfig {
        prefetch: args.prefetch,
        max_attempts: args.max_attempts,
        names: names.clone(),
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(handler, pool.clone(), amqp_url, config)
        .await
        .context("connecting to RabbitMQ")?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        matterhook_config::shutdown::signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    tracing::info!(worker = H::NAME, "worker ready");
    tokio::try_join!(
        runtime.run(until_stopped(stopped.clone())),
        matterhook_bus::runtime::drain_broker_dead_letters(
            pool,
            amqp_url,
            &names,
            until_stopped(stopped)
        ),
    )?;
    tracing::info!("stopped");
    Ok(())
}
