//! Mirrored contacts, with their normalised emails and phones for lookups.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::schema::{clio_contact_emails as ce, clio_contact_phones as cp, clio_contacts as c};

/// The etags the mirror holds for these contacts (no lock): to tell which a matter's client
/// read shows as changed.
pub async fn contact_etags(
    conn: &mut AsyncPgConnection,
    account: i64,
    ids: &[i64],
) -> QueryResult<Vec<(i64, Option<String>)>> {
    c::table
        .filter(c::clio_account_id.eq(account))
        .filter(c::clio_id.eq_any(ids))
        .filter(c::deleted_at.is_null())
        .select((c::clio_id, c::etag))
        .load(conn)
        .await
}

/// A contact as mirrored.
#[derive(Debug, Clone, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = c, treat_none_as_null = true)]
pub struct ContactRow {
    /// The firm.
    pub clio_account_id: i64,
    /// Clio id.
    pub clio_id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Clio's last change.
    pub clio_updated_at: Option<DateTime<Utc>>,
    /// Person or Company.
    pub kind: Option<String>,
    /// Full name.
    pub name: Option<String>,
    /// First name.
    pub first_name: Option<String>,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// Company contact.
    pub company_id: Option<i64>,
    /// Company name.
    pub company_name: Option<String>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Whether a client.
    pub is_client: Option<bool>,
    /// Primary email, normalised.
    pub primary_email: Option<String>,
    /// Custom field values.
    pub custom_field_values: Value,
    /// The record as read.
    pub data: Value,
    /// Deleted in Clio.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A normalised phone number of a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneRow {
    /// As typed in Clio.
    pub raw: String,
    /// E.164, when the country is known.
    pub e164: Option<String>,
    /// National significant digits.
    pub national: String,
    /// Last four digits.
    pub last_four: String,
}

/// Writes a contact with its normalised emails and phones (the caller decided it is newer).
pub async fn upsert_contact(
    conn: &mut AsyncPgConnection,
    row: &ContactRow,
    emails: &[String],
    phones: &[PhoneRow],
) -> QueryResult<()> {
    upsert_contacts(conn, &[(row, emails, phones)]).await
}

/// Writes contacts with their normalised emails and phones, a statement per table (the caller
/// decided each is newer, holding their rows locked). All rows are of one firm.
pub async fn upsert_contacts(
    conn: &mut AsyncPgConnection,
    contacts: &[(&ContactRow, &[String], &[PhoneRow])],
) -> QueryResult<()> {
    use diesel::upsert::excluded;
    let Some((first, _, _)) = contacts.first() else {
        return Ok(());
    };
    let account = first.clio_account_id;
    debug_assert!(contacts
        .iter()
        .all(|(r, _, _)| r.clio_account_id == account));
    diesel::insert_into(c::table)
        .values(contacts.iter().map(|(row, _, _)| *row).collect::<Vec<_>>())
        .on_conflict((c::clio_account_id, c::clio_id))
        .do_update()
        .set((
            c::etag.eq(excluded(c::etag)),
            c::clio_updated_at.eq(excluded(c::clio_updated_at)),
            c::kind.eq(excluded(c::kind)),
            c::name.eq(excluded(c::name)),
            c::first_name.eq(excluded(c::first_name)),
            c::middle_name.eq(excluded(c::middle_name)),
            c::last_name.eq(excluded(c::last_name)),
            c::title.eq(excluded(c::title)),
            c::company_id.eq(excluded(c::company_id)),
            c::company_name.eq(excluded(c::company_name)),
            c::date_of_birth.eq(excluded(c::date_of_birth)),
            c::is_client.eq(excluded(c::is_client)),
            c::primary_email.eq(excluded(c::primary_email)),
            c::custom_field_values.eq(excluded(c::custom_field_values)),
            c::data.eq(excluded(c::data)),
            c::deleted_at.eq(excluded(c::deleted_at)),
            c::synced_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    let ids: Vec<i64> = contacts.iter().map(|(row, _, _)| row.clio_id).collect();
    diesel::delete(
        ce::table.filter(
            ce::clio_account_id
                .eq(account)
                .and(ce::contact_id.eq_any(&ids)),
        ),
    )
    .execute(conn)
    .await?;
    diesel::delete(
        cp::table.filter(
            cp::clio_account_id
                .eq(account)
                .and(cp::contact_id.eq_any(&ids)),
        ),
    )
    .execute(conn)
    .await?;
    let email_rows: Vec<_> = contacts
        .iter()
        .flat_map(|(row, emails, _)| {
            emails.iter().map(|e| {
                (
                    ce::clio_account_id.eq(account),
                    ce::contact_id.eq(row.clio_id),
                    ce::email.eq(e),
                )
            })
        })
        .collect();
    if !email_rows.is_empty() {
        diesel::insert_into(ce::table)
            .values(email_rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
    }
    let phone_rows: Vec<_> = contacts
        .iter()
        .flat_map(|(row, _, phones)| {
            phones
                .iter()
                .zip(0..)
                .map(|(p, position): (&PhoneRow, i32)| {
                    (
                        cp::clio_account_id.eq(account),
                        cp::contact_id.eq(row.clio_id),
                        cp::position.eq(position),
                        cp::raw.eq(&p.raw),
                        cp::e164.eq(&p.e164),
                        cp::national.eq(&p.national),
                        cp::last_four.eq(&p.last_four),
                    )
                })
        })
        .collect();
    if !phone_rows.is_empty() {
        diesel::insert_into(cp::table)
            .values(phone_rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// A mirrored contact.
pub async fn contact(
    conn: &mut AsyncPgConnection,
    account: i64,
    id: i64,
) -> QueryResult<Option<ContactRow>> {
    c::table
        .find((account, id))
        .select(ContactRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The firm's live contacts with a phone number matching `phone` (already normalised): by
/// E.164 when given, else by national digits.
pub async fn contacts_by_phone(
    conn: &mut AsyncPgConnection,
    account: i64,
    e164: Option<&str>,
    national: &str,
) -> QueryResult<Vec<i64>> {
    let mut query = cp::table
        .inner_join(
            c::table.on(c::clio_account_id
                .eq(cp::clio_account_id)
                .and(c::clio_id.eq(cp::contact_id))),
        )
        .filter(cp::clio_account_id.eq(account))
        .filter(c::deleted_at.is_null())
        .select(cp::contact_id)
        .distinct()
        .into_boxed();
    query = match e164 {
        Some(e) => query.filter(cp::e164.eq(e.to_owned())),
        None => query.filter(cp::national.eq(national.to_owned())),
    };
    query.load(conn).await
}

/// The firm's live contacts with this (normalised) email.
pub async fn contacts_by_email(
    conn: &mut AsyncPgConnection,
    account: i64,
    email: &str,
) -> QueryResult<Vec<i64>> {
    ce::table
        .inner_join(
            c::table.on(c::clio_account_id
                .eq(ce::clio_account_id)
                .and(c::clio_id.eq(ce::contact_id))),
        )
        .filter(ce::clio_account_id.eq(account))
        .filter(ce::email.eq(email))
        .filter(c::deleted_at.is_null())
        .select(ce::contact_id)
        .distinct()
        .load(conn)
        .await
}

/// A contact's normalised emails.
pub async fn contact_emails(
    conn: &mut AsyncPgConnection,
    account: i64,
    id: i64,
) -> QueryResult<Vec<String>> {
    ce::table
        .filter(ce::clio_account_id.eq(account).and(ce::contact_id.eq(id)))
        .select(ce::email)
        .load(conn)
        .await
}
