//! What a worker implements.

use std::{future::Future, time::Duration};

use diesel_async::AsyncPgConnection;

use crate::Envelope;

/// A worker's logic. The runtime calls [`Handler::handle`] inside a database transaction that
/// also records the event as processed: return `Ok` and both commit; return an error (or panic)
/// and both roll back. The call may also be dropped at any await (its worker's broker connection
/// died under it): the transaction then rolls back and the message is redelivered, so an effect
/// outside the database must be safe to repeat.
pub trait Handler: Send + Sync + 'static {
    /// The worker's name: its queue is `matterhook.{NAME}`, and its idempotency marks use it.
    const NAME: &'static str;

    /// The routing keys (`clio.{model}.{event}`, wildcards allowed) the worker consumes.
    fn routing_keys(&self) -> Vec<String>;

    /// Applies one event.
    fn handle(
        &self,
        envelope: &Envelope,
        conn: &mut AsyncPgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send;

    /// Up to how many messages that are waiting together the runtime applies in one transaction
    /// through [`Handler::handle_batch`] (1, the default: each alone). One commit then serves
    /// many events, which is what lets a busy queue keep up. Only for handlers whose whole effect
    /// is in the transaction: when a batch fails it is rolled back and each of its messages is
    /// applied again alone (and retried or dead-lettered alone), so an effect outside the
    /// database (a call to Clio) would happen twice. Retried messages are always applied alone.
    const BATCH: usize = 1;

    /// Applies events that arrived together, in one transaction (see [`Handler::BATCH`]); the
    /// runtime has already marked them processed and left out the ones applied before. By
    /// default, [`Handler::handle`] for each in turn. A handler whose events take row locks
    /// should apply them in an order of its own (by record), so that concurrent batches lock in
    /// one order rather than deadlock.
    fn handle_batch(
        &self,
        envelopes: Vec<&Envelope>,
        conn: &mut AsyncPgConnection,
    ) -> impl Future<Output = Result<(), HandlerError>> + Send {
        async move {
            for envelope in envelopes {
                self.handle(envelope, conn).await?;
            }
            Ok(())
        }
    }
}

type Source = Box<dyn std::error::Error + Send + Sync>;

/// Why a handler failed, which decides what happens next.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// May work later (network, Clio 5xx or 429, database unavailable): retried with backoff.
    #[error("{source}")]
    Transient {
        /// The wait the failure asked for, such as Clio's `Retry-After`.
        wait: Option<Duration>,
        /// The cause.
        source: Source,
    },
    /// Cannot work until a person acts: the connection needs its user to connect to Clio again.
    /// Dead-lettered at once as parked ([`PARKED_REASON`](crate::retry::PARKED_REASON)), and sent
    /// back to its queue when the connection is reconnected.
    #[error("{source}")]
    Parked {
        /// The cause.
        source: Source,
    },
    /// Will not work as it is (bad data, a rule refusing it): dead-lettered at once.
    #[error("{source}")]
    Permanent {
        /// The cause.
        source: Source,
    },
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn transient(source: impl Into<Source>) -> Self {
        Self::Transient {
            wait: None,
            source: source.into(),
        }
    }

    /// A failure worth retrying after `wait`.
    pub fn retry_after(wait: Duration, source: impl Into<Source>) -> Self {
        Self::Transient {
            wait: Some(wait),
            source: source.into(),
        }
    }

    /// Work to park until the connection is reconnected.
    pub fn parked(source: impl Into<Source>) -> Self {
        Self::Parked {
            source: source.into(),
        }
    }

    /// A failure no retry will fix.
    pub fn permanent(source: impl Into<Source>) -> Self {
        Self::Permanent {
            source: source.into(),
        }
    }
}

impl From<diesel::result::Error> for HandlerError {
    /// Constraint violations are the data's fault (permanent); anything else (a lost connection,
    /// a serialization failure) may pass.
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match e {
            E::DatabaseError(
                K::UniqueViolation
                | K::ForeignKeyViolation
                | K::NotNullViolation
                | K::CheckViolation,
                _,
            ) => Self::permanent(e),
            other => Self::transient(other),
        }
    }
}

impl From<crate::WrongEvent> for HandlerError {
    /// A message bound to the wrong consumer will not become right by retrying.
    fn from(e: crate::WrongEvent) -> Self {
        Self::permanent(e)
    }
}

pub(crate) use matterhook_telemetry::chain;
