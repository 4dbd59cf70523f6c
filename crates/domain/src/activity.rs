//! Activity writeback's rules, apart from any I/O: what a posted activity must be, and the one
//! Clio record each kind becomes.
//!
//! - Email, note, call and card become a **Note** on the contact (`type: Contact`): the subject
//!   names the kind (the connection's subject line for it, then the activity's own subject), the
//!   detail is the body, the date is the day it happened in the firm's time zone.
//! - A text becomes a **PhoneCommunication** on the contact's communication log (Clio has Email-
//!   and PhoneCommunication; a text message travels by phone number, so it is the phone kind):
//!   outbound, the connection's Clio user sends and the contact receives; inbound, the reverse.
//!
//! Every written record ends with a [`marker`] naming the activity: Clio has no idempotency key,
//! so after a write whose answer was lost the worker looks for the marker among the contact's
//! records before writing again, and adopts what it finds.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

pub use crate::vocabulary::{ActivityDirection, ActivityState, ActivityType};

impl ActivityType {
    /// Whether it went somewhere: email, call and text have a direction; note and card do not.
    pub fn has_direction(self) -> bool {
        matches!(
            self,
            ActivityType::Email | ActivityType::Call | ActivityType::Text
        )
    }
}

/// An activity as posted, before it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// Its kind.
    pub kind: ActivityType,
    /// Its subject.
    pub subject: String,
    /// Its text.
    pub body: String,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// Which way it went (email, call and text only).
    pub direction: Option<ActivityDirection>,
}

/// The longest subject Clio keeps.
pub const MAX_SUBJECT_CHARS: usize = 255;
/// The longest body we send: Clio stores a note's detail and a communication's body as text of
/// at most 65,535 bytes; the marker needs room at its end.
pub const MAX_BODY_BYTES: usize = 65_535 - MARKER_ROOM;
/// Bytes kept free at the end of a body for the [`marker`].
const MARKER_ROOM: usize = 64;
/// How far ahead of now an activity may say it happened (clocks disagree; a day is generous).
pub const MAX_FUTURE: Duration = Duration::days(1);

/// Why an activity is refused: the field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Refused {
    /// The field.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

fn refused(field: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        field,
        message: message.into(),
    }
}

impl Activity {
    /// Checks the activity as `now` sees it: a subject of 1 to 255 characters and a body of 1 to
    /// [`MAX_BODY_BYTES`] bytes (neither blank), a time no further ahead than a day, and a
    /// direction exactly when the kind has one.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Refused> {
        let subject = self.subject.trim();
        if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(refused(
                "subject",
                format!("must be 1 to {MAX_SUBJECT_CHARS} characters"),
            ));
        }
        if self.body.trim().is_empty() {
            return Err(refused("body", "must not be empty"));
        }
        if self.body.len() > MAX_BODY_BYTES {
            return Err(refused(
                "body",
                format!("must be at most {MAX_BODY_BYTES} bytes (Clio's limit)"),
            ));
        }
        if self.occurred_at > now + MAX_FUTURE {
            return Err(refused(
                "occurred_at",
                "must not be more than a day in the future",
            ));
        }
        match (self.kind.has_direction(), self.direction) {
            (true, None) => Err(refused(
                "direction",
                format!(
                    "a{} {} needs inbound or outbound",
                    article(self.kind),
                    self.kind
                ),
            )),
            (false, Some(_)) => Err(refused(
                "direction",
                format!("a{} {} has no direction", article(self.kind), self.kind),
            )),
            _ => Ok(()),
        }
    }
}

fn article(kind: ActivityType) -> &'static str {
    if kind == ActivityType::Email {
        "n"
    } else {
        ""
    }
}

/// The `writeback` section of a connection's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WritebackSettings {
    /// Off by default: a connection that never turned writeback on never writes to Clio.
    pub enabled: bool,
    /// The kinds written (an activity of another kind is `skipped`).
    pub types: BTreeSet<ActivityType>,
    /// The subject line each kind's record starts with.
    pub subjects: Subjects,
}

impl Default for WritebackSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            types: [
                ActivityType::Email,
                ActivityType::Note,
                ActivityType::Call,
                ActivityType::Card,
                ActivityType::Text,
            ]
            .into(),
            subjects: Subjects::default(),
        }
    }
}

/// Why the connection's writeback settings keep an activity of `kind` out of Clio, if they do:
/// writeback turned off (the default), or the kind not among `types`.
pub fn skip_reason(settings: &WritebackSettings, kind: ActivityType) -> Option<String> {
    if !settings.enabled {
        return Some("writeback is turned off for this connection".into());
    }
    if !settings.types.contains(&kind) {
        return Some(format!(
            "writing {kind} activities is turned off for this connection"
        ));
    }
    None
}

