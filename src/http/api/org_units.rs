//! The org tree (1+16+N): city → town (街道/镇) → village (社区/村): the handlers.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::service::org_units::{self as svc, UnitIn, UnitOut, UnitQuery};

/// `GET /api/v1/org-units`: the units in scope.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org", params(UnitQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<UnitOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<UnitQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::list(&mut conn, &cx.caller, q.0).await?))
}

/// `GET /api/v1/org-units/{id}`: one unit in scope.
#[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UnitOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(
        &svc::load_in_scope(&mut conn, cx.caller.scope, *id).await?
    ))
}

/// `POST /api/v1/org-units`: a city (deployment admin), a town or a village (admins of the city);
/// the unit's own organisations come with it.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org", request_body = UnitIn, security(("bearer" = [])), responses(
    (status = 201, body = UnitOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "code taken", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Json<UnitIn>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(&svc::create(&mut conn, &cx.caller, body.0).await?))
}
