//! Watches as the API shows them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use matterhook_domain::{watches::Change, MatterStatus};
use matterhook_store::watches::{ChangeRow, WatchRow};
use serde::Serialize;
use utoipa::ToSchema;

use crate::resync::sides_of;

/// A Clio value kept out by the user's edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ConflictView {
    /// The field (`first_name`, `city`, ...).
    pub field: String,
    /// The user's value, kept.
    pub ours: Option<String>,
    /// Clio's value; accept it with `POST /api/watches/{id}/accept`.
    pub clio: String,
}

/// A field a sync, an edit or an import changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChangeView {
    /// The field.
    pub field: String,
    /// Before (none: it had no value).
    pub from: Option<String>,
    /// After (none: cleared).
    pub to: Option<String>,
    /// What made it: import, sync, event (a change in Clio), edit, accept. Absent in a sync's
    /// own answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When. Absent in a sync's own answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
}

impl From<&Change> for ChangeView {
    fn from(c: &Change) -> Self {
        Self {
            field: c.field.to_string(),
            from: c.from.clone(),
            to: Some(c.to.clone()),
            source: None,
            at: None,
        }
    }
}

impl From<ChangeRow> for ChangeView {
    fn from(c: ChangeRow) -> Self {
        Self {
            field: c.field,
            from: c.from_value,
            to: c.to_value,
            source: Some(c.source),
            at: Some(c.at),
        }
    }
}

/// A watch.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct WatchView {
    /// Its id.
    pub id: i64,
    /// The connection it was imported through.
    pub connection_id: i64,
    /// The Clio matter.
    pub matter_id: i64,
    /// The matter's client.
    pub client_id: Option<i64>,
    /// Clio-sourced fields by name: first_name, last_name, date_of_birth, city, state,
    /// case_number, assigned_to, case_type, date_of_interest (a field without a value is absent).
    pub fields: BTreeMap<String, String>,
    /// Fields the user edited since their last sync (kept under `keep_local`).
    pub edited: Vec<String>,
    /// Clio values kept out by the user's edits.
    pub conflicts: Vec<ConflictView>,
    /// Local notes (never synced).
    pub notes: String,
    /// Local tags (never synced).
    pub tags: Vec<String>,
    /// low, normal or high (never synced).
    pub priority: String,
    /// The matter's status in Clio.
    #[schema(value_type = Option<String>)]
    pub clio_status: Option<MatterStatus>,
    /// The matter is gone from Clio (the watch stays).
    pub clio_deleted: bool,
    /// When it was found gone.
    pub clio_deleted_at: Option<DateTime<Utc>>,
    /// Last synced with Clio.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Imported.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Its latest changes, newest first (one watch's page only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<ChangeView>>,
}

impl From<&WatchRow> for WatchView {
    fn from(row: &WatchRow) -> Self {
        let sides = sides_of(row);
        Self {
            id: row.id,
            connection_id: row.connection_id,
            matter_id: row.matter_id,
            client_id: row.client_id,
            fields: sides
                .fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
            edited: sides.edited.iter().map(ToString::to_string).collect(),
            conflicts: sides
                .conflicts
                .iter()
                .map(|c| ConflictView {
                    field: c.field.to_string(),
                    ours: c.ours.clone(),
                    clio: c.clio.clone(),
                })
                .collect(),
            notes: row.notes.clone(),
            tags: row.tags.clone(),
            priority: row.priority.clone(),
            clio_status: row.clio_status.clone(),
            clio_deleted: row.clio_deleted_at.is_some(),
            clio_deleted_at: row.clio_deleted_at,
            last_synced_at: row.last_synced_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            history: None,
        }
    }
}

/// What syncing one watch did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SyncAnswer {
    /// The watch after the sync.
    pub watch: WatchView,
    /// The fields that changed.
    pub changes: Vec<ChangeView>,
    /// The fields kept against Clio (also in `watch.conflicts`).
    pub conflicts: Vec<ConflictView>,
    /// Calls made to Clio.
    pub clio_calls: usize,
}
