//! `matterhook-worker-crm`: each connection's contacts projected for its CRM, with a change feed
//! and new-client events (`matterhook_crm`).

/// What `--help` says.
const ABOUT: &str =
    "Projects each connection's Clio contacts for its CRM (scope, ownership, tags, \
                     key facts), keeps the change feed and fires contact.new_client once per \
                     contact; recomputes a connection's projection when its settings change.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse_as("matterhook-worker-crm", ABOUT);
    matterhook_workers::crm::run_crm(args).await
}
