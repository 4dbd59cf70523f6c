//! What a change to the mirror of a Clio record means for the product: the domain events the
//! sync stage writes to its outbox, in the same transaction as the change.
//!
//! A webhook is only a hint, so these rules compare what the mirror held before with the record
//! as Clio shows it now. A *baseline* read (the first full sweep of a firm) fills the mirror with
//! history: records first seen then imply no event, or every open matter and paid bill of the
//! firm's past would look new.
//!
//! [`DomainEvent`] is what travels: one tagged, versioned payload that producer and consumers
//! share, so a consumer decodes what it needs with one `match`.

use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::vocabulary::{AccountId, BillState, ClioId, MatterStatus, Model, UserId};

/// The version of [`DomainEvent`]'s shape; a consumer refuses versions it does not know.
pub const DOMAIN_EVENT_VERSION: u32 = 1;

/// What changed, as the rules below decide it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[strum_discriminants(
    name(ChangeKind),
    derive(Hash, strum::VariantArray),
    doc = "Which change, without its data: what a consumer binds to."
)]
pub enum Change {
    /// A matter was created, or seen for the first time (in any status: a matter opened and
    /// closed before the sync stage read it must still reach matching, then its status).
    MatterOpened,
    /// A matter's status changed.
    MatterStatusChanged {
        /// The status before.
        from: MatterStatus,
        /// The status now.
        to: MatterStatus,
    },
    /// A matter already known changed without its status changing (its attorneys, practice
    /// area, stage, client, relationships, ...).
    MatterChanged,
    /// A matter the mirror held live is gone from Clio (deleted, or absent from a read and
    /// confirmed gone). Products that keep something per matter mark it; none deletes anything.
    MatterDeleted,
    /// A contact changed (or was first seen).
    ContactChanged,
    /// A bill's state became `paid`.
    BillPaid,
    /// One of our users connected to the firm again after disconnecting (the record is the Clio
    /// user): what changed in the shared mirror meanwhile reached no product of theirs, and no
    /// mirror change will announce it again, so the products catch up for that user.
    ConnectionResumed {
        /// Our user.
        user: UserId,
        /// When they disconnected.
        since: DateTime<Utc>,
    },
}

impl ChangeKind {
    /// The model it is about.
    pub fn model(self) -> Model {
        match self {
            ChangeKind::MatterOpened
            | ChangeKind::MatterStatusChanged
            | ChangeKind::MatterChanged
            | ChangeKind::MatterDeleted => Model::Matter,
            ChangeKind::ContactChanged => Model::Contact,
            ChangeKind::BillPaid => Model::Bill,
            ChangeKind::ConnectionResumed => Model::User,
        }
    }

    /// Its name within the model: `opened`, `status_changed`, `changed`, `paid`, `resumed`.
    pub fn name(self) -> &'static str {
        match self {
            ChangeKind::MatterOpened => "opened",
            ChangeKind::MatterStatusChanged => "status_changed",
            ChangeKind::MatterChanged => "changed",
            ChangeKind::MatterDeleted => "deleted",
            ChangeKind::ContactChanged => "changed",
            ChangeKind::BillPaid => "paid",
            ChangeKind::ConnectionResumed => "resumed",
        }
    }
}

impl Change {
    /// Which change this is.
    pub fn kind(&self) -> ChangeKind {
        self.into()
    }

    /// The model it is about.
    pub fn model(&self) -> Model {
        self.kind().model()
    }

    /// Its name within the model.
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }
}

/// A domain event as the outbox publishes it: a change to one record of one firm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainEvent {
    /// [`DOMAIN_EVENT_VERSION`].
    pub version: u32,
    /// The firm whose mirror changed.
    pub account: AccountId,
    /// The record's Clio id.
    pub record: ClioId,
    /// The record's etag as read, when Clio gave one.
    pub etag: Option<String>,
    /// What changed.
    pub change: Change,
}

impl DomainEvent {
    /// A current-version event.
    pub fn new(account: AccountId, record: ClioId, etag: Option<String>, change: Change) -> Self {
        Self {
            version: DOMAIN_EVENT_VERSION,
            account,
            record,
            etag,
            change,
        }
    }
}

/// How a record was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// Re-read after a webhook, or by an incremental sweep.
    Live,
    /// By the first full sweep of a firm: history, not news.
    Baseline,
}

/// What the mirror held of a live (not deleted) record before this read: its matter status or
/// bill state, when it had one. A record never seen, or held as deleted, has no `Before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Before<S> {
    /// The matter's status or the bill's state.
    pub state: Option<S>,
}

/// A matter read with `status`, the mirror having held `before` (a version the read moved past).
pub fn matter(
    before: Option<Before<&MatterStatus>>,
    status: Option<&MatterStatus>,
    read: Read,
) -> Vec<Change> {
    let Some(to) = status else {
        return Vec::new();
    };
    match before {
        None if read == Read::Live => vec![Change::MatterOpened],
        None => Vec::new(),
        Some(Before { state: Some(from) }) if from != to => vec![Change::MatterStatusChanged {
            from: from.clone(),
            to: to.clone(),
        }],
        Some(_) => vec![Change::MatterChanged],
    }
}

