//! `fields=`: parsing a selection against Clio's schemas, and projecting records through it.
//!
//! Clio's rules, as the simulator enforces them: without `fields` only `id` and `etag` come back;
//! an association is selected with one level of braces (`client{id,name}`), whose names must be
//! scalar fields of the associated resource; deeper nesting or an unknown name is a 400. An
//! association named without braces comes back as its `id` and `etag`.

use serde_json::{Map, Value};

use crate::schema_table::SCHEMAS;

/// What a request asked for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Selection(Vec<Item>);

#[derive(Debug, Clone, PartialEq)]
enum Item {
    Field(String),
    Nested(String, Vec<String>),
}

/// Why a `fields=` value was refused.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum FieldsError {
    #[error("Nesting is only supported one level deep: {0}")]
    TooDeep(String),
    #[error("Invalid field: {0}")]
    Unknown(String),
    #[error("Malformed fields parameter: {0}")]
    Malformed(String),
}

/// A resource's scalar fields and its associations.
type Shape = (
    &'static [&'static str],
    &'static [(&'static str, &'static str)],
);

fn schema(model: &str) -> Option<Shape> {
    SCHEMAS
        .iter()
        .find(|(name, _, _)| *name == model)
        .map(|(_, base, assoc)| (*base, *assoc))
}

fn association(model: &str, field: &str) -> Option<&'static str> {
    schema(model)?
        .1
        .iter()
        .find(|(name, _)| *name == field)
        .map(|(_, target)| *target)
}

fn is_scalar(model: &str, field: &str) -> bool {
    schema(model).is_some_and(|(base, _)| base.contains(&field))
}

impl Selection {
    /// `id,etag`: what Clio returns without `fields`.
    pub(crate) fn default_fields() -> Self {
        Selection(vec![Item::Field("id".into()), Item::Field("etag".into())])
    }

    /// Parses `fields` for `model` (a schema name such as `Matter`).
    pub(crate) fn parse(model: &str, raw: Option<&str>) -> Result<Self, FieldsError> {
        let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
            return Ok(Self::default_fields());
        };
        let mut items = Vec::new();
        for part in split_top_level(raw)? {
            let part = part.trim();
            if let Some(open) = part.find('{') {
                let name = &part[..open];
                let inner = part[open + 1..]
                    .strip_suffix('}')
                    .ok_or_else(|| FieldsError::Malformed(part.to_owned()))?;
                if inner.contains('{') {
                    return Err(FieldsError::TooDeep(part.to_owned()));
                }
                let target = association(model, name)
                    .ok_or_else(|| FieldsError::Unknown(name.to_owned()))?;
                let subs: Vec<String> = inner
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                for sub in &subs {
                    let known = is_scalar(target, sub)
                        // Custom field values and a matter's relationships are the associations
                        // whose own associations Clio lists at this level (custom_field,
                        // picklist_option; a relationship's contact, as `{id, name}`).
                        || (matches!(target, "CustomFieldValue" | "Relationship")
                            && association(target, sub).is_some());
                    if !known {
                        return Err(FieldsError::Unknown(format!("{name}{{{sub}}}")));
                    }
                }
                items.push(Item::Nested(name.to_owned(), subs));
            } else {
                if part.contains('}') || part.is_empty() {
                    return Err(FieldsError::Malformed(raw.to_owned()));
                }
                if !is_scalar(model, part) && association(model, part).is_none() {
                    return Err(FieldsError::Unknown(part.to_owned()));
                }
                items.push(Item::Field(part.to_owned()));
            }
        }
        Ok(Selection(items))
    }

    /// The top-level names selected (what an `updated` webhook watches).
    pub(crate) fn top_level_names(&self) -> Vec<&str> {
        self.0
            .iter()
            .map(|i| match i {
                Item::Field(n) | Item::Nested(n, _) => n.as_str(),
            })
            .collect()
    }

    /// Projects a fully rendered record.
    pub(crate) fn project(&self, full: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        for item in &self.0 {
            match item {
                Item::Field(name) => {
                    let v = full.get(name).cloned().unwrap_or(Value::Null);
                    out.insert(name.clone(), reduce_to_reference(v));
                }
                Item::Nested(name, subs) => {
                    let v = full.get(name).cloned().unwrap_or(Value::Null);
                    out.insert(name.clone(), pick(v, subs));
                }
            }
        }
        Value::Object(out)
    }
}

