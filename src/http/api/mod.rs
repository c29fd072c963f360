//! Handlers, one module per resource.

pub mod audit;
pub mod auth;
pub mod health;
pub mod helpers;
pub mod import;
pub mod needs;
pub mod org_units;
pub mod organizations;
pub mod persons;
pub mod report_table;
pub mod reports;
pub mod resources;
pub mod roster;
pub mod sla;
pub mod users;
pub mod volunteers;

/// RFC 3339 timestamps as the API writes them.
pub use crate::domain::ts;

use actix_web::HttpResponse;
use serde::{Deserialize, Deserializer, Serialize};

pub use crate::service::page::Paged;

/// 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}

/// Distinguishes an absent field (`None`) from an explicit null (`Some(None)`) in PATCH bodies.
pub fn double_option<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// Trims a free-text field; empty becomes `None`.
pub fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Checks a phone number: digits, spaces, `+` and `-`, 5–20 characters.
pub fn phone_ok(p: &str) -> bool {
    let n = p.chars().count();
    (5..=20).contains(&n) && p.chars().all(|c| c.is_ascii_digit() || " +-".contains(c))
}
