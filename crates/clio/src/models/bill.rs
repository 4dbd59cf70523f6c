//! Bills.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;

use super::{common::lenient_id, Contact, Matter};

/// A bill. "Paid" means `state == paid`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Bill {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Bill number.
    pub number: Option<String>,
    /// Where the bill is in its life.
    pub state: Option<BillState>,
    /// Total amount.
    pub total: Option<f64>,
    /// Amount paid.
    pub paid: Option<f64>,
    /// Amount outstanding.
    pub balance: Option<f64>,
    /// When it was paid in full.
    pub paid_at: Option<DateTime<FixedOffset>>,
    /// Issue date.
    pub issued_at: Option<NaiveDate>,
    /// Due date.
    pub due_at: Option<NaiveDate>,
    /// The billed client.
    pub client: Option<Contact>,
    /// The matters the bill covers (one or more).
    pub matters: Option<Vec<Matter>>,
    /// Created in Clio.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
    /// The currency its amounts are in.
    pub currency: Option<BillCurrency>,
}

/// A bill's currency, as Clio nests it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BillCurrency {
    /// ISO 4217 code (`USD`, `EUR`).
    pub code: Option<String>,
    /// Its sign (`$`, `€`).
    pub sign: Option<String>,
}

pub use matterhook_domain::BillState;
