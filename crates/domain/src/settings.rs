//! A connection's settings: one typed document, a section per product, each off until its user
//! turns it on. Parsing refuses unknown keys and wrong types, naming the field; [`validate`]
//! refuses out-of-range values the same way. Absent keys take their defaults.
//!
//! [`validate`]: ConnectionSettings::parse

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything a connection can be set to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectionSettings {
    /// The review platform's section.
    pub review_requests: ReviewSettings,
    /// Activity writeback's section (emails, notes, calls, cards and texts logged to Clio).
    pub writeback: crate::activity::WritebackSettings,
    /// The CRM contact feed's section.
    pub crm: crate::crm::CrmSettings,
    /// Watches' section (conflict policy, case-type mapping, automatic sync).
    pub watches: crate::watches::WatchSettings,
}

/// What moves a matter to a review request.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    strum::AsRefStr,
    strum::EnumString,
    strum::Display,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Trigger {
    /// The matter was closed.
    Closed,
    /// The matter became pending.
    Pending,
    /// The matter was opened.
    Open,
    /// Someone pressed "Send Review".
    Manual,
}

/// One of a multi-location firm's offices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// As the location picklist names it (compared trimmed, ignoring case).
    pub name: String,
    /// The review platform's id of its business listing.
    pub business_id: String,
    /// Requests for an inactive location are held back (`inactive`).
    #[serde(default = "yes")]
    pub active: bool,
    /// Its own delay, instead of the section's.
    #[serde(default)]
    pub delay_days: Option<u16>,
}

fn yes() -> bool {
    true
}

/// The review platform's section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewSettings {
    /// Off by default: nothing happens until the user turns it on.
    pub enabled: bool,
    /// What makes a request (default: closing).
    pub triggers: BTreeSet<Trigger>,
    /// The matter checkbox custom field that opts a matter out.
    pub dont_send_field: String,
    /// The matter picklist custom field naming the location; absent: a single-location firm.
    pub location_field: Option<String>,
    /// The locations, when `location_field` is set.
    pub locations: Vec<Location>,
    /// Days between the trigger and the request falling due.
    pub delay_days: u16,
    /// A client asked within this many days is not asked again, for any matter.
    pub cooldown_days: u16,
    /// A matter that entered its trigger status longer ago than this is never requested.
    pub max_age_days: u16,
    /// IANA time zone of the daily reconciliation; absent: the Clio user's.
    pub time_zone: Option<String>,
}

impl Default for ReviewSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            triggers: BTreeSet::from([Trigger::Closed]),
            dont_send_field: "Don't Send Review".into(),
            location_field: None,
            locations: Vec::new(),
            delay_days: 0,
            cooldown_days: 90,
            max_age_days: 1,
            time_zone: None,
        }
    }
}

impl ReviewSettings {
    /// Whether the "Send Review" button belongs inside Clio: review requests on, with the
    /// manual trigger.
    pub fn wants_send_review_button(&self) -> bool {
        self.enabled && self.triggers.contains(&Trigger::Manual)
    }
}

