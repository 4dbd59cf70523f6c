//! `matterhook outbox republish`: after RabbitMQ lost its data, publish again the domain events
//! the relay had published (kept 72 hours), so the products' workers get what was waiting in
//! their queues. Workers skip the events they had applied.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use matterhook_config::{AmqpArgs, DatabaseArgs};
use secrecy::ExposeSecret;

/// `matterhook outbox ...`
#[derive(Subcommand)]
pub enum OutboxCommand {
    /// Publish again every domain event published since `--since` (RFC 3339: a time before the
    /// broker's data was lost), in order. `--dry-run` only counts.
    Republish {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        amqp: AmqpArgs,
        /// From when (RFC 3339), e.g. 2026-11-29T08:00:00Z.
        #[arg(long)]
        since: DateTime<Utc>,
        /// Count what would be published; publish nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Runs an `outbox` command.
pub async fn run(command: OutboxCommand) -> anyhow::Result<()> {
    let OutboxCommand::Republish {
        db,
        amqp,
        since,
        dry_run,
    } = command;
    let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
    let names = matterhook_bus::topology::Names::new(&amqp.amqp_prefix);
    let broker = matterhook_bus::connect(amqp.amqp_url.expose_secret(), "matterhook-cli")
        .await
        .context("connecting to RabbitMQ")?;
    let publisher = matterhook_bus::Publisher::new(&broker, 1).await?;
    let report =
        matterhook_sync::relay::republish_since(&pool, &publisher, &names, since, dry_run).await?;
    if dry_run {
        println!(
            "{} published events since {since} would be sent again",
            report.matched
        );
    } else {
        println!(
            "{} published events since {since}: {} sent again, {} with no queue bound",
            report.matched, report.published, report.unrouted
        );
        // After a broker's data loss, a queue exists again only once its worker (or the sync
        // worker's relay) has started and declared it: an event with nowhere to go is not sent.
        anyhow::ensure!(
            report.unrouted == 0,
            "{} events had no queue bound: start every worker first (each declares its queue), \
             then run this again (consumers skip what they already applied)",
            report.unrouted
        );
    }
    Ok(())
}
