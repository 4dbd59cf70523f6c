//! The referral-tracking product's Clio integration, read-only towards Clio: it reads the sync
//! mirror and the domain events the sync stage publishes, and never calls Clio.
//!
//! - [`Matching`] (`matterhook-worker-matching`, consumes `sync.matter.opened`): links a new
//!   matter to the received referral its client came from, or suggests possible ones.
//! - [`StatusSync`] (`matterhook-worker-status`, consumes `sync.matter.status_changed` and
//!   `sync.bill.paid`): carries a linked matter's status into its referral, and queues one
//!   thank-you draft per paid bill.
//! - [`service`]: what the API does with referrals (create, link by hand, unlink, timeline).

pub mod candidates;
mod client;
mod matching;
pub mod service;
mod status;

pub use matching::Matching;
pub use status::StatusSync;
