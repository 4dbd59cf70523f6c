//! Statuses and states, each with the spelling its column and Clio use.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stored value outside the vocabulary (a corrupt row, or a column another version wrote).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a {what}")]
pub struct UnknownValue {
    /// What was expected: `referral status`, ...
    pub what: &'static str,
    /// The value found.
    pub value: String,
}

/// A matter's status in Clio. A status Clio may add later is kept as text rather than failing
/// the whole page it arrives in; it implies nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
pub enum MatterStatus {
    /// Open.
    Open,
    /// Pending.
    Pending,
    /// Closed.
    Closed,
    /// Anything else Clio sends.
    Other(String),
}

impl MatterStatus {
    /// The capitalised form Clio reads back, and the mirror stores.
    pub fn as_str(&self) -> &str {
        match self {
            MatterStatus::Open => "Open",
            MatterStatus::Pending => "Pending",
            MatterStatus::Closed => "Closed",
            MatterStatus::Other(s) => s,
        }
    }

    /// The lowercase form that filters and PATCH bodies take.
    pub fn as_filter(&self) -> String {
        self.as_str().to_ascii_lowercase()
    }

    /// Parses either case; anything unknown is kept as [`MatterStatus::Other`].
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "open" => MatterStatus::Open,
            "pending" => MatterStatus::Pending,
            "closed" => MatterStatus::Closed,
            _ => MatterStatus::Other(s.trim().to_owned()),
        }
    }

    /// Open or pending: the matter is live work. The one place this rule is written.
    pub fn is_open_or_pending(&self) -> bool {
        matches!(self, MatterStatus::Open | MatterStatus::Pending)
    }
}

impl std::fmt::Display for MatterStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for MatterStatus {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl Serialize for MatterStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for MatterStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(MatterStatus::parse(&String::deserialize(d)?))
    }
}

/// A bill's state in Clio. States Clio may add later are kept as text rather than refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
pub enum BillState {
    /// draft
    Draft,
    /// awaiting_approval
    AwaitingApproval,
    /// awaiting_payment
    AwaitingPayment,
    /// paid
    Paid,
    /// void
    Void,
    /// deleted
    Deleted,
    /// Anything else Clio sends.
    Other(String),
}

impl BillState {
    /// Clio's spelling, which the mirror stores.
    pub fn as_str(&self) -> &str {
        match self {
            BillState::Draft => "draft",
            BillState::AwaitingApproval => "awaiting_approval",
            BillState::AwaitingPayment => "awaiting_payment",
            BillState::Paid => "paid",
            BillState::Void => "void",
            BillState::Deleted => "deleted",
            BillState::Other(s) => s,
        }
    }

    /// Parses Clio's spelling (any case).
    pub fn parse(s: &str) -> Self {
        match s.trim().to_ascii_lowercase().as_str() {
            "draft" => BillState::Draft,
            "awaiting_approval" => BillState::AwaitingApproval,
            "awaiting_payment" => BillState::AwaitingPayment,
            "paid" => BillState::Paid,
            "void" => BillState::Void,
            "deleted" => BillState::Deleted,
            other => BillState::Other(other.to_owned()),
        }
    }
}

impl std::fmt::Display for BillState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BillState {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

impl Serialize for BillState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BillState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BillState::parse(&String::deserialize(d)?))
    }
}

/// Declares a closed vocabulary stored as snake_case text: parsing anything else is an error.
macro_rules! closed_text_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            strum::Display, strum::EnumString, strum::IntoStaticStr, strum::VariantArray,
        )]
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        #[cfg_attr(feature = "diesel", derive(diesel::AsExpression, diesel::FromSqlRow))]
        #[cfg_attr(feature = "diesel", diesel(sql_type = diesel::sql_types::Text))]
        #[cfg_attr(feature = "clap", derive(clap::ValueEnum), value(rename_all = "snake_case"))]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// The stored spelling.
            pub fn as_str(self) -> &'static str {
                self.into()
            }

            /// Parses the stored spelling; anything else is an [`UnknownValue`].
            pub fn parse(s: &str) -> Result<Self, UnknownValue> {
                s.parse().map_err(|_| UnknownValue { what: $what, value: s.to_owned() })
            }
        }
    };
}

closed_text_enum!(
    /// A referral's status.
    ReferralStatus, "referral status" {
        /// Still in play.
        Open,
        /// Became work: the matter was closed.
        Won,
        /// Did not become work (set by the user).
        Lost,
    }
);

closed_text_enum!(
    /// Which way a referral went.
    Direction, "referral direction" {
        /// Someone referred a client to the user's firm.
        Received,
        /// The user's firm referred a client out.
        Sent,
    }
);

closed_text_enum!(
    /// Where a dead letter stands.
    DeadLetterState, "dead-letter state" {
        /// Waiting for support staff.
        Dead,
        /// Sent back to its queue.
        Replayed,
        /// Set aside for good.
        Discarded,
    }
);

