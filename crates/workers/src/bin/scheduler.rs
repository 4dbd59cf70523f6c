//! `matterhook-scheduler`: keeps tokens fresh and webhook subscriptions alive.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    matterhook_workers::scheduler::run_scheduler(
        matterhook_workers::scheduler::SchedulerArgs::parse(),
    )
    .await
}
