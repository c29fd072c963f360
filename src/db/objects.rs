//! Object storage for attachments, through the `object_store` crate: a local directory by
//! default, an S3-compatible store when `ATTACHMENTS_URL=s3://bucket[/prefix]` (endpoint and
//! credentials from the usual `AWS_*` variables). Both take the same path through this module.
//!
//! An object is named by the sha256 of its bytes (`sha256/<hex>`), so the same bytes are stored
//! once. An upload is first streamed to a spool file on local disk while it is hashed, sized and
//! recognised, never held whole in memory; only a complete, accepted file becomes an object, and
//! the database row naming it is written after the object. A crash between the two leaves an
//! object no row names: [`Objects::orphans`] lists those older than the grace period for the
//! sweep to delete.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::ObjectStore;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::Semaphore;
use uuid::Uuid;

use diesel_async::{AsyncConnection, AsyncPgConnection};

use crate::db::queries::attachments;

/// The largest attachment (10 MiB).
pub const MAX_SIZE: u64 = 10 * 1024 * 1024;

/// Where attachments are kept, from the configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `ATTACHMENTS_DIR`: the local store (by default), and the spool of uploads in flight.
    pub dir: PathBuf,
    /// `ATTACHMENTS_URL=s3://bucket[/prefix]`: an S3-compatible store instead of the directory.
    pub url: Option<String>,
    /// `ATTACHMENTS_ORPHAN_GRACE_SECS`: how old an object no row names must be before the sweep
    /// deletes it (default one hour; an upload writes its row milliseconds after its object).
    pub grace: Duration,
}

/// Why the object store failed.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// The store answered an error.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// Local disk (the spool).
    #[error("spool: {0}")]
    Io(#[from] std::io::Error),
    /// The database (which objects rows name).
    #[error("database: {0}")]
    Db(#[from] diesel::result::Error),
}

/// The kinds of file an attachment may be, recognised by their first bytes.
pub const KINDS: &[(&str, &[u8])] = &[
    ("image/jpeg", b"\xFF\xD8\xFF"),
    ("image/png", b"\x89PNG\r\n\x1A\n"),
    ("application/pdf", b"%PDF-"),
];

/// The content type of a file starting with `head`, if it is one we keep.
pub fn recognise(head: &[u8]) -> Option<&'static str> {
    KINDS
        .iter()
        .find(|(_, magic)| head.starts_with(magic))
        .map(|(kind, _)| *kind)
}

/// The object store and the local spool.
pub struct Objects {
    store: Arc<dyn ObjectStore>,
    /// The local directory when the store is one (its leftover staging files are swept too).
    local: Option<PathBuf>,
    spool: PathBuf,
    grace: Duration,
    /// Bytes an object write buffers before it streams (S3 parts are at least 5 MiB).
    part: usize,
    /// Object writes at once: bounds the memory the part buffers take.
    writers: Semaphore,
    /// What the store is, for logs and `verify`.
    pub describe: String,
}

impl Objects {
    /// Opens the store the settings name (creating the local directories).
    pub fn open(s: &Settings) -> anyhow::Result<Objects> {
        let spool = s.dir.join("spool");
        std::fs::create_dir_all(&spool)?;
        // uploads cut off by a crash leave spool files: nothing names them
        if let Ok(entries) = std::fs::read_dir(&spool) {
            for e in entries.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let (store, local, part, describe): (Arc<dyn ObjectStore>, _, _, _) = match &s.url {
            Some(url) => {
                let parsed = url::Url::parse(url)?;
                if parsed.scheme() != "s3" {
                    anyhow::bail!("ATTACHMENTS_URL must be s3://bucket[/prefix], got {url:?}");
                }
                let bucket = parsed.host_str().unwrap_or_default().to_string();
                let store = object_store::aws::AmazonS3Builder::from_env()
                    .with_bucket_name(&bucket)
                    .build()?;
                let prefix = parsed.path().trim_matches('/').to_string();
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(store)
                } else {
                    Arc::new(object_store::prefix::PrefixStore::new(store, prefix))
                };
                (store, None, 5 * 1024 * 1024, url.clone())
            }
            None => {
                let root = s.dir.join("objects");
                std::fs::create_dir_all(&root)?;
                let store = object_store::local::LocalFileSystem::new_with_prefix(&root)?;
                let describe = root.display().to_string();
                (
                    Arc::new(store) as Arc<dyn ObjectStore>,
                    Some(root),
                    256 * 1024,
                    describe,
                )
            }
        };
        Ok(Objects {
            store,
            local,
            spool,
            grace: s.grace,
            part,
            writers: Semaphore::new(4),
            describe,
        })
    }

