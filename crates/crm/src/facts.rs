//! A contact's facts as the projection needs them, read from the mirror: the contact's own
//! record, the matters it is the client of, the matters it is related to (Clio's relationships,
//! read with each matter by the sync stage), and whether its company is a client.

use chrono::DateTime;
use matterhook_domain::crm::{
    Address, Attorney, ContactFacts, CustomValue, Email, MatterFacts, Phone, Related,
};
use matterhook_store::{
    crm,
    mirror::{self, ContactRow, MatterRow},
    AsyncPgConnection,
};
use serde_json::Value;

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn list<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn attorney(v: &Value, key: &str) -> Option<Attorney> {
    let a = v.get(key)?;
    Some(Attorney {
        id: a.get("id").and_then(Value::as_i64)?,
        name: text(a, "name").unwrap_or_default(),
    })
}

/// A mirrored matter's facts.
pub fn matter_facts(row: &MatterRow) -> MatterFacts {
    MatterFacts {
        id: row.clio_id,
        display_number: row.display_number.clone(),
        status: row.status.clone(),
        stage: row.matter_stage.clone(),
        practice_area: row.practice_area.clone(),
        responsible: attorney(&row.data, "responsible_attorney"),
        originating: attorney(&row.data, "originating_attorney"),
        updated_at: row.clio_updated_at,
        created_at: row
            .data
            .get("created_at")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.to_utc()),
    }
}

/// The description of `contact`'s relationship to the matter `row`, if it has one.
fn relationship(row: &MatterRow, contact: i64) -> Option<String> {
    list(&row.data, "relationships")
        .find(|r| {
            r.get("contact")
                .and_then(|c| c.get("id"))
                .and_then(Value::as_i64)
                == Some(contact)
        })
        .and_then(|r| text(r, "description"))
}

/// The contact's own facts from its mirrored record, with its matters.
pub fn contact_facts(
    row: &ContactRow,
    matters: &[MatterRow],
    related: &[MatterRow],
    company_client: bool,
) -> ContactFacts {
    let d = &row.data;
    ContactFacts {
        id: row.clio_id,
        is_person: row.kind.as_deref() == Some("Person"),
        first_name: row.first_name.clone(),
        last_name: row.last_name.clone(),
        name: row.name.clone(),
        is_client: row.is_client == Some(true),
        emails: list(d, "email_addresses")
            .filter_map(|e| {
                Some(Email {
                    address: text(e, "address")?,
                    primary: flag(e, "primary"),
                })
            })
            .collect(),
        phones: list(d, "phone_numbers")
            .filter_map(|p| {
                Some(Phone {
                    number: text(p, "number")?,
                    name: text(p, "name"),
                    primary: flag(p, "primary"),
                })
            })
            .collect(),
        addresses: {
            // The first listed is the primary: Clio's own primary flag, when set, goes first.
            let mut all: Vec<(bool, Address)> = list(d, "addresses")
                .map(|a| {
                    (
                        flag(a, "primary"),
                        Address {
                            name: text(a, "name"),
                            street: text(a, "street"),
                            city: text(a, "city"),
                            province: text(a, "province"),
                            postal_code: text(a, "postal_code"),
                            country: text(a, "country"),
                        },
                    )
                })
                .collect();
            all.sort_by_key(|(primary, _)| !primary);
            all.into_iter().map(|(_, a)| a).collect()
        },
        date_of_birth: row.date_of_birth,
        custom_fields: list(d, "custom_field_values")
            .filter_map(|v| {
                Some(CustomValue {
                    name: text(v, "field_name")?,
                    field_type: text(v, "field_type").unwrap_or_default(),
                    value: v.get("value").cloned().unwrap_or(Value::Null),
                })
            })
            .collect(),
        company_client,
        matters: matters.iter().map(matter_facts).collect(),
        related: related
            .iter()
            .filter(|m| m.client_id != Some(row.clio_id))
            .map(|m| Related {
                matter: matter_facts(m),
                description: relationship(m, row.clio_id),
            })
            .collect(),
    }
}

