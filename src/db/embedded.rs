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

/// Error message when no server binaries can be found anywhere.
const NO_BINARIES: &str = "no PostgreSQL server binaries found (initdb, pg_ctl): install them, e.g. `apt-get install postgresql` on Debian/Ubuntu, or set DATABASE_URL to an existing server";
/// The database superuser created by initdb and used in URLs.
const SUPERUSER: &str = "postgres";
/// The unprivileged OS user the cluster runs as when we are root.
const RUN_AS_USER: &str = "postgres";
/// Longest socket directory we accept: 107 bytes minus `/.s.PGSQL.65535`, minus slack.
const SOCKET_DIR_MAX: usize = 90;
/// Where clusters go when the data directory cannot host them.
const RELOCATE_BASE: &str = "/var/tmp";
/// Our settings file inside the PostgreSQL data directory.
const CONF_FILE: &str = "zhucan.conf";
/// The include line appended to `postgresql.conf`.
const CONF_INCLUDE: &str = "include 'zhucan.conf'";
/// The lock file held while a cluster is owned by a live process.
const LOCK_FILE: &str = "embedded-pg.lock";
/// `pg_ctl` wait timeout in seconds.
const PG_CTL_TIMEOUT: &str = "60";
/// The server log is truncated at start once it grows beyond this.
const MAX_LOG_BYTES: u64 = 16 << 20;

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
struct RunAs {
    name: String,
    uid: Uid,
    gid: Gid,
    home: PathBuf,
}

/// What is needed to run `pg_ctl` & co. against one cluster (cheap to clone into threads).
#[derive(Clone, Debug)]
struct Ctl {
    bin_dir: PathBuf,
    pg_dir: PathBuf,
    run_as: Option<RunAs>,
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
// Binaries

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))
}

/// `<parent>/<prefix><version>/bin` with the highest version that has the server binaries.
fn highest_versioned_bin_dir(parent: &Path, prefix: &str) -> Option<PathBuf> {
    let entries = fs::read_dir(parent).ok()?;
    entries
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name();
            let version = name.to_str()?.strip_prefix(prefix)?;
            let parts = version
                .split('.')
                .map(|p| p.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            has_server_binaries(&bin).then_some((parts, bin))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, bin)| bin)
}

