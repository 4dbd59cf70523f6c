//! Flag/environment groups that binaries flatten into their own command lines.

use std::net::SocketAddr;

use secrecy::SecretString;
use url::Url;

use crate::encryption_key::{EncryptionKey, DEV_ENCRYPTION_KEY};

/// Local PostgreSQL with the machine's trust authentication.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres:postgres@127.0.0.1:5432/matterhook";
/// Local RabbitMQ with its default guest account.
pub const DEFAULT_AMQP_URL: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
/// The Clio simulator started by `make run`. Set `https://app.clio.com` to talk to Clio itself.
pub const DEFAULT_CLIO_BASE_URL: &str = "http://127.0.0.1:7700";
/// The OAuth client id of the simulator's demo app.
pub const DEFAULT_CLIO_CLIENT_ID: &str = "matterhook-dev";
/// The OAuth client secret of the simulator's demo app.
pub const DEFAULT_CLIO_CLIENT_SECRET: &str = "matterhook-dev-secret";
/// Where Clio reaches our receiver, as seen from Clio.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";
/// The webhook receiver's listener.
pub const DEFAULT_RECEIVER_ADDR: &str = "127.0.0.1:8080";
/// The API's listener.
pub const DEFAULT_API_ADDR: &str = "127.0.0.1:8081";
/// The OAuth callback of a local stack (the API's address).
pub const DEFAULT_CLIO_REDIRECT_URI: &str = "http://127.0.0.1:8081/oauth/clio/callback";
/// The Clio simulator's listener.
pub const DEFAULT_CLIO_SIM_ADDR: &str = "127.0.0.1:7700";

/// Errors found while validating configuration; each names the variable at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `MATTERHOOK_ENCRYPTION_KEY` was left at the development key for a non-local deployment.
    #[error(
        "MATTERHOOK_ENCRYPTION_KEY is the built-in development key, but MATTERHOOK_PUBLIC_URL ({0}) \
         is not a local address; generate one with `openssl rand -base64 32`"
    )]
    DevKeyInProduction(Url),
}

/// `DATABASE_URL`, `MATTERHOOK_DB_POOL`.
#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL (may hold a password, so it is never printed).
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, hide_env_values = true, hide_default_value = true)]
    pub database_url: SecretString,
    /// The most connections this process opens to PostgreSQL, all its pools together (default:
    /// sized for the binary's own concurrency; the runbook's connection budget lists them).
    #[arg(long, env = "MATTERHOOK_DB_POOL",
          value_parser = clap::value_parser!(u32).range(1..=500))]
    pub db_pool: Option<u32>,
}

impl DatabaseArgs {
    /// The process's connection budget: `MATTERHOOK_DB_POOL` when set, else `default`.
    pub fn pool_size(&self, default: usize) -> usize {
        self.db_pool
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(default)
    }
}

/// `AMQP_URL`, `MATTERHOOK_AMQP_PREFIX`.
#[derive(clap::Args, Debug, Clone)]
pub struct AmqpArgs {
    /// RabbitMQ connection URL (may hold a password, so it is never printed).
    #[arg(long, env = "AMQP_URL", default_value = DEFAULT_AMQP_URL, hide_env_values = true, hide_default_value = true)]
    pub amqp_url: SecretString,
    /// Namespace of every exchange and queue name (two deployments on one broker differ here).
    #[arg(long, env = "MATTERHOOK_AMQP_PREFIX", default_value = "matterhook", value_parser = parse_prefix)]
    pub amqp_prefix: String,
}

fn parse_prefix(s: &str) -> Result<String, String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("letters, digits, '-' and '_' only, at most 64".into())
    }
}

/// `CLIO_BASE_URL`, `CLIO_CLIENT_ID`, `CLIO_CLIENT_SECRET`.
#[derive(clap::Args, Debug, Clone)]
pub struct ClioArgs {
    /// Clio's base URL. `https://app.clio.com` means Clio itself, with its EU/CA/AU hosts derived
    /// per connection; any other URL (the simulator) serves every region.
    #[arg(long, env = "CLIO_BASE_URL", default_value = DEFAULT_CLIO_BASE_URL)]
    pub clio_base_url: Url,
    /// The OAuth client id of our Clio app.
    #[arg(long, env = "CLIO_CLIENT_ID", default_value = DEFAULT_CLIO_CLIENT_ID)]
    pub clio_client_id: String,
    /// The OAuth client secret of our Clio app.
    #[arg(long, env = "CLIO_CLIENT_SECRET", default_value = DEFAULT_CLIO_CLIENT_SECRET, hide_env_values = true, hide_default_value = true)]
    pub clio_client_secret: SecretString,
    /// Where Clio sends the user back after the consent page: the API's
    /// `/oauth/clio/callback`, exactly as registered with the Clio app.
    #[arg(long, env = "CLIO_REDIRECT_URI", default_value = DEFAULT_CLIO_REDIRECT_URI)]
    pub clio_redirect_uri: Url,
}

