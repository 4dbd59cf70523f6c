//! `/api/v4/webhooks`: create (with the handshake), list, show, patch (renewal), delete, activate.

use actix_web::{
    http::{header, StatusCode},
    web, HttpRequest, HttpResponse,
};
use chrono::{DateTime, Utc};
use rand::{distributions::Alphanumeric, Rng};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    errors::{argument_error, bad_fields, clio_error, json_body, not_found, ApiError},
    gate::guarded,
    paging::{page, Params},
    rest::conditional,
};
use crate::{
    delivery::{DeliveryLog, Job},
    events::{model_events, WEBHOOK_MODELS},
    schema::Selection,
    state::{Hook, Json, State},
    Sim,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/webhooks.json", web::get().to(list))
        .route("/webhooks.json", web::post().to(create))
        .route("/webhooks/{id:\\d+}.json", web::get().to(show))
        .route("/webhooks/{id:\\d+}.json", web::patch().to(update))
        .route("/webhooks/{id:\\d+}.json", web::delete().to(remove))
        .route("/webhooks/{id:\\d+}/activate.json", web::put().to(activate))
        .route("/webhooks/{id:\\d+}/activate", web::put().to(activate));
}

const MAX_FIELDS_LEN: usize = 1000;
const DEFAULT_LIFETIME_DAYS: i64 = 3;
const MAX_LIFETIME_DAYS: i64 = 31;

#[derive(Deserialize)]
struct Body {
    data: Option<Json>,
}

fn render(hook: &Hook) -> Json {
    let value = json!({
        "id": hook.id, "etag": hook.etag, "url": hook.url, "fields": hook.fields, "model": hook.model,
        "events": hook.events, "status": hook.status, "expires_at": hook.expires_at.to_rfc3339(),
        "shared_secret": hook.shared_secret, "created_at": hook.created_at.to_rfc3339(),
        "updated_at": hook.updated_at.to_rfc3339(),
    });
    value.as_object().cloned().unwrap_or_default()
}

fn selection(params: &Params) -> Result<Selection, ApiError> {
    Selection::parse("Webhook", params.get("fields")).map_err(bad_fields)
}

fn new_secret() -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(40)
        .map(char::from)
        .collect()
}

fn new_etag() -> String {
    format!("\"{}\"", hex::encode(rand::thread_rng().gen::<[u8; 16]>()))
}

/// The schema behind a webhook model's `fields`, where the simulator has one.
fn model_schema(model: &str) -> Option<&'static str> {
    match model {
        "matter" => Some("Matter"),
        "contact" => Some("Contact"),
        "bill" => Some("Bill"),
        "communication" => Some("Communication"),
        _ => None,
    }
}

/// Checks one settable attribute and applies it to `hook`.
fn apply(
    hook: &mut Hook,
    data: &Json,
    now: DateTime<Utc>,
    allow_http: bool,
) -> Result<bool, ApiError> {
    let mut url_changed = false;
    if let Some(url) = data.get("url") {
        let url = url
            .as_str()
            .ok_or_else(|| argument_error("url must be a string"))?;
        let parsed = url::Url::parse(url)
            .map_err(|_| argument_error(format!("'{url}' is not a valid url")))?;
        if parsed.scheme() != "https" && !(allow_http && parsed.scheme() == "http") {
            return Err(argument_error("url must use https"));
        }
        url_changed = hook.url != url;
        hook.url = url.to_owned();
    }
    if let Some(fields) = data.get("fields") {
        let fields = fields
            .as_str()
            .ok_or_else(|| argument_error("fields must be a string"))?;
        if fields.len() > MAX_FIELDS_LEN {
            return Err(argument_error(format!(
                "fields is longer than {MAX_FIELDS_LEN} characters"
            )));
        }
        hook.selection = match model_schema(&hook.model) {
            Some(schema) => Selection::parse(schema, Some(fields)).map_err(bad_fields)?,
            None => Selection::default_fields(),
        };
        hook.fields = fields.to_owned();
    }
    if let Some(events) = data.get("events") {
        let events: Vec<String> = serde_json::from_value(events.clone())
            .map_err(|_| argument_error("events must be a list of strings"))?;
        let allowed = model_events(&hook.model);
        if let Some(bad) = events.iter().find(|e| !allowed.contains(&e.as_str())) {
            return Err(argument_error(format!(
                "'{bad}' is not a valid event for {}",
                hook.model
            )));
        }
        hook.events = if events.is_empty() {
            allowed.iter().map(|e| (*e).to_owned()).collect()
        } else {
            events
        };
    }
    if let Some(expires) = data.get("expires_at").filter(|v| !v.is_null()) {
        let at = expires
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .ok_or_else(|| argument_error("expires_at must be an ISO-8601 time"))?
            .with_timezone(&Utc);
        if at <= now || at > now + chrono::Duration::days(MAX_LIFETIME_DAYS) {
            return Err(argument_error(format!(
                "expires_at must be in the future and at most {MAX_LIFETIME_DAYS} days ahead"
            )));
        }
        hook.expires_at = at;
    }
    Ok(url_changed)
}

