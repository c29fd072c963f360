//! The database: schema, pool, migrations and the embedded default cluster.

pub mod cached;
pub mod embedded;
pub mod models;
pub mod objects;
pub mod queries;
pub mod schema;

use diesel_async::pooled_connection::deadpool::{Hook, HookError, Object, Pool};
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

/// How a pooled connection is checked when it is handed out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Recycle {
    /// The default: a connection unused for [`IDLE_CHECK`] or longer is checked (`SELECT 1`,
    /// within 2 s) before it is handed out, one used more recently is not; a connection a
    /// query found dead is discarded when it comes back, and the first read of every request
    /// (loading its caller) is retried once on a fresh connection. So a busy pool costs nothing
    /// per checkout, and after a PostgreSQL restart no request sees a dead connection.
    #[default]
    Idle,
    /// `SELECT 1` on every checkout (`DB_POOL_RECYCLE=verified`).
    Verified,
    /// No check at all (`DB_POOL_RECYCLE=fast`): a dead connection is found by its next query.
    Fast,
}

/// How long a pooled connection may sit unused before it is checked on checkout.
pub const IDLE_CHECK: Duration = Duration::from_secs(5);

/// Builds a sized pool with a wait timeout; every new connection gets the session limits.
pub fn build_pool(
    url: &str,
    size: usize,
    wait: Duration,
    limits: SessionLimits,
    recycle: Recycle,
) -> anyhow::Result<DbPool> {
    use diesel_async::pooled_connection::RecyclingMethod;
    let mut cfg = ManagerConfig::default();
    cfg.recycling_method = match recycle {
        Recycle::Verified => RecyclingMethod::Verified,
        // the idle check is the pre-recycle hook below; the manager still drops broken ones
        Recycle::Idle | Recycle::Fast => RecyclingMethod::Fast,
    };
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
    let mut builder = Pool::builder(manager);
    if recycle == Recycle::Idle {
        builder = builder.pre_recycle(Hook::async_fn(|conn: &mut AsyncPgConnection, metrics| {
            let idle = metrics.last_used();
            Box::pin(async move {
                if idle < IDLE_CHECK {
                    return Ok(());
                }
                let ping = diesel_async::SimpleAsyncConnection::batch_execute(conn, "SELECT 1");
                match tokio::time::timeout(Duration::from_secs(2), ping).await {
                    Ok(Ok(())) => Ok(()),
                    _ => Err(HookError::Message(
                        "an idle connection failed its check".into(),
                    )),
                }
            })
        }));
    }
    let pool = builder
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
