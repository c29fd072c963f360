//! The HTTP layer: app factory, routes, extractors and problem+json errors.

pub mod caller;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod routes;

pub mod api;

use actix_web::{dev::Service, web, App, HttpResponse};
use std::sync::Arc;
use std::time::Instant;

use crate::auth::tokens::TokenKeys;
use crate::db::{DbConn, DbPool};
use crate::domain::pii::PiiCipher;
use error::{AppError, AppResult};

/// What every handler can reach.
pub struct AppState {
    /// The database pool.
    pub pool: DbPool,
    /// Access-token keys.
    pub tokens: TokenKeys,
    /// Personal-data cipher.
    pub pii: PiiCipher,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// Request counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `WEBHOOK_ALLOW_PRIVATE`: webhooks may target private addresses.
    pub webhook_allow_private: bool,
}

impl AppState {
    /// A pooled connection, or 503 when the database cannot give one in time.
    pub async fn conn(&self) -> AppResult<DbConn> {
        self.pool.get().await.map_err(AppError::from)
    }
}

/// Prometheus counters kept in process.
#[derive(Default)]
pub struct Metrics {
    /// Requests by status class (index 1..=5).
    pub responses: [std::sync::atomic::AtomicU64; 6],
    /// Sum of request durations in microseconds.
    pub duration_us: std::sync::atomic::AtomicU64,
    /// Requests answered.
    pub requests: std::sync::atomic::AtomicU64,
}

/// Builds the actix application with every route, limit and error mapping.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let metrics = state.metrics.clone();
    App::new()
        .app_data(state)
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .wrap_fn(move |req, srv| {
            let started = Instant::now();
            let metrics = metrics.clone();
            // the access log names the method and the path, never the query string (a lookup
            // by ID number carries it there) nor a body
            let method = req.method().clone();
            let path = req.path().to_string();
            let fut = srv.call(req);
            async move {
                use std::sync::atomic::Ordering::Relaxed;
                let res = fut.await?;
                let class = (res.status().as_u16() / 100) as usize;
                if let Some(c) = metrics.responses.get(class) {
                    c.fetch_add(1, Relaxed);
                }
                metrics.requests.fetch_add(1, Relaxed);
                let elapsed = started.elapsed();
                metrics
                    .duration_us
                    .fetch_add(elapsed.as_micros() as u64, Relaxed);
                tracing::info!(
                    target: "zhucan::access",
                    %method,
                    path = %path,
                    status = res.status().as_u16(),
                    ms = elapsed.as_secs_f64() * 1000.0,
                    "request"
                );
                Ok(res)
            }
        })
        .configure(routes::configure)
        .default_service(web::to(|req: actix_web::HttpRequest| async move {
            Err::<HttpResponse, _>(unrouted(req.path()))
        }))
}

/// What an unrouted request gets: 405 with `Allow` when the path is served with other methods,
/// else 404.
pub fn unrouted(path: &str) -> AppError {
    let methods: Vec<String> = routes::ROUTE_TABLE
        .iter()
        .filter(|(_, pattern)| path_matches(pattern, path))
        .map(|(method, _)| method.to_ascii_uppercase())
        .collect();
    if methods.is_empty() {
        AppError::NotFound
    } else {
        AppError::MethodNotAllowed(methods.join(", "))
    }
}

/// Whether a concrete path fits a route pattern as the router matches it (`{id}`: a UUID).
fn path_matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some("{id}"), Some(g)) if routes::is_id_segment(g) => {}
            (Some(w), Some(g)) if w.starts_with('{') && w != "{id}" && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}
