//! The fields Clio derives when a record is written: names, primary email and phone, display
//! numbers, status dates, balances, picklist options and custom field values; and the checks on
//! the references a record makes.

use serde_json::{json, Map, Value};

use crate::{
    records::WriteError,
    state::{Json, Kind, State},
};

/// The currencies a simulated bill may be in: `(ISO code, Clio's id, sign)`.
const CURRENCIES: [(&str, i64, &str); 6] = [
    ("USD", 1, "$"),
    ("EUR", 2, "€"),
    ("GBP", 3, "£"),
    ("CAD", 4, "$"),
    ("AUD", 5, "$"),
    ("JPY", 6, "¥"),
];

impl State {
    /// Fills the fields Clio derives, and checks references.
    pub(crate) fn derive(
        &mut self,
        kind: Kind,
        account_id: i64,
        old: Option<&Json>,
        data: &mut Json,
    ) -> Result<(), WriteError> {
        match kind {
            Kind::Contact => self.derive_contact(account_id, data),
            Kind::Matter => self.derive_matter(account_id, old, data),
            Kind::Bill => self.derive_bill(account_id, old, data),
            Kind::CustomField => self.derive_custom_field(data),
            Kind::User => {
                data.entry("enabled").or_insert(json!(true));
                data.entry("subscription_type").or_insert(json!("Attorney"));
                Ok(())
            }
            Kind::Note | Kind::Communication => Ok(()),
        }
    }

