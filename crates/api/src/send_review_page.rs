//! Where a click on "Send Review" inside Clio lands: `GET /clio/actions/send-review`.
//!
//! Clio sends the lawyer's browser here with `custom_action_id`, `user_id` (the Clio user),
//! `subject_url` (`/api/v4/matters/{id}`) and a single-use `custom_action_nonce`. Anyone can
//! forge that link, so nothing in it is trusted until Clio, asked for the subject with the nonce
//! and the token of that Clio user's connection, answers for it; a nonce lasts about a minute,
//! so that is asked at once. Then the manual review request is made as `POST
//! /api/review-requests` would make it, and a small page says what happened.

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse,
};
use chrono::Utc;
use matterhook_clio::{models::Subject, ClioError};
use matterhook_connections::{CallError, TokenError};
use matterhook_domain::{settings::ConnectionSettings, ConnectionStatus};
use matterhook_store::{
    connections::{self as connection_store, Connection},
    custom_actions,
    review_requests::{state, ReviewRequest},
    settings,
};
use maud::{html, Markup, DOCTYPE};

use crate::{
    error::ApiError,
    review_requests::{request_manually, Manual},
    Deps,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        &format!(
            "/{}",
            matterhook_domain::CustomActionPurpose::SendReview.landing_path()
        ),
        web::get().to(land),
    );
}

/// The longest nonce we pass on to Clio (theirs are far shorter).
const MAX_NONCE_LEN: usize = 256;

/// The click's parameters, checked for shape only.
struct Click {
    action_id: i64,
    clio_user_id: i64,
    subject: Subject,
    nonce: String,
}

impl Click {
    fn parse(query: &str) -> Option<Self> {
        let mut action_id = None;
        let mut clio_user_id = None;
        let mut subject = None;
        let mut nonce = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "custom_action_id" => action_id = value.parse::<i64>().ok().filter(|v| *v > 0),
                "user_id" => clio_user_id = value.parse::<i64>().ok().filter(|v| *v > 0),
                "subject_url" => subject = Subject::parse(&value).ok(),
                "custom_action_nonce" => {
                    nonce = Some(value.into_owned()).filter(|n| {
                        !n.is_empty()
                            && n.len() <= MAX_NONCE_LEN
                            && n.bytes().all(|b| b.is_ascii_graphic())
                    })
                }
                // Clio may add parameters; they mean nothing to us.
                _ => {}
            }
        }
        Some(Self {
            action_id: action_id?,
            clio_user_id: clio_user_id?,
            subject: subject?,
            nonce: nonce?,
        })
    }
}

/// What a click came to.
enum Landing {
    /// A request was made (scheduled, or held back with its reason); its due time, local.
    Made(Box<ReviewRequest>, String),
    /// The link is not a click's.
    BadLink,
    /// The button is not one we registered.
    UnknownAction,
    /// The Clio user who clicked has no matterhook connection.
    NotConnected,
    /// Their connection needs them to connect again.
    NeedsReconnect,
    /// Clio did not confirm the click (forged, reused or expired nonce).
    NotConfirmed,
    /// Clio could not be asked.
    ClioUnavailable,
    /// The connection's review requests or manual trigger are off.
    TriggerOff,
    /// matterhook does not hold the matter (not synced yet, or deleted).
    MatterUnknown,
}

impl Landing {
    fn status(&self) -> StatusCode {
        match self {
            Landing::Made(..) => StatusCode::OK,
            Landing::BadLink => StatusCode::BAD_REQUEST,
            Landing::UnknownAction
            | Landing::NotConnected
            | Landing::NeedsReconnect
            | Landing::NotConfirmed => StatusCode::FORBIDDEN,
            Landing::ClioUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Landing::TriggerOff => StatusCode::CONFLICT,
            Landing::MatterUnknown => StatusCode::NOT_FOUND,
        }
    }

    /// A stable name, for logs and tests.
    fn code(&self) -> &'static str {
        match self {
            Landing::Made(r, _) if r.state == state::RESTRICTED => "restricted",
            Landing::Made(..) => "scheduled",
            Landing::BadLink => "bad_link",
            Landing::UnknownAction => "unknown_action",
            Landing::NotConnected => "not_connected",
            Landing::NeedsReconnect => "needs_reconnect",
            Landing::NotConfirmed => "not_confirmed",
            Landing::ClioUnavailable => "clio_unavailable",
            Landing::TriggerOff => "trigger_off",
            Landing::MatterUnknown => "matter_unknown",
        }
    }
}

async fn land(req: HttpRequest, deps: web::Data<Deps>) -> Result<HttpResponse, ApiError> {
    let landing = match Click::parse(req.query_string()) {
        None => Landing::BadLink,
        Some(click) => handle(&deps, &click).await?,
    };
    tracing::info!(outcome = landing.code(), "Send Review click");
    Ok(respond(&landing))
}

