//! The review worker's timed work: scheduled requests falling due (checked again, then due with
//! a notification, held back, or cancelled), and the daily reconciliation that catches matters
//! whose trigger no event announced (a webhook lapse, a worker down).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_domain::{review::trigger_of, settings::ReviewSettings, MatterStatus};
use matterhook_store::{
    notifications,
    review_requests::{self as store, state},
    settings::{self, ReviewConnection},
    PgPool,
};

use crate::requests::{self, Occasion, ReviewError};

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Requests that fell due and may be sent.
    pub due: usize,
    /// Requests that fell due but are now held back.
    pub restricted: usize,
    /// Requests cancelled (the matter left its trigger status).
    pub cancelled: usize,
    /// Requests the daily reconciliation made.
    pub reconciled: usize,
}

/// `notifications.kind` of a request that fell due.
pub const DUE_NOTIFICATION: &str = "review_request_due";

/// Requests looked at per transaction.
const BATCH: i64 = 200;

/// One tick at `now`: due requests, then the reconciliation of every connection whose local day
/// has turned since its last one.
pub async fn tick(pool: &PgPool, now: DateTime<Utc>) -> Result<TickReport, TickError> {
    let mut report = TickReport::default();
    let mut conn = pool.get().await?;
    let connections = settings::review_connections(&mut conn, settings::Scope::default()).await?;
    loop {
        let done = conn
            .transaction::<_, ReviewError, _>(async |conn| {
                fall_due(conn, &connections, now, &mut report).await
            })
            .await?;
        if done < BATCH as usize {
            break;
        }
    }
    for rc in &connections {
        // One connection's failure (its settings unreadable, say) holds up no other's.
        match conn
            .transaction::<_, ReviewError, _>(async |conn| reconcile(conn, rc, now).await)
            .await
        {
            Ok(made) => report.reconciled += made,
            Err(ReviewError::Database(e)) => return Err(e.into()),
            Err(e) => {
                tracing::error!(connection_id = rc.connection_id, error = %matterhook_telemetry::Chain(&e), "reconciliation skipped")
            }
        }
    }
    Ok(report)
}

/// Why a tick failed (it is tried again at the next).
#[derive(Debug, thiserror::Error)]
pub enum TickError {
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
    /// A request or the store failed.
    #[error(transparent)]
    Review(#[from] ReviewError),
}

impl From<diesel::result::Error> for TickError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Review(e.into())
    }
}

async fn fall_due(
    conn: &mut AsyncPgConnection,
    connections: &[ReviewConnection],
    now: DateTime<Utc>,
    report: &mut TickReport,
) -> Result<usize, ReviewError> {
    let taken = store::take_due(conn, now, BATCH).await?;
    for request in &taken {
        let Some(rc) = connections
            .iter()
            .find(|c| c.connection_id == request.connection_id)
        else {
            // The user turned review requests off since.
            store::set_state(conn, request.id, state::RESTRICTED, Some("inactive")).await?;
            report.restricted += 1;
            continue;
        };
        let (to, reason, carried) = match requests::recheck(conn, rc, request, now).await {
            Ok(checked) => checked,
            Err(ReviewError::Database(e)) => return Err(e.into()),
            // Settings that no longer read cannot be applied: held back, not retried forever.
            Err(e) => {
                tracing::error!(request = request.id, error = %matterhook_telemetry::Chain(&e), "review request cannot be checked");
                store::set_state(conn, request.id, state::RESTRICTED, Some("inactive")).await?;
                report.restricted += 1;
                continue;
            }
        };
        store::recheck_done(conn, request.id, to, reason.as_deref(), &carried).await?;
        match to {
            state::DUE => {
                report.due += 1;
                let who = [request.first_name.as_deref(), request.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let matter = request.display_number.as_deref().unwrap_or("a matter");
                notifications::notify_review_request(
                    conn,
                    rc.user_id,
                    DUE_NOTIFICATION,
                    &format!("A review request to {who} ({matter}) is due."),
                    request.id,
                )
                .await?;
            }
            state::CANCELLED => report.cancelled += 1,
            _ => report.restricted += 1,
        }
    }
    Ok(taken.len())
}

/// The connection's time zone: its setting, else the Clio user's, else UTC.
pub fn zone_of(settings: &ReviewSettings, rc: &ReviewConnection) -> chrono_tz::Tz {
    settings
        .time_zone
        .as_deref()
        .or(rc.clio_time_zone.as_deref())
        .and_then(|z| z.parse().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// The start of `day` in `zone`, in UTC: its first local time that exists (a zone whose clocks
/// jump forward at midnight starts the day at 01:00).
fn start_of(day: NaiveDate, zone: chrono_tz::Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=3)
        .find_map(|hours| {
            zone.from_local_datetime(&(midnight + Duration::hours(hours)))
                .earliest()
        })
        .map_or_else(
            || Utc.from_utc_datetime(&midnight),
            |t| t.with_timezone(&Utc),
        )
}

/// Days a reconciliation catches up after the worker was down (older ones are past any sensible
/// maximum age, and would flood a firm that turned the product on long after).
const CATCH_UP_DAYS: i64 = 7;

/// Once the connection's local day has turned: the matters that entered a chosen trigger status
/// the day before (by their status date; every day since the last one covered, when the worker
/// was down) and have no request get one. Returns how many.
async fn reconcile(
    conn: &mut AsyncPgConnection,
    rc: &ReviewConnection,
    now: DateTime<Utc>,
) -> Result<usize, ReviewError> {
    let settings = requests::settings_of(rc)?;
    let zone = zone_of(&settings, rc);
    let today = now.with_timezone(&zone).date_naive();
    let yesterday = today - Duration::days(1);
    let first = match store::covered_day(conn, rc.connection_id).await? {
        Some(covered) if covered >= yesterday => return Ok(0),
        Some(covered) => (covered + Duration::days(1)).max(today - Duration::days(CATCH_UP_DAYS)),
        None => yesterday,
    };
    let mut made = 0;
    let mut day = first;
    while day <= yesterday {
        made += reconcile_day(conn, rc, &settings, zone, day, now).await?;
        day += Duration::days(1);
    }
    store::cover(conn, rc.connection_id, yesterday).await?;
    if made > 0 {
        tracing::info!(
            connection_id = rc.connection_id,
            from = %first,
            to = %yesterday,
            made,
            "daily reconciliation made review requests"
        );
    }
    Ok(made)
}

/// The matters that entered a chosen trigger status on `day` and have no request.
async fn reconcile_day(
    conn: &mut AsyncPgConnection,
    rc: &ReviewConnection,
    settings: &ReviewSettings,
    zone: chrono_tz::Tz,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, ReviewError> {
    let mut made = 0;
    for status in [
        MatterStatus::Closed,
        MatterStatus::Pending,
        MatterStatus::Open,
    ] {
        let Some(trigger) = trigger_of(&status).filter(|t| settings.triggers.contains(t)) else {
            continue;
        };
        let matters = store::unrequested(
            conn,
            rc.connection_id,
            rc.clio_account_id,
            &status,
            trigger.as_ref(),
            day,
        )
        .await?;
        for matter_id in matters {
            // A status date has no time: the matter entered it by the end of that day.
            let occasion = Occasion {
                matter_id,
                trigger,
                triggered_at: start_of(day + Duration::days(1), zone).min(now),
                now,
                force: false,
            };
            if requests::create(conn, rc, settings, &occasion)
                .await?
                .is_some()
            {
                made += 1;
            }
        }
    }
    Ok(made)
}
