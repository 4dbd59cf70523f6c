//! The simulator's knobs, with Clio's behaviour as the defaults.

use std::time::Duration;

/// How the simulator behaves. [`SimConfig::default`] is Clio as documented; tests shrink the
/// times.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The OAuth client id of the one registered app.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: String,
    /// `expires_in` of issued access tokens (Clio: 30 days).
    pub token_expires_in: Duration,
    /// Answer refresh grants without a new refresh token (Clio may do either).
    pub omit_refresh_token_on_refresh: bool,
    /// Calls per access token per window (Clio: 50 at peak).
    pub rate_limit: u32,
    /// Length of a rate window (Clio: one minute).
    pub rate_window: Duration,
    /// First webhook retry delay (Clio: 2 minutes), doubling each time.
    pub retry_base: Duration,
    /// Multiplies every retry delay; tests use a small factor.
    pub retry_scale: f64,
    /// Retries after the first attempt (Clio: 5).
    pub max_retries: u32,
    /// How long a delivery may take before it counts as failed.
    pub delivery_timeout: Duration,
    /// Deliveries that exhaust their retries in a row before a webhook is suspended.
    pub suspend_after_failed_deliveries: u32,
    /// How long an injected timeout fault holds the request.
    pub timeout_fault_delay: Duration,
    /// Accept `http://` webhook URLs (Clio requires https; the local stack has no TLS).
    pub allow_http_webhooks: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            client_id: "matterhook-dev".into(),
            client_secret: "matterhook-dev-secret".into(),
            token_expires_in: Duration::from_secs(30 * 24 * 3600),
            omit_refresh_token_on_refresh: false,
            rate_limit: 50,
            rate_window: Duration::from_secs(60),
            retry_base: Duration::from_secs(120),
            retry_scale: 1.0,
            max_retries: 5,
            delivery_timeout: Duration::from_secs(10),
            suspend_after_failed_deliveries: 3,
            timeout_fault_delay: Duration::from_secs(60),
            allow_http_webhooks: true,
        }
    }
}

impl SimConfig {
    /// The delay before retry number `n` (1-based): `retry_base * 2^(n-1) * retry_scale`.
    pub fn retry_delay(&self, n: u32) -> Duration {
        let factor = 2f64.powi(n.saturating_sub(1) as i32) * self.retry_scale;
        self.retry_base.mul_f64(factor.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_follow_clios_doubling_schedule() {
        let c = SimConfig::default();
        let minutes: Vec<u64> = (1..=5).map(|n| c.retry_delay(n).as_secs() / 60).collect();
        assert_eq!(minutes, vec![2, 4, 8, 16, 32]);
        let fast = SimConfig {
            retry_scale: 0.001,
            ..SimConfig::default()
        };
        assert_eq!(fast.retry_delay(1), Duration::from_millis(120));
    }
}
