//! Sweeps: page through a connection's records updated since the last complete sweep and feed
//! them to the same write path as webhooks, catching whatever webhooks missed (a lapsed or
//! suspended subscription, a reconnect). The page reached is saved after each page, so a sweep
//! that stops resumes where it was.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use matterhook_clio::{
    models::{CustomField, User},
    ClioError, Query,
};
use matterhook_domain::{sync_events::Read as ReadKind, Model};
use matterhook_store::{connections, mirror, notifications, sync_cursors, sync_queue};
use matterhook_telemetry::chain;
use serde_json::Value;

use crate::{
    apply::{Applied, Causes, Target},
    fields, news,
    read::{self, path_and_fields, Reread},
    unlisted, SyncError, SyncStage, Verdict,
};

/// Which records a sweep asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMode {
    /// Updated since the last complete sweep (everything, the first time: the baseline).
    Incremental,
    /// Everything, whatever the cursor says.
    Full,
    /// Updated since this time (a sweep the connections stage asked for).
    Since(DateTime<Utc>),
}

/// What one sweep of one model found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SweepReport {
    /// The connection.
    pub connection_id: i64,
    /// matter, contact, bill, user or custom_field.
    pub model: Model,
    /// Records read.
    pub seen: usize,
    /// Changes the mirror lacked: what webhooks had missed (0 for a baseline).
    pub missed: usize,
    /// Domain events written.
    pub events: usize,
    /// Whether this was the firm's first read (history, no domain events for new records).
    pub baseline: bool,
    /// Why nothing was done, when nothing was (another sweeper holds the cursor).
    pub skipped: Option<String>,
    /// Set when Clio refused to show custom field definitions (403): synced without them.
    pub forbidden: bool,
    /// Live mirrored records a complete listing lacked, queued for a re-read that marks them
    /// deleted on Clio's 404 (only a full sweep or the baseline lists everything).
    pub unlisted: usize,
}

impl SweepReport {
    /// Nothing found yet.
    pub fn new(connection_id: i64, model: Model) -> Self {
        Self {
            connection_id,
            model,
            seen: 0,
            missed: 0,
            events: 0,
            baseline: false,
            skipped: None,
            forbidden: false,
            unlisted: 0,
        }
    }
}

/// Updated-since windows start this much before the last sweep began: Clio's `updated_at` and
/// our clock may disagree a little.
const OVERLAP: chrono::Duration = chrono::Duration::minutes(5);

/// What the notification about custom fields says.
const FORBIDDEN_KIND: &str = "custom_fields_forbidden";

impl SyncStage {
    /// Sweeps every model of a connection, in [`Model::SWEEP_ORDER`].
    pub async fn sweep_connection(
        &self,
        connection_id: i64,
        mode: SweepMode,
    ) -> Result<Vec<SweepReport>, SyncError> {
        let mut reports = Vec::new();
        for model in Model::SWEEP_ORDER {
            reports.push(self.sweep(connection_id, model, mode).await?);
        }
        Ok(reports)
    }

    /// Sweeps one model of a connection.
    pub async fn sweep(
        &self,
        connection_id: i64,
        model: Model,
        mode: SweepMode,
    ) -> Result<SweepReport, SyncError> {
        let now = Utc::now();
        let lease = chrono::Duration::from_std(self.config().sweep_lease).unwrap_or_default();
        let cursor = {
            let mut conn = self.pool().get().await?;
            sync_cursors::lease(&mut conn, connection_id, model, now, now + lease).await?
        };
        let Some(cursor) = cursor else {
            return Ok(SweepReport {
                skipped: Some("another sweeper holds this cursor".into()),
                ..SweepReport::new(connection_id, model)
            });
        };
        let started = cursor_start(&cursor, mode, self.connections().now());
        let result = match model {
            Model::User => self.sweep_users(connection_id).await,
            Model::CustomField => self.sweep_custom_fields(connection_id).await,
            Model::Matter | Model::Contact | Model::Bill => {
                self.sweep_records(connection_id, model, mode, &cursor, started)
                    .await
            }
        };
        let mut conn = self.pool().get().await?;
        match result {
            // A requested sweep covers a window, not everything since the last complete sweep:
            // it leaves the cursor's place alone.
            Ok(report) if matches!(mode, SweepMode::Since(_)) => {
                sync_cursors::release(&mut conn, connection_id, model).await?;
                connections::mark_synced(&mut conn, connection_id, Utc::now()).await?;
                Ok(report)
            }
            Ok(report) => {
                sync_cursors::finish(
                    &mut conn,
                    connection_id,
                    model,
                    started,
                    report.seen.try_into().unwrap_or(i32::MAX),
                    report.missed.try_into().unwrap_or(i32::MAX),
                )
                .await?;
                if mode == SweepMode::Full || report.baseline {
                    sync_cursors::mark_full(&mut conn, connection_id, model, started).await?;
                }
                connections::mark_synced(&mut conn, connection_id, Utc::now()).await?;
                Ok(report)
            }
            Err(e) => {
                // Clio refusing a saved page link (expired, or made for other fields) would refuse
                // it every time: the next sweep starts over instead.
                let restart = matches!(
                    e,
                    SyncError::Clio(ClioError::Rejected { .. } | ClioError::Unexpected { .. })
                );
                sync_cursors::fail(&mut conn, connection_id, model, &chain(&e), restart).await?;
                if let Verdict::Throttled(wait) = e.verdict() {
                    let until = Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
                    sync_queue::hold_connection(&mut conn, connection_id, until).await?;
                }
                Err(e)
            }
        }
    }

