//! Connecting Clio accounts: `GET /connect/clio`, `GET /oauth/clio/callback`,
//! `GET /api/connections`, `POST /api/connections/{id}/disconnect`.

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse, ResponseError,
};
use chrono::{DateTime, Utc};
use matterhook_clio::Region;
use matterhook_connections::{
    disconnect::Disconnected,
    flow::{Callback, Connected, FlowError},
    ConnectionError,
};
use matterhook_store::connections as store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::{
    auth::Caller,
    connect_page::{self, Outcome},
    error::{internal, ApiError},
    Deps,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/connect/clio", web::get().to(connect))
        .route("/oauth/clio/callback", web::get().to(callback))
        .route("/api/connections", web::get().to(list))
        .route(
            "/api/connections/{id}/disconnect",
            web::post().to(disconnect),
        );
}

/// `GET /connect/clio` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConnectQuery {
    /// Clio region of the firm: `us` (default), `eu`, `ca` or `au`.
    region: Option<String>,
}

/// Starts connecting the caller's Clio account: redirects to Clio's consent page.
#[utoipa::path(
    get,
    path = "/connect/clio",
    params(ConnectQuery),
    responses(
        (status = 302, description = "To Clio's consent page, with a single-use state bound to the caller and, by the `matterhook_connect` cookie set here, to this browser (10 minutes)"),
        (status = 400, description = "Unknown region", body = ErrorBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn connect(
    caller: Caller,
    deps: web::Data<Deps>,
    q: web::Query<ConnectQuery>,
) -> Result<HttpResponse, ApiError> {
    let region: Region = q
        .region
        .as_deref()
        .unwrap_or("us")
        .parse()
        .map_err(|e: matterhook_clio::UnknownRegion| ApiError::BadRequest(e.to_string()))?;
    let started = deps.connections.start(caller.id, region).await?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, started.url.as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .cookie(deps.app.cookie(started.browser_state))
        .finish())
}

/// The callback's query: what Clio's redirect carries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallbackQuery {
    /// The authorization code, on consent.
    code: Option<String>,
    /// The state `/connect/clio` handed out.
    state: Option<String>,
    /// `access_denied` when the user declined.
    error: Option<String>,
    /// Clio's explanation of `error`.
    error_description: Option<String>,
}

/// A connection made or resumed.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectedBody {
    /// The connection.
    connection_id: i64,
    /// Whether it existed (a reconnect: same connection, same history).
    resumed: bool,
    /// The firm.
    account_name: String,
    /// The Clio user.
    clio_user_name: Option<String>,
    /// Webhook subscriptions that could not be created yet (retried by the scheduler).
    subscription_errors: Vec<String>,
    /// Events parked while the connection needed reauthorization, now sent back to their queues.
    unparked: usize,
}