/// Why a settings document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct SettingsError {
    /// The field, as a dotted path (`review_requests.delay_days`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl SettingsError {
    /// A refusal of `field`, saying what is wrong with it.
    pub fn at(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The most locations a firm may configure.
const MAX_LOCATIONS: usize = 200;

impl ConnectionSettings {
    /// Reads and checks a whole document.
    pub fn parse(document: &Value) -> Result<Self, SettingsError> {
        if !document.is_object() {
            return Err(SettingsError::at("settings", "must be a JSON object"));
        }
        let settings: Self = serde_path_to_error::deserialize(document).map_err(|e| {
            let path = e.path().to_string();
            let message = e.inner().to_string();
            // The path names the offending key itself, an unknown one included.
            let field = if path == "." { "settings".into() } else { path };
            SettingsError::at(field, message)
        })?;
        settings.check()?;
        Ok(settings)
    }

    /// The document as stored and shown, every key present.
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn check(&self) -> Result<(), SettingsError> {
        for (kind, line) in self.writeback.subjects.all() {
            if line.chars().count() > 100 {
                return Err(SettingsError::at(
                    format!("writeback.subjects.{kind}"),
                    "must be at most 100 characters",
                ));
            }
        }
        self.check_crm()?;
        if let Some((field, message)) = self.watches.problem() {
            return Err(SettingsError::at(format!("watches.{field}"), message));
        }
        self.check_review()
    }

    fn check_crm(&self) -> Result<(), SettingsError> {
        let c = &self.crm;
        let at = |f: &str| format!("crm.{f}");
        let names = |field: &str, list: &[String]| {
            if list.len() > 100 {
                return Err(SettingsError::at(at(field), "at most 100"));
            }
            for (i, name) in list.iter().enumerate() {
                if name.trim().is_empty() || name.chars().count() > 255 {
                    return Err(SettingsError::at(
                        format!("{}[{i}]", at(field)),
                        "must be 1 to 255 characters",
                    ));
                }
            }
            Ok(())
        };
        names("segment_tags", &c.segment_tags)?;
        names("custom_field_tags", &c.custom_field_tags)?;
        names(
            "key_facts.custom_date_fields",
            &c.key_facts.custom_date_fields,
        )?;
        match (c.ownership, c.primary_user) {
            (crate::crm::Ownership::PrimaryUser, None) => Err(SettingsError::at(
                at("primary_user"),
                "ownership primary_user needs the Clio user's id",
            )),
            (crate::crm::Ownership::PrimaryUser, _) | (_, None) => Ok(()),
            (_, Some(_)) => Err(SettingsError::at(
                at("primary_user"),
                "only with ownership primary_user",
            )),
        }
    }

    fn check_review(&self) -> Result<(), SettingsError> {
        let r = &self.review_requests;
        let at = |f: &str| format!("review_requests.{f}");
        let text = |field: &str, value: &str| {
            let trimmed = value.trim();
            if trimmed.is_empty() || trimmed.chars().count() > 255 {
                return Err(SettingsError::at(at(field), "must be 1 to 255 characters"));
            }
            Ok(())
        };
        text("dont_send_field", &r.dont_send_field)?;
        if let Some(field) = &r.location_field {
            text("location_field", field)?;
        }
        if r.delay_days > 365 {
            return Err(SettingsError::at(at("delay_days"), "must be 0 to 365"));
        }
        if r.cooldown_days > 3650 {
            return Err(SettingsError::at(at("cooldown_days"), "must be 0 to 3650"));
        }
        if !(1..=3650).contains(&r.max_age_days) {
            return Err(SettingsError::at(at("max_age_days"), "must be 1 to 3650"));
        }
        if let Some(zone) = &r.time_zone {
            if zone.parse::<chrono_tz::Tz>().is_err() {
                return Err(SettingsError::at(
                    at("time_zone"),
                    format!("{zone:?} is not an IANA time zone (such as America/New_York)"),
                ));
            }
        }
        if r.locations.len() > MAX_LOCATIONS {
            return Err(SettingsError::at(
                at("locations"),
                format!("at most {MAX_LOCATIONS}"),
            ));
        }
        if !r.locations.is_empty() && r.location_field.is_none() {
            return Err(SettingsError::at(
                at("location_field"),
                "locations need the picklist field that names them",
            ));
        }
        if r.locations.is_empty() && r.location_field.is_some() {
            return Err(SettingsError::at(
                at("locations"),
                "a location field needs the locations it names (none: a single-location firm)",
            ));
        }
        let mut seen = BTreeSet::new();
        for (i, l) in r.locations.iter().enumerate() {
            let field = |f: &str| at(&format!("locations[{i}].{f}"));
            if l.name.trim().is_empty() || l.name.chars().count() > 255 {
                return Err(SettingsError::at(
                    field("name"),
                    "must be 1 to 255 characters",
                ));
            }
            if !seen.insert(location_key(&l.name)) {
                return Err(SettingsError::at(
                    field("name"),
                    format!("{:?} is configured twice", l.name.trim()),
                ));
            }
            if l.business_id.trim().is_empty() || l.business_id.chars().count() > 255 {
                return Err(SettingsError::at(
                    field("business_id"),
                    "must be 1 to 255 characters",
                ));
            }
            if l.delay_days.is_some_and(|d| d > 365) {
                return Err(SettingsError::at(field("delay_days"), "must be 0 to 365"));
            }
        }
        Ok(())
    }
}

/// How location names and custom field names compare: trimmed, ignoring case.
pub fn location_key(name: &str) -> String {
    name.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_empty_document_is_every_default_and_everything_off() {
        let s = ConnectionSettings::parse(&json!({})).expect("defaults");
        assert!(!s.review_requests.enabled);
        assert_eq!(
            s.review_requests.triggers,
            BTreeSet::from([Trigger::Closed])
        );
        assert_eq!(s.review_requests.cooldown_days, 90);
        assert_eq!(s.review_requests.max_age_days, 1);
        assert_eq!(s.review_requests.dont_send_field, "Don't Send Review");
        assert!(!s.writeback.enabled, "writeback is off until turned on");
        assert_eq!(s.writeback.types.len(), 5);
        assert_eq!(ConnectionSettings::parse(&s.to_value()), Ok(s));
    }

    #[test]
    fn refusals_name_the_field() {
        let refused = |doc: Value| ConnectionSettings::parse(&doc).expect_err("refused").field;
        assert_eq!(refused(json!({"surprise": 1})), "surprise");
        assert_eq!(
            refused(json!({"review_requests": {"enabled": true, "colour": "red"}})),
            "review_requests.colour"
        );
        assert_eq!(
            refused(json!({"review_requests": {"delay_days": "three"}})),
            "review_requests.delay_days"
        );
        assert_eq!(
            refused(json!({"review_requests": {"delay_days": 366}})),
            "review_requests.delay_days"
        );
        assert_eq!(
            refused(json!({"review_requests": {"triggers": ["closed", "archived"]}})),
            "review_requests.triggers[1]"
        );
        assert_eq!(
            refused(json!({"review_requests": {"time_zone": "Mars/Olympus"}})),
            "review_requests.time_zone"
        );
        assert_eq!(
            refused(
                json!({"review_requests": {"location_field": "Office", "locations": [
                {"name": "Boston", "business_id": "b1"},
                {"name": " boston ", "business_id": "b2"}]}})
            ),
            "review_requests.locations[1].name"
        );
        assert_eq!(
            refused(
                json!({"review_requests": {"locations": [{"name": "Boston", "business_id": "b1"}]}})
            ),
            "review_requests.location_field"
        );
        assert_eq!(
            refused(json!({"review_requests": {"location_field": "Office"}})),
            "review_requests.locations"
        );
        assert_eq!(refused(json!([1])), "settings");
        assert_eq!(
            refused(json!({"writeback": {"types": ["email", "fax"]}})),
            "writeback.types[1]"
        );
        assert_eq!(
            refused(json!({"writeback": {"subjects": {"call": "x".repeat(101)}}})),
            "writeback.subjects.call"
        );
    }
}
