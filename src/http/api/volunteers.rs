//! Volunteer teams (志愿服务队) and volunteers' service hours (志愿服务时长).

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Page, Query};
use crate::service::volunteers::{
    self, ServiceIn, ServiceOut, ServicePage, ServiceQuery, TeamIn, TeamOut, TeamQuery,
};

/// `GET /api/v1/volunteer-teams`: the city's teams with members and hours.
#[utoipa::path(get, path = "/api/v1/volunteer-teams", tag = "volunteers", params(TeamQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<TeamOut>), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_teams(cx: Ctx, q: Query<TeamQuery>) -> AppResult<HttpResponse> {
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    let (items, next_cursor) = volunteers::list_teams(&mut conn, &cx.caller, &q.0, &page).await?;
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/volunteer-teams/{id}`: one team.
#[utoipa::path(get, path = "/api/v1/volunteer-teams/{id}", tag = "volunteers", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = TeamOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_team(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&volunteers::get_team(&mut conn, &cx.caller, *id).await?))
}

/// `POST /api/v1/volunteer-teams`: a team at a village, town or the city in scope.
#[utoipa::path(post, path = "/api/v1/volunteer-teams", tag = "volunteers", request_body = TeamIn, security(("bearer" = [])), responses(
    (status = 201, body = TeamOut), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create_team(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = volunteers::create_team(&mut conn, &cx.caller, || body.json()).await?;
    Ok(created(&out))
}

/// `POST /api/v1/service-records`: records a volunteer's hours on a need.
#[utoipa::path(post, path = "/api/v1/service-records", tag = "volunteers", request_body = ServiceIn, security(("bearer" = [])), responses(
    (status = 201, body = ServiceOut), (status = 403, body = crate::http::error::Problem),
    (status = 422, description = "bad hours (or over 24 in a day for the helper)", body = crate::http::error::Problem)))]
pub async fn create_record(cx: Ctx, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = volunteers::create_record(&mut conn, &cx.caller, || body.json()).await?;
    Ok(created(&out))
}

/// `GET /api/v1/service-records`: records in the caller's city, filtered, with their total hours.
#[utoipa::path(get, path = "/api/v1/service-records", tag = "volunteers", params(ServiceQuery), security(("bearer" = [])), responses(
    (status = 200, body = ServicePage), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_records(cx: Ctx, q: Query<ServiceQuery>) -> AppResult<HttpResponse> {
    let page = Page::new(q.0.limit, q.0.cursor.as_deref())?;
    let mut conn = cx.conn().await?;
    Ok(ok(&volunteers::list_records(
        &mut conn, &cx.caller, &q.0, &page,
    )
    .await?))
}