/// Splits on commas that are not inside braces.
fn split_top_level(raw: &str) -> Result<Vec<&str>, FieldsError> {
    let (mut depth, mut start, mut parts) = (0i32, 0, Vec::new());
    for (i, c) in raw.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth < 0 {
                    return Err(FieldsError::Malformed(raw.to_owned()));
                }
            }
            ',' if depth == 0 => {
                parts.push(&raw[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(FieldsError::Malformed(raw.to_owned()));
    }
    parts.push(&raw[start..]);
    Ok(parts)
}

/// An association without sub-fields is shown as a reference: its `id` and `etag`.
fn reduce_to_reference(v: Value) -> Value {
    match v {
        Value::Object(m) if m.contains_key("id") => Value::Object(
            m.into_iter()
                .filter(|(k, _)| k == "id" || k == "etag" || k == "redacted")
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(reduce_to_reference).collect()),
        other => other,
    }
}

fn pick(v: Value, subs: &[String]) -> Value {
    match v {
        Value::Object(m) if m.get("redacted") == Some(&Value::Bool(true)) => Value::Object(m),
        Value::Object(m) => Value::Object(
            subs.iter()
                .map(|s| {
                    (
                        s.clone(),
                        reduce_to_reference(m.get(s).cloned().unwrap_or(Value::Null)),
                    )
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|i| pick(i, subs)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn one_level_of_nesting_is_accepted_and_projected() {
        let sel = Selection::parse(
            "Matter",
            Some("id,status,client{id,name},responsible_attorney"),
        )
        .expect("valid");
        let full = json!({"id": 1, "etag": "\"e\"", "status": "Open", "description": "x",
            "client": {"id": 2, "etag": "\"c\"", "name": "Jane", "first_name": "Jane"},
            "responsible_attorney": {"id": 3, "etag": "\"u\"", "name": "Al"}});
        let out = sel.project(full.as_object().expect("object"));
        assert_eq!(
            out,
            json!({"id": 1, "status": "Open", "client": {"id": 2, "name": "Jane"},
            "responsible_attorney": {"id": 3, "etag": "\"u\""}})
        );
    }

    #[test]
    fn deeper_nesting_unknown_fields_and_bad_syntax_are_refused() {
        assert!(matches!(
            Selection::parse("Matter", Some("client{company{id}}")),
            Err(FieldsError::TooDeep(_))
        ));
        assert!(matches!(
            Selection::parse("Matter", Some("id,colour")),
            Err(FieldsError::Unknown(_))
        ));
        // Contact_base has no email_addresses: nested names must be scalars of the target.
        assert!(matches!(
            Selection::parse("Matter", Some("client{email_addresses}")),
            Err(FieldsError::Unknown(_))
        ));
        assert!(matches!(
            Selection::parse("Matter", Some("client{id")),
            Err(FieldsError::Malformed(_))
        ));
        assert!(matches!(
            Selection::parse("Matter", Some("id}")),
            Err(FieldsError::Malformed(_))
        ));
    }

    #[test]
    fn without_fields_only_id_and_etag() {
        let sel = Selection::parse("Contact", None).expect("default");
        let out = sel.project(
            json!({"id": 9, "etag": "\"x\"", "name": "N"})
                .as_object()
                .expect("object"),
        );
        assert_eq!(out, json!({"id": 9, "etag": "\"x\""}));
    }

    #[test]
    fn custom_field_values_may_name_their_definition() {
        let sel = Selection::parse(
            "Matter",
            Some("custom_field_values{id,value,custom_field,picklist_option}"),
        )
        .expect("valid");
        assert_eq!(sel.top_level_names(), vec!["custom_field_values"]);
    }
}
