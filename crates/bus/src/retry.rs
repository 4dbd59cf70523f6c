//! What happens to a message after its handler ran: one decision, in one place.

use std::time::Duration;

use rand::Rng;

use crate::topology::Tier;

/// The handler's outcome, as far as the decision cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Outcome {
    /// The effect is committed (or was already).
    Done,
    /// May work later: network, Clio 5xx or 429, database unavailable, a panic.
    Transient {
        /// The wait the failure asked for (Clio's `Retry-After`).
        wait: Option<Duration>,
    },
    /// Will never work as it is: dead-letter now.
    Permanent,
    /// Waits for a person (the connection needs reauthorization): dead-letter now as parked.
    Parked,
}

/// The dead-letter reason of parked work; a reconnect replays the connection's rows with it.
pub const PARKED_REASON: &str = "parked: the connection needs reauthorization";

/// What to do with the message.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Acknowledge it.
    Ack,
    /// Send it to a retry tier with this per-message expiry, then acknowledge it.
    Retry {
        /// The tier.
        tier: Tier,
        /// Per-message expiry within the tier (jitter), in milliseconds.
        expiration_ms: u64,
    },
    /// Record it as dead, then acknowledge it.
    DeadLetter {
        /// Why.
        reason: &'static str,
    },
}

/// Decides for a message on its `attempt`-th try (1-based) out of `max_attempts`.
///
/// Backoff climbs one tier per attempt (10 s, 1 min, 10 min, 1 h), or starts at the first tier long
/// enough for a requested wait. Jitter takes the expiry to between 75% and 100% of the tier, so
/// messages that failed together do not all return together.
pub fn decide(
    outcome: Outcome,
    attempt: u32,
    max_attempts: u32,
    tiers: &[Tier],
    rng: &mut impl Rng,
) -> Decision {
    match outcome {
        Outcome::Done => Decision::Ack,
        Outcome::Permanent => Decision::DeadLetter {
            reason: "permanent error",
        },
        Outcome::Parked => Decision::DeadLetter {
            reason: PARKED_REASON,
        },
        Outcome::Transient { .. } if attempt >= max_attempts => Decision::DeadLetter {
            reason: "attempts exhausted",
        },
        Outcome::Transient { wait } => {
            let last = tiers.len().saturating_sub(1);
            let by_attempt = (attempt.saturating_sub(1) as usize).min(last);
            let by_wait = wait.map_or(0, |w| {
                tiers
                    .iter()
                    .position(|t| Duration::from_millis(t.millis) >= w)
                    .unwrap_or(last)
            });
            let Some(&tier) = tiers.get(by_attempt.max(by_wait)) else {
                return Decision::DeadLetter {
                    reason: "no retry tiers configured",
                };
            };
            let floor = wait.map_or(0, |w| w.as_millis() as u64).min(tier.millis);
            let jittered = rng.gen_range(tier.millis * 3 / 4..=tier.millis).max(floor);
            Decision::Retry {
                tier,
                expiration_ms: jittered,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::TIERS;

    fn retry(outcome: Outcome, attempt: u32) -> (Tier, u64) {
        match decide(outcome, attempt, 6, &TIERS, &mut rand::thread_rng()) {
            Decision::Retry {
                tier,
                expiration_ms,
            } => (tier, expiration_ms),
            other => panic!("expected a retry, got {other:?}"),
        }
    }

    #[test]
    fn done_acks_and_permanent_dead_letters_at_once() {
        let rng = &mut rand::thread_rng();
        assert_eq!(decide(Outcome::Done, 1, 6, &TIERS, rng), Decision::Ack);
        assert_eq!(
            decide(Outcome::Permanent, 1, 6, &TIERS, rng),
            Decision::DeadLetter {
                reason: "permanent error"
            }
        );
    }

    #[test]
    fn transient_failures_climb_the_tiers_with_jitter_then_dead_letter() {
        let t = Outcome::Transient { wait: None };
        let names: Vec<&str> = (1..=5).map(|a| retry(t, a).0.name).collect();
        assert_eq!(names, vec!["10s", "1m", "10m", "1h", "1h"]);
        for _ in 0..100 {
            let (_, ms) = retry(t, 1);
            assert!((7_500..=10_000).contains(&ms), "{ms}");
        }
        assert_eq!(
            decide(t, 6, 6, &TIERS, &mut rand::thread_rng()),
            Decision::DeadLetter {
                reason: "attempts exhausted"
            }
        );
    }

    #[test]
    fn a_requested_wait_picks_a_long_enough_tier_and_is_never_cut_short() {
        let (tier, ms) = retry(
            Outcome::Transient {
                wait: Some(Duration::from_secs(45)),
            },
            1,
        );
        assert_eq!(tier.name, "1m");
        assert!(ms >= 45_000, "{ms}");
    }
}
