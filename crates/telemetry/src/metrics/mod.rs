//! Every metric matterhook records, in one registry per process.

use std::sync::{atomic::AtomicU64, Arc};

use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

mod labels;

pub use labels::{
    ClioCallStatus, LookupMatch, LookupSource, QueueOutcome, ReceiverOutcome, WritebackOutcome,
};
use labels::{
    LookupLabels, Outcome, QueueLabel, QueueLabels, StatusLabel, WritebackLabel,
    CLIO_CALL_STATUSES, LOOKUP_MATCHES, QUEUE_OUTCOMES, WRITEBACK_OUTCOMES,
};

/// One queue's series: counting a message is an atomic increment, with no label lookup or
/// allocation on the consumer's path.
#[derive(Debug, Clone)]
pub struct QueueMetrics {
    counters: [Counter; 4],
    handler: Histogram,
    lag: Gauge<f64, AtomicU64>,
}

impl QueueMetrics {
    /// Counts a message by what became of it.
    pub fn count(&self, outcome: QueueOutcome) {
        self.counters[outcome as usize].inc();
    }

    /// Records a handler's time on one message.
    pub fn handler_time(&self, seconds: f64) {
        self.handler.observe(seconds);
    }

    /// Records how long the newest message a consumer just took had waited since it was sent.
    pub fn lag(&self, seconds: f64) {
        self.lag.set(seconds);
    }
}

/// Upper bounds, in seconds, for latencies from half a millisecond to five seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// Upper bounds, in seconds, for caller lookups (a quarter of a millisecond to five seconds).
const LOOKUP_BUCKETS: [f64; 11] = [
    0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25, 1.0, 2.0, 5.0,
];

/// Upper bounds, in seconds, for scheduled passes (one connection to thousands).
const PASS_BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

fn latency() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

struct Inner {
    registry: Registry,
    receiver_requests: Family<Outcome, Counter>,
    receiver_publish: Histogram,
    queue_messages: Family<QueueLabels, Counter>,
    handler_seconds: Family<QueueLabel, Histogram, fn() -> Histogram>,
    queue_lag: Family<QueueLabel, Gauge<f64, AtomicU64>>,
    clio_calls: Family<StatusLabel, Counter>,
    clio_pacing_wait: Counter<f64, AtomicU64>,
    outbox_pending: Gauge,
    outbox_lag: Gauge<f64, AtomicU64>,
    sync_queue_depth: Gauge,
    db_pool_max: Gauge,
    sync_circuit_opened: Counter,
    scheduler_pass: Histogram,
    writeback_activities: Family<WritebackLabel, Counter>,
    writeback_due: Gauge,
    caller_lookups: Family<LookupLabels, Counter>,
    caller_lookup_seconds: Histogram,
}

