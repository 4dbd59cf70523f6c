//! Creating notes and communications: what activity writeback sends.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{
    errors::{argument_error, bad_fields, json_body, ApiError, Reply},
    gate::{guarded, Caller},
    paging::Params,
};
use crate::{
    render::render,
    schema::Selection,
    state::{Json, Kind, State},
    Sim,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/notes.json", web::post().to(create_note))
        .route("/communications.json", web::post().to(create_communication));
}

#[derive(serde::Deserialize)]
struct Body {
    data: Option<Json>,
}

fn text<'a>(d: &'a Json, key: &str) -> Option<&'a str> {
    d.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn reference(
    state: &State,
    caller: &Caller,
    d: &Json,
    key: &str,
    kind: Kind,
) -> Result<Option<i64>, ApiError> {
    let Some(v) = d.get(key).filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let id = v
        .get("id")
        .and_then(Value::as_i64)
        .ok_or_else(|| argument_error(format!("{key} must be {{\"id\": n}}")))?;
    state
        .live(kind, caller.account_id, id)
        .map(|_| Some(id))
        .ok_or_else(|| argument_error(format!("{key} {id} does not exist")))
}

fn created(sim: &Sim, req: &HttpRequest, caller: &Caller, kind: Kind, data: Json) -> Reply {
    let selection =
        Selection::parse(kind.schema(), Params::of(req).get("fields")).map_err(bad_fields)?;
    let written = sim
        .create(kind, caller.account_id, Value::Object(data))
        .map_err(argument_error)?;
    let state = sim.shared().state.lock();
    let Some(rec) = state.live(kind, caller.account_id, written.id) else {
        return Err(argument_error("record vanished"));
    };
    let full = render(&state, kind, rec, Some(caller.user_id));
    Ok(HttpResponse::build(StatusCode::CREATED).json(json!({ "data": selection.project(&full) })))
}

async fn create_note(req: HttpRequest, sim: web::Data<Sim>, body: web::Bytes) -> HttpResponse {
    guarded(&sim, &req, "notes", |caller| {
        let Some(d) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        let parent = match text(&d, "type") {
            Some("Contact") => ("contact", Kind::Contact),
            Some("Matter") => ("matter", Kind::Matter),
            _ => return Err(argument_error("type must be Contact or Matter")),
        };
        let target = {
            let state = sim.shared().state.lock();
            reference(&state, caller, &d, parent.0, parent.1)
        };
        if target?.is_none() {
            let kind = text(&d, "type").unwrap_or_default();
            return Err(argument_error(format!(
                "{} is required for a {kind} note",
                parent.0
            )));
        }
        if text(&d, "subject").is_none() {
            return Err(argument_error("subject is required"));
        }
        if let Some(date) = d.get("date").filter(|v| !v.is_null()) {
            if date
                .as_str()
                .and_then(|s| chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .is_none()
            {
                return Err(argument_error("date must be YYYY-MM-DD"));
            }
        }
        let mut data = Json::new();
        for key in ["type", "subject", "detail", "date", parent.0] {
            if let Some(v) = d.get(key) {
                data.insert(key.into(), v.clone());
            }
        }
        created(&sim, &req, caller, Kind::Note, data)
    })
    .await
}

async fn create_communication(
    req: HttpRequest,
    sim: web::Data<Sim>,
    body: web::Bytes,
) -> HttpResponse {
    guarded(&sim, &req, "communications", |caller| {
        let Some(d) = json_body::<Body>(&body)?.data else {
            return Err(argument_error("data is required"));
        };
        if !matches!(
            text(&d, "type"),
            Some("PhoneCommunication" | "EmailCommunication")
        ) {
            return Err(argument_error(
                "type must be PhoneCommunication or EmailCommunication",
            ));
        }
        if text(&d, "subject").is_none() {
            return Err(argument_error("subject is required"));
        }
        if let Some(at) = d.get("received_at").filter(|v| !v.is_null()) {
            if at
                .as_str()
                .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
                .is_none()
            {
                return Err(argument_error("received_at must be an ISO-8601 time"));
            }
        }
        {
            let state = sim.shared().state.lock();
            reference(&state, caller, &d, "matter", Kind::Matter)?;
            for side in ["senders", "receivers"] {
                for p in d.get(side).and_then(Value::as_array).into_iter().flatten() {
                    let kind = match p.get("type").and_then(Value::as_str) {
                        Some("User") => Kind::User,
                        Some("Contact") => Kind::Contact,
                        _ => {
                            return Err(argument_error(format!(
                                "{side} must be {{id, type: User|Contact}}"
                            )))
                        }
                    };
                    let exists = p
                        .get("id")
                        .and_then(Value::as_i64)
                        .is_some_and(|id| state.live(kind, caller.account_id, id).is_some());
                    if !exists {
                        return Err(argument_error(format!("{side}: {p} does not exist")));
                    }
                }
            }
        }
        let mut data = Json::new();
        for key in [
            "type",
            "subject",
            "body",
            "received_at",
            "matter",
            "senders",
            "receivers",
        ] {
            if let Some(v) = d.get(key) {
                data.insert(key.into(), v.clone());
            }
        }
        created(&sim, &req, caller, Kind::Communication, data)
    })
    .await
}
