//! Caller lookup, the phone receptionist's Clio integration: a number in any format to the
//! caller's contacts, their matters and the staff member to hand the call to.
//!
//! - From the mirror ([`mirror`]): the sync stage keeps every contact's numbers as E.164, national
//!   digits and last four, indexed; one statement tries them strongest first
//!   (`matterhook_domain::caller`'s rules) and reads the candidates' matters and the people on
//!   them. No Clio call.
//! - From Clio ([`live`]) only until the firm's first sync has listed every contact and matter:
//!   at most two calls, confirmed by the same normalisation.
//!
//! Numbers never reach logs or metrics whole: [`matterhook_domain::caller::masked`] shows the
//! last four digits at most.

pub mod answer;
pub mod live;
pub mod mirror;

use std::collections::HashSet;

use matterhook_connections::{CallError, Connections};
use matterhook_domain::{
    caller::{query_forms, Key, PhoneQueryError, QueryForms},
    contact_points::country_of_region,
};
use matterhook_store::{caller as store, PgPool};
use parking_lot::RwLock;
use phonenumber::country::Id as Country;
use std::sync::Arc;

pub use answer::{Answer, Candidate, MatterBody, Person, Source};

/// Candidates an answer names at most (the total is counted regardless): a receptionist cannot
/// use more, and a shared last four digits in a big firm would otherwise list hundreds.
pub const MAX_CONTACTS: usize = 10;

/// Rows (a candidate's number and matter) read at most for one lookup: a caller with more
/// matters than this shows the most recently updated.
pub const MAX_ROWS: i64 = 500;

/// Contacts sharing the last four digits counted at most.
pub const LAST_FOUR_CAP: i64 = 1_000;

/// Whose firm a lookup searches, and as whom.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The connection whose token a live lookup uses.
    pub connection_id: i64,
    /// The firm.
    pub clio_account_id: i64,
    /// The firm's Clio region (`us`, `ca`, ...): the default country of a number.
    pub region: String,
}

/// Why a lookup did not answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The number is not one.
    #[error(transparent)]
    Phone(#[from] PhoneQueryError),
    /// The mirror could not be read.
    #[error("reading the mirror")]
    Store(#[from] diesel::result::Error),
    /// A pooled connection could not be had.
    #[error("getting a database connection")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// Clio could not be asked (live lookups only).
    #[error("asking Clio")]
    Clio(#[from] CallError),
}

/// Looks callers up. Cheap to clone.
#[derive(Clone)]
pub struct CallerLookup {
    pool: PgPool,
    connections: Connections,
    /// Firms whose first sync has finished: once true, always true, so it is asked once.
    synced: Arc<RwLock<HashSet<i64>>>,
}

impl CallerLookup {
    /// A lookup over `pool`'s mirror, asking Clio through `connections` before a first sync.
    pub fn new(pool: PgPool, connections: Connections) -> Self {
        Self {
            pool,
            connections,
            synced: Arc::default(),
        }
    }

    /// Looks `phone` up in `scope`'s firm, reading it as a number of `country` (else the
    /// region's) unless it names its own.
    pub async fn lookup(
        &self,
        scope: &Scope,
        phone: &str,
        country: Option<Country>,
    ) -> Result<Answer, LookupError> {
        let country = country.or_else(|| country_of_region(&scope.region));
        let forms = query_forms(phone, country)?;
        let answer = if self.first_sync_done(scope.clio_account_id).await? {
            self.answer_from_mirror(scope, &forms).await?
        } else {
            self.answer_from_clio(scope, &forms, country).await?
        };
        tracing::debug!(
            phone = %matterhook_domain::caller::masked(phone),
            r#match = ?answer.match_kind,
            source = ?answer.source,
            candidates = answer.candidates_total,
            "caller looked up"
        );
        Ok(answer)
    }

    async fn first_sync_done(&self, account: i64) -> Result<bool, LookupError> {
        if self.synced.read().contains(&account) {
            return Ok(true);
        }
        let mut conn = self.pool.get().await?;
        let done = store::first_sync_done(&mut conn, account).await?;
        if done {
            self.synced.write().insert(account);
        }
        Ok(done)
    }

    async fn answer_from_mirror(
        &self,
        scope: &Scope,
        forms: &QueryForms,
    ) -> Result<Answer, LookupError> {
        let account = scope.clio_account_id;
        let mut conn = self.pool.get().await?;
        // The strongest key first: most numbers are found by their E.164 form in one probe.
        if !forms.e164.is_empty() {
            let rows = store::by_e164(&mut conn, account, &forms.e164, MAX_ROWS).await?;
            if !rows.is_empty() {
                return Ok(mirror::answer(rows, Key::E164));
            }
        }
        if !forms.national.is_empty() {
            let rows = store::by_national(&mut conn, account, &forms.national, MAX_ROWS).await?;
            if !rows.is_empty() {
                return Ok(mirror::answer(rows, Key::National));
            }
        }
        // Only the last four digits are left: count who has them, then read the first few.
        let sharing =
            store::by_last_four(&mut conn, account, &forms.last_four, LAST_FOUR_CAP).await?;
        let mut ids: Vec<i64> = sharing.iter().map(|(id, _)| *id).collect();
        ids.dedup();
        let total = i64::try_from(ids.len()).unwrap_or(i64::MAX);
        if ids.is_empty() {
            return Ok(Answer::decide(None, Source::Mirror, Vec::new(), 0));
        }
        ids.truncate(MAX_CONTACTS);
        let rows = store::by_contacts(&mut conn, account, &ids, &forms.last_four, MAX_ROWS).await?;
        let mut found = mirror::candidates(rows);
        found.truncate(MAX_CONTACTS);
        Ok(Answer::decide(
            Some(Key::LastFour),
            Source::Mirror,
            found,
            total,
        ))
    }

    async fn answer_from_clio(
        &self,
        scope: &Scope,
        forms: &QueryForms,
        country: Option<Country>,
    ) -> Result<Answer, LookupError> {
        let mut answer =
            live::lookup(&self.connections, scope.connection_id, forms, country).await?;
        // Clio's matter lists name people without phones; the users' sweep may already have them.
        let ids: Vec<i64> = answer
            .candidates
            .iter()
            .flat_map(|c| &c.matters)
            .flat_map(|m| [&m.responsible_staff, &m.responsible_attorney])
            .flatten()
            .map(|p| p.id)
            .collect();
        if !ids.is_empty() {
            let mut conn = self.pool.get().await?;
            let known = store::staff_by_ids(&mut conn, scope.clio_account_id, &ids).await?;
            let people = answer
                .candidates
                .iter_mut()
                .flat_map(|c| c.matters.iter_mut())
                .flat_map(|m| [&mut m.responsible_staff, &mut m.responsible_attorney])
                .flatten()
                .chain(answer.transfer_to.as_mut());
            for person in people {
                if let Some(k) = known.iter().find(|k| k.clio_id == person.id) {
                    person.phone.clone_from(&k.phone_number);
                }
            }
        }
        Ok(answer)
    }
}
