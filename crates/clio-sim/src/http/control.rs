//! `/_sim/...`: the control API for tests, the demo and benchmarks. Unauthenticated by design:
//! the simulator listens on loopback and must never be exposed.

use std::time::Duration;

use actix_web::{http::StatusCode, web, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::errors::{clio_error, ApiError, Reply};
use crate::{seed, ApiFault, ApiOutage, DeliveryFault, Kind, Sim, WriteError};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(
        "/health",
        web::get().to(|| async { HttpResponse::Ok().json(json!({"status": "ok"})) }),
    )
    .route("/seed/demo", web::post().to(seed_demo))
    .route("/demo", web::get().to(demo))
    .route("/accounts", web::post().to(create_account))
    .route("/records/{kind}", web::post().to(create))
    .route("/records/{kind}", web::get().to(records))
    .route("/records/{kind}/{id}", web::patch().to(update))
    .route("/records/{kind}/{id}", web::delete().to(delete))
    .route("/matters/{id}/status", web::post().to(matter_status))
    .route("/bills/{id}/pay", web::post().to(pay_bill))
    .route("/users/{id}/deny", web::post().to(deny))
    .route("/bulk/contacts", web::post().to(bulk_contacts))
    .route("/deliveries", web::get().to(deliveries))
    .route("/webhooks", web::get().to(webhooks))
    .route("/custom-actions", web::get().to(super::custom_actions::all))
    .route(
        "/custom-actions/{id}/click",
        web::post().to(super::custom_actions::click_control),
    )
    .route("/calls", web::get().to(calls))
    .route("/faults", web::post().to(fault))
    .route("/outages", web::post().to(outage))
    .route("/delivery-faults", web::post().to(delivery_fault))
    .route("/clock", web::get().to(clock))
    .route("/clock/advance", web::post().to(advance_clock))
    .route("/config", web::patch().to(configure_sim));
}

fn written(result: Result<impl serde::Serialize, WriteError>) -> Reply {
    match result {
        Ok(w) => Ok(HttpResponse::Ok().json(w)),
        Err(e @ WriteError::NotFound(_)) => Err(clio_error(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            e.to_string(),
        )),
        Err(e @ WriteError::Invalid(_)) => Err(clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ArgumentError",
            e.to_string(),
        )),
    }
}

fn kind(path: &str) -> Result<Kind, ApiError> {
    Kind::from_plural(path).ok_or_else(|| {
        clio_error(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            format!("unknown kind {path}"),
        )
    })
}

async fn seed_demo(sim: web::Data<Sim>) -> Reply {
    written(seed::demo_firm(&sim))
}

async fn demo(sim: web::Data<Sim>) -> Reply {
    let firm = sim.shared().state.lock().demo.clone();
    let firm = firm.ok_or_else(|| {
        clio_error(
            StatusCode::NOT_FOUND,
            "NotFoundError",
            "the demo firm is not seeded",
        )
    })?;
    Ok(HttpResponse::Ok().json(firm))
}

#[derive(Deserialize)]
struct NewAccount {
    name: String,
}

async fn create_account(sim: web::Data<Sim>, body: web::Json<NewAccount>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"id": sim.create_account(&body.name)}))
}

async fn create(sim: web::Data<Sim>, path: web::Path<String>, body: web::Json<Value>) -> Reply {
    let kind = kind(&path)?;
    let mut input = body.into_inner();
    let Some(account_id) = input
        .as_object_mut()
        .and_then(|m| m.remove("account_id"))
        .and_then(|v| v.as_i64())
    else {
        return Err(clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ArgumentError",
            "account_id is required",
        ));
    };
    written(sim.create(kind, account_id, input))
}

#[derive(serde::Deserialize)]
struct OfAccount {
    account_id: i64,
}

/// `GET /_sim/records/{kind}?account_id=`: every live record of the kind the account has, as
/// stored (to see, say, the notes activity writeback left).
async fn records(
    sim: web::Data<Sim>,
    path: web::Path<String>,
    query: web::Query<OfAccount>,
) -> Reply {
    let kind = kind(&path)?;
    let all: Vec<Value> = sim
        .records(kind, query.account_id)
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "data": all })))
}

async fn update(
    sim: web::Data<Sim>,
    path: web::Path<(String, i64)>,
    body: web::Json<Value>,
) -> Reply {
    let (k, id) = path.into_inner();
    written(sim.update(kind(&k)?, id, body.into_inner()))
}

