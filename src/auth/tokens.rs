//! Access tokens (JWT, HS256 pinned, short-lived) and opaque one-time refresh tokens.

use base64::Engine;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The issuer every token carries and every check requires.
pub const ISSUER: &str = "zhucan";
/// The audience every token carries and every check requires.
pub const AUDIENCE: &str = "zhucan-api";

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Expiry (seconds since the epoch).
    pub exp: u64,
    /// Not before.
    pub nbf: u64,
    /// Issued at.
    pub iat: u64,
    /// Token id.
    pub jti: Uuid,
}

/// Signs and checks access tokens with one secret.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    /// Access-token lifetime in seconds.
    pub ttl_secs: u64,
}

impl TokenKeys {
    /// Keys from the HMAC secret.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "nbf"]);
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs,
        }
    }

    /// Issues an access token for a user.
    pub fn issue(&self, user_id: Uuid) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now_secs();
        let claims = Claims {
            sub: user_id,
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            exp: now + self.ttl_secs,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before.
    pub fn check(&self, token: &str) -> Option<Claims> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A fresh opaque refresh token (256 random bits, URL-safe base64).
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What the database stores of a refresh token: its SHA-256, never the token.
pub fn refresh_token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}
