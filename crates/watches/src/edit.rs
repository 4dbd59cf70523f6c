//! The user's side of a watch: edits of its fields (protected from syncs under keep_local),
//! acceptance of Clio's values, and the local-only notes, tags and priority.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_domain::watches::{self, Edited, WatchField};
use matterhook_store::watches::{self as store, Edit, WatchRow};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::resync::{conflicts_value, edited_value, fields_value, sides_of, Cause};

/// A watch's local priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Priority {
    /// Low.
    Low,
    /// Normal (a new watch's).
    Normal,
    /// High.
    High,
}

/// `PATCH /api/watches/{id}`: what to change; absent keys stay as they are.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// Clio-sourced fields to set, by name; an empty string or null clears one. An edited field
    /// keeps the user's value against later syncs under `keep_local`.
    #[schema(value_type = Option<BTreeMap<String, Option<String>>>)]
    pub fields: Option<BTreeMap<String, Option<String>>>,
    /// Local notes (up to 10,000 characters).
    pub notes: Option<String>,
    /// Local tags (up to 50, each 1 to 50 characters; duplicates folded).
    pub tags: Option<Vec<String>>,
    /// Local priority.
    pub priority: Option<Priority>,
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The edit names something wrong, said with the field.
    #[error("{field}: {message}")]
    Invalid {
        /// Which field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> EditError {
    EditError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}

/// The field edits of a patch, checked.
fn field_edits(
    raw: &BTreeMap<String, Option<String>>,
) -> Result<BTreeMap<WatchField, Option<String>>, EditError> {
    raw.iter()
        .map(|(name, value)| {
            let field: WatchField = name.parse().map_err(|_| {
                invalid(
                    format!("fields.{name}"),
                    "not a watch field (first_name, last_name, date_of_birth, city, state, \
                     case_number, assigned_to, case_type, date_of_interest)",
                )
            })?;
            let value = field
                .edited_value(value.as_deref().unwrap_or(""))
                .map_err(|m| invalid(format!("fields.{name}"), m))?;
            Ok((field, value))
        })
        .collect()
}

fn tags(raw: &[String]) -> Result<Vec<String>, EditError> {
    if raw.len() > 50 {
        return Err(invalid("tags", "at most 50"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, tag) in raw.iter().enumerate() {
        let tag = tag.trim();
        if tag.is_empty() || tag.chars().count() > 50 {
            return Err(invalid(format!("tags[{i}]"), "must be 1 to 50 characters"));
        }
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    Ok(out)
}

async fn write(
    conn: &mut AsyncPgConnection,
    row: &WatchRow,
    sides: &watches::Sides,
    local: (String, Vec<String>, String),
    changed: &[Edited],
    cause: Cause,
    at: DateTime<Utc>,
) -> Result<WatchRow, EditError> {
    let (notes, tags, priority) = local;
    let edit = Edit {
        fields: fields_value(&sides.fields),
        edited: edited_value(&sides.edited),
        conflicts: conflicts_value(&sides.conflicts),
        notes,
        tags,
        priority,
    };
    let written = store::write_edit(conn, row.id, &edit, at).await?;
    let rows: Vec<_> = changed
        .iter()
        .map(|(f, from, to)| (f.to_string(), from.clone(), to.clone()))
        .collect();
    store::record_changes(conn, row.id, cause.into(), &rows, at).await?;
    Ok(written)
}

/// Applies the user's patch to their watch `id`; `None` when it is not theirs.
pub async fn edit(
    conn: &mut AsyncPgConnection,
    user: i64,
    id: i64,
    patch: &Patch,
    at: DateTime<Utc>,
) -> Result<Option<WatchRow>, EditError> {
    let edits = patch.fields.as_ref().map(field_edits).transpose()?;
    let new_tags = patch.tags.as_deref().map(tags).transpose()?;
    if patch
        .notes
        .as_ref()
        .is_some_and(|n| n.chars().count() > 10_000)
    {
        return Err(invalid("notes", "at most 10,000 characters"));
    }
    conn.transaction(async |conn| {
        let Some(row) = store::lock(conn, id).await?.filter(|r| r.user_id == user) else {
            return Ok(None);
        };
        let (sides, changed) = watches::edit(&sides_of(&row), &edits.unwrap_or_default());
        let local = (
            patch.notes.clone().unwrap_or_else(|| row.notes.clone()),
            new_tags.clone().unwrap_or_else(|| row.tags.clone()),
            patch
                .priority
                .map_or_else(|| row.priority.clone(), |p| <&str>::from(p).to_owned()),
        );
        write(conn, &row, &sides, local, &changed, Cause::Edit, at)
            .await
            .map(Some)
    })
    .await
}

/// Accepts Clio's values for these fields' conflicts on the user's watch `id`; `None` when it
/// is not theirs.
pub async fn accept(
    conn: &mut AsyncPgConnection,
    user: i64,
    id: i64,
    fields: &[String],
    at: DateTime<Utc>,
) -> Result<Option<WatchRow>, EditError> {
    let which: BTreeSet<WatchField> = fields
        .iter()
        .enumerate()
        .map(|(i, f)| {
            f.parse()
                .map_err(|_| invalid(format!("fields[{i}]"), "not a watch field"))
        })
        .collect::<Result<_, _>>()?;
    conn.transaction(async |conn| {
        let Some(row) = store::lock(conn, id).await?.filter(|r| r.user_id == user) else {
            return Ok(None);
        };
        let sides = sides_of(&row);
        if let Some(f) = which
            .iter()
            .find(|f| !sides.conflicts.iter().any(|c| c.field == **f))
        {
            return Err(invalid(format!("fields.{f}"), "has no conflict to accept"));
        }
        let (sides, changed) = watches::accept(&sides, &which);
        let local = (row.notes.clone(), row.tags.clone(), row.priority.clone());
        write(conn, &row, &sides, local, &changed, Cause::Accept, at)
            .await
            .map(Some)
    })
    .await
}