/// Reads the facts of contact `contact` of `account` from the mirror: `None` when the mirror does
/// not hold it live.
pub async fn load(
    conn: &mut AsyncPgConnection,
    account: i64,
    contact: i64,
) -> Result<Option<ContactFacts>, diesel::result::Error> {
    let Some(row) = mirror::contact(conn, account, contact)
        .await?
        .filter(|c| c.deleted_at.is_none())
    else {
        return Ok(None);
    };
    Ok(Some(of_row(conn, &row).await?))
}

/// The facts of a contact row already read: [`of_page`] for one row (the firm's contact field
/// definitions read only when the contact has a picklist value to name).
pub async fn of_row(
    conn: &mut AsyncPgConnection,
    row: &ContactRow,
) -> Result<ContactFacts, diesel::result::Error> {
    let account = row.clio_account_id;
    let has_picklist = list(&row.data, "custom_field_values")
        .any(|v| v.get("field_type").and_then(Value::as_str) == Some("picklist"));
    let fields = if has_picklist {
        mirror::custom_fields_of(conn, account, "Contact").await?
    } else {
        Vec::new()
    };
    let mut one = of_page(conn, account, std::slice::from_ref(row), true, &fields).await?;
    Ok(one
        .pop()
        .unwrap_or_else(|| contact_facts(row, &[], &[], false)))
}

/// A picklist value is its option's id: the firm's field definitions name the option.
fn name_picklist_values(facts: &mut ContactFacts, fields: &[mirror::CustomFieldRow]) {
    for v in facts
        .custom_fields
        .iter_mut()
        .filter(|v| v.field_type == "picklist")
    {
        let chosen = v.value.as_i64().or_else(|| v.value.as_str()?.parse().ok());
        v.value = chosen
            .and_then(|chosen| {
                fields
                    .iter()
                    .flat_map(|f| list(&f.data, "picklist_options"))
                    .find(|o| o.get("id").and_then(Value::as_i64) == Some(chosen))
            })
            .and_then(|o| o.get("option").cloned())
            .unwrap_or(Value::Null);
    }
}

/// The facts of a page of contact rows, read with a few statements for the whole page (a job's
/// unit): their matters at once, relationships only when the firm has any, companies at once.
pub async fn of_page(
    conn: &mut AsyncPgConnection,
    account: i64,
    rows: &[ContactRow],
    firm_has_relationships: bool,
    fields: &[mirror::CustomFieldRow],
) -> Result<Vec<ContactFacts>, diesel::result::Error> {
    use std::collections::HashMap;
    let people: Vec<i64> = rows
        .iter()
        .filter(|r| r.kind.as_deref() == Some("Person"))
        .map(|r| r.clio_id)
        .collect();
    let mut matters: HashMap<i64, Vec<MatterRow>> = HashMap::new();
    for m in crm::client_matters_of(conn, account, &people).await? {
        if let Some(client) = m.client_id {
            matters.entry(client).or_default().push(m);
        }
    }
    let companies: Vec<i64> = rows.iter().filter_map(|r| r.company_id).collect();
    let clients = crm::client_companies(conn, account, &companies).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if row.kind.as_deref() != Some("Person") {
            out.push(contact_facts(row, &[], &[], false));
            continue;
        }
        let related = if firm_has_relationships {
            crm::related_matters(conn, account, row.clio_id).await?
        } else {
            Vec::new()
        };
        let company_client = row.company_id.is_some_and(|c| clients.contains(&c));
        let own = matters.get(&row.clio_id).map(Vec::as_slice).unwrap_or(&[]);
        let mut facts = contact_facts(row, own, &related, company_client);
        name_picklist_values(&mut facts, fields);
        out.push(facts);
    }
    Ok(out)
}
