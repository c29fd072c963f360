//! Use cases: one function per thing a user does, each owning its transaction. The JSON API,
//! the console, the background jobs and the seeders all call these, so every rule exists once.

pub mod audit;
pub mod events;
pub mod fields;
pub mod groups;
pub mod handover;
pub mod helpers;
pub mod import;
pub mod inbox;
pub mod ledger;
pub mod needs;
pub mod page;
pub mod persons;
pub mod sweep;
pub mod visits;
