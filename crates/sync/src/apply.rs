//! Writing what Clio answered into the mirror, with the domain events the change implies in the
//! same transaction (the outbox). Every writer of one firm's model takes turns on an advisory
//! lock, then compares versions: an older read never replaces a newer one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_bus::{Envelope, Event, ENVELOPE_VERSION};
use matterhook_clio::models::{Bill, Contact, Matter};
use matterhook_domain::{
    sync_events::{self, Before, Change, DomainEvent, Read as ReadKind},
    AccountId, BillState, ClioId, ConnectionId, MatterStatus, Model, SubscriptionId,
};
use matterhook_store::{
    advisory,
    mirror::{self, Version},
    outbox,
};

use crate::records::{self, Read};

/// Whose records these are.
#[derive(Debug, Clone)]
pub struct Target {
    /// The connection that read them.
    pub connection_id: i64,
    /// The firm.
    pub account: i64,
    /// The firm's Clio region (`us`, ...): the default country of its phone numbers.
    pub region: String,
}

/// What a write changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Applied {
    /// Records the mirror did not have in this version.
    pub changed: usize,
    /// Records newly marked deleted.
    pub deleted: usize,
    /// Domain events written to the outbox.
    pub events: usize,
}

impl std::ops::AddAssign for Applied {
    fn add_assign(&mut self, o: Self) {
        self.changed += o.changed;
        self.deleted += o.deleted;
        self.events += o.events;
    }
}

/// Which reads may replace what the mirror holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// A read from Clio, the authority: a later `updated_at`, or the same second with another
    /// etag ([`Version::is_older_than`]).
    Reread,
    /// A webhook's own data, applied before the re-read that confirms it: only a strictly later
    /// `updated_at` than a live record the mirror holds (or a record it has never seen). Never a
    /// same-second tie, which only the re-read can settle, and never over a record held as
    /// deleted.
    Webhook,
}

impl Guard {
    /// Whether a read of this version may replace `held`.
    fn admits<S>(
        self,
        held: Option<&Version<S>>,
        etag: Option<&str>,
        updated_at: Option<DateTime<Utc>>,
    ) -> bool {
        match self {
            Guard::Reread => held.is_none_or(|v| v.is_older_than(etag, updated_at)),
            Guard::Webhook => match (held, updated_at) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(v), Some(read)) => {
                    v.deleted_at.is_none() && v.updated_at.is_some_and(|held| read > held)
                }
            },
        }
    }
}

/// The request id each record's event carried, for following it into the domain events.
pub type Causes = HashMap<i64, String>;

fn versions_by_id<S>(held: Vec<Version<S>>) -> HashMap<i64, Version<S>> {
    held.into_iter().map(|v| (v.clio_id, v)).collect()
}

/// What the mirror held, for the domain rules: a row held as deleted counts as never seen, so a
/// record that turns up again is news.
fn before<S>(v: Option<&Version<S>>) -> Option<Before<&S>> {
    v.filter(|v| v.deleted_at.is_none()).map(|v| Before {
        state: v.state.as_ref(),
    })
}

/// The outbox rows announcing `changes` of one record, appended to `out`; how many.
fn announce(
    out: &mut Vec<(String, serde_json::Value)>,
    target: &Target,
    record_id: i64,
    etag: Option<&str>,
    updated: Option<chrono::DateTime<Utc>>,
    changes: Vec<Change>,
    cause: Option<&String>,
) -> diesel::QueryResult<usize> {
    let count = changes.len();
    // The record's version names the change it saw.
    let version = etag
        .map(str::to_owned)
        .or_else(|| updated.map(|t| t.to_rfc3339()))
        .unwrap_or_default();
    for change in changes {
        let envelope = Envelope {
            version: ENVELOPE_VERSION,
            // The same change always yields the same id: a republished event is a duplicate.
            event_id: format!(
                "sync:{}:{}:{record_id}:{}:{version}",
                target.account,
                change.model(),
                change.name()
            ),
            subscription_id: SubscriptionId(0),
            connection_id: ConnectionId(target.connection_id),
            received_at: Utc::now(),
            request_id: cause.cloned().unwrap_or_default(),
            event: Event::Sync(DomainEvent::new(
                AccountId(target.account),
                ClioId(record_id),
                etag.map(str::to_owned),
                change,
            )),
        };
        let message = serde_json::to_value(&envelope)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        out.push((envelope.routing_key(), message));
    }
    Ok(count)
}

