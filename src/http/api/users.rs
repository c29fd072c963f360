//! Users: listed within scope, created and disabled by admins: the handlers.

use actix_web::{web, HttpResponse};

use super::{created, ok, Paged};
use crate::auth::Caller;
use crate::http::error::AppResult;
use crate::http::extract::{path_id, Json, Query};
use crate::http::AppState;
use crate::service::users::{self as svc, UserIn, UserOut, UserPatch, UserQuery};

/// `GET /api/v1/users`: users in scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<UserOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<UserQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    Ok(ok(&svc::list(&mut conn, &caller, q.0).await?))
}

/// `GET /api/v1/users/{id}`: one user in scope.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&svc::get(&mut conn, &caller, id).await?))
}

/// `POST /api/v1/users`: an admin creates a user in its city (the deployment admin anywhere).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserIn, security(("bearer" = [])), responses(
    (status = 201, body = UserOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "username taken", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<UserIn>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    Ok(created(&svc::create(&mut conn, &caller, body.0).await?))
}

/// `PATCH /api/v1/users/{id}`: an admin disables, re-enables or resets a user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatch, security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<UserPatch>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&svc::patch(&mut conn, &caller, id, body.0).await?))
}
