//! `matterhook-receiver`: Clio's webhooks in, durable events out.

use anyhow::Context;
use clap::Parser;
use matterhook_config::{AmqpArgs, DatabaseArgs, PublicArgs, ReceiverListenArgs};
use secrecy::ExposeSecret;

/// The webhook receiver.
#[derive(Parser)]
#[command(
    name = "matterhook-receiver",
    version,
    about = "Receives Clio's signed webhooks and answers 2xx only once each event is durable in \
             RabbitMQ (a publisher confirm)."
)]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    amqp: AmqpArgs,
    #[command(flatten)]
    public: PublicArgs,
    #[command(flatten)]
    listen: ReceiverListenArgs,
    /// HTTP worker threads.
    #[arg(long, env = "MATTERHOOK_RECEIVER_WORKERS", default_value_t = 2)]
    workers: usize,
    /// Confirm-mode channels publishes are spread over. One lets the broker coalesce confirms and
    /// batch its writes; on the 2-core benchmark machine it beat 4 and 16 (docs/benchmarks.md).
    #[arg(long, env = "MATTERHOOK_RECEIVER_CHANNELS", default_value_t = 1)]
    channels: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let cli = Cli::parse();
    cli.public.validate()?;
    let database_url = cli.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(database_url).await?;
    let metrics = matterhook_telemetry::Metrics::new();
    // Deliveries at steady state read no database (subscriptions are cached); the journal's
    // and handshakes' writes need few.
    let pool_size = cli.db.pool_size(4);
    metrics.db_pool(pool_size);
    let pool = matterhook_store::connect_pool(database_url, pool_size).context("database pool")?;
    let names = matterhook_bus::topology::Names::new(&cli.amqp.amqp_prefix);
    let publisher = {
        let names = names.clone();
        matterhook_bus::Publisher::supervised(
            cli.amqp.amqp_url.expose_secret(),
            "matterhook-receiver",
            cli.channels,
            move |channel| {
                let names = names.clone();
                async move { matterhook_bus::topology::declare_common(&channel, &names).await }
            },
        )
        .await
        .context("connecting to RabbitMQ")?
    };
    let deps = matterhook_receiver::Deps {
        pool,
        publisher,
        cipher: matterhook_crypto::Cipher::with_previous(
            &cli.public.encryption_key,
            &cli.public.previous_encryption_keys,
        ),
        names,
        metrics,
    };
    let listener = std::net::TcpListener::bind(cli.listen.addr)
        .with_context(|| format!("listening on {}", cli.listen.addr))?;
    let server = matterhook_receiver::server(listener, deps, cli.workers)?;
    let handle = server.handle();
    tracing::info!(addr = %cli.listen.addr, "receiver ready");
    tokio::select! {
        result = server => result?,
        () = matterhook_config::shutdown::signal() => {
            tracing::info!("stopping: finishing requests in flight");
            handle.stop(true).await;
        }
    }
    Ok(())
}
