//! Caller lookup's rules, apart from any I/O: how a phone number's candidates make a match, how a
//! caller's matters are ordered, and whom a receptionist hands the call to.
//!
//! - Matching goes from the strongest key to the weakest: the E.164 number, then the national
//!   number; only when those find nobody (or only four digits were given) the last four digits,
//!   which are `ambiguous` unless exactly one contact has them.
//! - A caller's matters are shown open first (the most recently updated first), then pending,
//!   then closed (the most recently updated first).
//! - The call goes to the responsible staff of the open matter updated most recently, else its
//!   responsible attorney; without an open matter, to the pending one's, then the most recently
//!   closed one's; nobody on an ambiguous match.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::vocabulary::MatterStatus;

/// How a number matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// The whole number (E.164, or the national number) matched.
    Exact,
    /// Only the last four digits matched, and only one contact has them.
    Partial,
    /// The last four digits matched more than one contact.
    Ambiguous,
    /// Nobody has the number.
    None,
}

/// Which key found the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// The E.164 number.
    E164,
    /// The national number.
    National,
    /// The last four digits.
    LastFour,
}

/// The match the candidates found by `key` make (`contacts`: how many distinct contacts).
pub fn match_kind(key: Key, contacts: usize) -> MatchKind {
    match (key, contacts) {
        (_, 0) => MatchKind::None,
        (Key::E164 | Key::National, _) => MatchKind::Exact,
        (Key::LastFour, 1) => MatchKind::Partial,
        (Key::LastFour, _) => MatchKind::Ambiguous,
    }
}

/// The keys to try for a number, in order: the whole number's while it has more than four
/// digits, the last four always last.
pub fn keys_for(digits: usize) -> &'static [Key] {
    if digits > 4 {
        &[Key::E164, Key::National, Key::LastFour]
    } else {
        &[Key::LastFour]
    }
}

/// A number as logs and metrics may show it: its last four digits at most.
pub fn masked(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let tail: String = digits[digits.len().saturating_sub(4)..].iter().collect();
    format!("…{tail}")
}

/// A Clio user a matter names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staff {
    /// Clio user id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
}

/// A caller's matter, as far as the rules care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerMatter {
    /// Clio id.
    pub id: i64,
    /// Its status.
    pub status: Option<MatterStatus>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<Utc>>,
    /// Responsible staff.
    pub responsible_staff: Option<Staff>,
    /// Responsible attorney.
    pub responsible_attorney: Option<Staff>,
}

fn rank(m: &CallerMatter) -> u8 {
    match m.status {
        Some(MatterStatus::Open) => 0,
        Some(MatterStatus::Pending) => 1,
        Some(MatterStatus::Closed) => 2,
        _ => 3,
    }
}

/// Orders a caller's matters for the receptionist: open, pending, closed, each most recently
/// updated first (ties: the higher id).
pub fn order(matters: &mut [CallerMatter]) {
    matters.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| b.updated_at.cmp(&a.updated_at))
            .then_with(|| b.id.cmp(&a.id))
    });
}

/// Whom to hand the call to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Transfer {
    /// The staff member, or nobody.
    pub to: Option<Staff>,
    /// Why: which matter and role decided, or why nobody.
    pub reason: String,
}

