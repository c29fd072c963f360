//! Finding the PostgreSQL server binaries on the machine.

use super::*;

// ---------------------------------------------------------------------------------------
// Binaries

pub(super) fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

pub(super) fn has_server_binaries(dir: &Path) -> bool {
    is_executable(&dir.join("initdb")) && is_executable(&dir.join("pg_ctl"))
}

/// `<parent>/<prefix><version>/bin` with the highest version that has the server binaries.
pub(super) fn highest_versioned_bin_dir(parent: &Path, prefix: &str) -> Option<PathBuf> {
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

pub(super) fn pg_config_bindir() -> Option<PathBuf> {
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
pub(super) fn find_tool(bin_dir: &Path, name: &str) -> Option<PathBuf> {
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
pub(super) fn server_version(bin_dir: &Path) -> Option<String> {
    let out = base_command(bin_dir.join("pg_ctl"))
        .arg("--version")
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let rest = text.split("(PostgreSQL)").nth(1)?;
    rest.split_whitespace().next().map(str::to_string)
}
