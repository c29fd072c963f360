//! Helpers (包保人): the people of a town who make up 三帮一 contact groups: the handlers.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Page, Query};
use crate::service::helpers::{
    self as svc, HelperAccountIn, HelperIn, HelperOut, HelperPatch, HelperQuery,
};

/// `GET /api/v1/helpers`: helpers in scope.
#[utoipa::path(get, path = "/api/v1/helpers", tag = "helpers", params(HelperQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<HelperOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<HelperQuery>) -> AppResult<HttpResponse> {
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let rows = svc::list(&mut conn, &cx.caller, q.0, page.limit + 1, page.after).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/helpers/{id}`: one helper in scope.
#[utoipa::path(get, path = "/api/v1/helpers/{id}", tag = "helpers", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = HelperOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::get(&mut conn, &cx.caller, *id).await?))
}

/// `POST /api/v1/helpers`: adds a helper to a village of the caller's scope.
#[utoipa::path(post, path = "/api/v1/helpers", tag = "helpers", request_body = HelperIn, security(("bearer" = [])), responses(
    (status = 201, body = HelperOut), (status = 403, body = crate::http::error::Problem), (status = 409, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(
        &svc::create(&mut conn, &cx.caller, || body.json::<HelperIn>()).await?,
    ))
}

/// `PATCH /api/v1/helpers/{id}`: edits a helper; deactivation leaves their groups incomplete.
#[utoipa::path(patch, path = "/api/v1/helpers/{id}", tag = "helpers", params(("id" = Uuid, Path)), request_body = HelperPatch, security(("bearer" = [])), responses(
    (status = 200, body = HelperOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::patch(&mut conn, &cx.caller, *id, || {
        body.json::<HelperPatch>()
    })
    .await?))
}

/// `POST /api/v1/helpers/{id}/account`: creates the helper's sign-in account (role `helper`).
#[utoipa::path(post, path = "/api/v1/helpers/{id}/account", tag = "helpers", params(("id" = Uuid, Path)), request_body = HelperAccountIn, security(("bearer" = [])), responses(
    (status = 201, body = crate::service::users::UserOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn account(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(
        &svc::account(&mut conn, &cx.caller, *id, || {
            body.json::<HelperAccountIn>()
        })
        .await?,
    ))
}
