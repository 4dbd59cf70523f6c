//! The headers the runtime keeps on a message between attempts.

use chrono::{DateTime, Utc};
use lapin::{
    message::Delivery,
    types::{AMQPValue, FieldTable},
};

/// The attempt about to be made (1-based).
pub(crate) const ATTEMPT: &str = "x-mh-attempt";
/// When the first attempt failed (RFC 3339).
pub(crate) const FIRST_FAILURE: &str = "x-mh-first-failure";
/// The last attempt's error.
pub(crate) const LAST_ERROR: &str = "x-mh-last-error";
/// When the message was sent into the pipeline (by the receiver, or by a replay), RFC 3339. With
/// the queue, the event and the attempt it names one failure, however often the broker
/// redelivers the message: recording that failure twice is recording the same row.
pub(crate) const SENT_AT: &str = "x-mh-sent-at";

/// The headers of a message sent into the pipeline at `at`.
pub fn sent_headers(at: DateTime<Utc>) -> FieldTable {
    let mut table = FieldTable::default();
    table.insert(
        SENT_AT.into(),
        AMQPValue::LongString(
            at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                .into(),
        ),
    );
    table
}

fn get<'a>(d: &'a Delivery, key: &str) -> Option<&'a AMQPValue> {
    d.properties.headers().as_ref()?.inner().get(key)
}

/// An integer header, whatever integer type carried it.
pub(crate) fn int(d: &Delivery, key: &str) -> Option<i64> {
    match get(d, key)? {
        AMQPValue::LongLongInt(v) => Some(*v),
        AMQPValue::LongInt(v) => Some(i64::from(*v)),
        AMQPValue::LongUInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortInt(v) => Some(i64::from(*v)),
        AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
        _ => None,
    }
}

/// A text header.
pub(crate) fn text(d: &Delivery, key: &str) -> Option<String> {
    match get(d, key)? {
        AMQPValue::LongString(s) => Some(s.to_string()),
        AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// A time header.
pub(crate) fn time(d: &Delivery, key: &str) -> Option<DateTime<Utc>> {
    text(d, key)
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The headers for the next attempt: everything the message had, with ours updated.
pub(crate) fn for_retry(
    d: &Delivery,
    next_attempt: u32,
    first_failure: DateTime<Utc>,
    error: &str,
) -> FieldTable {
    let mut table = FieldTable::default();
    // Everything the message had, but the broker's own dead-lettering history: the retry hop
    // adds to it, and a later broker dead-lettering must name the worker queue, not a retry tier.
    if let Some(old) = d.properties.headers() {
        for (key, value) in old.inner() {
            if !key.as_str().starts_with("x-death")
                && !key.as_str().starts_with("x-first-death")
                && !key.as_str().starts_with("x-last-death")
            {
                table.insert(key.clone(), value.clone());
            }
        }
    }
    table.insert(
        ATTEMPT.into(),
        AMQPValue::LongLongInt(i64::from(next_attempt)),
    );
    table.insert(
        FIRST_FAILURE.into(),
        AMQPValue::LongString(first_failure.to_rfc3339().into()),
    );
    // Header values travel with every retry: keep the error short.
    let short: String = error.chars().take(1000).collect();
    table.insert(LAST_ERROR.into(), AMQPValue::LongString(short.into()));
    table
}

/// An AMQP value as JSON, for people to read (support's detail page), not to send back.
fn value_json(value: &AMQPValue) -> serde_json::Value {
    use serde_json::Value;
    match value {
        AMQPValue::Boolean(v) => Value::Bool(*v),
        AMQPValue::ShortShortInt(v) => (*v).into(),
        AMQPValue::ShortShortUInt(v) => (*v).into(),
        AMQPValue::ShortInt(v) => (*v).into(),
        AMQPValue::ShortUInt(v) => (*v).into(),
        AMQPValue::LongInt(v) => (*v).into(),
        AMQPValue::LongUInt(v) => (*v).into(),
        AMQPValue::LongLongInt(v) => (*v).into(),
        AMQPValue::Float(v) => {
            serde_json::Number::from_f64(f64::from(*v)).map_or(Value::Null, Value::Number)
        }
        AMQPValue::Double(v) => serde_json::Number::from_f64(*v).map_or(Value::Null, Value::Number),
        AMQPValue::ShortString(v) => Value::String(v.as_str().to_owned()),
        AMQPValue::LongString(v) => Value::String(v.to_string()),
        AMQPValue::Timestamp(v) => {
            DateTime::<Utc>::from_timestamp(i64::try_from(*v).unwrap_or(0), 0)
                .map_or(Value::Null, |t| Value::String(t.to_rfc3339()))
        }
        AMQPValue::FieldArray(items) => {
            Value::Array(items.as_slice().iter().map(value_json).collect())
        }
        AMQPValue::FieldTable(table) => table_json(table),
        AMQPValue::ByteArray(bytes) => Value::String(format!("{} bytes", bytes.as_slice().len())),
        AMQPValue::DecimalValue(d) => Value::String(format!("{d:?}")),
        AMQPValue::Void => Value::Null,
    }
}

fn table_json(table: &FieldTable) -> serde_json::Value {
    serde_json::Value::Object(
        table
            .inner()
            .iter()
            .map(|(key, value)| (key.as_str().to_owned(), value_json(value)))
            .collect(),
    )
}

/// What a delivery arrived with, for the dead-letter row: where it came from, its message id
/// and every AMQP header (attempts, first failure, the broker's `x-death` history).
pub(crate) fn describe(d: &Delivery) -> serde_json::Value {
    let p = &d.properties;
    serde_json::json!({
        "exchange": d.exchange.as_str(),
        "routing_key": d.routing_key.as_str(),
        "redelivered": d.redelivered,
        "message_id": p.message_id().as_ref().map(|m| m.as_str().to_owned()),
        "content_type": p.content_type().as_ref().map(|m| m.as_str().to_owned()),
        "headers": p.headers().as_ref().map_or(serde_json::Value::Null, table_json),
    })
}
