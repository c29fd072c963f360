//! Attachments in the console: the 附件 section of a need's and a person's page (each file a
//! download link), the upload form (multipart, the CSRF token as its first field), and the
//! download — through `service::attachments`, as the API's handlers call it.

use actix_web::{http::StatusCode, web, HttpRequest};
use maud::{html, Markup};
use uuid::Uuid;

use super::layout::Notice;
use super::view::csrf;
use super::{guarded_download, see_other, zh, Html, Me, Refusal};
use crate::error::Error;
use crate::http::api::attachments::{file_response, UPLOAD_LIMIT};
use crate::http::error::AsProblem;
use crate::http::extract::path_id;
use crate::http::upload;
use crate::http::AppState;
use crate::service::attachments::{self as svc, AttachmentRow, Parent};

/// What a page shows of its parent's attachments.
#[derive(Default)]
pub struct Attached {
    /// The files, oldest first.
    pub files: Vec<AttachmentRow>,
    /// The user may add one.
    pub may_add: bool,
    /// On a need's page, the person's own papers (a certificate scan), to read before signing.
    pub person_files: Vec<AttachmentRow>,
}

/// Loads the attachments of a parent in scope and whether the user may add one.
pub async fn load(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &Me,
    parent: Parent,
) -> crate::error::Result<Attached> {
    let files = svc::list(conn, &me.caller, parent, Some(200), None)
        .await?
        .items;
    let may_add = match svc::may_attach(conn, &me.caller, parent).await {
        Ok(()) => true,
        Err(Error::Forbidden(_)) => false,
        Err(e) => return Err(e),
    };
    Ok(Attached {
        files,
        may_add,
        person_files: Vec::new(),
    })
}

/// A need's attachments, and its person's papers (whoever sees the need sees its person).
pub async fn load_for_need(
    conn: &mut diesel_async::AsyncPgConnection,
    me: &Me,
    need: Uuid,
    person: Uuid,
) -> crate::error::Result<Attached> {
    let mut a = load(conn, me, Parent::Need(need)).await?;
    a.person_files =
        match svc::list(conn, &me.caller, Parent::Person(person), Some(200), None).await {
            Ok(page) => page.items,
            Err(Error::NotFound) => Vec::new(),
            Err(e) => return Err(e),
        };
    Ok(a)
}

/// The 附件 section: the files as download links, and the upload form when the user may add.
pub fn section(me: &Me, a: &Attached, action: &str, hint: &str) -> Markup {
    html! {
        section.attachments aria-labelledby="attachments-h" {
            h2 #attachments-h { "附件" }
            @if a.files.is_empty() { p.empty { "还没有附件。" } }
            @else { (files(me, &a.files)) }
            @if !a.person_files.is_empty() {
                h3 { "残疾人的材料" }
                (files(me, &a.person_files))
            }
            @if a.may_add {
                h3 { "上传附件" }
                form method="post" action=(action) enctype="multipart/form-data" {
                    (csrf(&me.csrf))
                    div.field {
                        label for="attach-file" { "选择文件" }
                        p.hint #attach-file-hint { (hint) "：JPEG、PNG 图片或 PDF，不超过 10 MB。" }
                        input #attach-file type="file" name="file" required
                            accept=".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"
                            aria-describedby="attach-file-hint";
                    }
                    button type="submit" { "上传附件" }
                }
            }
        }
    }
}

fn files(me: &Me, list: &[AttachmentRow]) -> Markup {
    html! {
        ul.files {
            @for f in list {
                li {
                    a href=(format!("/attachments/{}", f.id)) download { (f.filename) }
                    span.meta {
                        " （" (kind(&f.content_type)) "，" (size(f.size)) "，"
                        (zh::time(f.created_at, me.tz)) "）"
                    }
                }
            }
        }
    }
}

fn kind(content_type: &str) -> &'static str {
    match content_type {
        "image/jpeg" => "JPEG 图片",
        "image/png" => "PNG 图片",
        _ => "PDF 文件",
    }
}

fn size(bytes: i64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    } else {
        format!("{} KB", (bytes + 1023) / 1024)
    }
}

