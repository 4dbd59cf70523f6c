//! Referrals, their links to Clio matters, their timelines, suggestions and drafts.

use chrono::{DateTime, Utc};
use diesel::{prelude::*, QueryResult};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use matterhook_domain::{Direction, ReferralStatus};

use crate::schema::{action_items as a, connections as c, referral_events as e, referrals as r};

/// A referral row.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = r)]
pub struct Referral {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// received or sent.
    pub direction: Direction,
    /// The partner.
    pub partner_name: String,
    /// Their email.
    pub partner_email: Option<String>,
    /// Client first name.
    pub client_first_name: Option<String>,
    /// Client last name.
    pub client_last_name: Option<String>,
    /// Client email.
    pub client_email: Option<String>,
    /// Client company.
    pub client_company: Option<String>,
    /// open, won or lost.
    pub status: ReferralStatus,
    /// Commission amount, in cents.
    pub commission_cents: Option<i64>,
    /// Commission share, in basis points.
    pub commission_bp: Option<i32>,
    /// Normalised client email.
    #[serde(skip)]
    pub email_key: Option<String>,
    /// Normalised client name.
    #[serde(skip)]
    pub name_key: Option<String>,
    /// Normalised client company.
    #[serde(skip)]
    pub company_key: Option<String>,
    /// Words of the client's name.
    #[serde(skip)]
    pub name_tokens: Vec<String>,
    /// The linked matter's firm.
    pub clio_account_id: Option<i64>,
    /// The linked matter.
    pub matter_id: Option<i64>,
    /// When linked.
    pub linked_at: Option<DateTime<Utc>>,
    /// match or user.
    pub linked_by: Option<String>,
    /// When the status last changed, as its source saw it.
    pub status_changed_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
}

/// A referral to create (keys already normalised by the caller).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = r)]
pub struct NewReferral {
    /// Owner.
    pub user_id: i64,
    /// received or sent.
    pub direction: Direction,
    /// The partner.
    pub partner_name: String,
    /// Their email.
    pub partner_email: Option<String>,
    /// Client first name.
    pub client_first_name: Option<String>,
    /// Client last name.
    pub client_last_name: Option<String>,
    /// Client email.
    pub client_email: Option<String>,
    /// Client company.
    pub client_company: Option<String>,
    /// Commission amount, in cents.
    pub commission_cents: Option<i64>,
    /// Commission share, in basis points.
    pub commission_bp: Option<i32>,
    /// Normalised client email.
    pub email_key: Option<String>,
    /// Normalised client name.
    pub name_key: Option<String>,
    /// Normalised client company.
    pub company_key: Option<String>,
    /// Words of the client's name.
    pub name_tokens: Vec<String>,
}

/// Creates a referral.
pub async fn create(conn: &mut AsyncPgConnection, new: &NewReferral) -> QueryResult<Referral> {
    diesel::insert_into(r::table)
        .values(new)
        .returning(Referral::as_returning())
        .get_result(conn)
        .await
}

/// A user's referral.
pub async fn get(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
) -> QueryResult<Option<Referral>> {
    r::table
        .filter(r::id.eq(id).and(r::user_id.eq(user_id)))
        .select(Referral::as_select())
        .first(conn)
        .await
        .optional()
}

