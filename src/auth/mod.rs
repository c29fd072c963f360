//! Passwords, tokens, and the caller with its scope.

pub mod caller;
pub mod password;
pub mod sessions;
pub mod tokens;

pub use caller::{Caller, Scope};
