//! Everything the simulator knows, behind one lock.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::{delivery::DeliveryLog, faults::Faults, schema::Selection};

/// A JSON object as Clio would store it.
pub(crate) type Json = Map<String, Value>;

/// The kinds of record the simulator keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Clio users (lawyers and staff).
    User,
    /// Contacts (people and companies).
    Contact,
    /// Matters.
    Matter,
    /// Bills.
    Bill,
    /// Custom field definitions.
    CustomField,
    /// Notes.
    Note,
    /// Communications.
    Communication,
}

impl Kind {
    /// The REST collection name (`/api/v4/{plural}.json`).
    pub fn plural(self) -> &'static str {
        match self {
            Kind::User => "users",
            Kind::Contact => "contacts",
            Kind::Matter => "matters",
            Kind::Bill => "bills",
            Kind::CustomField => "custom_fields",
            Kind::Note => "notes",
            Kind::Communication => "communications",
        }
    }

    /// Parses a REST collection name.
    pub fn from_plural(s: &str) -> Option<Self> {
        [
            Kind::User,
            Kind::Contact,
            Kind::Matter,
            Kind::Bill,
            Kind::CustomField,
            Kind::Note,
            Kind::Communication,
        ]
        .into_iter()
        .find(|k| k.plural() == s)
    }

    /// The schema name in Clio's OpenAPI file.
    pub(crate) fn schema(self) -> &'static str {
        match self {
            Kind::User => "User",
            Kind::Contact => "Contact",
            Kind::Matter => "Matter",
            Kind::Bill => "Bill",
            Kind::CustomField => "CustomField",
            Kind::Note => "Note",
            Kind::Communication => "Communication",
        }
    }

    /// The webhook model name, for kinds that have one.
    pub(crate) fn webhook_model(self) -> Option<&'static str> {
        match self {
            Kind::Contact => Some("contact"),
            Kind::Matter => Some("matter"),
            Kind::Bill => Some("bill"),
            Kind::Communication => Some("communication"),
            _ => None,
        }
    }
}

/// One record.
#[derive(Debug, Clone)]
pub(crate) struct Rec {
    pub account_id: i64,
    /// Scalars as Clio shows them; associations as `{"id": n}` (resolved when rendered).
    pub data: Json,
    pub deleted: bool,
    pub version: u64,
}

/// A webhook subscription.
#[derive(Debug, Clone, Serialize)]
pub struct Hook {
    /// Clio id.
    pub id: i64,
    /// Account it belongs to.
    pub account_id: i64,
    /// Delivery URL.
    pub url: String,
    /// Model name.
    pub model: String,
    /// `fields` as given.
    pub fields: String,
    #[serde(skip)]
    pub(crate) selection: Selection,
    /// Subscribed events (all of the model's when created without any).
    pub events: Vec<String>,
    /// pending, enabled or suspended.
    pub status: String,
    /// When it stops delivering.
    pub expires_at: DateTime<Utc>,
    /// The signing secret.
    pub shared_secret: String,
    /// Version tag.
    pub etag: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// Deliveries that exhausted their retries since the last success.
    pub consecutive_failures: u32,
}

/// A custom action: a button inside Clio.
#[derive(Debug, Clone, Serialize)]
pub struct CustomAction {
    /// Clio id.
    pub id: i64,
    /// Account it belongs to.
    pub account_id: i64,
    /// The button's label.
    pub label: String,
    /// Where a click sends the browser.
    pub target_url: String,
    /// Where the button appears (`matters/show`, ...).
    pub ui_reference: String,
    /// Version tag.
    pub etag: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// The single-use nonce of one click on a custom action.
#[derive(Debug, Clone)]
pub(crate) struct Nonce {
    /// Who clicked.
    pub user_id: i64,
    /// The record clicked on.
    pub kind: Kind,
    pub record_id: i64,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub user_id: i64,
    pub redirect_uri: String,
    pub expires_at: DateTime<Utc>,
}

/// One user's consent to the app; revoking it kills its tokens.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user_id: i64,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub grant: u64,
    pub expires_at: DateTime<Utc>,
}

/// The current rate window of one token.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub ends_at: DateTime<Utc>,
    pub used: u32,
}

/// Calls seen for one access token.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CallStats {
    /// Every authenticated call.
    pub total: u64,
    /// Of those, answered 429 (by the budget or by an injected fault).
    pub rate_limited: u64,
    /// Of those, carrying an `X-API-VERSION` header.
    pub versioned: u64,
}

/// The simulator's whole state.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub clock_offset: chrono::Duration,
    next_id: i64,
    pub accounts: BTreeMap<i64, String>,
    pub records: HashMap<Kind, BTreeMap<i64, Rec>>,
    pub denied: HashMap<i64, HashSet<String>>,
    pub hooks: BTreeMap<i64, Hook>,
    pub custom_actions: BTreeMap<i64, CustomAction>,
    pub nonces: HashMap<String, Nonce>,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<u64, Grant>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, u64>,
    pub windows: HashMap<String, Window>,
    pub calls: HashMap<String, CallStats>,
    pub faults: Faults,
    pub deliveries: Vec<DeliveryLog>,
    /// `(webhook, record)` pairs that have had an `updated` delivery (Clio's first-update rule).
    pub updates_sent: HashSet<(i64, i64)>,
    pub held_for_reorder: VecDeque<crate::delivery::Outgoing>,
    /// The ids of the demo firm, once seeded.
    pub demo: Option<crate::seed::DemoFirm>,
}

impl State {
    /// The simulated time: real time plus whatever tests advanced.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.clock_offset
    }

    /// A fresh id; one sequence for every kind keeps ids unique and readable in logs.
    pub fn next_id(&mut self) -> i64 {
        if self.next_id == 0 {
            self.next_id = 1000;
        }
        self.next_id += 1;
        self.next_id
    }

    pub fn table(&self, kind: Kind) -> Option<&BTreeMap<i64, Rec>> {
        self.records.get(&kind)
    }

    pub fn table_mut(&mut self, kind: Kind) -> &mut BTreeMap<i64, Rec> {
        self.records.entry(kind).or_default()
    }

    /// A live (not deleted) record of `account`.
    pub fn live(&self, kind: Kind, account_id: i64, id: i64) -> Option<&Rec> {
        self.table(kind)?
            .get(&id)
            .filter(|r| !r.deleted && r.account_id == account_id)
    }

    /// The account a user belongs to.
    pub fn user_account(&self, user_id: i64) -> Option<i64> {
        self.table(Kind::User)?.get(&user_id).map(|r| r.account_id)
    }

    /// Whether a user's role forbids a resource.
    pub fn is_denied(&self, user_id: i64, resource: &str) -> bool {
        self.denied
            .get(&user_id)
            .is_some_and(|d| d.contains(resource))
    }
}
