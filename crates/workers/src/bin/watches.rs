//! `matterhook-worker-watches`: watches kept in step with Clio (`matterhook_watches`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::watches::WatchesArgs::parse();
    matterhook_workers::watches::run_watches(args).await
}