async fn handle(deps: &Deps, click: &Click) -> Result<Landing, ApiError> {
    // Only matters have the button: a contact subject is a link we never made.
    if click.subject.collection != matterhook_clio::models::SubjectCollection::Matters {
        return Ok(Landing::BadLink);
    }
    let mut conn = deps.pool.get().await?;
    let Some((_, account)) = custom_actions::by_clio_id(&mut conn, click.action_id).await? else {
        return Ok(Landing::UnknownAction);
    };
    let candidates = connection_store::of_clio_user(&mut conn, account, click.clio_user_id).await?;
    let Some(connection) = choose(&mut conn, &candidates).await? else {
        return Ok(Landing::NotConnected);
    };
    drop(conn);
    match connection.status {
        ConnectionStatus::Connected => {}
        ConnectionStatus::NeedsReauth => return Ok(Landing::NeedsReconnect),
        ConnectionStatus::Disconnected => return Ok(Landing::NotConnected),
    }
    // Before anything else: the nonce lasts about a minute and works once.
    match deps
        .connections
        .confirm_click(connection.id, click.subject, &click.nonce)
        .await
    {
        Ok(()) => {}
        Err(CallError::Clio(ClioError::Forbidden { .. })) => return Ok(Landing::NotConfirmed),
        Err(CallError::Clio(ClioError::NotFound)) => return Ok(Landing::MatterUnknown),
        Err(CallError::Token(TokenError::NeedsReauth(_))) => return Ok(Landing::NeedsReconnect),
        Err(CallError::Token(TokenError::Disconnected(_) | TokenError::NotFound(_))) => {
            return Ok(Landing::NotConnected)
        }
        Err(CallError::Clio(e)) if e.is_transient() => return Ok(Landing::ClioUnavailable),
        Err(CallError::Token(e)) if e.is_transient() => return Ok(Landing::ClioUnavailable),
        Err(e) => return Err(crate::error::internal(e)),
    }
    let scope = settings::Scope {
        connection: Some(connection.id),
        ..settings::Scope::default()
    };
    Ok(
        match request_manually(deps, scope, click.subject.id, false).await? {
            Manual::Made { request, zone } => {
                let due = local_due(&request, zone, Utc::now());
                Landing::Made(request, due)
            }
            Manual::TriggerOff => Landing::TriggerOff,
            Manual::MatterUnknown => Landing::MatterUnknown,
        },
    )
}

/// Of the connections of the Clio user who clicked: a connected one whose settings want the
/// button, else any connected one, else whichever is left (to say what to do).
async fn choose(
    conn: &mut diesel_async::AsyncPgConnection,
    candidates: &[Connection],
) -> Result<Option<Connection>, ApiError> {
    let mut fallback = None;
    for c in candidates {
        if c.status == ConnectionStatus::Connected {
            let wants = settings::get(conn, c.id)
                .await?
                .and_then(|d| ConnectionSettings::parse(&d).ok())
                .is_some_and(|s| s.review_requests.wants_send_review_button());
            if wants {
                return Ok(Some(c.clone()));
            }
        }
        let better = match (&fallback, c.status) {
            (None, _) => true,
            (Some(Connection { status, .. }), ConnectionStatus::Connected) => {
                *status != ConnectionStatus::Connected
            }
            _ => false,
        };
        if better {
            fallback = Some(c.clone());
        }
    }
    Ok(fallback)
}

/// When the request falls due, in the connection's time zone.
fn local_due(request: &ReviewRequest, zone: chrono_tz::Tz, now: chrono::DateTime<Utc>) -> String {
    if request.due_at <= now {
        return "now".into();
    }
    request
        .due_at
        .with_timezone(&zone)
        .format("%A %-d %B %Y, %H:%M %Z")
        .to_string()
}

/// Why a request was held back, for the lawyer who clicked.
fn held_back_because(reason: &str) -> &'static str {
    match reason {
        "opted_out" => "the matter is opted out of review requests (its checkbox is ticked)",
        "no_contact_point" => {
            "the client has neither a valid email address nor a valid phone number"
        }
        "custom_fields_forbidden" => {
            "matterhook may not read this firm's custom fields in Clio, so it cannot check the \
             matter's opt-out"
        }
        "not_authorized" => "the connection to Clio needs reconnecting",
        "inactive" => "review requests, or the matter's location, are turned off",
        "location_unmapped" => "the matter's location matches none of the configured locations",
        "cooldown" => "the client was already asked recently (within the cooldown)",
        "too_old" => "the matter entered its status too long ago",
        "status_changed" => "the matter is no longer in the status that triggered it",
        _ => "a rule held it back",
    }
}

