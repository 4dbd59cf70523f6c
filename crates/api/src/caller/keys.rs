//! `POST|GET /api/connections/{id}/lookup-keys`, `DELETE /api/connections/{id}/lookup-keys/{key}`:
//! keys a phone receptionist looks callers up with, each seeing one connection's firm only.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use matterhook_crypto::{hash_token, random_token};
use matterhook_domain::ConnectionStatus;
use matterhook_store::{connections as connection_store, lookup_keys};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::key_auth::{KeyDoor, KEY_PREFIX};
use crate::{auth::Caller, connections::ErrorBody, error::ApiError, Deps};

/// A key's budget when none is asked for: ten lookups a second, far above a switchboard's rings.
const DEFAULT_PER_MINUTE: i32 = 600;

/// `POST /api/connections/{id}/lookup-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKeyBody {
    /// What the key is for (1 to 100 characters), e.g. `Front desk AI receptionist`.
    name: String,
    /// Lookups per minute, 1 to 1,000,000 (default 600).
    per_minute: Option<i32>,
}

/// A key as listed: never the key itself.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyBody {
    id: i64,
    connection_id: i64,
    name: String,
    /// The key's first characters, to tell keys apart.
    key_prefix: String,
    per_minute: i32,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<lookup_keys::LookupKey> for KeyBody {
    fn from(k: lookup_keys::LookupKey) -> Self {
        Self {
            id: k.id,
            connection_id: k.connection_id,
            name: k.name,
            key_prefix: k.key_prefix,
            per_minute: k.per_minute,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A key just created: the only time the key is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    #[serde(flatten)]
    listed: KeyBody,
    /// The key: `Authorization: Bearer <key>` on `GET /api/caller-lookup`. Shown once.
    key: String,
}

/// The caller's connection `id`, or 404.
async fn own_connection(
    deps: &Deps,
    caller: &Caller,
    id: i64,
) -> Result<connection_store::Connection, ApiError> {
    let mut conn = deps.pool.get().await?;
    connection_store::for_user(&mut conn, caller.id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or(ApiError::NotFound)
}

/// Creates a lookup key for the connection's firm.
#[utoipa::path(
    post,
    path = "/api/connections/{id}/lookup-keys",
    params(("id" = i64, Path, description = "The connection")),
    request_body = NewKeyBody,
    responses(
        (status = 201, description = "The key, shown this once", body = CreatedKey),
        (status = 400, description = "A bad name or budget", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
        (status = 409, description = "The connection is disconnected", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
    body: web::Json<NewKeyBody>,
) -> Result<HttpResponse, ApiError> {
    let connection = own_connection(&deps, &caller, id.into_inner()).await?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(
            "name must be 1 to 100 characters, without control characters".into(),
        ));
    }
    let per_minute = body.per_minute.unwrap_or(DEFAULT_PER_MINUTE);
    if !(1..=1_000_000).contains(&per_minute) {
        return Err(ApiError::BadRequest(
            "per_minute must be between 1 and 1000000".into(),
        ));
    }
    if connection.status == ConnectionStatus::Disconnected {
        return Err(ApiError::Rejected {
            status: actix_web::http::StatusCode::CONFLICT,
            code: "connection_disconnected",
            message: "the connection is disconnected: reconnect it first".into(),
        });
    }
    let key = format!("{KEY_PREFIX}{}", random_token(32));
    let mut conn = deps.pool.get().await?;
    let stored = lookup_keys::create(
        &mut conn,
        &lookup_keys::NewKey {
            connection_id: connection.id,
            created_by: caller.id,
            name,
            key_hash: &hash_token(&key),
            key_prefix: &key[..KEY_PREFIX.len() + 6],
            per_minute,
        },
    )
    .await?;
    tracing::info!(
        connection_id = connection.id,
        key_id = stored.id,
        actor = %caller.email,
        "lookup key created"
    );
    Ok(HttpResponse::Created().json(CreatedKey {
        listed: stored.into(),
        key,
    }))
}

/// The connection's lookup keys (revoked ones too), newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyList {
    items: Vec<KeyBody>,
}

/// Lists the connection's lookup keys.
#[utoipa::path(
    get,
    path = "/api/connections/{id}/lookup-keys",
    params(("id" = i64, Path, description = "The connection")),
    responses(
        (status = 200, description = "The keys", body = KeyList),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let connection = own_connection(&deps, &caller, id.into_inner()).await?;
    let mut conn = deps.pool.get().await?;
    let items = lookup_keys::of_connection(&mut conn, connection.id)
        .await?
        .into_iter()
        .map(KeyBody::from)
        .collect();
    Ok(HttpResponse::Ok().json(KeyList { items }))
}

/// Revokes a lookup key: its next lookup gets a 401.
#[utoipa::path(
    delete,
    path = "/api/connections/{id}/lookup-keys/{key_id}",
    params(
        ("id" = i64, Path, description = "The connection"),
        ("key_id" = i64, Path, description = "The key"),
    ),
    responses(
        (status = 204, description = "Revoked (or already revoked): at once through this process, within two seconds through any other"),
        (status = 404, description = "No such key of the caller's connection", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn revoke(
    caller: Caller,
    deps: web::Data<Deps>,
    door: web::Data<KeyDoor>,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (id, key_id) = path.into_inner();
    let connection = own_connection(&deps, &caller, id).await?;
    let mut conn = deps.pool.get().await?;
    let known = lookup_keys::of_connection(&mut conn, connection.id)
        .await?
        .iter()
        .any(|k| k.id == key_id);
    if !known {
        return Err(ApiError::NotFound);
    }
    let revoked = lookup_keys::revoke(&mut conn, connection.id, key_id).await?;
    door.forget(key_id);
    if revoked {
        tracing::info!(
            connection_id = connection.id,
            key_id,
            actor = %caller.email,
            "lookup key revoked"
        );
    }
    Ok(HttpResponse::NoContent().finish())
}
