//! Organisations acting inside units: association, branches, 残联, town centres,
//! departments, village stations, 村残协 and extension sites: the handlers.

use actix_web::{web, HttpResponse};

use super::{created, ok, Paged};
use crate::auth::Caller;
use crate::http::error::AppResult;
use crate::http::extract::{path_id, Json, Query};
use crate::http::AppState;
use crate::service::organizations::{self as svc, OrgIn, OrgQuery, OrgRow, RecordOut};

/// `GET /api/v1/organizations`: organisations in scope.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "org", params(OrgQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<OrgRow>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<OrgQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    Ok(ok(&svc::list(&mut conn, &caller, q.0).await?))
}

/// `GET /api/v1/organizations/{id}`: one organisation in scope.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = OrgRow), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&svc::load_in_scope(&mut conn, &caller, id).await?))
}

/// `POST /api/v1/organizations`: an admin adds a department, a branch or an extension site.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "org", request_body = OrgIn, security(("bearer" = [])), responses(
    (status = 201, body = OrgRow), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<OrgIn>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    Ok(created(&svc::create(&mut conn, &caller, body.0).await?))
}

/// `GET /api/v1/organizations/{id}/record`: the needs an organisation handled (an extension site's record).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/record", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = RecordOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn record(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&svc::record(&mut conn, &caller, id).await?))
}
