//! SLA policies: the hours allowed in each (state, loop, level, urgency), per city.

use actix_web::HttpResponse;

use super::ok;
use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::{Body, Query};
use crate::service::roster::CityQuery;
use crate::service::sla::{self, SlaIn, SlaOut};

/// `GET /api/v1/sla-policies`: the city's effective SLA table.
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "needs", params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = SlaOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn get(cx: Ctx, q: Query<CityQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    Ok(ok(&sla::get(&mut conn, &cx.caller, q.0.city_id).await?))
}

/// `PUT /api/v1/sla-policies`: replaces the city's SLA table (admin).
#[utoipa::path(put, path = "/api/v1/sla-policies", tag = "needs", request_body = SlaIn, params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = SlaOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn put(cx: Ctx, q: Query<CityQuery>, body: Body) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    let out = sla::put(&mut conn, &cx.caller, q.0.city_id, || body.json()).await?;
    Ok(ok(&out))
}
