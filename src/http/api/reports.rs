//! Reports: coverage (三帮一), needs, SLA (按时办结率, 满意率), funds and volunteer hours,
//! for any unit in scope with a row per child unit; JSON, CSV or XLSX. The figures are
//! [`service::reports`](crate::service::reports)'; the rendering is [`report_table`](crate::http::report_table)'s.

use actix_web::HttpResponse;

use crate::http::caller::Ctx;
use crate::http::error::AppResult;
use crate::http::extract::Query;
use crate::http::report_table::respond;
use crate::service::reports::{self, ReportQuery};

/// `GET /api/v1/reports/coverage`: 三帮一 coverage of a unit and each child unit, and the
/// persons who need attention (incomplete group, overdue visit).
#[utoipa::path(get, path = "/api/v1/reports/coverage", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {active_persons, covered_persons, coverage_rate, incomplete_groups, overdue_visits}, children, incomplete, overdue"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn coverage(cx: Ctx, q: Query<ReportQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    respond(&reports::coverage(&mut conn, &cx.caller, &q.0).await?)
}

/// `GET /api/v1/reports/needs`: needs filed in the period by state, loop, level and category;
/// opened and closed in the period.
#[utoipa::path(get, path = "/api/v1/reports/needs", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {opened, closed, by_state, by_loop, by_level, by_category}, children"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn needs(cx: Ctx, q: Query<ReportQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    respond(&reports::needs(&mut conn, &cx.caller, &q.0).await?)
}

/// `GET /api/v1/reports/sla`: on-time closure (按时办结率), overdue now, auto-escalations,
/// days to close, reopen rate, satisfaction (满意率), returns (退单) and reroutes.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {closed, closed_on_time, on_time_rate, overdue_now, auto_escalations, reopen_rate, followups, satisfied_followups, satisfaction_rate, mean_satisfaction, mean_days_to_close, p90_days_to_close, returns, reroutes}, children"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn sla(cx: Ctx, q: Query<ReportQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    respond(&reports::sla(&mut conn, &cx.caller, &q.0).await?)
}

/// `GET /api/v1/reports/funds`: funds raised (the city's campaigns) per campaign and channel, and
/// allocated to needs under the unit.
#[utoipa::path(get, path = "/api/v1/reports/funds", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {raised_fen, by_channel, materials_value_fen, allocated_fen, allocations, needs_helped}, children, campaigns"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn funds(cx: Ctx, q: Query<ReportQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    respond(&reports::funds(&mut conn, &cx.caller, &q.0).await?)
}

/// `GET /api/v1/reports/volunteers`: volunteer service hours (志愿服务时长) on needs under the unit,
/// per child unit, per team and per helper.
#[utoipa::path(get, path = "/api/v1/reports/volunteers", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {hours, records, helpers, teams}, children, teams, helpers"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn volunteers(cx: Ctx, q: Query<ReportQuery>) -> AppResult<HttpResponse> {
    let mut conn = cx.conn().await?;
    respond(&reports::volunteers(&mut conn, &cx.caller, &q.0).await?)
}
