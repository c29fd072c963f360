//! Users: listed within scope, created and disabled by admins: the handlers.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::service::users::{self as svc, UserIn, UserOut, UserPatch, UserQuery};

/// `GET /api/v1/users`: users in scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<UserOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<UserQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::list(&mut conn, &cx.caller, q.0).await?))
}

/// `GET /api/v1/users/{id}`: one user in scope.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::get(&mut conn, &cx.caller, *id).await?))
}

/// `POST /api/v1/users`: an admin creates a user in its city (the deployment admin anywhere).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserIn, security(("bearer" = [])), responses(
    (status = 201, body = UserOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "username taken", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Json<UserIn>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(&svc::create(&mut conn, &cx.caller, body.0).await?))
}

/// `PATCH /api/v1/users/{id}`: an admin disables, re-enables or resets a user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatch, security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(cx: Ctx, id: web::Path<Uuid>, body: Json<UserPatch>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::patch(&mut conn, &cx.caller, *id, body.0).await?))
}