/// A user's referrals, newest first, after `before` (an id) when paging.
pub async fn list(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    before: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<Referral>> {
    let mut q = r::table
        .filter(r::user_id.eq(user_id))
        .select(Referral::as_select())
        .order(r::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(b) = before {
        q = q.filter(r::id.lt(b));
    }
    q.load(conn).await
}

/// The user's unlinked received referrals whose client has one of these keys: what matching
/// considers, found through three partial indexes.
pub async fn candidates(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    emails: &[String],
    name_key: Option<&str>,
    company_key: Option<&str>,
) -> QueryResult<Vec<Referral>> {
    let received = r::user_id
        .eq(user_id)
        .and(r::direction.eq(Direction::Received))
        .and(r::matter_id.is_null());
    let mut rows: Vec<Referral> = Vec::new();
    if !emails.is_empty() {
        rows.extend(
            r::table
                .filter(received.and(r::email_key.eq_any(emails)))
                .select(Referral::as_select())
                .load(conn)
                .await?,
        );
    }
    if let Some(name) = name_key {
        rows.extend(
            r::table
                .filter(received.and(r::name_key.eq(name)))
                .select(Referral::as_select())
                .load(conn)
                .await?,
        );
    }
    if let Some(company) = company_key {
        rows.extend(
            r::table
                .filter(received.and(r::company_key.eq(company)))
                .select(Referral::as_select())
                .load(conn)
                .await?,
        );
    }
    rows.sort_by_key(|x| x.id);
    rows.dedup_by_key(|x| x.id);
    Ok(rows)
}

/// Links a referral to a matter, unless it is linked already; whether it was.
pub async fn link(
    conn: &mut AsyncPgConnection,
    id: i64,
    account: i64,
    matter_id: i64,
    by: &str,
) -> QueryResult<bool> {
    let n = diesel::update(r::table.find(id).filter(r::matter_id.is_null()))
        .set((
            r::clio_account_id.eq(account),
            r::matter_id.eq(matter_id),
            r::linked_at.eq(Utc::now()),
            r::linked_by.eq(by),
            r::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// Removes a referral's link (the referral and the matter stay as they are).
pub async fn unlink(conn: &mut AsyncPgConnection, id: i64) -> QueryResult<bool> {
    let n = diesel::update(r::table.find(id).filter(r::matter_id.is_not_null()))
        .set((
            r::clio_account_id.eq(None::<i64>),
            r::matter_id.eq(None::<i64>),
            r::linked_at.eq(None::<DateTime<Utc>>),
            r::linked_by.eq(None::<String>),
            r::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// The referrals linked to a matter whose users are connected to its firm (a connection waiting
/// for reauthorization counts, as for matching), locked until the transaction ends. A user who
/// disconnected gets no status or draft through a colleague's connection; they catch up when
/// they connect again.
pub async fn linked_to(
    conn: &mut AsyncPgConnection,
    account: i64,
    matter_id: i64,
) -> QueryResult<Vec<Referral>> {
    r::table
        .filter(
            r::clio_account_id
                .eq(account)
                .and(r::matter_id.eq(matter_id)),
        )
        .filter(diesel::dsl::exists(
            c::table
                .filter(c::user_id.eq(r::user_id))
                .filter(c::clio_account_id.eq(account))
                .filter(c::status.ne(crate::connections::DISCONNECTED)),
        ))
        .select(Referral::as_select())
        .order(r::id.asc())
        .for_update()
        .load(conn)
        .await
}

/// A user's referrals linked to matters of a firm: what catches up when their connection to it
/// syncs again.
pub async fn linked_of_user(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    account: i64,
) -> QueryResult<Vec<Referral>> {
    r::table
        .filter(r::user_id.eq(user_id))
        .filter(r::clio_account_id.eq(account))
        .filter(r::matter_id.is_not_null())
        .select(Referral::as_select())
        .order(r::id.asc())
        .load(conn)
        .await
}

/// Sets a referral's status, as its source saw it at `changed_at`.
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    id: i64,
    status: ReferralStatus,
    changed_at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(r::table.find(id))
        .set((
            r::status.eq(status),
            r::status_changed_at.eq(changed_at),
            r::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A timeline entry.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = e)]
pub struct TimelineEntry {
    /// Row id.
    pub id: i64,
    /// The referral.
    pub referral_id: i64,
    /// When.
    pub at: DateTime<Utc>,
    /// What kind.
    pub kind: String,
    /// For the user to read.
    pub message: String,
}

/// Adds a timeline entry.
pub async fn add_event(
    conn: &mut AsyncPgConnection,
    referral_id: i64,
    kind: &str,
    message: &str,
) -> QueryResult<()> {
    diesel::insert_into(e::table)
        .values((
            e::referral_id.eq(referral_id),
            e::kind.eq(kind),
            e::message.eq(message),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// A referral's timeline, oldest first.
pub async fn timeline(
    conn: &mut AsyncPgConnection,
    referral_id: i64,
) -> QueryResult<Vec<TimelineEntry>> {
    e::table
        .filter(e::referral_id.eq(referral_id))
        .order(e::id.asc())
        .select(TimelineEntry::as_select())
        .load(conn)
        .await
}

/// A drafted action waiting for the user.
#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = a)]
pub struct ActionItem {
    /// Row id.
    pub id: i64,
    /// Owner.
    pub user_id: i64,
    /// The referral.
    pub referral_id: i64,
    /// thank_you_draft.
    pub kind: String,
    /// The bill's firm.
    pub clio_account_id: i64,
    /// The bill.
    pub bill_id: i64,
    /// Recipient name.
    pub to_name: String,
    /// Recipient email.
    pub to_email: Option<String>,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// pending, approved or dismissed.
    pub state: String,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Decided.
    pub decided_at: Option<DateTime<Utc>>,
}

/// A thank-you draft to queue.
#[derive(Debug, Clone)]
pub struct NewDraft<'a> {
    /// Owner.
    pub user_id: i64,
    /// The referral.
    pub referral_id: i64,
    /// The bill's firm.
    pub account: i64,
    /// The bill.
    pub bill_id: i64,
    /// Recipient name.
    pub to_name: &'a str,
    /// Recipient email.
    pub to_email: Option<&'a str>,
    /// Subject.
    pub subject: &'a str,
    /// Body.
    pub body: &'a str,
}

/// Queues a thank-you draft unless one exists for this bill and referral; whether it is new.
pub async fn queue_draft(conn: &mut AsyncPgConnection, d: &NewDraft<'_>) -> QueryResult<bool> {
    let n = diesel::insert_into(a::table)
        .values((
            a::user_id.eq(d.user_id),
            a::referral_id.eq(d.referral_id),
            a::kind.eq("thank_you_draft"),
            a::clio_account_id.eq(d.account),
            a::bill_id.eq(d.bill_id),
            a::to_name.eq(d.to_name),
            a::to_email.eq(d.to_email),
            a::subject.eq(d.subject),
            a::body.eq(d.body),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(n == 1)
}

/// A user's action queue (pending unless `all`), newest first.
pub async fn action_queue(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    all: bool,
) -> QueryResult<Vec<ActionItem>> {
    let mut q = a::table
        .filter(a::user_id.eq(user_id))
        .order(a::id.desc())
        .select(ActionItem::as_select())
        .into_boxed();
    if !all {
        q = q.filter(a::state.eq("pending"));
    }
    q.load(conn).await
}

/// Approves or dismisses a pending item of the user's; whether it was pending.
pub async fn decide_action(
    conn: &mut AsyncPgConnection,
    user_id: i64,
    id: i64,
    state: &str,
) -> QueryResult<bool> {
    let n = diesel::update(
        a::table
            .find(id)
            .filter(a::user_id.eq(user_id).and(a::state.eq("pending"))),
    )
    .set((a::state.eq(state), a::decided_at.eq(Utc::now())))
    .execute(conn)
    .await?;
    Ok(n == 1)
}
