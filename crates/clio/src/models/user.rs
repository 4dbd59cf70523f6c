//! Clio users and the connected account.

use serde::Deserialize;

use super::common::lenient_id;

/// A Clio user (a lawyer or staff member of the firm).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Set when the token may not see this user.
    #[serde(default)]
    pub redacted: bool,
    /// Full name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// Whether the user may sign in.
    pub enabled: Option<bool>,
    /// `Attorney` or `NonAttorney`.
    pub subscription_type: Option<String>,
    /// Phone number, as typed.
    pub phone_number: Option<String>,
}

/// The firm's Clio account.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Account {
    /// Clio account id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// The firm's name.
    pub name: Option<String>,
}

/// `users/who_am_i`: the user a token belongs to, with their account.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct WhoAmI {
    /// Clio user id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Full name.
    pub name: Option<String>,
    /// Email.
    pub email: Option<String>,
    /// The firm.
    pub account: Option<Account>,
    /// The user's own time zone (IANA).
    pub time_zone: Option<String>,
}
