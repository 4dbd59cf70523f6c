//! RabbitMQ for matterhook.
//!
//! - [`Envelope`]: the one versioned message every Clio event travels in.
//! - [`topology`]: exchanges and queues, declared idempotently by every binary at start
//!   (`docs/topology.md` draws them).
//! - [`Publisher`]: persistent, mandatory publishes that return only once the broker confirmed a
//!   routed message.
//! - [`runtime`]: the consumer loop every worker runs on: a worker is a [`Handler`] plus one
//!   registration line; the runtime owns prefetch, spans, idempotency, retries with backoff,
//!   dead-lettering, panics and graceful shutdown.
//! - [`inspect`]: the worker queues' depths, for the support console.

mod connect;
pub mod dead_letters;
mod envelope;
mod envelope_v1;
pub mod inspect;
mod publisher;
pub mod retry;
pub mod runtime;
pub mod topology;

pub use connect::{connect, connect_supervised, BusError};
pub use envelope::{
    all_clio_bindings, all_domain_bindings, clio_bindings, domain_binding, routing_key,
    writeback_binding, ClioEvent, DecodeError, Envelope, Event, WritebackRequest, WrongEvent,
    ENVELOPE_VERSION, SOURCE_CLIO, SOURCE_SYNC, SOURCE_WRITEBACK,
};
pub use publisher::{PublishError, Publisher};
pub use runtime::{sent_headers, Connected, Handler, HandlerError, Runtime, RuntimeConfig};