fn pg_config_bindir() -> Option<PathBuf> {
    let out = Command::new("pg_config")
        .arg("--bindir")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let dir = text.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// `<bin_dir>/<name>` if present, else `<name>` found on PATH.
fn find_tool(bin_dir: &Path, name: &str) -> Option<PathBuf> {
    let local = bin_dir.join(name);
    if is_executable(&local) {
        return Some(local);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// The server's version string (e.g. `15.14`), from `pg_ctl --version`.
fn server_version(bin_dir: &Path) -> Option<String> {
    let out = base_command(bin_dir.join("pg_ctl"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let rest = text.split("(PostgreSQL)").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}

// ---------------------------------------------------------------------------------------
// Users, directories, permissions

fn run_as_user() -> Result<Option<RunAs>> {
    if !geteuid().is_root() {
        return Ok(None);
    }
    let user = User::from_name(RUN_AS_USER)
        .with_context(|| format!("could not look up the `{RUN_AS_USER}` user"))?
        .ok_or_else(|| {
            anyhow!(
                "running as root, but PostgreSQL refuses to run as root and there is no \
                 `{RUN_AS_USER}` user to run the embedded cluster as: create it (e.g. \
                 `useradd --system --home-dir /var/lib/postgresql {RUN_AS_USER}`), run as a \
                 non-root user, or set DATABASE_URL to an existing server"
            )
        })?;
    if user.uid.is_root() {
        bail!("the `{RUN_AS_USER}` user has uid 0; PostgreSQL refuses to run as root");
    }
    Ok(Some(RunAs {
        name: user.name,
        uid: user.uid,
        gid: user.gid,
        home: user.dir,
    }))
}

/// FNV-1a over the path bytes: stable across builds and Rust versions.
fn path_hash(path: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Characters `pg_ctl` would mangle: it runs the server through `sh -c "exec \"<path>\" …"`.
fn shell_unsafe(path: &Path) -> bool {
    path.as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b'"' | b'$' | b'`' | b'\\' | b'\n' | b'\r'))
}

/// Whether `user` can traverse `dir` (and so every directory above it).
fn accessible_to(user: &RunAs, dir: &Path) -> Result<bool> {
    let status = Command::new("/bin/sh")
        .arg("-c")
        .arg("test -x \"$1\"")
        .arg("sh")
        .arg(dir)
        .current_dir("/")
        .uid(user.uid.as_raw())
        .gid(user.gid.as_raw())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| {
            format!(
                "could not check whether user `{}` can reach {}",
                user.name,
                dir.display()
            )
        })?;
    Ok(status.success())
}

/// The directory that holds `pg/`, `run/`, `pg.log`: the data dir itself, or a relocated one.
fn cluster_root(data_dir: &Path, run_as: Option<&RunAs>) -> Result<PathBuf> {
    let reason = if shell_unsafe(data_dir) {
        Some("its path contains characters pg_ctl cannot quote".to_string())
    } else {
        match run_as {
            Some(user) if !accessible_to(user, data_dir)? => Some(format!(
                "the `{}` user the server runs as cannot reach it",
                user.name
            )),
            _ => None,
        }
    };
    let Some(reason) = reason else {
        return Ok(data_dir.to_path_buf());
    };
    let root = Path::new(RELOCATE_BASE).join(format!("zhucan-{}", path_hash(data_dir)));
    tracing::info!(
        data_dir = %data_dir.display(),
        cluster_dir = %root.display(),
        "the embedded PostgreSQL cluster cannot live in the data directory ({reason}); placing it in {} instead",
        root.display()
    );
    fs::create_dir_all(RELOCATE_BASE)
        .with_context(|| format!("could not create {RELOCATE_BASE}"))?;
    ensure_own_dir(&root, &[])?;
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not set permissions of {}", root.display()))?;
    if let Some(user) = run_as {
        if !accessible_to(user, &root)? {
            bail!(
                "the `{}` user cannot reach {} either; set DATA_DIR to a directory it can reach (e.g. /var/tmp/zhucan)",
                user.name,
                root.display()
            );
        }
    }
    Ok(root)
}

/// Creates `dir` (one level) if missing and checks it is a real directory owned by us or
/// by one of `owners` (it may live in a world-writable place such as /tmp).
fn ensure_own_dir(dir: &Path, owners: &[Uid]) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
        Err(err) => {
            return Err(err).with_context(|| format!("could not create {}", dir.display()));
        }
    }
    let meta = fs::symlink_metadata(dir)
        .with_context(|| format!("could not inspect {}", dir.display()))?;
    let owner = Uid::from_raw(meta.uid());
    if !meta.file_type().is_dir() || (owner != geteuid() && !owners.contains(&owner)) {
        bail!(
            "refusing to use {}: it is not a directory owned by this user",
            dir.display()
        );
    }
    Ok(())
}

fn chown_to(path: &Path, user: &RunAs) -> Result<()> {
    lchown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .with_context(|| format!("could not chown {} to `{}`", path.display(), user.name))
}

fn chown_recursive(path: &Path, user: &RunAs) -> Result<()> {
    chown_to(path, user)?;
    let meta = fs::symlink_metadata(path)
        .with_context(|| format!("could not inspect {}", path.display()))?;
    if meta.file_type().is_dir() {
        let entries =
            fs::read_dir(path).with_context(|| format!("could not list {}", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("could not list {}", path.display()))?;
            chown_recursive(&entry.path(), user)?;
        }
    }
    Ok(())
}

/// Takes the per-cluster lock, failing fast when another live process owns the cluster.
fn lock_root(root: &Path) -> Result<Flock<File>> {
    let path = root.join(LOCK_FILE);
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .with_context(|| format!("could not open {}", path.display()))?;
    let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(lock) => lock,
        Err((mut file, Errno::EWOULDBLOCK)) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let holder = if holder.is_empty() {
                String::new()
            } else {
                format!(" (pid {holder})")
            };
            bail!(
                "the embedded PostgreSQL cluster in {} is in use by another process{holder}; \
                 stop it or use a different DATA_DIR",
                root.display()
            );
        }
        Err((_, errno)) => {
            return Err(anyhow!(errno))
                .with_context(|| format!("could not lock {}", path.display()));
        }
    };
    // Diagnostics only: who holds the lock.
    let _ = lock.set_len(0);
    let _ = lock.seek(SeekFrom::Start(0));
    let _ = writeln!(*lock, "{}", std::process::id());
    Ok(lock)
}

