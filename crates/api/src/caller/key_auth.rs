//! Lookup keys at the door: a presented key resolved to its grant (cached: a grant never
//! changes, and every lookup's own statement checks revocation), and each key's budget, a token
//! bucket per key (GCRA, `governor`) in this process.

use std::{num::NonZeroU32, sync::Arc, time::Duration};

use governor::{clock::Clock, DefaultDirectRateLimiter, Quota, RateLimiter};
use matterhook_crypto::hash_token;
use matterhook_store::{lookup_keys, lookup_keys::KeyGrant, PgPool};
use moka::future::Cache;

use crate::error::ApiError;

/// The prefix every lookup key starts with, so a key is told from a user's token at a glance.
pub(crate) const KEY_PREFIX: &str = "mhk_";

/// A grant with its budget.
pub(crate) struct Admitted {
    pub(crate) grant: KeyGrant,
    limiter: DefaultDirectRateLimiter,
}

/// Resolved keys, by hash.
#[derive(Clone)]
pub(crate) struct KeyDoor {
    pool: PgPool,
    keys: Cache<Vec<u8>, Arc<Admitted>>,
}

impl KeyDoor {
    pub(crate) fn new(pool: PgPool) -> Self {
        Self {
            pool,
            // An idle key's entry (and its bucket, refilled by then) goes after ten minutes.
            keys: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(Duration::from_secs(600))
                .build(),
        }
    }

    /// The grant of `key`, within its budget: 401 for an unknown or revoked key, 429 with the
    /// seconds to wait past its budget.
    pub(crate) async fn admit(&self, key: &str) -> Result<Arc<Admitted>, ApiError> {
        if !key.starts_with(KEY_PREFIX) || key.len() > 128 {
            return Err(ApiError::Unauthorized);
        }
        let hash = hash_token(key);
        let admitted = match self.keys.get(&hash).await {
            Some(a) => a,
            None => {
                let mut conn = self.pool.get().await?;
                let grant = lookup_keys::grant(&mut conn, &hash)
                    .await?
                    .ok_or(ApiError::Unauthorized)?;
                let per_minute = u32::try_from(grant.per_minute)
                    .ok()
                    .and_then(NonZeroU32::new)
                    .unwrap_or(NonZeroU32::MIN);
                let admitted = Arc::new(Admitted {
                    grant,
                    limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
                });
                self.keys.insert(hash, admitted.clone()).await;
                admitted
            }
        };
        if let Err(not_until) = admitted.limiter.check() {
            let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
            return Err(ApiError::TooManyRequests {
                retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
            });
        }
        Ok(admitted)
    }

    /// Forgets `key` (revoked, or its connection gone), so the next use asks the database.
    pub(crate) async fn forget(&self, key: &str) {
        self.keys.invalidate(&hash_token(key)).await;
    }
}