fn handshake(sim: &Sim, state: &mut State, hook: &Hook) {
    state.deliveries.push(DeliveryLog::new(
        state.deliveries.len(),
        hook.id,
        "handshake",
        None,
        "",
    ));
    sim.enqueue(Job::Handshake {
        webhook_id: hook.id,
        url: hook.url.clone(),
        secret: hook.shared_secret.clone(),
        log_index: state.deliveries.len() - 1,
    });
}

async fn create(req: HttpRequest, sim: web::Data<Sim>, body: web::Bytes) -> HttpResponse {
    guarded(&sim, &req, "webhooks", |caller| {
        let params = Params::of(&req);
        let selection = selection(&params)?;
        let Some(data) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        let model = data
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if !WEBHOOK_MODELS.contains(&model.as_str()) {
            return Err(argument_error(format!("'{model}' is not a valid model")));
        }
        for required in ["url", "fields"] {
            if data.get(required).is_none() {
                return Err(argument_error(format!("{required} is required")));
            }
        }
        let allow_http = sim.config().allow_http_webhooks;
        let mut state = sim.shared().state.lock();
        let now = state.now();
        let mut hook = Hook {
            id: state.next_id(),
            account_id: caller.account_id,
            url: String::new(),
            model: model.clone(),
            fields: String::new(),
            selection: Selection::default_fields(),
            events: model_events(&model)
                .iter()
                .map(|e| (*e).to_owned())
                .collect(),
            status: "pending".into(),
            expires_at: now + chrono::Duration::days(DEFAULT_LIFETIME_DAYS),
            shared_secret: new_secret(),
            etag: new_etag(),
            created_at: now,
            updated_at: now,
            consecutive_failures: 0,
        };
        apply(&mut hook, &data, now, allow_http)?;
        state.hooks.insert(hook.id, hook.clone());
        // Sent now, so it can reach the receiver before this answer does, as with Clio.
        handshake(&sim, &mut state, &hook);
        Ok(HttpResponse::build(StatusCode::CREATED)
            .json(json!({"data": selection.project(&render(&hook))})))
    })
    .await
}

async fn list(req: HttpRequest, sim: web::Data<Sim>) -> HttpResponse {
    guarded(&sim, &req, "webhooks", |caller| {
        let params = Params::of(&req);
        let selection = selection(&params)?;
        let state = sim.shared().state.lock();
        let items = state
            .hooks
            .values()
            .filter(|h| h.account_id == caller.account_id)
            .map(|h| (h.id, render(h)))
            .collect();
        page(&req, &params, items, &selection, 200)
    })
    .await
}

async fn show(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<i64>) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "webhooks", |caller| {
        let selection = selection(&Params::of(&req))?;
        let state = sim.shared().state.lock();
        match state
            .hooks
            .get(&id)
            .filter(|h| h.account_id == caller.account_id)
        {
            Some(hook) => {
                let full = render(hook);
                Ok(conditional(&req, &full, selection.project(&full)))
            }
            None => Err(not_found()),
        }
    })
    .await
}

async fn update(
    req: HttpRequest,
    sim: web::Data<Sim>,
    path: web::Path<i64>,
    body: web::Bytes,
) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "webhooks", |caller| {
        let selection = selection(&Params::of(&req))?;
        let Some(data) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        let allow_http = sim.config().allow_http_webhooks;
        let mut state = sim.shared().state.lock();
        let now = state.now();
        let Some(mut hook) = state
            .hooks
            .get(&id)
            .filter(|h| h.account_id == caller.account_id)
            .cloned()
        else {
            return Err(not_found());
        };
        if let Some(wanted) = req
            .headers()
            .get(header::IF_MATCH)
            .and_then(|v| v.to_str().ok())
        {
            if wanted.trim() != hook.etag {
                return Err(clio_error(
                    StatusCode::PRECONDITION_FAILED,
                    "PreconditionFailed",
                    "The record has changed since it was read",
                ));
            }
        }
        let url_changed = apply(&mut hook, &data, now, allow_http)?;
        hook.etag = new_etag();
        hook.updated_at = now;
        if url_changed {
            // A new URL must prove itself with a new handshake.
            hook.status = "pending".into();
            hook.shared_secret = new_secret();
        }
        state.hooks.insert(id, hook.clone());
        if url_changed {
            handshake(&sim, &mut state, &hook);
        }
        Ok(HttpResponse::Ok().json(json!({"data": selection.project(&render(&hook))})))
    })
    .await
}

async fn remove(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<i64>) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "webhooks", |caller| {
        let mut state = sim.shared().state.lock();
        if state
            .hooks
            .get(&id)
            .is_none_or(|h| h.account_id != caller.account_id)
        {
            return Err(not_found());
        }
        state.hooks.remove(&id);
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

async fn activate(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<i64>) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "webhooks", |caller| {
        let presented = req
            .headers()
            .get("X-Hook-Secret")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let mut state = sim.shared().state.lock();
        let Some(hook) = state
            .hooks
            .get_mut(&id)
            .filter(|h| h.account_id == caller.account_id)
        else {
            return Err(not_found());
        };
        if presented.is_empty() || presented != hook.shared_secret {
            return Err(clio_error(
                StatusCode::FORBIDDEN,
                "ForbiddenError",
                "X-Hook-Secret does not match this webhook",
            ));
        }
        if hook.status == "pending" {
            hook.status = "enabled".into();
        }
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}
