//! Mirrored bills: amounts in minor units of each bill's own currency.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{
    money::{Currency, Money},
    BillState,
};
use serde_json::Value;

use crate::schema::clio_bills as b;

/// A bill as mirrored.
#[derive(Debug, Clone, Insertable, AsChangeset, Queryable, Selectable)]
#[diesel(table_name = b, treat_none_as_null = true)]
pub struct BillRow {
    /// The firm.
    pub clio_account_id: i64,
    /// Clio id.
    pub clio_id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Clio's last change.
    pub clio_updated_at: Option<DateTime<Utc>>,
    /// Bill number.
    pub number: Option<String>,
    /// Clio's state.
    pub state: Option<BillState>,
    /// Total, in minor units of `currency`.
    pub total_minor: Option<i64>,
    /// Paid, in minor units of `currency`.
    pub paid_minor: Option<i64>,
    /// Outstanding, in minor units of `currency`.
    pub balance_minor: Option<i64>,
    /// Paid in full at.
    pub paid_at: Option<DateTime<Utc>>,
    /// Billed client.
    pub client_id: Option<i64>,
    /// Matters covered.
    pub matter_ids: Vec<i64>,
    /// The record as read.
    pub data: Value,
    /// Deleted in Clio.
    pub deleted_at: Option<DateTime<Utc>>,
    /// The bill's currency (ISO 4217).
    pub currency: String,
    /// The sign Clio shows for it.
    pub currency_sign: Option<String>,
}

impl BillRow {
    /// The bill's currency (USD for a row whose code is not one).
    pub fn currency(&self) -> Currency {
        Currency::new(&self.currency, self.currency_sign.as_deref()).unwrap_or_else(Currency::usd)
    }

    /// The bill's total, when Clio gave one.
    pub fn total(&self) -> Option<Money> {
        self.total_minor
            .map(|minor| Money::new(minor, self.currency()))
    }
}

/// Writes a bill (the caller decided it is newer).
pub async fn upsert_bill(conn: &mut AsyncPgConnection, row: &BillRow) -> QueryResult<()> {
    upsert_bills(conn, &[row]).await
}

/// Writes bills in one statement (the caller decided each is newer, holding their rows locked).
pub async fn upsert_bills(conn: &mut AsyncPgConnection, rows: &[&BillRow]) -> QueryResult<()> {
    use diesel::upsert::excluded;
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(b::table)
        .values(rows.to_vec())
        .on_conflict((b::clio_account_id, b::clio_id))
        .do_update()
        .set((
            b::etag.eq(excluded(b::etag)),
            b::clio_updated_at.eq(excluded(b::clio_updated_at)),
            b::number.eq(excluded(b::number)),
            b::state.eq(excluded(b::state)),
            b::total_minor.eq(excluded(b::total_minor)),
            b::paid_minor.eq(excluded(b::paid_minor)),
            b::balance_minor.eq(excluded(b::balance_minor)),
            b::paid_at.eq(excluded(b::paid_at)),
            b::client_id.eq(excluded(b::client_id)),
            b::matter_ids.eq(excluded(b::matter_ids)),
            b::data.eq(excluded(b::data)),
            b::deleted_at.eq(excluded(b::deleted_at)),
            b::currency.eq(excluded(b::currency)),
            b::currency_sign.eq(excluded(b::currency_sign)),
            b::synced_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// The firm's live paid bills covering `matter_id`.
pub async fn paid_bills_of_matter(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter_id: i64,
) -> QueryResult<Vec<BillRow>> {
    b::table
        .filter(b::clio_account_id.eq(account))
        .filter(b::matter_ids.contains(vec![matter_id]))
        .filter(b::state.eq(BillState::Paid))
        .filter(b::deleted_at.is_null())
        .select(BillRow::as_select())
        .order(b::clio_id.asc())
        .load(conn)
        .await
}

/// A mirrored bill.
pub async fn bill(
    conn: &mut AsyncPgConnection,
    account: i64,
    id: i64,
) -> QueryResult<Option<BillRow>> {
    b::table
        .find((account, id))
        .select(BillRow::as_select())
        .first(conn)
        .await
        .optional()
}
