//! `/api/v4/custom_actions`: create, list, show, patch, delete. A click (`/_sim/custom-actions/
//! {id}/click`) mints the single-use nonce that [`check_nonce`] later accepts once.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use rand::{distributions::Alphanumeric, Rng};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{
    errors::{argument_error, bad_fields, clio_error, json_body, not_found, ApiError},
    gate::{guarded, Caller},
    paging::{page, Params},
    rest::conditional,
};
use crate::{
    schema::Selection,
    state::{CustomAction, Json, Kind, Nonce, State},
    Sim, WriteError,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/custom_actions.json", web::get().to(list))
        .route("/custom_actions.json", web::post().to(create))
        .route("/custom_actions/{id:\\d+}.json", web::get().to(show))
        .route("/custom_actions/{id:\\d+}.json", web::patch().to(update))
        .route("/custom_actions/{id:\\d+}.json", web::delete().to(remove));
}

/// How long a click's nonce is accepted (Clio: about a minute).
const NONCE_LIFETIME_SECS: i64 = 60;
const MAX_LABEL_LEN: usize = 255;

/// The kind of record a custom action at `ui_reference` is clicked on; none for activities,
/// documents and folders, which the simulator has no records of.
fn subject_kind(ui_reference: &str) -> Option<Kind> {
    match ui_reference {
        "matters/show" => Some(Kind::Matter),
        "contacts/show" => Some(Kind::Contact),
        _ => None,
    }
}

const UI_REFERENCES: [&str; 5] = [
    "matters/show",
    "contacts/show",
    "activities/show",
    "documents/show",
    "folders/show",
];

#[derive(Deserialize)]
struct Body {
    data: Option<Json>,
}

fn render(action: &CustomAction) -> Json {
    let value = json!({
        "id": action.id, "etag": action.etag, "label": action.label,
        "target_url": action.target_url, "ui_reference": action.ui_reference,
        "created_at": action.created_at.to_rfc3339(), "updated_at": action.updated_at.to_rfc3339(),
    });
    value.as_object().cloned().unwrap_or_default()
}

fn selection(params: &Params) -> Result<Selection, ApiError> {
    Selection::parse("CustomAction", params.get("fields")).map_err(bad_fields)
}

fn random(len: usize) -> String {
    rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

fn new_etag() -> String {
    format!("\"{}\"", hex::encode(rand::thread_rng().gen::<[u8; 16]>()))
}

/// Checks and applies the settable attributes.
fn apply(action: &mut CustomAction, data: &Json) -> Result<(), ApiError> {
    if let Some(label) = data.get("label") {
        let label = label
            .as_str()
            .map(str::trim)
            .filter(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN)
            .ok_or_else(|| argument_error("label must be a non-empty string"))?;
        action.label = label.to_owned();
    }
    if let Some(url) = data.get("target_url") {
        let url = url
            .as_str()
            .ok_or_else(|| argument_error("target_url must be a string"))?;
        let parsed = url::Url::parse(url)
            .map_err(|_| argument_error(format!("'{url}' is not a valid url")))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(argument_error("target_url must be an http(s) URL"));
        }
        action.target_url = url.to_owned();
    }
    if let Some(reference) = data.get("ui_reference") {
        let reference = reference
            .as_str()
            .filter(|r| UI_REFERENCES.contains(r))
            .ok_or_else(|| {
                argument_error(format!(
                    "ui_reference must be one of {}",
                    UI_REFERENCES.join(", ")
                ))
            })?;
        action.ui_reference = reference.to_owned();
    }
    Ok(())
}

fn owned<'a>(state: &'a State, caller: &Caller, id: i64) -> Result<&'a CustomAction, ApiError> {
    state
        .custom_actions
        .get(&id)
        .filter(|a| a.account_id == caller.account_id)
        .ok_or_else(not_found)
}

async fn create(req: HttpRequest, sim: web::Data<Sim>, body: web::Bytes) -> HttpResponse {
    guarded(&sim, &req, "custom_actions", |caller| {
        let selection = selection(&Params::of(&req))?;
        let Some(data) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        for required in ["label", "target_url", "ui_reference"] {
            if data.get(required).is_none() {
                return Err(argument_error(format!("{required} is required")));
            }
        }
        let mut state = sim.shared().state.lock();
        let now = state.now();
        let mut action = CustomAction {
            id: state.next_id(),
            account_id: caller.account_id,
            label: String::new(),
            target_url: String::new(),
            ui_reference: String::new(),
            etag: new_etag(),
            created_at: now,
            updated_at: now,
        };
        apply(&mut action, &data)?;
        state.custom_actions.insert(action.id, action.clone());
        Ok(HttpResponse::build(StatusCode::CREATED)
            .json(json!({"data": selection.project(&render(&action))})))
    })
    .await
}

async fn list(req: HttpRequest, sim: web::Data<Sim>) -> HttpResponse {
    guarded(&sim, &req, "custom_actions", |caller| {
        let params = Params::of(&req);
        let selection = selection(&params)?;
        let state = sim.shared().state.lock();
        let items = state
            .custom_actions
            .values()
            .filter(|a| a.account_id == caller.account_id)
            .map(|a| (a.id, render(a)))
            .collect();
        page(&req, &params, items, &selection, 200)
    })
    .await
}