/// `<root>/run` when short and plain enough for a socket path, else a private dir in /tmp.
fn socket_dir_for(root: &Path) -> PathBuf {
    let preferred = root.join("run");
    let plain = preferred.to_str().is_some_and(|s| {
        !s.chars()
            .any(|c| c.is_whitespace() || matches!(c, ',' | '"' | '\'' | '\\' | '$' | '`'))
    });
    if plain && preferred.as_os_str().len() <= SOCKET_DIR_MAX {
        preferred
    } else {
        PathBuf::from(format!("/tmp/zhucan-pg-{}", path_hash(root)))
    }
}

fn prepare_socket_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let owners: Vec<Uid> = run_as.map(|u| u.uid).into_iter().collect();
    ensure_own_dir(dir, &owners)?;
    if let Some(user) = run_as {
        chown_to(dir, user)?;
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
        .with_context(|| format!("could not set permissions of {}", dir.display()))?;
    // No server of ours runs now: any socket or socket lock file here is stale.
    let entries = fs::read_dir(dir).with_context(|| format!("could not list {}", dir.display()))?;
    for entry in entries.flatten() {
        if entry.file_name().as_bytes().starts_with(b".s.PGSQL.") {
            let _ = fs::remove_file(entry.path());
        }
    }
    Ok(())
}

fn prepare_log(log: &Path, run_as: Option<&RunAs>) -> Result<()> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("could not open {}", log.display()))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) > MAX_LOG_BYTES {
        file.set_len(0)
            .with_context(|| format!("could not truncate {}", log.display()))?;
    }
    if let Some(user) = run_as {
        chown_to(log, user)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Commands

/// A command with PostgreSQL client environment variables removed and stdin closed.
fn base_command(program: impl AsRef<OsStr>) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.as_bytes().starts_with(b"PG") {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir("/").stdin(Stdio::null());
    cmd
}

impl Ctl {
    /// A command run as the cluster's OS user.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = base_command(program);
        if let Some(user) = &self.run_as {
            cmd.uid(user.uid.as_raw())
                .gid(user.gid.as_raw())
                .env("HOME", &user.home)
                .env("USER", &user.name)
                .env("LOGNAME", &user.name);
        }
        cmd
    }

    fn pg_ctl(&self) -> Command {
        let mut cmd = self.command(self.bin_dir.join("pg_ctl"));
        cmd.arg("-D").arg(&self.pg_dir);
        cmd
    }

    /// `pg_ctl stop`; success when the server is not running (any more).
    fn stop(&self, mode: &str) -> Result<()> {
        if live_postmaster(&self.pg_dir).is_none() {
            return Ok(());
        }
        let mut cmd = self.pg_ctl();
        cmd.args(["-m", mode, "-w", "-t", PG_CTL_TIMEOUT, "stop"]);
        match run(&mut cmd, "pg_ctl stop") {
            Ok(_) => Ok(()),
            Err(_) if live_postmaster(&self.pg_dir).is_none() => Ok(()),
            Err(err) => Err(err),
        }
    }
}

fn output_text(out: &Output) -> String {
    let mut text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stdout = stdout.trim();
    if !stdout.is_empty() {
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(stdout);
    }
    text
}

fn run(cmd: &mut Command, what: &str) -> Result<Output> {
    let out = cmd.output().with_context(|| {
        format!(
            "{what}: could not run {}",
            cmd.get_program().to_string_lossy()
        )
    })?;
    if out.status.success() {
        Ok(out)
    } else {
        bail!("{what} failed ({}): {}", out.status, output_text(&out))
    }
}

// ---------------------------------------------------------------------------------------
// Server processes