/// A contact read, the mirror having held it live (`seen`) or not; `changed` when its version
/// differs.
pub fn contact(seen: bool, changed: bool, read: Read) -> Vec<Change> {
    match seen {
        false if read == Read::Baseline => Vec::new(),
        false => vec![Change::ContactChanged],
        true if changed => vec![Change::ContactChanged],
        true => Vec::new(),
    }
}

/// A bill read in `state`, the mirror having held `before`.
pub fn bill(
    before: Option<Before<&BillState>>,
    state: Option<&BillState>,
    read: Read,
) -> Vec<Change> {
    let paid = |s: Option<&BillState>| s == Some(&BillState::Paid);
    if !paid(state) {
        return Vec::new();
    }
    match before {
        None if read == Read::Baseline => Vec::new(),
        None => vec![Change::BillPaid],
        Some(b) if !paid(b.state) => vec![Change::BillPaid],
        Some(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Change::*;
    use Read::*;

    fn status(s: &str) -> MatterStatus {
        MatterStatus::parse(s)
    }

    #[test]
    fn a_matter_first_seen_live_in_any_status_is_opened_but_not_in_the_baseline() {
        let (open, pending, closed) = (status("Open"), status("Pending"), status("Closed"));
        assert_eq!(matter(None, Some(&open), Live), vec![MatterOpened]);
        assert_eq!(matter(None, Some(&pending), Live), vec![MatterOpened]);
        // Opened and closed before the sync read it: matching must still see it.
        assert_eq!(matter(None, Some(&closed), Live), vec![MatterOpened]);
        assert_eq!(matter(None, Some(&open), Baseline), vec![]);
        assert_eq!(matter(None, Some(&closed), Baseline), vec![]);
        assert_eq!(matter(None, None, Live), vec![]);
    }

    #[test]
    fn a_matter_status_change_names_both_ends_in_any_read() {
        let (open, closed) = (status("Open"), status("Closed"));
        let held = |s| Some(Before { state: Some(s) });
        for read in [Live, Baseline] {
            assert_eq!(
                matter(held(&open), Some(&closed), read),
                vec![MatterStatusChanged {
                    from: status("Open"),
                    to: status("Closed")
                }]
            );
        }
        // A new version in the same status: changed otherwise (attorneys, stage, ...).
        assert_eq!(matter(held(&open), Some(&open), Live), vec![MatterChanged]);
        let lower = status("open");
        assert_eq!(matter(held(&lower), Some(&open), Live), vec![MatterChanged]);
        assert_eq!(matter(held(&closed), None, Live), vec![]);
        assert_eq!(
            matter(Some(Before { state: None }), Some(&open), Live),
            vec![MatterChanged]
        );
    }

    #[test]
    fn a_contact_is_changed_when_its_version_moved_or_it_is_new_live() {
        assert_eq!(contact(false, true, Live), vec![ContactChanged]);
        assert_eq!(contact(false, true, Baseline), vec![]);
        assert_eq!(contact(true, true, Baseline), vec![ContactChanged]);
        assert_eq!(contact(true, false, Live), vec![]);
    }

    #[test]
    fn a_bill_is_paid_once_when_its_state_becomes_paid() {
        let s = BillState::parse;
        let held = |b| Some(Before { state: Some(b) });
        let (awaiting, paid, draft) = (s("awaiting_payment"), s("paid"), s("draft"));
        assert_eq!(bill(held(&awaiting), Some(&paid), Live), vec![BillPaid]);
        assert_eq!(bill(held(&paid), Some(&paid), Live), vec![]);
        assert_eq!(bill(held(&draft), Some(&awaiting), Live), vec![]);
        assert_eq!(bill(None, Some(&paid), Live), vec![BillPaid]);
        assert_eq!(bill(None, Some(&paid), Baseline), vec![]);
        assert_eq!(bill(held(&paid), Some(&s("void")), Live), vec![]);
    }

    #[test]
    fn names_and_models_are_the_routing_vocabulary() {
        let all = [
            MatterOpened,
            MatterStatusChanged {
                from: status("Open"),
                to: status("Closed"),
            },
            ContactChanged,
            BillPaid,
        ];
        let names: Vec<String> = all
            .iter()
            .map(|e| format!("{}.{}", e.model(), e.name()))
            .collect();
        assert_eq!(
            names,
            [
                "matter.opened",
                "matter.status_changed",
                "contact.changed",
                "bill.paid"
            ]
        );
    }

    #[test]
    fn a_domain_event_round_trips_as_tagged_json() {
        let event = DomainEvent::new(
            AccountId(7),
            ClioId(42),
            Some("\"e\"".into()),
            MatterStatusChanged {
                from: status("Open"),
                to: status("Closed"),
            },
        );
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1, "account": 7, "record": 42, "etag": "\"e\"",
                "change": {"kind": "matter_status_changed", "from": "Open", "to": "Closed"}
            })
        );
        let back: DomainEvent = serde_json::from_value(json).expect("back");
        assert_eq!(back, event);
    }
}
