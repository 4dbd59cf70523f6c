//! What a linked matter's status means for its referral.

use chrono::{DateTime, Utc};

/// A referral's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferralStatus {
    /// Still in play.
    Open,
    /// Became work: the matter was closed.
    Won,
    /// Did not become work (set by the user).
    Lost,
}

impl ReferralStatus {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReferralStatus::Open => "open",
            ReferralStatus::Won => "won",
            ReferralStatus::Lost => "lost",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(ReferralStatus::Open),
            "won" => Some(ReferralStatus::Won),
            "lost" => Some(ReferralStatus::Lost),
            _ => None,
        }
    }
}

/// The referral status a matter status implies: Open and Pending keep it open, Closed wins it.
/// A status Clio may add later implies nothing.
pub fn implied_by(matter_status: &str) -> Option<ReferralStatus> {
    match matter_status.trim().to_ascii_lowercase().as_str() {
        "open" | "pending" => Some(ReferralStatus::Open),
        "closed" => Some(ReferralStatus::Won),
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
    matter_status: &str,
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

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).expect("time")
    }

    #[test]
    fn closed_wins_open_and_pending_keep_open() {
        let won = apply(ReferralStatus::Open, None, "Closed", at(10)).expect("a change");
        assert_eq!(won.to, ReferralStatus::Won);
        assert_eq!(won.timeline, "Status changed to won (synced from Clio)");
        assert_eq!(apply(ReferralStatus::Open, None, "Pending", at(10)), None);
        let reopened = apply(ReferralStatus::Won, Some(at(5)), "Open", at(10)).expect("change");
        assert_eq!(reopened.to, ReferralStatus::Open);
        assert_eq!(apply(ReferralStatus::Open, None, "Archived", at(10)), None);
    }

    #[test]
    fn an_older_event_does_not_overwrite_a_newer_change() {
        assert_eq!(
            apply(ReferralStatus::Won, Some(at(20)), "Open", at(10)),
            None
        );
        assert!(apply(ReferralStatus::Won, Some(at(20)), "Open", at(20)).is_some());
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            ReferralStatus::Open,
            ReferralStatus::Won,
            ReferralStatus::Lost,
        ] {
            assert_eq!(ReferralStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ReferralStatus::parse("maybe"), None);
    }
}
