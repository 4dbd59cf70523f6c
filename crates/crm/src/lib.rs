//! The CRM contact feed, the CRM's Clio integration's read half: each connection's contacts
//! projected from the mirror (`matterhook_domain::crm`'s rules: scope, ownership, tags, key
//! facts), an incremental change feed, and `contact.new_client` once per connection and contact.
//! Never calls Clio.
//!
//! - [`CrmProjector`] (`matterhook-worker-crm`, queue `matterhook.crm`): a contact's change
//!   re-projects it; a matter's change re-projects its client, its related people (Clio's
//!   relationships, read with the matter by the sync stage) and its company client's people.
//! - [`jobs`]: a connection's whole projection recomputed when its settings change, with
//!   progress; the first is the baseline (clients of the past fire nothing).

mod facts;
mod handler;
pub mod jobs;
pub mod project;

pub use handler::CrmProjector;
