//! Re-reading chosen records now, for someone waiting on them (a watch synced from a button or a
//! job): the same `ids[]` reads and the same write path as a batch, without the queue's window.

use diesel_async::AsyncConnection;
use matterhook_domain::{sync_events::Read as ReadKind, Model};
use matterhook_store::connections;

use crate::{
    apply::{self, Applied, Causes},
    read, SyncError, SyncStage,
};

/// What a refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    /// Records asked for.
    pub records: usize,
    /// Calls made to Clio (`ids[]` reads, a matter's stale clients, confirmations of absence).
    pub clio_calls: usize,
    /// What the writes changed.
    pub applied: Applied,
}

impl SyncStage {
    /// Re-reads these records of `model` through `connection_id` in `ids[]` calls of up to the
    /// batch size (a matter's client comes along when the mirror's copy is stale), and writes
    /// them like a batch: the version guard, the domain events, absences confirmed and marked.
    /// Each call's records are written in a transaction of their own, so a long refresh keeps
    /// what it read before a failure.
    pub async fn refresh(
        &self,
        connection_id: i64,
        model: Model,
        ids: &[i64],
    ) -> Result<Refreshed, SyncError> {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        let target = self.target(connection_id).await?;
        let chunk = usize::try_from(self.config().batch_records)
            .unwrap_or(matterhook_clio::MAX_PAGE_SIZE)
            .max(1);
        let mut out = Refreshed {
            records: ids.len(),
            ..Refreshed::default()
        };
        for part in ids.chunks(chunk) {
            let reread = self.reread(&target, model, part).await?;
            out.clio_calls += 1 + usize::from(reread.read_clients());
            let gone = self
                .confirm_gone(&target, model, &reread, part, Default::default())
                .await?;
            out.clio_calls += part.len() - reread.ids().len();
            let mut conn = self.pool().get().await?;
            out.applied += conn
                .transaction::<_, SyncError, _>(async |conn| {
                    let causes = Causes::new();
                    let mut applied =
                        read::write(conn, &target, &reread, ReadKind::Live, &causes).await?;
                    applied += apply::absent(conn, &target, model, &gone, &causes).await?;
                    connections::mark_synced(conn, connection_id, chrono::Utc::now()).await?;
                    Ok(applied)
                })
                .await?;
        }
        Ok(out)
    }
}
