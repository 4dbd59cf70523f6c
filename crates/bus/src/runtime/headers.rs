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
