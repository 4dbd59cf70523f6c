//! Subscriptions by URL token, cached briefly so a delivery at steady state costs no database
//! round trip.

use std::{sync::Arc, time::Duration};

use matterhook_crypto::Cipher;
use matterhook_domain::{Model, SubscriptionStatus};
use matterhook_store::{subscriptions, PgPool};
use moka::future::Cache;
use secrecy::SecretString;

/// What the receiver needs to know about a subscription.
#[derive(Debug, Clone)]
pub struct Subscription {
    /// Row id.
    pub id: i64,
    /// The connection.
    pub connection_id: i64,
    /// Clio's webhook id, once known.
    pub clio_webhook_id: Option<i64>,
    /// matter, contact or bill.
    pub model: Model,
    /// Subscribed events.
    pub events: Vec<String>,
    /// awaiting_handshake, active or deleted.
    pub status: SubscriptionStatus,
    /// The handshake secret, decrypted.
    pub secret: Option<SecretString>,
}

/// A lookup failure (the database, or a secret that will not decrypt).
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// The query failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// The stored secret does not open with the configured key.
    #[error("the secret of subscription {id} does not open")]
    Sealed {
        /// The subscription.
        id: i64,
        /// Why.
        #[source]
        source: matterhook_crypto::OpenError,
    },
}

/// Token → subscription, for [`crate::SUBSCRIPTION_TTL`]. Unknown tokens are cached too, so
/// random tokens cannot hammer the database; concurrent misses for one token share one query.
#[derive(Clone)]
pub struct SubscriptionCache {
    pool: PgPool,
    cipher: Cipher,
    cache: Cache<String, Option<Arc<Subscription>>>,
}

impl SubscriptionCache {
    /// A cache whose entries live `ttl`.
    pub fn new(pool: PgPool, cipher: Cipher, ttl: Duration) -> Self {
        Self {
            pool,
            cipher,
            cache: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .build(),
        }
    }

    /// The subscription `token` names, if any.
    pub async fn get(&self, token: &str) -> Result<Option<Arc<Subscription>>, Arc<LookupError>> {
        // The hit path first: no key allocation, no loader future.
        if let Some(hit) = self.cache.get(token).await {
            return Ok(hit);
        }
        self.cache
            .try_get_with(token.to_owned(), self.load(token))
            .await
    }

    /// Forgets `token` (after its state changed here).
    pub async fn forget(&self, token: &str) {
        self.cache.invalidate(token).await;
    }

    async fn load(&self, token: &str) -> Result<Option<Arc<Subscription>>, LookupError> {
        let mut conn = self.pool.get().await?;
        let Some(row) = subscriptions::by_token(&mut conn, token).await? else {
            return Ok(None);
        };
        let secret = row
            .secret_enc
            .as_deref()
            .map(|sealed| {
                self.cipher
                    .open(sealed, &subscriptions::secret_context(row.id))
            })
            .transpose()
            .map_err(|source| LookupError::Sealed { id: row.id, source })?;
        Ok(Some(Arc::new(Subscription {
            id: row.id,
            connection_id: row.connection_id,
            clio_webhook_id: row.clio_webhook_id,
            model: row.model,
            events: row.events,
            status: row.status,
            secret,
        })))
    }
}
