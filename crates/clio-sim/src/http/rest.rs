//! Reading records: `who_am_i`, index and show for every kind, and a contact's phone numbers.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use serde_json::Value;

use super::{
    errors::{argument_error, bad_fields, not_found, ApiError, Reply},
    gate::{guarded, Caller},
    paging::{page, since, Params},
};
use crate::{
    render::render,
    schema::Selection,
    state::{Json, Kind},
    Sim,
};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/users/who_am_i.json", web::get().to(who_am_i))
        .route(
            "/contacts/{id:\\d+}/phone_numbers.json",
            web::get().to(phone_numbers),
        )
        .route("/{resource:[a-z_]+}.json", web::get().to(index))
        .route("/{resource:[a-z_]+}/{id:\\d+}.json", web::get().to(show));
}

async fn who_am_i(req: HttpRequest, sim: web::Data<Sim>) -> HttpResponse {
    guarded(&sim, &req, "users", |caller| {
        let params = Params::of(&req);
        let selection = Selection::parse("User", params.get("fields")).map_err(bad_fields)?;
        let state = sim.shared().state.lock();
        match state.live(Kind::User, caller.account_id, caller.user_id) {
            Some(rec) => {
                let full = render(&state, Kind::User, rec, Some(caller.user_id));
                Ok(HttpResponse::Ok().json(serde_json::json!({"data": selection.project(&full)})))
            }
            None => Err(not_found()),
        }
    })
    .await
}

async fn index(req: HttpRequest, sim: web::Data<Sim>, path: web::Path<String>) -> HttpResponse {
    // Authenticated first: an unknown path is a 404 only for a valid token.
    guarded(&sim, &req, &path, |caller| {
        let kind = Kind::from_plural(&path).ok_or_else(not_found)?;
        list(&sim, &req, caller, kind)
    })
    .await
}

fn list(sim: &Sim, req: &HttpRequest, caller: &Caller, kind: Kind) -> Reply {
    let params = Params::of(req);
    let selection = Selection::parse(kind.schema(), params.get("fields")).map_err(bad_fields)?;
    let filter = Filter::from(kind, &params)?;
    let state = sim.shared().state.lock();
    let items: Vec<(i64, Json)> = state
        .table(kind)
        .into_iter()
        .flat_map(|t| t.iter())
        .filter(|(_, r)| r.account_id == caller.account_id && !r.deleted)
        .map(|(id, r)| (*id, render(&state, kind, r, Some(caller.user_id))))
        .filter(|(id, r)| filter.matches(*id, r))
        .collect();
    let max = if kind == Kind::User { 2000 } else { 200 };
    page(req, &params, items, &selection, max)
}

/// The index filters the simulator understands (others are ignored, as unknown ones are by Clio).
struct Filter {
    ids: Option<Vec<i64>>,
    updated_since: Option<chrono::DateTime<chrono::Utc>>,
    created_since: Option<chrono::DateTime<chrono::Utc>>,
    equals: Vec<(&'static str, Value)>,
    statuses: Option<Vec<String>>,
    text: Option<String>,
    client_only: bool,
    /// A communication's contact: one of its senders or receivers.
    party: Option<i64>,
}

impl Filter {
    fn from(kind: Kind, p: &Params) -> Result<Self, ApiError> {
        let mut equals = Vec::new();
        let mut by_id = |param: &'static str, field: &'static str| -> Result<(), ApiError> {
            if let Some(id) = p.int(param)? {
                equals.push((field, serde_json::json!({ "id": id })));
            }
            Ok(())
        };
        match kind {
            Kind::Matter => {
                by_id("client_id", "client")?;
                by_id("responsible_attorney_id", "responsible_attorney")?;
            }
            Kind::Bill => by_id("client_id", "client")?,
            Kind::Note => {
                by_id("contact_id", "contact")?;
                by_id("matter_id", "matter")?;
            }
            Kind::Communication => by_id("matter_id", "matter")?,
            _ => {}
        }
        let mut statuses = None;
        if kind == Kind::Matter {
            if let Some(s) = p.get("status") {
                let list: Vec<String> = s
                    .split(',')
                    .map(|x| x.trim().to_ascii_lowercase())
                    .collect();
                if let Some(bad) = list
                    .iter()
                    .find(|x| !["open", "pending", "closed"].contains(&x.as_str()))
                {
                    return Err(argument_error(format!(
                        "status {bad:?} is not one of open, pending, closed"
                    )));
                }
                statuses = Some(list);
            }
        }
        if kind == Kind::Bill {
            if let Some(s) = p.get("state") {
                equals.push(("state", Value::String(s.to_owned())));
            }
        }
        if kind == Kind::CustomField {
            if let Some(t) = p.get("parent_type") {
                equals.push(("parent_type", Value::String(t.to_owned())));
            }
        }
        if kind == Kind::Note {
            match p.get("type") {
                Some(t @ ("Contact" | "Matter")) => {
                    equals.push(("type", Value::String(t.to_owned())))
                }
                _ => {
                    return Err(argument_error(
                        "type is required and must be Contact or Matter",
                    ))
                }
            }
        }
        Ok(Self {
            ids: p.ids()?,
            updated_since: p.time("updated_since")?,
            created_since: p.time("created_since")?,
            equals,
            statuses,
            text: p
                .get("query")
                .map(|q| q.trim().to_lowercase())
                .filter(|q| !q.is_empty()),
            client_only: kind == Kind::Contact && p.get("client_only") == Some("true"),
            party: if kind == Kind::Communication {
                p.int("contact_id")?
            } else {
                None
            },
        })
    }

