//! Connections to Clio: what every part of matterhook that talks to Clio on a user's behalf uses.
//!
//! - [`flow`]: the OAuth connect flow: a single-use `state` bound to the user, then the callback
//!   that exchanges the code, reads `who_am_i`, stores the tokens sealed, and subscribes.
//! - [`tokens`]: a valid access token whenever one is needed. Refreshed ahead of expiry, one
//!   refresh at a time per connection across every process (a row lock), one refresh and one retry
//!   after a 401; a refused refresh marks the connection `needs_reauth` and tells its user.
//! - [`hooks`]: the webhook subscriptions of a connection (one per model), created, confirmed,
//!   renewed before Clio lets them expire, recreated when Clio suspended, deleted or expired them,
//!   moved when our public URL changes; every gap asks for a sweep.
//! - [`custom_actions`]: buttons inside Clio ("Send Review"), registered while the settings want
//!   them and removed otherwise; a click is confirmed with Clio before anything trusts it.
//! - [`disconnect`]: revokes the grant and deletes the webhooks and custom actions, keeping
//!   everything synced.
//!
//! Everything hangs off one [`Connections`] value per process.

pub mod custom_actions;
pub mod disconnect;
mod error;
pub mod flow;
pub mod hooks;
pub mod keys;
mod resumed;
pub mod schedule;
mod setup;
pub mod tokens;

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use matterhook_clio::{oauth::OAuthApp, ClioClient};
use matterhook_crypto::Cipher;
use matterhook_store::PgPool;
use url::Url;

pub use error::ConnectionError;
pub use tokens::{Authorized, CallError, TokenError};

/// Where "now" comes from: the wall clock in production, the simulator's clock in tests that move
/// time forward.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Timings, with production defaults.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a connect's `state` is accepted.
    pub state_ttl: Duration,
    /// A token is refreshed when it expires within this.
    pub refresh_margin: Duration,
    /// The scheduled task refreshes tokens expiring within this (so a dead grant is found early).
    pub refresh_ahead: Duration,
    /// The lifetime asked for when creating or renewing a webhook (Clio allows at most 31 days).
    pub webhook_lifetime: Duration,
    /// A webhook is renewed when it expires within this.
    pub renew_before: Duration,
    /// A webhook still `pending` (no handshake) this long after creation is recreated.
    pub handshake_grace: Duration,
    /// A connected grant is probed (one `who_am_i`) when Clio has not accepted it for this long,
    /// so one revoked inside Clio is noticed within a day rather than at the next refresh.
    pub verify_every: Duration,
    /// At most this many probes per scheduled pass (the rest wait for the next pass).
    pub probes_per_pass: i64,
}

impl Default for Policy {
    fn default() -> Self {
        const DAY: u64 = 24 * 3600;
        Self {
            state_ttl: Duration::from_secs(10 * 60),
            refresh_margin: Duration::from_secs(3600),
            refresh_ahead: Duration::from_secs(DAY),
            webhook_lifetime: Duration::from_secs(30 * DAY),
            renew_before: Duration::from_secs(7 * DAY),
            handshake_grace: Duration::from_secs(15 * 60),
            verify_every: Duration::from_secs(DAY),
            probes_per_pass: 200,
        }
    }
}

/// What [`Connections`] needs.
pub struct Deps {
    /// The store.
    pub pool: PgPool,
    /// Seals and opens tokens and webhook secrets.
    pub cipher: Cipher,
    /// The Clio client (one per process: it holds the per-token pacing).
    pub client: ClioClient,
    /// Our Clio app.
    pub oauth: OAuthApp,
    /// Our public base URL: webhooks point at `{public_url}/webhooks/clio/{token}`.
    pub public_url: Url,
    /// Where "now" comes from.
    pub clock: Clock,
    /// Timings.
    pub policy: Policy,
}

/// Connections to Clio, for one process. Cheap to clone.
#[derive(Clone)]
pub struct Connections {
    inner: Arc<Inner>,
}

struct Inner {
    deps: Deps,
    /// The current token of each connection this process used, so a call costs no database round
    /// trip while the token is fresh.
    tokens: parking_lot::Mutex<HashMap<i64, tokens::Current>>,
    /// One refresh at a time per connection within this process; the row lock does it across
    /// processes.
    refreshing: parking_lot::Mutex<HashMap<i64, Arc<tokio::sync::Mutex<()>>>>,
}

impl Connections {
    /// Connections over these parts.
    pub fn new(deps: Deps) -> Self {
        Self {
            inner: Arc::new(Inner {
                deps,
                tokens: parking_lot::Mutex::new(HashMap::new()),
                refreshing: parking_lot::Mutex::new(HashMap::new()),
            }),
        }
    }

    fn deps(&self) -> &Deps {
        &self.inner.deps
    }

    /// The store.
    pub fn pool(&self) -> &PgPool {
        &self.inner.deps.pool
    }

    /// The Clio client.
    pub fn client(&self) -> &ClioClient {
        &self.inner.deps.client
    }

    /// The current time by this instance's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.inner.deps.clock)()
    }

    fn policy(&self) -> &Policy {
        &self.inner.deps.policy
    }
}

/// `std::time::Duration` as chrono's, saturating.
pub(crate) fn span(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}
