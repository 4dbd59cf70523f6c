//! The labels metrics carry: closed sets, so a series exists for each value from the start.

use std::fmt::Write;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

/// How a webhook request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiverOutcome {
    /// Published and confirmed.
    Accepted,
    /// A handshake answered.
    Handshake,
    /// 400, 401, 403, 404, 410, 413 or 422.
    Refused,
    /// 503: the broker or database could not take it.
    Unavailable,
}

/// What became of a consumed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueOutcome {
    /// Delivered to the handler (every message counts here once per attempt).
    Consumed,
    /// Settled: handled, or a duplicate already handled.
    Acked,
    /// Sent to a retry tier.
    Retried,
    /// Recorded as a dead letter (parked work included).
    DeadLettered,
}

/// How a Clio call ended: its HTTP status class, or no answer at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClioCallStatus {
    /// 2xx.
    Ok,
    /// 304 on a conditional read.
    NotModified,
    /// 401 or 403.
    Refused,
    /// 404 or 410.
    NotFound,
    /// 429: Clio's rate limit.
    RateLimited,
    /// Any other 4xx.
    ClientError,
    /// 5xx.
    ServerError,
    /// No answer (connect, timeout, body).
    Network,
}

/// What became of an activity the writeback worker took up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WritebackOutcome {
    /// Written to Clio now.
    Written,
    /// Found in Clio, left by an earlier write whose answer was lost, and adopted.
    Adopted,
    /// Kept out of Clio by the connection's settings.
    Skipped,
    /// Not written this time; tried again later.
    Retried,
    /// Given up on: failed, with a dead letter.
    Failed,
    /// Waiting for its connection to be reauthorized.
    Parked,
}

pub(super) const WRITEBACK_OUTCOMES: [WritebackOutcome; 6] = [
    WritebackOutcome::Written,
    WritebackOutcome::Adopted,
    WritebackOutcome::Skipped,
    WritebackOutcome::Retried,
    WritebackOutcome::Failed,
    WritebackOutcome::Parked,
];

impl WritebackOutcome {
    /// The label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            WritebackOutcome::Written => "written",
            WritebackOutcome::Adopted => "adopted",
            WritebackOutcome::Skipped => "skipped",
            WritebackOutcome::Retried => "retried",
            WritebackOutcome::Failed => "failed",
            WritebackOutcome::Parked => "parked",
        }
    }
}

impl EncodeLabelValue for WritebackOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

impl ReceiverOutcome {
    /// The label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverOutcome::Accepted => "accepted",
            ReceiverOutcome::Handshake => "handshake",
            ReceiverOutcome::Refused => "refused",
            ReceiverOutcome::Unavailable => "unavailable",
        }
    }
}

impl EncodeLabelValue for ReceiverOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

impl QueueOutcome {
    /// The label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueOutcome::Consumed => "consumed",
            QueueOutcome::Acked => "acked",
            QueueOutcome::Retried => "retried",
            QueueOutcome::DeadLettered => "dead_lettered",
        }
    }
}

impl EncodeLabelValue for QueueOutcome {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

impl ClioCallStatus {
    /// The label's value.
    pub fn as_str(self) -> &'static str {
        match self {
            ClioCallStatus::Ok => "ok",
            ClioCallStatus::NotModified => "not_modified",
            ClioCallStatus::Refused => "refused",
            ClioCallStatus::NotFound => "not_found",
            ClioCallStatus::RateLimited => "rate_limited",
            ClioCallStatus::ClientError => "client_error",
            ClioCallStatus::ServerError => "server_error",
            ClioCallStatus::Network => "network",
        }
    }
}

impl EncodeLabelValue for ClioCallStatus {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct Outcome {
    pub(super) outcome: ReceiverOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct WritebackLabel {
    pub(super) outcome: WritebackOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct QueueLabels {
    pub(super) queue: String,
    pub(super) outcome: QueueOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct QueueLabel {
    pub(super) queue: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct StatusLabel {
    pub(super) status: ClioCallStatus,
}

/// Every queue outcome, in the order of [`QueueOutcome`]'s variants (its index).
pub(super) const QUEUE_OUTCOMES: [QueueOutcome; 4] = [
    QueueOutcome::Consumed,
    QueueOutcome::Acked,
    QueueOutcome::Retried,
    QueueOutcome::DeadLettered,
];

/// Every way a Clio call can end.
pub(super) const CLIO_CALL_STATUSES: [ClioCallStatus; 8] = [
    ClioCallStatus::Ok,
    ClioCallStatus::NotModified,
    ClioCallStatus::Refused,
    ClioCallStatus::NotFound,
    ClioCallStatus::RateLimited,
    ClioCallStatus::ClientError,
    ClioCallStatus::ServerError,
    ClioCallStatus::Network,
];

/// How a caller lookup matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupMatch {
    /// The whole number.
    Exact,
    /// The last four digits, one contact.
    Partial,
    /// The last four digits, several contacts.
    Ambiguous,
    /// Nobody.
    None,
}

/// Where a caller lookup's answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LookupSource {
    /// The mirror's index.
    Mirror,
    /// Clio, before the firm's first sync finished.
    Live,
}

pub(super) const LOOKUP_MATCHES: [LookupMatch; 4] = [
    LookupMatch::Exact,
    LookupMatch::Partial,
    LookupMatch::Ambiguous,
    LookupMatch::None,
];

impl EncodeLabelValue for LookupMatch {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            LookupMatch::Exact => "exact",
            LookupMatch::Partial => "partial",
            LookupMatch::Ambiguous => "ambiguous",
            LookupMatch::None => "none",
        })
    }
}

impl EncodeLabelValue for LookupSource {
    fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
        encoder.write_str(match self {
            LookupSource::Mirror => "mirror",
            LookupSource::Live => "live",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub(super) struct LookupLabels {
    pub(super) r#match: LookupMatch,
    pub(super) source: LookupSource,
}
