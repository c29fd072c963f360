//! zhucan (助残): disability-assistance case management for a county-level city.
//!
//! The library holds everything; `main.rs` only parses the command line.

pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod import;
pub mod jobs;
pub mod server;
pub mod service;
pub mod tools;
