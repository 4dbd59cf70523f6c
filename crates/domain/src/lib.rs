//! matterhook's domain rules, apart from any I/O, so each can be tested exhaustively on its own.
//!
//! - [`activity`]: activity writeback's rules: what a posted activity must be, and the Clio Note
//!   or PhoneCommunication each kind becomes, with the marker that makes a lost write findable.
//! - [`vocabulary`]: the models, statuses and ids every crate speaks of, as types.
//! - [`contact_points`]: emails and phone numbers as lookups need them (lower-cased emails;
//!   phones as E.164 where the country is known, national digits and last four).
//! - [`referrals`]: matching a new matter to the referral it came from, the referral status a
//!   matter status implies, and the thank-you draft a paid bill queues.
//! - [`sync_events`]: which domain events a change to the mirror of a Clio record implies, and
//!   the [`DomainEvent`](sync_events::DomainEvent) the outbox publishes.
//! - [`watches`]: a watch's Clio-sourced fields and how a sync merges them with the user's edits.
//! - [`caller`]: caller lookup's matching, matter order and transfer rules.

pub mod activity;
pub mod caller;
pub mod contact_points;
pub mod crm;
pub mod money;
pub mod referrals;
pub mod review;
pub mod settings;
pub mod sync_events;
pub mod vocabulary;
pub mod watches;

pub use vocabulary::*;
