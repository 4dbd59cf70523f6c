//! The message every Clio event travels in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The envelope format's version; a consumer refuses versions it does not know.
pub const ENVELOPE_VERSION: u32 = 1;

/// One Clio webhook event, as the receiver accepted it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_VERSION`].
    pub version: u32,
    /// Derived from the subscription and the raw body, so Clio's redeliveries share it.
    pub event_id: String,
    /// Our subscription it came through.
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

/// `clio.{model}.{event}`: the routing key of a Clio event, what workers bind to.
pub fn routing_key(model: &str, event: &str) -> String {
    format!("clio.{model}.{event}")
}

impl Envelope {
    /// This event's [`routing_key`].
    pub fn routing_key(&self) -> String {
        routing_key(&self.model, &self.event)
    }
}