/// Why an upload came back, in Chinese, for the page's notice.
fn problem(e: &Error) -> Option<&'static str> {
    match e {
        Error::UnsupportedMediaType(_) => Some("只能上传 JPEG、PNG 图片或 PDF 文件，未保存。"),
        Error::PayloadTooLarge(_) => Some("文件超过 10 MB，未保存。请压缩后重新上传。"),
        Error::Malformed(_) => Some("请先选择要上传的文件。"),
        Error::RequestTimeout => Some("上传超时，未保存。请在网络较好时重试。"),
        _ => None,
    }
}

/// A refusal of the form's token, raised inside the upload (before any byte is kept).
const CSRF_REFUSED: &str = "console form without its CSRF token";

/// Receives an upload from a page's form: the session's token first, then the file, through the
/// API's use case. `Ok(Err(notice))` when the file was refused (the page shows why).
async fn receive(
    req: &HttpRequest,
    me: &Me,
    state: &AppState,
    parent: Parent,
    payload: web::Payload,
) -> Result<Option<(StatusCode, Notice)>, Refusal> {
    let mut conn = me.conn(state).await?;
    svc::may_attach(&mut conn, &me.caller, parent).await?;
    drop(conn);
    let objects = &state.objects;
    let read = upload::read(req, payload, UPLOAD_LIMIT, &["csrf"], async |form| {
        me.check_token(form.field("csrf"))
            .map_err(|_| Error::Forbidden(CSRF_REFUSED))?;
        Ok(objects.spool().await?)
    })
    .await;
    let (form, spool) = match read {
        Ok(r) => r,
        Err(Error::Forbidden(CSRF_REFUSED)) => return Err(Refusal::Csrf),
        Err(e) => return refused(e),
    };
    let file = match spool.finish().await {
        Ok(f) => f,
        Err(r) => return refused(upload::refused(r)),
    };
    let mut conn = me.conn(state).await?;
    svc::attach(
        &mut conn,
        objects,
        &me.caller,
        parent,
        form.filename.as_deref(),
        file,
    )
    .await?;
    Ok(None)
}

/// A refused file as the page's notice with the API's status; any other failure as a refusal.
fn refused(e: Error) -> Result<Option<(StatusCode, Notice)>, Refusal> {
    match problem(&e) {
        Some(text) => Ok(Some((e.parts().0, Notice::Problem(html! { p { (text) } })))),
        None => Err(e.into()),
    }
}

/// `POST /needs/{id}/attachments`: attaches a file to a need, then back to its page.
pub async fn to_need(
    req: HttpRequest,
    me: Me,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Html {
    let parent = Parent::Need(path_id(&id)?);
    upload(&req, &me, &state, parent, payload).await
}

/// `POST /persons/{id}/attachments`: attaches a file to a person, then back to its page.
pub async fn to_person(
    req: HttpRequest,
    me: Me,
    state: web::Data<AppState>,
    id: web::Path<String>,
    payload: web::Payload,
) -> Html {
    let parent = Parent::Person(path_id(&id)?);
    upload(&req, &me, &state, parent, payload).await
}

/// An upload from a parent's page: back to that page (303), or the page with why it came back.
async fn upload(
    req: &HttpRequest,
    me: &Me,
    state: &AppState,
    parent: Parent,
    payload: web::Payload,
) -> Html {
    let refused = receive(req, me, state, parent, payload).await?;
    match (parent, refused) {
        (Parent::Need(id), None) => Ok(see_other(&format!("/needs/{id}?done=attach"), &[])),
        (Parent::Person(id), None) => Ok(see_other(&format!("/persons/{id}?done=attach"), &[])),
        (Parent::Need(id), Some((code, notice))) => {
            super::needs::show(me, state, id, notice, code).await
        }
        (Parent::Person(id), Some((code, notice))) => {
            super::person::show(me, state, id, notice, code).await
        }
    }
}

/// `GET /attachments/{id}`: the file, as the API answers it (404 outside the parent's scope).
pub async fn download(me: Me, state: web::Data<AppState>, id: web::Path<String>) -> Html {
    let id: Uuid = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let (row, bytes) = svc::open(&mut conn, &state.objects, &me.caller, id).await?;
    drop(conn);
    let mut res = file_response(&row, bytes);
    guarded_download(res.headers_mut());
    // the file's own policy, stricter than the pages'
    res.headers_mut().insert(
        actix_web::http::header::CONTENT_SECURITY_POLICY,
        actix_web::http::header::HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    Ok(res)
}
