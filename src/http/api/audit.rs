//! The audit log of reveals and exports of personal data: the handler.

use actix_web::HttpResponse;

use super::{ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Page, Query};
use crate::service::audit::{self as svc, AuditOut, AuditQuery};

/// `GET /api/v1/audit-log`: reveals and exports in scope (admins and auditors).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(AuditQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<AuditOut>), (status = 403, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<AuditQuery>) -> AppResult<HttpResponse> {
    let (limit, cursor) = (q.0.limit, q.0.cursor.clone());
    let page = || Page::new(limit, cursor.as_deref());
    let mut conn = cx.conn().await?;
    let window = || page().map(|p| (p.limit + 1, p.after));
    let rows = svc::list(&mut conn, &cx.caller, q.0, window).await?;
    let (items, next_cursor) = page()?.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}
