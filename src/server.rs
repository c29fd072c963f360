//! Starting the service: database (given or embedded), migrations, state, HTTP server.

use actix_web::{web, HttpServer};
use std::net::TcpListener;

use crate::auth::tokens::TokenKeys;
use crate::config::Config;
use crate::db::{self, DbPool, SessionLimits};
use crate::http::AppState;
use secrecy::ExposeSecret;

/// How many HTTP worker threads `serve` runs: one per core, as actix's own default.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Builds the shared state from configuration, the database's URL and the background tasks'
/// pool (opening the attachments' store). Requests draw from a pool per HTTP worker thread, each
/// `DB_POOL_SIZE / workers` (rounded up) connections, made on the worker's first request; pass
/// `start` the same `workers`, so that together they hold `DB_POOL_SIZE`.
pub fn state(
    config: &Config,
    url: &str,
    pool: DbPool,
    workers: usize,
) -> anyhow::Result<web::Data<AppState>> {
    let share = config.pool_size.div_ceil(workers.max(1)).max(1);
    let (wait, limits, recycle) = (config.pool_wait, limits(config), config.pool_recycle);
    let url = url.to_string();
    Ok(web::Data::new(AppState {
        pool,
        http_pools: db::WorkerPools::new(move || {
            db::build_pool(&url, share, wait, limits, recycle)
        }),
        objects: std::sync::Arc::new(crate::db::objects::Objects::open(&config.attachments)?),
        tokens: TokenKeys::new(
            config.jwt_secret.expose_secret().as_bytes(),
            config.access_ttl.as_secs(),
        ),
        pii: config.pii_cipher(),
        refresh_ttl_secs: config.refresh_ttl.as_secs() as i64,
        trusted_proxies: config.trusted_proxies.clone(),
        webhook_allow_private: config.webhooks.allow_private,
        console: crate::http::console::Settings {
            idle: chrono::Duration::from_std(config.console_idle)
                .unwrap_or_else(|_| chrono::Duration::minutes(30)),
            secure_cookie: config.secure_cookie(),
        },
    }))
}

/// The pool for a URL with this configuration's limits.
pub fn pool(config: &Config, url: &str) -> anyhow::Result<DbPool> {
    db::build_pool(
        url,
        config.pool_size,
        config.pool_wait,
        limits(config),
        config.pool_recycle,
    )
}

/// The session limits every pooled connection gets.
fn limits(config: &Config) -> SessionLimits {
    SessionLimits {
        statement_timeout_ms: config.statement_timeout_ms,
        lock_timeout_ms: 5_000,
        idle_in_tx_timeout_ms: 30_000,
    }
}

/// A running server: its address and a handle to stop it.
pub struct Running {
    /// Where it listens.
    pub addr: std::net::SocketAddr,
    /// Stops it.
    pub handle: actix_web::dev::ServerHandle,
    /// Completes when the server stops.
    pub server: actix_web::dev::Server,
}

/// Binds and starts the HTTP server on `listener` (port 0 allowed) with `workers` threads, the
/// count its `state` was built for.
pub fn start(
    state: web::Data<AppState>,
    listener: TcpListener,
    workers: usize,
) -> anyhow::Result<Running> {
    let addr = listener.local_addr()?;
    let server = HttpServer::new(move || crate::http::app(state.clone()))
        .client_request_timeout(std::time::Duration::from_secs(10))
        .shutdown_timeout(20)
        .workers(workers.max(1))
        .listen(listener)?
        .run();
    Ok(Running {
        addr,
        handle: server.handle(),
        server,
    })
}
