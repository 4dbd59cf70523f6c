//! The `crm` section of a connection's settings.

use serde::{Deserialize, Serialize};

/// Which contacts the CRM sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// People Clio flags as clients.
    #[default]
    Clients,
    /// Every person.
    All,
    /// Clients, and people related to a matter without being its client.
    ClientsAndRelated,
}

/// Who owns a contact in the CRM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ownership {
    /// The responsible attorney of the contact's most recently updated matter.
    #[default]
    Responsible,
    /// Its originating attorney.
    Originating,
    /// Always `primary_user`.
    PrimaryUser,
}

/// How many attorneys' tags a contact gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttorneyTags {
    /// None.
    #[default]
    None,
    /// The attorney of the most recently updated matter.
    MostRecent,
    /// Every attorney of the contact's matters.
    All,
}

/// The tag options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TagOptions {
    /// `Practice Area: …` of open matters (on by default).
    pub practice_area: bool,
    /// `Related Practice Area: …` of matters the person is related to.
    pub related_practice_area: bool,
    /// `Relationship: …` (the description of each relationship to a matter).
    pub relationships: bool,
    /// `Matter Number: …` of each matter the person is the client of.
    pub matter_number: bool,
    /// `City:`, `State:`, `Postal Code:`, `Country:` of the primary address.
    pub location: bool,
    /// `Responsible Attorney: …`.
    pub responsible_attorney: AttorneyTags,
    /// `Originating Attorney: …`.
    pub originating_attorney: AttorneyTags,
}

impl Default for TagOptions {
    fn default() -> Self {
        Self {
            practice_area: true,
            related_practice_area: false,
            relationships: false,
            matter_number: false,
            location: false,
            responsible_attorney: AttorneyTags::None,
            originating_attorney: AttorneyTags::None,
        }
    }
}

/// The key facts a contact carries besides its tags.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyFacts {
    /// The date of birth, as `birthday`.
    pub birthday: bool,
    /// Contact custom fields of type date, by name.
    pub custom_date_fields: Vec<String>,
    /// The Clio id, as `clio_id`.
    pub clio_id: bool,
}

/// The `crm` section of a connection's settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrmSettings {
    /// Off by default.
    pub enabled: bool,
    /// Which contacts appear.
    pub scope: Scope,
    /// Only the primary email address.
    pub primary_email_only: bool,
    /// When not empty, only contacts carrying at least one of these tags appear.
    pub segment_tags: Vec<String>,
    /// Who owns a contact.
    pub ownership: Ownership,
    /// The owner under [`Ownership::PrimaryUser`] (a Clio user id).
    pub primary_user: Option<i64>,
    /// The owner when the rule names nobody; absent: unassigned.
    pub fallback_user: Option<i64>,
    /// Which tags.
    pub tags: TagOptions,
    /// Contact custom fields whose values become tags, by name (checkbox, currency, numeric,
    /// picklist or text fields only).
    pub custom_field_tags: Vec<String>,
    /// Key facts.
    pub key_facts: KeyFacts,
}

/// Clio's custom field types a tag can be made of.
pub const TAGGABLE_FIELD_TYPES: [&str; 6] = [
    "checkbox",
    "currency",
    "numeric",
    "picklist",
    "text_line",
    "text_area",
];

/// Why a custom field cannot be a tag (its name and type): `None` when it can.
pub fn untaggable(name: &str, field_type: &str) -> Option<String> {
    (!TAGGABLE_FIELD_TYPES.contains(&field_type)).then(|| {
        format!(
            "{name:?} is a {field_type} field; tags come from checkbox, currency, numeric, \
             picklist or text fields only"
        )
    })
}
