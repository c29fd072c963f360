//! The HTTP layer: app factory, routes, extractors and problem+json errors.

pub mod caller;
pub mod client_addr;
pub mod error;
pub mod extract;
pub mod openapi;
pub mod prometheus;
pub mod report_table;
pub mod routes;
pub mod upload;

pub mod api;
pub mod console;

use actix_web::{dev::Service, web, App, HttpResponse};
use std::time::Instant;

use crate::auth::tokens::TokenKeys;
use crate::db::{DbConn, DbPool};
use crate::domain::pii::PiiCipher;
use error::{AppError, AppResult};

/// What every handler can reach.
pub struct AppState {
    /// The database pool of the background tasks (sweeper, webhook worker) and the tools.
    pub pool: DbPool,
    /// The requests' pools: one per HTTP worker thread (`db::WorkerPools`).
    pub http_pools: crate::db::WorkerPools,
    /// Access-token keys.
    pub tokens: TokenKeys,
    /// Personal-data cipher.
    pub pii: PiiCipher,
    /// Refresh-token lifetime in seconds.
    pub refresh_ttl_secs: i64,
    /// `TRUSTED_PROXIES`: peers whose `X-Forwarded-For` names the client address.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `WEBHOOK_ALLOW_PRIVATE`: webhooks may target private addresses.
    pub webhook_allow_private: bool,
    /// The console's sessions.
    pub console: console::Settings,
    /// Where attachments are kept.
    pub objects: std::sync::Arc<crate::service::attachments::Objects>,
}

impl AppState {
    /// A pooled connection, or 503 when the database cannot give one in time.
    pub async fn conn(&self) -> AppResult<DbConn> {
        let asked = Instant::now();
        let pool = self
            .http_pools
            .get()
            .map_err(|e| AppError::Unavailable(format!("database pool: {e}")))?;
        let conn = pool.get().await;
        ::metrics::histogram!("zhucan_db_pool_wait_seconds").record(asked.elapsed().as_secs_f64());
        conn.map_err(AppError::from)
    }

    /// Runs a read on a pooled connection, once more on a fresh one when the first connection
    /// turns out dead (PostgreSQL restarted since it was last used): the connection that
    /// answered is returned with the result, for the rest of the request to use.
    pub async fn read_with_retry<T>(
        &self,
        read: impl AsyncFn(&mut DbConn) -> AppResult<T>,
    ) -> AppResult<(T, DbConn)> {
        let mut conn = self.conn().await?;
        match read(&mut conn).await {
            Err(AppError::Unavailable(_)) => {
                // the broken connection is dropped (the pool discards it on return)
                drop(conn);
                let mut fresh = self.conn().await?;
                let value = read(&mut fresh).await?;
                Ok((value, fresh))
            }
            other => Ok((other?, conn)),
        }
    }
}

/// The connection a request's extractor used (to load its caller), held for its handler: one
/// pool checkout per request.
#[derive(Default)]
pub struct Held(std::sync::Mutex<Option<DbConn>>);

impl Held {
    /// Holds a connection.
    pub fn new(conn: DbConn) -> Held {
        Held(std::sync::Mutex::new(Some(conn)))
    }

    /// The held connection (the first time), else a pooled one.
    pub async fn take(&self, state: &AppState) -> AppResult<DbConn> {
        let held = self.0.lock().ok().and_then(|mut c| c.take());
        match held {
            Some(c) => Ok(c),
            None => state.conn().await,
        }
    }
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
    prometheus::install();
    App::new()
        .app_data(state)
        .app_data(web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()))
        .wrap_fn(move |req, srv| {
            let started = Instant::now();
            // the access log names the method and the path, never the query string (a lookup
            // by ID number carries it there) nor a body; the metrics name the route's pattern,
            // which the routed resource carries (`routes::RouteLabel`)
            let method = req.method().clone();
            let path = req.path().to_string();
            let fut = srv.call(req);
            async move {
                let res = fut.await?;
                let elapsed = started.elapsed();
                let status = res.status().as_u16();
                let route = res
                    .request()
                    .app_data::<routes::RouteLabel>()
                    .map_or("unrouted", |r| r.0);
                let labels = [
                    ("method", method_label(&method)),
                    ("route", route),
                    ("status", status_class(status)),
                ];
                ::metrics::counter!("zhucan_http_requests_total", &labels).increment(1);
                ::metrics::histogram!("zhucan_http_request_duration_seconds", &labels[..2])
                    .record(elapsed.as_secs_f64());
                tracing::info!(
                    target: "zhucan::access",
                    %method,
                    path = %path,
                    status,
                    ms = elapsed.as_secs_f64() * 1000.0,
                    "request"
                );
                Ok(res)
            }
        })
        .configure(routes::configure)
        .configure(console::configure)
        .default_service(web::to(|req: actix_web::HttpRequest| async move {
            let refusal = unrouted(req.path());
            if matches!(refusal, AppError::NotFound) && console::wants_page(&req) {
                return Ok(console::not_found());
            }
            Err::<HttpResponse, _>(refusal)
        }))
}

/// A method as a metric label, without an allocation for the methods the routes serve.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A status as its class for the metrics (`2xx` … `5xx`).
fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

/// What an unrouted request gets: 405 with `Allow` when the path is served with other methods
/// (by the API or the console), else 404.
pub fn unrouted(path: &str) -> AppError {
    let methods: Vec<String> = routes::ROUTE_TABLE
        .iter()
        .chain(console::ROUTES)
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

#[cfg(test)]
mod tests {
    #[test]
    fn metric_labels_are_the_method_and_the_status_class() {
        use actix_web::http::Method;
        assert_eq!(super::method_label(&Method::PATCH), "PATCH");
        assert_eq!(
            super::method_label(&Method::from_bytes(b"PROPFIND").expect("a method")),
            "other"
        );
        assert_eq!(super::status_class(201), "2xx");
        assert_eq!(super::status_class(412), "4xx");
        assert_eq!(super::status_class(503), "5xx");
    }
}