    fn matches(&self, id: i64, r: &Json) -> bool {
        if self.ids.as_ref().is_some_and(|ids| !ids.contains(&id)) {
            return false;
        }
        if !since(r, "updated_at", self.updated_since)
            || !since(r, "created_at", self.created_since)
        {
            return false;
        }
        for (field, wanted) in &self.equals {
            let actual = r.get(*field);
            let same = match wanted.get("id") {
                Some(wanted_id) => actual.and_then(|a| a.get("id")) == Some(wanted_id),
                None => actual == Some(wanted),
            };
            if !same {
                return false;
            }
        }
        if let Some(statuses) = &self.statuses {
            let status = r
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !statuses.contains(&status) {
                return false;
            }
        }
        if self.client_only && r.get("is_client") != Some(&Value::Bool(true)) {
            return false;
        }
        if let Some(contact) = self.party {
            let takes_part = ["senders", "receivers"].iter().any(|side| {
                r.get(*side)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|p| {
                        p.get("type").and_then(Value::as_str) == Some("Contact")
                            && p.get("id").and_then(Value::as_i64) == Some(contact)
                    })
            });
            if !takes_part {
                return false;
            }
        }
        if let Some(text) = &self.text {
            // Clio's `query` is a plain text search: it does not normalise phone digits.
            if !Value::Object(r.clone())
                .to_string()
                .to_lowercase()
                .contains(text.as_str())
            {
                return false;
            }
        }
        true
    }
}

async fn show(
    req: HttpRequest,
    sim: web::Data<Sim>,
    path: web::Path<(String, i64)>,
) -> HttpResponse {
    let (resource, id) = path.into_inner();
    guarded(&sim, &req, &resource, |caller| {
        let kind = Kind::from_plural(&resource).ok_or_else(not_found)?;
        let params = Params::of(&req);
        let selection =
            Selection::parse(kind.schema(), params.get("fields")).map_err(bad_fields)?;
        let mut state = sim.shared().state.lock();
        if state.live(kind, caller.account_id, id).is_none() {
            return Err(not_found());
        }
        // A custom action's click is confirmed by reading its subject with the click's nonce.
        if let Some(nonce) = params.get("custom_action_nonce") {
            let now = state.now();
            super::custom_actions::check_nonce(&mut state, caller, nonce, kind, id, now)?;
        }
        let Some(rec) = state.live(kind, caller.account_id, id) else {
            return Err(not_found());
        };
        let full = render(&state, kind, rec, Some(caller.user_id));
        Ok(conditional(&req, &full, selection.project(&full)))
    })
    .await
}

/// Answers 304 when `If-None-Match` names the current etag; otherwise the record with its `ETag`
/// and `Last-Modified`.
pub(crate) fn conditional(req: &HttpRequest, full: &Json, body: Value) -> HttpResponse {
    let etag = full
        .get("etag")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut response = if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"))
    {
        HttpResponse::NotModified().finish()
    } else {
        HttpResponse::Ok().json(serde_json::json!({ "data": body }))
    };
    if let Ok(v) = header::HeaderValue::from_str(&etag) {
        response.headers_mut().insert(header::ETAG, v);
    }
    let modified = full
        .get("updated_at")
        .and_then(Value::as_str)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.to_utc().format("%a, %d %b %Y %H:%M:%S GMT").to_string());
    if let Some(v) = modified.and_then(|m| header::HeaderValue::from_str(&m).ok()) {
        response.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    response
}

async fn phone_numbers(
    req: HttpRequest,
    sim: web::Data<Sim>,
    path: web::Path<i64>,
) -> HttpResponse {
    let contact_id = path.into_inner();
    guarded(&sim, &req, "contacts", |caller| {
        let params = Params::of(&req);
        let selection =
            Selection::parse("PhoneNumber", params.get("fields")).map_err(bad_fields)?;
        let state = sim.shared().state.lock();
        let Some(contact) = state.live(Kind::Contact, caller.account_id, contact_id) else {
            return Err(not_found());
        };
        let items: Vec<(i64, Json)> = contact
            .data
            .get("phone_numbers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get("id")?.as_i64()?, p.as_object()?.clone())))
            .collect();
        page(&req, &params, items, &selection, 200)
    })
    .await
}
