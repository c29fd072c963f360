//! Reports: coverage (三帮一), needs, SLA (按时办结率, 满意率), funds and volunteer hours,
//! for any unit in scope with a row per child unit. Each report is a [`Table`]; how it is
//! rendered (JSON, CSV, XLSX) is the caller's. Every figure is defined in docs/reports.md.
//!
//! Reports read outside a transaction, as they always have: each figure is one statement, and a
//! BEGIN/COMMIT pair would add two round trips to every report.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use diesel_async::AsyncPgConnection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::org::{UnitName, UnitRow};
use crate::db::models::reports::{CampaignFiguresRow, GroupRow, SlaEventsRow, SlaNeedsRow};
use crate::db::queries::org_units;
use crate::db::queries::reports::{self as q, Grouped, HoursBy};
use crate::domain::caller::Caller;
use crate::domain::need::{Category, Level, Loop, State};
use crate::error::{Error, Result};

/// Which unit a report is about, the period, and the format.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The unit (default: the caller's own).
    pub org_unit_id: Option<Uuid>,
    /// For a deployment admin without `org_unit_id`: the city.
    pub city_id: Option<Uuid>,
    /// First day of the period, inclusive (default 1 January this year).
    pub from: Option<NaiveDate>,
    /// Last day of the period, inclusive (default today).
    pub to: Option<NaiveDate>,
    /// `json` (default), `csv` or `xlsx`.
    pub format: Option<String>,
    /// Column headers of csv/xlsx: `en` (default) or `zh` (中文表头).
    pub lang: Option<String>,
}

/// A unit as reports name it.
#[derive(Debug, Serialize, ToSchema, Clone)]
pub struct UnitRef {
    /// Id.
    pub id: Uuid,
    /// `city`, `town`, `village`.
    pub kind: String,
    /// Name.
    pub name: String,
}

impl From<UnitName> for UnitRef {
    fn from(u: UnitName) -> Self {
        UnitRef {
            id: u.id,
            kind: u.kind,
            name: u.name,
        }
    }
}

/// How to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// application/json.
    Json,
    /// text/csv with a BOM.
    Csv {
        /// Chinese headers.
        zh: bool,
    },
    /// An Excel workbook.
    Xlsx {
        /// Chinese headers.
        zh: bool,
    },
}

impl Format {
    /// Parses `format` and `lang` (422 naming the parameter).
    pub fn parse(format: Option<&str>, lang: Option<&str>) -> Result<Format> {
        let zh = match lang {
            None | Some("en") => false,
            Some("zh") | Some("zh-CN") => true,
            Some(_) => return Err(Error::field("lang", "must be en or zh")),
        };
        match format {
            None | Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv { zh }),
            Some("xlsx") => Ok(Format::Xlsx { zh }),
            Some(_) => Err(Error::field("format", "must be json, csv or xlsx")),
        }
    }
}

/// A column: its key (dots nest in JSON) and its headers.
#[derive(Debug, Clone)]
pub struct Column {
    /// JSON key; `a.b` nests `b` under `a`.
    pub key: String,
    /// English header (the key).
    pub en: String,
    /// Chinese header.
    pub zh: String,
}

impl Column {
    /// A column with both headers.
    pub fn new(key: impl Into<String>, zh: impl Into<String>) -> Self {
        let key = key.into();
        Column {
            en: key.clone(),
            key,
            zh: zh.into(),
        }
    }
}

/// A report: the unit's totals and a row per child unit, plus extra JSON sections.
pub struct Table {
    /// Report name (file name of exports).
    pub name: &'static str,
    /// The unit.
    pub unit: UnitRef,
    /// Period start.
    pub from: NaiveDate,
    /// Period end.
    pub to: NaiveDate,
    /// The columns of totals and child rows.
    pub columns: Vec<Column>,
    /// The unit's values, one per column.
    pub totals: Vec<Value>,
    /// Each child unit's values.
    pub children: Vec<(UnitRef, Vec<Value>)>,
    /// Extra top-level JSON sections (lists), not exported to CSV/XLSX.
    pub extras: Vec<(&'static str, Value)>,
}

/// A report and the format it was asked for.
pub struct Report {
    /// The figures.
    pub table: Table,
    /// How to answer.
    pub format: Format,
}

/// A fraction 0–1, or null when the denominator is 0.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    if den == 0 {
        None
    } else {
        Some(num as f64 / den as f64)
    }
}

