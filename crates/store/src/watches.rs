//! Watches: matters a user imported from Clio as records, their Clio-sourced fields as last
//! synced, the user's edits and local fields, and every change to them.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::MatterStatus;
use serde_json::Value;

use crate::schema::{
    clio_contacts as c, clio_matters as m, jobs as j, users as u, watch_changes as wc, watches as w,
};

/// Syncing every watch of a connection (Sync All, automatic, on login).
pub const SYNC_JOB: &str = "watches_sync";

/// A watch as stored.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = w)]
pub struct WatchRow {
    /// Row id.
    pub id: i64,
    /// The connection it was imported through.
    pub connection_id: i64,
    /// Whose.
    pub user_id: i64,
    /// The firm.
    pub clio_account_id: i64,
    /// The Clio matter.
    pub matter_id: i64,
    /// The matter's client as last synced.
    pub client_id: Option<i64>,
    /// Clio-sourced fields by name.
    pub fields: Value,
    /// Fields the user edited since their last sync.
    pub edited: Vec<String>,
    /// Clio values kept out by the user's edits.
    pub conflicts: Value,
    /// Local notes.
    pub notes: String,
    /// Local tags.
    pub tags: Vec<String>,
    /// low, normal or high.
    pub priority: String,
    /// The matter's status in Clio.
    pub clio_status: Option<MatterStatus>,
    /// When the matter was found deleted in Clio.
    pub clio_deleted_at: Option<DateTime<Utc>>,
    /// Last synced.
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Imported.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// What a sync (or an import) writes over a watch's Clio side.
#[derive(Debug, Clone, PartialEq)]
pub struct Synced {
    /// The matter's client.
    pub client_id: Option<i64>,
    /// Clio-sourced fields.
    pub fields: Value,
    /// Fields still protected as the user's edits.
    pub edited: Vec<String>,
    /// Clio values kept out.
    pub conflicts: Value,
    /// The matter's status.
    pub clio_status: Option<MatterStatus>,
    /// When the matter was found deleted (kept once set).
    pub clio_deleted_at: Option<DateTime<Utc>>,
}

/// A change to one field of a watch.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = wc)]
pub struct ChangeRow {
    /// When.
    pub at: DateTime<Utc>,
    /// import, sync, event, edit or accept.
    pub source: String,
    /// The field.
    pub field: String,
    /// Before.
    pub from_value: Option<String>,
    /// After.
    pub to_value: Option<String>,
}

/// Creates the watch of `matter` for `connection` unless it exists; the watch, and whether this
/// call created it.
pub async fn import(
    conn: &mut AsyncPgConnection,
    connection: i64,
    user: i64,
    account: i64,
    matter: i64,
    synced: &Synced,
    at: DateTime<Utc>,
) -> QueryResult<(WatchRow, bool)> {
    let created: Option<WatchRow> = diesel::insert_into(w::table)
        .values((
            w::connection_id.eq(connection),
            w::user_id.eq(user),
            w::clio_account_id.eq(account),
            w::matter_id.eq(matter),
            w::client_id.eq(synced.client_id),
            w::fields.eq(&synced.fields),
            w::edited.eq(&synced.edited),
            w::conflicts.eq(&synced.conflicts),
            w::clio_status.eq(synced.clio_status.clone()),
            w::clio_deleted_at.eq(synced.clio_deleted_at),
            w::last_synced_at.eq(at),
        ))
        .on_conflict((w::connection_id, w::matter_id))
        .do_nothing()
        .returning(WatchRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if let Some(row) = created {
        return Ok((row, true));
    }
    let held = w::table
        .filter(w::connection_id.eq(connection))
        .filter(w::matter_id.eq(matter))
        .select(WatchRow::as_select())
        .first(conn)
        .await?;
    Ok((held, false))
}

/// One of the user's watches.
pub async fn of_user(
    conn: &mut AsyncPgConnection,
    user: i64,
    id: i64,
) -> QueryResult<Option<WatchRow>> {
    w::table
        .filter(w::user_id.eq(user))
        .filter(w::id.eq(id))
        .select(WatchRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The watch, locked until the transaction ends (a sync and an edit take turns).
pub async fn lock(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<Option<WatchRow>> {
    w::table
        .find(id)
        .select(WatchRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A page of the user's watches after id `after`, oldest first; of one connection when given.
pub async fn page_of_user(
    conn: &mut AsyncPgConnection,
    user: i64,
    connection: Option<i64>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<WatchRow>> {
    let mut query = w::table
        .filter(w::user_id.eq(user))
        .filter(w::id.gt(after))
        .into_boxed();
    if let Some(connection) = connection {
        query = query.filter(w::connection_id.eq(connection));
    }
    query
        .order(w::id.asc())
        .limit(limit)
        .select(WatchRow::as_select())
        .load(conn)
        .await
}

/// A page of a connection's watches after id `after`, oldest first: (watch id, matter id).
pub async fn page_of_connection(
    conn: &mut AsyncPgConnection,
    connection: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<(i64, i64)>> {
    w::table
        .filter(w::connection_id.eq(connection))
        .filter(w::id.gt(after))
        .order(w::id.asc())
        .limit(limit)
        .select((w::id, w::matter_id))
        .load(conn)
        .await
}

/// These watches, locked until the transaction ends, in id order.
pub async fn lock_many(conn: &mut AsyncPgConnection, ids: &[i64]) -> QueryResult<Vec<WatchRow>> {
    w::table
        .filter(w::id.eq_any(ids))
        .order(w::id.asc())
        .select(WatchRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// How many watches a connection has.
pub async fn count_of_connection(
    conn: &mut AsyncPgConnection,
    connection: i64,
) -> QueryResult<i64> {
    w::table
        .filter(w::connection_id.eq(connection))
        .count()
        .get_result(conn)
        .await
}

/// The firm's watches of this matter, or whose client is this contact, locked until the
/// transaction ends (every user's: each re-syncs by its own connection's settings).
pub async fn touched_by(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter: Option<i64>,
    client: Option<i64>,
) -> QueryResult<Vec<WatchRow>> {
    w::table
        .filter(w::clio_account_id.eq(account))
        .filter(
            w::matter_id
                .nullable()
                .eq(matter)
                .or(w::client_id.eq(client).and(w::client_id.is_not_null())),
        )
        .order(w::id.asc())
        .select(WatchRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// The watch ids of these matters under `connection`, by matter.
pub async fn watched(
    conn: &mut AsyncPgConnection,
    connection: i64,
    matters: &[i64],
) -> QueryResult<Vec<(i64, i64)>> {
    w::table
        .filter(w::connection_id.eq(connection))
        .filter(w::matter_id.eq_any(matters))
        .select((w::matter_id, w::id))
        .load(conn)
        .await
}

/// Writes what a sync made of the watch's Clio side.
pub async fn write_synced(
    conn: &mut AsyncPgConnection,
    id: i64,
    synced: &Synced,
    at: DateTime<Utc>,
) -> QueryResult<WatchRow> {
    diesel::update(w::table.find(id))
        .set((
            w::client_id.eq(synced.client_id),
            w::fields.eq(&synced.fields),
            w::edited.eq(&synced.edited),
            w::conflicts.eq(&synced.conflicts),
            w::clio_status.eq(synced.clio_status.clone()),
            w::clio_deleted_at.eq(synced.clio_deleted_at),
            w::last_synced_at.eq(at),
            w::updated_at.eq(at),
        ))
        .returning(WatchRow::as_returning())
        .get_result(conn)
        .await
}

/// Marks watches a sync found unchanged as synced at `at`, in one statement.
pub async fn touch_synced(
    conn: &mut AsyncPgConnection,
    ids: &[i64],
    at: DateTime<Utc>,
) -> QueryResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    diesel::update(w::table.filter(w::id.eq_any(ids)))
        .set(w::last_synced_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}

/// What a user's edit writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    /// Clio-sourced fields, with the user's values.
    pub fields: Value,
    /// Fields protected as the user's edits.
    pub edited: Vec<String>,
    /// Clio values still kept out.
    pub conflicts: Value,
    /// Local notes.
    pub notes: String,
    /// Local tags.
    pub tags: Vec<String>,
    /// low, normal or high.
    pub priority: String,
}

/// Writes a user's edit.
pub async fn write_edit(
    conn: &mut AsyncPgConnection,
    id: i64,
    edit: &Edit,
    at: DateTime<Utc>,
) -> QueryResult<WatchRow> {
    diesel::update(w::table.find(id))
        .set((
            w::fields.eq(&edit.fields),
            w::edited.eq(&edit.edited),
            w::conflicts.eq(&edit.conflicts),
            w::notes.eq(&edit.notes),
            w::tags.eq(&edit.tags),
            w::priority.eq(&edit.priority),
            w::updated_at.eq(at),
        ))
        .returning(WatchRow::as_returning())
        .get_result(conn)
        .await
}

/// Records changes to a watch's fields: (field, from, to) made by `source`.
pub async fn record_changes(
    conn: &mut AsyncPgConnection,
    watch: i64,
    source: &str,
    changes: &[(String, Option<String>, Option<String>)],
    at: DateTime<Utc>,
) -> QueryResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = changes
        .iter()
        .map(|(field, from, to)| {
            (
                wc::watch_id.eq(watch),
                wc::at.eq(at),
                wc::source.eq(source),
                wc::field.eq(field),
                wc::from_value.eq(from),
                wc::to_value.eq(to),
            )
        })
        .collect();
    diesel::insert_into(wc::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

/// A watch's latest changes, newest first.
pub async fn changes(
    conn: &mut AsyncPgConnection,
    watch: i64,
    limit: i64,
) -> QueryResult<Vec<ChangeRow>> {
    wc::table
        .filter(wc::watch_id.eq(watch))
        .order(wc::id.desc())
        .limit(limit)
        .select(ChangeRow::as_select())
        .load(conn)
        .await
}

/// The mirrored matters with these ids, deleted ones included, and their clients: what a
/// watch's Clio side is made of.
pub async fn sources(
    conn: &mut AsyncPgConnection,
    account: i64,
    matters: &[i64],
) -> QueryResult<(
    Vec<crate::mirror::MatterRow>,
    Vec<crate::mirror::ContactRow>,
)> {
    let matter_rows: Vec<crate::mirror::MatterRow> = m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::clio_id.eq_any(matters))
        .select(crate::mirror::MatterRow::as_select())
        .load(conn)
        .await?;
    let clients: Vec<i64> = matter_rows.iter().filter_map(|r| r.client_id).collect();
    let client_rows = c::table
        .filter(c::clio_account_id.eq(account))
        .filter(c::clio_id.eq_any(clients))
        .select(crate::mirror::ContactRow::as_select())
        .load(conn)
        .await?;
    Ok((matter_rows, client_rows))
}

/// When the connection's watches last started syncing all together (a job's creation), if ever.
pub async fn last_sync_all(
    conn: &mut AsyncPgConnection,
    connection: i64,
) -> QueryResult<Option<DateTime<Utc>>> {
    j::table
        .filter(j::kind.eq(SYNC_JOB))
        .filter(j::connection_id.eq(connection))
        .filter(j::state.ne("failed"))
        .select(diesel::dsl::max(j::created_at))
        .first(conn)
        .await
}

/// The connections that have watches, with their owners.
pub async fn watching_connections(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(i64, i64)>> {
    w::table
        .select((w::connection_id, w::user_id))
        .distinct()
        .load(conn)
        .await
}

/// The user's connections that have watches.
pub async fn watching_connections_of(
    conn: &mut AsyncPgConnection,
    user: i64,
) -> QueryResult<Vec<i64>> {
    w::table
        .filter(w::user_id.eq(user))
        .select(w::connection_id)
        .distinct()
        .load(conn)
        .await
}

/// Marks the user's login.
pub async fn mark_login(
    conn: &mut AsyncPgConnection,
    user: i64,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(u::table.find(user))
        .set(u::last_login_at.eq(at))
        .execute(conn)
        .await
        .map(drop)
}
