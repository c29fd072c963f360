//! Pure types and rules: ids, resident ID numbers, roles, the org tree's vocabulary.

pub mod caller;
pub mod chain;
pub mod need;
pub mod pii;
pub mod resident_id;
pub mod roles;
pub mod sign_in;
pub mod sla;
pub mod text;
pub mod ts;
pub mod webhook;
