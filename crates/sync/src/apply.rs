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

async fn publish_later(
    conn: &mut AsyncPgConnection,
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
        outbox::push(conn, &envelope.routing_key(), &message).await?;
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
    /// Writes the row.
    fn upsert(
        conn: &mut AsyncPgConnection,
        row: &Self::Row,
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
    async fn upsert(conn: &mut AsyncPgConnection, r: &Self::Row) -> diesel::QueryResult<()> {
        mirror::upsert_matter(conn, r).await
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
    async fn upsert(conn: &mut AsyncPgConnection, r: &Self::Row) -> diesel::QueryResult<()> {
        mirror::upsert_contact(conn, &r.0, &r.1, &r.2).await
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
    async fn upsert(conn: &mut AsyncPgConnection, r: &Self::Row) -> diesel::QueryResult<()> {
        mirror::upsert_bill(conn, r).await
    }
}

/// Writes the reads of one model: each row the mirror holds in an older version (or not at all),
/// with the domain events the change implies.
async fn write<M: Mirrored>(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<M>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    advisory::take_turn(conn, target.account, M::MODEL).await?;
    let rows: Vec<M::Row> = reads.iter().map(|r| M::row(target, r)).collect();
    let ids: Vec<i64> = rows.iter().map(|r| M::version(r).0).collect();
    let held = versions_by_id(M::versions(conn, target.account, &ids).await?);
    let mut applied = Applied::default();
    for row in &rows {
        let (id, etag, updated_at) = M::version(row);
        let was = held.get(&id);
        if was.is_some_and(|v| !v.is_older_than(etag, updated_at)) {
            continue;
        }
        let events = M::events(before(was), row, kind);
        M::upsert(conn, row).await?;
        applied.changed += 1;
        applied.events +=
            publish_later(conn, target, id, etag, updated_at, events, causes.get(&id)).await?;
    }
    Ok(applied)
}

/// Writes matters.
pub async fn matters(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Matter>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes).await
}

/// Writes contacts.
pub async fn contacts(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Contact>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes).await
}

/// Writes bills.
pub async fn bills(
    conn: &mut AsyncPgConnection,
    target: &Target,
    reads: &[Read<Bill>],
    kind: ReadKind,
    causes: &Causes,
) -> diesel::QueryResult<Applied> {
    write(conn, target, reads, kind, causes).await
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
    for id in marked {
        let Some(was) = held.get(&id).filter(|v| v.deleted_at.is_none()) else {
            continue;
        };
        applied.events += publish_later(
            conn,
            target,
            id,
            was.etag.as_deref(),
            was.updated_at,
            vec![Change::MatterDeleted],
            causes.get(&id),
        )
        .await?;
    }
    Ok(applied)
}
