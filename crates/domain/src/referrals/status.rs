//! What a linked matter's status means for its referral.

use chrono::{DateTime, Utc};

use crate::vocabulary::MatterStatus;
pub use crate::vocabulary::ReferralStatus;

/// The referral status a matter status implies: Open and Pending keep it open, Closed wins it.
/// A status Clio may add later implies nothing.
pub fn implied_by(matter_status: &MatterStatus) -> Option<ReferralStatus> {
    match matter_status {
        s if s.is_open_or_pending() => Some(ReferralStatus::Open),
        MatterStatus::Closed => Some(ReferralStatus::Won),
        _ => None,
    }
}

/// A change to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The new status.
    pub to: ReferralStatus,
    /// The timeline entry.
    pub timeline: String,
}

/// Applies a matter status seen at `seen_at` to a referral that is `current` since `changed_at`.
/// An event older than the referral's last change does not overwrite it; the same status
/// changes nothing.
pub fn apply(
    current: ReferralStatus,
    changed_at: Option<DateTime<Utc>>,
    matter_status: &MatterStatus,
    seen_at: DateTime<Utc>,
) -> Option<Change> {
    let to = implied_by(matter_status)?;
    if changed_at.is_some_and(|c| seen_at < c) || to == current {
        return None;
    }
    Some(Change {
        to,
        timeline: format!("Status changed to {} (synced from Clio)", to.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(s: &str) -> MatterStatus {
        MatterStatus::parse(s)
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).expect("time")
    }

    #[test]
    fn closed_wins_open_and_pending_keep_open() {
        let won = apply(ReferralStatus::Open, None, &st("Closed"), at(10)).expect("a change");
        assert_eq!(won.to, ReferralStatus::Won);
        assert_eq!(won.timeline, "Status changed to won (synced from Clio)");
        assert_eq!(
            apply(ReferralStatus::Open, None, &st("Pending"), at(10)),
            None
        );
        let reopened =
            apply(ReferralStatus::Won, Some(at(5)), &st("Open"), at(10)).expect("change");
        assert_eq!(reopened.to, ReferralStatus::Open);
        assert_eq!(
            apply(ReferralStatus::Open, None, &st("Archived"), at(10)),
            None
        );
    }

    #[test]
    fn an_older_event_does_not_overwrite_a_newer_change() {
        assert_eq!(
            apply(ReferralStatus::Won, Some(at(20)), &st("Open"), at(10)),
            None
        );
        assert!(apply(ReferralStatus::Won, Some(at(20)), &st("Open"), at(20)).is_some());
    }
}
