//! Re-syncing watches from the mirror by the watch rules, and writing what changed.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_domain::watches::{
    from_clio, merge, Change, Conflict, Fields, Sides, WatchField, WatchSettings,
};
use matterhook_store::watches::{self as store, Synced, WatchRow};
use serde_json::Value;

use crate::facts::Source;

/// What started a sync, as its changes record it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Cause {
    /// Importing the matter.
    Import,
    /// A button, Sync All, a schedule or a login.
    Sync,
    /// A change in Clio the sync stage announced.
    Event,
    /// The user's edit.
    Edit,
    /// The user accepted Clio's value.
    Accept,
}

/// What one watch's sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The watch as written.
    pub watch: WatchRow,
    /// The fields that changed.
    pub changes: Vec<Change>,
    /// The fields kept against Clio.
    pub conflicts: Vec<Conflict>,
}

/// A stored watch's field sides (values we wrote ourselves; a key we no longer know is dropped).
pub fn sides_of(row: &WatchRow) -> Sides {
    let fields: Fields = row
        .fields
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.parse::<WatchField>().ok()?, v.as_str()?.to_owned())))
        .collect();
    let edited: BTreeSet<WatchField> = row.edited.iter().filter_map(|f| f.parse().ok()).collect();
    let conflicts: Vec<Conflict> =
        serde_json::from_value(row.conflicts.clone()).unwrap_or_default();
    Sides {
        fields,
        edited,
        conflicts,
    }
}

/// The stored form of field values.
pub fn fields_value(fields: &Fields) -> Value {
    serde_json::to_value(fields).unwrap_or_else(|_| Value::Object(Default::default()))
}

/// The stored form of edited fields.
pub fn edited_value(edited: &BTreeSet<WatchField>) -> Vec<String> {
    edited.iter().map(ToString::to_string).collect()
}

/// The stored form of conflicts.
pub fn conflicts_value(conflicts: &[Conflict]) -> Value {
    serde_json::to_value(conflicts).unwrap_or_else(|_| Value::Array(Vec::new()))
}

/// What syncing `sides` against the mirror's `source` makes of them: a deleted matter marks the
/// watch and leaves its fields; a live one merges by the rules.
pub fn synced(
    row: &WatchRow,
    source: &Source,
    settings: &WatchSettings,
) -> (Synced, Vec<Change>, Vec<Conflict>) {
    let sides = sides_of(row);
    if let Some(deleted) = source.deleted_at {
        return (
            Synced {
                client_id: row.client_id,
                fields: fields_value(&sides.fields),
                edited: edited_value(&sides.edited),
                conflicts: conflicts_value(&sides.conflicts),
                clio_status: row.clio_status.clone(),
                clio_deleted_at: row.clio_deleted_at.or(Some(deleted)),
            },
            Vec::new(),
            Vec::new(),
        );
    }
    let clio = from_clio(&source.facts, &settings.mapping);
    let merged = merge(&sides.fields, &sides.edited, &clio, settings.conflict);
    (
        Synced {
            client_id: source.client_id,
            fields: fields_value(&merged.fields),
            edited: edited_value(&merged.edited),
            conflicts: conflicts_value(&merged.conflicts),
            clio_status: source.status.clone(),
            clio_deleted_at: None,
        },
        merged.changes,
        merged.conflicts,
    )
}

/// Syncs these (locked) watches from their sources and writes them, recording each change under
/// `cause`. A watch whose matter the mirror does not hold is left as it is.
pub async fn resync(
    conn: &mut AsyncPgConnection,
    rows: &[WatchRow],
    sources: &HashMap<i64, Source>,
    settings: &WatchSettings,
    cause: Cause,
    at: DateTime<Utc>,
) -> diesel::QueryResult<Vec<Outcome>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut unchanged = Vec::new();
    for row in rows {
        let Some(source) = sources.get(&row.matter_id) else {
            out.push(Outcome {
                watch: row.clone(),
                changes: Vec::new(),
                conflicts: sides_of(row).conflicts,
            });
            continue;
        };
        let (synced, changes, conflicts) = synced(row, source, settings);
        if same(row, &synced) {
            // Most watches of a Sync All: one statement marks them all synced.
            unchanged.push(row.id);
            let mut watch = row.clone();
            watch.last_synced_at = Some(at);
            out.push(Outcome {
                watch,
                changes,
                conflicts,
            });
            continue;
        }
        let watch = store::write_synced(conn, row.id, &synced, at).await?;
        record(conn, row.id, cause, &changes, at).await?;
        if watch.clio_deleted_at.is_some() && row.clio_deleted_at.is_none() {
            tracing::info!(
                watch = row.id,
                matter = row.matter_id,
                "watched matter deleted in Clio; watch kept"
            );
        }
        out.push(Outcome {
            watch,
            changes,
            conflicts,
        });
    }
    store::touch_synced(conn, &unchanged, at).await?;
    Ok(out)
}

/// Whether a sync leaves the watch's Clio side as it is.
fn same(row: &WatchRow, synced: &Synced) -> bool {
    row.client_id == synced.client_id
        && row.fields == synced.fields
        && row.edited == synced.edited
        && row.conflicts == synced.conflicts
        && row.clio_status == synced.clio_status
        && row.clio_deleted_at == synced.clio_deleted_at
}

/// Records changes made by `cause`.
pub async fn record(
    conn: &mut AsyncPgConnection,
    watch: i64,
    cause: Cause,
    changes: &[Change],
    at: DateTime<Utc>,
) -> diesel::QueryResult<()> {
    let rows: Vec<_> = changes
        .iter()
        .map(|c| (c.field.to_string(), c.from.clone(), Some(c.to.clone())))
        .collect();
    store::record_changes(conn, watch, cause.into(), &rows, at).await
}
