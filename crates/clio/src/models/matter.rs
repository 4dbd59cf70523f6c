//! Matters.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;

use super::{common::lenient_id, Contact, CustomFieldValue, NamedRef, User};

/// A matter. Status reads `Open|Pending|Closed`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Matter {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag, with its literal double quotes.
    pub etag: Option<String>,
    /// Set when the token may not see this matter.
    #[serde(default)]
    pub redacted: bool,
    /// The number shown to users, such as `00012-Smith`.
    pub display_number: Option<String>,
    /// The numeric part.
    pub number: Option<i64>,
    /// Free text.
    pub description: Option<String>,
    /// Open, Pending or Closed.
    pub status: Option<MatterStatus>,
    /// When it was opened.
    pub open_date: Option<NaiveDate>,
    /// When it was pended.
    pub pending_date: Option<NaiveDate>,
    /// When it was closed.
    pub close_date: Option<NaiveDate>,
    /// Location text.
    pub location: Option<String>,
    /// Created in Clio.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// The client contact.
    pub client: Option<Contact>,
    /// Responsible attorney.
    pub responsible_attorney: Option<User>,
    /// Originating attorney.
    pub originating_attorney: Option<User>,
    /// Responsible staff.
    pub responsible_staff: Option<User>,
    /// Practice area.
    pub practice_area: Option<NamedRef>,
    /// Matter stage.
    pub matter_stage: Option<NamedRef>,
    /// Custom field values.
    pub custom_field_values: Option<Vec<CustomFieldValue>>,
}

pub use matterhook_domain::MatterStatus;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_matter_with_a_redacted_attorney() {
        let m: Matter = serde_json::from_value(serde_json::json!({
            "id": 42, "etag": "\"abc\"", "display_number": "00042-Doe", "status": "Pending",
            "open_date": "2025-01-02", "updated_at": "2025-11-07T00:29:16-05:00",
            "client": {"id": 7, "name": "Jane Doe", "primary_email_address": "jane@example.com"},
            "responsible_attorney": {"redacted": true},
            "custom_field_values": [{"id": "checkbox-12", "field_type": "checkbox", "value": true}]
        }))
        .expect("parses");
        assert_eq!(m.status, Some(MatterStatus::Pending));
        assert_eq!(
            m.client
                .as_ref()
                .and_then(|c| c.primary_email_address.as_deref()),
            Some("jane@example.com")
        );
        assert!(m.responsible_attorney.expect("present").redacted);
        assert_eq!(
            m.custom_field_values.expect("present")[0].value.as_bool(),
            Some(true)
        );
    }

    #[test]
    fn an_unknown_status_is_kept_not_guessed() {
        let m: Matter = serde_json::from_value(serde_json::json!({"id": 1, "status": "Archived"}))
            .expect("parses");
        assert_eq!(m.status, Some(MatterStatus::Other("Archived".into())));
    }
}
