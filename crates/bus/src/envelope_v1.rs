//! Reading envelopes of the first version, so nothing written before an upgrade is lost: an event
//! in flight on a queue, a domain event still in the outbox, a record waiting in the sync queue, a
//! dead letter replayed later. Each is read as the version-2 envelope it means.
//!
//! Version 1 was flat and untyped: `{version: 1, source: "clio"|"sync" (absent: clio), event_id,
//! subscription_id, connection_id, model, event, record_id, etag, received_at, request_id,
//! data}`; a domain event's `data` held `clio_account_id`, and `from` and `to` for a status change.

use chrono::{DateTime, Utc};
use matterhook_domain::{
    sync_events::{Change, DomainEvent},
    AccountId, ClioId, ConnectionId, MatterStatus, Model, SubscriptionId,
};
use serde::Deserialize;

use crate::{envelope::ClioEvent, Envelope, Event, ENVELOPE_VERSION};

#[derive(Deserialize)]
struct V1 {
    #[serde(default)]
    source: Option<String>,
    event_id: String,
    subscription_id: i64,
    connection_id: i64,
    model: String,
    event: String,
    record_id: Option<i64>,
    etag: Option<String>,
    received_at: DateTime<Utc>,
    #[serde(default)]
    request_id: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Why a version-1 envelope cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum V1Error {
    /// Not the version-1 shape.
    #[error("not a version-1 envelope")]
    Shape(#[source] serde_json::Error),
    /// A model outside the vocabulary.
    #[error(transparent)]
    Model(#[from] matterhook_domain::UnknownModel),
    /// A domain event this version never had, or one missing what it needs.
    #[error("a version-1 domain event {0} that cannot be read")]
    Domain(String),
}

/// The version-2 envelope a version-1 one means.
pub(crate) fn upgrade(value: serde_json::Value) -> Result<Envelope, V1Error> {
    let v1: V1 = serde_json::from_value(value).map_err(V1Error::Shape)?;
    let model = Model::parse(&v1.model)?;
    let event = match v1.source.as_deref().unwrap_or("clio") {
        "sync" => Event::Sync(domain_event(&v1, model)?),
        _ => Event::Clio(ClioEvent {
            model,
            event: v1.event.clone(),
            record_id: v1.record_id.map(ClioId),
            etag: v1.etag.clone(),
            data: v1.data.clone(),
        }),
    };
    Ok(Envelope {
        version: ENVELOPE_VERSION,
        event_id: v1.event_id,
        subscription_id: SubscriptionId(v1.subscription_id),
        connection_id: ConnectionId(v1.connection_id),
        received_at: v1.received_at,
        request_id: v1.request_id,
        event,
    })
}

fn domain_event(v1: &V1, model: Model) -> Result<DomainEvent, V1Error> {
    let unreadable = || V1Error::Domain(format!("sync.{}.{}", v1.model, v1.event));
    let status = |key: &str| {
        v1.data
            .get(key)
            .and_then(|s| s.as_str())
            .map(MatterStatus::parse)
    };
    let change = match (model, v1.event.as_str()) {
        (Model::Matter, "opened") => Change::MatterOpened,
        (Model::Matter, "status_changed") => Change::MatterStatusChanged {
            from: status("from").ok_or_else(unreadable)?,
            to: status("to").ok_or_else(unreadable)?,
        },
        (Model::Contact, "changed") => Change::ContactChanged,
        (Model::Bill, "paid") => Change::BillPaid,
        _ => return Err(unreadable()),
    };
    let account = v1
        .data
        .get("clio_account_id")
        .and_then(serde_json::Value::as_i64)
        .ok_or_else(unreadable)?;
    let record = v1.record_id.ok_or_else(unreadable)?;
    Ok(DomainEvent::new(
        AccountId(account),
        ClioId(record),
        v1.etag.clone(),
        change,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_1_webhook_reads_as_the_same_clio_event() {
        let v1 = serde_json::json!({
            "version": 1, "event_id": "e", "subscription_id": 2, "connection_id": 3,
            "model": "contact", "event": "updated", "record_id": 7, "etag": "\"a\"",
            "received_at": "2026-11-01T00:00:00Z", "request_id": "r", "data": {"id": 7}
        });
        let e = upgrade(v1).expect("upgraded");
        assert_eq!(e.routing_key(), "clio.contact.updated");
        assert_eq!(e.record_id(), Some(ClioId(7)));
        assert_eq!(e.request_id, "r");
        assert_eq!(e.clio().expect("clio").data["id"], 7);
    }

    #[test]
    fn a_version_1_domain_event_reads_as_the_typed_change() {
        let v1 = serde_json::json!({
            "version": 1, "source": "sync", "event_id": "sync:1", "subscription_id": 0,
            "connection_id": 3, "model": "matter", "event": "status_changed", "record_id": 9,
            "etag": null, "received_at": "2026-11-01T00:00:00Z", "request_id": "",
            "data": {"clio_account_id": 44, "from": "Open", "to": "Closed"}
        });
        let e = upgrade(v1).expect("upgraded");
        let d = e.domain().expect("domain");
        assert_eq!((d.account, d.record), (AccountId(44), ClioId(9)));
        assert_eq!(
            d.change,
            Change::MatterStatusChanged {
                from: MatterStatus::Open,
                to: MatterStatus::Closed
            }
        );
        let bad = serde_json::json!({
            "version": 1, "source": "sync", "event_id": "x", "subscription_id": 0,
            "connection_id": 3, "model": "bill", "event": "paid", "record_id": 9,
            "received_at": "2026-11-01T00:00:00Z", "data": {}
        });
        assert!(
            upgrade(bad).is_err(),
            "a paid bill without its firm is refused"
        );
    }
}
