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
    caller::{query_forms, PhoneQueryError, QueryForms},
    contact_points::country_of_region,
};
use matterhook_store::{
    caller::{self as store, LookupQuery},
    PgPool,
};
use parking_lot::RwLock;
use phonenumber::country::Id as Country;
use std::sync::Arc;

pub use answer::{Answer, Candidate, MatterBody, Person, Source};
pub use mirror::Gate;

/// Candidates an answer names at most (the total is counted regardless): a receptionist cannot
/// use more, and a shared last four digits in a big firm would otherwise list hundreds.
pub const MAX_CONTACTS: usize = 10;

/// Matters per candidate at most, open ones first.
pub const MAX_MATTERS: i64 = 25;

/// Whose firm a lookup searches, and as whom.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The connection whose token a live lookup uses.
    pub connection_id: i64,
    /// The firm.
    pub clio_account_id: i64,
    /// The firm's Clio region (`us`, `ca`, ...): the default country of a number.
    pub region: String,
    /// The lookup key asking, whose revocation the lookup checks.
    pub key_id: Option<i64>,
}

/// Why a lookup did not answer.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// The number is not one.
    #[error(transparent)]
    Phone(#[from] PhoneQueryError),
    /// The key was revoked (or its connection disconnected) since it was presented.
    #[error("the lookup key is no longer valid")]
    KeyGone(Gate),
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
        let mut conn = self.pool.get().await?;
        let rows = store::lookup(
            &mut conn,
            &LookupQuery {
                clio_account_id: scope.clio_account_id,
                e164: &forms.e164,
                national: &forms.national,
                last_four: Some(&forms.last_four),
                key_id: scope.key_id,
                max_contacts: i64::try_from(MAX_CONTACTS).unwrap_or(10),
                max_matters: MAX_MATTERS,
            },
        )
        .await?;
        match mirror::answer(rows) {
            (Gate::Open, answer) => Ok(answer),
            (gate, _) => Err(LookupError::KeyGone(gate)),
        }
    }

    async fn answer_from_clio(
        &self,
        scope: &Scope,
        forms: &QueryForms,
        country: Option<Country>,
    ) -> Result<Answer, LookupError> {
        if let Some(key) = scope.key_id {
            // The mirror's statement checks the key itself; here nothing else would.
            let mut conn = self.pool.get().await?;
            match matterhook_store::lookup_keys::live_connection_status(&mut conn, key).await? {
                None => return Err(LookupError::KeyGone(Gate::Revoked)),
                Some(s) if s == "disconnected" => {
                    return Err(LookupError::KeyGone(Gate::Disconnected))
                }
                Some(_) => {}
            }
        }
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
