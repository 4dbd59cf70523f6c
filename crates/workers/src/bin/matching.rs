//! `matterhook-worker-matching`: links new matters to the referrals they came from
//! (`matterhook_referrals::Matching`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse();
    matterhook_workers::run_worker(matterhook_referrals::Matching, args).await
}
