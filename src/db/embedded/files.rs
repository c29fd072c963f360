//! The cluster's user, directories, permissions, lock and socket and log files.

use super::*;

// ---------------------------------------------------------------------------------------
// Users, directories, permissions

pub(super) fn run_as_user() -> Result<Option<RunAs>> {
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
pub(super) fn path_hash(path: &Path) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in path.as_os_str().as_bytes() {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// Characters `pg_ctl` would mangle: it runs the server through `sh -c "exec \"<path>\" …"`.
pub(super) fn shell_unsafe(path: &Path) -> bool {
    path.as_os_str()
        .as_bytes()
        .iter()
        .any(|b| matches!(b, b'"' | b'$' | b'`' | b'\\' | b'\n' | b'\r'))
}

/// Whether `user` can traverse `dir` (and so every directory above it).
pub(super) fn accessible_to(user: &RunAs, dir: &Path) -> Result<bool> {
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
pub(super) fn cluster_root(data_dir: &Path, run_as: Option<&RunAs>) -> Result<PathBuf> {
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
pub(super) fn ensure_own_dir(dir: &Path, owners: &[Uid]) -> Result<()> {
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

pub(super) fn chown_to(path: &Path, user: &RunAs) -> Result<()> {
    lchown(path, Some(user.uid.as_raw()), Some(user.gid.as_raw()))
        .with_context(|| format!("could not chown {} to `{}`", path.display(), user.name))
}

pub(super) fn chown_recursive(path: &Path, user: &RunAs) -> Result<()> {
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
pub(super) fn lock_root(root: &Path) -> Result<Flock<File>> {
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
pub(super) fn socket_dir_for(root: &Path) -> PathBuf {
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

pub(super) fn prepare_socket_dir(dir: &Path, run_as: Option<&RunAs>) -> Result<()> {
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

pub(super) fn prepare_log(log: &Path, run_as: Option<&RunAs>) -> Result<()> {
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
