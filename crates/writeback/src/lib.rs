//! Activity writeback, the CRM's write half: emails, notes, calls, cards and texts a user posts
//! are written to Clio, each exactly once, paced to the connection's own token.
//!
//! - The API stores each activity and, in the same transaction, its request in the outbox
//!   (`writeback.contact.activity`); the relay publishes it to this worker's queue.
//! - [`WritebackRequests`] (the consumer) wakes the [`Writer`]; a replayed request (a dead letter
//!   support staff replay, or a reconnect unparking work) first queues the activity again.
//! - The [`Writer`] gives each connection with due activities its own lane, writing at the pace
//!   of that connection's token (`matterhook_clio::pacing`): a 429 or a spent window holds up
//!   only that connection. The `activities` table is the queue, so waiting for a token's window
//!   holds no broker delivery.
//! - [`write`]: one activity. The settings may skip it; its record is
//!   `matterhook_domain::activity::to_clio`'s; a write whose answer was lost is looked for by its
//!   marker before it is written again.
//!
//! Outcomes: 400/403/404/422 fail at once (a dead letter with Clio's reason); 5xx, no answer and
//! an OAuth outage retry with doubling back-off, then fail; a 429 waits for Clio's Retry-After
//! without counting as an attempt; `needs_reauth` parks the activity until the user connects
//! again.

mod requests;
pub mod write;
mod writer;

pub use requests::WritebackRequests;
pub use writer::{Outcome, Writer, WriterConfig};

/// The worker's name: its queue is `matterhook.writeback`.
pub const WORKER: &str = "writeback";
