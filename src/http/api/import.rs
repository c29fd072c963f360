//! Importing registers from Excel/CSV: persons and helpers, with a per-row report; and the
//! templates to fill in. The handlers stream the upload and hand its bytes to the service.
//!
//! The upload is a multipart form with the field `file`: CSV (UTF-8, BOM optional) or XLSX
//! (first sheet), told apart by content. The header row names the columns in English or
//! Chinese; unknown columns are ignored, a missing required one refuses the whole file.
//! Every data row is validated exactly as `POST /persons` (or `POST /helpers`) would; the
//! valid rows are written together in one transaction, the rest reported row by row.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::ok;
use crate::auth::Caller;
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::Query;
use crate::http::upload;
use crate::import::columns::{Register, HELPERS, PERSONS};
use crate::import::template::{self, Format};
use crate::service::import::{self as svc, HelperImportReport, PersonImportReport};

/// The largest import request body accepted (the multipart form, file included).
pub const IMPORT_LIMIT: usize = 16 * 1024 * 1024;
/// `?format=` of a template.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TemplateQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// The multipart form of an import (documentation only: the handler streams it). It holds the
/// one field `file`; any other part is refused (400), as unknown JSON fields are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportUpload {
    /// The register: CSV (UTF-8, BOM optional) or XLSX (first sheet), with a header row.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// A downloaded XLSX workbook (documentation only).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct SpreadsheetFile(pub Vec<u8>);

/// Streams the multipart body (at most `IMPORT_LIMIT` bytes, within the upload deadline) and
/// returns the `file` field.
async fn read_upload(req: &HttpRequest, payload: web::Payload) -> AppResult<Vec<u8>> {
    let (_, file) = upload::read(req, payload, IMPORT_LIMIT, &[], async |_| Ok(Vec::new())).await?;
    Ok(file)
}

/// A template as a download.
fn template(register: &Register, q: &TemplateQuery) -> AppResult<HttpResponse> {
    let t = template::render(register, Format::parse(q.format.as_deref())?)?;
    Ok(HttpResponse::Ok()
        .content_type(t.content_type)
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", t.file_name),
        ))
        .body(t.body))
}

/// `POST /api/v1/persons/import`: a CSV or XLSX register of persons (multipart field `file`).
///
/// Valid rows are created in one transaction; the report says what became of every row.
/// A request that is not `multipart/form-data` is 415; a form without `file` 400; a body over
/// 16 MiB 413; a file that is not CSV/XLSX, is empty, or lacks a required column 422 (on
/// `file` or on the column's key). In each of those cases nothing is written.
#[utoipa::path(post, path = "/api/v1/persons/import", tag = "import", security(("bearer" = [])),
    request_body(content = inline(ImportUpload), content_type = "multipart/form-data",
        description = "field `file`: CSV (UTF-8, BOM optional) or XLSX (first sheet); header in English or Chinese"),
    responses(
        (status = 200, description = "the per-row report (also when no row could be created)", body = PersonImportReport),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "only admin, town and village staff import", body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes (`request_timeout`)", body = crate::http::error::Problem),
        (status = 409, description = "a concurrent registration of the same ID number won (`duplicate`); nothing written", body = crate::http::error::Problem),
        (status = 413, description = "the body exceeds 16 MiB (`payload_too_large`)", body = crate::http::error::Problem),
        (status = 415, description = "the request is not multipart/form-data", body = crate::http::error::Problem),
        (status = 422, description = "the file is not CSV/XLSX, is empty, or its header lacks a required column (named as `field`)", body = crate::http::error::Problem)))]
pub async fn import_persons(
    req: HttpRequest,
    cx: Ctx,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    svc::authorize(&cx.caller)?;
    let table = svc::read(&cx.caller, PERSONS, read_upload(&req, payload).await?).await?;
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::persons(
        &mut conn,
        &cx.caller,
        &cx.state.pii,
        table,
    )
    .await?))
}

/// `POST /api/v1/helpers/import`: a CSV or XLSX register of helpers (multipart field `file`).
///
/// Columns: `name` 姓名, `phone` 电话, `kind` 类型 (the word or 村干部, 志愿者, 党员, 网格员,
/// 亲属/家属, 其他), `village_code` 村(社区)代码. A row identical to an existing helper (name,
/// phone, village) or to an earlier row is a `duplicate`. Errors as for the persons import.
#[utoipa::path(post, path = "/api/v1/helpers/import", tag = "import", security(("bearer" = [])),
    request_body(content = inline(ImportUpload), content_type = "multipart/form-data",
        description = "field `file`: CSV (UTF-8, BOM optional) or XLSX (first sheet); header in English or Chinese"),
    responses(
        (status = 200, description = "the per-row report (also when no row could be created)", body = HelperImportReport),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "only admin, town and village staff import", body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes (`request_timeout`)", body = crate::http::error::Problem),
        (status = 413, description = "the body exceeds 16 MiB (`payload_too_large`)", body = crate::http::error::Problem),
        (status = 415, description = "the request is not multipart/form-data", body = crate::http::error::Problem),
        (status = 422, description = "the file is not CSV/XLSX, is empty, or its header lacks a required column (named as `field`)", body = crate::http::error::Problem)))]
pub async fn import_helpers(
    req: HttpRequest,
    cx: Ctx,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    svc::authorize(&cx.caller)?;
    let table = svc::read(&cx.caller, HELPERS, read_upload(&req, payload).await?).await?;
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::helpers(&mut conn, &cx.caller, table).await?))
}

/// `GET /api/v1/persons/import/template`: an empty register with the expected header.
///
/// The Chinese header row only; CSV starts with a UTF-8 BOM (so Excel reads it as UTF-8).
#[utoipa::path(get, path = "/api/v1/persons/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template (`persons-template.csv` or `.xlsx`)", content(
        (String = "text/csv"),
        (SpreadsheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "`format` is neither csv nor xlsx", body = crate::http::error::Problem)))]
pub async fn persons_template(_caller: Caller, q: Query<TemplateQuery>) -> AppResult<HttpResponse> {
    template(&PERSONS, &q.0)
}

/// `GET /api/v1/helpers/import/template`: an empty helper register with the expected header.
#[utoipa::path(get, path = "/api/v1/helpers/import/template", tag = "import", params(TemplateQuery), security(("bearer" = [])), responses(
    (status = 200, description = "the template (`helpers-template.csv` or `.xlsx`)", content(
        (String = "text/csv"),
        (SpreadsheetFile = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    (status = 401, body = crate::http::error::Problem),
    (status = 422, description = "`format` is neither csv nor xlsx", body = crate::http::error::Problem)))]
pub async fn helpers_template(_caller: Caller, q: Query<TemplateQuery>) -> AppResult<HttpResponse> {
    template(&HELPERS, &q.0)
}
