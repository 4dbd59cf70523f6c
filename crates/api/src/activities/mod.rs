//! Activities for writeback to Clio, per user: post one (with an `Idempotency-Key`), read one,
//! list them. Each is checked by [`matterhook_domain::activity`]'s rules and against the mirror
//! (the contact, and the matter when named, must be the connection's firm's) before anything is
//! stored; a refusal stores nothing.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel_async::AsyncConnection;
use matterhook_bus::{Envelope, WritebackRequest};
use matterhook_domain::{
    activity::{skip_reason, Activity},
    AccountId, ActivityDirection, ActivityId, ActivityState, ActivityType, ClioId, ConnectionId,
    ConnectionStatus,
};
use matterhook_store::{
    activities::{self as store, ActivityRow, NewActivity},
    connections as connection_store, mirror, outbox, settings as settings_store,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use matterhook_telemetry::request::request_id;

pub(crate) mod batch;

use crate::{auth::Caller, connections::ErrorBody, error::ApiError, paging, Deps};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/api/activities/batch")
            // A thousand activities are more than the API's usual 256 KiB.
            .app_data(
                web::JsonConfig::default()
                    .limit(batch::BATCH_BYTES)
                    .error_handler(|e, _| ApiError::BadRequest(e.to_string()).into()),
            )
            .route(web::post().to(batch::batch)),
    )
    .route("/api/activities", web::post().to(create))
    .route("/api/activities", web::get().to(list))
    .route("/api/activities/{id}", web::get().to(show));
}

/// The longest `Idempotency-Key` accepted.
const MAX_KEY_LEN: usize = 255;

/// An activity to write back to Clio.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewActivityBody {
    /// One of the caller's connections.
    connection_id: i64,
    /// A Clio contact of that connection's firm, as matterhook's mirror holds it.
    contact_id: i64,
    /// email, note, call, card or text.
    #[serde(rename = "type")]
    #[schema(pattern = "^(email|note|call|card|text)$")]
    kind: String,
    /// 1 to 255 characters.
    #[schema(min_length = 1, max_length = 255)]
    subject: String,
    /// Not empty; at most Clio's limit.
    #[schema(min_length = 1)]
    body: String,
    /// When it happened (at most a day ahead).
    occurred_at: DateTime<Utc>,
    /// inbound or outbound: for email, call and text only.
    #[schema(pattern = "^(inbound|outbound)$")]
    direction: Option<String>,
    /// A matter of the same firm, optionally.
    matter_id: Option<i64>,
}

