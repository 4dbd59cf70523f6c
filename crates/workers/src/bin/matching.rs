//! `matterhook-worker-matching`: links new matters to the referrals they came from
//! (`matterhook_referrals::Matching`).

/// What `--help` says.
const ABOUT: &str = "Links each newly opened Clio matter to the received referral its client \
                     came from, or suggests the likely ones.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse_as("matterhook-worker-matching", ABOUT);
    matterhook_workers::run_worker(matterhook_referrals::Matching, args).await
}
