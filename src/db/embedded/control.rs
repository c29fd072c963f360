//! Running `pg_ctl` and `initdb`: commands, server processes, initialisation and settings.

use super::*;

// ---------------------------------------------------------------------------------------
// Commands

/// A command with PostgreSQL client environment variables removed and stdin closed.
pub(super) fn base_command(program: impl AsRef<OsStr>) -> Command {
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
    pub(super) fn command(&self, program: impl AsRef<OsStr>) -> Command {
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

    pub(super) fn pg_ctl(&self) -> Command {
        let mut cmd = self.command(self.bin_dir.join("pg_ctl"));
        cmd.arg("-D").arg(&self.pg_dir);
        cmd
    }

    /// `pg_ctl stop`; success when the server is not running (any more).
    pub(super) fn stop(&self, mode: &str) -> Result<()> {
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

pub(super) fn output_text(out: &Output) -> String {
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

pub(super) fn run(cmd: &mut Command, what: &str) -> Result<Output> {
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
pub(super) fn live_postmaster(pg_dir: &Path) -> Option<Pid> {
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

pub(super) fn wait_until_gone(pg_dir: &Path, timeout: Duration) -> bool {
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
pub(super) fn stop_leftover(ctl: &Ctl, pid: Pid) -> Result<()> {
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

pub(super) fn remove_stale_pid_file(pg_dir: &Path) -> Result<()> {
    let pid_file = pg_dir.join("postmaster.pid");
    if pid_file.exists() && live_postmaster(pg_dir).is_none() {
        tracing::info!(file = %pid_file.display(), "removing a stale postmaster.pid");
        fs::remove_file(&pid_file)
            .with_context(|| format!("could not remove stale {}", pid_file.display()))?;
    }
    Ok(())
}

pub(super) fn stop_once(ctl: &Ctl, stopped: &AtomicBool) -> Result<()> {
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
pub(super) fn reset_pg_dir(ctl: &Ctl) -> Result<()> {
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

pub(super) fn init_cluster(ctl: &Ctl) -> Result<()> {
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
pub(super) fn check_version(ctl: &Ctl) -> Result<()> {
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
pub(super) fn ensure_conf_include(ctl: &Ctl) -> Result<()> {
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

pub(super) fn conf_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

pub(super) fn write_conf(ctl: &Ctl, port: u16, socket_dir: &Path) -> Result<()> {
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

pub(super) fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind(("127.0.0.1", 0)).context("could not find a free port on 127.0.0.1")?;
    Ok(listener.local_addr()?.port())
}

/// The end of the log written since `offset`, for error messages.
pub(super) fn log_since(log: &Path, offset: u64) -> String {
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

pub(super) fn start_server(ctl: &Ctl, log: &Path) -> Result<()> {
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