/// How one model is written: its mirror row, the version it carries, the domain rule that says
/// what a change means, and the store's read and write.
trait Mirrored: Sized + Sync {
    /// The model.
    const MODEL: Model;
    /// What the mirror stores.
    type Row: Send + Sync;
    /// The matter's status or the bill's state the rules compare (`()` for contacts).
    type State: Send + Sync;
    /// The row of a read.
    fn row(target: &Target, read: &Read<Self>) -> Self::Row;
    /// The row's Clio id, etag and `updated_at`.
    fn version(row: &Self::Row) -> (i64, Option<&str>, Option<DateTime<Utc>>);
    /// The domain events writing `row` over `before` implies.
    fn events(before: Option<Before<&Self::State>>, row: &Self::Row, kind: ReadKind)
        -> Vec<Change>;
    /// The held versions of these records, locked.
    fn versions(
        conn: &mut AsyncPgConnection,
        account: i64,
        ids: &[i64],
    ) -> impl std::future::Future<Output = diesel::QueryResult<Vec<Version<Self::State>>>> + Send;
    /// Writes the rows, in one statement per table.
    fn upsert(
        conn: &mut AsyncPgConnection,
        rows: &[&Self::Row],
    ) -> impl std::future::Future<Output = diesel::QueryResult<()>> + Send;
}

impl Mirrored for Matter {
    const MODEL: Model = Model::Matter;
    type Row = mirror::MatterRow;
    type State = MatterStatus;
    fn row(target: &Target, read: &Read<Self>) -> Self::Row {
        records::matter_row(target.account, read)
    }
    fn version(r: &Self::Row) -> (i64, Option<&str>, Option<DateTime<Utc>>) {
        (r.clio_id, r.etag.as_deref(), r.clio_updated_at)
    }
    fn events(before: Option<Before<&MatterStatus>>, r: &Self::Row, kind: ReadKind) -> Vec<Change> {
        sync_events::matter(before, r.status.as_ref(), kind)
    }
    async fn versions(
        conn: &mut AsyncPgConnection,
        account: i64,
        ids: &[i64],
    ) -> diesel::QueryResult<Vec<Version<MatterStatus>>> {
        mirror::matter_versions(conn, account, ids).await
    }
    async fn upsert(conn: &mut AsyncPgConnection, rows: &[&Self::Row]) -> diesel::QueryResult<()> {
        mirror::upsert_matters(conn, rows).await
    }
}

/// A contact's row with its normalised emails and phones.
struct ContactRows(mirror::ContactRow, Vec<String>, Vec<mirror::PhoneRow>);

impl Mirrored for Contact {
    const MODEL: Model = Model::Contact;
    type Row = ContactRows;
    type State = ();
    fn row(target: &Target, read: &Read<Self>) -> Self::Row {
        let (row, emails, phones) = records::contact_row(target.account, &target.region, read);
        ContactRows(row, emails, phones)
    }
    fn version(r: &Self::Row) -> (i64, Option<&str>, Option<DateTime<Utc>>) {
        (r.0.clio_id, r.0.etag.as_deref(), r.0.clio_updated_at)
    }
    fn events(before: Option<Before<&()>>, _: &Self::Row, kind: ReadKind) -> Vec<Change> {
        // Written only when its version moved: always a change.
        sync_events::contact(before.is_some(), true, kind)
    }
    async fn versions(
        conn: &mut AsyncPgConnection,
        account: i64,
        ids: &[i64],
    ) -> diesel::QueryResult<Vec<Version<()>>> {
        mirror::contact_versions(conn, account, ids).await
    }
    async fn upsert(conn: &mut AsyncPgConnection, rows: &[&Self::Row]) -> diesel::QueryResult<()> {
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (&r.0, r.1.as_slice(), r.2.as_slice()))
            .collect();
        mirror::upsert_contacts(conn, &rows).await
    }
}

impl Mirrored for Bill {
    const MODEL: Model = Model::Bill;
    type Row = mirror::BillRow;
    type State = BillState;
    fn row(target: &Target, read: &Read<Self>) -> Self::Row {
        records::bill_row(target.account, read)
    }
    fn version(r: &Self::Row) -> (i64, Option<&str>, Option<DateTime<Utc>>) {
        (r.clio_id, r.etag.as_deref(), r.clio_updated_at)
    }
    fn events(before: Option<Before<&BillState>>, r: &Self::Row, kind: ReadKind) -> Vec<Change> {
        sync_events::bill(before, r.state.as_ref(), kind)
    }
    async fn versions(
        conn: &mut AsyncPgConnection,
        account: i64,
        ids: &[i64],
    ) -> diesel::QueryResult<Vec<Version<BillState>>> {
        mirror::bill_versions(conn, account, ids).await
    }
    async fn upsert(conn: &mut AsyncPgConnection, rows: &[&Self::Row]) -> diesel::QueryResult<()> {
        mirror::upsert_bills(conn, rows).await
    }
}

