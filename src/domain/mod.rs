//! Pure types and rules: ids, resident ID numbers, roles, the org tree's vocabulary.

pub mod need;
pub mod resident_id;
pub mod roles;
pub mod sign_in;
