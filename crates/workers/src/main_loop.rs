//! What every worker binary does around its handler.

use anyhow::Context;
use clap::{CommandFactory, FromArgMatches};
use matterhook_bus::{Handler, Runtime, RuntimeConfig};
use matterhook_config::{AmqpArgs, DatabaseArgs, HealthListenArgs};
use matterhook_telemetry::{health, Metrics, Readiness, Telemetry};
use secrecy::ExposeSecret;

/// The command line every worker takes.
#[derive(clap::Parser, Debug)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub(crate) db: DatabaseArgs,
    #[command(flatten)]
    pub(crate) amqp: AmqpArgs,
    #[command(flatten)]
    pub(crate) health: HealthListenArgs,
    /// Messages in flight at once.
    #[arg(long, env = "MATTERHOOK_WORKER_PREFETCH", default_value_t = 32)]
    prefetch: u16,
    /// Tries before a transiently failing message is dead-lettered.
    #[arg(long, env = "MATTERHOOK_WORKER_MAX_ATTEMPTS", default_value_t = 6)]
    max_attempts: u32,
}

/// The connection budget of a worker that only consumes: its handlers' transactions take turns
/// on these (messages beyond them wait in the prefetch buffer), and the broker dead-letter drain
/// borrows one now and then.
pub const CONSUMER_POOL: usize = 3;

impl WorkerArgs {
    /// The worker's pool: `MATTERHOOK_DB_POOL` connections when set, else `default`; recorded in
    /// `metrics` (`matterhook_db_pool_max_connections`).
    pub fn pool(
        &self,
        default: usize,
        metrics: &Metrics,
    ) -> anyhow::Result<matterhook_store::PgPool> {
        let size = self.db.pool_size(default);
        metrics.db_pool(size);
        matterhook_store::connect_pool(self.db.database_url.expose_secret(), size)
            .context("database pool")
    }

    /// Parses the command line of the binary `name`, whose `--help` starts with `about` and whose
    /// `--version` is the workspace's.
    pub fn parse_as(name: &'static str, about: &'static str) -> Self {
        let matches = Self::command()
            .name(name)
            .about(about)
            .version(env!("CARGO_PKG_VERSION"))
            .get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// Runs `handler` until SIGINT or SIGTERM: refuses an outdated schema, consumes its queue, records
/// broker-level dead letters, serves its health and metrics, and on the signal finishes what is in
/// flight and returns.
pub async fn run_worker<H: Handler>(handler: H, args: WorkerArgs) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    let pool = args.pool(CONSUMER_POOL, &metrics)?;
    run_worker_alongside(handler, args, metrics, pool, |_| async { Ok(()) }).await
}

/// A shutdown signal a companion task can wait for.
pub type Stopping = tokio::sync::watch::Receiver<bool>;

/// Resolves once shutdown is asked for.
pub async fn stopped(mut rx: Stopping) {
    let _ = rx.wait_for(|s| *s).await;
}

/// [`run_worker`], recording into `metrics`, on `pool` (made by [`WorkerArgs::pool`], shared
/// with the companion), with `companion` running beside the consumer until the same signal (the
/// sync worker's batcher, relay and sweeper).
pub async fn run_worker_alongside<H, F, Fut>(
    handler: H,
    args: WorkerArgs,
    metrics: Metrics,
    pool: matterhook_store::PgPool,
    companion: F,
) -> anyhow::Result<()>
where
    H: Handler,
    F: FnOnce(Stopping) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let database_url = args.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(database_url).await?;
    let amqp_url = args.amqp.amqp_url.expose_secret();
    let names = matterhook_bus::topology::Names::new(&args.amqp.amqp_prefix);
    let config = RuntimeConfig {
        prefetch: args.prefetch,
        max_attempts: args.max_attempts,
        names: names.clone(),
        metrics: metrics.clone(),
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::new(handler, pool.clone(), amqp_url, config)
        .await
        .context("connecting to RabbitMQ")?;
    let connected = runtime.connected();
    let telemetry = Telemetry::new(
        metrics,
        Readiness::new()
            .broker(move || connected.get())
            .database(pool.clone()),
    );
    let health = health::spawn(args.health.addr, telemetry)
        .with_context(|| format!("listening on {}", args.health.addr))?;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        matterhook_config::shutdown::signal().await;
        let _ = stop.send(true);
    });
    tracing::info!(worker = H::NAME, health_addr = %health.addr, "worker ready");
    let ran = tokio::try_join!(
        companion(stopping.clone()),
        async {
            runtime
                .run(stopped(stopping.clone()))
                .await
                .map_err(anyhow::Error::from)
        },
        async {
            matterhook_bus::runtime::drain_broker_dead_letters(
                pool,
                amqp_url,
                &names,
                stopped(stopping.clone()),
            )
            .await
            .map_err(anyhow::Error::from)
        },
    );
    health.handle.stop(true).await;
    ran?;
    tracing::info!("stopped");
    Ok(())
}

/// The [`matterhook_connections::Connections`] of a worker that calls Clio: a call waits at most
/// `max_pacing_wait` for its token's rate window (longer, it fails as rate limited), and every
/// call is counted in `metrics`.
pub(crate) fn clio_connections(
    pool: matterhook_store::PgPool,
    clio: &matterhook_config::ClioArgs,
    public: &matterhook_config::PublicArgs,
    max_pacing_wait: std::time::Duration,
    metrics: &Metrics,
) -> anyhow::Result<matterhook_connections::Connections> {
    let observer = metrics.clone();
    Ok(matterhook_connections::Connections::from_config_with(
        pool,
        clio,
        public,
        move |mut c| {
            c.max_pacing_wait = max_pacing_wait;
            c.observer = Some(std::sync::Arc::new(observer));
            c
        },
    )?)
}
