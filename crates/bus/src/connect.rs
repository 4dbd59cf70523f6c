//! Connecting to RabbitMQ.

use lapin::{Connection, ConnectionProperties};

/// A broker problem.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker refused or dropped us.
    #[error("RabbitMQ")]
    Amqp(#[from] lapin::Error),
}

/// Connects with lapin's automatic recovery (the CLI and tools; long-running binaries supervise
/// their connections instead: see [`crate::Publisher::supervised`] and the runtime): after a lost connection, channels, their confirm
/// mode and QoS, declared topology and consumers are restored; publishes that were awaiting a
/// confirm fail, and their callers publish again (or, for a consumer, leave the message unacked so
/// the broker redelivers it).
pub async fn connect(url: &str, name: &str) -> Result<Connection, BusError> {
    let properties = ConnectionProperties::default()
        .with_connection_name(name.into())
        .enable_auto_recover();
    Ok(Connection::connect(url, properties).await?)
}

/// Connects without automatic recovery, for a caller that supervises its own session (the
/// consumer runtime): when the connection drops, its streams end and it starts afresh.
pub async fn connect_supervised(url: &str, name: &str) -> Result<Connection, BusError> {
    let properties = ConnectionProperties::default().with_connection_name(name.into());
    Ok(Connection::connect(url, properties).await?)
}
