//! 会长轮值: the duty roster of the association's presidents.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Page, Query};
use crate::service::roster::{
    self, CityQuery, CurrentOut, RosterIn, RosterPatch, RosterQuery, RosterRow,
};

/// `GET /api/v1/duty-roster`: the city's roster.
#[utoipa::path(get, path = "/api/v1/duty-roster", tag = "roster", params(RosterQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<RosterRow>), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<RosterQuery>) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let (items, next_cursor) = roster::list(&mut conn, &cx.caller, q.city_id, &page).await?;
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/duty-roster`: adds a turn; overlapping turns are refused (409).
#[utoipa::path(post, path = "/api/v1/duty-roster", tag = "roster", request_body = RosterIn, security(("bearer" = [])), responses(
    (status = 201, body = RosterRow), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), 
    (status = 409, description = "overlaps another turn", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(
        &roster::create(&mut conn, &cx.caller, || body.json()).await?,
    ))
}

/// `PATCH /api/v1/duty-roster/{id}`: changes a turn; open city needs follow whoever is on duty.
#[utoipa::path(patch, path = "/api/v1/duty-roster/{id}", tag = "roster", params(("id" = Uuid, Path)), request_body = RosterPatch, security(("bearer" = [])), responses(
    (status = 200, body = RosterRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(cx: Ctx, id: web::Path<Uuid>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&roster::patch(&mut conn, &cx.caller, *id, || {
        body.json()
    })
    .await?))
}

/// `DELETE /api/v1/duty-roster/{id}`: removes a turn.
#[utoipa::path(delete, path = "/api/v1/duty-roster/{id}", tag = "roster", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "removed"), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem)))]
pub async fn delete(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    roster::delete(&mut conn, &cx.caller, *id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /api/v1/duty-roster/current`: who is on duty today, or the gap.
#[utoipa::path(get, path = "/api/v1/duty-roster/current", tag = "roster", params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = CurrentOut), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn current(cx: Ctx, q: Query<CityQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(
        &roster::current(&mut conn, &cx.caller, q.0.city_id).await?
    ))
}