/// Whom a caller with `matters` is handed to (`ambiguous`: the number matched several contacts,
/// so nobody is named).
pub fn transfer_to(matters: &[CallerMatter], ambiguous: bool) -> Transfer {
    if ambiguous {
        return Transfer {
            to: None,
            reason: "the number matches more than one contact: ask who is calling".into(),
        };
    }
    let mut ordered = matters.to_vec();
    order(&mut ordered);
    let Some(decider) = ordered.first() else {
        return Transfer {
            to: None,
            reason: "the caller has no matter".into(),
        };
    };
    let which = match decider.status {
        Some(MatterStatus::Open) => "the most recently updated open matter",
        Some(MatterStatus::Pending) => "the pending matter (no open one)",
        Some(MatterStatus::Closed) => "the most recently closed matter (no open or pending one)",
        _ => "the caller's matter",
    };
    match (&decider.responsible_staff, &decider.responsible_attorney) {
        (Some(staff), _) => Transfer {
            to: Some(staff.clone()),
            reason: format!("responsible staff of {which} ({})", decider.id),
        },
        (None, Some(attorney)) => Transfer {
            to: Some(attorney.clone()),
            reason: format!(
                "responsible attorney of {which} ({}), which has no responsible staff",
                decider.id
            ),
        },
        (None, None) => Transfer {
            to: None,
            reason: format!(
                "{which} ({}) has neither responsible staff nor a responsible attorney",
                decider.id
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn staff(id: i64) -> Option<Staff> {
        Some(Staff {
            id,
            name: Some(format!("Staff {id}")),
        })
    }

    fn matter(id: i64, status: MatterStatus, day: u32) -> CallerMatter {
        CallerMatter {
            id,
            status: Some(status),
            updated_at: Utc.with_ymd_and_hms(2026, 11, day, 9, 0, 0).single(),
            responsible_staff: staff(100 + id),
            responsible_attorney: staff(200 + id),
        }
    }

    #[test]
    fn whole_numbers_match_exactly_and_four_digits_only_when_one_contact_has_them() {
        assert_eq!(match_kind(Key::E164, 2), MatchKind::Exact);
        assert_eq!(match_kind(Key::National, 1), MatchKind::Exact);
        assert_eq!(match_kind(Key::LastFour, 1), MatchKind::Partial);
        assert_eq!(match_kind(Key::LastFour, 2), MatchKind::Ambiguous);
        assert_eq!(match_kind(Key::E164, 0), MatchKind::None);
        assert_eq!(keys_for(10), &[Key::E164, Key::National, Key::LastFour]);
        assert_eq!(keys_for(4), &[Key::LastFour]);
    }

    #[test]
    fn open_matters_come_first_and_the_latest_open_one_decides() {
        let mut ms = vec![
            matter(1, MatterStatus::Closed, 20),
            matter(2, MatterStatus::Open, 3),
            matter(3, MatterStatus::Pending, 25),
            matter(4, MatterStatus::Open, 9),
        ];
        order(&mut ms);
        assert_eq!(
            ms.iter().map(|m| m.id).collect::<Vec<_>>(),
            vec![4, 2, 3, 1]
        );
        let t = transfer_to(&ms, false);
        assert_eq!(t.to, staff(104));
        assert!(t.reason.contains("open matter"), "{}", t.reason);
    }

    #[test]
    fn without_staff_the_attorney_then_pending_then_the_latest_closed_decide() {
        let mut open = matter(1, MatterStatus::Open, 5);
        open.responsible_staff = None;
        assert_eq!(transfer_to(&[open], false).to, staff(201));
        let closed = [
            matter(5, MatterStatus::Closed, 2),
            matter(6, MatterStatus::Closed, 8),
        ];
        let t = transfer_to(&closed, false);
        assert_eq!(t.to, staff(106));
        assert!(t.reason.contains("closed"), "{}", t.reason);
        let pending = [
            matter(7, MatterStatus::Pending, 1),
            matter(8, MatterStatus::Closed, 9),
        ];
        assert_eq!(transfer_to(&pending, false).to, staff(107));
    }

    #[test]
    fn nobody_is_named_when_ambiguous_or_without_matters_or_people() {
        let t = transfer_to(&[matter(1, MatterStatus::Open, 1)], true);
        assert_eq!(t.to, None);
        assert!(t.reason.contains("more than one contact"));
        assert_eq!(transfer_to(&[], false).to, None);
        let mut bare = matter(2, MatterStatus::Open, 1);
        bare.responsible_staff = None;
        bare.responsible_attorney = None;
        let t = transfer_to(&[bare], false);
        assert_eq!(t.to, None);
        assert!(t.reason.contains("neither"), "{}", t.reason);
    }

    #[test]
    fn logs_see_the_last_four_digits_at_most() {
        assert_eq!(masked("+1 (555) 123-4567"), "…4567");
        assert_eq!(masked("12"), "…12");
    }
}
