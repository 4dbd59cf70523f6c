//! The receiver's Prometheus metrics.
//!
//! Kept per server instance rather than in a global recorder, so several receivers in one process
//! (tests, benchmarks) each report their own figures.

use std::sync::atomic::{AtomicU64, Ordering};

/// How a request ended (in the order of [`OUTCOMES`], which the counters are indexed by).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Published and confirmed.
    Accepted,
    /// A handshake answered.
    Handshake,
    /// 400, 401, 403, 404, 410, 413 or 422.
    Refused,
    /// 503: the broker or database could not take it.
    Unavailable,
}

const OUTCOMES: [(Outcome, &str); 4] = [
    (Outcome::Accepted, "accepted"),
    (Outcome::Handshake, "handshake"),
    (Outcome::Refused, "refused"),
    (Outcome::Unavailable, "unavailable"),
];

/// Upper bounds of the publish latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// Request counts by outcome, and the publish-to-confirm latency histogram.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: [AtomicU64; 4],
    /// Publishes per bucket (not cumulative: one increment per publish; `render` adds them up).
    buckets: [AtomicU64; 12],
    latency_count: AtomicU64,
    latency_sum_micros: AtomicU64,
}

impl Metrics {
    /// Counts a request.
    pub fn request(&self, outcome: Outcome) {
        self.requests[outcome as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// Records one publish's time to confirm.
    pub fn publish_latency(&self, seconds: f64) {
        // Above the last bound it counts only in +Inf (the total).
        if let Some(bucket) = self.buckets.get(BUCKETS.partition_point(|b| *b < seconds)) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        self.latency_count.fetch_add(1, Ordering::Relaxed);
        self.latency_sum_micros
            .fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP matterhook_receiver_requests_total Webhook requests by outcome.\n\
             # TYPE matterhook_receiver_requests_total counter\n",
        );
        for ((_, name), count) in OUTCOMES.iter().zip(&self.requests) {
            out.push_str(&format!(
                "matterhook_receiver_requests_total{{outcome=\"{name}\"}} {}\n",
                count.load(Ordering::Relaxed)
            ));
        }
        out.push_str(
            "# HELP matterhook_receiver_publish_seconds Time from publish to the broker's confirm.\n\
             # TYPE matterhook_receiver_publish_seconds histogram\n",
        );
        let mut cumulative = 0;
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            out.push_str(&format!(
                "matterhook_receiver_publish_seconds_bucket{{le=\"{bound}\"}} {cumulative}\n"
            ));
        }
        let count = self.latency_count.load(Ordering::Relaxed);
        out.push_str(&format!(
            "matterhook_receiver_publish_seconds_bucket{{le=\"+Inf\"}} {count}\n"
        ));
        let sum = self.latency_sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.push_str(&format!("matterhook_receiver_publish_seconds_sum {sum}\nmatterhook_receiver_publish_seconds_count {count}\n"));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
    }

    #[test]
    fn buckets_are_cumulative_and_outcomes_counted_by_name() {
        let m = Metrics::default();
        for seconds in [0.0003, 0.003, 10.0] {
            m.publish_latency(seconds);
        }
        m.request(Outcome::Unavailable);
        m.request(Outcome::Accepted);
        m.request(Outcome::Accepted);
        let text = m.render();
        let bucket = |le: &str| {
            line(
                &text,
                &format!("matterhook_receiver_publish_seconds_bucket{{le=\"{le}\"}}"),
            )
            .to_owned()
        };
        assert!(bucket("0.0005").ends_with(" 1"), "{text}");
        assert!(bucket("0.002").ends_with(" 1"), "{text}");
        assert!(bucket("0.005").ends_with(" 2"), "{text}");
        assert!(bucket("5").ends_with(" 2"), "{text}");
        assert!(bucket("+Inf").ends_with(" 3"), "{text}");
        assert!(line(
            &text,
            "matterhook_receiver_requests_total{outcome=\"accepted\"}"
        )
        .ends_with(" 2"));
        assert!(line(
            &text,
            "matterhook_receiver_requests_total{outcome=\"unavailable\"}"
        )
        .ends_with(" 1"));
        assert!(line(
            &text,
            "matterhook_receiver_requests_total{outcome=\"refused\"}"
        )
        .ends_with(" 0"));
    }
}