closed_text_enum!(
    /// Where a user's connection to Clio stands.
    ConnectionStatus, "connection status" {
        /// Its tokens work.
        Connected,
        /// Clio refused a refresh: the user must connect again; its work is parked.
        NeedsReauth,
        /// The user disconnected.
        Disconnected,
    }
);

closed_text_enum!(
    /// Where a webhook subscription stands.
    SubscriptionStatus, "subscription status" {
        /// Created in Clio; its handshake not yet seen.
        AwaitingHandshake,
        /// Confirmed: deliveries are accepted.
        Active,
        /// Gone: its URL answers 410.
        Deleted,
    }
);

closed_text_enum!(
    /// What kind of activity is written back to Clio.
    ActivityType, "activity type" {
        /// An email sent or received.
        Email,
        /// A note taken.
        Note,
        /// A phone call.
        Call,
        /// A card (a pipeline or task card) recorded against the contact.
        Card,
        /// A text message.
        Text,
    }
);

closed_text_enum!(
    /// Which way an email, call or text went.
    ActivityDirection, "activity direction" {
        /// The contact reached the firm.
        Inbound,
        /// The firm reached the contact.
        Outbound,
    }
);

closed_text_enum!(
    /// Where an activity written back to Clio stands.
    ActivityState, "activity state" {
        /// Accepted; waiting for the writeback worker.
        Queued,
        /// In Clio, as the note or communication it names.
        Written,
        /// Not written: its type is turned off for the connection.
        Skipped,
        /// Not written, with the reason (and the dead letter, when there is one).
        Failed,
    }
);

closed_text_enum!(
    /// What an activity became in Clio.
    ClioRecordKind, "Clio record kind" {
        /// A Note on the contact.
        Note,
        /// A Communication on the contact's log.
        Communication,
    }
);

closed_text_enum!(
    /// What a custom action (a button inside Clio) registered for a connection is for.
    CustomActionPurpose, "custom action purpose" {
        /// "Send Review" on a matter: a manual review request.
        SendReview,
    }
);

impl CustomActionPurpose {
    /// The button's label in Clio.
    pub fn label(self) -> &'static str {
        match self {
            CustomActionPurpose::SendReview => "Send Review",
        }
    }

    /// Where the button appears in Clio.
    pub fn ui_reference(self) -> &'static str {
        match self {
            CustomActionPurpose::SendReview => "matters/show",
        }
    }

    /// The path of our page a click lands on, under the API's public root.
    pub fn landing_path(self) -> &'static str {
        match self {
            CustomActionPurpose::SendReview => "clio/actions/send-review",
        }
    }
}

#[cfg(test)]
mod tests {
    use strum::VariantArray;

    use super::*;

    #[test]
    fn matter_statuses_parse_in_any_case_and_keep_what_clio_may_add() {
        assert_eq!(MatterStatus::parse(" open "), MatterStatus::Open);
        assert_eq!(MatterStatus::parse("PENDING"), MatterStatus::Pending);
        assert_eq!(MatterStatus::parse("Closed").as_str(), "Closed");
        assert_eq!(
            MatterStatus::parse("Archived"),
            MatterStatus::Other("Archived".into())
        );
        assert!(MatterStatus::Open.is_open_or_pending());
        assert!(MatterStatus::Pending.is_open_or_pending());
        assert!(!MatterStatus::Closed.is_open_or_pending());
        assert!(!MatterStatus::Other("Archived".into()).is_open_or_pending());
    }

    #[test]
    fn bill_states_round_trip() {
        for s in [
            "draft",
            "awaiting_approval",
            "awaiting_payment",
            "paid",
            "void",
            "deleted",
        ] {
            assert_eq!(BillState::parse(s).as_str(), s);
            assert!(!matches!(BillState::parse(s), BillState::Other(_)));
        }
        assert_eq!(BillState::parse("PAID"), BillState::Paid);
    }

    #[test]
    fn closed_vocabularies_refuse_what_they_do_not_know() {
        for s in ReferralStatus::VARIANTS {
            assert_eq!(ReferralStatus::parse(s.as_str()), Ok(*s));
        }
        for s in DeadLetterState::VARIANTS {
            assert_eq!(DeadLetterState::parse(s.as_str()), Ok(*s));
        }
        for s in Direction::VARIANTS {
            assert_eq!(Direction::parse(s.as_str()), Ok(*s));
        }
        for s in ConnectionStatus::VARIANTS {
            assert_eq!(ConnectionStatus::parse(s.as_str()), Ok(*s));
        }
        for s in SubscriptionStatus::VARIANTS {
            assert_eq!(SubscriptionStatus::parse(s.as_str()), Ok(*s));
        }
        assert_eq!(ConnectionStatus::NeedsReauth.as_str(), "needs_reauth");
        assert_eq!(
            SubscriptionStatus::AwaitingHandshake.as_str(),
            "awaiting_handshake"
        );
        assert_eq!(
            ReferralStatus::parse("maybe")
                .expect_err("not a status")
                .to_string(),
            "\"maybe\" is not a referral status"
        );
        assert!(Direction::parse("Received").is_err());
    }
}
