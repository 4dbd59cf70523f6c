//! The message every event travels in: a Clio webhook as the receiver accepted it, or a domain
//! event the sync stage derived. One type, tagged by its source, so that a producer and its
//! consumers cannot disagree about what a message carries.

use chrono::{DateTime, Utc};
use matterhook_domain::{
    sync_events::{ChangeKind, DomainEvent},
    AccountId, ActivityId, ClioId, ConnectionId, Model, SubscriptionId,
};
use serde::{Deserialize, Serialize};

/// The envelope format's version; a consumer refuses versions it does not know.
///
/// 2: the event is one tagged [`Event`] (1 had untyped `source`, `model`, `event` and `data`).
pub const ENVELOPE_VERSION: u32 = 2;

/// One event on its way through the bus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// [`ENVELOPE_VERSION`].
    pub version: u32,
    /// Derived from the subscription and the raw body (so Clio's redeliveries share it), or from
    /// the change (so a republished domain event is a duplicate).
    pub event_id: String,
    /// Our subscription it came through (0 for a domain event).
    pub subscription_id: SubscriptionId,
    /// The connection the subscription belongs to, or whose read found the change.
    pub connection_id: ConnectionId,
    /// When the receiver accepted it, or the sync stage derived it.
    pub received_at: DateTime<Utc>,
    /// The receiver's request id, for following one event from Clio's POST to its effect.
    pub request_id: String,
    /// What happened.
    pub event: Event,
}

/// What happened, by who saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Event {
    /// A Clio webhook delivery, as received.
    Clio(ClioEvent),
    /// A domain event of the sync stage (`sync.matter.opened`, ...).
    Sync(DomainEvent),
    /// An activity a user posted, to write to Clio (`writeback.contact.activity`).
    Writeback(WritebackRequest),
}

/// An activity queued for writeback: the API writes it to the outbox in the transaction that
/// stores the activity, so one is never without the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritebackRequest {
    /// The activity (its row holds what to write).
    pub activity: ActivityId,
    /// The firm it is written to.
    pub account: AccountId,
    /// The Clio contact it goes on.
    pub contact: ClioId,
}

impl WritebackRequest {
    /// The event id of the request for `activity` as posted: one per activity, so a second
    /// publication (a relay's retry) is a duplicate consumers drop.
    pub fn event_id(activity: ActivityId) -> String {
        format!("writeback:activity:{activity}")
    }

    /// The event id of the request to write `activity` again after its dead letter `letter`:
    /// a replay is a new event, not a duplicate of the first request.
    pub fn replay_event_id(activity: ActivityId, letter: &str) -> String {
        format!("writeback:activity:{activity}:after:{letter}")
    }
}

/// A Clio webhook delivery. Its `data` stays Clio's raw JSON: the sync stage re-reads the record
/// rather than trusting it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClioEvent {
    /// The model the subscription is for.
    pub model: Model,
    /// Clio's event name: created, updated, deleted, matter_opened, ...
    pub event: String,
    /// The record's Clio id, when the body carried one.
    pub record_id: Option<ClioId>,
    /// The record's etag, when the body carried one.
    pub etag: Option<String>,
    /// The delivery's `data`, as received.
    pub data: serde_json::Value,
}

/// The routing keys' first part for a Clio webhook.
pub const SOURCE_CLIO: &str = "clio";
/// The routing keys' first part for a domain event.
pub const SOURCE_SYNC: &str = "sync";
/// The routing keys' first part for work the API queued.
pub const SOURCE_WRITEBACK: &str = "writeback";

/// The routing key of (and binding for) an activity to write back: `writeback.contact.activity`.
pub fn writeback_binding() -> String {
    format!("{SOURCE_WRITEBACK}.{}.activity", Model::Contact)
}

/// `clio.{model}.{event}`: the routing key of a Clio event.
pub fn routing_key(model: Model, event: &str) -> String {
    format!("{SOURCE_CLIO}.{model}.{event}")
}

/// The bindings for every Clio event of `model`: `clio.{model}.{event}` for each of
/// [`Model::webhook_events`] (the events exchange is direct: no wildcards).
pub fn clio_bindings(model: Model) -> Vec<String> {
    model
        .webhook_events()
        .iter()
        .map(|event| routing_key(model, event))
        .collect()
}

/// The bindings for every Clio event of every model.
pub fn all_clio_bindings() -> Vec<String> {
    Model::WEBHOOK.into_iter().flat_map(clio_bindings).collect()
}

/// The bindings for every domain event.
pub fn all_domain_bindings() -> Vec<String> {
    use strum::VariantArray;
    ChangeKind::VARIANTS
        .iter()
        .copied()
        .map(domain_binding)
        .collect()
}

/// The routing key of a domain event, and the binding for it: `sync.{model}.{name}`.
pub fn domain_binding(kind: ChangeKind) -> String {
    format!("{SOURCE_SYNC}.{}.{}", kind.model(), kind.name())
}

