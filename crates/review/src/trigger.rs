//! `matterhook-worker-review`'s consumer: a matter entering a trigger status (or first seen in
//! one) becomes a review request for each of the firm's connections that asked for it.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use matterhook_bus::{domain_binding, Envelope, Handler, HandlerError};
use matterhook_domain::{
    review::trigger_of,
    sync_events::{Change, ChangeKind},
};
use matterhook_store::{mirror, settings};

use chrono::{Duration, NaiveDate, TimeZone};
use matterhook_domain::MatterStatus;

use crate::requests::{self, Occasion, ReviewError};

/// Now, as the worker sees it (tests move it).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Consumes `sync.matter.status_changed` and `sync.matter.opened`.
#[derive(Clone)]
pub struct ReviewTrigger {
    /// Now.
    pub clock: Clock,
}

impl std::fmt::Debug for ReviewTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReviewTrigger").finish_non_exhaustive()
    }
}

impl Default for ReviewTrigger {
    fn default() -> Self {
        Self {
            clock: system_clock(),
        }
    }
}

impl From<ReviewError> for HandlerError {
    fn from(e: ReviewError) -> Self {
        match e {
            ReviewError::Database(d) => d.into(),
            // A document that no longer reads will not read on a retry either.
            settings @ ReviewError::Settings(..) => HandlerError::permanent(settings),
        }
    }
}

impl Handler for ReviewTrigger {
    const NAME: &'static str = "review";

    // Its whole effect is rows in PostgreSQL (it reads the mirror, never Clio): events waiting
    // together share a transaction, one commit for up to 16.
    const BATCH: usize = 16;

    fn routing_keys(&self) -> Vec<String> {
        [ChangeKind::MatterStatusChanged, ChangeKind::MatterOpened]
            .map(domain_binding)
            .to_vec()
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        let event = envelope.domain()?;
        let (account, matter_id) = (event.account.get(), event.record.get());
        match &event.change {
            Change::MatterStatusChanged { .. } | Change::MatterOpened => {}
            other => {
                return Err(HandlerError::permanent(format!(
                    "the review worker does not handle {}",
                    domain_binding(other.kind())
                )))
            }
        }
        // The mirror is the truth: the status the matter holds now, and when Clio last changed
        // it (an event handled late is judged by when the matter entered the status).
        let Some(matter) = mirror::matter(conn, account, matter_id).await? else {
            return Ok(());
        };
        let Some(trigger) = matter.status.as_ref().and_then(trigger_of) else {
            return Ok(());
        };
        let now = (self.clock)();
        let triggered_at = entered_at(&matter, now);
        let scope = settings::Scope {
            account: Some(account),
            ..settings::Scope::default()
        };
        for rc in settings::review_connections(conn, scope).await? {
            let settings = match requests::settings_of(&rc) {
                Ok(s) if s.triggers.contains(&trigger) => s,
                Ok(_) => continue,
                // One connection's unreadable settings hold up no other's requests.
                Err(e) => {
                    tracing::error!(connection_id = rc.connection_id, error = %matterhook_telemetry::Chain(&e), "review settings unreadable; skipped");
                    continue;
                }
            };
            let made = requests::create(
                conn,
                &rc,
                &settings,
                &Occasion {
                    matter_id,
                    trigger,
                    triggered_at,
                    now,
                    force: false,
                },
            )
            .await?;
            if let Some(r) = made {
                tracing::info!(
                    connection_id = rc.connection_id,
                    matter_id,
                    request = r.id,
                    state = %r.state,
                    reason = r.reason.as_deref().unwrap_or(""),
                    "review request made"
                );
            }
        }
        Ok(())
    }
}

/// When the matter entered its status: Clio's last change, unless that fell after the status's
/// own date (an edit since), then the end of that date (UTC); never after now.
fn entered_at(matter: &mirror::MatterRow, now: DateTime<Utc>) -> DateTime<Utc> {
    let changed = matter.clio_updated_at.unwrap_or(now).min(now);
    let dated: Option<NaiveDate> = match matter.status.as_ref() {
        Some(MatterStatus::Closed) => matter.close_date,
        Some(MatterStatus::Pending) => matter.pending_date,
        Some(MatterStatus::Open) => matter.open_date,
        _ => None,
    };
    match dated {
        Some(day) if changed.date_naive() > day => {
            let end = (day + Duration::days(1))
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default();
            Utc.from_utc_datetime(&end).min(changed)
        }
        _ => changed,
    }
}
