//! `matterhook sync`: sweep a connection now, as the sync worker does every 12 hours.

use clap::Args;
use matterhook_store::sync_cursors;
use matterhook_sync::{SweepMode, SyncConfig, SyncStage};
use secrecy::ExposeSecret;

use crate::connections::ClioContext;

/// `matterhook sync --connection ID [--full]`
#[derive(Args)]
pub struct SyncArgs {
    #[command(flatten)]
    context: ClioContext,
    /// The connection to sweep.
    #[arg(long)]
    connection: i64,
    /// Read every record, not only those updated since the last complete sweep.
    #[arg(long)]
    full: bool,
}

/// Sweeps every model of the connection and prints what each found; domain events go to the
/// outbox, for the sync worker's relay to publish.
pub async fn run(args: SyncArgs) -> anyhow::Result<()> {
    let connections = args.context.connections()?;
    let pool = matterhook_store::connect_pool(args.context.database_url().expose_secret(), 4)?;
    let stage = SyncStage::new(pool.clone(), connections, SyncConfig::default());
    let mode = if args.full {
        SweepMode::Full
    } else {
        SweepMode::Incremental
    };
    let reports = stage.sweep_connection(args.connection, mode).await?;
    println!(
        "{:<13} {:>7} {:>7} {:>7}  note",
        "model", "seen", "missed", "events"
    );
    for r in &reports {
        let note = if let Some(why) = &r.skipped {
            format!("skipped: {why}")
        } else if r.forbidden {
            "Clio forbids reading them (403): synced without".into()
        } else if r.baseline {
            "first sweep: history, no domain events".into()
        } else {
            String::new()
        };
        println!(
            "{:<13} {:>7} {:>7} {:>7}  {note}",
            r.model, r.seen, r.missed, r.events
        );
    }
    let mut conn = pool.get().await?;
    let cursors = sync_cursors::of(&mut conn, args.connection).await?;
    for c in cursors {
        if let Some(until) = c.swept_until {
            println!("{}: next sweep reads changes since {until}", c.model);
        }
    }
    Ok(())
}
