//! Contacts and their emails, phones and addresses.

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde::Deserialize;

use super::{common::lenient_id, CustomFieldValue, NamedRef};

/// A person or company in Clio.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Contact {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Set when the token may not see this contact.
    #[serde(default)]
    pub redacted: bool,
    /// `Person` or `Company`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Full name.
    pub name: Option<String>,
    /// First name (people).
    pub first_name: Option<String>,
    /// Middle name (people).
    pub middle_name: Option<String>,
    /// Last name (people).
    pub last_name: Option<String>,
    /// Job title.
    pub title: Option<String>,
    /// The company a person works for.
    pub company: Option<NamedRef>,
    /// Date of birth.
    pub date_of_birth: Option<NaiveDate>,
    /// Whether the contact is a client.
    pub is_client: Option<bool>,
    /// The primary email, as a plain string.
    pub primary_email_address: Option<String>,
    /// The primary phone, as a plain string.
    pub primary_phone_number: Option<String>,
    /// Every email.
    pub email_addresses: Option<Vec<EmailAddress>>,
    /// Every phone number.
    pub phone_numbers: Option<Vec<PhoneNumber>>,
    /// Every postal address.
    pub addresses: Option<Vec<Address>>,
    /// Custom field values.
    pub custom_field_values: Option<Vec<CustomFieldValue>>,
    /// Created in Clio.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// One email address of a contact.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailAddress {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Label such as `Work`.
    pub name: Option<String>,
    /// The address.
    pub address: Option<String>,
    /// Whether it is the primary one.
    pub primary: Option<bool>,
}

/// One phone number of a contact.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PhoneNumber {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Label such as `Mobile`.
    pub name: Option<String>,
    /// The number as typed into Clio (not normalised).
    pub number: Option<String>,
    /// Whether it is the primary one.
    pub primary: Option<bool>,
}

/// One postal address of a contact.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Address {
    /// Label such as `Home`.
    pub name: Option<String>,
    /// Street.
    pub street: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Province or state.
    pub province: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Whether it is the primary one.
    pub primary: Option<bool>,
}