/// The pid of a live postmaster serving `pg_dir`, per its `postmaster.pid`.
fn live_postmaster(pg_dir: &Path) -> Option<Pid> {
    let text = fs::read_to_string(pg_dir.join("postmaster.pid")).ok()?;
    let raw: i32 = text.lines().next()?.trim().parse().ok()?;
    if raw <= 0 {
        return None;
    }
    let pid = Pid::from_raw(raw);
    // ESRCH: dead. EPERM: someone else's process, so not a server we could run.
    kill(pid, None).ok()?;
    if !Path::new("/proc/self/cwd").exists() {
        return Some(pid); // no procfs: trust the live pid
    }
    // The postmaster chdir()s into its data directory; a reused pid will not be there.
    // Unreadable (zombie, other user's process) means it is not our server.
    let cwd = fs::read_link(format!("/proc/{raw}/cwd")).ok()?;
    let dir = fs::canonicalize(pg_dir).unwrap_or_else(|_| pg_dir.to_path_buf());
    (cwd == dir).then_some(pid)
}

fn wait_until_gone(pg_dir: &Path, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if live_postmaster(pg_dir).is_none() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Stops a server found running on our data directory: pg_ctl, then signals.
fn stop_leftover(ctl: &Ctl, pid: Pid) -> Result<()> {
    if let Err(err) = ctl.stop("fast") {
        tracing::warn!(error = %err, "pg_ctl could not stop the leftover server; signalling it");
    }
    // SIGINT = fast shutdown, SIGQUIT = immediate shutdown, then SIGKILL.
    for (signal, secs) in [
        (Signal::SIGINT, 30),
        (Signal::SIGQUIT, 10),
        (Signal::SIGKILL, 5),
    ] {
        if live_postmaster(&ctl.pg_dir).is_none() {
            return Ok(());
        }
        let _ = kill(pid, signal);
        if wait_until_gone(&ctl.pg_dir, Duration::from_secs(secs)) {
            return Ok(());
        }
    }
    bail!(
        "could not stop the PostgreSQL server (pid {pid}) still running on {}",
        ctl.pg_dir.display()
    )
}

fn remove_stale_pid_file(pg_dir: &Path) -> Result<()> {
    let pid_file = pg_dir.join("postmaster.pid");
    if pid_file.exists() && live_postmaster(pg_dir).is_none() {
        tracing::info!(file = %pid_file.display(), "removing a stale postmaster.pid");
        fs::remove_file(&pid_file)
            .with_context(|| format!("could not remove stale {}", pid_file.display()))?;
    }
    Ok(())
}

fn stop_once(ctl: &Ctl, stopped: &AtomicBool) -> Result<()> {
    if stopped.load(Ordering::SeqCst) {
        return Ok(());
    }
    ctl.stop("fast")?;
    if !stopped.swap(true, Ordering::SeqCst) {
        tracing::info!(dir = %ctl.pg_dir.display(), "embedded PostgreSQL cluster stopped");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Initialisation and configuration

/// Empties (recreates) the PostgreSQL data directory, owned by the server's user.
fn reset_pg_dir(ctl: &Ctl) -> Result<()> {
    let dir = &ctl.pg_dir;
    if fs::symlink_metadata(dir).is_ok() {
        fs::remove_dir_all(dir).with_context(|| {
            format!(
                "could not remove the half-initialised cluster in {}",
                dir.display()
            )
        })?;
    }
    fs::create_dir(dir).with_context(|| format!("could not create {}", dir.display()))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("could not set permissions of {}", dir.display()))?;
    if let Some(user) = &ctl.run_as {
        chown_to(dir, user)?;
    }
    Ok(())
}

fn init_cluster(ctl: &Ctl) -> Result<()> {
    tracing::info!(dir = %ctl.pg_dir.display(), "initialising the embedded PostgreSQL cluster");
    let mut first_err = None;
    for locale in ["C.UTF-8", "C"] {
        reset_pg_dir(ctl)?;
        let mut cmd = ctl.command(ctl.bin_dir.join("initdb"));
        cmd.arg("-D")
            .arg(&ctl.pg_dir)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8"])
            .arg(format!("--locale={locale}"));
        match run(&mut cmd, "initdb") {
            Ok(_) => return Ok(()),
            Err(err) => {
                tracing::warn!(locale, error = %err, "initdb failed");
                first_err.get_or_insert(err);
            }
        }
    }
    let _ = reset_pg_dir(ctl);
    Err(first_err.unwrap_or_else(|| anyhow!("initdb failed")))
}

/// Fails clearly when the cluster was made by another major version than the binaries.
fn check_version(ctl: &Ctl) -> Result<()> {
    let Ok(data_version) = fs::read_to_string(ctl.pg_dir.join("PG_VERSION")) else {
        return Ok(());
    };
    let data_version = data_version.trim();
    let Some(server) = server_version(&ctl.bin_dir) else {
        return Ok(());
    };
    let matches = server
        .strip_prefix(data_version)
        .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()));
    if !matches {
        bail!(
            "the embedded cluster in {} was initialised by PostgreSQL {data_version} but the server binaries in {} are version {server}: \
             set PG_BIN_DIR to PostgreSQL {data_version} binaries, or remove the directory to start afresh",
            ctl.pg_dir.display(),
            ctl.bin_dir.display()
        );
    }
    Ok(())
}