/// The subject line per kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Subjects {
    /// Emails.
    pub email: String,
    /// Notes.
    pub note: String,
    /// Calls.
    pub call: String,
    /// Cards.
    pub card: String,
    /// Texts.
    pub text: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self {
            email: "Email".into(),
            note: "Note".into(),
            call: "Call".into(),
            card: "Card".into(),
            text: "Text message".into(),
        }
    }
}

impl Subjects {
    /// The line for `kind`.
    pub fn of(&self, kind: ActivityType) -> &str {
        match kind {
            ActivityType::Email => &self.email,
            ActivityType::Note => &self.note,
            ActivityType::Call => &self.call,
            ActivityType::Card => &self.card,
            ActivityType::Text => &self.text,
        }
    }

    /// Every kind with its line, for validation.
    pub fn all(&self) -> [(ActivityType, &str); 5] {
        [
            ActivityType::Email,
            ActivityType::Note,
            ActivityType::Call,
            ActivityType::Card,
            ActivityType::Text,
        ]
        .map(|k| (k, self.of(k)))
    }
}

/// Who took part in a communication, as Clio names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    /// The connection's Clio user.
    User(i64),
    /// The contact.
    Contact(i64),
}

/// The one Clio record an activity becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClioRecord {
    /// A Note on the contact.
    ContactNote {
        /// The contact.
        contact_id: i64,
        /// Subject line.
        subject: String,
        /// Body, ending with the marker.
        detail: String,
        /// The day it happened, in the firm's time zone.
        date: NaiveDate,
    },
    /// A PhoneCommunication on the contact's log.
    PhoneCommunication {
        /// Subject line.
        subject: String,
        /// Body, ending with the marker.
        body: String,
        /// When it happened.
        received_at: DateTime<Utc>,
        /// The matter, when the activity named one.
        matter_id: Option<i64>,
        /// Who sent it.
        sender: Party,
        /// Who received it.
        receiver: Party,
    },
}

/// Where an activity goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination {
    /// The Clio contact.
    pub contact_id: i64,
    /// The matter, if any.
    pub matter_id: Option<i64>,
    /// The connection's Clio user (a communication's other party).
    pub clio_user_id: i64,
}

/// The marker that ends every record written for activity `activity_id`: stable (the same
/// activity always gets the same one) and unlikely in anyone's own text.
pub fn marker(activity_id: i64) -> String {
    format!("[matterhook activity {activity_id}]")
}

/// Whether `text` (a note's detail, a communication's body) carries activity `activity_id`'s
/// marker: what adopting a lost write looks for.
pub fn carries_marker(text: &str, activity_id: i64) -> bool {
    text.trim_end().ends_with(&marker(activity_id))
}

/// The Clio record `activity` (number `activity_id`, already [checked](Activity::check)) becomes,
/// with the connection's `subjects` and the firm's time zone.
pub fn to_clio(
    activity: &Activity,
    activity_id: i64,
    to: Destination,
    subjects: &Subjects,
    zone: chrono_tz::Tz,
) -> ClioRecord {
    let line = subjects.of(activity.kind).trim();
    let own = activity.subject.trim();
    let subject = if line.is_empty() {
        own.to_owned()
    } else {
        truncate(&format!("{line}: {own}"), MAX_SUBJECT_CHARS)
    };
    let text = format!("{}\n\n{}", activity.body.trim_end(), marker(activity_id));
    match activity.kind {
        ActivityType::Text => {
            let (sender, receiver) = match activity.direction {
                Some(ActivityDirection::Inbound) => {
                    (Party::Contact(to.contact_id), Party::User(to.clio_user_id))
                }
                _ => (Party::User(to.clio_user_id), Party::Contact(to.contact_id)),
            };
            ClioRecord::PhoneCommunication {
                subject,
                body: text,
                received_at: activity.occurred_at,
                matter_id: to.matter_id,
                sender,
                receiver,
            }
        }
        ActivityType::Email | ActivityType::Note | ActivityType::Call | ActivityType::Card => {
            ClioRecord::ContactNote {
                contact_id: to.contact_id,
                subject,
                detail: text,
                date: activity.occurred_at.with_timezone(&zone).date_naive(),
            }
        }
    }
}

