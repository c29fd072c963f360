//! Black-box HTTP tests: the real app, real PostgreSQL, one database per test.

mod support;

mod attachments;
mod auth;
mod authz;
mod case_numbers;
mod console;
mod console_files;
mod faults;
mod fuzz_regressions;
mod hardening;
mod helper_accounts;
mod helpers;
mod import;
mod inbox;
mod moves;
mod needs;
mod needs_props;
mod notifications;
mod openapi;
mod org;
mod persons;
mod reports;
mod resources;
mod schema;
mod search;
mod synthetic;
mod webhooks;
