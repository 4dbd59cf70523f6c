//! Review requests: created once per (connection, matter, status trigger), scheduled until due,
//! then due (for the review platform to send), sent, restricted with a reason, or cancelled.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{
    clio_matters as m, connections as c, review_reconciliations as rr, review_requests as q,
};

/// `review_requests.state` values.
pub mod state {
    /// Waiting for its due time.
    pub const SCHEDULED: &str = "scheduled";
    /// Due: for the review platform to send.
    pub const DUE: &str = "due";
    /// The platform confirmed it sent it.
    pub const SENT: &str = "sent";
    /// Held back, with a reason.
    pub const RESTRICTED: &str = "restricted";
    /// The matter left its trigger status before the request fell due.
    pub const CANCELLED: &str = "cancelled";
    /// Every state, as the API filters by them.
    pub const ALL: [&str; 5] = [SCHEDULED, DUE, SENT, RESTRICTED, CANCELLED];
}

/// A review request.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, serde::Serialize)]
#[diesel(table_name = q)]
pub struct ReviewRequest {
    /// Row id.
    #[diesel(skip_insertion)]
    pub id: i64,
    /// The connection whose settings made it.
    pub connection_id: i64,
    /// The firm.
    pub clio_account_id: i64,
    /// The matter.
    pub matter_id: i64,
    /// closed, pending, open or manual.
    pub trigger: String,
    /// When the matter entered the trigger status (or the button was pressed).
    pub triggered_at: DateTime<Utc>,
    /// When it falls due.
    pub due_at: DateTime<Utc>,
    /// See [`state`].
    pub state: String,
    /// Why it is restricted or cancelled.
    pub reason: Option<String>,
    /// The client contact.
    pub client_id: Option<i64>,
    /// The client's first name (a company's name for a company client).
    pub first_name: Option<String>,
    /// The client's last name.
    pub last_name: Option<String>,
    /// The client's primary email, normalised.
    pub email: Option<String>,
    /// The client's phone, E.164.
    pub phone: Option<String>,
    /// The location's name.
    pub location: Option<String>,
    /// The location's business id.
    pub business_id: Option<String>,
    /// The matter's number.
    pub display_number: Option<String>,
    /// The responsible attorney.
    pub responsible_attorney_id: Option<i64>,
    /// A manual request made past the cooldown on purpose.
    pub forced: bool,
    /// Created.
    #[diesel(skip_insertion)]
    pub created_at: DateTime<Utc>,
    /// Last changed.
    #[diesel(skip_insertion)]
    pub updated_at: DateTime<Utc>,
    /// When the platform confirmed it sent it.
    #[diesel(skip_insertion)]
    pub sent_at: Option<DateTime<Utc>>,
}

/// Stores a request unless the (connection, matter, status trigger) has one already: the id of
/// the new row, or `None`.
pub async fn insert_once(
    conn: &mut AsyncPgConnection,
    request: &ReviewRequest,
) -> QueryResult<Option<i64>> {
    diesel::insert_into(q::table)
        .values(request)
        .on_conflict_do_nothing()
        .returning(q::id)
        .get_result(conn)
        .await
        .optional()
}