    fn derive_contact(&mut self, account_id: i64, d: &mut Json) -> Result<(), WriteError> {
        let kind = d
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("Person")
            .to_owned();
        if kind != "Person" && kind != "Company" {
            return Err(WriteError::Invalid(format!(
                "type must be Person or Company, not {kind}"
            )));
        }
        d.insert("type".into(), json!(kind));
        let text = |d: &Json, k: &str| {
            d.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .unwrap_or("")
                .to_owned()
        };
        if kind == "Person" {
            let name = [
                text(d, "first_name"),
                text(d, "middle_name"),
                text(d, "last_name"),
            ]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
            if name.is_empty() {
                return Err(WriteError::Invalid(
                    "a person needs a first or last name".into(),
                ));
            }
            d.insert("name".into(), json!(name));
        } else if text(d, "name").is_empty() {
            return Err(WriteError::Invalid("a company needs a name".into()));
        }
        self.reference(Kind::Contact, account_id, d.get("company"), "company")?;
        d.entry("is_client").or_insert(json!(false));
        for (list, key, primary_field) in [
            ("email_addresses", "address", "primary_email_address"),
            ("phone_numbers", "number", "primary_phone_number"),
            ("addresses", "street", ""),
        ] {
            let mut items = d
                .get(list)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                if item.get("id").and_then(Value::as_i64).is_none() {
                    item.insert("id".into(), json!(self.next_id()));
                }
                item.entry("primary").or_insert(json!(false));
                item.entry("name").or_insert(json!("Work"));
            }
            if !primary_field.is_empty() {
                let primary = items
                    .iter()
                    .find(|i| i.get("primary") == Some(&json!(true)))
                    .or(items.first())
                    .and_then(|i| i.get(key).cloned())
                    .unwrap_or(Value::Null);
                d.insert(primary_field.into(), primary);
            }
            d.insert(list.into(), Value::Array(items));
        }
        let cfv = self.custom_field_values(d.get("custom_field_values"), "Contact")?;
        d.insert("custom_field_values".into(), cfv);
        Ok(())
    }

    fn derive_matter(
        &mut self,
        account_id: i64,
        old: Option<&Json>,
        d: &mut Json,
    ) -> Result<(), WriteError> {
        let status = d.get("status").and_then(Value::as_str).unwrap_or("Open");
        let status = match status.to_ascii_lowercase().as_str() {
            "open" => "Open",
            "pending" => "Pending",
            "closed" => "Closed",
            other => {
                return Err(WriteError::Invalid(format!(
                    "status must be open, pending or closed, not {other}"
                )))
            }
        };
        d.insert("status".into(), json!(status));
        let today = json!(self.now().date_naive().to_string());
        let was = old.and_then(|o| o.get("status")).and_then(Value::as_str);
        if was != Some(status) {
            let date_field = match status {
                "Open" => "open_date",
                "Pending" => "pending_date",
                _ => "close_date",
            };
            if !(old.is_none() && d.get(date_field).is_some_and(|v| !v.is_null())) {
                d.insert(date_field.into(), today);
            }
        }
        self.reference(Kind::Contact, account_id, d.get("client"), "client")?;
        for field in [
            "responsible_attorney",
            "originating_attorney",
            "responsible_staff",
        ] {
            self.reference(Kind::User, account_id, d.get(field), field)?;
        }
        let client_id = d
            .get("client")
            .and_then(|c| c.get("id"))
            .cloned()
            .unwrap_or(Value::Null);
        d.insert("client_id".into(), client_id);
        if d.get("number").and_then(Value::as_i64).is_none() {
            let n = self.table(Kind::Matter).map_or(0, |t| {
                t.values().filter(|r| r.account_id == account_id).count()
            }) + 1;
            d.insert("number".into(), json!(n));
        }
        if d.get("display_number").and_then(Value::as_str).is_none() {
            let client_name = d
                .get("client")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_i64)
                .and_then(|id| self.live(Kind::Contact, account_id, id))
                .and_then(|c| {
                    c.data
                        .get("last_name")
                        .or(c.data.get("name"))
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "Matter".into());
            let number = d.get("number").and_then(Value::as_i64).unwrap_or(0);
            d.insert(
                "display_number".into(),
                json!(format!("{number:05}-{client_name}")),
            );
        }
        for optional in [
            "pending_date",
            "close_date",
            "open_date",
            "practice_area",
            "matter_stage",
            "location",
            "description",
        ] {
            d.entry(optional).or_insert(Value::Null);
        }
        let cfv = self.custom_field_values(d.get("custom_field_values"), "Matter")?;
        d.insert("custom_field_values".into(), cfv);
        Ok(())
    }

    fn derive_bill(
        &mut self,
        account_id: i64,
        old: Option<&Json>,
        d: &mut Json,
    ) -> Result<(), WriteError> {
        self.reference(Kind::Contact, account_id, d.get("client"), "client")?;
        for m in d
            .get("matters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            self.reference(Kind::Matter, account_id, Some(&m), "matters")?;
        }
        let state = d
            .get("state")
            .and_then(Value::as_str)
            .unwrap_or("awaiting_payment")
            .to_owned();
        const STATES: [&str; 6] = [
            "draft",
            "awaiting_approval",
            "awaiting_payment",
            "paid",
            "void",
            "deleted",
        ];
        if !STATES.contains(&state.as_str()) {
            return Err(WriteError::Invalid(format!(
                "state must be one of {STATES:?}"
            )));
        }
        // A bill's currency: the one asked for by code, else the account's (USD, as Clio's US
        // accounts default).
        let code = d
            .get("currency")
            .and_then(|c| c.get("code"))
            .and_then(Value::as_str)
            .unwrap_or("USD")
            .to_ascii_uppercase();
        let Some((id, sign)) = CURRENCIES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map(|(_, id, sign)| (*id, *sign))
        else {
            return Err(WriteError::Invalid(format!(
                "currency must be one of {:?}",
                CURRENCIES.map(|(c, _, _)| c)
            )));
        };
        d.insert(
            "currency".into(),
            json!({"id": id, "etag": format!("\"currency-{id}\""), "code": code, "sign": sign}),
        );
        let total = d.get("total").and_then(Value::as_f64).unwrap_or(0.0);
        let was_paid = old.and_then(|o| o.get("state")).and_then(Value::as_str) == Some("paid");
        if state == "paid" && !was_paid {
            d.insert("paid".into(), json!(total));
            d.insert("paid_at".into(), json!(self.now().to_rfc3339()));
        }
        let paid = d.get("paid").and_then(Value::as_f64).unwrap_or(0.0);
        d.insert("state".into(), json!(state));
        d.insert("total".into(), json!(total));
        d.insert("paid".into(), json!(paid));
        d.insert(
            "balance".into(),
            json!(((total - paid) * 100.0).round() / 100.0),
        );
        d.entry("paid_at").or_insert(Value::Null);
        d.entry("issued_at")
            .or_insert(json!(self.now().date_naive().to_string()));
        if d.get("number").is_none() {
            d.insert(
                "number".into(),
                json!(format!(
                    "{}",
                    self.table(Kind::Bill).map_or(0, |t| t.len()) + 1
                )),
            );
        }
        Ok(())
    }

    fn derive_custom_field(&mut self, d: &mut Json) -> Result<(), WriteError> {
        const TYPES: [&str; 12] = [
            "checkbox",
            "contact",
            "currency",
            "date",
            "time",
            "email",
            "matter",
            "numeric",
            "picklist",
            "text_area",
            "text_line",
            "url",
        ];
        let field_type = d.get("field_type").and_then(Value::as_str).unwrap_or("");
        if !TYPES.contains(&field_type) {
            return Err(WriteError::Invalid(format!(
                "field_type must be one of {TYPES:?}"
            )));
        }
        let parent = d.get("parent_type").and_then(Value::as_str).unwrap_or("");
        if parent != "Matter" && parent != "Contact" {
            return Err(WriteError::Invalid(
                "parent_type must be Matter or Contact".into(),
            ));
        }
        let mut options = d
            .get("picklist_options")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for option in options.iter_mut() {
            if let Value::String(label) = option {
                *option = json!({"option": label.clone()});
            }
            if let Some(o) = option.as_object_mut() {
                if o.get("id").and_then(Value::as_i64).is_none() {
                    o.insert("id".into(), json!(self.next_id()));
                }
            }
        }
        d.insert("picklist_options".into(), Value::Array(options));
        d.entry("displayed").or_insert(json!(true));
        Ok(())
    }

    /// Normalises `[{custom_field: {id}, value}]` into Clio's value shape.
    fn custom_field_values(
        &self,
        input: Option<&Value>,
        parent: &str,
    ) -> Result<Value, WriteError> {
        let mut out = Vec::new();
        for v in input.and_then(Value::as_array).cloned().unwrap_or_default() {
            let field_id = v
                .get("custom_field")
                .and_then(|c| c.get("id"))
                .or(v.get("custom_field_id"))
                .and_then(Value::as_i64)
                .ok_or_else(|| {
                    WriteError::Invalid("a custom field value needs custom_field.id".into())
                })?;
            let def = self
                .table(Kind::CustomField)
                .and_then(|t| t.get(&field_id))
                .filter(|r| {
                    !r.deleted && r.data.get("parent_type").and_then(Value::as_str) == Some(parent)
                })
                .ok_or_else(|| {
                    WriteError::Invalid(format!("custom field {field_id} is not a {parent} field"))
                })?;
            let field_type = def
                .data
                .get("field_type")
                .and_then(Value::as_str)
                .unwrap_or("text_line");
            let value = v.get("value").cloned().unwrap_or(Value::Null);
            let mut picklist = Value::Null;
            if field_type == "picklist" && !value.is_null() {
                let wanted = value
                    .as_i64()
                    .or_else(|| value.as_str().and_then(|s| s.parse().ok()));
                picklist = def
                    .data
                    .get("picklist_options")
                    .and_then(Value::as_array)
                    .and_then(|opts| {
                        opts.iter()
                            .find(|o| o.get("id").and_then(Value::as_i64) == wanted)
                            .cloned()
                    })
                    .ok_or_else(|| {
                        WriteError::Invalid(format!(
                            "{value} is not an option of custom field {field_id}"
                        ))
                    })?;
            }
            let mut entry = Map::new();
            entry.insert("id".into(), json!(format!("{field_type}-{field_id}")));
            entry.insert(
                "field_name".into(),
                def.data.get("name").cloned().unwrap_or(Value::Null),
            );
            entry.insert("field_type".into(), json!(field_type));
            // Clio documents every value as a string; checkboxes and numbers arrive typed in practice.
            entry.insert("value".into(), value);
            entry.insert("custom_field".into(), json!({"id": field_id}));
            entry.insert("picklist_option".into(), picklist);
            out.push(Value::Object(entry));
        }
        Ok(Value::Array(out))
    }
}
