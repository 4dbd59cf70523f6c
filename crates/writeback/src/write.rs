//! Writing one activity to Clio, and what its outcome means for the next step.

use chrono::{DateTime, Duration, Utc};
use matterhook_clio::{
    models::{IdRef, NewCommunication, NewNote, Participant},
    Api, ClioError,
};
use matterhook_connections::{CallError, Connections, TokenError};
use matterhook_domain::{
    activity::{carries_marker, skip_reason, to_clio, Activity, ClioRecord, Destination, Party},
    settings::ConnectionSettings,
    ClioRecordKind, ConnectionStatus,
};
use matterhook_store::{
    activities::ActivityRow, activity_writes, activity_writes::Unsent, connections, settings,
    AsyncPgConnection, PgPool,
};

/// How far before a lost write's sending its record is looked for: Clio's clock and ours may
/// disagree, and looking further costs only a longer list.
const SEARCH_MARGIN: Duration = Duration::minutes(10);

/// An activity in Clio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// A note or a communication.
    pub record: ClioRecordKind,
    /// Its Clio id.
    pub clio_id: i64,
    /// Found in Clio (a lost write's), rather than written now.
    pub adopted: bool,
}

/// Why an activity was not written this time, and so what happens next.
#[derive(Debug, thiserror::Error)]
pub enum NotWritten {
    /// The connection's settings keep it out of Clio.
    #[error("{0}")]
    Skipped(String),
    /// It may work later (a 5xx, no answer, a 429, Clio's OAuth unreachable).
    #[error("{error}")]
    Retry {
        /// What failed.
        error: String,
        /// The wait Clio asked for (a 429's Retry-After).
        wait: Option<std::time::Duration>,
        /// Whether the write may have reached Clio.
        unsent: Unsent,
        /// Whether it counts towards the attempts (a 429 is the token's, not the activity's).
        counted: bool,
    },
    /// Clio refused it (400, 403, 404, 422), or the connection is gone: no retry will help.
    #[error("{error}")]
    Refused {
        /// Why, for the user and support staff.
        error: String,
    },
    /// The connection needs its user to connect to Clio again.
    #[error("{0}")]
    NeedsReauth(String),
}

impl NotWritten {
    fn retry(error: impl Into<String>, unsent: Unsent) -> Self {
        Self::Retry {
            error: error.into(),
            wait: None,
            unsent,
            counted: true,
        }
    }
}

/// Writes `row` through its connection: adopts what a lost earlier write left in Clio, else
/// writes it once.
pub async fn write(
    pool: &PgPool,
    connections: &Connections,
    row: &ActivityRow,
) -> Result<Written, NotWritten> {
    let db =
        |e: &dyn std::fmt::Display| NotWritten::retry(format!("database: {e}"), Unsent::Certainly);
    let (record, kind) = {
        let mut conn = pool.get().await.map_err(|e| db(&e))?;
        prepare(&mut conn, row).await?
    };
    if let Some(sent_at) = row.write_sent_at {
        if let Some(found) = find(connections, row, kind, sent_at).await? {
            tracing::info!(
                activity = row.id,
                clio_id = found,
                "found the lost write in Clio; adopted"
            );
            return Ok(Written {
                record: kind,
                clio_id: found,
                adopted: true,
            });
        }
    }
    {
        let mut conn = pool.get().await.map_err(|e| db(&e))?;
        activity_writes::sent(&mut conn, row.id, Utc::now())
            .await
            .map_err(|e| db(&e))?;
    }
    let created = connections
        .call(row.connection_id, |api| create(api, record.clone()))
        .await
        .map_err(|e| classify(e, kind, row))?;
    Ok(Written {
        record: kind,
        clio_id: created,
        adopted: false,
    })
}

/// The record `row` becomes, or why it is not written at all.
async fn prepare(
    conn: &mut AsyncPgConnection,
    row: &ActivityRow,
) -> Result<(ClioRecord, ClioRecordKind), NotWritten> {
    let db =
        |e: diesel::result::Error| NotWritten::retry(format!("database: {e}"), Unsent::Certainly);
    let document = settings::get(conn, row.connection_id).await.map_err(db)?;
    let settings = match document {
        Some(d) => ConnectionSettings::parse(&d).map_err(|e| NotWritten::Refused {
            error: format!("the connection's settings no longer read: {e}"),
        })?,
        None => ConnectionSettings::default(),
    };
    if let Some(reason) = skip_reason(&settings.writeback, row.kind) {
        return Err(NotWritten::Skipped(reason));
    }
    let connection = connections::get(conn, row.connection_id)
        .await
        .map_err(db)?
        .ok_or_else(|| NotWritten::Refused {
            error: "the connection no longer exists".into(),
        })?;
    match connection.status {
        ConnectionStatus::Connected => {}
        ConnectionStatus::NeedsReauth => {
            return Err(NotWritten::NeedsReauth(
                "the connection needs its user to connect to Clio again".into(),
            ))
        }
        ConnectionStatus::Disconnected => {
            return Err(NotWritten::Refused {
                error: "the connection was disconnected before the activity was written".into(),
            })
        }
    }
    let zone = connections::clio_time_zone(conn, row.connection_id)
        .await
        .map_err(db)?
        .and_then(|z| z.parse::<chrono_tz::Tz>().ok())
        .unwrap_or(chrono_tz::UTC);
    let activity = Activity {
        kind: row.kind,
        subject: row.subject.clone(),
        body: row.body.clone(),
        occurred_at: row.occurred_at,
        direction: row.direction,
    };
    let record = to_clio(
        &activity,
        row.id,
        Destination {
            contact_id: row.contact_id,
            matter_id: row.matter_id,
            clio_user_id: connection.clio_user_id,
        },
        &settings.writeback.subjects,
        zone,
    );
    let kind = match record {
        ClioRecord::ContactNote { .. } => ClioRecordKind::Note,
        ClioRecord::PhoneCommunication { .. } => ClioRecordKind::Communication,
    };
    Ok((record, kind))
}

