//! Notes and communications: what activity writeback creates.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::{common::lenient_id, IdRef};

/// A note on a contact or matter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Note {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// `Contact` or `Matter`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// Body.
    pub detail: Option<String>,
    /// The day it refers to.
    pub date: Option<NaiveDate>,
    /// The contact it is on.
    pub contact: Option<IdRef>,
    /// The matter it is on.
    pub matter: Option<IdRef>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// The body of `POST /notes.json`. Exactly one of `contact` and `matter` is set, matching `kind`.
#[derive(Debug, Clone, Serialize)]
pub struct NewNote {
    /// `Contact` or `Matter`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The contact it goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<IdRef>,
    /// The matter it goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matter: Option<IdRef>,
    /// Subject line.
    pub subject: String,
    /// Body.
    pub detail: String,
    /// The day it refers to.
    pub date: NaiveDate,
}

/// A phone call or email logged in Clio.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Communication {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// `PhoneCommunication` or `EmailCommunication`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Subject line.
    pub subject: Option<String>,
    /// Body.
    pub body: Option<String>,
    /// When it happened.
    pub received_at: Option<DateTime<FixedOffset>>,
    /// The matter it belongs to.
    pub matter: Option<IdRef>,
}

/// A sender or receiver of a communication.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Participant {
    /// Clio id of the user or contact.
    pub id: i64,
    /// `User` or `Contact`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// The body of `POST /communications.json`.
#[derive(Debug, Clone, Serialize)]
pub struct NewCommunication {
    /// `PhoneCommunication` or `EmailCommunication`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Subject line.
    pub subject: String,
    /// Body.
    pub body: String,
    /// When it happened.
    pub received_at: DateTime<Utc>,
    /// The matter it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matter: Option<IdRef>,
    /// Who sent it.
    pub senders: Vec<Participant>,
    /// Who received it.
    pub receivers: Vec<Participant>,
}
