//! The CRM contact feed: each connection's projection of its firm's contacts, the change feed
//! over it, and `contact.new_client` events. What the mirror gives the projection is read here
//! too (a contact's matters, the matters it is related to), each by index, never a scan of the
//! firm.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::{
    mirror::{ContactRow, MatterRow},
    schema::{
        clio_contacts as cc, clio_matters as m, connections as c, crm_contacts as k,
        crm_events as e,
    },
};

/// The matters `contact` is related to (Clio's relationships, as read with each matter), live.
pub async fn related_matters(
    conn: &mut AsyncPgConnection,
    account: i64,
    contact: i64,
) -> QueryResult<Vec<MatterRow>> {
    let probe = serde_json::json!([{ "contact": { "id": contact } }]);
    m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::deleted_at.is_null())
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("(data -> 'relationships') @> ")
                .bind::<diesel::sql_types::Jsonb, _>(probe),
        )
        .select(MatterRow::as_select())
        .load(conn)
        .await
}

/// The people whose company is `company` (its contact persons).
pub async fn people_of_company(
    conn: &mut AsyncPgConnection,
    account: i64,
    company: i64,
) -> QueryResult<Vec<i64>> {
    cc::table
        .filter(cc::clio_account_id.eq(account))
        .filter(cc::company_id.eq(company))
        .filter(cc::deleted_at.is_null())
        .select(cc::clio_id)
        .load(conn)
        .await
}

/// A page of the firm's contacts (deleted ones included: their projection is removed), by id.
pub async fn contacts_page(
    conn: &mut AsyncPgConnection,
    account: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<ContactRow>> {
    cc::table
        .filter(cc::clio_account_id.eq(account))
        .filter(cc::clio_id.gt(after))
        .order(cc::clio_id.asc())
        .limit(limit)
        .select(ContactRow::as_select())
        .load(conn)
        .await
}

/// How many contacts the firm's mirror holds (a job's total).
pub async fn contact_count(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<i64> {
    cc::table
        .filter(cc::clio_account_id.eq(account))
        .count()
        .get_result(conn)
        .await
}

/// What a projection write did, as the change feed says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// It appears for the first time (or again after a removal).
    Added,
    /// It changed.
    Changed,
    /// It no longer appears.
    Removed,
}

impl Change {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Changed => "changed",
            Change::Removed => "removed",
        }
    }
}

/// The contact's projection as the connection holds it (`None`: never projected, or removed).
pub async fn projection(
    conn: &mut AsyncPgConnection,
    connection: i64,
    contact: i64,
) -> QueryResult<Option<Value>> {
    k::table
        .find((connection, contact))
        .select(k::projection)
        .first::<Option<Value>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// A projection to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Projected {
    /// The contact as the CRM sees it.
    pub projection: Value,
    /// Its tags.
    pub tags: Vec<String>,
    /// Its owner.
    pub owner: Option<i64>,
}

