//! Use cases: one function per thing a user does, each owning its transaction. The JSON API,
//! the console, the background jobs and the seeders all call these, so every rule exists once.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod city;
pub mod events;
pub mod fields;
pub mod filters;
pub mod groups;
pub mod handover;
pub mod health;
pub mod helpers;
pub mod import;
pub mod inbox;
pub mod ledger;
pub mod moves;
pub mod needs;
pub mod notifications;
pub mod org_units;
pub mod organizations;
pub mod page;
pub mod persons;
pub mod reports;
pub mod resources;
pub mod roster;
pub mod sla;
pub mod sweep;
pub mod users;
pub mod visits;
pub mod volunteers;
pub mod webhooks;
