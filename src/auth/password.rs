//! Argon2id password hashing, always off the async threads.
//!
//! Every hash needs 19 MiB of working memory (argon2id's default `m`). Allocating it per
//! sign-in let 64 concurrent sign-ins ask glibc for 1.2 GiB at once, and glibc kept most of it
//! afterwards (the server sat at ~190 MB resident after a burst of sign-ins). So hashing runs
//! through a small [`Workspace`]: as many slots as the machine has cores (hashing is pure CPU;
//! more at once only queues in the kernel), each slot a working buffer allocated once and
//! reused. A burst of sign-ins waits for a slot instead of allocating; memory for hashing is
//! bounded by `slots × 19 MiB` whatever the load.

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

/// The bounded set of hashing slots and their reusable working buffers.
struct Workspace {
    permits: Arc<Semaphore>,
    buffers: Mutex<Vec<Vec<Block>>>,
    slots: usize,
    /// Working buffers ever created (a buffer is created only when no free one is left).
    created: AtomicUsize,
}

fn workspace() -> &'static Workspace {
    static WORKSPACE: OnceLock<Workspace> = OnceLock::new();
    WORKSPACE.get_or_init(|| {
        let slots = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .clamp(1, 8);
        Workspace {
            permits: Arc::new(Semaphore::new(slots)),
            buffers: Mutex::new(Vec::with_capacity(slots)),
            slots,
            created: AtomicUsize::new(0),
        }
    })
}

impl Workspace {
    /// Runs `work` on the blocking pool with a slot's buffer, waiting for a free slot first.
    async fn run<T: Send + 'static>(
        &'static self,
        work: impl FnOnce(&mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let mut buffer = self.take();
            let result = work(&mut buffer);
            self.give_back(buffer);
            drop(permit);
            result
        })
        .await
        .map_err(Error::internal)
    }

    fn take(&self) -> Vec<Block> {
        let reused = self
            .buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        reused.unwrap_or_else(|| {
            self.created.fetch_add(1, Ordering::Relaxed);
            Vec::new()
        })
    }

    fn give_back(&self, buffer: Vec<Block>) {
        self.buffers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(buffer);
    }
}

/// How many hashes may run at once (the number of cores, 1..=8).
pub fn hashing_slots() -> usize {
    workspace().slots
}

/// How many working buffers hashing has allocated since start (never more than the slots).
pub fn hashing_buffers_created() -> usize {
    workspace().created.load(Ordering::Relaxed)
}

/// Hashes a password (argon2id, default parameters) on the blocking pool, in a hashing slot.
pub async fn hash(password: String) -> Result<String> {
    workspace()
        .run(move |blocks| hash_with(password.as_bytes(), blocks))
        .await?
}

/// Hashes synchronously (CLI and seeding), with a buffer of its own.
pub fn hash_blocking(password: &str) -> Result<String> {
    hash_with(password.as_bytes(), &mut Vec::new())
}

fn hash_with(password: &[u8], blocks: &mut Vec<Block>) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let params = Params::default();
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(Error::internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    hash_into(&argon2, password, raw_salt, &mut out, blocks).map_err(Error::internal)?;
    let output = Output::new(&out).map_err(Error::internal)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: params.try_into().map_err(Error::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(output),
    };
    Ok(phc.to_string())
}

/// Hashes into `out` with the slot's buffer, grown once to what `argon2`'s parameters need.
fn hash_into(
    argon2: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    blocks: &mut Vec<Block>,
) -> argon2::Result<()> {
    let needed = argon2.params().block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    argon2.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed])
}

/// Checks `password` against a PHC string with the slot's buffer; any malformed part is `false`.
fn verify_with(password: &[u8], stored: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else {
        return false;
    };
    let version = match parsed.version.map(Version::try_from).transpose() {
        Ok(version) => version.unwrap_or_default(),
        Err(_) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    if hash_into(
        &Argon2::new(algorithm, version, params),
        password,
        raw_salt,
        out,
        blocks,
    )
    .is_err()
    {
        return false;
    }
    // `Output`'s equality is constant-time.
    Output::new(out).is_ok_and(|computed| computed == expected)
}

/// A hash of a password nobody knows, verified against when the user does not exist,
/// so an unknown user costs the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_blocking("decoy-password-for-unknown-users").unwrap_or_else(|_| {
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ".into()
        })
    })
}

