//! The caller's notifications: `/me/notifications`, read one, read all.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::ok;
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::Query;
use crate::service::notifications::{self as svc, NotificationQuery, NotificationsOut};

/// `GET /api/v1/me/notifications`: the caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications", params(NotificationQuery),
    security(("bearer" = [])), responses(
    (status = 200, body = NotificationsOut), (status = 401, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<NotificationQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::list(&mut conn, &cx.caller, q.0).await?))
}

/// `POST /api/v1/me/notifications/{id}/read`: marks one notification read (404 for anyone else's).
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "read"), (status = 401, body = crate::http::error::Problem),
    (status = 404, body = crate::http::error::Problem)))]
pub async fn read(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    svc::read(&mut conn, &cx.caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/notifications/read-all`: marks every notification of the caller read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "notifications",
    security(("bearer" = [])), responses(
    (status = 204, description = "all read"), (status = 401, body = crate::http::error::Problem)))]
pub async fn read_all(cx: Ctx) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    svc::read_all(&mut conn, &cx.caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
