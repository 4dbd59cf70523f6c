//! `matterhook-worker-status`: matter status into referrals, thank-you drafts for paid bills
//! (`matterhook_referrals::StatusSync`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse();
    matterhook_workers::run_worker(matterhook_referrals::StatusSync, args).await
}