/// Where Clio sends the user back. Exchanges the code, stores the connection and subscribes to its
/// webhooks. A reused, expired or unknown state, a browser that did not start the connect, or a
/// refusal, stores nothing. A browser (`Accept: text/html`) gets a page that tells the app's
/// window (`MATTERHOOK_APP_ORIGIN`) and closes the popup, or a redirect to
/// `MATTERHOOK_APP_RETURN_URL` with the outcome; other callers get JSON.
#[utoipa::path(
    get,
    path = "/oauth/clio/callback",
    params(CallbackQuery),
    responses(
        (status = 200, description = "Connected", body = ConnectedBody),
        (status = 303, description = "To the app's return URL, with `connect=connected&connection_id=..` or `connect=failed&reason=..`"),
        (status = 400, description = "Bad, reused or expired state; started in another browser; missing code; Clio refused the code", body = ErrorBody),
        (status = 403, description = "The user declined on Clio's consent page", body = ErrorBody),
        (status = 502, description = "Clio could not be reached", body = ErrorBody),
    )
)]
pub(crate) async fn callback(
    req: HttpRequest,
    deps: web::Data<Deps>,
    q: web::Query<CallbackQuery>,
) -> HttpResponse {
    let browser_state = req
        .cookie(connect_page::CONNECT_COOKIE)
        .map(|c| c.value().to_owned());
    let q = q.into_inner();
    // The cookie's state is spent by this callback (whatever its outcome) only if it carries it;
    // a stray or forged callback leaves the browser's connect in progress alone.
    let spent = browser_state.is_some() && browser_state == q.state;
    let result = finish(&deps, q, browser_state).await;
    let mut response = if connect_page::wants_page(&req) {
        let (status, outcome) = match &result {
            Ok(body) => (
                StatusCode::OK,
                Outcome::Connected {
                    connection_id: body.connection_id,
                    account_name: body.account_name.clone(),
                    resumed: body.resumed,
                },
            ),
            Err(e) => {
                let reason = match e {
                    ApiError::Rejected { code, .. } => code,
                    _ => "internal",
                };
                let message = match e {
                    ApiError::Internal(_) => {
                        // Logged here, as `error_response` would for JSON.
                        let _ = e.error_response();
                        "something went wrong on our side; nothing was connected".to_owned()
                    }
                    _ => e.to_string(),
                };
                (e.status_code(), Outcome::Failed { reason, message })
            }
        };
        connect_page::respond(&deps.app, status, &outcome)
    } else {
        match result {
            Ok(body) => HttpResponse::Ok().json(body),
            Err(e) => e.error_response(),
        }
    };
    if spent {
        // The cookie has served its one purpose.
        let _ = response.add_removal_cookie(&deps.app.removal());
    }
    response
}

async fn finish(
    deps: &Deps,
    q: CallbackQuery,
    browser_state: Option<String>,
) -> Result<ConnectedBody, ApiError> {
    let callback = Callback {
        code: q.code,
        state: q.state,
        error: q.error,
        error_description: q.error_description,
        browser_state,
    };
    let connected: Connected = deps
        .connections
        .finish(&callback)
        .await
        .map_err(flow_error)?;
    // The connection is made whatever happens here: parked work the unpark misses now, the
    // scheduler sends back on its next pass.
    let unparked = if connected.resumed {
        matterhook_bus::dead_letters::unpark(
            deps.connections.pool(),
            &deps.publisher,
            connected.connection_id,
        )
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(connection = connected.connection_id, error = %matterhook_telemetry::Chain(&e), "could not send parked work back yet");
            0
        })
    } else {
        0
    };
    Ok(ConnectedBody {
        connection_id: connected.connection_id,
        resumed: connected.resumed,
        account_name: connected.account_name,
        clio_user_name: connected.clio_user_name,
        subscription_errors: connected.subscription_errors,
        unparked,
    })
}

fn flow_error(e: FlowError) -> ApiError {
    let status = match &e {
        FlowError::Denied => StatusCode::FORBIDDEN,
        FlowError::Failed(ConnectionError::OAuth(o)) if o.is_transient() => StatusCode::BAD_GATEWAY,
        FlowError::Failed(ConnectionError::Clio(c)) if c.is_transient() => StatusCode::BAD_GATEWAY,
        FlowError::Failed(ConnectionError::Database(_) | ConnectionError::Pool(_)) => {
            return internal(e)
        }
        _ => StatusCode::BAD_REQUEST,
    };
    let code = if status.is_server_error() {
        // The answer names the failure; the log keeps its cause.
        tracing::warn!(error = %matterhook_telemetry::Chain(&e), "Clio failed the connect flow");
        "clio_unavailable"
    } else {
        e.code()
    };
    ApiError::Rejected {
        status,
        code,
        message: e.to_string(),
    }
}

/// One connection, as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConnectionBody {
    /// The connection.
    id: i64,
    /// `connected`, `needs_reauth` or `disconnected`.
    status: String,
    /// Why (for `needs_reauth` and `disconnected`).
    status_reason: Option<String>,
    /// Clio region.
    region: String,
    /// The firm's name in Clio.
    account_name: String,
    /// The Clio user.
    clio_user_name: Option<String>,
    /// Last successful sync.
    last_synced_at: Option<DateTime<Utc>>,
    /// First connected.
    created_at: DateTime<Utc>,
}