/// Writes the reads of one model: each row the mirror holds in an older version (or not at all),
/// with the domain events the change implies. Set-based: the held versions are read (locked) in
/// one statement, the rules decide in memory, and the newer rows and their events are written in
/// one statement each.
async fn write<M: Mirrored>(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<M>],
    kind: ReadKind,
    causes: &Causes,
    guard: Guard,
) -> diesel::QueryResult<Applied> {
    let rows = newest_per_record::<M>(reads.iter().map(|r| M::row(target, r)).collect());
    let ids: Vec<i64> = rows.iter().map(|r| M::version(r).0).collect();
    let held = match guard {
        Guard::Reread => {
            advisory::take_turn(conn, target.account, M::MODEL).await?;
            M::versions(conn, target.account, &ids).await?
        }
        // A webhook's record is one the mirror mostly holds already: its row lock is turn
        // enough (a batch writing it locks the same row), so webhooks of different records of
        // one firm need not queue behind each other. Only a record the mirror lacks, whose
        // insert no row lock can guard, takes the firm's turn, and is looked up again under it.
        Guard::Webhook => {
            let held = M::versions(conn, target.account, &ids).await?;
            if held.len() < ids.len() {
                advisory::take_turn(conn, target.account, M::MODEL).await?;
                M::versions(conn, target.account, &ids).await?
            } else {
                held
            }
        }
    };
    let held = versions_by_id(held);
    let mut applied = Applied::default();
    let mut written = Vec::with_capacity(rows.len());
    let mut events = Vec::new();
    for row in &rows {
        let (id, etag, updated_at) = M::version(row);
        let was = held.get(&id);
        if !guard.admits(was, etag, updated_at) {
            continue;
        }
        let changes = M::events(before(was), row, kind);
        written.push(row);
        applied.changed += 1;
        applied.events += announce(
            &mut events,
            target,
            id,
            etag,
            updated_at,
            changes,
            causes.get(&id),
        )?;
    }
    M::upsert(conn, &written).await?;
    outbox::push_many(conn, &events).await?;
    Ok(applied)
}

/// One row per record, the newest where a read holds a record twice (a page that shifted under
/// a listing): one statement cannot write a row twice.
fn newest_per_record<M: Mirrored>(rows: Vec<M::Row>) -> Vec<M::Row> {
    let mut at: HashMap<i64, usize> = HashMap::with_capacity(rows.len());
    let mut kept: Vec<M::Row> = Vec::with_capacity(rows.len());
    for row in rows {
        let (id, etag, updated_at) = M::version(&row);
        let Some(&i) = at.get(&id) else {
            at.insert(id, kept.len());
            kept.push(row);
            continue;
        };
        let (_, kept_etag, kept_at) = M::version(&kept[i]);
        let kept_version = Version::<()> {
            clio_id: id,
            etag: kept_etag.map(str::to_owned),
            updated_at: kept_at,
            state: None,
            deleted_at: None,
        };
        if kept_version.is_older_than(etag, updated_at) {
            kept[i] = row;
        }
    }
    kept
}

/// Writes matters.
pub async fn matters(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Matter>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes, Guard::Reread).await
}

/// Writes contacts.
pub async fn contacts(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Contact>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes, Guard::Reread).await
}

/// Writes bills.
pub async fn bills(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Bill>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes, Guard::Reread).await
}

/// Applies a webhook's own data under [`Guard::Webhook`]: the record as Clio sent it, before the
/// coalesced re-read that stays the authority (and corrects anything this wrote).
pub async fn webhook(
    conn: &mut AsyncPgConnection,
    target: &Target,
    data: WebhookData,
    cause: &str,
) -> diesel::QueryResult<Applied> {
    let id = data.id();
    let causes: Causes = HashMap::from([(id, cause.to_owned())]);
    match data {
        WebhookData::Matter(r) => {
            write(conn, target, &[*r], ReadKind::Live, &causes, Guard::Webhook).await
        }
        WebhookData::Contact(r) => {
            write(conn, target, &[*r], ReadKind::Live, &causes, Guard::Webhook).await
        }
        WebhookData::Bill(r) => {
            write(conn, target, &[*r], ReadKind::Live, &causes, Guard::Webhook).await
        }
    }
}

