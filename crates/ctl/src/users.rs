//! `matterhook users`: API users and their tokens.

use anyhow::Context;
use clap::Subcommand;
use matterhook_config::DatabaseArgs;
use matterhook_store::users;
use secrecy::ExposeSecret;

/// `matterhook users ...`
#[derive(Subcommand)]
pub enum UsersCommand {
    /// Add a user (or give an existing one a new token) and print its API token once.
    Add {
        #[command(flatten)]
        db: DatabaseArgs,
        /// The user's email.
        email: String,
        /// Allow the admin endpoints (dead letters).
        #[arg(long)]
        admin: bool,
    },
}

/// Runs a `users` command.
pub async fn run(command: UsersCommand) -> anyhow::Result<()> {
    let UsersCommand::Add { db, email, admin } = command;
    let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
    let (email, token, existed) = issue(&pool, &email, admin).await?;
    if existed {
        eprintln!("{email} existed: its previous token no longer works");
    }
    eprintln!(
        "API token for {email}{} (shown once; only its hash is stored):",
        if admin { " (admin)" } else { "" }
    );
    println!("{token}");
    Ok(())
}

/// Adds the user (or finds them) and gives them a new API token, which replaces any previous one.
/// Returns the normalised email, the token, and whether the user existed.
pub async fn issue(
    pool: &matterhook_store::PgPool,
    email: &str,
    admin: bool,
) -> anyhow::Result<(String, String, bool)> {
    let email = email.trim().to_lowercase();
    anyhow::ensure!(
        email.contains('@') && !email.starts_with('@') && !email.ends_with('@'),
        "{email:?} is not an email address"
    );
    let mut conn = pool.get().await?;
    let (token, hash) = matterhook_crypto::issue_api_token();
    let (_, existed) = users::upsert_with_token(&mut conn, &email, &hash, admin)
        .await
        .context("adding the user")?;
    Ok((email, token, existed))
}
