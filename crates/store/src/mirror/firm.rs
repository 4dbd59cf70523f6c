//! The firm's Clio users and custom field definitions, as Clio lists them.

use chrono::Utc;
use diesel::{prelude::*, upsert::excluded, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;

use crate::schema::{clio_custom_fields as cf, clio_users as u};

/// A Clio user of the firm.
#[derive(Debug, Clone)]
pub struct UserRow {
    /// Clio id.
    pub clio_id: i64,
    /// Name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Whether enabled.
    pub enabled: Option<bool>,
    /// Attorney or NonAttorney.
    pub subscription_type: Option<String>,
    /// Phone number, as typed.
    pub phone_number: Option<String>,
}

/// Writes the firm's users as Clio lists them.
pub async fn upsert_users(
    conn: &mut AsyncPgConnection,
    account: i64,
    users: &[UserRow],
) -> QueryResult<()> {
    if users.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = users
        .iter()
        .map(|x| {
            (
                u::clio_account_id.eq(account),
                u::clio_id.eq(x.clio_id),
                u::name.eq(x.name.clone()),
                u::email.eq(x.email.clone()),
                u::enabled.eq(x.enabled),
                u::subscription_type.eq(x.subscription_type.clone()),
                u::phone_number.eq(x.phone_number.clone()),
            )
        })
        .collect();
    diesel::insert_into(u::table)
        .values(rows)
        .on_conflict((u::clio_account_id, u::clio_id))
        .do_update()
        .set((
            u::name.eq(excluded(u::name)),
            u::email.eq(excluded(u::email)),
            u::enabled.eq(excluded(u::enabled)),
            u::subscription_type.eq(excluded(u::subscription_type)),
            u::phone_number.eq(excluded(u::phone_number)),
            u::synced_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A custom field definition of the firm.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = cf)]
pub struct CustomFieldRow {
    /// Clio id.
    pub clio_id: i64,
    /// Matter or Contact.
    pub parent_type: String,
    /// Name.
    pub name: Option<String>,
    /// Field type.
    pub field_type: Option<String>,
    /// The definition as read.
    pub data: Value,
}

/// Writes the firm's custom field definitions as Clio lists them.
pub async fn upsert_custom_fields(
    conn: &mut AsyncPgConnection,
    account: i64,
    fields: &[CustomFieldRow],
) -> QueryResult<()> {
    if fields.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = fields
        .iter()
        .map(|f| {
            (
                cf::clio_account_id.eq(account),
                cf::clio_id.eq(f.clio_id),
                cf::parent_type.eq(f.parent_type.clone()),
                cf::name.eq(f.name.clone()),
                cf::field_type.eq(f.field_type.clone()),
                cf::data.eq(f.data.clone()),
            )
        })
        .collect();
    diesel::insert_into(cf::table)
        .values(rows)
        .on_conflict((cf::clio_account_id, cf::clio_id))
        .do_update()
        .set((
            cf::parent_type.eq(excluded(cf::parent_type)),
            cf::name.eq(excluded(cf::name)),
            cf::field_type.eq(excluded(cf::field_type)),
            cf::data.eq(excluded(cf::data)),
            cf::synced_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A firm's live custom field definitions of `parent_type` (`Matter` or `Contact`).
pub async fn custom_fields_of(
    conn: &mut AsyncPgConnection,
    account: i64,
    parent_type: &str,
) -> QueryResult<Vec<CustomFieldRow>> {
    cf::table
        .filter(cf::clio_account_id.eq(account))
        .filter(cf::parent_type.eq(parent_type))
        .select(CustomFieldRow::as_select())
        .load(conn)
        .await
}