/// Verifies a password against a stored hash (or the decoy when `stored` is `None`), in a
/// hashing slot.
pub async fn verify(password: String, stored: Option<String>) -> Result<bool> {
    workspace()
        .run(move |blocks| {
            let known = stored.is_some();
            let stored = stored.unwrap_or_else(|| decoy_hash().to_string());
            let ok = verify_with(password.as_bytes(), &stored, blocks);
            known && ok
        })
        .await
}

/// Rules for a new password; returns the problem with it, if any.
pub fn policy_problem(password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < 8 {
        Some("must be at least 8 characters")
    } else if n > 128 {
        Some("must be at most 128 characters")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[tokio::test]
    async fn pooled_hashes_verify_with_the_reference_and_wrong_passwords_fail() {
        let stored = hash("correct horse".into()).await.expect("hash");
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        // the library's own verifier accepts what the pooled path wrote
        let parsed = PasswordHash::new(&stored).expect("phc");
        assert!(Argon2::default()
            .verify_password(b"correct horse", &parsed)
            .is_ok());
        assert!(verify("correct horse".into(), Some(stored.clone()))
            .await
            .expect("verify"));
        assert!(!verify("correct horsf".into(), Some(stored.clone()))
            .await
            .expect("verify"));
        // an unknown user never verifies, not even with the decoy's own password
        assert!(!verify("decoy-password-for-unknown-users".into(), None)
            .await
            .expect("verify"));
    }

    #[tokio::test]
    async fn hashes_written_with_other_parameters_still_verify() {
        // a stored hash from older or stronger settings: other m, t and p
        let params = Params::new(8 * 1024, 3, 2, None).expect("params");
        let salt = SaltString::generate(&mut OsRng);
        let stored = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"older password", &salt)
            .expect("hash")
            .to_string();
        assert!(verify("older password".into(), Some(stored.clone()))
            .await
            .expect("verify"));
        assert!(!verify("older passwore".into(), Some(stored))
            .await
            .expect("verify"));
        // argon2i and argon2d hashes too
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let stored = Argon2::new(algorithm, Version::V0x13, Params::default())
                .hash_password(b"other algorithm", &salt)
                .expect("hash")
                .to_string();
            assert!(verify("other algorithm".into(), Some(stored))
                .await
                .expect("verify"));
        }
    }

    #[tokio::test]
    async fn malformed_stored_hashes_never_verify() {
        for stored in [
            "",
            "not a hash",
            "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ",
            "$argon2id$v=99$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
            "$scrypt$ln=15,r=8,p=1$c29tZXNhbHRzb21lc2FsdA$9sTbSlTio3Biev89thdrlKKiCaYsjjYVJxGAL3swxpQ",
        ] {
            assert!(
                !verify("whatever".into(), Some(stored.into()))
                    .await
                    .expect("verify"),
                "{stored}"
            );
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_of_sign_ins_reuses_at_most_one_buffer_per_slot() {
        let stored = hash_blocking("burst password").expect("hash");
        let checks: Vec<_> = (0..24)
            .map(|i| {
                let stored = stored.clone();
                tokio::spawn(async move {
                    let password = if i % 2 == 0 {
                        "burst password"
                    } else {
                        "wrong"
                    };
                    verify(password.into(), Some(stored)).await
                })
            })
            .collect();
        let mut accepted = 0;
        for check in checks {
            if check.await.expect("join").expect("verify") {
                accepted += 1;
            }
        }
        assert_eq!(accepted, 12);
        // 24 verifications at once, yet no more working buffers than slots: the burst waited
        // for a slot instead of allocating 19 MiB each
        assert!(
            hashing_buffers_created() <= hashing_slots(),
            "{} buffers for {} slots",
            hashing_buffers_created(),
            hashing_slots()
        );
    }
}
