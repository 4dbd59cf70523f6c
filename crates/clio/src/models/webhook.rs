//! Webhook subscriptions.

use chrono::{DateTime, FixedOffset, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};

use super::common::lenient_id;

/// A webhook as Clio reports it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Webhook {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Where deliveries go.
    pub url: Option<String>,
    /// The fields deliveries carry (and, for `updated`, the fields watched).
    pub fields: Option<String>,
    /// `matter`, `contact`, `bill`, ...
    pub model: Option<String>,
    /// Subscribed events.
    pub events: Option<Vec<String>>,
    /// pending, enabled or suspended.
    pub status: Option<WebhookStatus>,
    /// When Clio stops delivering.
    pub expires_at: Option<DateTime<FixedOffset>>,
    /// The signing secret (never shown by `Debug`).
    pub shared_secret: Option<SecretString>,
    /// Created in Clio.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// A webhook's status. Statuses Clio may add later are kept as text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookStatus {
    /// Waiting for the handshake.
    Pending,
    /// Delivering.
    Enabled,
    /// Stopped after repeated failures.
    Suspended,
    /// Anything else.
    Other(String),
}

impl<'de> Deserialize<'de> for WebhookStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_lowercase().as_str() {
            "pending" => WebhookStatus::Pending,
            "enabled" => WebhookStatus::Enabled,
            "suspended" => WebhookStatus::Suspended,
            _ => WebhookStatus::Other(s),
        })
    }
}

/// The body of `POST /webhooks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct NewWebhook {
    /// Where deliveries go (https for Clio itself).
    pub url: String,
    /// Lowercase model name.
    pub model: String,
    /// Fields to deliver and watch.
    pub fields: String,
    /// Events to subscribe to; all of the model's when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// At most 31 days ahead; 3 days when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// The body of `PATCH /webhooks/{id}.json`; absent fields stay as they are.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WebhookUpdate {
    /// New URL (triggers a new handshake).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<String>,
    /// New events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// New expiry (how a webhook is renewed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}
