//! matterhook's vocabulary: the models, statuses and ids every crate speaks of, as types.
//!
//! Each is stored as the text (or integer) its column already holds; with the `diesel` feature
//! the types map to those columns directly, and a stored value outside the vocabulary is an
//! error when read, never a silent default.

mod ids;
mod model;
#[cfg(feature = "diesel")]
mod sql;
mod statuses;

pub use ids::{AccountId, ActivityId, ClioId, ConnectionId, SubscriptionId, UserId};
pub use model::{Model, UnknownModel};
pub use statuses::{
    ActivityDirection, ActivityState, ActivityType, BillState, ClioRecordKind, ConnectionStatus,
    CustomActionPurpose, DeadLetterState, Direction, MatterStatus, ReferralStatus,
    SubscriptionStatus, UnknownValue,
};
