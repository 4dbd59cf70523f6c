//! Watches' rules, apart from any I/O: what a watch's Clio-sourced fields are, given a matter and
//! its client, and how a sync merges Clio's values into a watch the user may have edited.
//!
//! - A field is overwritten only by a non-empty Clio value: an empty or missing one keeps ours.
//! - `keep_local` (the default): a field the user edited since it was last synced keeps the
//!   user's value; a differing Clio value is recorded as a conflict the user can see and accept.
//!   `prefer_clio`: Clio's non-empty value wins.
//! - Local-only fields (notes, tags, priority) are not among [`WatchField`]s: sync cannot touch them.

mod settings;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use settings::{Frequency, WatchSettings, LOGIN_STALE_AFTER, MAX_MAPPING};

/// A watch's fields that come from Clio.
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
    strum::Display,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum WatchField {
    /// The client's first name.
    FirstName,
    /// The client's last name.
    LastName,
    /// The client's date of birth (`YYYY-MM-DD`).
    DateOfBirth,
    /// The city of the client's primary address.
    City,
    /// The state (province) of the client's primary address.
    State,
    /// The matter's display number.
    CaseNumber,
    /// The matter's responsible attorney's name.
    AssignedTo,
    /// The matter's practice area, through the user's mapping.
    CaseType,
    /// The matter's open date (`YYYY-MM-DD`).
    DateOfInterest,
}

impl WatchField {
    /// Whether the field holds a date (`YYYY-MM-DD`).
    pub fn is_date(self) -> bool {
        matches!(self, WatchField::DateOfBirth | WatchField::DateOfInterest)
    }

    /// A value the user typed for this field, as stored: trimmed, a date in `YYYY-MM-DD`; empty
    /// clears the field (`None`).
    pub fn edited_value(self, raw: &str) -> Result<Option<String>, &'static str> {
        let value = raw.trim();
        if value.is_empty() {
            return Ok(None);
        }
        if self.is_date() {
            return chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
                .map(|d| Some(d.format("%Y-%m-%d").to_string()))
                .map_err(|_| "must be a date as YYYY-MM-DD");
        }
        if value.chars().count() > 255 {
            return Err("must be at most 255 characters");
        }
        Ok(Some(value.to_owned()))
    }
}

/// Values by field; a field absent has no value.
pub type Fields = BTreeMap<WatchField, String>;

/// Whose value wins when the user edited a field Clio also changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The user's edit stays; Clio's value is shown as a conflict.
    #[default]
    KeepLocal,
    /// Clio's non-empty value replaces the user's edit.
    PreferClio,
}

/// What Clio says about a watched matter and its client, as far as watches care.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClioFacts {
    /// The client's first name.
    pub first_name: Option<String>,
    /// The client's last name.
    pub last_name: Option<String>,
    /// The client's date of birth.
    pub date_of_birth: Option<chrono::NaiveDate>,
    /// The client's primary address's city (the first address's when none is primary).
    pub city: Option<String>,
    /// Its state or province.
    pub state: Option<String>,
    /// The matter's display number.
    pub display_number: Option<String>,
    /// The responsible attorney's name.
    pub responsible_attorney: Option<String>,
    /// The practice area's name.
    pub practice_area: Option<String>,
    /// The matter's open date.
    pub open_date: Option<chrono::NaiveDate>,
}

/// The case type a practice area maps to in the user's table (`practice area -> case type`,
/// matched without regard to case or surrounding spaces); an unmapped one keeps its own name.
pub fn case_type(practice_area: &str, mapping: &BTreeMap<String, String>) -> String {
    let wanted = practice_area.trim().to_lowercase();
    mapping
        .iter()
        .find(|(from, _)| from.trim().to_lowercase() == wanted)
        .map_or_else(
            || practice_area.trim().to_owned(),
            |(_, to)| to.trim().to_owned(),
        )
}

/// The watch fields Clio's facts give (empty values left out).
pub fn from_clio(facts: &ClioFacts, mapping: &BTreeMap<String, String>) -> Fields {
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.format("%Y-%m-%d").to_string());
    let values = [
        (WatchField::FirstName, facts.first_name.clone()),
        (WatchField::LastName, facts.last_name.clone()),
        (WatchField::DateOfBirth, date(facts.date_of_birth)),
        (WatchField::City, facts.city.clone()),
        (WatchField::State, facts.state.clone()),
        (WatchField::CaseNumber, facts.display_number.clone()),
        (WatchField::AssignedTo, facts.responsible_attorney.clone()),
        (
            WatchField::CaseType,
            facts
                .practice_area
                .as_deref()
                .filter(|p| !p.trim().is_empty())
                .map(|p| case_type(p, mapping)),
        ),
        (WatchField::DateOfInterest, date(facts.open_date)),
    ];
    values
        .into_iter()
        .filter_map(|(field, value)| {
            let value = value?.trim().to_owned();
            (!value.is_empty()).then_some((field, value))
        })
        .collect()
}