/// The page's title and text.
fn wording(landing: &Landing) -> (String, String) {
    let (title, detail): (&str, String) = match landing {
        Landing::Made(r, due) => {
            let client = [r.first_name.as_deref(), r.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let client = if client.is_empty() {
                "the client".to_owned()
            } else {
                client
            };
            let matter = r
                .display_number
                .clone()
                .unwrap_or_else(|| format!("matter {}", r.matter_id));
            match r.reason.as_deref() {
                Some(reason) if r.state == state::RESTRICTED => (
                    "Review request held back",
                    format!(
                        "matterhook recorded a review request for {client} on {matter}, but it \
                         will not be sent: {}.",
                        held_back_because(reason)
                    ),
                ),
                _ => (
                    "Review request scheduled",
                    format!("{client} will be asked for a review about {matter}; due {due}."),
                ),
            }
        }
        Landing::BadLink => (
            "This is not a Send Review link",
            "Open the matter in Clio and click Send Review there.".into(),
        ),
        Landing::UnknownAction => (
            "This button is not matterhook's",
            "matterhook did not register this button. If it stays in Clio, ask your \
             administrator to remove it."
                .into(),
        ),
        Landing::NotConnected => (
            "Connect matterhook first",
            "Your Clio user has no matterhook connection. Connect matterhook to Clio, then click \
             Send Review again."
                .into(),
        ),
        Landing::NeedsReconnect => (
            "Reconnect matterhook",
            "Clio no longer accepts matterhook's access for your user. Connect again, then click \
             Send Review again."
                .into(),
        ),
        Landing::NotConfirmed => (
            "Clio did not confirm this click",
            "A Send Review link works once, for about a minute. Click Send Review in Clio again."
                .into(),
        ),
        Landing::ClioUnavailable => (
            "Clio could not be reached",
            "Nothing was recorded. Click Send Review in Clio again in a minute.".into(),
        ),
        Landing::TriggerOff => (
            "Send Review is turned off",
            "Review requests, or their manual trigger, are off in matterhook's settings for your \
             connection. Nothing was recorded."
                .into(),
        ),
        Landing::MatterUnknown => (
            "matterhook has not seen this matter yet",
            "New matters take a moment to reach matterhook. Nothing was recorded; try again in a \
             minute."
                .into(),
        ),
    };
    (title.to_owned(), detail)
}

fn page(landing: &Landing) -> Markup {
    let (title, detail) = wording(landing);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { "body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1f2933}" }
            }
            body data-outcome=(landing.code()) {
                h1 { (title) }
                p { (detail) }
            }
        }
    }
}

fn respond(landing: &Landing) -> HttpResponse {
    HttpResponse::build(landing.status())
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        // Nothing runs and nothing loads: the page is text.
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ))
        // The nonce is in this page's URL: it must not travel on as a referrer.
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .body(page(landing).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_click_needs_every_parameter_in_shape() {
        let ok = "custom_action_id=7&user_id=3&subject_url=%2Fapi%2Fv4%2Fmatters%2F12&custom_action_nonce=abc&extra=1";
        let click = Click::parse(ok).expect("a click");
        assert_eq!((click.action_id, click.clio_user_id), (7, 3));
        assert_eq!(click.subject.id, 12);
        for bad in [
            "user_id=3&subject_url=%2Fapi%2Fv4%2Fmatters%2F12&custom_action_nonce=abc",
            "custom_action_id=7&user_id=x&subject_url=%2Fapi%2Fv4%2Fmatters%2F12&custom_action_nonce=abc",
            "custom_action_id=7&user_id=3&subject_url=https%3A%2F%2Fevil.example%2Fx&custom_action_nonce=abc",
            "custom_action_id=7&user_id=3&subject_url=%2Fapi%2Fv4%2Fmatters%2F12&custom_action_nonce=",
            "custom_action_id=7&user_id=3&subject_url=%2Fapi%2Fv4%2Fmatters%2F12&custom_action_nonce=a%20b",
        ] {
            assert!(Click::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn names_from_clio_cannot_break_the_page() {
        let request = ReviewRequest {
            first_name: Some("<script>alert(1)</script>".into()),
            ..sample()
        };
        let page = page(&Landing::Made(Box::new(request), "now".into())).into_string();
        assert!(!page.contains("<script>alert"), "{page}");
    }

    #[test]
    fn the_due_time_is_shown_in_the_connections_zone() {
        use chrono::TimeZone;
        let now = Utc
            .with_ymd_and_hms(2026, 11, 28, 12, 0, 0)
            .single()
            .expect("time");
        let later = ReviewRequest {
            due_at: now + chrono::Duration::days(3),
            ..sample()
        };
        assert_eq!(
            local_due(&later, chrono_tz::America::New_York, now),
            "Tuesday 1 December 2026, 07:00 EST"
        );
        assert_eq!(local_due(&sample(), chrono_tz::UTC, Utc::now()), "now");
    }

    fn sample() -> ReviewRequest {
        let now = Utc::now();
        ReviewRequest {
            id: 1,
            connection_id: 1,
            clio_account_id: 1,
            matter_id: 1,
            trigger: "manual".into(),
            triggered_at: now,
            due_at: now,
            state: state::SCHEDULED.into(),
            reason: None,
            client_id: None,
            first_name: None,
            last_name: None,
            email: None,
            phone: None,
            location: None,
            business_id: None,
            display_number: None,
            responsible_attorney_id: None,
            forced: false,
            created_at: now,
            updated_at: now,
            sent_at: None,
        }
    }
}