/// `MATTERHOOK_PUBLIC_URL`, `MATTERHOOK_ENCRYPTION_KEY`, `MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS`.
#[derive(clap::Args, Debug, Clone)]
pub struct PublicArgs {
    /// The URL at which Clio reaches our receiver (webhook URLs are built from it).
    #[arg(long, env = "MATTERHOOK_PUBLIC_URL", default_value = DEFAULT_PUBLIC_URL)]
    pub public_url: Url,
    /// 32-byte AES-256-GCM key, base64 or hex, that encrypts tokens and secrets at rest.
    #[arg(long, env = "MATTERHOOK_ENCRYPTION_KEY", default_value = DEV_ENCRYPTION_KEY, hide_env_values = true, hide_default_value = true)]
    pub encryption_key: EncryptionKey,
    /// Keys in use before a rotation, comma-separated: they open what they sealed, never seal
    /// (see the runbook's "Rotating the encryption key").
    #[arg(
        long,
        env = "MATTERHOOK_PREVIOUS_ENCRYPTION_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub previous_encryption_keys: Vec<EncryptionKey>,
}

impl PublicArgs {
    /// Refuses the development key anywhere but on a loopback deployment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.encryption_key.is_dev_key() && !is_loopback(&self.public_url) {
            return Err(ConfigError::DevKeyInProduction(self.public_url.clone()));
        }
        if self.encryption_key.is_dev_key() {
            tracing::warn!("MATTERHOOK_ENCRYPTION_KEY is not set: using the development key");
        }
        Ok(())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `MATTERHOOK_APP_ORIGIN`, `MATTERHOOK_APP_RETURN_URL`: where the connect flow ends.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct AppArgs {
    /// The origin of the app that opens the connect flow in a popup (`https://app.example.com`):
    /// the callback's page posts the outcome to this origin only, then closes the popup.
    #[arg(long, env = "MATTERHOOK_APP_ORIGIN", value_parser = parse_origin)]
    pub app_origin: Option<String>,
    /// Instead of the page, send the browser here with the outcome in the query
    /// (`?connect=connected&connection_id=..` or `?connect=failed&reason=..`).
    #[arg(long, env = "MATTERHOOK_APP_RETURN_URL", value_parser = parse_return_url)]
    pub app_return_url: Option<Url>,
}

/// An origin, exactly: scheme, host and port, nothing else (what `postMessage` compares).
fn parse_origin(s: &str) -> Result<String, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    let plain = matches!(url.scheme(), "http" | "https")
        && url.host().is_some()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    if !plain || s.trim_end_matches('/') != url.origin().ascii_serialization() {
        return Err("an origin is scheme://host[:port], with no path, query or credentials".into());
    }
    Ok(url.origin().ascii_serialization())
}

fn parse_return_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("the app's return URL must be an http(s) URL".into());
    }
    Ok(url)
}

/// `MATTERHOOK_RECEIVER_ADDR`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReceiverListenArgs {
    /// Address the webhook receiver listens on.
    #[arg(long = "listen", env = "MATTERHOOK_RECEIVER_ADDR", default_value = DEFAULT_RECEIVER_ADDR)]
    pub addr: SocketAddr,
}

/// `MATTERHOOK_API_ADDR`.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiListenArgs {
    /// Address the API listens on.
    #[arg(long = "listen", env = "MATTERHOOK_API_ADDR", default_value = DEFAULT_API_ADDR)]
    pub addr: SocketAddr,
}

/// `MATTERHOOK_HEALTH_ADDR`.
#[derive(clap::Args, Debug, Clone)]
pub struct HealthListenArgs {
    /// Address of the worker's or scheduler's `/healthz`, `/readyz` and `/metrics` listener.
    /// Port 0 picks a free port (logged at start); deployments set one (see docs/runbook.md).
    #[arg(long = "health-listen", env = "MATTERHOOK_HEALTH_ADDR", default_value = DEFAULT_HEALTH_ADDR)]
    pub addr: SocketAddr,
}

/// [`HealthListenArgs`]' default: loopback, any free port.
pub const DEFAULT_HEALTH_ADDR: &str = "127.0.0.1:0";

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        public: PublicArgs,
    }

    #[test]
    fn the_app_origin_is_an_origin_and_nothing_more() {
        assert_eq!(
            parse_origin("https://app.example.com").as_deref(),
            Ok("https://app.example.com")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:3000/").as_deref(),
            Ok("http://127.0.0.1:3000")
        );
        for bad in [
            "*",
            "app.example.com",
            "https://app.example.com/popup",
            "https://app.example.com?x=1",
            "https://user@app.example.com",
            "javascript:alert(1)",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
        assert!(parse_return_url("https://app.example.com/settings").is_ok());
        assert!(parse_return_url("javascript:alert(1)").is_err());
    }

    #[test]
    fn dev_key_is_accepted_locally_and_refused_for_a_public_url() {
        let local = Cli::try_parse_from(["x"]).expect("defaults parse");
        assert!(local.public.validate().is_ok());

        let public = Cli::try_parse_from(["x", "--public-url", "https://hooks.example.com"])
            .expect("parses");
        let err = public
            .public
            .validate()
            .expect_err("dev key must be refused");
        assert!(err.to_string().contains("MATTERHOOK_ENCRYPTION_KEY"));
    }

    #[test]
    fn a_bad_key_is_refused_with_the_flag_named() {
        let err = match Cli::try_parse_from(["x", "--encryption-key", "short"]) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("a short key must be refused"),
        };
        assert!(err.contains("encryption-key"), "{err}");
        assert!(err.contains("32 bytes"), "{err}");
    }
}
