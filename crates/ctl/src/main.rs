//! `matterhook`: the admin CLI.

mod connections;
mod demo;
mod dlq;
mod keys;
mod outbox;
mod sync;
mod users;
mod watches;

use anyhow::Context;
use clap::{Parser, Subcommand};
use matterhook_config::DatabaseArgs;
use secrecy::ExposeSecret;

/// matterhook's admin command line.
#[derive(Parser)]
#[command(name = "matterhook", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the database if needed and apply every pending migration.
    Migrate {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Exit 0 when the schema is current, 1 (saying what is pending) when it is not.
    CheckSchema {
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Find, inspect, replay and discard dead-lettered events.
    Dlq(dlq::DlqArgs),
    /// Manage API users.
    #[command(subcommand)]
    Users(users::UsersCommand),
    /// Clio connections.
    #[command(subcommand)]
    Connections(connections::ConnectionsCommand),
    /// Webhook subscriptions: list, renew now, recreate.
    #[command(subcommand)]
    Subscriptions(connections::SubscriptionsCommand),
    /// Sweep a connection now: catch what webhooks missed (`--full` reads everything).
    Sync(sync::SyncArgs),
    /// The encryption key: re-seal stored secrets after a rotation.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Domain events: publish again what the relay published, after a loss of RabbitMQ's data.
    #[command(subcommand)]
    Outbox(outbox::OutboxCommand),
    /// Watches: Sync All with its progress.
    #[command(subcommand)]
    Watches(watches::WatchesCommand),
    /// Demo helpers for the local stack.
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Connect the simulator's demo firm through the API's OAuth flow, approving the consent
    /// page as its attorney (simulator only).
    Connect(demo::DemoArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    match Cli::parse().command {
        Command::Migrate { db } => migrate(db.database_url.expose_secret()).await,
        Command::CheckSchema { db } => {
            matterhook_store::ensure_schema_current(db.database_url.expose_secret()).await?;
            println!("schema is up to date");
            Ok(())
        }
        Command::Dlq(args) => dlq::run(args).await,
        Command::Demo(DemoCommand::Connect(args)) => demo::connect(args).await,
        Command::Users(command) => users::run(command).await,
        Command::Connections(command) => connections::run_connections(command).await,
        Command::Subscriptions(command) => connections::run_subscriptions(command).await,
        Command::Sync(args) => sync::run(args).await,
        Command::Watches(command) => watches::run(command).await,
        Command::Keys(command) => keys::run(command).await,
        Command::Outbox(command) => outbox::run(command).await,
    }
}

async fn migrate(url: &str) -> anyhow::Result<()> {
    if matterhook_store::migrations::create_database_if_missing(url)
        .await
        .context("creating the database")?
    {
        println!("created the database");
    }
    let applied = matterhook_store::run_migrations(url)
        .await
        .context("applying migrations")?;
    if applied.is_empty() {
        println!("schema already up to date");
    } else {
        for version in &applied {
            println!("applied migration {version}");
        }
    }
    Ok(())
}
