//! Liveness, readiness, metrics and the API document.

use actix_web::{web, HttpResponse};

use crate::http::error::AppResult;
use crate::http::AppState;

/// `GET /healthz`: the process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "the process is up")))]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: the database answers.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "the database is unavailable", body = crate::http::error::Problem)))]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    crate::service::health::ready(&mut conn).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready"})))
}

/// `GET /metrics`: Prometheus text.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::http::prometheus::render(state.http_pools.status()))
}

/// `GET /api/v1/openapi.json`: the OpenAPI 3 document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops", responses((status = 200, description = "the OpenAPI document")))]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(crate::http::openapi::document())
}

/// `GET /docs`: a readable page over the OpenAPI document (self-contained, no CDN).
#[utoipa::path(get, path = "/docs", tag = "ops", responses((status = 200, description = "API documentation", content_type = "text/html")))]
pub async fn docs() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../../../docs/api.html"))
}
