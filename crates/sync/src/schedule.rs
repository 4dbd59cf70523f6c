//! When sweeps run: those the connections stage asks for (a lapsed or replaced webhook), and the
//! periodic ones, incremental or, once a week, a complete listing.

use std::{future::Future, time::Duration};

use chrono::Utc;
use matterhook_domain::Model;
use matterhook_store::{sweeps, sync_cursors};
use matterhook_telemetry::Chain;

use crate::{
    sweep::{SweepMode, SweepReport},
    SyncError, SyncStage,
};

impl SyncStage {
    /// One round of scheduled sweeps: the sweeps the connections stage asked for (a lapsed or
    /// replaced webhook), then every connection whose last sweep is older than the interval.
    pub async fn sweep_due(&self) -> Result<Vec<SweepReport>, SyncError> {
        let mut reports = Vec::new();
        let requests = {
            let mut conn = self.pool().get().await?;
            sweeps::pending_all(&mut conn, 100).await?
        };
        for r in requests {
            // Until the firm's first complete read has finished, it covers any window asked for.
            let baselined = {
                let mut conn = self.pool().get().await?;
                sync_cursors::of(&mut conn, r.connection_id)
                    .await?
                    .iter()
                    .any(|c| c.model == r.model && c.swept_until.is_some())
            };
            if !baselined {
                continue;
            }
            match self
                .sweep(r.connection_id, r.model, SweepMode::Since(r.since))
                .await
            {
                Ok(report) if report.skipped.is_none() => {
                    let mut conn = self.pool().get().await?;
                    sweeps::mark_done(&mut conn, r.id).await?;
                    tracing::info!(connection_id = r.connection_id, model = %r.model,
                        reason = %r.reason, seen = report.seen, missed = report.missed,
                        "requested sweep done");
                    reports.push(report);
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(connection_id = r.connection_id, error = %matterhook_telemetry::Chain(&e),
                    "requested sweep failed; will try again")
                }
            }
        }
        let interval = chrono::Duration::from_std(self.config().sweep_interval).unwrap_or_default();
        for model in Model::SWEEP_ORDER {
            let due = {
                let mut conn = self.pool().get().await?;
                let now = Utc::now();
                sync_cursors::due(&mut conn, model, now - interval, now).await?
            };
            for connection_id in due {
                let mode = self.periodic_mode(connection_id, model).await?;
                match self.sweep(connection_id, model, mode).await {
                    Ok(report) => {
                        if report.skipped.is_none() {
                            tracing::info!(
                                connection_id,
                                %model,
                                seen = report.seen,
                                missed = report.missed,
                                unlisted = report.unlisted,
                                full = mode == SweepMode::Full,
                                baseline = report.baseline,
                                "swept"
                            );
                        }
                        reports.push(report);
                    }
                    Err(e) => tracing::warn!(connection_id, %model, error = %Chain(&e),
                        "sweep failed; will try again"),
                }
            }
        }
        Ok(reports)
    }

    /// Runs [`SyncStage::sweep_due`] every `tick` until `shutdown` resolves.
    pub async fn run_sweeps(&self, tick: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(e) = self.sweep_due().await {
                tracing::warn!(error = %matterhook_telemetry::Chain(&e), "sweep round failed; will try again");
            }
            tokio::select! {
                () = tokio::time::sleep(tick) => {}
                () = &mut shutdown => return,
            }
        }
    }

    /// A periodic sweep is incremental, but full once the last complete listing of a baselined
    /// cursor is older than [`crate::SyncConfig::full_sweep_interval`].
    async fn periodic_mode(
        &self,
        connection_id: i64,
        model: Model,
    ) -> Result<SweepMode, SyncError> {
        // Users and custom fields are read whole every time: there is nothing fuller.
        if !model.has_webhooks() {
            return Ok(SweepMode::Incremental);
        }
        let interval =
            chrono::Duration::from_std(self.config().full_sweep_interval).unwrap_or_default();
        let mut conn = self.pool().get().await?;
        let cursor = sync_cursors::of(&mut conn, connection_id)
            .await?
            .into_iter()
            .find(|c| c.model == model);
        let full_due = cursor.is_some_and(|c| {
            c.swept_until.is_some()
                && c.last_full_at
                    .is_none_or(|at| at < self.connections().now() - interval)
        });
        Ok(if full_due {
            SweepMode::Full
        } else {
            SweepMode::Incremental
        })
    }
}
