//! A delivery's body read as Clio sends it, and the envelope written from it: pure, so that the
//! fuzzer (`fuzz/fuzz_targets/delivery.rs`) drives exactly what the receiver runs.

use matterhook_bus::{ENVELOPE_VERSION, SOURCE_CLIO};
use matterhook_domain::Model;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

/// Why a signed body is not a Clio delivery (answered 400).
#[derive(Debug, thiserror::Error)]
pub enum Malformed {
    /// Not JSON, or without `data` and `meta.event` / `meta.webhook_id`.
    #[error("not a Clio webhook body")]
    Body(#[source] serde_json::Error),
    /// `data` holds what no worker could read (a number beyond a double's range: the fuzzer's
    /// find, which would have been answered 200 and then dead-lettered).
    #[error("data cannot be read")]
    Data(#[source] serde_json::Error),
    /// `data` is not an object, or its `etag` is not a string.
    #[error("{0}")]
    Shape(&'static str),
}

/// A delivery body. `data` stays raw JSON: it is forwarded as received, never rebuilt.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    data: &'a RawValue,
    meta: Meta,
}

#[derive(Deserialize)]
struct Meta {
    event: String,
    webhook_id: i64,
}

/// A delivery as the receiver reads it.
pub struct Delivery<'a> {
    /// `meta.event` (`created`, `updated`, ...): checked against the subscription's events.
    pub event: String,
    /// `meta.webhook_id`: checked against the subscription's Clio webhook.
    pub webhook_id: i64,
    /// `data.id`: Clio's ids are numbers; a numeric string is accepted too.
    pub record_id: Option<i64>,
    /// `data.etag`.
    pub etag: Option<String>,
    /// `data`, exactly as received.
    pub data: &'a RawValue,
}

/// Reads a body whose NUL escapes are already replaced ([`matterhook_clio::without_nul`]).
pub fn parse(clean: &[u8]) -> Result<Delivery<'_>, Malformed> {
    let body: Body = serde_json::from_slice(clean).map_err(Malformed::Body)?;
    // Read whole, as the workers will read it: what they could not is refused here, not
    // accepted and then dead-lettered. It is still forwarded as the raw bytes received.
    let data: serde_json::Value = serde_json::from_str(body.data.get()).map_err(Malformed::Data)?;
    let record = data
        .as_object()
        .ok_or(Malformed::Shape("data must be an object"))?;
    let etag = match record.get("etag") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(Malformed::Shape("data.etag must be a string")),
    };
    Ok(Delivery {
        event: body.meta.event,
        webhook_id: body.meta.webhook_id,
        // Clio's ids are numbers; a numeric string is accepted too.
        record_id: record.get("id").and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        }),
        etag,
        data: body.data,
    })
}

/// Where a delivery came from and when: what the envelope adds to the body.
pub struct Origin<'a> {
    /// [`event_id`] of the subscription and the signed bytes.
    pub event_id: &'a str,
    /// Our subscription.
    pub subscription_id: i64,
    /// Its connection.
    pub connection_id: i64,
    /// The model the subscription is for.
    pub model: Model,
    /// When we received it.
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// The request's id, carried on to the workers' logs.
    pub request_id: &'a str,
}

/// [`matterhook_bus::Envelope`] as the receiver writes it, with `data` copied through as raw
/// JSON rather than parsed and rebuilt. The shape matches the envelope consumers read (a test
/// below, and the fuzzer, hold the two together).
#[derive(Serialize)]
struct EnvelopeOut<'a> {
    version: u32,
    event_id: &'a str,
    subscription_id: i64,
    connection_id: i64,
    received_at: chrono::DateTime<chrono::Utc>,
    request_id: &'a str,
    event: ClioEventOut<'a>,
}

/// [`matterhook_bus::ClioEvent`], tagged as [`matterhook_bus::Event::Clio`] is.
#[derive(Serialize)]
struct ClioEventOut<'a> {
    source: &'static str,
    model: Model,
    event: &'a str,
    record_id: Option<i64>,
    etag: Option<&'a str>,
    data: &'a RawValue,
}