async fn show(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<i64>) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "custom_actions", |caller| {
        let selection = selection(&Params::of(&req))?;
        let state = sim.shared().state.lock();
        let full = render(owned(&state, caller, id)?);
        Ok(conditional(&req, &full, selection.project(&full)))
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
    guarded(&sim, &req, "custom_actions", |caller| {
        let selection = selection(&Params::of(&req))?;
        let Some(data) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        let mut state = sim.shared().state.lock();
        let now = state.now();
        let mut action = owned(&state, caller, id)?.clone();
        apply(&mut action, &data)?;
        action.etag = new_etag();
        action.updated_at = now;
        state.custom_actions.insert(id, action.clone());
        Ok(HttpResponse::Ok().json(json!({"data": selection.project(&render(&action))})))
    })
    .await
}

async fn remove(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<i64>) -> HttpResponse {
    let id = path.into_inner();
    guarded(&sim, &req, "custom_actions", |caller| {
        let mut state = sim.shared().state.lock();
        owned(&state, caller, id)?;
        state.custom_actions.remove(&id);
        Ok(HttpResponse::NoContent().finish())
    })
    .await
}

/// A user clicks custom action `action_id` on record `subject_id`: the URL Clio would send their
/// browser to, carrying a fresh single-use nonce.
pub(crate) fn click(
    state: &mut State,
    action_id: i64,
    user_id: i64,
    subject_id: i64,
) -> Result<String, WriteError> {
    let action = state
        .custom_actions
        .get(&action_id)
        .cloned()
        .ok_or_else(|| WriteError::NotFound(format!("custom action {action_id}")))?;
    if state.user_account(user_id) != Some(action.account_id) {
        return Err(WriteError::NotFound(format!(
            "user {user_id} in the action's account"
        )));
    }
    let kind = subject_kind(&action.ui_reference).ok_or_else(|| {
        WriteError::Invalid(format!(
            "the simulator cannot click on {}",
            action.ui_reference
        ))
    })?;
    if state.live(kind, action.account_id, subject_id).is_none() {
        return Err(WriteError::NotFound(format!(
            "{} {subject_id}",
            kind.plural()
        )));
    }
    let nonce = random(32);
    let expires_at = state.now() + chrono::Duration::seconds(NONCE_LIFETIME_SECS);
    state.nonces.insert(
        nonce.clone(),
        Nonce {
            user_id,
            kind,
            record_id: subject_id,
            expires_at,
            used: false,
        },
    );
    let mut url = url::Url::parse(&action.target_url)
        .map_err(|e| WriteError::Invalid(format!("target_url: {e}")))?;
    url.query_pairs_mut()
        .append_pair("custom_action_id", &action_id.to_string())
        .append_pair("user_id", &user_id.to_string())
        .append_pair(
            "subject_url",
            &format!("/api/v4/{}/{subject_id}", kind.plural()),
        )
        .append_pair("custom_action_nonce", &nonce);
    Ok(url.into())
}

/// A read that presents a click's nonce: accepted once, by the user who clicked, for the record
/// clicked on, within its lifetime. Anything else is Clio's 403.
pub(crate) fn check_nonce(
    state: &mut State,
    caller: &Caller,
    nonce: &str,
    kind: Kind,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let forbidden = || {
        clio_error(
            StatusCode::FORBIDDEN,
            "ForbiddenError",
            "The custom action nonce is invalid, expired or already used",
        )
    };
    let entry = state.nonces.get_mut(nonce).ok_or_else(forbidden)?;
    let valid = !entry.used
        && entry.expires_at > now
        && entry.user_id == caller.user_id
        && entry.kind == kind
        && entry.record_id == id;
    if !valid {
        return Err(forbidden());
    }
    entry.used = true;
    Ok(())
}

/// The click control's body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Click {
    user_id: i64,
    subject_id: i64,
}

/// `POST /_sim/custom-actions/{id}/click {user_id, subject_id}` → `{"url": ...}`.
pub(crate) async fn click_control(
    sim: web::Data<Sim>,
    path: web::Path<i64>,
    body: web::Json<Click>,
) -> HttpResponse {
    match sim.click_custom_action(path.into_inner(), body.user_id, body.subject_id) {
        Ok(url) => HttpResponse::Ok().json(json!({ "url": url })),
        Err(e @ WriteError::NotFound(_)) => {
            HttpResponse::NotFound().json(json!({"error": e.to_string()}))
        }
        Err(e) => HttpResponse::UnprocessableEntity().json(json!({"error": e.to_string()})),
    }
}

/// `GET /_sim/custom-actions`: every custom action of every account.
pub(crate) async fn all(sim: web::Data<Sim>) -> HttpResponse {
    let actions: Vec<Value> = sim
        .custom_actions()
        .iter()
        .map(|a| Value::Object(render(a)))
        .collect();
    HttpResponse::Ok().json(actions)
}