/// [`webhook`] for the records of many webhooks of one connection, each with its cause: one
/// statement per table for all of them, a record twice written once (its newest).
pub async fn webhooks(
    conn: &mut AsyncPgConnection,
    target: &Target,
    data: Vec<(WebhookData, String)>,
) -> diesel::QueryResult<Applied> {
    let mut causes = Causes::with_capacity(data.len());
    let (mut matters, mut contacts, mut bills) = (Vec::new(), Vec::new(), Vec::new());
    for (record, cause) in data {
        causes.insert(record.id(), cause);
        match record {
            WebhookData::Matter(r) => matters.push(*r),
            WebhookData::Contact(r) => contacts.push(*r),
            WebhookData::Bill(r) => bills.push(*r),
        }
    }
    let mut applied = Applied::default();
    let (kind, guard) = (ReadKind::Live, Guard::Webhook);
    if !matters.is_empty() {
        applied += write(conn, target, &matters, kind, &causes, guard).await?;
    }
    if !contacts.is_empty() {
        applied += write(conn, target, &contacts, kind, &causes, guard).await?;
    }
    if !bills.is_empty() {
        applied += write(conn, target, &bills, kind, &causes, guard).await?;
    }
    Ok(applied)
}

/// A webhook's record, parsed like a read.
pub enum WebhookData {
    /// A matter.
    Matter(Box<Read<Matter>>),
    /// A contact.
    Contact(Box<Read<Contact>>),
    /// A bill.
    Bill(Box<Read<Bill>>),
}

impl WebhookData {
    /// The record's data from a webhook of `model`: `None` when it is not a whole, usable record
    /// (no id, no `updated_at`, a shape the model refuses), which leaves it to the re-read.
    pub fn parse(model: Model, data: &serde_json::Value) -> Option<Self> {
        fn one<T: serde::de::DeserializeOwned>(
            data: &serde_json::Value,
            id: impl Fn(&T) -> i64,
        ) -> Option<Read<T>> {
            records::parse(vec![data.clone()], id).ok()?.pop()
        }
        let parsed = match model {
            Model::Matter => Self::Matter(Box::new(one(data, |m: &Matter| m.id)?)),
            Model::Contact => Self::Contact(Box::new(one(data, |c: &Contact| c.id)?)),
            Model::Bill => Self::Bill(Box::new(one(data, |b: &Bill| b.id)?)),
            Model::User | Model::CustomField => return None,
        };
        let updated = match &parsed {
            Self::Matter(r) => r.typed.updated_at.is_some(),
            Self::Contact(r) => r.typed.updated_at.is_some(),
            Self::Bill(r) => r.typed.updated_at.is_some(),
        };
        updated.then_some(parsed)
    }

    fn id(&self) -> i64 {
        match self {
            Self::Matter(r) => r.typed.id,
            Self::Contact(r) => r.typed.id,
            Self::Bill(r) => r.typed.id,
        }
    }
}

/// Marks records Clio no longer returns as deleted; a matter the mirror held announces
/// [`Change::MatterDeleted`] (a tombstone for a matter never seen announces nothing).
pub async fn absent(
    conn: &mut AsyncPgConnection,
    target: &Target,
    model: Model,
    ids: &[i64],
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    if ids.is_empty() {
        return Ok(Applied::default());
    }
    advisory::take_turn(conn, target.account, model).await?;
    let held = match model {
        Model::Matter => versions_by_id(mirror::matter_versions(conn, target.account, ids).await?),
        _ => HashMap::new(),
    };
    let at = Utc::now();
    let marked = mirror::mark_deleted(conn, model, target.account, ids, at).await?;
    let mut applied = Applied {
        deleted: marked.len(),
        ..Applied::default()
    };
    let mut events = Vec::new();
    for id in marked {
        let Some(was) = held.get(&id).filter(|v| v.deleted_at.is_none()) else {
            continue;
        };
        applied.events += announce(
            &mut events,
            target,
            id,
            was.etag.as_deref(),
            was.updated_at,
            vec![Change::MatterDeleted],
            causes.get(&id),
        )?;
    }
    outbox::push_many(conn, &events).await?;
    Ok(applied)
}
