//! `matterhook-api`: the HTTP API.

use anyhow::Context;
use clap::Parser;
use matterhook_config::{AmqpArgs, ApiListenArgs, AppArgs, ClioArgs, DatabaseArgs, PublicArgs};
use secrecy::ExposeSecret;

/// matterhook's HTTP API.
#[derive(Parser)]
#[command(
    name = "matterhook-api",
    version,
    about = "matterhook's HTTP API: users connect their Clio accounts and use the products; \
             support staff inspect and replay dead letters. OpenAPI at /openapi.json."
)]
struct Cli {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    amqp: AmqpArgs,
    #[command(flatten)]
    listen: ApiListenArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
    #[command(flatten)]
    app: AppArgs,
}

/// The API's default connection budget (6 for requests, 4 for caller lookups).
const API_POOL: usize = 10;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let cli = Cli::parse();
    let database_url = cli.db.database_url.expose_secret();
    matterhook_store::ensure_schema_current(database_url).await?;
    // The budget is split: two fifths for caller lookups' own pool (so a burst of rings cannot
    // take the rest of the API's connections), the rest for everything else.
    let budget = cli.db.pool_size(API_POOL).max(2);
    let lookups = (budget * 2 / 5).max(1);
    let pool =
        matterhook_store::connect_pool(database_url, budget - lookups).context("database pool")?;
    let lookup_pool = matterhook_store::connect_pool_with(
        database_url,
        matterhook_store::PoolOptions {
            generic_plans: true,
            ..matterhook_store::PoolOptions::new(lookups)
        },
    )
    .context("caller lookup's database pool")?;
    let publisher = matterhook_bus::Publisher::supervised(
        cli.amqp.amqp_url.expose_secret(),
        "matterhook-api",
        1,
        |_| async { Ok(()) },
    )
    .await
    .context("connecting to RabbitMQ")?;
    let metrics = matterhook_telemetry::Metrics::new();
    metrics.db_pool(budget);
    let observer = metrics.clone();
    let connections = matterhook_connections::Connections::from_config_with(
        pool.clone(),
        &cli.clio,
        &cli.public,
        move |mut c| {
            c.observer = Some(std::sync::Arc::new(observer));
            c
        },
    )?;
    let listener = std::net::TcpListener::bind(cli.listen.addr)
        .with_context(|| format!("listening on {}", cli.listen.addr))?;
    let server = matterhook_api::server(
        listener,
        matterhook_api::Deps {
            pool,
            publisher,
            connections,
            metrics,
            app: matterhook_api::AppLink::new(&cli.app, &cli.clio.clio_redirect_uri),
            lookup_pool,
            queues: matterhook_bus::inspect::Queues::new(
                cli.amqp.amqp_url.expose_secret(),
                matterhook_bus::topology::Names::new(&cli.amqp.amqp_prefix),
            ),
        },
    )?;
    let handle = server.handle();
    tracing::info!(addr = %cli.listen.addr, "API ready");
    tokio::select! {
        result = server => result?,
        () = matterhook_config::shutdown::signal() => handle.stop(true).await,
    }
    Ok(())
}
