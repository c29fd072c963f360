//! Organisations acting inside units: association, branches, 残联, town centres,
//! departments, village stations, 村残协 and extension sites: the handlers.

use actix_web::{web, HttpResponse};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Json, Query};
use crate::service::organizations::{self as svc, OrgIn, OrgQuery, OrgRow, RecordOut};

/// `GET /api/v1/organizations`: organisations in scope.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "org", params(OrgQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<OrgRow>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(cx: Ctx, q: Query<OrgQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::list(&mut conn, &cx.caller, q.0).await?))
}

/// `GET /api/v1/organizations/{id}`: one organisation in scope.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = OrgRow), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::load_in_scope(&mut conn, &cx.caller, *id).await?))
}

/// `POST /api/v1/organizations`: an admin adds a department, a branch or an extension site.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "org", request_body = OrgIn, security(("bearer" = [])), responses(
    (status = 201, body = OrgRow), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(cx: Ctx, body: Json<OrgIn>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(created(&svc::create(&mut conn, &cx.caller, body.0).await?))
}

/// `GET /api/v1/organizations/{id}/record`: the needs an organisation handled (an extension site's record).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/record", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = RecordOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn record(cx: Ctx, id: web::Path<Uuid>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&svc::record(&mut conn, &cx.caller, *id).await?))
}
