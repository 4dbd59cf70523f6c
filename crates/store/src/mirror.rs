//! The mirror of each firm's Clio records, keyed by Clio account and Clio id.
//!
//! Writers read the versions they hold first ([`matter_versions`] and friends, row-locked), decide
//! with the domain rules, then write: an older read never replaces a newer one.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{BillState, MatterStatus, Model};
use serde_json::Value;

use crate::schema::{
    clio_bills as b, clio_contacts as c, clio_custom_fields as cf, clio_matters as m,
    clio_users as u,
};

mod bills;
mod contacts;
mod firm;
mod search;

pub use bills::{bill, paid_bills_of_matter, upsert_bill, upsert_bills, BillRow};
pub use contacts::{
    contact, contact_emails, contact_etags, contacts_by_email, contacts_by_phone, upsert_contact,
    upsert_contacts, ContactRow, PhoneRow,
};
pub use firm::{custom_fields_of, upsert_custom_fields, upsert_users, CustomFieldRow, UserRow};
pub use search::{
    browse_matters, matters_by_keys, matters_for_client, recent_matters, search_matters,
};

/// What the mirror holds of one record's version; `S` is the matter's status or the bill's state
/// (`()` for contacts, which have neither).
#[derive(Debug, Clone, PartialEq)]
pub struct Version<S> {
    /// Clio id.
    pub clio_id: i64,
    /// Clio's version tag.
    pub etag: Option<String>,
    /// Clio's last change.
    pub updated_at: Option<DateTime<Utc>>,
    /// A matter's status or a bill's state (`None` for contacts).
    pub state: Option<S>,
    /// When it was found deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

type Held<S> = (
    i64,
    Option<String>,
    Option<DateTime<Utc>>,
    Option<S>,
    Option<DateTime<Utc>>,
);

impl<S> Version<S> {
    fn from_row((clio_id, etag, updated_at, state, deleted_at): Held<S>) -> Self {
        Self {
            clio_id,
            etag,
            updated_at,
            state,
            deleted_at,
        }
    }

