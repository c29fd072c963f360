//! Use cases: one function per thing a user does, each owning its transaction. The JSON API,
//! the console, the background jobs and the seeders all call these, so every rule exists once.

pub mod city;
pub mod ledger;
pub mod needs;
pub mod page;
pub mod reports;
pub mod resources;
pub mod roster;
pub mod sla;
pub mod volunteers;
