//! The embedded default database: a private PostgreSQL cluster kept in a data directory.
//!
//! `zhucan serve` without `DATABASE_URL` (and the tests, when nothing answers on
//! 127.0.0.1:5432) run against a cluster created and started here from the PostgreSQL
//! server binaries installed on the machine.
//!
//! Layout, for a data directory `D`:
//! - `D/pg` — the PostgreSQL data directory (initialised on first use, reused afterwards);
//! - `D/run` — the unix socket directory (or `/tmp/zhucan-pg-<hash of D>` when `D/run`
//!   would be too long for a unix socket path or contains awkward characters);
//! - `D/pg.log` — the server log (truncated at start once it exceeds 16 MiB);
//! - `D/embedded-pg.lock` — an exclusive `flock` held by the owning process for as long
//!   as its [`EmbeddedPg`] lives; a second process asking for the same directory fails
//!   fast instead of stealing the cluster from under the first.
//!
//! Decisions:
//! - The server listens on 127.0.0.1 only, with `trust` authentication for the
//!   superuser `postgres`; the settings we own (`listen_addresses`, `port`,
//!   `unix_socket_directories`, `max_connections = 200`, `shared_buffers = 128MB`) live in
//!   `D/pg/zhucan.conf`, rewritten on every start and included from `postgresql.conf`.
//! - A server still running on the data directory when we start (a leftover of an
//!   earlier process of ours that crashed or was killed, as proven by the lock being
//!   free) is stopped first (`pg_ctl stop -m fast`, escalating to signals) and then
//!   started afresh with the current settings. A `postmaster.pid` whose process is dead,
//!   or belongs to some other process (the pid was reused), is removed, as are stale
//!   socket lock files, so it never blocks the start.
//! - PostgreSQL refuses to run as root: when the effective uid is 0 the cluster is
//!   initialised and run as the `postgres` user (the child processes get its uid and
//!   gid), and the directories it needs are chowned to it. If `D` is not reachable by
//!   that user (e.g. under `/root`, mode 700) or its path would break `pg_ctl`'s shell
//!   quoting, the cluster is placed in `/var/tmp/zhucan-<hash of D>` instead; the
//!   location is logged and is stable across runs, so the data is reused.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{kill, Signal};
use nix::unistd::{geteuid, Gid, Pid, Uid, User};

mod control;
mod files;
mod locate;

use control::*;
use files::*;
use locate::*;

/// Error message when no server binaries can be found anywhere.
pub(super) const NO_BINARIES: &str = "no PostgreSQL server binaries found (initdb, pg_ctl): install them, e.g. `apt-get install postgresql` on Debian/Ubuntu, or set DATABASE_URL to an existing server";
/// The database superuser created by initdb and used in URLs.
pub(super) const SUPERUSER: &str = "postgres";
/// The unprivileged OS user the cluster runs as when we are root.
pub(super) const RUN_AS_USER: &str = "postgres";
/// Longest socket directory we accept: 107 bytes minus `/.s.PGSQL.65535`, minus slack.
pub(super) const SOCKET_DIR_MAX: usize = 90;
/// Where clusters go when the data directory cannot host them.
pub(super) const RELOCATE_BASE: &str = "/var/tmp";
/// Our settings file inside the PostgreSQL data directory.
pub(super) const CONF_FILE: &str = "zhucan.conf";
/// The include line appended to `postgresql.conf`.
pub(super) const CONF_INCLUDE: &str = "include 'zhucan.conf'";
/// The lock file held while a cluster is owned by a live process.
pub(super) const LOCK_FILE: &str = "embedded-pg.lock";
/// `pg_ctl` wait timeout in seconds.
pub(super) const PG_CTL_TIMEOUT: &str = "60";
/// The server log is truncated at start once it grows beyond this.
pub(super) const MAX_LOG_BYTES: u64 = 16 << 20;

/// A private PostgreSQL cluster owned by this process.
#[derive(Debug)]
pub struct EmbeddedPg {
    root: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    ctl: Ctl,
    stopped: Arc<AtomicBool>,
    _lock: Flock<File>,
}

/// The unprivileged user the cluster runs as when we are root.
#[derive(Clone, Debug)]
pub(super) struct RunAs {
    pub(super) name: String,
    pub(super) uid: Uid,
    pub(super) gid: Gid,
    pub(super) home: PathBuf,
}

/// What is needed to run `pg_ctl` & co. against one cluster (cheap to clone into threads).
#[derive(Clone, Debug)]
pub(super) struct Ctl {
    pub(super) bin_dir: PathBuf,
    pub(super) pg_dir: PathBuf,
    pub(super) run_as: Option<RunAs>,
}

