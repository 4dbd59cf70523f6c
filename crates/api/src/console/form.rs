//! A posted HTML form's fields, repeated names kept (a list's checkboxes are `id=1&id=2`).

/// The fields of an `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields(Vec<(String, String)>);

impl Fields {
    /// Reads a body; what does not decode is dropped, as a browser never sends it.
    pub(crate) fn parse(body: &[u8]) -> Self {
        Self(
            url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of `name`, if it was sent non-empty.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub(crate) fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn repeated_fields_are_all_kept_and_empty_ones_are_absent() {
        let f = Fields::parse(b"id=1&id=22&csrf=a%2Bb&queue=&x=y+z");
        assert_eq!(f.all("id").collect::<Vec<_>>(), ["1", "22"]);
        assert_eq!(f.one("csrf"), Some("a+b"));
        assert_eq!(f.one("queue"), None);
        assert_eq!(f.one("x"), Some("y z"));
        assert_eq!(f.one("missing"), None);
    }
}
