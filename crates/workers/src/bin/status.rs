//! `matterhook-worker-status`: matter status into referrals, thank-you drafts for paid bills
//! (`matterhook_referrals::StatusSync`).

/// What `--help` says.
const ABOUT: &str = "Carries linked matters' status into their referrals, and queues a thank-you \
                     draft when a bill covering a linked matter is paid.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse_as("matterhook-worker-status", ABOUT);
    matterhook_workers::run_worker(matterhook_referrals::StatusSync, args).await
}
