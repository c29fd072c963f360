//! Attachment handlers: upload to a need or a person (multipart field `file`, streamed to the
//! spool), the lists, and the download.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::ok;
use crate::http::caller::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::upload;
use crate::service::attachments::{self as svc, AttachmentRow, Parent, MAX_SIZE};
use crate::service::page::{PageQuery, Paged};

/// The largest upload request: the file and the form around it.
pub const UPLOAD_LIMIT: usize = MAX_SIZE as usize + 64 * 1024;

/// The multipart form of an upload (documentation only: the handler streams it).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentUpload {
    /// The file: JPEG, PNG or PDF (recognised by its bytes), at most 10 MiB.
    #[schema(value_type = String, format = Binary, content_media_type = "application/octet-stream")]
    pub file: Vec<u8>,
}

/// The bytes of an attachment (documentation only).
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct AttachmentBytes(pub Vec<u8>);

/// Checks the caller may attach, then streams the file to the spool and keeps it.
pub async fn receive(
    req: &HttpRequest,
    cx: &Ctx,
    payload: web::Payload,
    parent: Parent,
) -> AppResult<AttachmentRow> {
    let mut conn = cx.conn().await?;
    svc::may_attach(&mut conn, &cx.caller, parent).await?;
    // the connection goes back to the pool while the file arrives
    drop(conn);
    let objects = &cx.state.objects;
    let (form, spool) = upload::read(req, payload, UPLOAD_LIMIT, &[], async |_| {
        Ok(objects.spool().await?)
    })
    .await?;
    let file = spool.finish().await.map_err(upload::refused)?;
    let mut conn = cx.conn().await?;
    svc::attach(
        &mut conn,
        objects,
        &cx.caller,
        parent,
        form.filename.as_deref(),
        file,
    )
    .await
}

fn created(a: AttachmentRow) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/attachments/{}", a.id)))
        .json(a)
}

/// `POST /api/v1/needs/{id}/attachments`: attaches a file to a need (an `attach` event).
#[utoipa::path(post, path = "/api/v1/needs/{id}/attachments", tag = "attachments", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    request_body(content = inline(AttachmentUpload), content_type = "multipart/form-data",
        description = "field `file`: a JPEG, PNG or PDF of at most 10 MiB"),
    responses(
        (status = 201, body = AttachmentRow, headers(("Location" = String, description = "the download"))),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "the auditor and a signed-in helper attach nothing", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes", body = crate::http::error::Problem),
        (status = 413, description = "the file exceeds 10 MiB", body = crate::http::error::Problem),
        (status = 415, description = "not multipart/form-data, or the file is not a JPEG, PNG or PDF by its bytes", body = crate::http::error::Problem)))]
pub async fn upload_to_need(
    req: HttpRequest,
    cx: Ctx,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    Ok(created(
        receive(&req, &cx, payload, Parent::Need(*id)).await?,
    ))
}

/// `POST /api/v1/persons/{id}/attachments`: attaches a file to a person (a certificate scan).
#[utoipa::path(post, path = "/api/v1/persons/{id}/attachments", tag = "attachments", params(("id" = Uuid, Path)),
    security(("bearer" = [])),
    request_body(content = inline(AttachmentUpload), content_type = "multipart/form-data",
        description = "field `file`: a JPEG, PNG or PDF of at most 10 MiB"),
    responses(
        (status = 201, body = AttachmentRow, headers(("Location" = String, description = "the download"))),
        (status = 400, description = "the multipart form is broken or has no field `file` (`malformed_body`)", body = crate::http::error::Problem),
        (status = 401, body = crate::http::error::Problem),
        (status = 403, description = "only admin, town and village staff attach to a person", body = crate::http::error::Problem),
        (status = 404, body = crate::http::error::Problem),
        (status = 408, description = "the upload did not arrive within 5 minutes", body = crate::http::error::Problem),
        (status = 413, description = "the file exceeds 10 MiB", body = crate::http::error::Problem),
        (status = 415, description = "not multipart/form-data, or the file is not a JPEG, PNG or PDF by its bytes", body = crate::http::error::Problem)))]
