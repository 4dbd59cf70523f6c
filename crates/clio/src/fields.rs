//! The `fields=` selector.

use std::fmt;

/// Which fields Clio should return. Without it Clio returns only `id` and `etag`.
///
/// Nesting goes one level deep, as Clio allows: `id,client{id,name}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    parts: Vec<String>,
}

impl Fields {
    /// An empty selector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds top-level fields.
    pub fn with<'a>(mut self, names: impl IntoIterator<Item = &'a str>) -> Self {
        for name in names {
            debug_assert!(is_field_name(name), "not a Clio field name: {name}");
            self.parts.push(name.to_owned());
        }
        self
    }

    /// Adds a nested resource with the sub-fields to return from it.
    pub fn nested<'a>(mut self, name: &str, sub: impl IntoIterator<Item = &'a str>) -> Self {
        debug_assert!(is_field_name(name), "not a Clio field name: {name}");
        let sub: Vec<&str> = sub.into_iter().collect();
        debug_assert!(
            sub.iter().all(|s| is_field_name(s)),
            "bad sub-field in {sub:?}"
        );
        self.parts.push(format!("{name}{{{}}}", sub.join(",")));
        self
    }

    /// A whole selector as Clio reads it (`id,client{id,name}`), such as one of
    /// [`crate::selectors`].
    pub fn selector(text: &str) -> Self {
        Self {
            parts: vec![text.to_owned()],
        }
    }

    /// Whether nothing was selected.
    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl fmt::Display for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_clio_syntax() {
        let f = Fields::new()
            .with(["id", "etag", "status"])
            .nested("client", ["id", "name"])
            .with(["display_number"]);
        assert_eq!(
            f.to_string(),
            "id,etag,status,client{id,name},display_number"
        );
        assert!(Fields::new().is_empty());
    }
}