impl EmbeddedPg {
    /// Finds the server binaries: $PG_BIN_DIR if set, else the highest version under /usr/lib/postgresql/*/bin, else `pg_config --bindir`, else directories on PATH containing `initdb`.
    pub fn find_bin_dir() -> Result<PathBuf> {
        if let Some(dir) = std::env::var_os("PG_BIN_DIR").filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            if has_server_binaries(&dir) {
                return Ok(dir);
            }
            bail!(
                "PG_BIN_DIR={} does not contain the PostgreSQL server binaries (initdb, pg_ctl)",
                dir.display()
            );
        }
        if let Some(dir) = highest_versioned_bin_dir(Path::new("/usr/lib/postgresql"), "") {
            return Ok(dir);
        }
        if let Some(dir) = pg_config_bindir().filter(|d| has_server_binaries(d)) {
            return Ok(dir);
        }
        if let Some(path) = std::env::var_os("PATH") {
            if let Some(dir) = std::env::split_paths(&path).find(|d| has_server_binaries(d)) {
                return Ok(dir);
            }
        }
        // Other common layouts (RHEL/PGDG, source installs).
        if let Some(dir) = highest_versioned_bin_dir(Path::new("/usr"), "pgsql-") {
            return Ok(dir);
        }
        let source_install = Path::new("/usr/local/pgsql/bin");
        if has_server_binaries(source_install) {
            return Ok(source_install.to_path_buf());
        }
        bail!(NO_BINARIES)
    }

    /// Initialises (if needed) and starts the cluster for `data_dir` on 127.0.0.1:`port` (0 = any free port), on a blocking thread.
    pub async fn start(data_dir: &Path, port: u16) -> Result<EmbeddedPg> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || Self::start_blocking(&data_dir, port))
            .await
            .context("the task starting the embedded PostgreSQL cluster failed")?
    }

    /// Blocking form of [`EmbeddedPg::start`].
    pub fn start_blocking(data_dir: &Path, port: u16) -> Result<EmbeddedPg> {
        let bin_dir = Self::find_bin_dir()?;
        let run_as = run_as_user()?;

        fs::create_dir_all(data_dir)
            .with_context(|| format!("could not create data directory {}", data_dir.display()))?;
        let data_dir = fs::canonicalize(data_dir)
            .with_context(|| format!("could not resolve data directory {}", data_dir.display()))?;
        let root = cluster_root(&data_dir, run_as.as_ref())?;

        let lock = lock_root(&root)?;

        let pg_dir = root.join("pg");
        let ctl = Ctl {
            bin_dir,
            pg_dir,
            run_as,
        };
        let socket_dir = socket_dir_for(&root);

        // A server left running on this directory (the lock was free, so its owner is gone).
        if let Some(pid) = live_postmaster(&ctl.pg_dir) {
            tracing::warn!(
                pid = pid.as_raw(),
                dir = %ctl.pg_dir.display(),
                "a PostgreSQL server left over from an earlier run is still running on the embedded data directory; stopping it"
            );
            stop_leftover(&ctl, pid)?;
        }
        remove_stale_pid_file(&ctl.pg_dir)?;
        prepare_socket_dir(&socket_dir, ctl.run_as.as_ref())?;

        if !ctl.pg_dir.join("PG_VERSION").exists() {
            init_cluster(&ctl)?;
        } else {
            check_version(&ctl)?;
            if let Some(user) = &ctl.run_as {
                let meta = fs::symlink_metadata(&ctl.pg_dir)
                    .with_context(|| format!("could not inspect {}", ctl.pg_dir.display()))?;
                if meta.uid() != user.uid.as_raw() {
                    chown_recursive(&ctl.pg_dir, user)?;
                }
            }
        }
        ensure_conf_include(&ctl)?;

        let log = root.join("pg.log");
        prepare_log(&log, ctl.run_as.as_ref())?;

        let attempts = if port == 0 { 4 } else { 1 };
        let mut last_err = None;
        let mut chosen = port;
        for attempt in 1..=attempts {
            chosen = if port == 0 { free_port()? } else { port };
            if port_answers("127.0.0.1", chosen) {
                let err = anyhow!("port {chosen} on 127.0.0.1 is already in use by another server");
                if port != 0 {
                    return Err(err);
                }
                last_err = Some(err);
                continue;
            }
            write_conf(&ctl, chosen, &socket_dir)?;
            match start_server(&ctl, &log) {
                Ok(()) => {
                    last_err = None;
                    break;
                }
                Err(err) => {
                    tracing::warn!(attempt, port = chosen, error = %err, "starting the embedded PostgreSQL cluster failed");
                    // pg_ctl may have given up waiting on a server that did come up.
                    if let Some(pid) = live_postmaster(&ctl.pg_dir) {
                        let _ = stop_leftover(&ctl, pid);
                    }
                    let _ = remove_stale_pid_file(&ctl.pg_dir);
                    last_err = Some(err);
                }
            }
        }
        if let Some(err) = last_err {
            return Err(err.context(format!(
                "could not start the embedded PostgreSQL cluster in {}",
                ctl.pg_dir.display()
            )));
        }

        tracing::info!(
            port = chosen,
            data = %ctl.pg_dir.display(),
            socket_dir = %socket_dir.display(),
            log = %log.display(),
            "embedded PostgreSQL cluster started"
        );
        Ok(EmbeddedPg {
            root,
            socket_dir,
            port: chosen,
            ctl,
            stopped: Arc::new(AtomicBool::new(false)),
            _lock: lock,
        })
    }

    /// postgres://postgres@127.0.0.1:<port>/<db>
    pub fn url(&self, db: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{db}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The PostgreSQL data directory actually used (`<data_dir>/pg`, or under /var/tmp when relocated).
    pub fn pg_data_dir(&self) -> &Path {
        &self.ctl.pg_dir
    }

    /// The directory holding the server's unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// The server log file.
    pub fn log_file(&self) -> PathBuf {
        self.root.join("pg.log")
    }

    /// Creates database `name` if it does not exist (with `createdb`, or `psql` when that is missing).
    pub async fn ensure_database(&self, name: &str) -> Result<()> {
        let ctl = self.ctl.clone();
        let port = self.port;
        let name = name.to_string();
        tokio::task::spawn_blocking(move || ensure_database_blocking(&ctl, port, &name))
            .await
            .context("the task creating a database failed")?
    }

    /// Stops the cluster (pg_ctl stop -m fast), idempotent.
    pub async fn stop(&self) -> Result<()> {
        let ctl = self.ctl.clone();
        let stopped = Arc::clone(&self.stopped);
        tokio::task::spawn_blocking(move || stop_once(&ctl, &stopped))
            .await
            .context("the task stopping the embedded PostgreSQL cluster failed")?
    }

    /// Blocking form of [`EmbeddedPg::stop`].
    pub fn stop_blocking(&self) -> Result<()> {
        stop_once(&self.ctl, &self.stopped)
    }
}