/// Looks for the record a write sent at `sent_at` may have left: the contact's records of that
/// kind created since, carrying the activity's marker.
async fn find(
    connections: &Connections,
    row: &ActivityRow,
    kind: ClioRecordKind,
    sent_at: DateTime<Utc>,
) -> Result<Option<i64>, NotWritten> {
    let since = sent_at - SEARCH_MARGIN;
    let (contact, id) = (row.contact_id, row.id);
    let found = match kind {
        ClioRecordKind::Note => {
            connections
                .call(row.connection_id, |api| async move {
                    let notes = api.contact_notes_since(contact, since).await?;
                    Ok(notes
                        .into_iter()
                        .find(|n| n.detail.as_deref().is_some_and(|d| carries_marker(d, id)))
                        .map(|n| n.id))
                })
                .await
        }
        ClioRecordKind::Communication => {
            connections
                .call(row.connection_id, |api| async move {
                    let logged = api.contact_communications_since(contact, since).await?;
                    Ok(logged
                        .into_iter()
                        .find(|c| c.body.as_deref().is_some_and(|b| carries_marker(b, id)))
                        .map(|c| c.id))
                })
                .await
        }
    };
    // A failed search wrote nothing: what it means for the activity is what it means for a write
    // that certainly did not go out.
    found.map_err(|e| match classify(e, kind, row) {
        NotWritten::Retry {
            error,
            wait,
            counted,
            ..
        } => NotWritten::Retry {
            error: format!("looking for a lost write: {error}"),
            wait,
            unsent: Unsent::Perhaps,
            counted,
        },
        // A contact that is gone, or a search Clio refuses, leaves nothing to find: the write
        // itself then gets the clear answer.
        other => other,
    })
}

/// Sends `record`; Clio's id of what it created.
async fn create(api: Api, record: ClioRecord) -> Result<i64, ClioError> {
    match record {
        ClioRecord::ContactNote {
            contact_id,
            subject,
            detail,
            date,
        } => api
            .create_note(&NewNote {
                kind: "Contact".into(),
                contact: Some(IdRef { id: contact_id }),
                matter: None,
                subject,
                detail,
                date,
            })
            .await
            .map(|n| n.id),
        ClioRecord::PhoneCommunication {
            subject,
            body,
            received_at,
            matter_id,
            sender,
            receiver,
        } => api
            .create_communication(&NewCommunication {
                kind: "PhoneCommunication".into(),
                subject,
                body,
                received_at,
                matter: matter_id.map(|id| IdRef { id }),
                senders: vec![participant(sender)],
                receivers: vec![participant(receiver)],
            })
            .await
            .map(|c| c.id),
    }
}

fn participant(party: Party) -> Participant {
    match party {
        Party::User(id) => Participant {
            id,
            kind: "User".into(),
        },
        Party::Contact(id) => Participant {
            id,
            kind: "Contact".into(),
        },
    }
}

/// What a failed call means: retried (and whether the write may have landed), refused for good,
/// or parked until the user reconnects.
fn classify(e: CallError, kind: ClioRecordKind, row: &ActivityRow) -> NotWritten {
    let what = kind.as_str();
    match e {
        CallError::Token(TokenError::NeedsReauth(_)) => {
            NotWritten::NeedsReauth("the connection needs its user to connect to Clio again".into())
        }
        CallError::Token(TokenError::Disconnected(_)) => NotWritten::Refused {
            error: "the connection was disconnected before the activity was written".into(),
        },
        CallError::Token(e @ (TokenError::NotFound(_) | TokenError::Sealed(_))) => {
            NotWritten::Refused {
                error: matterhook_telemetry::chain(&e),
            }
        }
        CallError::Token(e @ TokenError::Transient { .. }) => {
            NotWritten::retry(matterhook_telemetry::chain(&e), Unsent::Certainly)
        }
        CallError::Clio(ClioError::RateLimited { retry_after }) => NotWritten::Retry {
            error: format!("rate limited by Clio; retry in {}s", retry_after.as_secs()),
            wait: Some(retry_after),
            unsent: Unsent::Certainly,
            counted: false,
        },
        CallError::Clio(ClioError::NotFound) => NotWritten::Refused {
            error: format!(
                "Clio answered 404 for the {what}: contact {} (or the matter) no longer exists",
                row.contact_id
            ),
        },
        CallError::Clio(ClioError::Forbidden { message }) => NotWritten::Refused {
            error: format!(
                "Clio does not let this connection's user write the {what} (403): {message}"
            ),
        },
        CallError::Clio(ClioError::Rejected {
            status, message, ..
        }) => NotWritten::Refused {
            error: format!("Clio refused the {what} ({status}): {message}"),
        },
        CallError::Clio(e @ ClioError::PreconditionFailed) => NotWritten::Refused {
            error: matterhook_telemetry::chain(&e),
        },
        // A 401 even after a refresh: nothing was written; another try may find a good token.
        CallError::Clio(e @ ClioError::Unauthorized { .. }) => {
            NotWritten::retry(matterhook_telemetry::chain(&e), Unsent::Certainly)
        }
        // Clio failed, or its answer never came (or did not read): the write may be in Clio.
        CallError::Clio(
            e @ (ClioError::Server { .. } | ClioError::Network(_) | ClioError::Unexpected { .. }),
        ) => NotWritten::retry(matterhook_telemetry::chain(&e), Unsent::Perhaps),
    }
}
