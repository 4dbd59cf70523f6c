//! `matterhook watches`: Sync All from the command line, with its progress.

use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use matterhook_config::DatabaseArgs;
use matterhook_store::{connections, jobs, watches};
use secrecy::ExposeSecret;

/// `matterhook watches ...`
#[derive(Subcommand)]
pub enum WatchesCommand {
    /// Sync every watch of a connection with Clio (the job `matterhook-worker-watches` runs),
    /// and follow its progress.
    Sync {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The connection whose watches to sync.
        #[arg(long)]
        connection: i64,
        /// Queue the job and return without following it.
        #[arg(long)]
        no_wait: bool,
    },
    /// Show a watch sync job's progress.
    Job {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The job.
        id: i64,
    },
}

/// How often the progress is read while following a job.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

fn line(job: &jobs::Job) -> String {
    let total = job.total.map_or_else(|| "?".into(), |t| t.to_string());
    let error = job
        .error
        .as_deref()
        .map(|e| format!(": {e}"))
        .unwrap_or_default();
    format!(
        "job {}: {} {}/{} watches{error}",
        job.id, job.state, job.done, total
    )
}

/// Runs a `watches` command.
pub async fn run(command: WatchesCommand) -> anyhow::Result<()> {
    match command {
        WatchesCommand::Sync {
            db,
            connection,
            no_wait,
        } => {
            let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
            let mut conn = pool.get().await?;
            let c = connections::get(&mut conn, connection)
                .await?
                .with_context(|| format!("no connection {connection}"))?;
            let job = jobs::queue(&mut conn, watches::SYNC_JOB, c.id, c.user_id).await?;
            println!("{}", line(&job));
            if no_wait {
                return Ok(());
            }
            // Progress is printed as it changes; the worker reports it after each page.
            let mut shown = line(&job);
            loop {
                tokio::time::sleep(FOLLOW_EVERY).await;
                let now = jobs::of_user(&mut conn, c.user_id, job.id)
                    .await?
                    .context("the job is gone")?;
                let text = line(&now);
                if text != shown {
                    println!("{text}");
                    shown = text;
                }
                match now.state.as_str() {
                    "done" => return Ok(()),
                    "failed" => anyhow::bail!("the sync failed"),
                    _ => {}
                }
            }
        }
        WatchesCommand::Job { db, id } => {
            let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
            let mut conn = pool.get().await?;
            let job = jobs::get(&mut conn, id)
                .await?
                .with_context(|| format!("no job {id}"))?;
            println!("{}", line(&job));
            Ok(())
        }
    }
}
