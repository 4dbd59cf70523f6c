//! What the sync stage asks Clio for: every field the product reads, one level of nesting
//! ([`matterhook_clio::selectors`], which the webhook subscriptions list too).

use matterhook_clio::{selectors, Fields};

/// A matter.
pub fn matter() -> Fields {
    Fields::selector(selectors::MATTER)
}

/// A contact.
pub fn contact() -> Fields {
    Fields::selector(selectors::CONTACT)
}

/// A bill.
pub fn bill() -> Fields {
    Fields::selector(selectors::BILL)
}

/// A user.
pub fn user() -> Fields {
    Fields::new().with([
        "id",
        "etag",
        "name",
        "email",
        "enabled",
        "subscription_type",
        "phone_number",
    ])
}

/// A custom field definition.
pub fn custom_field() -> Fields {
    Fields::selector(selectors::CUSTOM_FIELD)
}
