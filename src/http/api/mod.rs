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
pub mod ts;
pub mod users;
pub mod volunteers;

use actix_web::HttpResponse;
use serde::Serialize;
use utoipa::ToSchema;

/// A page of a list: the rows and the cursor of the next page (null on the last).
#[derive(Debug, Serialize, ToSchema)]
pub struct Paged<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; null when this is the last.
    pub next_cursor: Option<String>,
}

/// 200 with a JSON body.
pub fn ok<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok().json(body)
}

/// 201 with a JSON body.
pub fn created<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Created().json(body)
}