impl Delivery<'_> {
    /// The envelope's bytes, as published.
    pub fn envelope(&self, origin: &Origin<'_>) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(&EnvelopeOut {
            version: ENVELOPE_VERSION,
            event_id: origin.event_id,
            subscription_id: origin.subscription_id,
            connection_id: origin.connection_id,
            received_at: origin.received_at,
            request_id: origin.request_id,
            event: ClioEventOut {
                source: SOURCE_CLIO,
                model: origin.model,
                event: &self.event,
                record_id: self.record_id,
                etag: self.etag.as_deref(),
                data: self.data,
            },
        })
    }
}

/// The same event redelivered by Clio has the same id: it is derived from the subscription and the
/// exact bytes Clio signed.
pub fn event_id(subscription_id: i64, body: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(subscription_id.to_be_bytes());
    hasher.update(body);
    hex::encode(&hasher.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use matterhook_domain::{ClioId, Model};

    use super::{event_id, parse, Malformed, Origin};

    fn origin() -> Origin<'static> {
        Origin {
            event_id: "abc",
            subscription_id: 2,
            connection_id: 3,
            model: Model::Contact,
            received_at: chrono::Utc::now(),
            request_id: "r-1",
        }
    }

    #[test]
    fn what_the_receiver_writes_is_what_workers_read() {
        let body = br#"{"data":{"id":7,"etag":"\"e\"","name":"Jane"},"meta":{"event":"updated","webhook_id":9}}"#;
        let delivery = parse(body).expect("a delivery");
        assert_eq!(delivery.webhook_id, 9);
        let read =
            matterhook_bus::Envelope::decode(&delivery.envelope(&origin()).expect("encodes"))
                .expect("decodes");
        assert_eq!(
            (
                read.event_id.as_str(),
                read.record_id(),
                read.routing_key().as_str(),
                read.request_id.as_str()
            ),
            ("abc", Some(ClioId(7)), "clio.contact.updated", "r-1")
        );
        assert_eq!(read.clio().expect("a Clio event").data["name"], "Jane");
    }

    #[test]
    fn a_numeric_string_id_is_read_and_anything_else_is_no_id() {
        let id = |data: &str| {
            let body = format!(r#"{{"data":{data},"meta":{{"event":"deleted","webhook_id":1}}}}"#);
            parse(body.as_bytes()).expect("a delivery").record_id
        };
        assert_eq!(id(r#"{"id":"12"}"#), Some(12));
        assert_eq!(id(r#"{"id":"twelve"}"#), None);
        assert_eq!(id(r#"{"id":1.5}"#), None);
        assert_eq!(id("{}"), None);
    }

    #[test]
    fn bodies_that_are_not_deliveries_are_named() {
        assert!(matches!(parse(b"[]"), Err(Malformed::Body(_))));
        assert!(matches!(
            parse(br#"{"data":{},"meta":{"event":"created"}}"#),
            Err(Malformed::Body(_))
        ));
        assert!(matches!(
            parse(br#"{"data":[1],"meta":{"event":"created","webhook_id":1}}"#),
            Err(Malformed::Shape(_))
        ));
        assert!(matches!(
            parse(br#"{"data":{"etag":5},"meta":{"event":"created","webhook_id":1}}"#),
            Err(Malformed::Shape(_))
        ));
    }

    /// The fuzzer's find (`fuzz/seeds/delivery/regression-number-out-of-range`): a number no
    /// double holds was accepted, and the worker's decoder then refused the envelope forever.
    #[test]
    fn data_no_worker_could_read_is_refused() {
        let body = br#"{"data":{"id":1,"di":2E555555},"meta":{"event":"deleted","webhook_id":1}}"#;
        assert!(matches!(parse(body), Err(Malformed::Data(_))));
        let fine =
            br#"{"data":{"id":1,"big":1.5E300,"n":-0},"meta":{"event":"deleted","webhook_id":1}}"#;
        let delivery = parse(fine).expect("in range");
        let read =
            matterhook_bus::Envelope::decode(&delivery.envelope(&origin()).expect("encodes"))
                .expect("a worker reads it");
        assert_eq!(read.clio().expect("Clio").data["big"], 1.5e300);
    }

    #[test]
    fn the_same_bytes_on_the_same_subscription_make_the_same_id() {
        assert_eq!(event_id(1, b"{}"), event_id(1, b"{}"));
        assert_ne!(event_id(1, b"{}"), event_id(2, b"{}"));
        assert_ne!(event_id(1, b"{}"), event_id(1, b"{ }"));
        assert_eq!(event_id(1, b"{}").len(), 32, "128 bits");
    }
}