/// Writes the contact's projection (`None`: it does not appear) over `held`, what the connection
/// holds of it (read with [`projection`] or [`projections`]), taking the feed's next position only
/// when it differs. What changed, if anything.
pub async fn write_over(
    conn: &mut AsyncPgConnection,
    connection: i64,
    account: i64,
    contact: i64,
    held: Option<&Value>,
    now: Option<&Projected>,
) -> QueryResult<Option<Change>> {
    let change = match (held, now) {
        (None, None) => return Ok(None),
        (Some(h), Some(n)) if *h == n.projection => return Ok(None),
        (None, Some(_)) => Change::Added,
        (Some(_), Some(_)) => Change::Changed,
        (Some(_), None) => Change::Removed,
    };
    let seq = diesel::dsl::sql::<diesel::sql_types::BigInt>("nextval('crm_change_seq')");
    let (projection, tags, owner) = match now {
        Some(p) => (Some(p.projection.clone()), p.tags.clone(), p.owner),
        None => (None, Vec::new(), None),
    };
    diesel::insert_into(k::table)
        .values((
            k::connection_id.eq(connection),
            k::contact_id.eq(contact),
            k::clio_account_id.eq(account),
            k::projection.eq(&projection),
            k::tags.eq(&tags),
            k::owner.eq(owner),
            k::change.eq(change.as_str()),
            k::updated_at.eq(Utc::now()),
        ))
        .on_conflict((k::connection_id, k::contact_id))
        .do_update()
        .set((
            k::projection.eq(&projection),
            k::tags.eq(&tags),
            k::owner.eq(owner),
            k::change.eq(change.as_str()),
            k::seq.eq(seq),
            k::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(Some(change))
}

/// Records that the contact is a client for the connection: the `contact.new_client` event the
/// first time ever (or, in a `baseline`, a record that keeps it from ever firing). True when this
/// call recorded it.
pub async fn record_client(
    conn: &mut AsyncPgConnection,
    connection: i64,
    contact: i64,
    baseline: bool,
) -> QueryResult<bool> {
    diesel::insert_into(e::table)
        .values((
            e::connection_id.eq(connection),
            e::contact_id.eq(contact),
            e::kind.eq(NEW_CLIENT),
            e::baseline.eq(baseline),
        ))
        .on_conflict((e::connection_id, e::contact_id, e::kind))
        .do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// The new-client event's kind.
pub const NEW_CLIENT: &str = "contact.new_client";

/// A projected contact as listed.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = k)]
pub struct Listed {
    /// The Clio contact.
    pub contact_id: i64,
    /// The projection.
    pub projection: Option<Value>,
    /// What the feed says of it.
    pub change: String,
    /// Its position in the feed.
    pub seq: i64,
    /// Last written.
    pub updated_at: DateTime<Utc>,
}

/// The connection's contacts that appear, by contact id after `after`, filtered by a tag and an
/// owner.
pub async fn list(
    conn: &mut AsyncPgConnection,
    connection: i64,
    tag: Option<&str>,
    owner: Option<i64>,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    let mut q = k::table
        .filter(k::connection_id.eq(connection))
        .filter(k::projection.is_not_null())
        .filter(k::contact_id.gt(after))
        .into_boxed();
    if let Some(tag) = tag {
        q = q.filter(k::tags.contains(vec![tag.to_owned()]));
    }
    if let Some(owner) = owner {
        q = q.filter(k::owner.eq(owner));
    }
    q.order(k::contact_id.asc())
        .limit(limit)
        .select(Listed::as_select())
        .load(conn)
        .await
}

/// One of the connection's projected contacts (removed ones included).
pub async fn one(
    conn: &mut AsyncPgConnection,
    connection: i64,
    contact: i64,
) -> QueryResult<Option<Listed>> {
    k::table
        .find((connection, contact))
        .select(Listed::as_select())
        .first(conn)
        .await
        .optional()
}

/// The connection's changes after feed position `after`, oldest first.
pub async fn changes(
    conn: &mut AsyncPgConnection,
    connection: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Listed>> {
    k::table
        .filter(k::connection_id.eq(connection))
        .filter(k::seq.gt(after))
        .order(k::seq.asc())
        .limit(limit)
        .select(Listed::as_select())
        .load(conn)
        .await
}

/// A new-client event.
#[derive(Debug, Clone, Queryable)]
pub struct Event {
    /// The feed's position.
    pub id: i64,
    /// The Clio contact.
    pub contact_id: i64,
    /// contact.new_client.
    pub kind: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// The connection's events after `after`, oldest first (baseline records are not events).
pub async fn events(
    conn: &mut AsyncPgConnection,
    connection: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Vec<Event>> {
    e::table
        .filter(e::connection_id.eq(connection))
        .filter(e::baseline.eq(false))
        .filter(e::id.gt(after))
        .order(e::id.asc())
        .limit(limit)
        .select((e::id, e::contact_id, e::kind, e::at))
        .load(conn)
        .await
}

/// Marks the connection's projection current (its first job finished).
pub async fn mark_projected(conn: &mut AsyncPgConnection, connection: i64) -> QueryResult<()> {
    diesel::update(c::table.find(connection))
        .set(c::crm_projected_at.eq(Utc::now()))
        .execute(conn)
        .await
        .map(drop)
}

/// Connections of `account` whose projection is current, with their user: the ones an event
/// updates (the others wait for their job).
pub async fn projected_connections(
    conn: &mut AsyncPgConnection,
    account: i64,
) -> QueryResult<Vec<i64>> {
    c::table
        .filter(c::clio_account_id.eq(account))
        .filter(c::crm_projected_at.is_not_null())
        .filter(c::status.ne(matterhook_domain::ConnectionStatus::Disconnected))
        .select(c::id)
        .load(conn)
        .await
}

/// Since when the connection's projection is current, if its first job finished.
pub async fn projected_at(
    conn: &mut AsyncPgConnection,
    connection: i64,
) -> QueryResult<Option<DateTime<Utc>>> {
    c::table
        .find(connection)
        .select(c::crm_projected_at)
        .first::<Option<DateTime<Utc>>>(conn)
        .await
        .optional()
        .map(Option::flatten)
}

/// What the connection holds of each of `contacts` (removed ones and unknown ones absent).
pub async fn projections(
    conn: &mut AsyncPgConnection,
    connection: i64,
    contacts: &[i64],
) -> QueryResult<std::collections::HashMap<i64, Value>> {
    let rows: Vec<(i64, Option<Value>)> = k::table
        .filter(k::connection_id.eq(connection))
        .filter(k::contact_id.eq_any(contacts))
        .select((k::contact_id, k::projection))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, p)| p.map(|p| (id, p)))
        .collect())
}

/// The live matters whose client is one of `contacts`.
pub async fn client_matters_of(
    conn: &mut AsyncPgConnection,
    account: i64,
    contacts: &[i64],
) -> QueryResult<Vec<MatterRow>> {
    m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::client_id.eq_any(contacts))
        .filter(m::deleted_at.is_null())
        .select(MatterRow::as_select())
        .load(conn)
        .await
}

/// Whether any live matter of the firm lists relationships (when none does, nobody is related).
pub async fn has_relationships(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        m::table
            .filter(m::clio_account_id.eq(account))
            .filter(m::deleted_at.is_null())
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "(data -> 'relationships') @> '[{}]'::jsonb",
            )),
    ))
    .get_result(conn)
    .await
}

/// Which of `companies` are clients (flagged, or the client of a live matter).
pub async fn client_companies(
    conn: &mut AsyncPgConnection,
    account: i64,
    companies: &[i64],
) -> QueryResult<std::collections::HashSet<i64>> {
    if companies.is_empty() {
        return Ok(Default::default());
    }
    let flagged: Vec<i64> = cc::table
        .filter(cc::clio_account_id.eq(account))
        .filter(cc::clio_id.eq_any(companies))
        .filter(cc::deleted_at.is_null())
        .filter(cc::is_client.eq(true))
        .select(cc::clio_id)
        .load(conn)
        .await?;
    let with_matters: Vec<Option<i64>> = m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::client_id.eq_any(companies))
        .filter(m::deleted_at.is_null())
        .select(m::client_id)
        .distinct()
        .load(conn)
        .await?;
    Ok(flagged
        .into_iter()
        .chain(with_matters.into_iter().flatten())
        .collect())
}
