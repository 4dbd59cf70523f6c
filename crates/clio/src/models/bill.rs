//! Bills.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::{Deserialize, Deserializer};

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
}

/// A bill's state. States Clio may add later are kept as text rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BillState {
    /// draft
    Draft,
    /// awaiting_approval
    AwaitingApproval,
    /// awaiting_payment
    AwaitingPayment,
    /// paid
    Paid,
    /// void
    Void,
    /// deleted
    Deleted,
    /// Anything else Clio sends.
    Other(String),
}

impl BillState {
    /// Clio's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            BillState::Draft => "draft",
            BillState::AwaitingApproval => "awaiting_approval",
            BillState::AwaitingPayment => "awaiting_payment",
            BillState::Paid => "paid",
            BillState::Void => "void",
            BillState::Deleted => "deleted",
            BillState::Other(s) => s,
        }
    }

    /// Parses Clio's spelling (any case).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "draft" => BillState::Draft,
            "awaiting_approval" => BillState::AwaitingApproval,
            "awaiting_payment" => BillState::AwaitingPayment,
            "paid" => BillState::Paid,
            "void" => BillState::Void,
            "deleted" => BillState::Deleted,
            other => BillState::Other(other.to_owned()),
        }
    }
}

impl<'de> Deserialize<'de> for BillState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BillState::parse(&String::deserialize(d)?))
    }
}
