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

/// The HTTP server's pools: one per worker thread, made on its first request, each with its share
/// of the configured size. A connection's driver task runs on the runtime that opened it; with one
/// shared pool a worker drew connections opened on the other worker or on the background runtime,
/// and every statement went to that thread and back (futex and eventfd wake-ups, thread switches).
/// With a pool per worker each statement stays on the thread that sent it.
pub struct WorkerPools {
    make: Box<dyn Fn() -> anyhow::Result<DbPool> + Send + Sync>,
    pools: thread_local::ThreadLocal<DbPool>,
}

impl WorkerPools {
    /// Pools made by `make` on first use in each thread.
    pub fn new(make: impl Fn() -> anyhow::Result<DbPool> + Send + Sync + 'static) -> Self {
        WorkerPools {
            make: Box::new(make),
            pools: thread_local::ThreadLocal::new(),
        }
    }

    /// The calling thread's pool.
    pub fn get(&self) -> anyhow::Result<&DbPool> {
        self.pools.get_or_try(|| (self.make)())
    }

    /// The pools' status summed: connections open, idle, the most allowed, requests waiting.
    pub fn status(&self) -> deadpool::Status {
        let mut sum = deadpool::Status {
            max_size: 0,
            size: 0,
            available: 0,
            waiting: 0,
        };
        for p in self.pools.iter() {
            let s = p.status();
            sum.max_size += s.max_size;
            sum.size += s.size;
            sum.available += s.available;
            sum.waiting += s.waiting;
        }
        sum
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lazy_pool(size: usize) -> anyhow::Result<DbPool> {
        // nothing connects until a connection is asked for
        build_pool(
            "postgres://nobody@127.0.0.1:1/none",
            size,
            Duration::from_millis(100),
            SessionLimits {
                statement_timeout_ms: 1_000,
                lock_timeout_ms: 1_000,
                idle_in_tx_timeout_ms: 1_000,
            },
            Recycle::Idle,
        )
    }

    #[tokio::test]
    async fn each_thread_draws_from_its_own_pool_and_the_status_sums_them() -> anyhow::Result<()> {
        let pools = std::sync::Arc::new(WorkerPools::new(|| lazy_pool(4)));
        let here = pools.get()? as *const DbPool as usize;
        assert_eq!(
            here,
            pools.get()? as *const DbPool as usize,
            "the same pool"
        );
        let p = pools.clone();
        let there = std::thread::spawn(move || p.get().map(|p| p as *const DbPool as usize))
            .join()
            .map_err(|_| anyhow::anyhow!("thread"))??;
        assert_ne!(here, there, "another thread, another pool");
        assert_eq!(pools.status().max_size, 8, "two pools of 4");
        Ok(())
    }
}
