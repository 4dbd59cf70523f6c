//! Rendering a stored record as Clio shows it: associations resolved one level deep.

use serde_json::{json, Value};

use crate::state::{Json, Kind, Rec, State};

/// Associations per kind: `(field, kind it points to)`.
fn associations(kind: Kind) -> &'static [(&'static str, Kind)] {
    match kind {
        Kind::Matter => &[
            ("client", Kind::Contact),
            ("responsible_attorney", Kind::User),
            ("originating_attorney", Kind::User),
            ("responsible_staff", Kind::User),
        ],
        Kind::Contact => &[("company", Kind::Contact)],
        Kind::Bill => &[("client", Kind::Contact), ("matters", Kind::Matter)],
        Kind::Note => &[("contact", Kind::Contact), ("matter", Kind::Matter)],
        Kind::Communication => &[("matter", Kind::Matter)],
        Kind::User | Kind::CustomField => &[],
    }
}

/// The full representation of `rec` as `viewer` (a user id) may see it.
pub(crate) fn render(state: &State, kind: Kind, rec: &Rec, viewer: Option<i64>) -> Json {
    let mut out = rec.data.clone();
    for (field, target) in associations(kind) {
        let Some(value) = out.get(*field).cloned() else {
            continue;
        };
        let resolved = match value {
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| resolve(state, *target, rec.account_id, i, viewer))
                    .collect(),
            ),
            single => resolve(state, *target, rec.account_id, &single, viewer),
        };
        out.insert((*field).to_owned(), resolved);
    }
    if kind == Kind::User {
        let name = state
            .accounts
            .get(&rec.account_id)
            .cloned()
            .unwrap_or_default();
        out.insert(
            "account".into(),
            json!({"id": rec.account_id, "name": name}),
        );
    }
    out
}

fn resolve(
    state: &State,
    target: Kind,
    account_id: i64,
    reference: &Value,
    viewer: Option<i64>,
) -> Value {
    let Some(id) = reference.get("id").and_then(Value::as_i64) else {
        return Value::Null;
    };
    if viewer.is_some_and(|v| state.is_denied(v, target.plural())) {
        // What Clio sends for an association the token may not see.
        return json!({"redacted": true});
    }
    match state
        .table(target)
        .and_then(|t| t.get(&id))
        .filter(|r| r.account_id == account_id && !r.deleted)
    {
        Some(r) => Value::Object(r.data.clone()),
        None => Value::Null,
    }
}