/// Days rounded to two places.
fn days2(d: Option<f64>) -> Value {
    d.map(|d| json!((d * 100.0).round() / 100.0))
        .unwrap_or(Value::Null)
}

/// Values of the totals and of each child unit: a table's body.
type Body = (Vec<Value>, Vec<(UnitRef, Vec<Value>)>);

/// What every report starts from: the unit in scope, the period as days and as UTC instants
/// (city time zone), and the format.
struct Preamble {
    unit: UnitRow,
    from: NaiveDate,
    to: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    format: Format,
}

impl Preamble {
    /// Resolves the report's unit (404 outside scope) and period (422 when inverted); narrow
    /// roles are refused (403) first, a bad format next (422).
    async fn resolve(
        conn: &mut AsyncPgConnection,
        caller: &Caller,
        q: &ReportQuery,
    ) -> Result<Self> {
        if caller.is_narrow() {
            return Err(Error::Forbidden(
                "reports cover whole units; your role sees only what is routed to you",
            ));
        }
        let format = Format::parse(q.format.as_deref(), q.lang.as_deref())?;
        let unit_id = match (q.org_unit_id, caller.unit_id) {
            (Some(u), _) => u,
            (None, Some(u)) => u,
            (None, None) => q.city_id.ok_or_else(|| {
                Error::field(
                    "org_unit_id",
                    "required for a deployment admin (or city_id)",
                )
            })?,
        };
        let unit = org_units::in_scope(conn, caller.scope, unit_id).await?;
        let tz: chrono_tz::Tz = q::time_zone(conn, unit.city_id)
            .await?
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or(chrono_tz::Asia::Shanghai);
        let today = Utc::now().with_timezone(&tz).date_naive();
        let from = q
            .from
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
        let to = q.to.unwrap_or(today);
        if from > to {
            return Err(Error::field("from", "must not be after to"));
        }
        let at = |d: NaiveDate| {
            let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
            tz.from_local_datetime(&midnight)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
        };
        let (start, end) = (at(from), at(to.succ_opt().unwrap_or(to)));
        Ok(Preamble {
            unit,
            from,
            to,
            start,
            end,
            format,
        })
    }

    /// The child units, in code order (read after the figures, as the bench scripts were captured).
    async fn children(&self, conn: &mut AsyncPgConnection) -> Result<Vec<UnitRef>> {
        let rows = org_units::children(conn, self.unit.id).await?;
        Ok(rows.into_iter().map(UnitRef::from).collect())
    }

    /// The totals' values and each child unit's (children only below a city or town).
    async fn body<R: GroupRow>(
        &self,
        conn: &mut AsyncPgConnection,
        g: Grouped<R>,
        values: impl Fn(Option<&R>) -> Vec<Value>,
    ) -> Result<Body> {
        let totals = values(g.totals.first());
        let mut children = Vec::new();
        if let Some(rows) = g.children {
            for u in self.children(conn).await? {
                let row = rows.iter().find(|r| r.grp() == Some(u.id));
                children.push((u, values(row)));
            }
        }
        Ok((totals, children))
    }