/// When `client_id` was last asked through `connection_id` (a request scheduled, due or sent:
/// when it was sent, else when it is due), if ever, leaving request `except` out.
pub async fn last_asked(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    client_id: i64,
    except: Option<i64>,
) -> QueryResult<Option<DateTime<Utc>>> {
    q::table
        .filter(q::connection_id.eq(connection_id))
        .filter(q::client_id.eq(client_id))
        .filter(q::state.eq_any([state::SCHEDULED, state::DUE, state::SENT]))
        .filter(q::id.ne(except.unwrap_or(0)))
        .select(diesel::dsl::max(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(sent_at, due_at)")))
        .first(conn)
        .await
}

/// Up to `limit` scheduled requests due by `now`, locked (skipping those another worker holds).
pub async fn take_due(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<ReviewRequest>> {
    q::table
        .filter(q::state.eq(state::SCHEDULED))
        .filter(q::due_at.le(now))
        .order(q::due_at.asc())
        .limit(limit)
        .select(ReviewRequest::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// Moves a request to `to` (with `reason` for restricted and cancelled).
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    id: i64,
    to: &str,
    reason: Option<&str>,
) -> QueryResult<()> {
    diesel::update(q::table.find(id))
        .set((
            q::state.eq(to),
            q::reason.eq(reason),
            q::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// What the client and the location were when a request was checked again.
#[derive(Debug, Clone, Default)]
pub struct Refreshed {
    /// The client's email, normalised.
    pub email: Option<String>,
    /// The client's phone, E.164.
    pub phone: Option<String>,
    /// The location's name.
    pub location: Option<String>,
    /// Its business id.
    pub business_id: Option<String>,
}

/// A request checked again when due: its new state and reason, and what it carries now (the
/// client's email may have changed since it was made).
pub async fn recheck_done(
    conn: &mut AsyncPgConnection,
    id: i64,
    to: &str,
    reason: Option<&str>,
    now: &Refreshed,
) -> QueryResult<()> {
    diesel::update(q::table.find(id))
        .set((
            q::state.eq(to),
            q::reason.eq(reason),
            q::email.eq(&now.email),
            q::phone.eq(&now.phone),
            q::location.eq(&now.location),
            q::business_id.eq(&now.business_id),
            q::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// What `list` selects.
#[derive(Debug, Clone, Default)]
pub struct Filter<'a> {
    /// Only this state.
    pub state: Option<&'a str>,
    /// Only this location.
    pub location: Option<&'a str>,
    /// Only ids above this (the cursor).
    pub after: i64,
}

/// A user's requests (through any of their connections), oldest first from the cursor.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    filter: &Filter<'_>,
    limit: i64,
) -> QueryResult<Vec<ReviewRequest>> {
    let mut query = q::table
        .inner_join(c::table)
        .filter(c::user_id.eq(user_id))
        .filter(q::id.gt(filter.after))
        .order(q::id.asc())
        .limit(limit)
        .select(ReviewRequest::as_select())
        .into_boxed();
    if let Some(s) = filter.state {
        query = query.filter(q::state.eq(s.to_owned()));
    }
    if let Some(l) = filter.location {
        // Location names compare trimmed and ignoring case, as everywhere.
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>(
                "lower(btrim(review_requests.location)) = ",
            )
            .bind::<diesel::sql_types::Text, _>(l.trim().to_lowercase()),
        );
    }
    query.load(conn).await
}

/// One of a user's requests, locked.
pub async fn of_user_for_update(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<ReviewRequest>> {
    let theirs = c::table.filter(c::user_id.eq(user_id)).select(c::id);
    q::table
        .filter(q::connection_id.eq_any(theirs))
        .filter(q::id.eq(id))
        .select(ReviewRequest::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Records the platform's confirmation that it sent the request.
pub async fn mark_sent(
    conn: &mut AsyncPgConnection,
    id: i64,
    at: DateTime<Utc>,
) -> QueryResult<ReviewRequest> {
    diesel::update(q::table.find(id))
        .set((
            q::state.eq(state::SENT),
            q::sent_at.eq(at),
            q::updated_at.eq(at),
        ))
        .returning(ReviewRequest::as_returning())
        .get_result(conn)
        .await
}

/// Matters of a firm in `status` whose `date_column` date is `day` and that have no request of
/// `trigger` through `connection_id`: what the daily reconciliation creates.
pub async fn unrequested(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    account: i64,
    status: &matterhook_domain::MatterStatus,
    trigger: &str,
    day: NaiveDate,
) -> QueryResult<Vec<i64>> {
    let requested = q::table
        .filter(q::connection_id.eq(connection_id))
        .filter(q::trigger.eq(trigger.to_owned()))
        .select(q::matter_id);
    let mut query = m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::status.eq(status.clone()))
        .filter(m::deleted_at.is_null())
        .filter(m::clio_id.ne_all(requested))
        .select(m::clio_id)
        .order(m::clio_id.asc())
        .into_boxed();
    query = match status {
        matterhook_domain::MatterStatus::Closed => query.filter(m::close_date.eq(day)),
        matterhook_domain::MatterStatus::Pending => query.filter(m::pending_date.eq(day)),
        _ => query.filter(m::open_date.eq(day)),
    };
    query.load(conn).await
}

/// The last local day a connection's reconciliation covered.
pub async fn covered_day(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
) -> QueryResult<Option<NaiveDate>> {
    rr::table
        .find(connection_id)
        .select(rr::covered_day)
        .first(conn)
        .await
        .optional()
}

/// Records that a connection's reconciliation covered `day`.
pub async fn cover(
    conn: &mut AsyncPgConnection,
    connection_id: i64,
    day: NaiveDate,
) -> QueryResult<()> {
    diesel::insert_into(rr::table)
        .values((rr::connection_id.eq(connection_id), rr::covered_day.eq(day)))
        .on_conflict(rr::connection_id)
        .do_update()
        .set((rr::covered_day.eq(day), rr::ran_at.eq(Utc::now())))
        .execute(conn)
        .await
        .map(drop)
}
