//! The CRM contact feed's rules, apart from any I/O: which of a firm's Clio contacts a connection's
//! relationship-marketing CRM sees, and how each is projected (tags, owner, key facts).
//!
//! - Only people are contacts; a company never is. A person who is the contact person of a
//!   company client is tagged `Company`, any other `Personal`; every contact is tagged `Clio` and
//!   `Person`.
//! - Client status, from the matters the person is the client of: `Active Client` (one open),
//!   `Pending Client` (none open, one pending), `Past Client` (only closed), `Client` (matters in
//!   no known status). A person with no matter has no client status.
//! - Tags are `Name` or `Kind: value`, so a CRM can segment on them: `Practice Area: …` (open
//!   matters), `Related Practice Area: …` (matters the person is related to), `Relationship: …`,
//!   `Matter Number: …`, `Matter Stage: …` (the stage, else the status), `City:`/`State:`/
//!   `Postal Code:`/`Country:` (the primary address), `Responsible Attorney: …`,
//!   `Originating Attorney: …`, and custom fields (`Field` for a ticked checkbox, `Field: value`
//!   otherwise).
//! - The owner is the responsible (or originating) attorney of the person's most recently updated
//!   matter, or a fixed user, else the fallback user, else nobody.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::vocabulary::MatterStatus;

mod settings;

pub use settings::{
    untaggable, AttorneyTags, CrmSettings, KeyFacts, Ownership, Scope, TagOptions,
    TAGGABLE_FIELD_TYPES,
};

/// A Clio user as a matter names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attorney {
    /// Clio user id.
    pub id: i64,
    /// Name.
    pub name: String,
}

/// A matter, as far as the projection cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatterFacts {
    /// Clio id.
    pub id: i64,
    /// `00001-Doe`.
    pub display_number: Option<String>,
    /// Its status.
    pub status: Option<MatterStatus>,
    /// Its stage's name.
    pub stage: Option<String>,
    /// Its practice area's name.
    pub practice_area: Option<String>,
    /// Responsible attorney.
    pub responsible: Option<Attorney>,
    /// Originating attorney.
    pub originating: Option<Attorney>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<Utc>>,
    /// Created in Clio.
    pub created_at: Option<DateTime<Utc>>,
}

/// A matter a person is related to (not its client), with the relationship's description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The matter.
    pub matter: MatterFacts,
    /// `Opposing Counsel`, `Spouse`, ...
    pub description: Option<String>,
}

/// An email address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub address: String,
    /// Clio's `primary`.
    pub primary: bool,
}

/// A phone number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    /// As Clio holds it.
    pub number: String,
    /// Work, Home, Mobile, ...
    pub name: Option<String>,
    /// Clio's `primary`.
    pub primary: bool,
}

/// A postal address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Address {
    /// Work, Home, Billing, Other.
    pub name: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// State or province.
    pub province: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// A custom field's value on the contact.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomValue {
    /// The field's name.
    pub name: String,
    /// Clio's field type.
    pub field_type: String,
    /// The value as Clio gave it (string, number, bool or null).
    pub value: serde_json::Value,
}

/// A Clio contact and what it takes part in.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFacts {
    /// Clio id.
    pub id: i64,
    /// A person (a company is never a CRM contact).
    pub is_person: bool,
    /// Names.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// The whole name as Clio shows it.
    pub name: Option<String>,
    /// Clio's `is_client`.
    pub is_client: bool,
    /// Email addresses, in Clio's order.
    pub emails: Vec<Email>,
    /// Phone numbers, in Clio's order, with Clio's primary flag.
    pub phones: Vec<Phone>,
    /// Addresses, in Clio's order (the first listed is the primary).
    pub addresses: Vec<Address>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Custom field values.
    pub custom_fields: Vec<CustomValue>,
    /// The person is the contact person of a company that is a client.
    pub company_client: bool,
    /// Matters the person is the client of.
    pub matters: Vec<MatterFacts>,
    /// Matters the person is related to.
    pub related: Vec<Related>,
}

/// A client's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientStatus {
    /// At least one open matter.
    #[serde(rename = "Active Client")]
    Active,
    /// No open matter, at least one pending.
    #[serde(rename = "Pending Client")]
    Pending,
    /// Only closed matters.
    #[serde(rename = "Past Client")]
    Past,
    /// Matters, none in a known status.
    #[serde(rename = "Client")]
    Client,
}

impl ClientStatus {
    /// Its tag.
    pub fn tag(self) -> &'static str {
        match self {
            ClientStatus::Active => "Active Client",
            ClientStatus::Pending => "Pending Client",
            ClientStatus::Past => "Past Client",
            ClientStatus::Client => "Client",
        }
    }
}

