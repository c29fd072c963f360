//! Liveness, readiness, metrics and the API document.

use actix_web::{web, HttpResponse};
use std::sync::atomic::Ordering::Relaxed;

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
        .body(prometheus_text(&state))
}

/// The counters and the pool's gauges in the Prometheus text format.
fn prometheus_text(state: &AppState) -> String {
    let m = &state.metrics;
    let pool = state.pool.status();
    let mut out = String::new();
    out.push_str("# HELP zhucan_http_requests_total Requests answered.\n# TYPE zhucan_http_requests_total counter\n");
    for (class, c) in m.responses.iter().enumerate().skip(1) {
        out.push_str(&format!(
            "zhucan_http_requests_total{{class=\"{class}xx\"}} {}\n",
            c.load(Relaxed)
        ));
    }
    out.push_str("# HELP zhucan_http_request_duration_seconds_sum Time spent answering.\n# TYPE zhucan_http_request_duration_seconds_sum counter\n");
    out.push_str(&format!(
        "zhucan_http_request_duration_seconds_sum {}\n",
        m.duration_us.load(Relaxed) as f64 / 1e6
    ));
    out.push_str("# HELP zhucan_db_pool_connections Pooled connections.\n# TYPE zhucan_db_pool_connections gauge\n");
    out.push_str(&format!(
        "zhucan_db_pool_connections{{state=\"size\"}} {}\n",
        pool.size
    ));
    out.push_str(&format!(
        "zhucan_db_pool_connections{{state=\"available\"}} {}\n",
        pool.available
    ));
    out.push_str(&format!(
        "zhucan_db_pool_connections{{state=\"max\"}} {}\n",
        pool.max_size
    ));
    out.push_str(&format!("zhucan_db_pool_waiting {}\n", pool.waiting));
    out
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
