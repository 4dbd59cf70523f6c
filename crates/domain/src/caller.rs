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
use phonenumber::country::Id as Country;
use serde::Serialize;

use crate::{
    contact_points::{normalise_phone, parse_number, Phone},
    vocabulary::MatterStatus,
};

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

/// What a number typed by a caller (or a receptionist's system) is looked up by: the forms of
/// [`normalise_phone`], widened so that a number the phone metadata does not know (a 555 number,
/// a new area code) still finds its stored twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryForms {
    /// E.164 forms to try first.
    pub e164: Vec<String>,
    /// National forms to try next: the parsed national number, and every digit typed.
    pub national: Vec<String>,
    /// The last four digits.
    pub last_four: String,
    /// How many digits were typed.
    pub digits: usize,
}

/// Why a looked-up number is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneQueryError {
    /// Characters a phone number does not have.
    #[error("phone may hold only digits, spaces and + - . ( ) /")]
    Characters,
    /// Fewer than four digits, or more than any phone number has.
    #[error("phone must have between 4 and 17 digits")]
    Digits,
}

/// The forms `raw` is looked up by, read as a number of `country` unless it names its own.
pub fn query_forms(raw: &str, country: Option<Country>) -> Result<QueryForms, PhoneQueryError> {
    let raw = raw.trim();
    if !raw
        .chars()
        .all(|c| c.is_ascii_digit() || " +-.()/".contains(c))
    {
        return Err(PhoneQueryError::Characters);
    }
    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
    if !(4..=17).contains(&digits.len()) {
        return Err(PhoneQueryError::Digits);
    }
    let last_four = digits[digits.len() - 4..].to_owned();
    let mut forms = QueryForms {
        e164: Vec::new(),
        national: Vec::new(),
        last_four,
        digits: digits.len(),
    };
    if digits.len() <= 4 {
        return Ok(forms);
    }
    if let Some(p) = normalise_phone(raw, country) {
        forms.e164.extend(p.e164);
        forms.national.push(p.national);
    }
    // The number as the metadata parses it, valid or not: `+1 555 123 4567` is stored from
    // `(555) 123-4567` as its ten digits, and the metadata does not call it valid.
    if let Some(number) = parse_number(raw, country) {
        forms.national.push(number.national().value().to_string());
        forms.e164.push(format!(
            "+{}{}",
            number.code().value(),
            number.national().value()
        ));
    }
    forms.national.push(digits);
    forms.e164.sort();
    forms.e164.dedup();
    let mut seen = std::collections::HashSet::new();
    forms.national.retain(|n| seen.insert(n.clone()));
    Ok(forms)
}

/// Which key of `forms` a stored number matches, if any (the strongest): how the live fallback
/// confirms Clio's text search locally, by the rules the mirror's index follows.
pub fn key_matching(stored: &Phone, forms: &QueryForms) -> Option<Key> {
    if forms.digits > 4 {
        if stored.e164.as_ref().is_some_and(|e| forms.e164.contains(e)) {
            return Some(Key::E164);
        }
        if forms.national.contains(&stored.national) {
            return Some(Key::National);
        }
    }
    (stored.last_four == forms.last_four).then_some(Key::LastFour)
}

/// A Clio user a matter names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Staff {
    /// Clio user id.
    pub id: i64,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone number, as typed in Clio.
    pub phone: Option<String>,
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

/// Which of two matters a receptionist sees first: open, pending, closed, each most recently
/// updated first (ties: the higher id).
pub fn precedence(a: &CallerMatter, b: &CallerMatter) -> std::cmp::Ordering {
    rank(a)
        .cmp(&rank(b))
        .then_with(|| b.updated_at.cmp(&a.updated_at))
        .then_with(|| b.id.cmp(&a.id))
}

/// Orders a caller's matters by [`precedence`].
pub fn order(matters: &mut [CallerMatter]) {
    matters.sort_by(precedence);
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
            email: None,
            phone: None,
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
    fn a_number_in_any_spelling_finds_its_stored_twin() {
        let stored = normalise_phone("(555) 123-4567", Some(Country::US)).expect("stored");
        for typed in [
            "+15551234567",
            "555.123.4567",
            "5551234567",
            "1-555-123-4567",
        ] {
            let forms = query_forms(typed, Some(Country::US)).expect(typed);
            assert!(
                matches!(
                    key_matching(&stored, &forms),
                    Some(Key::E164 | Key::National)
                ),
                "{typed}: {forms:?} against {stored:?}"
            );
        }
        let valid = normalise_phone("+1 (415) 555-2671", None).expect("stored");
        let forms = query_forms("415 555 2671", Some(Country::US)).expect("typed");
        assert_eq!(key_matching(&valid, &forms), Some(Key::E164));
        let other = query_forms("555-000-4567", Some(Country::US)).expect("typed");
        assert_eq!(key_matching(&stored, &other), Some(Key::LastFour));
        let four = query_forms("4567", None).expect("four digits");
        assert!(four.e164.is_empty() && four.national.is_empty());
        assert_eq!(key_matching(&stored, &four), Some(Key::LastFour));
    }

    #[test]
    fn numbers_that_are_not_numbers_are_refused() {
        assert_eq!(query_forms("123", None), Err(PhoneQueryError::Digits));
        assert_eq!(
            query_forms("12345678901234567890", None),
            Err(PhoneQueryError::Digits)
        );
        assert_eq!(
            query_forms("555-1234; DROP", None),
            Err(PhoneQueryError::Characters)
        );
        assert_eq!(query_forms("", None), Err(PhoneQueryError::Digits));
    }

    #[test]
    fn logs_see_the_last_four_digits_at_most() {
        assert_eq!(masked("+1 (555) 123-4567"), "…4567");
        assert_eq!(masked("12"), "…12");
    }
}
