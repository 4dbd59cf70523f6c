//! `matterhook-worker-review`: review requests (`matterhook_review`). The consumer makes the
//! request of each matter entering a trigger status; beside it, a timer lets requests fall due
//! and runs each connection's daily reconciliation.

use std::time::Duration;

use anyhow::Context;
use matterhook_review::{schedule, ReviewTrigger};
use matterhook_telemetry::Metrics;
use secrecy::ExposeSecret;

use crate::{run_worker_alongside, stopped, WorkerArgs};

/// How often requests are looked at for falling due (and local days for turning).
const TICK: Duration = Duration::from_secs(30);

/// Runs the review worker until SIGTERM or Ctrl-C.
pub async fn run_review(args: WorkerArgs) -> anyhow::Result<()> {
    let pool = matterhook_store::connect_pool(args.db.database_url.expose_secret(), 2)
        .context("database pool")?;
    run_worker_alongside(
        ReviewTrigger::default(),
        args,
        Metrics::new(),
        move |stopping| async move {
            let shutdown = stopped(stopping);
            tokio::pin!(shutdown);
            loop {
                match schedule::tick(&pool, chrono::Utc::now()).await {
                    Ok(report) if report != schedule::TickReport::default() => {
                        tracing::info!(?report, "review requests ticked");
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %matterhook_telemetry::Chain(&e), "review tick failed; will try again");
                    }
                }
                tokio::select! {
                    () = tokio::time::sleep(TICK) => {}
                    () = &mut shutdown => break,
                }
            }
            Ok(())
        },
    )
    .await
}
