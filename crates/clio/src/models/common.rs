//! Envelopes and small shared shapes.

use serde::{Deserialize, Deserializer, Serialize};

/// `{"data": T}`: Clio's wrapper for single records, requests included.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The record.
    pub data: T,
}

/// `{"data": [T], "meta": {"paging": {"next": url}}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ListEnvelope<T> {
    /// One page of records.
    pub data: Vec<T>,
    /// Paging information.
    #[serde(default)]
    pub meta: ListMeta,
}

/// The `meta` of an index answer.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListMeta {
    /// Paging links.
    #[serde(default)]
    pub paging: Paging,
}

/// `meta.paging`: `next` is absent on the last page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Paging {
    /// The full URL of the next page.
    pub next: Option<String>,
}

/// A reference to another record by id.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdRef {
    /// Its Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
}

/// An `{id, name}` association such as a practice area or matter stage.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NamedRef {
    /// Its Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Its name.
    pub name: Option<String>,
    /// Set when the token may not see it.
    #[serde(default)]
    pub redacted: bool,
}

/// Ids are numbers in Clio's answers, but accept numeric strings too.
pub(crate) fn lenient_id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Num(i64),
        Str(String),
    }
    match Id::deserialize(d)? {
        Id::Num(n) => Ok(n),
        Id::Str(s) => s.trim().parse().map_err(serde::de::Error::custom),
    }
}
