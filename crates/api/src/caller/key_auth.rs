//! Lookup keys at the door: a presented key resolved to its grant, and each key's budget, a
//! token bucket per key (GCRA, `governor`) in this process.
//!
//! A grant is cached for [`GRANT_TTL`]: a lookup then needs no database trip to check its key,
//! and a key revoked (or its connection disconnected) through another API process stops working
//! within that time; through this one, at once.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use matterhook_crypto::hash_token;
use matterhook_store::{lookup_keys, lookup_keys::KeyGrant, PgPool};
use moka::sync::Cache;

use crate::error::ApiError;

/// The prefix every lookup key starts with, so a key is told from a user's token at a glance.
pub(crate) const KEY_PREFIX: &str = "mhk_";

/// How long a key's grant is trusted without asking the database again.
pub(crate) const GRANT_TTL: Duration = Duration::from_secs(2);

/// Why a key's grant could not be read.
#[derive(Debug, thiserror::Error)]
enum GrantError {
    #[error("getting a database connection")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    #[error("reading the lookup key")]
    Database(#[from] diesel::result::Error),
}

/// Resolved keys, by hash, and their buckets, by key id.
#[derive(Clone)]
pub(crate) struct KeyDoor {
    pool: PgPool,
    grants: Cache<Vec<u8>, Option<Arc<KeyGrant>>>,
    buckets: Cache<i64, Arc<DefaultDirectRateLimiter>>,
}

impl KeyDoor {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            grants: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(GRANT_TTL)
                .support_invalidation_closures()
                .build(),
            // A bucket outlives its grant's cache entry, so re-reading a grant refills nothing;
            // an idle key's bucket (full again by then) goes after ten minutes.
            buckets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The grant of `key`, within its budget: 401 for an unknown or revoked key, 403 when its
    /// connection is disconnected, 429 with the seconds to wait past its budget.
    pub(crate) async fn admit(&self, key: &str) -> Result<Arc<KeyGrant>, ApiError> {
        if !key.starts_with(KEY_PREFIX) || key.len() > 128 {
            return Err(ApiError::Unauthorized);
        }
        let hash = hash_token(key);
        // Two lookups racing past an expired entry both read the grant: harmless, and cheaper
        // than the async cache's bookkeeping on every hit.
        let grant = match self.grants.get(&hash) {
            Some(cached) => cached,
            None => {
                let read = self
                    .read_grant(&hash)
                    .await
                    .map_err(crate::error::internal)?;
                self.grants.insert(hash, read.clone());
                read
            }
        }
        .ok_or(ApiError::Unauthorized)?;
        if grant.disconnected {
            return Err(ApiError::Rejected {
                status: actix_web::http::StatusCode::FORBIDDEN,
                code: "connection_disconnected",
                message: "the key's connection is disconnected: reconnect it in matterhook".into(),
            });
        }
        let per_minute = u32::try_from(grant.per_minute)
            .ok()
            .and_then(NonZeroU32::new)
            .unwrap_or(NonZeroU32::MIN);
        let bucket = self.buckets.get_with(grant.key_id, || {
            Arc::new(RateLimiter::direct(Quota::per_minute(per_minute)))
        });
        if let Err(not_until) = bucket.check() {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            });
        }
        Ok(grant)
    }

    async fn read_grant(&self, hash: &[u8]) -> Result<Option<Arc<KeyGrant>>, GrantError> {
        let mut conn = self.pool.get().await?;
        Ok(lookup_keys::grant(&mut conn, hash).await?.map(Arc::new))
    }

    /// Forgets key `key_id` (just revoked here), so its next use asks the database.
    pub(crate) fn forget(&self, key_id: i64) {
        // Only fails when closures were not enabled, which `new` does.
        let _ = self
            .grants
            .invalidate_entries_if(move |_, g| g.as_ref().is_some_and(|g| g.key_id == key_id));
    }
}
