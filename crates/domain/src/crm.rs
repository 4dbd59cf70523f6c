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

/// Whether the projection change from `before` to `after` makes the contact a new client: it has
/// a client status now and had none before. (The store records each connection's new clients, so
/// it fires once ever; a baseline projection records without firing.)
pub fn becomes_client(before: Option<&CrmContact>, after: Option<&CrmContact>) -> bool {
    let was = before.is_some_and(|b| b.client_status.is_some());
    let is = after.is_some_and(|a| a.client_status.is_some());
    is && !was
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn at(day: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).single()
    }

    fn attorney(id: i64, name: &str) -> Option<Attorney> {
        Some(Attorney {
            id,
            name: name.into(),
        })
    }

    fn matter(id: i64, status: MatterStatus, day: u32) -> MatterFacts {
        MatterFacts {
            id,
            display_number: Some(format!("0000{id}-Doe")),
            status: Some(status),
            stage: None,
            practice_area: Some("Family Law".into()),
            responsible: attorney(10 + id, &format!("Resp {id}")),
            originating: attorney(20 + id, &format!("Orig {id}")),
            updated_at: at(day),
        }
    }

    fn person() -> ContactFacts {
        ContactFacts {
            id: 7,
            is_person: true,
            first_name: Some("Jane".into()),
            last_name: Some("Doe".into()),
            name: Some("Jane Doe".into()),
            is_client: true,
            emails: vec![
                Email {
                    address: "work@doe.example".into(),
                    primary: false,
                },
                Email {
                    address: "jane@doe.example".into(),
                    primary: true,
                },
            ],
            phones: vec![
                Phone {
                    number: "555-0101".into(),
                    name: Some("Home".into()),
                    primary: false,
                },
                Phone {
                    number: "555-0102".into(),
                    name: Some("Mobile".into()),
                    primary: true,
                },
            ],
            addresses: vec![Address {
                city: Some("Boston".into()),
                province: Some("MA".into()),
                postal_code: Some("02110".into()),
                country: Some("US".into()),
                ..Address::default()
            }],
            date_of_birth: NaiveDate::from_ymd_opt(1980, 5, 17),
            custom_fields: Vec::new(),
            company_client: false,
            matters: Vec::new(),
            related: Vec::new(),
        }
    }

    fn on() -> CrmSettings {
        CrmSettings {
            enabled: true,
            ..CrmSettings::default()
        }
    }

    fn tags(c: &ContactFacts, s: &CrmSettings) -> BTreeSet<String> {
        project(c, s).expect("projected").tags
    }

    #[test]
    fn client_status_follows_the_matters() {
        use MatterStatus::{Closed, Open, Pending};
        let of = |statuses: &[MatterStatus]| {
            let matters: Vec<MatterFacts> = statuses
                .iter()
                .enumerate()
                .map(|(i, s)| matter(i as i64, s.clone(), 1))
                .collect();
            client_status(&matters)
        };
        assert_eq!(of(&[]), None);
        assert_eq!(of(&[Closed, Open]), Some(ClientStatus::Active));
        assert_eq!(of(&[Closed, Pending]), Some(ClientStatus::Pending));
        assert_eq!(of(&[Pending]), Some(ClientStatus::Pending));
        assert_eq!(of(&[Closed, Closed]), Some(ClientStatus::Past));
        let mut odd = matter(1, Open, 1);
        odd.status = None;
        assert_eq!(client_status(&[odd]), Some(ClientStatus::Client));
    }

    #[test]
    fn every_contact_is_clio_and_person_and_a_company_is_never_one() {
        let mut c = person();
        assert_eq!(
            tags(&c, &on()),
            ["Clio", "Person", "Personal"]
                .map(String::from)
                .into_iter()
                .collect()
        );
        c.company_client = true;
        assert!(tags(&c, &on()).contains("Company"));
        assert!(!tags(&c, &on()).contains("Personal"));
        c.is_person = false;
        assert_eq!(project(&c, &on()), None);
    }

    #[test]
    fn scope_decides_who_appears() {
        let mut c = person();
        c.is_client = false;
        assert_eq!(project(&c, &on()), None, "not a client");
        let all = CrmSettings {
            scope: Scope::All,
            ..on()
        };
        assert!(project(&c, &all).is_some());
        let related = CrmSettings {
            scope: Scope::ClientsAndRelated,
            ..on()
        };
        assert_eq!(project(&c, &related), None, "related to nothing");
        c.related.push(Related {
            matter: matter(3, MatterStatus::Open, 2),
            description: Some("Spouse".into()),
        });
        assert!(project(&c, &related).is_some());
    }

    #[test]
    fn matter_tags_use_the_stage_else_the_status_and_practice_areas_of_open_matters() {
        let mut c = person();
        let mut staged = matter(1, MatterStatus::Open, 1);
        staged.stage = Some("Discovery".into());
        let mut closed = matter(2, MatterStatus::Closed, 2);
        closed.practice_area = Some("Estates".into());
        c.matters = vec![staged, closed];
        let t = tags(&c, &on());
        assert!(t.contains("Matter Stage: Discovery") && t.contains("Matter Stage: Closed"));
        assert!(t.contains("Practice Area: Family Law"));
        assert!(
            !t.contains("Practice Area: Estates"),
            "a closed matter's area: {t:?}"
        );
        assert!(t.contains("Active Client"));
        let off = CrmSettings {
            tags: TagOptions {
                practice_area: false,
                matter_number: true,
                ..TagOptions::default()
            },
            ..on()
        };
        let t = tags(&c, &off);
        assert!(!t.iter().any(|x| x.starts_with("Practice Area")));
        assert!(t.contains("Matter Number: 00001-Doe"));
    }

    #[test]
    fn related_matters_relationships_and_location_are_tags_when_asked() {
        let mut c = person();
        let mut m = matter(4, MatterStatus::Open, 1);
        m.practice_area = Some("Litigation".into());
        c.related.push(Related {
            matter: m,
            description: Some("Opposing Counsel".into()),
        });
        assert!(!tags(&c, &on())
            .iter()
            .any(|t| t.starts_with("Related") || t.starts_with("Relationship")));
        let s = CrmSettings {
            tags: TagOptions {
                related_practice_area: true,
                relationships: true,
                location: true,
                ..TagOptions::default()
            },
            ..on()
        };
        let t = tags(&c, &s);
        for want in [
            "Related Practice Area: Litigation",
            "Relationship: Opposing Counsel",
            "City: Boston",
            "State: MA",
            "Postal Code: 02110",
            "Country: US",
        ] {
            assert!(t.contains(want), "{want} in {t:?}");
        }
    }

    #[test]
    fn attorney_tags_take_the_most_recent_matter_or_all() {
        let mut c = person();
        c.matters = vec![
            matter(1, MatterStatus::Open, 3),
            matter(2, MatterStatus::Closed, 9),
        ];
        let s = |r, o| CrmSettings {
            tags: TagOptions {
                responsible_attorney: r,
                originating_attorney: o,
                ..TagOptions::default()
            },
            ..on()
        };
        let t = tags(&c, &s(AttorneyTags::MostRecent, AttorneyTags::None));
        assert!(t.contains("Responsible Attorney: Resp 2"));
        assert!(!t.contains("Responsible Attorney: Resp 1"));
        assert!(!t.iter().any(|x| x.starts_with("Originating")));
        let t = tags(&c, &s(AttorneyTags::All, AttorneyTags::All));
        for want in [
            "Responsible Attorney: Resp 1",
            "Responsible Attorney: Resp 2",
            "Originating Attorney: Orig 1",
            "Originating Attorney: Orig 2",
        ] {
            assert!(t.contains(want), "{want}");
        }
    }

    #[test]
    fn ownership_follows_the_most_recently_updated_matter_and_falls_back() {
        let mut c = person();
        let owner = |c: &ContactFacts, s: CrmSettings| project(c, &s).and_then(|p| p.owner);
        assert_eq!(owner(&c, on()), None, "no matter, no fallback: unassigned");
        assert_eq!(
            owner(
                &c,
                CrmSettings {
                    fallback_user: Some(99),
                    ..on()
                }
            ),
            Some(99)
        );
        c.matters = vec![
            matter(1, MatterStatus::Open, 9),
            matter(2, MatterStatus::Open, 3),
        ];
        assert_eq!(owner(&c, on()), Some(11));
        let originating = CrmSettings {
            ownership: Ownership::Originating,
            ..on()
        };
        assert_eq!(owner(&c, originating), Some(21));
        let fixed = CrmSettings {
            ownership: Ownership::PrimaryUser,
            primary_user: Some(5),
            ..on()
        };
        assert_eq!(owner(&c, fixed), Some(5));
        c.matters[0].responsible = None;
        assert_eq!(
            owner(
                &c,
                CrmSettings {
                    fallback_user: Some(99),
                    ..on()
                }
            ),
            Some(99),
            "the latest matter has no responsible attorney"
        );
    }

    #[test]
    fn custom_fields_of_each_taggable_type_become_tags() {
        let mut c = person();
        let v = |name: &str, t: &str, value| CustomValue {
            name: name.into(),
            field_type: t.into(),
            value,
        };
        c.custom_fields = vec![
            v("VIP", "checkbox", json!(true)),
            v("Newsletter", "checkbox", json!("false")),
            v("Budget", "currency", json!("2500.00")),
            v("Referrals", "numeric", json!(3)),
            v("Source", "picklist", json!("Website")),
            v("Nickname", "text_line", json!("JD")),
            v("Signed", "date", json!("2026-01-02")),
            v("Empty", "text_line", json!(null)),
        ];
        let s = CrmSettings {
            custom_field_tags: [
                "vip",
                "Newsletter",
                "Budget",
                "Referrals",
                "Source",
                "Nickname",
                "Signed",
                "Empty",
            ]
            .map(String::from)
            .to_vec(),
            key_facts: KeyFacts {
                birthday: true,
                custom_date_fields: vec!["Signed".into()],
                clio_id: true,
            },
            ..on()
        };
        let p = project(&c, &s).expect("projected");
        for want in [
            "VIP",
            "Budget: 2500.00",
            "Referrals: 3",
            "Source: Website",
            "Nickname: JD",
        ] {
            assert!(p.tags.contains(want), "{want} in {:?}", p.tags);
        }
        assert!(!p.tags.iter().any(|t| t.starts_with("Newsletter")
            || t.starts_with("Signed")
            || t.starts_with("Empty")));
        assert_eq!(
            p.facts.get("birthday").map(String::as_str),
            Some("1980-05-17")
        );
        assert_eq!(p.facts.get("clio_id").map(String::as_str), Some("7"));
        assert_eq!(
            p.facts.get("Signed").map(String::as_str),
            Some("2026-01-02")
        );
        assert!(untaggable("Signed", "date").is_some_and(|r| r.contains("date field")));
        assert_eq!(untaggable("Budget", "currency"), None);
    }

    #[test]
    fn emails_and_phones_put_the_primary_first_and_segments_filter() {
        let c = person();
        let p = project(&c, &on()).expect("projected");
        assert_eq!(p.emails, vec!["jane@doe.example", "work@doe.example"]);
        assert_eq!(p.phones[0].number, "555-0102");
        let primary = CrmSettings {
            primary_email_only: true,
            ..on()
        };
        assert_eq!(
            project(&c, &primary).expect("projected").emails,
            vec!["jane@doe.example"]
        );
        let segment = |tags: &[&str]| CrmSettings {
            segment_tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            ..on()
        };
        assert!(project(&c, &segment(&["Active Client"])).is_none());
        assert!(project(&c, &segment(&["Active Client", "personal"])).is_some());
    }

    #[test]
    fn a_new_client_is_one_who_had_no_client_status() {
        let mut c = person();
        let before = project(&c, &on());
        c.matters = vec![matter(1, MatterStatus::Open, 1)];
        let after = project(&c, &on());
        assert!(becomes_client(before.as_ref(), after.as_ref()));
        assert!(becomes_client(None, after.as_ref()));
        c.matters[0].status = Some(MatterStatus::Closed);
        let closed = project(&c, &on());
        assert!(!becomes_client(after.as_ref(), closed.as_ref()));
    }
}
