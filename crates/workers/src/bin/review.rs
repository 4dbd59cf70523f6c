//! `matterhook-worker-review`: matters entering a trigger status become review requests
//! (`matterhook_review::ReviewTrigger`); requests fall due; a daily reconciliation per connection.

/// What `--help` says.
const ABOUT: &str = "Turns matters entering a trigger status into review requests, honouring each \
                     firm's opt-out, locations, delay and cooldown; lets them fall due; and runs \
                     each connection's daily reconciliation.";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    matterhook_config::telemetry::init();
    let args = matterhook_workers::WorkerArgs::parse_as("matterhook-worker-review", ABOUT);
    matterhook_workers::review::run_review(args).await
}
