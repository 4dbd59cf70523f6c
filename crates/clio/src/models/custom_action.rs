//! Custom actions: a button inside Clio's own pages that sends the user's browser to us.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

use super::common::lenient_id;

/// A custom action as Clio reports it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomAction {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// The button's label.
    pub label: Option<String>,
    /// Where a click sends the browser.
    pub target_url: Option<String>,
    /// Where the button appears (`matters/show`, ...).
    pub ui_reference: Option<String>,
    /// Created in Clio.
    pub created_at: Option<DateTime<FixedOffset>>,
    /// Last changed in Clio.
    pub updated_at: Option<DateTime<FixedOffset>>,
}

/// The body of `POST /custom_actions.json`, and of a `PATCH` (every attribute given again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewCustomAction {
    /// The button's label.
    pub label: String,
    /// Where a click sends the browser (Clio adds `custom_action_id`, `user_id`, `subject_url`
    /// and `custom_action_nonce` to its query).
    pub target_url: String,
    /// Where the button appears, for example `matters/show`.
    pub ui_reference: String,
}

/// The record a click was made on, from its `subject_url` (`/api/v4/matters/123`). Only the
/// shape is trusted: Clio confirms the click when asked for this record with its nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject {
    /// The collection (`matters`, `contacts`, ...), as the path names it.
    pub collection: SubjectCollection,
    /// The record's Clio id.
    pub id: i64,
}

/// The collections a custom action's subject can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectCollection {
    /// `/api/v4/matters/{id}`
    Matters,
    /// `/api/v4/contacts/{id}`
    Contacts,
}

impl SubjectCollection {
    fn as_str(self) -> &'static str {
        match self {
            SubjectCollection::Matters => "matters",
            SubjectCollection::Contacts => "contacts",
        }
    }
}

/// A `subject_url` that is not `/api/v4/{matters|contacts}/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("subject_url is not /api/v4/matters/{{id}} or /api/v4/contacts/{{id}}")]
pub struct BadSubject;

impl Subject {
    /// Reads a `subject_url`: a path (or a URL whose path is) `/api/v4/{collection}/{id}`, with
    /// or without `.json`. Nothing else is accepted, so a forged link cannot steer our
    /// authenticated call anywhere else.
    pub fn parse(subject_url: &str) -> Result<Self, BadSubject> {
        let path = match url::Url::parse(subject_url) {
            Ok(url) => url.path().to_owned(),
            Err(_) => subject_url.to_owned(),
        };
        let rest = path.strip_prefix("/api/v4/").ok_or(BadSubject)?;
        let (collection, id) = rest.split_once('/').ok_or(BadSubject)?;
        let collection = match collection {
            "matters" => SubjectCollection::Matters,
            "contacts" => SubjectCollection::Contacts,
            _ => return Err(BadSubject),
        };
        let id = id.strip_suffix(".json").unwrap_or(id);
        if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BadSubject);
        }
        let id = id.parse::<i64>().map_err(|_| BadSubject)?;
        if id <= 0 {
            return Err(BadSubject);
        }
        Ok(Self { collection, id })
    }

    /// The API path to read it (`matters/123.json`).
    pub fn path(&self) -> String {
        format!("{}/{}.json", self.collection.as_str(), self.id)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/api/v4/{}/{}", self.collection.as_str(), self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matter_subject_reads_with_or_without_json_or_host() {
        let want = Subject {
            collection: SubjectCollection::Matters,
            id: 123,
        };
        assert_eq!(Subject::parse("/api/v4/matters/123"), Ok(want));
        assert_eq!(Subject::parse("/api/v4/matters/123.json"), Ok(want));
        assert_eq!(
            Subject::parse("https://app.clio.com/api/v4/matters/123"),
            Ok(want)
        );
        assert_eq!(want.path(), "matters/123.json");
        assert_eq!(want.to_string(), "/api/v4/matters/123");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in [
            "",
            "/api/v4/matters/",
            "/api/v4/matters/12a",
            "/api/v4/matters/-1",
            "/api/v4/matters/0",
            "/api/v4/matters/1/../../users/who_am_i",
            "/api/v4/users/1",
            "/api/v4/matters/99999999999999999999",
            "/api/v3/matters/1",
            "matters/1",
        ] {
            assert_eq!(Subject::parse(bad), Err(BadSubject), "{bad}");
        }
    }
}
