//! Ids as types: a connection id cannot be passed where a Clio account id is expected.

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        #[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::BigInt))]
        pub struct $name(pub i64);

        impl $name {
            /// The number, for a column or a URL.
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        #[cfg(feature = "diesel")]
        crate::vocabulary::sql::bigint_sql!($name);
    };
}

id_type!(
    /// One of our users.
    UserId
);
id_type!(
    /// A user's connection to a Clio user (`connections.id`).
    ConnectionId
);
id_type!(
    /// One of our webhook subscriptions (`webhook_subscriptions.id`); 0 on a domain event.
    SubscriptionId
);
id_type!(
    /// A Clio account: a firm. The mirror is keyed by it, shared by every connection of the firm.
    AccountId
);
id_type!(
    /// A Clio record's id (a matter, contact, bill, user or custom field), unique per model.
    ClioId
);
id_type!(
    /// An activity posted for writeback to Clio (`activities.id`).
    ActivityId
);
