//! `/oauth/authorize` (a consent page), `/oauth/token` and `/oauth/deauthorize`.
//!
//! Tests approve without a browser by POSTing the consent form themselves: `POST /oauth/authorize`
//! with the authorize parameters plus `user_id` and `decision=allow|deny`. That is exactly what the
//! page's buttons send.

use std::collections::HashMap;

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse,
};
use base64::Engine;
use rand::{distributions::Alphanumeric, Rng};
use serde_json::{json, Value};

use super::errors::oauth_error;
use crate::{
    state::{AccessToken, AuthCode, Grant, Kind},
    Sim,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/authorize", web::get().to(consent_page))
        .route("/oauth/authorize", web::post().to(decide))
        .route("/oauth/token", web::post().to(token))
        .route("/oauth/deauthorize", web::post().to(deauthorize));
}

const CODE_LIFETIME_MINUTES: i64 = 10;

type Form = HashMap<String, String>;

fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!doctype html><html><head><meta charset=utf-8><title>{t}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:3em auto\"><h1>{t}</h1>{body}</body></html>",
        t = html_escape::encode_text(title)
    ))
}

/// The page refusing a malformed authorize request, if it is one.
fn refusal(sim: &Sim, p: &Form) -> Option<HttpResponse> {
    if p.get("response_type").map(String::as_str) != Some("code") {
        return Some(page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<p>response_type must be code.</p>",
        ));
    }
    if p.get("client_id") != Some(&sim.config().client_id) {
        return Some(page(
            StatusCode::BAD_REQUEST,
            "Invalid client",
            "<p>Unknown client_id.</p>",
        ));
    }
    if p.get("redirect_uri")
        .and_then(|u| url::Url::parse(u).ok())
        .is_none()
    {
        return Some(page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<p>redirect_uri is missing or invalid.</p>",
        ));
    }
    None
}

async fn consent_page(sim: web::Data<Sim>, query: web::Query<Form>) -> HttpResponse {
    let p = query.into_inner();
    if let Some(refused) = refusal(&sim, &p) {
        return refused;
    }
    let users: Vec<(i64, String)> = {
        let state = sim.shared().state.lock();
        state
            .table(Kind::User)
            .into_iter()
            .flatten()
            .filter(|(_, r)| !r.deleted)
            .map(|(id, r)| {
                let firm = state
                    .accounts
                    .get(&r.account_id)
                    .cloned()
                    .unwrap_or_default();
                let name = r.data.get("name").and_then(Value::as_str).unwrap_or("?");
                (*id, format!("{name} ({firm})"))
            })
            .collect()
    };
    let hidden: String = [
        "response_type",
        "client_id",
        "redirect_uri",
        "state",
        "redirect_on_decline",
    ]
    .iter()
    .filter_map(|k| p.get(*k).map(|v| (k, v)))
    .map(|(k, v)| {
        format!(
            "<input type=hidden name=\"{k}\" value=\"{}\">",
            html_escape::encode_double_quoted_attribute(v)
        )
    })
    .collect();
    let options: String = users
        .iter()
        .map(|(id, label)| {
            format!(
                "<option value=\"{id}\">{}</option>",
                html_escape::encode_text(label)
            )
        })
        .collect();
    page(
        StatusCode::OK,
        "Authorize matterhook",
        &format!(
            "<p>matterhook would like to access your Clio account.</p>\
             <form method=post action=\"/oauth/authorize\">{hidden}\
             <p><label>Signed in as <select name=user_id>{options}</select></label></p>\
             <button name=decision value=allow>Allow</button> \
             <button name=decision value=deny>Deny</button></form>"
        ),
    )
}

fn redirect(target: &str, pairs: &[(&str, &str)]) -> HttpResponse {
    let mut url = match url::Url::parse(target) {
        Ok(u) => u,
        Err(_) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "<p>redirect_uri is invalid.</p>",
            )
        }
    };
    url.query_pairs_mut()
        .extend_pairs(pairs.iter().filter(|(_, v)| !v.is_empty()));
    HttpResponse::Found()
        .insert_header((header::LOCATION, url.to_string()))
        .finish()
}

