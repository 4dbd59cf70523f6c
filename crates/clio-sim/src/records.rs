//! Creating, changing and deleting records the way Clio would: new etags and timestamps, and the
//! webhook events each change implies. The fields Clio derives are filled in by `derive`.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::state::{Json, Kind, Rec, State};

/// A refused write, with Clio's error type.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// No such record (or account).
    #[error("{0} not found")]
    NotFound(String),
    /// The input is not acceptable.
    #[error("{0}")]
    Invalid(String),
}

/// What one write changed.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub kind: Kind,
    pub id: i64,
    pub account_id: i64,
    /// Webhook events it implies, such as `updated` and `matter_closed`.
    pub events: Vec<&'static str>,
    /// Top-level fields whose value changed.
    pub changed: Vec<String>,
}

/// Fields that change on every write and so never count as "the" change.
const BOOKKEEPING: [&str; 3] = ["etag", "updated_at", "created_at"];

impl State {
    /// Creates a record from Clio-shaped input.
    pub(crate) fn create(
        &mut self,
        kind: Kind,
        account_id: i64,
        input: Json,
    ) -> Result<Change, WriteError> {
        if !self.accounts.contains_key(&account_id) {
            return Err(WriteError::NotFound(format!("account {account_id}")));
        }
        let id = self.next_id();
        let now = self.now().to_rfc3339();
        let mut data = input;
        data.insert("id".into(), json!(id));
        data.insert("created_at".into(), json!(now));
        self.derive(kind, account_id, None, &mut data)?;
        let rec = Rec {
            account_id,
            data,
            deleted: false,
            version: 0,
        };
        let rec = self.stamp(rec);
        self.table_mut(kind).insert(id, rec);
        Ok(Change {
            kind,
            id,
            account_id,
            events: vec!["created"],
            changed: vec![],
        })
    }

    /// Merges `patch` into a record.
    pub(crate) fn update(
        &mut self,
        kind: Kind,
        id: i64,
        patch: Json,
    ) -> Result<Change, WriteError> {
        let old = self
            .table(kind)
            .and_then(|t| t.get(&id))
            .filter(|r| !r.deleted)
            .cloned()
            .ok_or_else(|| WriteError::NotFound(format!("{} {id}", kind.plural())))?;
        let mut data = old.data.clone();
        for (k, v) in patch {
            if k != "id" {
                data.insert(k, v);
            }
        }
        self.derive(kind, old.account_id, Some(&old.data), &mut data)?;
        let changed: Vec<String> = data
            .iter()
            .filter(|(k, v)| !BOOKKEEPING.contains(&k.as_str()) && old.data.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .collect();
        let mut events = vec!["updated"];
        if kind == Kind::Matter && changed.iter().any(|c| c == "status") {
            events.push(match data.get("status").and_then(Value::as_str) {
                Some("Closed") => "matter_closed",
                Some("Pending") => "matter_pended",
                _ => "matter_opened",
            });
        }
        let rec = self.stamp(Rec { data, ..old });
        let account_id = rec.account_id;
        self.table_mut(kind).insert(id, rec);
        Ok(Change {
            kind,
            id,
            account_id,
            events,
            changed,
        })
    }

    /// Marks a record deleted: it disappears from the API, and a `deleted` event goes out.
    pub(crate) fn delete(&mut self, kind: Kind, id: i64) -> Result<Change, WriteError> {
        let mut rec = self
            .table(kind)
            .and_then(|t| t.get(&id))
            .filter(|r| !r.deleted)
            .cloned()
            .ok_or_else(|| WriteError::NotFound(format!("{} {id}", kind.plural())))?;
        rec.deleted = true;
        let rec = self.stamp(rec);
        let account_id = rec.account_id;
        self.table_mut(kind).insert(id, rec);
        Ok(Change {
            kind,
            id,
            account_id,
            events: vec!["deleted"],
            changed: vec![],
        })
    }

    /// New version, etag and `updated_at`.
    fn stamp(&self, mut rec: Rec) -> Rec {
        rec.version += 1;
        rec.data
            .insert("updated_at".into(), json!(self.now().to_rfc3339()));
        rec.data.remove("etag");
        let mut hasher = Sha256::new();
        hasher.update(rec.version.to_le_bytes());
        hasher.update(Value::Object(rec.data.clone()).to_string().as_bytes());
        let digest = hex::encode(hasher.finalize());
        // Clio's etags carry literal double quotes.
        rec.data
            .insert("etag".into(), json!(format!("\"{}\"", &digest[..32])));
        rec
    }

    pub(crate) fn reference(
        &self,
        kind: Kind,
        account_id: i64,
        value: Option<&Value>,
        field: &str,
    ) -> Result<(), WriteError> {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            return Ok(());
        };
        let id = value
            .get("id")
            .and_then(Value::as_i64)
            .ok_or_else(|| WriteError::Invalid(format!("{field} must be {{\"id\": n}}")))?;
        self.live(kind, account_id, id).map(|_| ()).ok_or_else(|| {
            WriteError::Invalid(format!("{field}: {} {id} does not exist", kind.plural()))
        })
    }
}
