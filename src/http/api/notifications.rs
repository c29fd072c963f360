//! The caller's notifications: `/me/notifications`, read one, read all.

use actix_web::{web, HttpResponse};

use super::ok;
use crate::auth::Caller;
use crate::http::error::AppResult;
use crate::http::extract::{path_id, Query};
use crate::http::AppState;
use crate::service::notifications::{self as svc, NotificationQuery, NotificationsOut};

/// `GET /api/v1/me/notifications`: the caller's notifications, newest first, with the unread count.
#[utoipa::path(get, path = "/api/v1/me/notifications", tag = "notifications", params(NotificationQuery),
    security(("bearer" = [])), responses(
    (status = 200, body = NotificationsOut), (status = 401, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<NotificationQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    Ok(ok(&svc::list(&mut conn, &caller, q.0).await?))
}

/// `POST /api/v1/me/notifications/{id}/read`: marks one notification read (404 for anyone else's).
#[utoipa::path(post, path = "/api/v1/me/notifications/{id}/read", tag = "notifications",
    params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "read"), (status = 401, body = crate::http::error::Problem),
    (status = 404, body = crate::http::error::Problem)))]
pub async fn read(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    svc::read(&mut conn, &caller, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /api/v1/me/notifications/read-all`: marks every notification of the caller read.
#[utoipa::path(post, path = "/api/v1/me/notifications/read-all", tag = "notifications",
    security(("bearer" = [])), responses(
    (status = 204, description = "all read"), (status = 401, body = crate::http::error::Problem)))]
pub async fn read_all(caller: Caller, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    svc::read_all(&mut conn, &caller).await?;
    Ok(HttpResponse::NoContent().finish())
}
