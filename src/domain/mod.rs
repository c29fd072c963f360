//! Pure types and rules: ids, resident ID numbers, roles, the org tree's vocabulary.

pub mod caller;
pub mod need;
pub mod pii;
pub mod resident_id;
pub mod roles;
pub mod text;
pub mod ts;
