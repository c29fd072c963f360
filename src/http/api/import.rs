//! Importing registers from Excel/CSV: persons and helpers, with a per-row report.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::AppState;

/// `?format=` of a template.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// `POST /api/v1/persons/import`: a CSV or XLSX register of persons (multipart field `file`).
#[utoipa::path(post, path = "/api/v1/persons/import", tag = "import", security(("bearer" = [])), responses(
    (status = 200, description = "the per-row report"), (status = 400, body = crate::http::error::Problem)))]
pub async fn import_persons(
    _caller: Caller,
    _state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Err(AppError::internal("not yet"))
}

/// `GET /api/v1/persons/import/template`: an empty register with the expected header.
#[utoipa::path(get, path = "/api/v1/persons/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template")))]
pub async fn persons_template(
    _caller: Caller,
    _q: Query<TemplateQuery>,
) -> AppResult<HttpResponse> {
    Err(AppError::internal("not yet"))
}

/// `POST /api/v1/helpers/import`: a CSV or XLSX register of helpers (multipart field `file`).
#[utoipa::path(post, path = "/api/v1/helpers/import", tag = "import", security(("bearer" = [])), responses(
    (status = 200, description = "the per-row report"), (status = 400, body = crate::http::error::Problem)))]
pub async fn import_helpers(
    _caller: Caller,
    _state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    Err(AppError::internal("not yet"))
}

/// `GET /api/v1/helpers/import/template`: an empty helper register with the expected header.
#[utoipa::path(get, path = "/api/v1/helpers/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template")))]
pub async fn helpers_template(
    _caller: Caller,
    _q: Query<TemplateQuery>,
) -> AppResult<HttpResponse> {
    Err(AppError::internal("not yet"))
}
