//! Caller lookup's reads of the mirror: a phone number's candidates with their matters and the
//! people on them (a receptionist's ring waits on it: one prepared statement for a whole number,
//! two more only when the last four digits must be tried), the firm's staff, and whether the
//! firm's first sync has finished.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, sql_types::BigInt, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::schema::{
    clio_contact_phones as p, clio_contacts as ct, clio_matters as m, clio_users as u,
};

/// A candidate's phone and one of its matters (none: the matter columns are null), with the
/// people on the matter. One row per phone and matter; the caller groups them.
#[derive(Debug, Clone, Queryable)]
pub struct LookupRow {
    /// The contact.
    pub contact_id: i64,
    /// The number, as typed in Clio.
    pub raw: String,
    /// The contact's name.
    pub contact_name: Option<String>,
    /// Person or Company.
    pub contact_kind: Option<String>,
    /// A matter of the contact's.
    pub matter: Option<MatterCols>,
    /// Its responsible staff, as the mirror's users know them.
    pub staff: Option<UserCols>,
    /// Its responsible attorney.
    pub attorney: Option<UserCols>,
}

/// A matter's columns in a [`LookupRow`].
#[derive(Debug, Clone, Queryable)]
pub struct MatterCols {
    /// Clio id.
    pub id: i64,
    /// Display number.
    pub display_number: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: Option<String>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<Utc>>,
    /// Responsible staff's id.
    pub staff_id: Option<i64>,
    /// Responsible attorney's id.
    pub attorney_id: Option<i64>,
}

/// A user's columns in a [`LookupRow`].
#[derive(Debug, Clone, Queryable)]
pub struct UserCols {
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
}

/// The users table twice: a matter's responsible staff, and its responsible attorney.
#[allow(missing_docs)]
mod people {
    diesel::alias!(
        crate::schema::clio_users as staff_users: StaffUsers,
        crate::schema::clio_users as attorney_users: AttorneyUsers
    );
}
use people::{attorney_users, staff_users};

/// The candidates' rows, from `$phones` (a filtered `clio_contact_phones`): each phone of a live
/// contact with its matters (the most recently updated first) and the people on them.
macro_rules! candidate_rows {
    ($account:expr, $filter:expr, $limit:expr) => {
        p::table
            .inner_join(
                ct::table.on(ct::clio_account_id
                    .eq(p::clio_account_id)
                    .and(ct::clio_id.eq(p::contact_id))),
            )
            .left_join(
                m::table.on(m::clio_account_id
                    .eq(p::clio_account_id)
                    .and(m::client_id.eq(p::contact_id.nullable()))
                    .and(m::deleted_at.is_null())),
            )
            .left_join(
                staff_users.on(staff_users
                    .field(u::clio_account_id)
                    .eq(p::clio_account_id)
                    .and(
                        staff_users
                            .field(u::clio_id)
                            .nullable()
                            .eq(m::responsible_staff_id),
                    )),
            )
            .left_join(
                attorney_users.on(attorney_users
                    .field(u::clio_account_id)
                    .eq(p::clio_account_id)
                    .and(
                        attorney_users
                            .field(u::clio_id)
                            .nullable()
                            .eq(m::responsible_attorney_id),
                    )),
            )
            .filter(p::clio_account_id.eq($account))
            .filter(ct::deleted_at.is_null())
            .filter($filter)
            .select((
                p::contact_id,
                p::raw,
                ct::name,
                ct::kind,
                (
                    m::clio_id,
                    m::display_number,
                    m::description,
                    m::status,
                    m::clio_updated_at,
                    m::responsible_staff_id,
                    m::responsible_attorney_id,
                )
                    .nullable(),
                (
                    staff_users.field(u::name),
                    staff_users.field(u::email),
                    staff_users.field(u::phone_number),
                )
                    .nullable(),
                (
                    attorney_users.field(u::name),
                    attorney_users.field(u::email),
                    attorney_users.field(u::phone_number),
                )
                    .nullable(),
            ))
            .order((p::contact_id, m::clio_updated_at.desc().nulls_last()))
            .limit($limit)
    };
}

