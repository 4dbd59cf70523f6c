//! Custom field definitions and values.

use serde::{Deserialize, Deserializer};

use super::{common::lenient_id, IdRef};

/// A custom field definition.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomField {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Version tag.
    pub etag: Option<String>,
    /// Its label.
    pub name: Option<String>,
    /// `Matter` or `Contact`.
    pub parent_type: Option<String>,
    /// checkbox, contact, currency, date, time, email, matter, numeric, picklist, text_area,
    /// text_line or url.
    pub field_type: Option<String>,
    /// The options of a picklist.
    pub picklist_options: Option<Vec<PicklistOption>>,
}

/// One option of a picklist field.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PicklistOption {
    /// Clio id.
    #[serde(default, deserialize_with = "lenient_id")]
    pub id: i64,
    /// Its label.
    pub option: Option<String>,
}

/// A custom field's value on a matter or contact.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CustomFieldValue {
    /// Clio's value id, a string such as `checkbox-12`.
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    /// The field's label.
    pub field_name: Option<String>,
    /// The field's type.
    pub field_type: Option<String>,
    /// The value, whatever JSON type Clio used for it.
    #[serde(default)]
    pub value: CustomValue,
    /// The definition it belongs to.
    pub custom_field: Option<IdRef>,
    /// The chosen option of a picklist.
    pub picklist_option: Option<PicklistOption>,
}

/// A custom field value. Clio documents it as a string whatever the type, and sends numbers, booleans
/// and null in practice, so all are kept as sent.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum CustomValue {
    /// No value.
    #[default]
    Null,
    /// A checkbox.
    Bool(bool),
    /// A number.
    Number(f64),
    /// Anything else, as text.
    Text(String),
}

impl CustomValue {
    /// The value as a boolean: checkboxes, and the strings `true`/`false`/`1`/`0`.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            CustomValue::Bool(b) => Some(*b),
            CustomValue::Number(n) => Some(*n != 0.0),
            CustomValue::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Some(true),
                "false" | "0" | "no" => Some(false),
                _ => None,
            },
            CustomValue::Null => None,
        }
    }

    /// The value as text, whatever its JSON type (`None` for null).
    pub fn as_text(&self) -> Option<String> {
        match self {
            CustomValue::Null => None,
            CustomValue::Bool(b) => Some(b.to_string()),
            CustomValue::Number(n) => Some(n.to_string()),
            CustomValue::Text(s) => Some(s.clone()),
        }
    }
}

fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => s,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_of_every_json_type_are_read() {
        let vals: Vec<CustomFieldValue> = serde_json::from_value(serde_json::json!([
            {"id": "checkbox-1", "value": "true"},
            {"id": "numeric-2", "value": 12.5},
            {"id": 3, "value": null},
            {"id": "picklist-4", "value": "7", "picklist_option": {"id": 7, "option": "Gold"}}
        ]))
        .expect("parses");
        assert_eq!(vals[0].value.as_bool(), Some(true));
        assert_eq!(vals[1].value, CustomValue::Number(12.5));
        assert_eq!(vals[2].id, "3");
        assert_eq!(vals[2].value.as_text(), None);
        assert_eq!(
            vals[3]
                .picklist_option
                .as_ref()
                .and_then(|o| o.option.as_deref()),
            Some("Gold")
        );
    }
}