/// A contact as the CRM sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmContact {
    /// Clio id.
    pub id: i64,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Whole name.
    pub name: Option<String>,
    /// Email addresses, the primary first (only it, when so set).
    pub emails: Vec<String>,
    /// Phone numbers, the primary first.
    pub phones: Vec<Phone>,
    /// Addresses, the first the primary.
    pub addresses: Vec<Address>,
    /// Its standing as a client.
    pub client_status: Option<ClientStatus>,
    /// Tags, sorted.
    pub tags: BTreeSet<String>,
    /// The owning Clio user.
    pub owner: Option<i64>,
    /// Key facts by name (`birthday`, `clio_id`, custom date fields).
    pub facts: BTreeMap<String, String>,
}

/// The client status of matters in these statuses.
pub fn client_status(matters: &[MatterFacts]) -> Option<ClientStatus> {
    if matters.is_empty() {
        return None;
    }
    let has = |s: MatterStatus| matters.iter().any(|m| m.status.as_ref() == Some(&s));
    Some(if has(MatterStatus::Open) {
        ClientStatus::Active
    } else if has(MatterStatus::Pending) {
        ClientStatus::Pending
    } else if matters
        .iter()
        .all(|m| m.status.as_ref() == Some(&MatterStatus::Closed))
    {
        ClientStatus::Past
    } else {
        ClientStatus::Client
    })
}

/// The most recently updated of `matters` (ties: the higher id).
fn most_recent<'a>(matters: impl Iterator<Item = &'a MatterFacts>) -> Option<&'a MatterFacts> {
    matters.max_by_key(|m| (m.updated_at, m.id))
}

fn status_name(s: &MatterStatus) -> String {
    match s {
        MatterStatus::Open => "Open".into(),
        MatterStatus::Pending => "Pending".into(),
        MatterStatus::Closed => "Closed".into(),
        other => other.to_string(),
    }
}