    async fn sweep_records(
        &self,
        connection_id: i64,
        model: Model,
        mode: SweepMode,
        cursor: &sync_cursors::Cursor,
        started: DateTime<Utc>,
    ) -> Result<SweepReport, SyncError> {
        let target = self.target(connection_id).await?;
        // The firm's first complete read is history: no domain events for what it finds new.
        let baseline = !matches!(mode, SweepMode::Since(_))
            && cursor.swept_until.is_none()
            && cursor.last_finished_at.is_none();
        let kind = if baseline {
            ReadKind::Baseline
        } else {
            ReadKind::Live
        };
        let since = match mode {
            SweepMode::Full => None,
            SweepMode::Since(t) => Some(t),
            SweepMode::Incremental => cursor.swept_until.map(|t| t - OVERLAP),
        };
        // What the firm creates after connecting is news even when the baseline reads it first
        // (a matter opened in the minute after connecting must still find its referral). A
        // baseline that runs late (a sync outage, a model added by an upgrade) announces at most
        // the last day: what is older than that is history, whenever it was created.
        let news_since = if baseline {
            let mut conn = self.pool().get().await?;
            connections::get(&mut conn, connection_id)
                .await?
                .map(|c| c.created_at.max(started - news::WINDOW))
        } else {
            None
        };
        let (path, fields) = path_and_fields(model);
        let mut query = Query::new().fields(&fields);
        if let Some(since) = since {
            query = query.updated_since(since);
        }
        // Resume the page a stopped sweep reached (only when it was the same kind of sweep).
        let mut page = match mode {
            SweepMode::Incremental => cursor.next_page.clone(),
            _ => None,
        };
        // Every record, from the first page: what it lacks may have been deleted.
        let mut listed = (since.is_none() && page.is_none()).then(HashSet::new);
        let mut report = SweepReport {
            baseline,
            ..SweepReport::new(connection_id, model)
        };
        loop {
            let (raw, next) = self
                .connections()
                .call(connection_id, |api| {
                    let (query, page, path) = (query.clone(), page.clone(), path.clone());
                    async move { api.page::<Value>(&path, &query, page.as_deref()).await }
                })
                .await?;
            report.seen += raw.len();
            if let Some(listed) = listed.as_mut() {
                listed.extend(
                    raw.iter()
                        .filter_map(|r| r.get("id").and_then(Value::as_i64)),
                );
            }
            let mut rereads = Vec::new();
            for (records, kind) in news::split(raw, kind, news_since) {
                rereads.push((self.parse_reread(&target, model, records).await?, kind));
            }
            // Only the incremental sweep keeps its place; the others are bounded re-reads.
            let place = (mode == SweepMode::Incremental).then_some((started, next.as_deref()));
            let applied = self.write_page(&target, &rereads, model, place).await?;
            if !baseline {
                report.missed += applied.changed;
            }
            report.events += applied.events;
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
        }
        if let Some(listed) = listed {
            let mut conn = self.pool().get().await?;
            report.unlisted = unlisted::queue_unlisted(
                &mut conn,
                connection_id,
                target.account,
                model,
                &listed,
                started,
            )
            .await?;
            if report.unlisted > 0 {
                tracing::info!(
                    connection_id,
                    %model,
                    unlisted = report.unlisted,
                    "records missing from a complete listing; re-reading them"
                );
            }
        }
        Ok(report)
    }