/// A field a sync changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Which.
    pub field: WatchField,
    /// Ours before (none: it had no value).
    pub from: Option<String>,
    /// Now.
    pub to: String,
}

/// A field where the user's edit and Clio disagree, kept as the user left it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    /// Which.
    pub field: WatchField,
    /// The user's value, kept.
    pub ours: Option<String>,
    /// Clio's value, which the user may accept.
    pub clio: String,
}

/// What a sync makes of a watch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Merge {
    /// The watch's Clio-sourced fields after the sync.
    pub fields: Fields,
    /// The fields that changed, in field order.
    pub changes: Vec<Change>,
    /// The fields kept against Clio, in field order.
    pub conflicts: Vec<Conflict>,
    /// The fields still protected as the user's edits.
    pub edited: BTreeSet<WatchField>,
}

/// Merges Clio's values (`clio`, from [`from_clio`]) into a watch's `current` fields, `edited`
/// naming those the user edited since they were last synced.
pub fn merge(
    current: &Fields,
    edited: &BTreeSet<WatchField>,
    clio: &Fields,
    policy: ConflictPolicy,
) -> Merge {
    let mut out = Merge {
        fields: current.clone(),
        edited: edited.clone(),
        ..Merge::default()
    };
    for (&field, theirs) in clio {
        let ours = current.get(&field);
        if ours == Some(theirs) {
            // Agreeing again: the edit needs no more protection.
            out.edited.remove(&field);
            continue;
        }
        if edited.contains(&field) && policy == ConflictPolicy::KeepLocal {
            out.conflicts.push(Conflict {
                field,
                ours: ours.cloned(),
                clio: theirs.clone(),
            });
            continue;
        }
        out.changes.push(Change {
            field,
            from: ours.cloned(),
            to: theirs.clone(),
        });
        out.fields.insert(field, theirs.clone());
        out.edited.remove(&field);
    }
    out
}

#[cfg(test)]
mod tests;

/// A watch's fields as the user and syncs shape them: values, the user's protected edits and the
/// Clio values kept out.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sides {
    /// The values.
    pub fields: Fields,
    /// Fields the user edited since their last sync.
    pub edited: BTreeSet<WatchField>,
    /// Clio values kept out by those edits.
    pub conflicts: Vec<Conflict>,
}

/// A field a user's edit or acceptance changed: (field, from, to).
pub type Edited = (WatchField, Option<String>, Option<String>);

/// The user sets fields (`None` clears one, values already checked with
/// [`WatchField::edited_value`]): each set to another value than it had becomes the user's edit,
/// protected from syncs under keep_local; a conflict on it is settled in the user's favour.
pub fn edit(sides: &Sides, edits: &BTreeMap<WatchField, Option<String>>) -> (Sides, Vec<Edited>) {
    let mut out = sides.clone();
    let mut changed = Vec::new();
    for (&field, value) in edits {
        let before = out.fields.get(&field).cloned();
        if &before == value {
            continue;
        }
        match value {
            Some(v) => out.fields.insert(field, v.clone()),
            None => out.fields.remove(&field),
        };
        out.edited.insert(field);
        out.conflicts.retain(|c| c.field != field);
        changed.push((field, before, value.clone()));
    }
    (out, changed)
}

/// The user accepts Clio's values for these fields' conflicts: the value becomes Clio's and the
/// field follows Clio again. A field without a conflict is left as it is.
pub fn accept(sides: &Sides, which: &BTreeSet<WatchField>) -> (Sides, Vec<Edited>) {
    let mut out = sides.clone();
    let mut changed = Vec::new();
    let (taken, kept): (Vec<Conflict>, Vec<Conflict>) = std::mem::take(&mut out.conflicts)
        .into_iter()
        .partition(|c| which.contains(&c.field));
    out.conflicts = kept;
    for c in taken {
        let before = out.fields.insert(c.field, c.clio.clone());
        out.edited.remove(&c.field);
        if before.as_deref() != Some(c.clio.as_str()) {
            changed.push((c.field, before, Some(c.clio)));
        }
    }
    (out, changed)
}