    /// Whether a read of `etag` last changed at `updated_at` is newer than this one: a later
    /// `updated_at`, or the same second with another etag (Clio's times are whole seconds). A read
    /// without a time replaces only a version without one.
    pub fn is_older_than(&self, etag: Option<&str>, updated_at: Option<DateTime<Utc>>) -> bool {
        match (self.updated_at, updated_at) {
            (Some(held), Some(read)) => {
                read > held || (read == held && self.etag.as_deref() != etag)
            }
            (None, _) => self.etag.as_deref() != etag || self.deleted_at.is_some(),
            (Some(_), None) => false,
        }
    }
}

/// The mirrored versions of these matters, locked until the transaction ends.
pub async fn matter_versions(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<Version<MatterStatus>>> {
    m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::clio_id.eq_any(ids))
        .select((
            m::clio_id,
            m::etag,
            m::clio_updated_at,
            m::status,
            m::deleted_at,
        ))
        .for_update()
        .load::<Held<MatterStatus>>(conn)
        .await
        .map(|rows| rows.into_iter().map(Version::from_row).collect())
}

/// The mirrored versions of these contacts, locked until the transaction ends.
pub async fn contact_versions(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<Version<()>>> {
    c::table
        .filter(c::clio_account_id.eq(account))
        .filter(c::clio_id.eq_any(ids))
        .select((c::clio_id, c::etag, c::clio_updated_at, c::deleted_at))
        .for_update()
        .load::<(
            i64,
            Option<String>,
            Option<DateTime<Utc>>,
            Option<DateTime<Utc>>,
        )>(conn)
        .await
        .map(|rows| {
            rows.into_iter()
                .map(|(id, etag, at, deleted)| Version::from_row((id, etag, at, None, deleted)))
                .collect()
        })
}

/// The mirrored versions of these bills, locked until the transaction ends.
pub async fn bill_versions(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<Version<BillState>>> {
    b::table
        .filter(b::clio_account_id.eq(account))
        .filter(b::clio_id.eq_any(ids))
        .select((
            b::clio_id,
            b::etag,
            b::clio_updated_at,
            b::state,
            b::deleted_at,
        ))
        .for_update()
        .load::<Held<BillState>>(conn)
        .await
        .map(|rows| rows.into_iter().map(Version::from_row).collect())
}

/// A matter as mirrored.
#[derive(Debug, Clone, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = m, treat_none_as_null = true)]
pub struct MatterRow {
    /// The firm.
    pub clio_account_id: i64,
    /// Clio id.
    pub clio_id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Clio's last change.
    pub clio_updated_at: Option<DateTime<Utc>>,
    /// Shown number.
    pub display_number: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Open, Pending or Closed.
    pub status: Option<MatterStatus>,
    /// Opened.
    pub open_date: Option<NaiveDate>,
    /// Pended.
    pub pending_date: Option<NaiveDate>,
    /// Closed.
    pub close_date: Option<NaiveDate>,
    /// Client contact.
    pub client_id: Option<i64>,
    /// Client name.
    pub client_name: Option<String>,
    /// Client's primary email, normalised.
    pub client_email: Option<String>,
    /// Responsible attorney.
    pub responsible_attorney_id: Option<i64>,
    /// Originating attorney.
    pub originating_attorney_id: Option<i64>,
    /// Responsible staff.
    pub responsible_staff_id: Option<i64>,
    /// Practice area name.
    pub practice_area: Option<String>,
    /// Matter stage name.
    pub matter_stage: Option<String>,
    /// Custom field values.
    pub custom_field_values: Value,
    /// The record as read.
    pub data: Value,
    /// Deleted in Clio.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Writes a matter (the caller decided it is newer).
pub async fn upsert_matter(conn: &mut AsyncPgConnection, row: &MatterRow) -> QueryResult<()> {
    upsert_matters(conn, &[row]).await
}

/// Writes matters in one statement (the caller decided each is newer, holding their rows
/// locked).
pub async fn upsert_matters(conn: &mut AsyncPgConnection, rows: &[&MatterRow]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(m::table)
        .values(rows.to_vec())
        .on_conflict((m::clio_account_id, m::clio_id))
        .do_update()
        .set((
            m::etag.eq(excluded(m::etag)),
            m::clio_updated_at.eq(excluded(m::clio_updated_at)),
            m::display_number.eq(excluded(m::display_number)),
            m::description.eq(excluded(m::description)),
            m::status.eq(excluded(m::status)),
            m::open_date.eq(excluded(m::open_date)),
            m::pending_date.eq(excluded(m::pending_date)),
            m::close_date.eq(excluded(m::close_date)),
            m::client_id.eq(excluded(m::client_id)),
            m::client_name.eq(excluded(m::client_name)),
            m::client_email.eq(excluded(m::client_email)),
            m::responsible_attorney_id.eq(excluded(m::responsible_attorney_id)),
            m::originating_attorney_id.eq(excluded(m::originating_attorney_id)),
            m::responsible_staff_id.eq(excluded(m::responsible_staff_id)),
            m::practice_area.eq(excluded(m::practice_area)),
            m::matter_stage.eq(excluded(m::matter_stage)),
            m::custom_field_values.eq(excluded(m::custom_field_values)),
            m::data.eq(excluded(m::data)),
            m::deleted_at.eq(excluded(m::deleted_at)),
            m::synced_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A mirrored matter.
pub async fn matter(
    conn: &mut AsyncPgConnection,
    account: i64,
    id: i64,
) -> QueryResult<Option<MatterRow>> {
    m::table
        .find((account, id))
        .select(MatterRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Live matters of a firm created in Clio at or after `since`, oldest first: what a user away
/// since then has not been matched against. Clio's `created_at` decides (a matter back-dated to
/// an earlier `open_date` still counts); without one, the open date does.
pub async fn matters_created_since(
    conn: &mut AsyncPgConnection,
    account: i64,
    since: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    // A matter created since has changed since: the index-friendly filter first, then Clio's
    // own creation time read from the record.
    let changed: Vec<(i64, Option<NaiveDate>, Value)> = m::table
        .filter(m::clio_account_id.eq(account))
        .filter(m::clio_updated_at.ge(since))
        .filter(m::deleted_at.is_null())
        .select((m::clio_id, m::open_date, m::data))
        .order(m::clio_id.asc())
        .load(conn)
        .await?;
    Ok(changed
        .into_iter()
        .filter(|(_, open_date, data)| {
            let created = data["created_at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok());
            match created {
                Some(created) => created >= since,
                None => open_date.is_some_and(|d| d >= since.date_naive()),
            }
        })
        .map(|(id, _, _)| id)
        .collect())
}

/// Marks records deleted in Clio (absent when re-read after an event, `deleted` ones included);
/// the ids newly marked. A record never seen gets a deleted row too, so the mirror says what
/// became of it.
pub async fn mark_deleted(
    conn: &mut AsyncPgConnection,
    model: Model,
    account: i64,
    ids: &[i64],
    at: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    macro_rules! tombstones {
        ($t:ident) => {{
            let rows: Vec<_> = ids
                .iter()
                .map(|id| {
                    (
                        $t::clio_account_id.eq(account),
                        $t::clio_id.eq(*id),
                        $t::data.eq(serde_json::json!({})),
                        $t::deleted_at.eq(at),
                    )
                })
                .collect();
            let mut marked: Vec<i64> = diesel::insert_into($t::table)
                .values(rows)
                .on_conflict_do_nothing()
                .returning($t::clio_id)
                .get_results(conn)
                .await?;
            marked.extend(
                diesel::update(
                    $t::table
                        .filter($t::clio_account_id.eq(account))
                        .filter($t::clio_id.eq_any(ids))
                        .filter($t::deleted_at.is_null()),
                )
                .set(($t::deleted_at.eq(at), $t::synced_at.eq(Utc::now())))
                .returning($t::clio_id)
                .get_results::<i64>(conn)
                .await?,
            );
            marked.sort_unstable();
            marked
        }};
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match model {
        Model::Matter => tombstones!(m),
        Model::Contact => tombstones!(c),
        Model::Bill => tombstones!(b),
        // Users and custom field definitions are replaced whole by each sweep, never tombstoned.
        Model::User | Model::CustomField => Vec::new(),
    })
}

/// The Clio ids of the firm's live (not deleted) matters, contacts or bills.
pub async fn live_ids(
    conn: &mut AsyncPgConnection,
    model: Model,
    account: i64,
) -> QueryResult<Vec<i64>> {
    macro_rules! live {
        ($t:ident) => {
            $t::table
                .filter(
                    $t::clio_account_id
                        .eq(account)
                        .and($t::deleted_at.is_null()),
                )
                .select($t::clio_id)
                .order($t::clio_id.asc())
                .load(conn)
                .await
        };
    }
    match model {
        Model::Matter => live!(m),
        Model::Contact => live!(c),
        Model::Bill => live!(b),
        Model::User => {
            u::table
                .filter(u::clio_account_id.eq(account))
                .select(u::clio_id)
                .order(u::clio_id.asc())
                .load(conn)
                .await
        }
        Model::CustomField => {
            cf::table
                .filter(cf::clio_account_id.eq(account))
                .select(cf::clio_id)
                .order(cf::clio_id.asc())
                .load(conn)
                .await
        }
    }
}

/// How many live records of a model the firm's mirror holds.
pub async fn count_live(
    conn: &mut AsyncPgConnection,
    model: Model,
    account: i64,
) -> QueryResult<i64> {
    match model {
        Model::Matter => {
            m::table
                .filter(m::clio_account_id.eq(account).and(m::deleted_at.is_null()))
                .count()
                .get_result(conn)
                .await
        }
        Model::Contact => {
            c::table
                .filter(c::clio_account_id.eq(account).and(c::deleted_at.is_null()))
                .count()
                .get_result(conn)
                .await
        }
        Model::Bill => {
            b::table
                .filter(b::clio_account_id.eq(account).and(b::deleted_at.is_null()))
                .count()
                .get_result(conn)
                .await
        }
        Model::User => {
            u::table
                .filter(u::clio_account_id.eq(account))
                .count()
                .get_result(conn)
                .await
        }
        Model::CustomField => {
            cf::table
                .filter(cf::clio_account_id.eq(account))
                .count()
                .get_result(conn)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(etag: &str, secs: i64) -> Version<()> {
        Version {
            clio_id: 1,
            etag: Some(etag.into()),
            updated_at: DateTime::from_timestamp(secs, 0),
            state: None,
            deleted_at: None,
        }
    }

    #[test]
    fn only_a_newer_read_replaces_a_version() {
        let v = held("\"a\"", 100);
        assert!(v.is_older_than(Some("\"b\""), DateTime::from_timestamp(101, 0)));
        assert!(!v.is_older_than(Some("\"b\""), DateTime::from_timestamp(99, 0)));
        assert!(!v.is_older_than(Some("\"a\""), DateTime::from_timestamp(100, 0)));
        // The same second, another etag: Clio's whole seconds cannot order them; the later read wins.
        assert!(v.is_older_than(Some("\"b\""), DateTime::from_timestamp(100, 0)));
        assert!(!v.is_older_than(Some("\"b\""), None));
    }
}
