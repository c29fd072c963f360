//! Operator commands beside the server: the demo city, synthetic load, verification of the
//! hash chains, and re-encryption of personal data under a new key.

pub mod rotate_pii_key;
pub mod seed;
pub mod synthetic;
pub mod verify;