/// At most `max` characters, cut on a character boundary.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn activity(kind: ActivityType) -> Activity {
        Activity {
            kind,
            subject: "Intake follow-up".into(),
            body: "Discussed the lease.".into(),
            occurred_at: Utc
                .with_ymd_and_hms(2026, 11, 28, 3, 30, 0)
                .single()
                .expect("time"),
            direction: kind.has_direction().then_some(ActivityDirection::Outbound),
        }
    }

    const TO: Destination = Destination {
        contact_id: 7,
        matter_id: Some(9),
        clio_user_id: 3,
    };

    #[test]
    fn four_kinds_become_a_contact_note_dated_in_the_firms_zone() {
        for kind in [
            ActivityType::Email,
            ActivityType::Note,
            ActivityType::Call,
            ActivityType::Card,
        ] {
            let record = to_clio(
                &activity(kind),
                42,
                TO,
                &Subjects::default(),
                chrono_tz::America::New_York,
            );
            let ClioRecord::ContactNote {
                contact_id,
                subject,
                detail,
                date,
            } = record
            else {
                panic!("{kind} is a note");
            };
            assert_eq!(contact_id, 7);
            assert!(subject.ends_with(": Intake follow-up"), "{subject}");
            // 03:30 UTC on the 28th is still the 27th in New York.
            assert_eq!(date, NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"));
            assert!(detail.starts_with("Discussed the lease."));
            assert!(carries_marker(&detail, 42) && !carries_marker(&detail, 4));
        }
    }

    #[test]
    fn a_text_is_a_phone_communication_between_the_user_and_the_contact() {
        let out = to_clio(
            &activity(ActivityType::Text),
            5,
            TO,
            &Subjects::default(),
            chrono_tz::UTC,
        );
        let ClioRecord::PhoneCommunication {
            sender,
            receiver,
            matter_id,
            subject,
            ..
        } = out
        else {
            panic!("a text is a communication");
        };
        assert_eq!(
            (sender, receiver, matter_id),
            (Party::User(3), Party::Contact(7), Some(9))
        );
        assert_eq!(subject, "Text message: Intake follow-up");
        let mut inbound = activity(ActivityType::Text);
        inbound.direction = Some(ActivityDirection::Inbound);
        let ClioRecord::PhoneCommunication {
            sender, receiver, ..
        } = to_clio(&inbound, 5, TO, &Subjects::default(), chrono_tz::UTC)
        else {
            panic!("a text is a communication");
        };
        assert_eq!((sender, receiver), (Party::Contact(7), Party::User(3)));
    }

    #[test]
    fn nothing_is_written_unless_writeback_and_the_kind_are_on() {
        let mut settings = WritebackSettings::default();
        assert!(skip_reason(&settings, ActivityType::Note)
            .is_some_and(|r| r.contains("writeback is turned off")));
        settings.enabled = true;
        assert_eq!(skip_reason(&settings, ActivityType::Note), None);
        settings.types.remove(&ActivityType::Card);
        assert!(skip_reason(&settings, ActivityType::Card).is_some_and(|r| r.contains("card")));
        assert_eq!(skip_reason(&settings, ActivityType::Text), None);
    }

    #[test]
    fn refusals_name_the_field() {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .expect("time");
        let field = |a: Activity| a.check(now).expect_err("refused").field;
        let mut a = activity(ActivityType::Note);
        assert_eq!(a.check(now), Ok(()));
        a.subject = "  ".into();
        assert_eq!(field(a), "subject");
        let mut a = activity(ActivityType::Note);
        a.body = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(field(a), "body");
        let mut a = activity(ActivityType::Note);
        a.body = "\n".into();
        assert_eq!(field(a), "body");
        let mut a = activity(ActivityType::Call);
        a.occurred_at = now + Duration::hours(25);
        assert_eq!(field(a), "occurred_at");
        let mut a = activity(ActivityType::Call);
        a.direction = None;
        assert_eq!(field(a), "direction");
        let mut a = activity(ActivityType::Card);
        a.direction = Some(ActivityDirection::Inbound);
        assert_eq!(field(a), "direction");
    }

    #[test]
    fn a_long_subject_is_cut_to_clios_limit_on_a_character_boundary() {
        let mut a = activity(ActivityType::Note);
        a.subject = "é".repeat(MAX_SUBJECT_CHARS);
        let ClioRecord::ContactNote { subject, .. } =
            to_clio(&a, 1, TO, &Subjects::default(), chrono_tz::UTC)
        else {
            panic!("a note");
        };
        assert_eq!(subject.chars().count(), MAX_SUBJECT_CHARS);
    }
}
