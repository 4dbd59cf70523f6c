//! `matterhook-worker-sync`: mirrors each firm's Clio data (see `matterhook_workers::sync`).

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    matterhook_workers::sync::run_sync(matterhook_workers::sync::SyncArgs::parse()).await
}
