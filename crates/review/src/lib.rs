//! The review platform's Clio integration, read-only towards Clio: matters entering a trigger
//! status (closed, pending or open, as each connection chooses) become review requests for their
//! clients, honouring the firm's opt-out checkbox, its locations, the delay and the cooldown; a
//! request held back keeps its reason.
//!
//! - [`ReviewTrigger`] (`matterhook-worker-review`, consumes `sync.matter.status_changed` and
//!   `sync.matter.opened`): makes the request of a matter entering a trigger status.
//! - [`schedule::tick`] (the same binary, on a timer): requests falling due are checked again
//!   (`due` with a notification, `restricted`, or `cancelled`), and once a day per connection, in
//!   its time zone, the matters that entered a trigger status the day before and have no request
//!   get one (the event path and the daily path together make exactly one).
//! - [`requests`]: making one request; the rules are `matterhook_domain::review::eligibility`.

pub mod requests;
pub mod schedule;
mod trigger;

pub use trigger::{system_clock, Clock, ReviewTrigger};
