//! 报表: coverage (三帮一) and SLA for a unit with its children — the figures of
//! `service::reports::{coverage, sla}` (the functions behind `GET /api/v1/reports/…`), drawn as
//! a table and a bar chart; `?format=xlsx` answers the same workbook as the API's
//! `?format=xlsx&lang=zh` through the same `http::report_table`. Roles the API refuses
//! (department officers, site staff) get the Chinese 403 page from the service's own refusal.

use actix_web::{http::header, web, HttpResponse};
use chrono::NaiveDate;
use diesel_async::AsyncPgConnection;
use serde::Deserialize;
use uuid::Uuid;

use super::report_view::{self as view, Kind};
use super::{guarded_download, html, Html, Me};
use crate::error::{Error, Result};
use crate::http::report_table;
use crate::http::AppState;
use crate::service::reports::{self as svc, Report, ReportQuery};

/// `?unit=`, `?from=`, `?to=` and `?format=xlsx` of a report page (blank values are absent,
/// as a GET form sends them).
#[derive(Debug, Deserialize)]
pub struct Params {
    unit: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

impl Params {
    /// The API's query: the unit (default the user's own), the period, xlsx with Chinese headers
    /// for a download; 422 naming the parameter that is not a unit id or a date.
    fn query(self) -> Result<ReportQuery> {
        let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
        let day = |v: Option<String>, field: &str| -> Result<Option<NaiveDate>> {
            blank(v)
                .map(|v| v.trim().parse::<NaiveDate>())
                .transpose()
                .map_err(|_| Error::field(field, "must be a date (YYYY-MM-DD)"))
        };
        let unit = blank(self.unit)
            .map(|u| u.trim().parse::<Uuid>())
            .transpose()
            .map_err(|_| Error::field("org_unit_id", "must be a unit id"))?;
        let xlsx = blank(self.format).is_some_and(|f| f == "xlsx");
        Ok(ReportQuery {
            org_unit_id: unit,
            city_id: None,
            from: day(self.from, "from")?,
            to: day(self.to, "to")?,
            format: xlsx.then(|| "xlsx".to_string()),
            lang: xlsx.then(|| "zh".to_string()),
        })
    }
}

/// `GET /reports/coverage`: 三帮一 coverage of a unit and each child unit.
pub async fn coverage(me: Me, state: web::Data<AppState>, q: web::Query<Params>) -> Html {
    answer(me, state, q.into_inner(), Kind::Coverage).await
}

/// `GET /reports/sla`: on-time closure and satisfaction of a unit and each child unit.
pub async fn sla(me: Me, state: web::Data<AppState>, q: web::Query<Params>) -> Html {
    answer(me, state, q.into_inner(), Kind::Sla).await
}

/// The report as a page, or as the API's workbook when `format=xlsx`.
async fn answer(me: Me, state: web::Data<AppState>, q: Params, kind: Kind) -> Html {
    let rq = q.query()?;
    let mut conn = me.conn(&state).await?;
    let report = figures(&mut conn, &me, &rq, kind).await?;
    if rq.format.is_some() {
        return Ok(download(&report)?);
    }
    let own = rq.org_unit_id.is_none() || rq.org_unit_id == me.caller.unit_id;
    Ok(html(
        actix_web::http::StatusCode::OK,
        view::page(&me, kind, &report.table, own),
    ))
}

async fn figures(
    conn: &mut AsyncPgConnection,
    me: &Me,
    rq: &ReportQuery,
    kind: Kind,
) -> Result<Report> {
    match kind {
        Kind::Coverage => svc::coverage(conn, &me.caller, rq).await,
        Kind::Sla => svc::sla(conn, &me.caller, rq).await,
    }
}

/// The API's answer to `?format=xlsx`, with the console's headers.
fn download(report: &Report) -> Result<HttpResponse> {
    let mut res = report_table::respond(report)?;
    guarded_download(res.headers_mut());
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}
