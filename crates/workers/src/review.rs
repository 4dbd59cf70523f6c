//! `matterhook-worker-review`: review requests (`matterhook_review`). The consumer makes the
//! request of each matter entering a trigger status; beside it, a timer lets requests fall due
//! and runs each connection's daily reconciliation.

use std::time::Duration;

use matterhook_review::{schedule, ReviewTrigger};
use matterhook_telemetry::Metrics;

use crate::{run_worker_alongside, stopped, WorkerArgs, CONSUMER_POOL};

/// How often requests are looked at for falling due (and local days for turning).
const TICK: Duration = Duration::from_secs(30);

/// Runs the review worker until SIGTERM or Ctrl-C.
pub async fn run_review(args: WorkerArgs) -> anyhow::Result<()> {
    let metrics = Metrics::new();
    // The consumer's transactions and the timer's pass share them.
    let pool = args.pool(CONSUMER_POOL + 1, &metrics)?;
    run_worker_alongside(
        ReviewTrigger::default(),
        args,
        metrics,
        pool.clone(),
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