impl From<store::Connection> for ConnectionBody {
    fn from(c: store::Connection) -> Self {
        Self {
            id: c.id,
            status: c.status.to_string(),
            status_reason: c.status_reason,
            region: c.region,
            account_name: c.account_name,
            clio_user_name: c.clio_user_name,
            last_synced_at: c.last_synced_at,
            created_at: c.created_at,
        }
    }
}

/// The caller's connections.
#[utoipa::path(
    get,
    path = "/api/connections",
    responses(
        (status = 200, description = "The caller's connections, oldest first", body = [ConnectionBody]),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list(caller: Caller, deps: web::Data<Deps>) -> Result<HttpResponse, ApiError> {
    let mut conn = deps.pool.get().await?;
    let rows = store::for_user(&mut conn, caller.id).await?;
    let body: Vec<ConnectionBody> = rows.into_iter().map(Into::into).collect();
    Ok(HttpResponse::Ok().json(body))
}

/// What a disconnect did.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DisconnectedBody {
    /// The connection.
    connection_id: i64,
    /// Clio webhooks deleted.
    webhooks_deleted: usize,
    /// Whether Clio confirmed the revocation.
    revoked: bool,
}

impl From<Disconnected> for DisconnectedBody {
    fn from(d: Disconnected) -> Self {
        Self {
            connection_id: d.connection_id,
            webhooks_deleted: d.webhooks_deleted,
            revoked: d.revoked,
        }
    }
}

/// Disconnects one of the caller's connections: revokes the token, deletes its Clio webhooks and
/// stops its work. Everything already synced stays; connecting again resumes it.
#[utoipa::path(
    post,
    path = "/api/connections/{id}/disconnect",
    params(("id" = i64, Path, description = "The connection")),
    responses(
        (status = 200, description = "Disconnected (also when it already was)", body = DisconnectedBody),
        (status = 401, description = "Missing or invalid bearer token", body = ErrorBody),
        (status = 404, description = "Not one of the caller's connections", body = ErrorBody),
        (status = 502, description = "Clio could not be reached; nothing changed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub(crate) async fn disconnect(
    caller: Caller,
    deps: web::Data<Deps>,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    match deps.connections.disconnect(*id, Some(caller.id)).await {
        Ok(d) => Ok(HttpResponse::Ok().json(DisconnectedBody::from(d))),
        Err(ConnectionError::NotFound) => Err(ApiError::NotFound),
        Err(e @ (ConnectionError::Clio(_) | ConnectionError::Token(_))) => {
            tracing::warn!(error = %matterhook_telemetry::Chain(&e), "Clio failed the disconnect");
            Err(ApiError::Rejected {
                status: actix_web::http::StatusCode::BAD_GATEWAY,
                code: "clio_unavailable",
                message: e.to_string(),
            })
        }
        Err(e) => Err(internal(e)),
    }
}

/// Every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong.
    error: String,
    /// A stable code, where there is one (`state_used`, `access_denied`, ...).
    code: Option<String>,
}

/// The caller's connection the request is about: the one named, or their only live one.
pub(crate) async fn connection_of(
    deps: &Deps,
    caller: &Caller,
    named: Option<i64>,
) -> Result<i64, ApiError> {
    let mut conn = deps.pool.get().await?;
    let mine = store::for_user(&mut conn, caller.id).await?;
    match named {
        Some(id) => mine
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.id)
            .ok_or(ApiError::NotFound),
        None => {
            let live: Vec<i64> = mine
                .iter()
                .filter(|c| c.status != matterhook_domain::ConnectionStatus::Disconnected)
                .map(|c| c.id)
                .collect();
            match live.as_slice() {
                [only] => Ok(*only),
                [] => Err(ApiError::NotFound),
                _ => Err(ApiError::BadRequest(
                    "connection_id is required: you have more than one connection".into(),
                )),
            }
        }
    }
}
