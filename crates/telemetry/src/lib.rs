//! One telemetry layer for every long-running binary.
//!
//! - [`request`]: a root span per HTTP request (tracing-actix-web) carrying its request id,
//!   taken from `X-Request-Id` or made; the receiver copies it into the envelope, and the
//!   consumer runtime's span picks it up, so one id follows an event from Clio's POST to its
//!   effect.
//! - [`Metrics`]: the process's Prometheus registry and every metric matterhook records (each
//!   documented with its alert in `docs/runbook.md`). One per process, passed down rather than
//!   global, so tests that run several services in one process each see their own figures.
//! - [`health`]: `/healthz` (alive), `/readyz` (database reachable with a current schema, broker
//!   connected) and `/metrics`, mounted on the receiver's and the API's own listeners and served
//!   on a small listener of their own by the workers and the scheduler.

pub mod errors;
pub mod health;
mod metrics;
pub mod request;

pub use errors::{chain, Chain};
pub use health::{Readiness, Telemetry};
pub use metrics::{
    ClioCallStatus, LookupMatch, LookupSource, Metrics, QueueMetrics, QueueOutcome,
    ReceiverOutcome, WritebackOutcome,
};