/// An envelope that carries another kind of event than the consumer expects.
#[derive(Debug, Clone, thiserror::Error)]
#[error("expected {expected}, got the event {routing_key}")]
pub struct WrongEvent {
    /// What the consumer wanted.
    pub expected: &'static str,
    /// What it got.
    pub routing_key: String,
}

/// Why a message is not an envelope this version reads.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON, or not an envelope's shape.
    #[error("not a valid envelope")]
    Json(#[from] serde_json::Error),
    /// A version this code does not know (a newer producer).
    #[error("unknown envelope version {0}")]
    Version(u64),
    /// A version-1 envelope that cannot be upgraded.
    #[error(transparent)]
    V1(#[from] crate::envelope_v1::V1Error),
    /// A domain event of a version this code does not know.
    #[error("unknown domain event version {0}")]
    DomainVersion(u32),
}

impl Envelope {
    /// Reads a message: this version, or the first (upgraded, so what was written before an
    /// upgrade is not lost).
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        Self::decode_value(serde_json::from_slice(body)?)
    }

    /// [`Envelope::decode`] of JSON already parsed (a sync queue or dead-letter row).
    pub fn decode_value(value: serde_json::Value) -> Result<Self, DecodeError> {
        let version = value
            .get("version")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0);
        let envelope = match version {
            1 => crate::envelope_v1::upgrade(value)?,
            v if v == u64::from(ENVELOPE_VERSION) => serde_json::from_value::<Self>(value)?,
            other => return Err(DecodeError::Version(other)),
        };
        if let Event::Sync(d) = &envelope.event {
            if d.version != matterhook_domain::sync_events::DOMAIN_EVENT_VERSION {
                return Err(DecodeError::DomainVersion(d.version));
            }
        }
        Ok(envelope)
    }

    /// This event's routing key: `clio.{model}.{event}` or `sync.{model}.{name}`.
    pub fn routing_key(&self) -> String {
        match &self.event {
            Event::Clio(c) => routing_key(c.model, &c.event),
            Event::Sync(d) => domain_binding(d.change.kind()),
            Event::Writeback(_) => writeback_binding(),
        }
    }

    /// The model the event is about.
    pub fn model(&self) -> Model {
        match &self.event {
            Event::Clio(c) => c.model,
            Event::Sync(d) => d.change.model(),
            Event::Writeback(_) => Model::Contact,
        }
    }

    /// The event's name within its model: Clio's (`updated`) or the change's (`paid`).
    pub fn event_name(&self) -> &str {
        match &self.event {
            Event::Clio(c) => &c.event,
            Event::Sync(d) => d.change.name(),
            Event::Writeback(_) => "activity",
        }
    }

    /// The record it is about, when known.
    pub fn record_id(&self) -> Option<ClioId> {
        match &self.event {
            Event::Clio(c) => c.record_id,
            Event::Sync(d) => Some(d.record),
            Event::Writeback(w) => Some(w.contact),
        }
    }

    /// The Clio delivery, for consumers of webhooks.
    pub fn clio(&self) -> Result<&ClioEvent, WrongEvent> {
        match &self.event {
            Event::Clio(c) => Ok(c),
            Event::Sync(_) | Event::Writeback(_) => Err(self.wrong("a Clio event")),
        }
    }

    /// The domain event, for consumers of the sync stage's outbox.
    pub fn domain(&self) -> Result<&DomainEvent, WrongEvent> {
        match &self.event {
            Event::Sync(d) => Ok(d),
            Event::Clio(_) | Event::Writeback(_) => Err(self.wrong("a domain event")),
        }
    }

    /// The activity to write, for the writeback worker.
    pub fn writeback(&self) -> Result<&WritebackRequest, WrongEvent> {
        match &self.event {
            Event::Writeback(w) => Ok(w),
            Event::Clio(_) | Event::Sync(_) => Err(self.wrong("an activity to write back")),
        }
    }

    /// The envelope of the request (event `event_id`) to write `request`'s activity, through
    /// `connection`.
    pub fn for_writeback(
        event_id: String,
        connection: ConnectionId,
        request: WritebackRequest,
        at: DateTime<Utc>,
        request_id: String,
    ) -> Self {
        Self {
            version: ENVELOPE_VERSION,
            event_id,
            subscription_id: SubscriptionId(0),
            connection_id: connection,
            received_at: at,
            request_id,
            event: Event::Writeback(request),
        }
    }

    fn wrong(&self, expected: &'static str) -> WrongEvent {
        WrongEvent {
            expected,
            routing_key: self.routing_key(),
        }
    }
}

#[cfg(test)]
mod tests {
    use matterhook_domain::{sync_events::Change, AccountId, MatterStatus};
    use strum::VariantArray;