pub async fn upload_to_person(
    req: HttpRequest,
    cx: Ctx,
    id: web::Path<Uuid>,
    payload: web::Payload,
) -> AppResult<HttpResponse> {
    Ok(created(
        receive(&req, &cx, payload, Parent::Person(*id)).await?,
    ))
}

/// `GET /api/v1/needs/{id}/attachments`: a need's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/needs/{id}/attachments", tag = "attachments", params(("id" = Uuid, Path), PageQuery),
    security(("bearer" = [])), responses(
    (status = 200, body = Paged<AttachmentRow>), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn of_need(cx: Ctx, id: web::Path<Uuid>, q: Query<PageQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let page = svc::list(
        &mut conn,
        &cx.caller,
        Parent::Need(*id),
        q.0.limit,
        q.0.cursor.as_deref(),
    );
    Ok(ok(&page.await?))
}

/// `GET /api/v1/persons/{id}/attachments`: a person's attachments, oldest first.
#[utoipa::path(get, path = "/api/v1/persons/{id}/attachments", tag = "attachments", params(("id" = Uuid, Path), PageQuery),
    security(("bearer" = [])), responses(
    (status = 200, body = Paged<AttachmentRow>), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn of_person(
    cx: Ctx,
    id: web::Path<Uuid>,
    q: Query<PageQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let page = svc::list(
        &mut conn,
        &cx.caller,
        Parent::Person(*id),
        q.0.limit,
        q.0.cursor.as_deref(),
    );
    Ok(ok(&page.await?))
}

/// `GET /api/v1/attachments/{id}`: the file, as a download.
#[utoipa::path(get, path = "/api/v1/attachments/{id}", tag = "attachments", params(("id" = Uuid, Path)),
    security(("bearer" = [])), responses(
    (status = 200, description = "the bytes, with `Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`", content(
        (AttachmentBytes = "image/jpeg"), (AttachmentBytes = "image/png"), (AttachmentBytes = "application/pdf")),
        headers(("Content-Disposition" = String), ("ETag" = String, description = "the sha256"))),
    (status = 401, body = crate::http::error::Problem),
    (status = 404, description = "no such attachment, or its need or person is outside your scope", body = crate::http::error::Problem)))]
pub async fn download(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let (row, bytes) = svc::open(&mut conn, &cx.state.objects, &cx.caller, *id).await?;
    drop(conn);
    Ok(file_response(&row, bytes))
}

/// The download of an attachment (for the API and the console alike).
pub fn file_response(
    row: &AttachmentRow,
    bytes: futures_util::stream::BoxStream<'static, Result<bytes::Bytes, svc::ObjectError>>,
) -> HttpResponse {
    use futures_util::TryStreamExt;
    HttpResponse::Ok()
        .content_type(row.content_type.as_str())
        .insert_header((header::CONTENT_LENGTH, row.size.to_string()))
        .insert_header((header::CONTENT_DISPOSITION, disposition(&row.filename)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::ETAG, format!("\"{}\"", row.sha256)))
        .streaming(bytes.map_err(|e| AppError::Unavailable(e.to_string())))
}

/// `attachment` with an ASCII fallback name and the real one in RFC 5987 form.
pub fn disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_name_downloads_under_its_own_name_with_an_ascii_fallback() {
        assert_eq!(
            disposition("残疾证.jpg"),
            "attachment; filename=\"___.jpg\"; filename*=UTF-8''%E6%AE%8B%E7%96%BE%E8%AF%81.jpg"
        );
        assert_eq!(
            disposition("a\"b;.pdf"),
            "attachment; filename=\"a_b_.pdf\"; filename*=UTF-8''a%22b%3B.pdf"
        );
    }
}
