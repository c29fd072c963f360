//! Handlers, one module per resource.

pub mod attachments;
pub mod audit;
pub mod auth;
pub mod health;
pub mod helpers;
pub mod import;
pub mod inbox;
pub mod needs;
pub mod notifications;
pub mod org_units;
pub mod organizations;
pub mod persons;
pub mod reports;
pub mod resources;
pub mod roster;
pub mod sla;
pub mod users;
pub mod volunteers;
pub mod webhooks;

/// RFC 3339 timestamps as the API writes them.
pub use crate::domain::ts;

use actix_web::HttpResponse;
use serde::Serialize;

pub use crate::service::page::Paged;

/// 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}
