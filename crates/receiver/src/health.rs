//! Liveness, readiness and metrics.

use actix_web::{web, HttpResponse};
use diesel_async::RunQueryDsl;

use crate::AppState;

/// The process is up.
pub(crate) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The broker and the database are reachable.
pub(crate) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let broker = state.deps.broker.status().connected();
    let database = match state.deps.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1")
            .execute(&mut conn)
            .await
            .is_ok(),
        Err(_) => false,
    };
    let body = serde_json::json!({"broker": broker, "database": database});
    if broker && database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus metrics.
pub(crate) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}
