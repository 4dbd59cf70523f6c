//! Syncing one watch now: its matter (and the client, when the mirror's copy is stale) re-read
//! from Clio through the sync stage, then merged by the rules.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use matterhook_domain::Model;
use matterhook_store::{watches as store, PgPool};
use matterhook_sync::{SyncError, SyncStage};

use crate::{
    facts, resync, settings_of,
    view::{ChangeView, ConflictView, SyncAnswer, WatchView},
    Cause,
};

/// Why one watch could not be synced.
#[derive(Debug, thiserror::Error)]
pub enum SyncOneError {
    /// Reading Clio failed (its verdict says whether to wait, reconnect or retry).
    #[error("reading the matter from Clio")]
    Clio(#[source] SyncError),
    /// The store failed.
    #[error("database")]
    Database(#[from] diesel::result::Error),
    /// No database connection.
    #[error("database pool")]
    Pool(#[from] diesel_async::pooled_connection::deadpool::PoolError),
}

/// Syncs the user's watch `id` from Clio; `None` when it is not theirs.
pub async fn sync_one(
    pool: &PgPool,
    stage: &SyncStage,
    user: i64,
    id: i64,
    at: DateTime<Utc>,
) -> Result<Option<SyncAnswer>, SyncOneError> {
    let mut conn = pool.get().await?;
    let Some(row) = store::of_user(&mut conn, user, id).await? else {
        return Ok(None);
    };
    drop(conn);
    let refreshed = stage
        .refresh(row.connection_id, Model::Matter, &[row.matter_id])
        .await
        .map_err(SyncOneError::Clio)?;
    let mut conn = pool.get().await?;
    let outcome = apply(
        &mut conn,
        row.connection_id,
        row.clio_account_id,
        &[row.id],
        at,
    )
    .await?
    .pop();
    Ok(outcome.map(|o| SyncAnswer {
        watch: WatchView::from(&o.watch),
        changes: o.changes.iter().map(ChangeView::from).collect(),
        conflicts: o
            .conflicts
            .iter()
            .map(|c| ConflictView {
                field: c.field.to_string(),
                ours: c.ours.clone(),
                clio: c.clio.clone(),
            })
            .collect(),
        clio_calls: refreshed.clio_calls,
    }))
}

/// Re-syncs these watches of one connection from the mirror, in one transaction.
pub(crate) async fn apply(
    conn: &mut AsyncPgConnection,
    connection: i64,
    account: i64,
    ids: &[i64],
    at: DateTime<Utc>,
) -> diesel::QueryResult<Vec<resync::Outcome>> {
    let settings = settings_of(conn, connection).await?;
    conn.transaction(async |conn| {
        let rows = store::lock_many(conn, ids).await?;
        let matters: Vec<i64> = rows.iter().map(|r| r.matter_id).collect();
        let sources = facts::load(conn, account, &matters).await?;
        resync::resync(conn, &rows, &sources, &settings, Cause::Sync, at).await
    })
    .await
}