    /// The object name of a sha256.
    fn name(sha256: &str) -> Path {
        Path::from(format!("sha256/{sha256}"))
    }

    /// A new spool file for an upload.
    pub async fn spool(&self) -> Result<Spool, ObjectError> {
        let path = self.spool.join(Uuid::new_v4().to_string());
        let file = tokio::fs::File::create(&path).await?;
        Ok(Spool {
            file,
            guard: SpoolGuard(path),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::with_capacity(8),
        })
    }

    /// Makes a spooled file an object (unless the same bytes are stored already, recently enough
    /// that no sweep can take them before the row naming them is written).
    pub async fn keep(&self, file: &Spooled) -> Result<(), ObjectError> {
        let name = Self::name(&file.sha256);
        let fresh = Utc::now() - chrono::Duration::from_std(self.grace / 2).unwrap_or_default();
        match self.store.head(&name).await {
            Ok(meta) if meta.size == file.size && meta.last_modified > fresh => return Ok(()),
            Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        let _permit = self.writers.acquire().await;
        let mut writer = BufWriter::with_capacity(self.store.clone(), name, self.part);
        let copied = async {
            let mut source = tokio::fs::File::open(&file.guard.0).await?;
            tokio::io::copy(&mut source, &mut writer).await?;
            writer.shutdown().await
        }
        .await;
        if let Err(e) = copied {
            let _ = writer.abort().await;
            return Err(e.into());
        }
        Ok(())
    }

    /// Whether the object of a sha256 is in the store.
    pub async fn exists(&self, sha256: &str) -> Result<bool, ObjectError> {
        match self.store.head(&Self::name(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The bytes of an object, as a stream.
    pub async fn read(
        &self,
        sha256: &str,
    ) -> Result<BoxStream<'static, Result<Bytes, ObjectError>>, ObjectError> {
        let got = self.store.get(&Self::name(sha256)).await?;
        Ok(got.into_stream().map_err(ObjectError::from).boxed())
    }

    /// Whether an object exists with this size and these bytes (read whole and hashed).
    pub async fn check(&self, sha256: &str, size: u64) -> Result<Check, ObjectError> {
        let mut stream = match self.read(sha256).await {
            Ok(s) => s,
            Err(ObjectError::Store(object_store::Error::NotFound { .. })) => {
                return Ok(Check::Missing)
            }
            Err(e) => return Err(e),
        };
        let mut hasher = Sha256::new();
        let mut seen = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            seen += chunk.len() as u64;
            hasher.update(&chunk);
        }
        let hex = hex(&hasher.finalize());
        Ok(if hex == sha256 && seen == size {
            Check::Intact
        } else {
            Check::Corrupt
        })
    }

    /// Deletes the objects older than the grace period that no row names (an upload's object
    /// whose row was never written), a page at a time; returns how many. In a local store it
    /// also removes the staging files a crash left behind mid-write.
    pub async fn sweep(
        &self,
        conn: &mut AsyncPgConnection,
        now: DateTime<Utc>,
    ) -> Result<usize, ObjectError> {
        let before = now - chrono::Duration::from_std(self.grace).unwrap_or_default();
        let mut listing = self.store.list(Some(&Path::from("sha256")));
        let mut page = Vec::new();
        let mut deleted = 0;
        loop {
            let next = listing.next().await.transpose()?;
            if let Some(meta) = &next {
                if meta.last_modified < before {
                    if let Some(name) = meta.location.filename() {
                        page.push(name.to_string());
                    }
                }
            }
            if page.len() >= 500 || (next.is_none() && !page.is_empty()) {
                let shas = std::mem::take(&mut page);
                let named = attachments::named(conn, &shas).await?;
                for sha in shas.into_iter().filter(|s| !named.contains(s)) {
                    // checked again under the object's lock, which an upload naming it takes too
                    let store = self.store.clone();
                    let gone = conn
                        .transaction::<_, ObjectError, _>(async move |conn| {
                            attachments::lock_object(conn, &sha).await?;
                            if !attachments::named(conn, std::slice::from_ref(&sha))
                                .await?
                                .is_empty()
                            {
                                return Ok(false);
                            }
                            match store.delete(&Self::name(&sha)).await {
                                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(true),
                                Err(e) => Err(e.into()),
                            }
                        })
                        .await?;
                    deleted += usize::from(gone);
                }
            }
            if next.is_none() {
                break;
            }
        }
        if let Some(root) = &self.local {
            deleted += sweep_staging(&root.join("sha256"), before)?;
        }
        Ok(deleted)
    }

    /// Files in the spool (uploads in flight): none once they are all answered.
    pub fn spooled(&self) -> usize {
        std::fs::read_dir(&self.spool)
            .map(|d| d.count())
            .unwrap_or(0)
    }
}

/// What `verify` found of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Present, of the right size and sha256.
    Intact,
    /// Not in the store.
    Missing,
    /// Present with other bytes.
    Corrupt,
}

/// Removes a local store's staging files (`<name>#<n>`) older than `before`.
fn sweep_staging(dir: &FsPath, before: DateTime<Utc>) -> Result<usize, ObjectError> {
    let mut removed = 0;
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let staging = name
            .split_once('#')
            .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .map(|t| DateTime::<Utc>::from(t) < before)
            .unwrap_or(false);
        if staging && old {
            std::fs::remove_file(e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deletes a spool file when dropped (answered, refused or cut off).
struct SpoolGuard(PathBuf);

impl Drop for SpoolGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// An upload being spooled: hashed, sized and recognised as it arrives.
pub struct Spool {
    file: tokio::fs::File,
    guard: SpoolGuard,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// Why a spooled upload was refused.
#[derive(Debug)]
pub enum Refused {
    /// More than [`MAX_SIZE`] bytes.
    TooLarge,
    /// Not a JPEG, PNG or PDF.
    Unsupported,
    /// No bytes at all.
    Empty,
    /// The disk failed.
    Io(std::io::Error),
}

impl Spool {
    /// Appends a chunk; refuses as soon as the file is too large or its first bytes are not a
    /// kind we keep.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), Refused> {
        self.size += chunk.len() as u64;
        if self.size > MAX_SIZE {
            return Err(Refused::TooLarge);
        }
        if self.head.len() < 8 {
            let take = (8 - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() == 8 && recognise(&self.head).is_none() {
                return Err(Refused::Unsupported);
            }
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await.map_err(Refused::Io)
    }

    /// The whole file, recognised.
    pub async fn finish(mut self) -> Result<Spooled, Refused> {
        if self.size == 0 {
            return Err(Refused::Empty);
        }
        let content_type = recognise(&self.head).ok_or(Refused::Unsupported)?;
        self.file.flush().await.map_err(Refused::Io)?;
        Ok(Spooled {
            guard: self.guard,
            sha256: hex(&self.hasher.finalize()),
            size: self.size,
            content_type,
        })
    }
}

/// A complete upload on local disk, ready to become an object.
pub struct Spooled {
    guard: SpoolGuard,
    /// Its sha256, hex.
    pub sha256: String,
    /// Bytes.
    pub size: u64,
    /// What its bytes say it is.
    pub content_type: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_recognised_by_their_bytes_not_their_names() {
        assert_eq!(recognise(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), Some("image/jpeg"));
        assert_eq!(recognise(b"\x89PNG\r\n\x1A\n\0\0"), Some("image/png"));
        assert_eq!(recognise(b"%PDF-1.7\n"), Some("application/pdf"));
        assert_eq!(recognise(b"MZ\x90\0\x03\0\0\0"), None, "a Windows program");
        assert_eq!(recognise(b"GIF89a\x01\0"), None);
        assert_eq!(recognise(b"<svg xml"), None);
    }

    #[test]
    fn hex_is_lowercase_two_digits_a_byte() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}