/// An activity and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ActivityBody {
    id: i64,
    connection_id: i64,
    contact_id: i64,
    matter_id: Option<i64>,
    /// email, note, call, card or text.
    #[serde(rename = "type")]
    kind: String,
    subject: String,
    body: String,
    occurred_at: DateTime<Utc>,
    direction: Option<String>,
    /// queued, written, skipped or failed.
    state: String,
    /// note or communication, once written.
    clio_record: Option<String>,
    /// Clio's id of the note or communication, once written.
    clio_id: Option<i64>,
    /// Why it failed or was skipped.
    reason: Option<String>,
    /// The dead letter of a failed activity, for support staff.
    dead_letter_id: Option<i64>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<ActivityRow> for ActivityBody {
    fn from(r: ActivityRow) -> Self {
        Self {
            id: r.id,
            connection_id: r.connection_id,
            contact_id: r.contact_id,
            matter_id: r.matter_id,
            kind: r.kind.as_str().to_owned(),
            subject: r.subject,
            body: r.body,
            occurred_at: r.occurred_at,
            direction: r.direction.map(|d| d.as_str().to_owned()),
            state: r.state.as_str().to_owned(),
            clio_record: r.clio_record.map(|k| k.as_str().to_owned()),
            clio_id: r.clio_id,
            reason: r.reason,
            dead_letter_id: r.dead_letter_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

fn refused(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::Rejected {
        status: StatusCode::UNPROCESSABLE_ENTITY,
        code,
        message: message.into(),
    }
}

/// The `Idempotency-Key` header: required, 1 to 255 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<String, ApiError> {
    let key = req
        .headers()
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .unwrap_or_default();
    if !valid_key(key) {
        return Err(ApiError::Rejected {
            status: StatusCode::BAD_REQUEST,
            code: "idempotency_key_required",
            message: format!(
                "an Idempotency-Key header of 1 to {MAX_KEY_LEN} visible ASCII characters is \
                 required"
            ),
        });
    }
    Ok(key.to_owned())
}

fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

/// The body's fingerprint: SHA-256 of its JSON with keys in order, so the same body however
/// spaced or ordered is the same request.
fn fingerprint(body: &Value) -> Vec<u8> {
    Sha256::digest(body.to_string().as_bytes()).to_vec()
}

/// Posts an activity for writeback. The same `Idempotency-Key` with the same body answers the
/// activity posted first; with another body, a 422.
#[utoipa::path(
    post,
    path = "/api/activities",
    request_body = NewActivityBody,
    params(("Idempotency-Key" = String, Header, description = "Required: the same key with the same body is the same activity")),
    responses(
        (status = 202, description = "Accepted (or accepted before, with this key)", body = ActivityBody),
        (status = 400, description = "No Idempotency-Key, a malformed body, or a refused field (named)", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
        (status = 422, description = "The key was used with another body, or the contact or matter is not the firm's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    deps: web::Data<Deps>,
    req: HttpRequest,
    body: web::Json<Value>,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency_key(&req)?;
    let row = accept(&deps, &caller, key, body.into_inner(), &request_id(&req)).await?;
    Ok(HttpResponse::Accepted().json(ActivityBody::from(row)))
}

/// Checks one posted activity and stores it under `key`, or finds the one `key` already made.
async fn accept(
    deps: &Deps,
    caller: &Caller,
    key: String,
    raw: Value,
    request_id: &str,
) -> Result<ActivityRow, ApiError> {
    let hash = fingerprint(&raw);
    let mut conn = deps.pool.get().await?;
    if let Some(first) = store::by_key(&mut conn, caller.id, &key).await? {
        return same_body(first, &hash);
    }
    let posted: NewActivityBody = serde_json::from_value(raw)
        .map_err(|e| ApiError::BadRequest(format!("the activity is malformed: {e}")))?;
    let kind = ActivityType::parse(&posted.kind).map_err(|_| {
        ApiError::BadRequest("type: must be one of email, note, call, card, text".into())
    })?;
    let direction = posted
        .direction
        .as_deref()
        .map(ActivityDirection::parse)
        .transpose()
        .map_err(|_| ApiError::BadRequest("direction: must be inbound or outbound".into()))?;
    let activity = Activity {
        kind,
        subject: posted.subject,
        body: posted.body,
        occurred_at: posted.occurred_at,
        direction,
    };
    activity
        .check(Utc::now())
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let connection = connection_store::get(&mut conn, posted.connection_id)
        .await?
        .filter(|c| c.user_id == caller.id)
        .ok_or(ApiError::NotFound)?;
    if connection.status == ConnectionStatus::Disconnected {
        return Err(ApiError::Rejected {
            status: StatusCode::CONFLICT,
            code: "disconnected",
            message: "this connection is disconnected: connect it again to write to Clio".into(),
        });
    }
    let account = connection.clio_account_id;
    let contact = mirror::contact(&mut conn, account, posted.contact_id)
        .await?
        .filter(|c| c.deleted_at.is_none());
    if contact.is_none() {
        return Err(refused(
            "unknown_contact",
            format!(
                "contact_id: {} is not a contact of this connection's firm that matterhook holds",
                posted.contact_id
            ),
        ));
    }
    if let Some(matter_id) = posted.matter_id {
        let matter = mirror::matter(&mut conn, account, matter_id)
            .await?
            .filter(|m| m.deleted_at.is_none());
        if matter.is_none() {
            return Err(refused(
                "unknown_matter",
                format!(
                    "matter_id: {matter_id} is not a matter of this connection's firm that \
                     matterhook holds"
                ),
            ));
        }
    }
    // The connection's settings decide at once whether it will be written: an activity they
    // keep out of Clio is stored as skipped, with the reason, and never queued.
    let settings =
        crate::settings::effective(settings_store::get(&mut conn, connection.id).await?)?;
    let skipped = skip_reason(&settings.writeback, activity.kind);
    let new = NewActivity {
        user_id: caller.id,
        connection_id: connection.id,
        idempotency_key: key,
        request_hash: hash.clone(),
        clio_account_id: account,
        contact_id: posted.contact_id,
        matter_id: posted.matter_id,
        kind: activity.kind,
        subject: activity.subject,
        body: activity.body,
        occurred_at: activity.occurred_at,
        direction: activity.direction,
        state: if skipped.is_some() {
            ActivityState::Skipped
        } else {
            ActivityState::Queued
        },
        reason: skipped,
    };
    let (row, fresh) = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let (row, fresh) = store::insert_once(conn, &new).await?;
            if fresh && row.state == ActivityState::Queued {
                queue(conn, &row, request_id).await?;
            }
            Ok((row, fresh))
        })
        .await?;
    if fresh {
        Ok(row)
    } else {
        // Another request with this key won the race.
        same_body(row, &hash)
    }
}

/// Queues `row` for the writeback worker: its request goes to the outbox in the transaction that
/// stores it, so an activity is never stored without its request, nor the reverse.
async fn queue(
    conn: &mut matterhook_store::AsyncPgConnection,
    row: &ActivityRow,
    request_id: &str,
) -> Result<(), ApiError> {
    let activity = ActivityId(row.id);
    let envelope = Envelope::for_writeback(
        WritebackRequest::event_id(activity),
        ConnectionId(row.connection_id),
        WritebackRequest {
            activity,
            account: AccountId(row.clio_account_id),
            contact: ClioId(row.contact_id),
        },
        Utc::now(),
        request_id.to_owned(),
    );
    let message = serde_json::to_value(&envelope).map_err(crate::error::internal)?;
    outbox::push(conn, &envelope.routing_key(), &message).await?;
    Ok(())
}

/// A key seen before: the activity it made, if the body is the same.
fn same_body(first: ActivityRow, hash: &[u8]) -> Result<ActivityRow, ApiError> {
    if first.request_hash != hash {
        return Err(refused(
            "idempotency_key_reused",
            "this Idempotency-Key was used with another body",
        ));
    }
    Ok(first)
}

/// One of the caller's activities.
#[utoipa::path(
    get,
    path = "/api/activities/{id}",
    params(("id" = i64, Path, description = "The activity")),
    responses(
        (status = 200, description = "The activity", body = ActivityBody),
        (status = 404, description = "Not one of the caller's", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn show(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let row = store::of_user(&mut conn, caller.id, id.into_inner())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(ActivityBody::from(row)))
}

/// `GET /api/activities` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Only this contact's.
    contact_id: Option<i64>,
    /// Only in this state: queued, written, skipped or failed.
    state: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Page size, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// A page of activities.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Page {
    items: Vec<ActivityBody>,
    /// Pass as `cursor` for the next page; absent on the last.
    next_cursor: Option<String>,
}

/// The caller's activities, oldest first.
#[utoipa::path(
    get,
    path = "/api/activities",
    params(ListQuery),
    responses(
        (status = 200, description = "A page", body = Page),
        (status = 400, description = "An unknown state, a bad cursor or limit", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let state = q
        .state
        .as_deref()
        .map(ActivityState::parse)
        .transpose()
        .map_err(|_| {
            ApiError::BadRequest("state must be one of queued, written, skipped, failed".into())
        })?;
    let after = paging::after(q.cursor.as_deref())?;
    let limit = paging::limit(q.limit)?;
    let mut conn = deps.pool.get().await?;
    let filter = store::Filter {
        contact_id: q.contact_id,
        state,
        after,
    };
    let rows = store::list(&mut conn, caller.id, &filter, limit + 1).await?;
    let rows: Vec<ActivityBody> = rows.into_iter().map(Into::into).collect();
    let (items, next_cursor) = paging::page(rows, limit, |r| r.id);
    Ok(HttpResponse::Ok().json(Page { items, next_cursor }))
}