    use super::*;

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("time")
    }

    #[test]
    fn a_clio_event_is_tagged_and_routed_by_its_model_and_event() {
        let e = Envelope {
            version: ENVELOPE_VERSION,
            event_id: "e1".into(),
            subscription_id: SubscriptionId(3),
            connection_id: ConnectionId(4),
            received_at: at(),
            request_id: "r1".into(),
            event: Event::Clio(ClioEvent {
                model: Model::Matter,
                event: "matter_closed".into(),
                record_id: Some(ClioId(9)),
                etag: None,
                data: serde_json::json!({"id": 9}),
            }),
        };
        let json = serde_json::to_value(&e).expect("json");
        assert_eq!(json["event"]["source"], "clio");
        assert_eq!(json["event"]["model"], "matter");
        assert_eq!(e.routing_key(), "clio.matter.matter_closed");
        let back: Envelope = serde_json::from_value(json).expect("back");
        assert_eq!(back, e);
        assert!(back.domain().is_err());
    }

    #[test]
    fn a_domain_event_is_routed_by_its_change() {
        let e = Envelope {
            version: ENVELOPE_VERSION,
            event_id: "s1".into(),
            subscription_id: SubscriptionId(0),
            connection_id: ConnectionId(4),
            received_at: at(),
            request_id: String::new(),
            event: Event::Sync(DomainEvent::new(
                AccountId(1),
                ClioId(9),
                None,
                Change::MatterStatusChanged {
                    from: MatterStatus::Open,
                    to: MatterStatus::Closed,
                },
            )),
        };
        assert_eq!(e.routing_key(), "sync.matter.status_changed");
        assert_eq!(
            domain_binding(ChangeKind::BillPaid),
            "sync.bill.paid",
            "the binding a consumer declares is the key a producer routes by"
        );
        let back: Envelope =
            serde_json::from_slice(&serde_json::to_vec(&e).expect("json")).expect("back");
        assert_eq!(back.domain().expect("domain").record, ClioId(9));
        let wrong = back.clio().expect_err("not a Clio event");
        assert_eq!(
            wrong.to_string(),
            "expected a Clio event, got the event sync.matter.status_changed"
        );
    }

    /// The fuzzer's find (`fuzz/seeds/envelope/regression-float-roundtrip`): without
    /// `serde_json`'s exact float parsing, a number in a record's data came back one unit in the
    /// last place off after a hop through a queue.
    #[test]
    fn numbers_in_data_survive_a_hop_exactly() {
        let json = r#"{"version":2,"event_id":"e","subscription_id":1,"connection_id":2,
            "received_at":"2026-01-01T00:00:00Z","request_id":"r","event":{"source":"clio",
            "model":"bill","event":"updated","record_id":3,"etag":null,
            "data":{"total":2.2222422222222225e29,"balance":1234.56,"tiny":5e-324}}}"#;
        let read = Envelope::decode(json.as_bytes()).expect("decodes");
        let again = Envelope::decode(&serde_json::to_vec(&read).expect("encodes")).expect("again");
        assert_eq!(again, read);
        let data = &again.clio().expect("Clio").data;
        assert_eq!(data["total"].as_f64(), Some(2.2222422222222225e29));
        assert_eq!(data["balance"].as_f64(), Some(1234.56));
    }

    #[test]
    fn a_newer_version_is_refused_and_the_first_is_upgraded() {
        let newer = serde_json::json!({"version": 3, "event_id": "x"});
        assert!(matches!(
            Envelope::decode_value(newer),
            Err(DecodeError::Version(3))
        ));
        let v1 = serde_json::json!({
            "version": 1, "source": "sync", "event_id": "x", "subscription_id": 0,
            "connection_id": 1, "model": "bill", "event": "paid", "record_id": 2, "etag": null,
            "received_at": "2026-01-01T00:00:00Z", "request_id": "", "data": {"clio_account_id": 5}
        });
        let upgraded = Envelope::decode_value(v1).expect("upgraded");
        assert_eq!(upgraded.routing_key(), "sync.bill.paid");
    }

    #[test]
    fn a_message_of_the_first_version_is_not_read_as_this_one() {
        let v1 = serde_json::json!({
            "version": 1, "source": "sync", "event_id": "x", "subscription_id": 0,
            "connection_id": 1, "model": "bill", "event": "paid", "record_id": 2, "etag": null,
            "received_at": "2026-01-01T00:00:00Z", "request_id": "", "data": {}
        });
        assert!(serde_json::from_value::<Envelope>(v1).is_err());
    }

    #[test]
    fn every_clio_event_we_subscribe_to_has_a_binding_and_nothing_else_does() {
        let all = super::all_clio_bindings();
        assert_eq!(all.len(), 12, "{all:?}");
        assert!(all.contains(&"clio.matter.matter_closed".to_owned()));
        assert!(all.contains(&"clio.bill.deleted".to_owned()));
        assert!(!all.iter().any(|k| k.contains('#') || k.contains('*')));
        assert!(super::clio_bindings(Model::User).is_empty());
        let domain = super::all_domain_bindings();
        assert!(domain.contains(&"sync.matter.status_changed".to_owned()));
        assert_eq!(domain.len(), ChangeKind::VARIANTS.len());
    }
}