/// Makes sure `postgresql.conf` includes our settings file.
fn ensure_conf_include(ctl: &Ctl) -> Result<()> {
    let conf = ctl.pg_dir.join("postgresql.conf");
    let text =
        fs::read_to_string(&conf).with_context(|| format!("could not read {}", conf.display()))?;
    if text.lines().any(|l| l.trim() == CONF_INCLUDE) {
        return Ok(());
    }
    let mut file = OpenOptions::new()
        .append(true)
        .open(&conf)
        .with_context(|| format!("could not open {}", conf.display()))?;
    let sep = if text.ends_with('\n') || text.is_empty() {
        ""
    } else {
        "\n"
    };
    write!(
        file,
        "{sep}\n# Added by zhucan: settings of the embedded cluster, rewritten at every start.\n{CONF_INCLUDE}\n"
    )
    .with_context(|| format!("could not write {}", conf.display()))?;
    Ok(())
}

fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

fn write_conf(ctl: &Ctl, port: u16, socket_dir: &Path) -> Result<()> {
    let socket_dir = socket_dir
        .to_str()
        .ok_or_else(|| anyhow!("socket directory {} is not UTF-8", socket_dir.display()))?;
    let text = format!(
        "# Written by zhucan at every start of the embedded cluster; edits are overwritten.\n\
         listen_addresses = '127.0.0.1'\n\
         port = {port}\n\
         unix_socket_directories = {}\n\
         max_connections = 200\n\
         shared_buffers = '128MB'\n",
        conf_quote(socket_dir)
    );
    let path = ctl.pg_dir.join(CONF_FILE);
    let mut tmp = OsString::from(path.as_os_str());
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, text).with_context(|| format!("could not write {}", tmp.display()))?;
    if let Some(user) = &ctl.run_as {
        chown_to(&tmp, user)?;
    }
    fs::rename(&tmp, &path).with_context(|| format!("could not write {}", path.display()))?;
    Ok(())
}

fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).context("could not find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// The end of the log written since `offset`, for error messages.
fn log_since(log: &Path, offset: u64) -> String {
    let Ok(mut file) = File::open(log) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = if len < offset {
        0
    } else {
        offset.max(len.saturating_sub(4000))
    };
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut buf).is_err() {
        return String::new();
    }
    String::from_utf8_lossy(&buf).trim().to_string()
}

fn start_server(ctl: &Ctl, log: &Path) -> Result<()> {
    let offset = fs::metadata(log).map(|m| m.len()).unwrap_or(0);
    let mut cmd = ctl.pg_ctl();
    cmd.arg("-l")
        .arg(log)
        .args(["-w", "-t", PG_CTL_TIMEOUT, "start"]);
    match run(&mut cmd, "pg_ctl start") {
        Ok(_) => Ok(()),
        Err(err) => {
            let tail = log_since(log, offset);
            if tail.is_empty() {
                Err(err)
            } else {
                Err(err.context(format!("server log {}:\n{tail}", log.display())))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Databases

fn ensure_database_blocking(ctl: &Ctl, port: u16, name: &str) -> Result<()> {
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
