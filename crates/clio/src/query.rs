//! Query strings for index calls.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::Fields;

/// The query parameters of one call, in order.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// `fields=...`.
    pub fn fields(self, fields: &Fields) -> Self {
        if fields.is_empty() {
            return self;
        }
        self.param("fields", fields.to_string())
    }

    /// `updated_since=` as ISO-8601.
    pub fn updated_since(self, at: DateTime<Utc>) -> Self {
        self.param(
            "updated_since",
            at.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
    }

    /// `ids[]=` for each id.
    pub fn ids(mut self, ids: &[i64]) -> Self {
        for id in ids {
            self.pairs.push(("ids[]".into(), id.to_string()));
        }
        self
    }

    /// `limit=`.
    pub fn limit(self, limit: usize) -> Self {
        self.param("limit", limit.to_string())
    }

    /// Any other parameter.
    pub fn param(mut self, key: &str, value: impl Into<String>) -> Self {
        self.pairs.push((key.to_owned(), value.into()));
        self
    }

    /// The parameters, for reqwest.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// Whether a parameter is set.
    pub fn has(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }
}
