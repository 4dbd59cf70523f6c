//! Lenient serde types for Clio resources.
//!
//! Every field but `id` is optional: which ones arrive depends on the `fields=` of the call. Unknown
//! fields are ignored, so Clio adding one never breaks us. Associations the token cannot see arrive as
//! `{"redacted": true}`, which deserialises to a record with `redacted` set and nothing else.

mod bill;
mod common;
mod contact;
mod custom_action;
mod custom_field;
mod matter;
mod note;
mod user;
mod webhook;

pub use bill::{Bill, BillCurrency, BillState};
pub use common::{Envelope, IdRef, ListEnvelope, NamedRef, Paging};
pub use contact::{Address, Contact, EmailAddress, PhoneNumber};
pub use custom_action::{BadSubject, CustomAction, NewCustomAction, Subject, SubjectCollection};
pub use custom_field::{CustomField, CustomFieldValue, CustomValue, PicklistOption};
pub use matter::{Matter, MatterStatus};
pub use note::{Communication, NewCommunication, NewNote, Note, Participant};
pub use user::{Account, User, WhoAmI};
pub use webhook::{NewWebhook, Webhook, WebhookStatus, WebhookUpdate};
