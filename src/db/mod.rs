//! The database: schema, pool, migrations and the embedded default cluster.

pub mod cached;
pub mod embedded;
pub mod models;
pub mod objects;
pub mod queries;
pub mod schema;

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations};
use futures_util::FutureExt;
use std::time::Duration;

/// The migrations under `migrations/`, compiled in.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The connection pool type.
pub type DbPool = Pool<AsyncPgConnection>;
/// A pooled connection.
pub type DbConn = Object<AsyncPgConnection>;

/// Session limits every pooled connection gets, so no request can hold the database hostage.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// `statement_timeout` in ms.
    pub statement_timeout_ms: u64,
    /// `lock_timeout` in ms.
    pub lock_timeout_ms: u64,
    /// `idle_in_transaction_session_timeout` in ms.
    pub idle_in_tx_timeout_ms: u64,
}

/// Builds a sized pool with a wait timeout; every new connection gets the session limits.
/// `recycle_fast` skips the liveness check (`SELECT 1`) deadpool otherwise runs on every checkout.
pub fn build_pool(
    url: &str,
    size: usize,
    wait: Duration,
    limits: SessionLimits,
    recycle_fast: bool,
) -> anyhow::Result<DbPool> {
    let mut cfg = ManagerConfig::default();
    if recycle_fast {
        // no `SELECT 1` on every checkout: a connection that died is found by its next query
        // (one request answers 503) and dropped, instead of being replaced before it is used
        cfg.recycling_method = diesel_async::pooled_connection::RecyclingMethod::Fast;
    }
    cfg.custom_setup = Box::new(move |url| {
        let url = url.to_string();
        async move {
            let mut conn = AsyncPgConnection::establish(&url).await?;
            let sql = format!(
                "SET statement_timeout = {}; SET lock_timeout = {}; \
                 SET idle_in_transaction_session_timeout = {}; SET TIME ZONE 'UTC'; SET jit = off",
                limits.statement_timeout_ms, limits.lock_timeout_ms, limits.idle_in_tx_timeout_ms
            );
            diesel_async::SimpleAsyncConnection::batch_execute(&mut conn, &sql)
                .await
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
            Ok(conn)
        }
        .boxed()
    });
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, cfg);
    let pool = Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(wait))
        .create_timeout(Some(wait))
        .recycle_timeout(Some(Duration::from_secs(2)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?;
    Ok(pool)
}

/// Applies pending migrations under an advisory lock (two processes may start at once).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
    use diesel_migrations::MigrationHarness;
    let url = url.to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        use diesel::connection::SimpleConnection;
        let mut conn =
            <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
        conn.batch_execute("SELECT pg_advisory_lock(7415106)")?;
        let result = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|_| ())
            .map_err(|e| anyhow::anyhow!("migration failed: {e}"));
        conn.batch_execute("SELECT pg_advisory_unlock(7415106)")?;
        result
    })
    .await??;
    Ok(())
}