    async fn write_page(
        &self,
        target: &Target,
        rereads: &[(Reread, ReadKind)],
        model: Model,
        place: Option<(DateTime<Utc>, Option<&str>)>,
    ) -> Result<Applied, SyncError> {
        let mut conn = self.pool().get().await?;
        let lease = chrono::Duration::from_std(self.config().sweep_lease).unwrap_or_default();
        let applied = conn
            .transaction::<_, SyncError, _>(async |conn| {
                let mut applied = Applied::default();
                for (reread, kind) in rereads {
                    applied += read::write(conn, target, reread, *kind, &Causes::new()).await?;
                }
                if let Some((started, next)) = place {
                    let lease_until = Utc::now() + lease;
                    sync_cursors::save_page(
                        conn,
                        target.connection_id,
                        model,
                        started,
                        next,
                        lease_until,
                    )
                    .await?;
                }
                Ok(applied)
            })
            .await?;
        Ok(applied)
    }

    async fn sweep_users(&self, connection_id: i64) -> Result<SweepReport, SyncError> {
        let target = self.target(connection_id).await?;
        let query = Query::new().fields(&fields::user()).limit(2000);
        let mut page: Option<String> = None;
        let mut seen = 0;
        loop {
            let (users, next) = self
                .connections()
                .call(connection_id, |api| {
                    let (query, page) = (query.clone(), page.clone());
                    async move {
                        api.page::<User>("users.json", &query, page.as_deref())
                            .await
                    }
                })
                .await?;
            seen += users.len();
            let rows: Vec<_> = users
                .into_iter()
                .filter(|u| u.id > 0 && !u.redacted)
                .map(|u| mirror::UserRow {
                    clio_id: u.id,
                    name: u.name,
                    email: u.email,
                    enabled: u.enabled,
                    subscription_type: u.subscription_type,
                    phone_number: u.phone_number,
                })
                .collect();
            let mut conn = self.pool().get().await?;
            mirror::upsert_users(&mut conn, target.account, &rows).await?;
            match next {
                Some(n) => page = Some(n),
                None => break,
            }
        }
        Ok(SweepReport {
            seen,
            ..SweepReport::new(connection_id, Model::User)
        })
    }

    async fn sweep_custom_fields(&self, connection_id: i64) -> Result<SweepReport, SyncError> {
        let target = self.target(connection_id).await?;
        let mut report = SweepReport::new(connection_id, Model::CustomField);
        let mut rows = Vec::new();
        for parent in ["Matter", "Contact"] {
            let listed = self
                .connections()
                .call(connection_id, |api| async move {
                    use futures::TryStreamExt;
                    api.custom_fields(parent)
                        .try_collect::<Vec<CustomField>>()
                        .await
                })
                .await;
            match listed.map_err(SyncError::from) {
                Ok(fields) => {
                    report.seen += fields.len();
                    rows.extend(fields.into_iter().filter(|f| f.id > 0).map(|f| {
                        let data = serde_json::json!({
                            "id": f.id, "name": f.name, "parent_type": f.parent_type,
                            "field_type": f.field_type,
                            "picklist_options": f.picklist_options.unwrap_or_default().iter()
                                .map(|o| serde_json::json!({"id": o.id, "option": o.option}))
                                .collect::<Vec<_>>(),
                        });
                        mirror::CustomFieldRow {
                            clio_id: f.id,
                            parent_type: f.parent_type.unwrap_or_else(|| parent.to_owned()),
                            name: f.name,
                            field_type: f.field_type,
                            data,
                        }
                    }));
                }
                // Clio's permission, not our failure: sync on without definitions, and say so.
                Err(SyncError::Clio(ClioError::Forbidden { .. })) => {
                    report.forbidden = true;
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        let mut conn = self.pool().get().await?;
        let user_id = connections::get(&mut conn, connection_id)
            .await?
            .map(|c| c.user_id);
        if report.forbidden {
            tracing::warn!(
                connection_id,
                "Clio forbids reading custom fields; syncing without them"
            );
            connections::set_custom_fields_forbidden(&mut conn, connection_id, Some(Utc::now()))
                .await?;
            if let Some(user_id) = user_id {
                notifications::notify(
                    &mut conn,
                    user_id,
                    connection_id,
                    FORBIDDEN_KIND,
                    "Clio does not let matterhook read this firm's custom field definitions \
                     (the Clio user lacks the permission). Matters and contacts sync without them.",
                )
                .await?;
            }
        } else {
            mirror::upsert_custom_fields(&mut conn, target.account, &rows).await?;
            connections::set_custom_fields_forbidden(&mut conn, connection_id, None).await?;
            notifications::resolve(&mut conn, connection_id, FORBIDDEN_KIND).await?;
        }
        Ok(report)
    }
}

/// When the sweep under way began: a resumed sweep keeps its start, so nothing changed since
/// is skipped by the next one.
fn cursor_start(
    cursor: &sync_cursors::Cursor,
    mode: SweepMode,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match (mode, cursor.started_at, &cursor.next_page) {
        (SweepMode::Incremental, Some(started), Some(_)) => started,
        _ => now,
    }
}
