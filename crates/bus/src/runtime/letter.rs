//! The dead-letter row of a message, whoever gives up on it: the runtime after its handler, or
//! the broker after its delivery limit.

use chrono::Utc;
use lapin::message::Delivery;
use matterhook_store::dead_letters::NewDeadLetter;

use super::headers;
use crate::Envelope;

/// Why and where a message is given up on.
pub(crate) struct Failure<'a> {
    /// The queue that failed.
    pub queue: &'a str,
    /// Why it was given up on.
    pub reason: &'a str,
    /// The error chain.
    pub error: &'a str,
    /// Attempts made.
    pub attempts: u32,
    /// What distinguishes this failure of one sending: the attempt, or who gave up.
    pub tag: &'a str,
}

/// The row recording `delivery` as dead. Its id is stable for one failure of one sending, so a
/// redelivered message recorded again is the same row; a message that never went through the
/// receiver or a replay (no sent-at header) gets a fresh id.
pub(crate) fn letter(
    delivery: &Delivery,
    envelope: Option<&Envelope>,
    failure: &Failure<'_>,
) -> NewDeadLetter {
    let now = Utc::now();
    let event_id = envelope
        .map(|e| e.event_id.clone())
        .or_else(|| {
            delivery
                .properties
                .message_id()
                .as_ref()
                .map(|m| m.as_str().to_owned())
        })
        .unwrap_or_default();
    let dead_letter_id = match headers::text(delivery, headers::SENT_AT) {
        Some(sent) => format!("{}:{event_id}:{sent}:{}", failure.queue, failure.tag),
        None => uuid::Uuid::new_v4().to_string(),
    };
    NewDeadLetter {
        dead_letter_id,
        queue: failure.queue.to_owned(),
        routing_key: envelope.map_or_else(
            || delivery.routing_key.as_str().to_owned(),
            Envelope::routing_key,
        ),
        event_id,
        envelope: envelope
            .and_then(|e| serde_json::to_value(e).ok())
            .unwrap_or_else(|| {
                serde_json::Value::String(String::from_utf8_lossy(&delivery.data).into_owned())
            }),
        model: envelope.map(Envelope::model),
        event: envelope.map(|e| e.event_name().to_owned()),
        connection_id: envelope.map(|e| e.connection_id.get()),
        reason: failure.reason.to_owned(),
        error: failure.error.to_owned(),
        attempts: i32::try_from(failure.attempts).unwrap_or(i32::MAX),
        first_failed_at: headers::time(delivery, headers::FIRST_FAILURE).unwrap_or(now),
        last_failed_at: now,
        headers: headers::describe(delivery),
    }
}