    /// The report, in the format asked for.
    fn report(
        self,
        name: &'static str,
        columns: Vec<Column>,
        (totals, children): Body,
        extras: Vec<(&'static str, Value)>,
    ) -> Report {
        let table = Table {
            name,
            unit: UnitRef {
                id: self.unit.id,
                kind: self.unit.kind,
                name: self.unit.name,
            },
            from: self.from,
            to: self.to,
            columns,
            totals,
            children,
            extras,
        };
        Report {
            table,
            format: self.format,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// coverage

/// A list as a JSON section of a report.
fn section<T: Serialize>(rows: Vec<T>) -> Value {
    serde_json::to_value(rows).unwrap_or(Value::Null)
}

/// 三帮一 coverage of a unit and each child unit, and the persons who need attention
/// (incomplete group, overdue visit).
pub async fn coverage(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rq: &ReportQuery,
) -> Result<Report> {
    let pre = Preamble::resolve(conn, caller, rq).await?;
    let interval = q::visit_interval_days(conn, pre.unit.city_id)
        .await?
        .unwrap_or(30);
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(interval));
    let counts = q::coverage(conn, &pre.unit, cutoff).await?;
    let body = pre
        .body(conn, counts, |r| {
            let (a, c, o) = r
                .map(|r| (r.active, r.covered, r.overdue))
                .unwrap_or((0, 0, 0));
            vec![
                json!(a),
                json!(c),
                json!(rate(c, a)),
                json!(a - c),
                json!(o),
            ]
        })
        .await?;
    let incomplete = q::incomplete_groups(conn, &pre.unit).await?;
    let overdue = q::overdue_visits(conn, &pre.unit, cutoff).await?;
    let columns = vec![
        Column::new("active_persons", "在册残疾人"),
        Column::new("covered_persons", "包保小组完整"),
        Column::new("coverage_rate", "三帮一覆盖率"),
        Column::new("incomplete_groups", "包保小组不完整"),
        Column::new("overdue_visits", "走访逾期"),
    ];
    let extras = vec![
        ("incomplete", section(incomplete)),
        ("overdue", section(overdue)),
        ("visit_interval_days", json!(interval)),
    ];
    Ok(pre.report("coverage", columns, body, extras))
}

// ---------------------------------------------------------------------------------------------
// needs

/// The needs report's columns: opened, closed, then one per state, loop, level and category.
fn needs_columns() -> Vec<Column> {
    let mut columns = vec![
        Column::new("opened", "新增诉求"),
        Column::new("closed", "办结诉求"),
    ];
    for &s in State::ALL {
        columns.push(Column::new(
            format!("by_state.{s}"),
            format!("状态-{}", s.zh()),
        ));
    }
    for &l in Loop::ALL {
        columns.push(Column::new(format!("by_loop.{l}"), l.zh()));
    }
    columns.push(Column::new("by_loop.untriaged", "未分流"));
    for &l in Level::ALL {
        columns.push(Column::new(format!("by_level.{l}"), l.zh()));
    }
    for &c in Category::ALL {
        let zh = c.zh();
        columns.push(Column::new(
            format!("by_category.{c}"),
            format!("类别-{zh}"),
        ));
    }
    columns
}

/// Needs filed in the period by state, loop, level and category; opened and closed in the period.
pub async fn needs(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rq: &ReportQuery,
) -> Result<Report> {
    let pre = Preamble::resolve(conn, caller, rq).await?;
    let columns = needs_columns();
    // the maintained summary (needs_daily): a few rows per village and day of the period, each
    // already the counts in the columns' order
    let rows = q::needs_daily(conn, &pre.unit, pre.from, pre.to).await?;
    let width = columns.len();
    let values = |g: Option<Uuid>, all: bool| -> Vec<Value> {
        let mut counts = vec![0i64; width];
        for r in rows.iter().filter(|r| all || r.grp == g) {
            for (c, n) in counts.iter_mut().zip(&r.counts) {
                *c += n;
            }
        }
        counts.into_iter().map(|c| json!(c)).collect()
    };
    let totals = values(None, true);
    let mut children = Vec::new();
    if q::has_children(&pre.unit) {
        for u in pre.children(conn).await? {
            let v = values(Some(u.id), false);
            children.push((u, v));
        }
    }
    Ok(pre.report("needs", columns, (totals, children), vec![]))
}

// ---------------------------------------------------------------------------------------------
// SLA

/// The SLA figures read from the needs, in their query's order (zeros and nulls when none).
fn sla_needs_values(r: Option<&SlaNeedsRow>) -> Vec<Value> {
    match r {
        Some(r) => vec![
            json!(r.closed),
            json!(r.closed_on_time),
            json!(rate(r.closed_on_time, r.closed)),
            json!(r.overdue_now),
            json!(rate(r.closed_reopened, r.closed)),
            days2(r.mean_days),
            days2(r.p90_days),
        ],
        None => vec![
            json!(0),
            json!(0),
            Value::Null,
            json!(0),
            Value::Null,
            Value::Null,
            Value::Null,
        ],
    }
}

/// The SLA figures read from the event summary, in their query's order.
fn sla_events_values(r: Option<&SlaEventsRow>) -> Vec<Value> {
    match r {
        Some(r) => vec![
            json!(r.auto_escalations),
            json!(r.followups),
            json!(r.satisfied),
            json!(rate(r.satisfied, r.followups)),
            json!(r.mean_satisfaction),
            json!(r.returns),
            json!(r.reroutes),
        ],
        None => vec![
            json!(0),
            json!(0),
            json!(0),
            Value::Null,
            Value::Null,
            json!(0),
            json!(0),
        ],
    }
}

/// One SLA row from the needs' figures `x` and the events' `y`, in the order of SPEC §5.
fn sla_row(x: &[Value], y: &[Value]) -> Vec<Value> {
    let g = |v: &[Value], i: usize| v.get(i).cloned().unwrap_or(Value::Null);
    let order = [
        (x, 0),
        (x, 1),
        (x, 2),
        (x, 3),
        (y, 0),
        (x, 4),
        (y, 1),
        (y, 2),
        (y, 3),
        (y, 4),
        (x, 5),
        (x, 6),
        (y, 5),
        (y, 6),
    ];
    order.iter().map(|&(v, i)| g(v, i)).collect()
}

/// The SLA report's columns, in the order of SPEC §5.
fn sla_columns() -> Vec<Column> {
    vec![
        Column::new("closed", "办结数"),
        Column::new("closed_on_time", "按时办结数"),
        Column::new("on_time_rate", "按时办结率"),
        Column::new("overdue_now", "当前逾期"),
        Column::new("auto_escalations", "自动上报"),
        Column::new("reopen_rate", "重办率"),
        Column::new("followups", "回访数"),
        Column::new("satisfied_followups", "满意回访数"),
        Column::new("satisfaction_rate", "满意率"),
        Column::new("mean_satisfaction", "平均满意度"),
        Column::new("mean_days_to_close", "平均办结天数"),
        Column::new("p90_days_to_close", "90%办结天数"),
        Column::new("returns", "退单数"),
        Column::new("reroutes", "转社会闭环数"),
    ]
}

/// On-time closure (按时办结率), overdue now, auto-escalations, days to close, reopen rate,
/// satisfaction (满意率), returns (退单) and reroutes.
pub async fn sla(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rq: &ReportQuery,
) -> Result<Report> {
    let pre = Preamble::resolve(conn, caller, rq).await?;
    let figures = q::sla_needs(conn, &pre.unit, pre.start, pre.end, Utc::now()).await?;
    let (a, ac) = pre.body(conn, figures, sla_needs_values).await?;
    let events = q::sla_events(conn, &pre.unit, pre.from, pre.to).await?;
    let (b, bc) = pre.body(conn, events, sla_events_values).await?;
    let totals = sla_row(&a, &b);
    let children = ac
        .into_iter()
        .zip(bc.iter())
        .map(|((u, x), (_, y))| (u, sla_row(&x, y)))
        .collect();
    Ok(pre.report("sla", sla_columns(), (totals, children), vec![]))
}

// ---------------------------------------------------------------------------------------------
// funds

/// What one campaign raised and allocated in the period.
#[derive(Serialize, ToSchema)]
struct CampaignFigures {
    campaign_id: Uuid,
    name: String,
    kind: String,
    raised_fen: i64,
    allocated_fen: i64,
    offline_fen: i64,
    online_platform_fen: i64,
    transfer_fen: i64,
    materials_value_fen: i64,
}

impl From<CampaignFiguresRow> for CampaignFigures {
    fn from(r: CampaignFiguresRow) -> Self {
        CampaignFigures {
            campaign_id: r.campaign_id,
            name: r.name,
            kind: r.kind,
            raised_fen: r.raised_fen,
            allocated_fen: r.allocated_fen,
            offline_fen: r.offline_fen,
            online_platform_fen: r.online_platform_fen,
            transfer_fen: r.transfer_fen,
            materials_value_fen: r.materials_value_fen,
        }
    }
}

/// Funds raised (the city's campaigns) per campaign and channel, and allocated to needs under
/// the unit.
pub async fn funds(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rq: &ReportQuery,
) -> Result<Report> {
    let pre = Preamble::resolve(conn, caller, rq).await?;
    let period = ((pre.from, pre.to), (pre.start, pre.end));
    let campaigns: Vec<CampaignFigures> =
        q::campaign_figures(conn, pre.unit.city_id, period.0, period.1)
            .await?
            .into_iter()
            .map(CampaignFigures::from)
            .collect();
    let sum = |f: fn(&CampaignFigures) -> i64| campaigns.iter().map(f).sum::<i64>();
    // donations belong to the city's campaigns: units below the city show only what reached them
    let mut totals = if pre.unit.kind == "city" {
        vec![
            json!(sum(|c| c.raised_fen)),
            json!(sum(|c| c.offline_fen)),
            json!(sum(|c| c.online_platform_fen)),
            json!(sum(|c| c.transfer_fen)),
            json!(sum(|c| c.materials_value_fen)),
        ]
    } else {
        vec![Value::Null; 5]
    };
    let allocated = q::funds_allocated(conn, &pre.unit, pre.start, pre.end).await?;
    let (alloc, alloc_children) = pre
        .body(conn, allocated, |r| {
            let (a, n, h) = r
                .map(|r| (r.allocated, r.allocations, r.needs_helped))
                .unwrap_or((0, 0, 0));
            vec![json!(a), json!(n), json!(h)]
        })
        .await?;
    totals.extend(alloc);
    let children = alloc_children
        .into_iter()
        .map(|(u, v)| (u, [vec![Value::Null; 5], v].concat()))
        .collect();
    let columns = vec![
        Column::new("raised_fen", "募集资金(分)"),
        Column::new("by_channel.offline", "线下募集(分)"),
        Column::new("by_channel.online_platform", "网络平台募集(分)"),
        Column::new("by_channel.transfer", "转账募集(分)"),
        Column::new("materials_value_fen", "物资折价(分)"),
        Column::new("allocated_fen", "拨付资金(分)"),
        Column::new("allocations", "拨付笔数"),
        Column::new("needs_helped", "受助诉求数"),
    ];
    let extras = vec![(
        "campaigns",
        serde_json::to_value(&campaigns).unwrap_or(Value::Null),
    )];
    Ok(pre.report("funds", columns, (totals, children), extras))
}

// ---------------------------------------------------------------------------------------------
// volunteers

/// Volunteer service hours (志愿服务时长) on needs under the unit, per child unit, per team and
/// per helper.
pub async fn volunteers(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    rq: &ReportQuery,
) -> Result<Report> {
    let pre = Preamble::resolve(conn, caller, rq).await?;
    let hours = q::volunteer_hours(conn, &pre.unit, pre.from, pre.to).await?;
    let body = pre
        .body(conn, hours, |r| {
            let (h, n, p, t) = r
                .map(|r| (r.halves, r.records, r.helpers, r.teams))
                .unwrap_or((0, 0, 0, 0));
            vec![json!(h as f64 / 2.0), json!(n), json!(p), json!(t)]
        })
        .await?;
    let mut lists = Vec::new();
    for (by, key) in [
        (HoursBy::Team, "volunteer_team_id"),
        (HoursBy::Helper, "helper_id"),
    ] {
        let rows = q::hours_by(conn, &pre.unit, by, pre.from, pre.to).await?;
        lists.push(Value::Array(
            rows.into_iter()
                .map(|r| json!({key: r.id, "name": r.name, "hours": r.halves as f64 / 2.0}))
                .collect(),
        ));
    }
    let helpers = lists.pop().unwrap_or(Value::Null);
    let teams = lists.pop().unwrap_or(Value::Null);
    let columns = vec![
        Column::new("hours", "志愿服务时长(小时)"),
        Column::new("records", "服务记录数"),
        Column::new("helpers", "参与志愿者"),
        Column::new("teams", "参与队伍"),
    ];
    let extras = vec![("teams", teams), ("helpers", helpers)];
    Ok(pre.report("volunteers", columns, body, extras))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_needs_summary_columns_are_the_reports_columns_in_order() {
        let keys: Vec<String> = needs_columns().into_iter().map(|c| c.key).collect();
        let from_summary: Vec<String> = q::NEEDS_DAILY_COLUMNS
            .iter()
            .map(|c| match c.split_once('_') {
                _ if *c == "filed" => "opened".to_string(),
                _ if *c == "closed" => "closed".to_string(),
                Some(("s", w)) => format!("by_state.{w}"),
                Some(("l", w)) => format!("by_loop.{w}"),
                Some(("v", w)) => format!("by_level.{w}"),
                Some(("c", w)) => format!("by_category.{w}"),
                _ => c.to_string(),
            })
            .collect();
        assert_eq!(keys, from_summary);
    }
}
