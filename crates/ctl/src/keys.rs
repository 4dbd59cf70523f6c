//! `matterhook keys rotate`: re-seal every stored secret under the current encryption key.

use clap::Subcommand;
use matterhook_config::{DatabaseArgs, PublicArgs};
use secrecy::ExposeSecret;

/// `matterhook keys ...`
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Re-seal every connection token and webhook secret under `MATTERHOOK_ENCRYPTION_KEY`,
    /// opening them with it or with `MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS`. Safe beside running
    /// binaries and to run again; exits 1 when a secret no configured key opens.
    Rotate {
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        public: PublicArgs,
        /// Re-seal under the built-in development key (a local database only).
        #[arg(long)]
        allow_dev_key: bool,
    },
}

/// Runs a `keys` command.
pub async fn run(command: KeysCommand) -> anyhow::Result<()> {
    let KeysCommand::Rotate {
        db,
        public,
        allow_dev_key,
    } = command;
    // The development key is in the source code: re-sealing production secrets under it because
    // MATTERHOOK_ENCRYPTION_KEY was left unset would be the worst rotation of all.
    anyhow::ensure!(
        allow_dev_key || !public.encryption_key.is_dev_key(),
        "MATTERHOOK_ENCRYPTION_KEY is unset or the development key: set the new key (or pass \
         --allow-dev-key for a local database)"
    );
    anyhow::ensure!(
        !public
            .previous_encryption_keys
            .contains(&public.encryption_key),
        "MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS lists the current key: list only the old ones"
    );
    let pool = matterhook_store::connect_pool(db.database_url.expose_secret(), 1)?;
    let cipher = matterhook_crypto::Cipher::with_previous(
        &public.encryption_key,
        &public.previous_encryption_keys,
    );
    let report = matterhook_connections::keys::reseal_all(&pool, &cipher).await?;
    println!(
        "re-sealed {}, already current {}, changed meanwhile {}",
        report.resealed, report.current, report.raced
    );
    anyhow::ensure!(
        report.raced == 0,
        "{} secrets kept changing under an older key while being re-sealed: make sure every \
         binary runs with the new MATTERHOOK_ENCRYPTION_KEY, then run again",
        report.raced
    );
    if !report.unopenable.is_empty() {
        for place in &report.unopenable {
            eprintln!("no configured key opens {place}");
        }
        anyhow::bail!(
            "{} secrets open under no configured key: keep the key that sealed them in \
             MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS and run again",
            report.unopenable.len()
        );
    }
    Ok(())
}