/// The process's metrics. Cheap to clone: every clone records into the same registry.
#[derive(Clone)]
pub struct Metrics(Arc<Inner>);

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered (and each receiver outcome at 0, so a
    /// dashboard sees the series before the first request).
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let receiver_requests = Family::<Outcome, Counter>::default();
        for outcome in [
            ReceiverOutcome::Accepted,
            ReceiverOutcome::Handshake,
            ReceiverOutcome::Refused,
            ReceiverOutcome::Unavailable,
        ] {
            drop(receiver_requests.get_or_create(&Outcome { outcome }));
        }
        registry.register(
            "matterhook_receiver_requests",
            "Webhook requests by outcome",
            receiver_requests.clone(),
        );
        let receiver_publish = latency();
        registry.register(
            "matterhook_receiver_publish_seconds",
            "Time from publish to the broker's confirm",
            receiver_publish.clone(),
        );
        let queue_messages = Family::<QueueLabels, Counter>::default();
        registry.register(
            "matterhook_queue_messages",
            "Messages a worker consumed, acked, retried and dead-lettered, by queue",
            queue_messages.clone(),
        );
        let handler_seconds =
            Family::<QueueLabel, Histogram, fn() -> Histogram>::new_with_constructor(latency);
        registry.register(
            "matterhook_handler_seconds",
            "Time a handler took per message (its transaction included), by queue",
            handler_seconds.clone(),
        );
        let queue_lag = Family::<QueueLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "matterhook_queue_lag_seconds",
            "How long the newest message a worker queue's consumers took had waited since it was sent",
            queue_lag.clone(),
        );
        let clio_calls = Family::<StatusLabel, Counter>::default();
        for status in CLIO_CALL_STATUSES {
            drop(clio_calls.get_or_create(&StatusLabel { status }));
        }
        registry.register(
            "matterhook_clio_calls",
            "Calls to Clio's API by how they ended",
            clio_calls.clone(),
        );
        let clio_pacing_wait = Counter::<f64, AtomicU64>::default();
        registry.register(
            "matterhook_clio_pacing_wait_seconds",
            "Time calls waited for their token's rate-limit budget",
            clio_pacing_wait.clone(),
        );
        let outbox_pending = Gauge::default();
        registry.register(
            "matterhook_outbox_pending",
            "Domain events written but not yet published",
            outbox_pending.clone(),
        );
        let outbox_lag = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "matterhook_outbox_lag_seconds",
            "Age of the oldest unpublished domain event",
            outbox_lag.clone(),
        );
        let sync_queue_depth = Gauge::default();
        registry.register(
            "matterhook_sync_queue_depth",
            "Records waiting to be re-read from Clio",
            sync_queue_depth.clone(),
        );
        let db_pool_max = Gauge::default();
        registry.register(
            "matterhook_db_pool_max_connections",
            "Connections this process may open to PostgreSQL at most, all its pools together",
            db_pool_max.clone(),
        );
        let sync_circuit_opened = Counter::default();
        registry.register(
            "matterhook_sync_circuit_opened",
            "Times a connection's reads were paused because Clio kept failing them",
            sync_circuit_opened.clone(),
        );
        let scheduler_pass = Histogram::new(PASS_BUCKETS);
        registry.register(
            "matterhook_scheduler_pass_seconds",
            "Duration of the scheduler's passes",
            scheduler_pass.clone(),
        );
        let writeback_activities = Family::<WritebackLabel, Counter>::default();
        for outcome in WRITEBACK_OUTCOMES {
            drop(writeback_activities.get_or_create(&WritebackLabel { outcome }));
        }
        registry.register(
            "matterhook_writeback_activities",
            "Activities the writeback worker took up, by what became of them",
            writeback_activities.clone(),
        );
        let writeback_due = Gauge::default();
        registry.register(
            "matterhook_writeback_due",
            "Activities due for writing to Clio and not yet taken up",
            writeback_due.clone(),
        );
        let caller_lookups = Family::<LookupLabels, Counter>::default();
        for r#match in LOOKUP_MATCHES {
            for source in [LookupSource::Mirror, LookupSource::Live] {
                drop(caller_lookups.get_or_create(&LookupLabels { r#match, source }));
            }
        }
        registry.register(
            "matterhook_caller_lookups",
            "Caller lookups answered, by how the number matched and where the answer came from",
            caller_lookups.clone(),
        );
        let caller_lookup_seconds = Histogram::new(LOOKUP_BUCKETS);
        registry.register(
            "matterhook_caller_lookup_seconds",
            "Time to answer a caller lookup (key check and rate limit included)",
            caller_lookup_seconds.clone(),
        );
        Self(Arc::new(Inner {
            registry,
            receiver_requests,
            receiver_publish,
            queue_messages,
            handler_seconds,
            queue_lag,
            clio_calls,
            clio_pacing_wait,
            outbox_pending,
            outbox_lag,
            sync_queue_depth,
            db_pool_max,
            sync_circuit_opened,
            scheduler_pass,
            writeback_activities,
            writeback_due,
            caller_lookups,
            caller_lookup_seconds,
        }))
    }

    /// Counts a webhook request.
    pub fn receiver_request(&self, outcome: ReceiverOutcome) {
        self.0
            .receiver_requests
            .get_or_create(&Outcome { outcome })
            .inc();
    }

    /// Records one publish's time to confirm.
    pub fn receiver_publish(&self, seconds: f64) {
        self.0.receiver_publish.observe(seconds);
    }

    /// `queue`'s series, resolved once (and shown at zero before its first message, so a
    /// dashboard's rates exist from the start). The consumer runtime takes it when it starts.
    pub fn queue(&self, queue: &str) -> QueueMetrics {
        let counter = |outcome| {
            self.0
                .queue_messages
                .get_or_create(&QueueLabels {
                    queue: queue.to_owned(),
                    outcome,
                })
                .clone()
        };
        QueueMetrics {
            counters: QUEUE_OUTCOMES.map(counter),
            handler: self
                .0
                .handler_seconds
                .get_or_create(&QueueLabel {
                    queue: queue.to_owned(),
                })
                .clone(),
            lag: self
                .0
                .queue_lag
                .get_or_create(&QueueLabel {
                    queue: queue.to_owned(),
                })
                .clone(),
        }
    }

    /// Counts a call to Clio.
    pub fn clio_call(&self, status: ClioCallStatus) {
        self.0
            .clio_calls
            .get_or_create(&StatusLabel { status })
            .inc();
    }

    /// Adds time a call waited for its token's budget.
    pub fn clio_pacing_wait(&self, seconds: f64) {
        self.0.clio_pacing_wait.inc_by(seconds);
    }

    /// Sets the outbox's backlog: how many events, and the oldest one's age.
    pub fn outbox(&self, pending: i64, oldest_age_seconds: f64) {
        self.0.outbox_pending.set(pending);
        self.0.outbox_lag.set(oldest_age_seconds);
    }

    /// Sets the sync queue's depth.
    pub fn sync_queue_depth(&self, rows: i64) {
        self.0.sync_queue_depth.set(rows);
    }

    /// Records a pool of `max` connections this process opened (its connection budget is the sum).
    pub fn db_pool(&self, max: usize) {
        self.0
            .db_pool_max
            .inc_by(i64::try_from(max).unwrap_or(i64::MAX));
    }

    /// Counts a connection's reads paused by its circuit (a failed probe pauses them again).
    pub fn sync_circuit_opened(&self) {
        self.0.sync_circuit_opened.inc();
    }

    /// Records one scheduler pass.
    pub fn scheduler_pass(&self, seconds: f64) {
        self.0.scheduler_pass.observe(seconds);
    }

    /// Counts an activity the writeback worker took up.
    pub fn writeback_activity(&self, outcome: WritebackOutcome) {
        self.0
            .writeback_activities
            .get_or_create(&WritebackLabel { outcome })
            .inc();
    }

    /// Sets how many activities are due for writing.
    pub fn writeback_due(&self, activities: i64) {
        self.0.writeback_due.set(activities);
    }

    /// Counts a caller lookup answered, and its time.
    pub fn caller_lookup(&self, r#match: LookupMatch, source: LookupSource, seconds: f64) {
        self.0
            .caller_lookups
            .get_or_create(&LookupLabels { r#match, source })
            .inc();
        self.0.caller_lookup_seconds.observe(seconds);
    }

    /// The OpenMetrics text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.0.registry);
        out
    }
}

impl ClioCallStatus {
    /// The class of an HTTP status.
    pub fn of(status: u16) -> Self {
        match status {
            200..=299 => Self::Ok,
            304 => Self::NotModified,
            401 | 403 => Self::Refused,
            404 | 410 => Self::NotFound,
            429 => Self::RateLimited,
            500..=599 => Self::ServerError,
            _ => Self::ClientError,
        }
    }
}

/// Clio calls counted by how they ended, and pacing waits added up.
impl matterhook_clio::CallObserver for Metrics {
    fn paced(&self, waited: std::time::Duration) {
        if !waited.is_zero() {
            self.clio_pacing_wait(waited.as_secs_f64());
        }
    }

    fn answered(&self, status: u16) {
        self.clio_call(ClioCallStatus::of(status));
    }

    fn unanswered(&self) {
        self.clio_call(ClioCallStatus::Network);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn what_is_recorded_is_what_is_rendered() {
        let m = Metrics::new();
        m.receiver_request(ReceiverOutcome::Accepted);
        m.receiver_request(ReceiverOutcome::Accepted);
        m.receiver_publish(0.003);
        m.queue("matterhook.journal")
            .count(QueueOutcome::DeadLettered);
        m.clio_call(ClioCallStatus::of(429));
        m.outbox(3, 1.5);
        let text = m.render();
        let get = |s: &str| value(&text, s);
        assert_eq!(
            get("matterhook_receiver_requests_total{outcome=\"accepted\"}"),
            Some(2.0)
        );
        assert_eq!(
            get("matterhook_receiver_requests_total{outcome=\"unavailable\"}"),
            Some(0.0)
        );
        assert_eq!(get("matterhook_receiver_publish_seconds_count"), Some(1.0));
        assert_eq!(
            get("matterhook_receiver_publish_seconds_bucket{le=\"0.005\"}"),
            Some(1.0)
        );
        assert_eq!(
            get("matterhook_queue_messages_total{queue=\"matterhook.journal\",outcome=\"dead_lettered\"}"),
            Some(1.0)
        );
        assert_eq!(
            get("matterhook_clio_calls_total{status=\"rate_limited\"}"),
            Some(1.0)
        );
        assert_eq!(get("matterhook_outbox_lag_seconds"), Some(1.5));
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn two_registries_do_not_share_figures() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.receiver_request(ReceiverOutcome::Refused);
        assert_eq!(
            value(
                &b.render(),
                "matterhook_receiver_requests_total{outcome=\"refused\"}"
            ),
            Some(0.0)
        );
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    #[test]
    fn caller_lookups_are_counted_by_match_and_source() {
        let m = Metrics::new();
        m.caller_lookup(LookupMatch::Exact, LookupSource::Mirror, 0.0007);
        let text = m.render();
        assert!(
            text.contains(r#"matterhook_caller_lookups_total{match="exact",source="mirror"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"matterhook_caller_lookups_total{match="none",source="live"} 0"#),
            "{text}"
        );
    }
}
