//! The command line: serve, migrate, seed, create-user.

use clap::{Parser, Subcommand};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use std::process::ExitCode;

use crate::config::Config;
use crate::db::embedded::EmbeddedPg;

/// zhucan (助残): disability-assistance case management.
#[derive(Parser, Debug)]
#[command(name = "zhucan", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the API (on the embedded default database when DATABASE_URL is unset).
    Serve,
    /// Apply pending migrations to DATABASE_URL and exit.
    Migrate,
    /// Fill the database with data.
    Seed {
        /// The demo city: Zoucheng with its 16 towns and 614 villages.
        #[arg(long)]
        demo: bool,
        /// A synthetic deployment for load and scale work (bulk-loaded with COPY).
        #[arg(long, conflicts_with = "demo")]
        synthetic: bool,
        /// Synthetic: cities.
        #[arg(long, default_value_t = 1)]
        cities: usize,
        /// Synthetic: persons in all.
        #[arg(long, default_value_t = 60_000)]
        persons: usize,
        /// Synthetic: needs per person.
        #[arg(long, default_value_t = 1.0)]
        needs_per_person: f64,
        /// Synthetic: persons per village.
        #[arg(long, default_value_t = 100)]
        persons_per_village: usize,
    },
    /// One SLA pass: auto-escalate overdue social needs, mark other overdue needs, hand over city
    /// needs (and delete the sign-in limits' expired counts and the attachment objects no row
    /// names, older than ATTACHMENTS_ORPHAN_GRACE_SECS).
    Sweep,
    /// Walk the history and ledger hash chains and read every attachment object; non-zero exit
    /// naming what was altered or lost.
    Verify,
    /// Re-encrypt personal data under PII_KEY (the new key), reading PII_KEY_PREVIOUS (the old).
    RotatePiiKey,
    /// Create a user.
    CreateUser {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Role (admin, association_staff, president, town_staff, department_officer, village_staff, site_staff, auditor).
        #[arg(long)]
        role: String,
        /// Organisation id (omit for a deployment admin).
        #[arg(long)]
        organization_id: Option<uuid::Uuid>,
        /// Display name (default: the username).
        #[arg(long)]
        display_name: Option<String>,
        /// Password (or ZHUCAN_PASSWORD in the environment).
        #[arg(long, env = "ZHUCAN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zhucan: {e:#}");
            return ExitCode::from(2);
        }
    };
    // held to the end of main: dropping it writes out the lines still queued
    let _log_writer = init_tracing(config.log_json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zhucan: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("zhucan: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stdout through a writer thread: a request never waits on the `write` of its access
/// log line (nor on a slow reader of stdout), and under load the thread writes many lines per
/// call. Nothing is dropped: when 128k lines are queued, logging waits. The returned guard writes
/// out what is queued when dropped.
fn init_tracing(json: bool) -> tracing_appender::non_blocking::WorkerGuard {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .thread_name("zhucan-log")
        .finish(LineBatches::new(std::io::stdout()));
    // colour codes only for a person at a terminal: a log file or a collector gets plain text
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(writer);
    if json {
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
    guard
}

/// Collects the lines the log thread hands over and writes them out on `flush`, which the thread
/// calls whenever its queue runs empty: one `write` for a burst of lines, at once when idle.
struct LineBatches<W: std::io::Write> {
    out: W,
    buffered: Vec<u8>,
}

impl<W: std::io::Write> LineBatches<W> {
    fn new(out: W) -> Self {
        LineBatches {
            out,
            buffered: Vec::with_capacity(64 * 1024),
        }
    }
}

impl<W: std::io::Write> std::io::Write for LineBatches<W> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        self.buffered.extend_from_slice(line);
        if self.buffered.len() >= 64 * 1024 {
            self.flush()?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.buffered.is_empty() {
            self.out.write_all(&self.buffered)?;
            self.buffered.clear();
        }
        self.out.flush()
    }
}

fn database_url(config: &Config) -> anyhow::Result<String> {
    config.database_url.clone().ok_or_else(|| {
        anyhow::anyhow!(
            "DATABASE_URL is not set (only `zhucan serve` runs on the embedded default)"
        )
    })
}

async fn run(cli: Cli, config: Config) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve => serve(config).await.map(|_| ExitCode::SUCCESS),
        Command::Migrate => {
            let url = database_url(&config)?;
            crate::db::migrate(&url).await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Seed {
            demo,
            synthetic,
            cities,
            persons,
            needs_per_person,
            persons_per_village,
        } => {
            if !demo && !synthetic {
                anyhow::bail!("say what to seed: --demo or --synthetic");
            }
            if config.production {
                anyhow::bail!("seeding is refused when APP_ENV=production");
            }
            let url = database_url(&config)?;
            crate::db::migrate(&url).await?;
            if synthetic {
                if cities == 0 || persons < cities {
                    anyhow::bail!("--cities must be at least 1 and --persons at least --cities");
                }
                let pii = config.pii_cipher();
                let hash =
                    crate::auth::password::hash_blocking(&crate::tools::seed::demo_password())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                let params = crate::tools::synthetic::Params {
                    cities,
                    persons,
                    needs_per_person,
                    persons_per_village,
                };
                let summary = crate::tools::synthetic::run(&url, params, &pii, &hash).await?;
                let rows: usize = summary.rows.iter().map(|r| r.1).sum();
                println!(
                    "synthetic deployment loaded: {rows} rows in {:.1}s",
                    summary.seconds
                );
                return Ok(ExitCode::SUCCESS);
            }
            let mut conn = AsyncPgConnection::establish(&url).await?;
            let summary = crate::tools::seed::demo(&mut conn, &config).await?;
            println!("{summary}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sweep => {
            let url = database_url(&config)?;
            crate::db::migrate(&url).await?;
            let mut conn = AsyncPgConnection::establish(&url).await?;
            crate::db::queries::login_limits::prune(&mut conn).await?;
            crate::db::queries::reports::merge_needs_daily(&mut conn).await?;
            let report = crate::service::sweep::sweep(&mut conn)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let store = crate::db::objects::Objects::open(&config.attachments)?;
            let orphans = store.sweep(&mut conn, chrono::Utc::now()).await?;
            println!(
                "sweep: {} auto-escalated, {} marked overdue, {} handed over, {} orphaned attachment objects deleted",
                report.auto_escalated, report.breached, report.handovers, orphans
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::RotatePiiKey => {
            if config.pii_key_previous.is_none() {
                anyhow::bail!("set PII_KEY to the new key and PII_KEY_PREVIOUS to the old one (and restart the servers with both) first");
            }
            let url = database_url(&config)?;
            let mut conn = AsyncPgConnection::establish(&url).await?;
            let (rotated, current) =
                crate::tools::rotate_pii_key::rotate(&mut conn, &config.pii_cipher()).await?;
            println!("rotate-pii-key: {rotated} re-encrypted, {current} already under the new key; PII_KEY_PREVIOUS may now be removed");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify => {
            let url = database_url(&config)?;
            let mut conn = AsyncPgConnection::establish(&url).await?;
            let mut report = crate::tools::verify::run(&mut conn).await?;
            let store = crate::db::objects::Objects::open(&config.attachments)?;
            crate::tools::verify::objects(&mut conn, &store, &mut report).await?;
            println!(
                "verify: {} needs, {} events, {} ledger rows, {} attachment objects checked",
                report.needs, report.events, report.ledger_rows, report.objects
            );
            if report.problems.is_empty() {
                println!("verify: every chain is intact");
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &report.problems {
                    println!("ALTERED: {p}");
                }
                println!("verify: {} problems", report.problems.len());
                Ok(ExitCode::from(3))
            }
        }
        Command::CreateUser {
            username,
            role,
            organization_id,
            display_name,
            password,
        } => {
            let url = database_url(&config)?;
            crate::db::migrate(&url).await?;
            let mut conn = AsyncPgConnection::establish(&url).await?;
            let id = crate::tools::seed::create_user(
                &mut conn,
                &username,
                display_name.as_deref().unwrap_or(&username),
                &role,
                organization_id,
                &password,
            )
            .await?;
            println!("created user {username} ({id})");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let mut embedded = None;
    let url = match &config.database_url {
        Some(u) => u.clone(),
        None => {
            tracing::info!(data_dir = %config.data_dir.display(), "DATABASE_URL is unset: starting the embedded PostgreSQL cluster");
            std::fs::create_dir_all(&config.data_dir)?;
            let pg = EmbeddedPg::start(&config.data_dir, 0).await?;
            pg.ensure_database("zhucan").await?;
            let url = pg.url("zhucan");
            embedded = Some(pg);
            url
        }
    };
    crate::db::migrate(&url).await?;
    {
        // phones of rows written before they were hashed become searchable (none: one index probe)
        let mut conn = AsyncPgConnection::establish(&url).await?;
        let filled =
            crate::tools::rotate_pii_key::hash_phones(&mut conn, &config.pii_cipher()).await?;
        if filled > 0 {
            tracing::info!(filled, "hashed the phone numbers of older person rows");
        }
    }
    if embedded.is_some() {
        let mut conn = AsyncPgConnection::establish(&url).await?;
        if !crate::tools::seed::demo_exists(&mut conn).await? {
            println!("first start: seeding the demo city (邹城市) ...");
            let summary = crate::tools::seed::demo(&mut conn, &config).await?;
            println!("{summary}");
        }
    }
    let pool = crate::server::pool(&config, &url)?;
    let workers = crate::server::default_workers();
    let state = crate::server::state(&config, &url, pool, workers)?;
    let listener = std::net::TcpListener::bind(&config.bind_addr)?;
    let sweeper = crate::jobs::sweeper::spawn_sweeper(
        state.pool.clone(),
        state.objects.clone(),
        config.sweep_interval,
    );
    let outbox = crate::jobs::outbox::spawn(state.pool.clone(), config.webhooks.clone())?;
    let running = crate::server::start(state, listener, workers)?;
    println!(
        "zhucan listening on http://{addr} (the console: open http://{addr}/ in a browser; API under /api/v1, docs at /docs)",
        addr = running.addr
    );
    if embedded.is_some() {
        println!("demo logins (password {}): admin, city_admin, president1, president2, town_staff, dept_officer, village_staff, site_staff, auditor",
            crate::tools::seed::demo_password());
    }
    let result = running.server.await;
    if let Some(s) = sweeper {
        s.abort();
    }
    // after the HTTP server: the deliveries in flight finish (each within its timeout)
    if let Some(o) = outbox {
        o.stop().await;
    }
    if let Some(pg) = embedded {
        pg.stop().await?;
    }
    result?;
    Ok(())
}

#[cfg(test)]
mod log_writer_tests {
    use super::LineBatches;
    use std::io::Write;

    #[test]
    fn lines_are_written_out_in_order_on_flush_and_when_the_batch_is_full() {
        let mut batches = LineBatches::new(Vec::new());
        batches.write_all(b"first\n").expect("write");
        batches.write_all(b"second\n").expect("write");
        assert!(batches.out.is_empty(), "held until the queue runs empty");
        batches.flush().expect("flush");
        assert_eq!(batches.out, b"first\nsecond\n");
        // a burst bigger than the batch goes out without waiting for a flush
        let line = vec![b'x'; 1000];
        for _ in 0..70 {
            batches.write_all(&line).expect("write");
        }
        assert!(batches.out.len() >= 64 * 1024);
        batches.flush().expect("flush");
        assert_eq!(batches.out.len(), 13 + 70 * 1000);
    }
}
