//! `matterhook connections` and `matterhook subscriptions`: what operators look at and do.

use clap::{Args, Subcommand};
use matterhook_config::{ClioArgs, DatabaseArgs, PublicArgs};
use matterhook_connections::Connections;
use matterhook_domain::ConnectionStatus;
use matterhook_store::{connections as store, subscriptions};
use secrecy::ExposeSecret;

/// `matterhook connections ...`
#[derive(Subcommand)]
pub enum ConnectionsCommand {
    /// Every connection with its status.
    List {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Only connections in this status.
        #[arg(long, value_enum)]
        status: Option<ConnectionStatus>,
    },
}

/// `matterhook subscriptions ...`
#[derive(Subcommand)]
pub enum SubscriptionsCommand {
    /// Webhook subscriptions (live ones, unless --all).
    List {
        #[command(flatten)]
        db: DatabaseArgs,
        /// Only this connection's.
        #[arg(long)]
        connection: Option<i64>,
        /// Include deleted ones, with why.
        #[arg(long)]
        all: bool,
    },
    /// Run the scheduler's pass now: create missing, renew expiring, replace broken, move.
    Renew(ClioContext),
    /// Replace subscriptions now (deleted here and in Clio, created anew, a sweep requested).
    Recreate {
        #[command(flatten)]
        context: ClioContext,
        /// Subscription ids.
        #[arg(required = true)]
        ids: Vec<i64>,
    },
}

/// What talking to Clio needs.
#[derive(Args)]
pub struct ClioContext {
    #[command(flatten)]
    db: DatabaseArgs,
    #[command(flatten)]
    clio: ClioArgs,
    #[command(flatten)]
    public: PublicArgs,
}

impl ClioContext {
    /// The database URL.
    pub fn database_url(&self) -> &secrecy::SecretString {
        &self.db.database_url
    }

    /// [`Connections`] as configured.
    pub fn connections(&self) -> anyhow::Result<Connections> {
        let pool = matterhook_store::connect_pool(self.db.database_url.expose_secret(), 4)?;
        Ok(Connections::from_config(pool, &self.clio, &self.public)?)
    }
}

fn when(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map_or_else(|| "-".into(), |t| t.format("%Y-%m-%d %H:%M").to_string())
}

/// Runs a `connections` command.
pub async fn run_connections(command: ConnectionsCommand) -> anyhow::Result<()> {
    let ConnectionsCommand::List { db, status } = command;
    let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
    let mut conn = pool.get().await?;
    let rows = store::list(&mut conn, status).await?;
    println!(
        "{:>6} {:>6} {:<3} {:<28} {:<22} {:<13} {:<17} {:<17}",
        "id", "user", "rgn", "account", "clio user", "status", "token expires", "last synced"
    );
    for c in &rows {
        println!(
            "{:>6} {:>6} {:<3} {:<28} {:<22} {:<13} {:<17} {:<17}",
            c.id,
            c.user_id,
            c.region,
            c.account_name,
            c.clio_user_name.as_deref().unwrap_or("-"),
            c.status,
            when(c.token_expires_at),
            when(c.last_synced_at),
        );
    }
    eprintln!("{} connection(s)", rows.len());
    Ok(())
}

/// Runs a `subscriptions` command.
pub async fn run_subscriptions(command: SubscriptionsCommand) -> anyhow::Result<()> {
    match command {
        SubscriptionsCommand::List {
            db,
            connection,
            all,
        } => {
            let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
            let mut conn = pool.get().await?;
            let rows = subscriptions::list(&mut conn, connection, all).await?;
            println!(
                "{:>6} {:>6} {:<8} {:<19} {:>10} {:<17} {:<17} url / why deleted",
                "id", "conn", "model", "status", "webhook", "expires", "checked"
            );
            for s in &rows {
                let detail = s
                    .deleted_reason
                    .clone()
                    .unwrap_or_else(|| s.public_url.clone());
                println!(
                    "{:>6} {:>6} {:<8} {:<19} {:>10} {:<17} {:<17} {}",
                    s.id,
                    s.connection_id,
                    s.model,
                    s.status,
                    s.clio_webhook_id.map_or("-".into(), |id| id.to_string()),
                    when(s.expires_at),
                    when(s.checked_at),
                    detail,
                );
            }
            eprintln!("{} subscription(s)", rows.len());
            Ok(())
        }
        SubscriptionsCommand::Renew(context) => {
            let report = context.connections()?.maintain().await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            anyhow::ensure!(
                report.errors.is_empty(),
                "{} failure(s); the scheduler tries again",
                report.errors.len()
            );
            Ok(())
        }
        SubscriptionsCommand::Recreate { context, ids } => {
            let connections = context.connections()?;
            for id in ids {
                let created = connections.recreate(id).await?;
                println!(
                    "subscription {id} replaced by {} (Clio webhook {})",
                    created.id,
                    created
                        .clio_webhook_id
                        .map_or("-".into(), |w| w.to_string())
                );
            }
            Ok(())
        }
    }
}
