//! Building [`Connections`] from the binaries' configuration.

use matterhook_clio::{oauth::OAuthApp, ClientConfig, ClioClient};
use matterhook_config::{ClioArgs, PublicArgs};
use matterhook_crypto::Cipher;
use matterhook_store::PgPool;

use crate::{system_clock, ConnectionError, Connections, Deps, Policy};

impl Connections {
    /// Connections as configured by `CLIO_*`, `MATTERHOOK_PUBLIC_URL` and
    /// `MATTERHOOK_ENCRYPTION_KEY`, on the wall clock with the default [`Policy`].
    pub fn from_config(
        pool: PgPool,
        clio: &ClioArgs,
        public: &PublicArgs,
    ) -> Result<Self, ConnectionError> {
        Self::from_config_with(pool, clio, public, |c| c)
    }

    /// Same, with a say in the Clio client's configuration (a worker that would rather fail fast
    /// than wait out a token's rate window, say).
    pub fn from_config_with(
        pool: PgPool,
        clio: &ClioArgs,
        public: &PublicArgs,
        client_config: impl FnOnce(ClientConfig) -> ClientConfig,
    ) -> Result<Self, ConnectionError> {
        public
            .validate()
            .map_err(|e| ConnectionError::Config(Box::new(e)))?;
        let client = ClioClient::new(client_config(ClientConfig::new(clio.clio_base_url.clone())))?;
        let oauth = OAuthApp::new(
            clio.clio_client_id.clone(),
            clio.clio_client_secret.clone(),
            clio.clio_redirect_uri.clone(),
            client.endpoints().clone(),
            client.http().clone(),
        );
        Ok(Self::new(Deps {
            pool,
            cipher: Cipher::with_previous(&public.encryption_key, &public.previous_encryption_keys),
            client,
            oauth,
            public_url: public.public_url.clone(),
            clock: system_clock(),
            policy: Policy::default(),
        }))
    }
}
