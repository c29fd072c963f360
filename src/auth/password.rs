//! Argon2id password hashing, always off the async threads.

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

use crate::http::error::{AppError, AppResult};

/// Hashes a password (argon2id, default parameters) on the blocking pool.
pub async fn hash(password: String) -> AppResult<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(AppError::internal)?
}

/// Hashes synchronously (CLI and seeding).
pub fn hash_blocking(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(AppError::internal)
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

/// Verifies a password against a stored hash (or the decoy when `stored` is `None`).
pub async fn verify(password: String, stored: Option<String>) -> AppResult<bool> {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let stored = stored.unwrap_or_else(|| decoy_hash().to_string());
        let ok = PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        known && ok
    })
    .await
    .map_err(AppError::internal)
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