fn clean(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// The contact as `settings` project it; `None` when it does not appear (a company, out of scope,
/// outside the segment).
pub fn project(c: &ContactFacts, settings: &CrmSettings) -> Option<CrmContact> {
    if !c.is_person {
        return None;
    }
    let in_scope = match settings.scope {
        Scope::Clients => c.is_client,
        Scope::All => true,
        Scope::ClientsAndRelated => c.is_client || !c.related.is_empty(),
    };
    if !in_scope {
        return None;
    }
    let status = client_status(&c.matters);
    let mut tags = BTreeSet::from(["Clio".to_owned(), "Person".to_owned()]);
    tags.insert(
        if c.company_client {
            "Company"
        } else {
            "Personal"
        }
        .to_owned(),
    );
    if let Some(s) = status {
        tags.insert(s.tag().to_owned());
    }
    let t = &settings.tags;
    for m in &c.matters {
        let stage = clean(&m.stage)
            .map(str::to_owned)
            .or_else(|| m.status.as_ref().map(status_name));
        if let Some(stage) = stage {
            tags.insert(format!("Matter Stage: {stage}"));
        }
        if t.practice_area && m.status.as_ref() == Some(&MatterStatus::Open) {
            if let Some(area) = clean(&m.practice_area) {
                tags.insert(format!("Practice Area: {area}"));
            }
        }
        if t.matter_number {
            if let Some(n) = clean(&m.display_number) {
                tags.insert(format!("Matter Number: {n}"));
            }
        }
    }
    for r in &c.related {
        if t.related_practice_area {
            if let Some(area) = clean(&r.matter.practice_area) {
                tags.insert(format!("Related Practice Area: {area}"));
            }
        }
        if t.relationships {
            if let Some(d) = clean(&r.description) {
                tags.insert(format!("Relationship: {d}"));
            }
        }
    }
    if t.location {
        if let Some(a) = c.addresses.first() {
            for (label, value) in [
                ("City", &a.city),
                ("State", &a.province),
                ("Postal Code", &a.postal_code),
                ("Country", &a.country),
            ] {
                if let Some(v) = clean(value) {
                    tags.insert(format!("{label}: {v}"));
                }
            }
        }
    }
    let attorneys = |which: AttorneyTags, pick: fn(&MatterFacts) -> Option<&Attorney>| {
        let names: Vec<String> = match which {
            AttorneyTags::None => Vec::new(),
            AttorneyTags::MostRecent => most_recent(c.matters.iter())
                .and_then(pick)
                .map(|a| a.name.clone())
                .into_iter()
                .collect(),
            AttorneyTags::All => c
                .matters
                .iter()
                .filter_map(pick)
                .map(|a| a.name.clone())
                .collect(),
        };
        names.into_iter().filter(|n| !n.trim().is_empty())
    };
    for name in attorneys(t.responsible_attorney, |m| m.responsible.as_ref()) {
        tags.insert(format!("Responsible Attorney: {}", name.trim()));
    }
    for name in attorneys(t.originating_attorney, |m| m.originating.as_ref()) {
        tags.insert(format!("Originating Attorney: {}", name.trim()));
    }
    for wanted in &settings.custom_field_tags {
        let key = crate::settings::location_key(wanted);
        for v in c
            .custom_fields
            .iter()
            .filter(|v| crate::settings::location_key(&v.name) == key)
        {
            if let Some(tag) = custom_tag(v) {
                tags.insert(tag);
            }
        }
    }
    if !settings.segment_tags.is_empty()
        && !settings
            .segment_tags
            .iter()
            .any(|s| tags.iter().any(|t| t.eq_ignore_ascii_case(s.trim())))
    {
        return None;
    }
    Some(CrmContact {
        id: c.id,
        first_name: c.first_name.clone(),
        last_name: c.last_name.clone(),
        name: c.name.clone(),
        emails: emails(&c.emails, settings.primary_email_only),
        phones: primary_first(&c.phones),
        addresses: c.addresses.clone(),
        client_status: status,
        tags,
        owner: owner(c, settings),
        facts: facts(c, settings),
    })
}

fn emails(all: &[Email], primary_only: bool) -> Vec<String> {
    let mut sorted: Vec<&Email> = all
        .iter()
        .filter(|e| !e.address.trim().is_empty())
        .collect();
    // Stable: the primary first, the rest in Clio's order.
    sorted.sort_by_key(|e| !e.primary);
    if primary_only {
        sorted.retain(|e| e.primary);
    }
    sorted
        .into_iter()
        .map(|e| e.address.trim().to_owned())
        .collect()
}

fn primary_first(phones: &[Phone]) -> Vec<Phone> {
    let mut sorted = phones.to_vec();
    sorted.sort_by_key(|p| !p.primary);
    sorted
}

fn owner(c: &ContactFacts, s: &CrmSettings) -> Option<i64> {
    let decided = match s.ownership {
        Ownership::PrimaryUser => s.primary_user,
        Ownership::Responsible | Ownership::Originating => {
            let latest = most_recent(c.matters.iter())
                .or_else(|| most_recent(c.related.iter().map(|r| &r.matter)));
            latest.and_then(|m| match s.ownership {
                Ownership::Originating => m.originating.as_ref().map(|a| a.id),
                _ => m.responsible.as_ref().map(|a| a.id),
            })
        }
    };
    decided.or(s.fallback_user)
}

/// A custom field value as a tag: `Name` for a ticked checkbox, `Name: value` otherwise; none for
/// an empty value or an unticked box.
fn custom_tag(v: &CustomValue) -> Option<String> {
    let name = v.name.trim();
    let text = match &v.value {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => b.to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    if text.is_empty() {
        return None;
    }
    if v.field_type == "checkbox" {
        return matches!(text.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
            .then(|| name.to_owned());
    }
    untaggable(name, &v.field_type)
        .is_none()
        .then(|| format!("{name}: {text}"))
}

fn facts(c: &ContactFacts, s: &CrmSettings) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if s.key_facts.birthday {
        if let Some(d) = c.date_of_birth {
            out.insert("birthday".into(), d.to_string());
        }
    }
    if s.key_facts.clio_id {
        out.insert("clio_id".into(), c.id.to_string());
    }
    for wanted in &s.key_facts.custom_date_fields {
        let key = crate::settings::location_key(wanted);
        if let Some(v) = c
            .custom_fields
            .iter()
            .find(|v| v.field_type == "date" && crate::settings::location_key(&v.name) == key)
        {
            if let Some(d) = v.value.as_str().map(str::trim).filter(|d| !d.is_empty()) {
                out.insert(wanted.trim().to_owned(), d.to_owned());
            }
        }
    }
    out
}

/// Whether `contact` was a client before `since` (when the connection's CRM feed was turned on):
/// its first matter as a client was created in Clio before then. The first projection records
/// such clients of the past without an event; one who became a client since (while that first
/// projection was on its way) is news. A contact with no dated matter is of the past.
pub fn client_before(contact: &ContactFacts, since: DateTime<Utc>) -> bool {
    contact
        .matters
        .iter()
        .filter_map(|m| m.created_at)
        .min()
        .is_none_or(|first| first < since)
}

/// Whether the projection change from `before` to `after` makes the contact a new client: it has
/// a client status now and had none before. (The store records each connection's new clients, so
/// it fires once ever; a baseline projection records without firing.)
pub fn becomes_client(before: Option<&CrmContact>, after: Option<&CrmContact>) -> bool {
    let was = before.is_some_and(|b| b.client_status.is_some());
    let is = after.is_some_and(|a| a.client_status.is_some());
    is && !was
}

#[cfg(test)]
mod tests;