impl Drop for EmbeddedPg {
    fn drop(&mut self) {
        if self.stopped.load(Ordering::SeqCst) {
            return;
        }
        if let Err(err) = stop_once(&self.ctl, &self.stopped) {
            tracing::warn!(error = %err, dir = %self.ctl.pg_dir.display(), "could not stop the embedded PostgreSQL cluster");
        }
    }
}

/// Whether something accepts TCP connections on `host:port` (500 ms timeout per address).
pub fn port_answers(host: &str, port: u16) -> bool {
    let Ok(addrs) = (host, port).to_socket_addrs() else {
        return false;
    };
    addrs
        .into_iter()
        .any(|addr| TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok())
}

// ---------------------------------------------------------------------------------------
// Databases

pub(super) fn ensure_database_blocking(ctl: &Ctl, port: u16, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 63 {
        bail!("invalid database name {name:?}: it must be 1 to 63 bytes long");
    }
    let port = port.to_string();
    let out = if let Some(createdb) = find_tool(&ctl.bin_dir, "createdb") {
        base_command(createdb)
            .env("PGCONNECT_TIMEOUT", "10")
            .args(["-h", "127.0.0.1", "-p", &port, "-U", SUPERUSER, "-w"])
            .args(["--maintenance-db=postgres", "--", name])
            .output()
            .context("could not run createdb")?
    } else if let Some(psql) = find_tool(&ctl.bin_dir, "psql") {
        let sql = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
        base_command(psql)
            .env("PGCONNECT_TIMEOUT", "10")
            .args(["-X", "-q", "-w", "-v", "ON_ERROR_STOP=1"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                SUPERUSER,
                "-d",
                "postgres",
            ])
            .arg("-c")
            .arg(sql)
            .output()
            .context("could not run psql")?
    } else {
        bail!(
            "neither createdb nor psql found (in {} or on PATH) to create database {name:?}",
            ctl.bin_dir.display()
        );
    };
    if out.status.success() {
        tracing::info!(database = name, "created database in the embedded cluster");
        return Ok(());
    }
    let text = output_text(&out);
    // "already exists", or a concurrent creation losing the race on the catalog index.
    if text.contains("already exists")
        || (text.contains("duplicate key value") && text.contains("pg_database"))
    {
        return Ok(());
    }
    bail!("could not create database {name:?}: {text}")
}