async fn decide(sim: web::Data<Sim>, form: web::Form<Form>) -> HttpResponse {
    let p = form.into_inner();
    if let Some(refused) = refusal(&sim, &p) {
        return refused;
    }
    let redirect_uri = p.get("redirect_uri").cloned().unwrap_or_default();
    let state_param = p.get("state").cloned().unwrap_or_default();
    if p.get("decision").map(String::as_str) != Some("allow") {
        if p.get("redirect_on_decline").map(String::as_str) == Some("true") {
            return redirect(
                &redirect_uri,
                &[("error", "access_denied"), ("state", &state_param)],
            );
        }
        return page(
            StatusCode::OK,
            "Access denied",
            "<p>You declined to connect matterhook.</p>",
        );
    }
    let Some(user_id) = p.get("user_id").and_then(|u| u.parse::<i64>().ok()) else {
        return page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "<p>Choose a user.</p>",
        );
    };
    let code = random(32);
    {
        let mut state = sim.shared().state.lock();
        if state
            .table(Kind::User)
            .and_then(|t| t.get(&user_id))
            .is_none_or(|r| r.deleted)
        {
            return page(
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "<p>Unknown user.</p>",
            );
        }
        let expires_at = state.now() + chrono::Duration::minutes(CODE_LIFETIME_MINUTES);
        state.codes.insert(
            code.clone(),
            AuthCode {
                user_id,
                redirect_uri: redirect_uri.clone(),
                expires_at,
            },
        );
    }
    redirect(&redirect_uri, &[("code", &code), ("state", &state_param)])
}

/// Client credentials from the form body (what Clio documents) or HTTP Basic.
fn client_credentials(req: &HttpRequest, p: &Form) -> Option<(String, String)> {
    if let (Some(id), Some(secret)) = (p.get("client_id"), p.get("client_secret")) {
        return Some((id.clone(), secret.clone()));
    }
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn token(req: HttpRequest, sim: web::Data<Sim>, form: web::Form<Form>) -> HttpResponse {
    let p = form.into_inner();
    let config = sim.config();
    match client_credentials(&req, &p) {
        Some((id, secret)) if id == config.client_id && secret == config.client_secret => {}
        _ => {
            return oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed.",
            )
        }
    }
    let mut state = sim.shared().state.lock();
    let now = state.now();
    let (grant_id, refresh_token, issue_refresh) = match p.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let code = p.get("code").cloned().unwrap_or_default();
            // A code is single-use: take it out whatever happens next.
            let Some(found) = state.codes.remove(&code) else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code is invalid or was already used.",
                );
            };
            if found.expires_at <= now || p.get("redirect_uri") != Some(&found.redirect_uri) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The authorization code expired or the redirect_uri does not match.",
                );
            }
            let grant_id = state.grants.len() as u64 + 1;
            state.grants.insert(
                grant_id,
                Grant {
                    user_id: found.user_id,
                    revoked: false,
                },
            );
            let refresh = random(40);
            state.refresh_tokens.insert(refresh.clone(), grant_id);
            (grant_id, refresh, true)
        }
        Some("refresh_token") => {
            let refresh = p.get("refresh_token").cloned().unwrap_or_default();
            let grant = state
                .refresh_tokens
                .get(&refresh)
                .copied()
                .filter(|g| state.grants.get(g).is_some_and(|g| !g.revoked));
            let Some(grant_id) = grant else {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "The refresh token is invalid or was revoked.",
                );
            };
            (grant_id, refresh, !config.omit_refresh_token_on_refresh)
        }
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code or refresh_token.",
            )
        }
    };
    let access = random(40);
    let lifetime =
        chrono::Duration::from_std(config.token_expires_in).unwrap_or(chrono::Duration::days(30));
    state.access_tokens.insert(
        access.clone(),
        AccessToken {
            grant: grant_id,
            expires_at: now + lifetime,
        },
    );
    let mut body = json!({"token_type": "bearer", "access_token": access, "expires_in": config.token_expires_in.as_secs()});
    if issue_refresh {
        body["refresh_token"] = json!(refresh_token);
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(body)
}

async fn deauthorize(req: HttpRequest, sim: web::Data<Sim>, form: web::Form<Form>) -> HttpResponse {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .unwrap_or_default();
    let form_token = form.get("token").map(String::as_str).unwrap_or_default();
    let mut state = sim.shared().state.lock();
    let now = state.now();
    let grant = state
        .access_tokens
        .get(bearer)
        .filter(|t| t.expires_at > now)
        .map(|t| t.grant);
    match grant {
        Some(g) if form_token == bearer && state.grants.get(&g).is_some_and(|g| !g.revoked) => {
            if let Some(grant) = state.grants.get_mut(&g) {
                grant.revoked = true;
            }
            HttpResponse::Ok().finish()
        }
        _ => oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "The access token provided is expired, revoked, malformed or invalid for other reasons.",
        ),
    }
}