/// The rows of the contacts any of whose numbers has one of the E.164 forms `e164`.
pub async fn by_e164(
    conn: &mut AsyncPgConnection,
    account: i64,
    e164: &[String],
    max_rows: i64,
) -> QueryResult<Vec<LookupRow>> {
    candidate_rows!(account, p::e164.eq_any(e164), max_rows)
        .load(conn)
        .await
}

/// The rows of the contacts any of whose numbers has one of the national forms `national`.
pub async fn by_national(
    conn: &mut AsyncPgConnection,
    account: i64,
    national: &[String],
    max_rows: i64,
) -> QueryResult<Vec<LookupRow>> {
    candidate_rows!(account, p::national.eq_any(national), max_rows)
        .load(conn)
        .await
}

/// The live contacts with a number ending in `last_four`, by id, with the number: at most
/// `max` of them.
pub async fn by_last_four(
    conn: &mut AsyncPgConnection,
    account: i64,
    last_four: &str,
    max: i64,
) -> QueryResult<Vec<(i64, String)>> {
    p::table
        .inner_join(
            ct::table.on(ct::clio_account_id
                .eq(p::clio_account_id)
                .and(ct::clio_id.eq(p::contact_id))),
        )
        .filter(p::clio_account_id.eq(account))
        .filter(p::last_four.eq(last_four))
        .filter(ct::deleted_at.is_null())
        .select((p::contact_id, p::raw))
        .order((p::contact_id, p::position))
        .limit(max)
        .load(conn)
        .await
}

/// The rows of `contacts`' numbers ending in `last_four`.
pub async fn by_contacts(
    conn: &mut AsyncPgConnection,
    account: i64,
    contacts: &[i64],
    last_four: &str,
    max_rows: i64,
) -> QueryResult<Vec<LookupRow>> {
    candidate_rows!(
        account,
        p::contact_id
            .eq_any(contacts)
            .and(p::last_four.eq(last_four)),
        max_rows
    )
    .load(conn)
    .await
}

/// A firm's user, as `GET /api/staff` lists them.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = u)]
pub struct StaffMember {
    /// Clio id.
    pub clio_id: i64,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Phone number.
    pub phone_number: Option<String>,
    /// Whether they may sign in.
    pub enabled: Option<bool>,
    /// Attorney or NonAttorney.
    pub subscription_type: Option<String>,
}

/// The firm's users, by name.
pub async fn staff(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<Vec<StaffMember>> {
    u::table
        .filter(u::clio_account_id.eq(account))
        .order((u::name.asc(), u::clio_id.asc()))
        .select(StaffMember::as_select())
        .load(conn)
        .await
}

/// The firm's users among `ids`.
pub async fn staff_by_ids(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<StaffMember>> {
    u::table
        .filter(u::clio_account_id.eq(account))
        .filter(u::clio_id.eq_any(ids))
        .select(StaffMember::as_select())
        .load(conn)
        .await
}

#[derive(QueryableByName)]
struct Done {
    #[diesel(sql_type = diesel::sql_types::Bool)]
    done: bool,
}

/// Whether some connection of the firm has listed every contact and every matter once: before
/// then the mirror may not know a caller yet.
pub async fn first_sync_done(conn: &mut AsyncPgConnection, account: i64) -> QueryResult<bool> {
    diesel::sql_query(
        "SELECT count(DISTINCT s.model) = 2 AS done
         FROM sync_cursors s JOIN connections c ON c.id = s.connection_id
         WHERE c.clio_account_id = $1 AND s.model IN ('contact', 'matter')
           AND s.last_full_at IS NOT NULL",
    )
    .bind::<BigInt, _>(account)
    .get_result::<Done>(conn)
    .await
    .map(|d| d.done)
}