async fn delete(sim: web::Data<Sim>, path: web::Path<(String, i64)>) -> Reply {
    let (k, id) = path.into_inner();
    written(sim.delete(kind(&k)?, id).map(|()| json!({"deleted": id})))
}

#[derive(Deserialize)]
struct Status {
    status: String,
}

async fn matter_status(
    sim: web::Data<Sim>,
    path: web::Path<i64>,
    body: web::Json<Status>,
) -> Reply {
    written(sim.set_matter_status(path.into_inner(), &body.status))
}

async fn pay_bill(sim: web::Data<Sim>, path: web::Path<i64>) -> Reply {
    written(sim.pay_bill(path.into_inner()))
}

#[derive(Deserialize)]
struct Deny {
    resources: Vec<String>,
}

async fn deny(sim: web::Data<Sim>, path: web::Path<i64>, body: web::Json<Deny>) -> HttpResponse {
    let resources: Vec<&str> = body.resources.iter().map(String::as_str).collect();
    sim.deny(path.into_inner(), &resources);
    HttpResponse::NoContent().finish()
}

#[derive(Deserialize)]
struct Bulk {
    account_id: i64,
    count: usize,
}

async fn bulk_contacts(sim: web::Data<Sim>, body: web::Json<Bulk>) -> Reply {
    written(
        seed::bulk_contacts(&sim, body.account_id, body.count)
            .map(|ids| json!({"created": ids.len()})),
    )
}

async fn deliveries(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.deliveries())
}

async fn webhooks(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.webhooks())
}

async fn calls(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(sim.calls())
}

async fn fault(sim: web::Data<Sim>, body: web::Json<ApiFault>) -> HttpResponse {
    sim.inject_fault(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn outage(sim: web::Data<Sim>, body: web::Json<ApiOutage>) -> HttpResponse {
    sim.inject_outage(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn delivery_fault(sim: web::Data<Sim>, body: web::Json<DeliveryFault>) -> HttpResponse {
    sim.inject_delivery_fault(body.into_inner());
    HttpResponse::NoContent().finish()
}

async fn clock(sim: web::Data<Sim>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"now": sim.now().to_rfc3339()}))
}

#[derive(Deserialize)]
struct Advance {
    seconds: u64,
}

/// Ten years: far beyond any expiry the simulator models, and far from chrono's limits.
const MAX_SECONDS: u64 = 10 * 365 * 24 * 3600;

fn at_most(value: Option<u64>, max: u64, name: &str) -> Result<(), ApiError> {
    match value {
        Some(v) if v > max => Err(clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ArgumentError",
            format!("{name} must be at most {max}"),
        )),
        _ => Ok(()),
    }
}

async fn advance_clock(sim: web::Data<Sim>, body: web::Json<Advance>) -> Reply {
    at_most(Some(body.seconds), MAX_SECONDS, "seconds")?;
    sim.advance_clock(Duration::from_secs(body.seconds));
    Ok(HttpResponse::Ok().json(json!({"now": sim.now().to_rfc3339()})))
}

#[derive(Deserialize)]
struct ConfigChange {
    rate_limit: Option<u32>,
    rate_window_secs: Option<u64>,
    token_expires_in_secs: Option<u64>,
    retry_scale: Option<f64>,
    omit_refresh_token_on_refresh: Option<bool>,
}

async fn configure_sim(sim: web::Data<Sim>, body: web::Json<ConfigChange>) -> Reply {
    let change = body.into_inner();
    at_most(change.rate_window_secs, 24 * 3600, "rate_window_secs")?;
    at_most(
        change.token_expires_in_secs,
        MAX_SECONDS,
        "token_expires_in_secs",
    )?;
    if change
        .retry_scale
        .is_some_and(|s| !s.is_finite() || !(0.0..=1000.0).contains(&s))
    {
        return Err(clio_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "ArgumentError",
            "retry_scale must be between 0 and 1000",
        ));
    }
    sim.configure(|c| {
        if let Some(v) = change.rate_limit {
            c.rate_limit = v;
        }
        if let Some(v) = change.rate_window_secs {
            c.rate_window = Duration::from_secs(v.max(1));
        }
        if let Some(v) = change.token_expires_in_secs {
            c.token_expires_in = Duration::from_secs(v);
        }
        if let Some(v) = change.retry_scale {
            c.retry_scale = v;
        }
        if let Some(v) = change.omit_refresh_token_on_refresh {
            c.omit_refresh_token_on_refresh = v;
        }
    });
    Ok(HttpResponse::NoContent().finish())
}
