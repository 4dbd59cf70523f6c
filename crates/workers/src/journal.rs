//! The journal worker: records every Clio event it receives, so support can answer "did we get
//! it?". It is also the first worker on the ingest runtime, exercising it end to end.

use diesel_async::AsyncPgConnection;
use matterhook_bus::{Envelope, Handler, HandlerError};
use matterhook_store::journal::{self, JournalEntry};

/// Records each Clio event in `event_journal`.
#[derive(Debug, Default, Clone)]
pub struct Journal;

impl Handler for Journal {
    const NAME: &'static str = "journal";

    fn routing_keys(&self) -> Vec<String> {
        matterhook_bus::all_clio_bindings()
    }

    async fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> Result<(), HandlerError> {
        journal::insert(conn, &entry(envelope)?).await?;
        Ok(())
    }
}

/// The journal row of an event.
fn entry(envelope: &Envelope) -> Result<JournalEntry, HandlerError> {
    let event = envelope.clio()?;
    Ok(JournalEntry {
        event_id: envelope.event_id.clone(),
        subscription_id: envelope.subscription_id.get(),
        connection_id: envelope.connection_id.get(),
        model: event.model,
        event: event.event.clone(),
        record_id: event.record_id.map(|id| id.get()),
        received_at: envelope.received_at,
    })
}
