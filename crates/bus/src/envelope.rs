//! The message every Clio event travels in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The envelope format's version; a consumer refuses versions it does not know.
pub const ENVELOPE_VERSION: u32 = 1;

/// A Clio webhook event as the receiver accepted it, or a domain event the sync stage derived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_VERSION`].
    pub version: u32,
    /// Who produced it: [`SOURCE_CLIO`] (a webhook the receiver accepted; the default, so the
    /// receiver need not write it) or [`SOURCE_SYNC`] (a domain event of the sync stage).
    #[serde(default = "clio_source")]
    pub source: String,
    /// Derived from the subscription and the raw body, so Clio's redeliveries share it.
    pub event_id: String,
    /// Our subscription it came through (0 for a domain event).
    pub subscription_id: i64,
    /// The connection the subscription belongs to.
    pub connection_id: i64,
    /// matter, contact or bill.
    pub model: String,
    /// Clio's event: created, updated, deleted, matter_opened, ...
    pub event: String,
    /// The record's Clio id, when the body carried one.
    pub record_id: Option<i64>,
    /// The record's etag, when the body carried one.
    pub etag: Option<String>,
    /// When the receiver accepted it.
    pub received_at: DateTime<Utc>,
    /// The receiver's request id, for following one event through the logs.
    pub request_id: String,
    /// The delivery's `data`, as received.
    pub data: serde_json::Value,
}

/// [`Envelope::source`] of a Clio webhook event.
pub const SOURCE_CLIO: &str = "clio";
/// [`Envelope::source`] of a domain event (`sync.matter.opened`, ...).
pub const SOURCE_SYNC: &str = "sync";

fn clio_source() -> String {
    SOURCE_CLIO.to_owned()
}

/// `clio.{model}.{event}`: the routing key of a Clio event, what workers bind to.
pub fn routing_key(model: &str, event: &str) -> String {
    format!("{SOURCE_CLIO}.{model}.{event}")
}

impl Envelope {
    /// This event's routing key: `{source}.{model}.{event}` (`clio.matter.updated`,
    /// `sync.matter.status_changed`).
    pub fn routing_key(&self) -> String {
        format!("{}.{}.{}", self.source, self.model, self.event)
    }
}
