//! Reports: coverage (三帮一), needs, SLA (按时办结率, 满意率), funds and volunteer hours,
//! for any unit in scope with a row per child unit; JSON, CSV or XLSX.
//! Every figure is defined in docs/reports.md; the SQL below is that definition.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use diesel::sql_types::{BigInt, Double, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::report_table::{Column, Format, Table};
use crate::auth::Caller;
use crate::db::schema::city_settings;
use crate::domain::need::{Category, Level, Loop, State};
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::AppState;
use crate::service::org_units::{load_in_scope, UnitOut};

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

/// The column of `persons`/`needs` that places a row under a unit of this kind.
pub fn unit_column(kind: &str) -> &'static str {
    match kind {
        "city" => "city_id",
        "town" => "town_id",
        _ => "village_id",
    }
}

/// The column naming a row's child unit under a unit of this kind (none for a village).
fn child_column(kind: &str) -> Option<&'static str> {
    match kind {
        "city" => Some("town_id"),
        "town" => Some("village_id"),
        _ => None,
    }
}

/// The unit, the period as days and as UTC instants (city time zone), and the format.
pub struct Scope {
    /// The unit.
    pub unit: UnitOut,
    /// First day.
    pub from: NaiveDate,
    /// Last day.
    pub to: NaiveDate,
    /// Start of `from` in the city's time zone.
    pub start: DateTime<Utc>,
    /// Start of the day after `to`.
    pub end: DateTime<Utc>,
    /// How to answer.
    pub format: Format,
}

impl Scope {
    fn unit_ref(&self) -> UnitRef {
        UnitRef {
            id: self.unit.id,
            kind: self.unit.kind.clone(),
            name: self.unit.name.clone(),
        }
    }
}

/// Resolves the report's unit (404 outside scope) and period (422 when inverted).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    q: &ReportQuery,
) -> AppResult<Scope> {
    use diesel::{OptionalExtension, QueryDsl};
    if caller.is_narrow() {
        return Err(AppError::Forbidden(
            "reports cover whole units; your role sees only what is routed to you",
        ));
    }
    let format = Format::parse(q.format.as_deref(), q.lang.as_deref())?;
    let unit_id = match (q.org_unit_id, caller.unit_id) {
        (Some(u), _) => u,
        (None, Some(u)) => u,
        (None, None) => q.city_id.ok_or_else(|| {
            AppError::field(
                "org_unit_id",
                "required for a deployment admin (or city_id)",
            )
        })?,
    };
    let unit = load_in_scope(conn, caller.scope, unit_id).await?;
    let tz: Option<String> = city_settings::table
        .find(unit.city_id)
        .select(city_settings::time_zone)
        .first(conn)
        .await
        .optional()?;
    let tz: chrono_tz::Tz = tz
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let today = Utc::now().with_timezone(&tz).date_naive();
    let from = q
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = q.to.unwrap_or(today);
    if from > to {
        return Err(AppError::field("from", "must not be after to"));
    }
    let at = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_else(|| Utc.from_utc_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default()))
    };
    let start = at(from);
    let end = at(to.succ_opt().unwrap_or(to));
    Ok(Scope {
        unit,
        from,
        to,
        start,
        end,
        format,
    })
}

#[derive(QueryableByName)]
struct UnitName {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
}

/// The child units of a unit, in code order.
async fn children_of(conn: &mut AsyncPgConnection, unit: &UnitOut) -> AppResult<Vec<UnitRef>> {
    let rows: Vec<UnitName> = diesel::sql_query(
        "SELECT id, kind, name FROM org_units WHERE parent_id = $1 ORDER BY code",
    )
    .bind::<SqlUuid, _>(unit.id)
    .load(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| UnitRef {
            id: r.id,
            kind: r.kind,
            name: r.name,
        })
        .collect())
}

/// Runs a per-group query (`{grp}` is replaced by a constant for the totals or the child column)
/// and assembles the table.
async fn grouped<R, F>(
    conn: &mut AsyncPgConnection,
    sc: &Scope,
    sql: &str,
    binds: impl Fn(
        diesel::query_builder::SqlQuery,
    ) -> diesel::query_builder::BoxedSqlQuery<
        'static,
        diesel::pg::Pg,
        diesel::query_builder::SqlQuery,
    >,
    key: fn(&R) -> Option<Uuid>,
    values: F,
) -> AppResult<(Vec<Value>, Vec<(UnitRef, Vec<Value>)>)>
where
    R: QueryableByName<diesel::pg::Pg> + Send + 'static,
    F: Fn(Option<&R>) -> Vec<Value>,
{
    let col = unit_column(&sc.unit.kind);
    let total_sql = sql
        .replace("n.{grp}", "NULL::uuid")
        .replace("{grp}", "NULL::uuid")
        .replace("{col}", col);
    let totals: Vec<R> = binds(diesel::sql_query(total_sql)).load(conn).await?;
    let total_values = values(totals.as_slice().first());
    let mut children = Vec::new();
    if let Some(child) = child_column(&sc.unit.kind) {
        let child_sql = format!(
            "{} GROUP BY 1",
            sql.replace("{grp}", child).replace("{col}", col)
        );
        let rows: Vec<R> = binds(diesel::sql_query(child_sql)).load(conn).await?;
        for u in children_of(conn, &sc.unit).await? {
            let row = rows.iter().find(|r| key(r) == Some(u.id));
            children.push((u, values(row)));
        }
    }
    Ok((total_values, children))
}

// ---------------------------------------------------------------------------------------------
// coverage

#[derive(QueryableByName)]
struct CoverageRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    grp: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    covered: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
}

/// A person needing attention (incomplete group or overdue visit).
#[derive(Debug, Serialize, ToSchema, QueryableByName)]
pub struct AttentionPerson {
    /// The person.
    #[diesel(sql_type = SqlUuid)]
    pub person_id: Uuid,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Village.
    #[diesel(sql_type = SqlUuid)]
    pub village_id: Uuid,
    /// Helpers in place (0–3).
    #[diesel(sql_type = SmallInt)]
    pub group_size: i16,
    /// Last visit.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_visited_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/reports/coverage`: 三帮一 coverage of a unit and each child unit, and the
/// persons who need attention (incomplete group, overdue visit).
#[utoipa::path(get, path = "/api/v1/reports/coverage", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {active_persons, covered_persons, coverage_rate, incomplete_groups, overdue_visits}, children, incomplete, overdue"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn coverage(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    use diesel::{OptionalExtension, QueryDsl};
    let mut conn = state.conn().await?;
    let sc = resolve(&mut conn, &caller, &q.0).await?;
    let interval: i32 = city_settings::table
        .find(sc.unit.city_id)
        .select(city_settings::visit_interval_days)
        .first(&mut conn)
        .await
        .optional()?
        .unwrap_or(30);
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(interval));
    let unit_id = sc.unit.id;
    let sql = "SELECT {grp} AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered, \
               count(*) FILTER (WHERE last_visited_at IS NULL OR last_visited_at < $2) AS overdue \
               FROM persons WHERE {col} = $1 AND status = 'active'";
    let (totals, children) = grouped::<CoverageRow, _>(
        &mut conn,
        &sc,
        sql,
        move |q| {
            q.into_boxed()
                .bind::<SqlUuid, _>(unit_id)
                .bind::<Timestamptz, _>(cutoff)
        },
        |r| r.grp,
        |r| {
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
        },
    )
    .await?;
    let col = unit_column(&sc.unit.kind);
    let incomplete: Vec<AttentionPerson> = diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND group_size < 3 ORDER BY id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit_id)
    .load(&mut conn)
    .await?;
    let overdue: Vec<AttentionPerson> = diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND (last_visited_at IS NULL OR last_visited_at < $2) \
         ORDER BY last_visited_at NULLS FIRST, id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit_id)
    .bind::<Timestamptz, _>(cutoff)
    .load(&mut conn)
    .await?;
    let table = Table {
        name: "coverage",
        unit: sc.unit_ref(),
        from: sc.from,
        to: sc.to,
        columns: vec![
            Column::new("active_persons", "在册残疾人"),
            Column::new("covered_persons", "包保小组完整"),
            Column::new("coverage_rate", "三帮一覆盖率"),
            Column::new("incomplete_groups", "包保小组不完整"),
            Column::new("overdue_visits", "走访逾期"),
        ],
        totals,
        children,
        extras: vec![
            (
                "incomplete",
                serde_json::to_value(incomplete).unwrap_or(Value::Null),
            ),
            (
                "overdue",
                serde_json::to_value(overdue).unwrap_or(Value::Null),
            ),
            ("visit_interval_days", json!(interval)),
        ],
    };
    table.respond(sc.format)
}

// ---------------------------------------------------------------------------------------------
// needs

/// `GET /api/v1/reports/needs`: needs filed in the period by state, loop, level and category;
/// opened and closed in the period.
#[utoipa::path(get, path = "/api/v1/reports/needs", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {opened, closed, by_state, by_loop, by_level, by_category}, children"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn needs(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let sc = resolve(&mut conn, &caller, &q.0).await?;
    // one count per column, all from one scan of the unit's needs touched in the period
    let mut columns = vec![
        Column::new("opened", "新增诉求"),
        Column::new("closed", "办结诉求"),
    ];
    let mut exprs = vec![
        "count(*) FILTER (WHERE created_at >= $2 AND created_at < $3)".to_string(),
        "count(*) FILTER (WHERE closed_at >= $2 AND closed_at < $3)".to_string(),
    ];
    let zh_state = |s: State| match s {
        State::Reported => "已上报",
        State::Registered => "已登记",
        State::Referred => "已转办",
        State::Escalated => "已上报上级",
        State::InProgress => "办理中",
        State::Resolved => "待回访",
        State::Closed => "已办结",
        State::Withdrawn => "已撤回",
    };
    let filed = "created_at >= $2 AND created_at < $3";
    for &s in State::ALL {
        columns.push(Column::new(
            format!("by_state.{s}"),
            format!("状态-{}", zh_state(s)),
        ));
        exprs.push(format!("count(*) FILTER (WHERE {filed} AND state = '{s}')"));
    }
    for &l in Loop::ALL {
        let zh = if l == Loop::Policy {
            "政策闭环"
        } else {
            "社会闭环"
        };
        columns.push(Column::new(format!("by_loop.{l}"), zh));
        exprs.push(format!("count(*) FILTER (WHERE {filed} AND loop = '{l}')"));
    }
    columns.push(Column::new("by_loop.untriaged", "未分流"));
    exprs.push(format!("count(*) FILTER (WHERE {filed} AND loop IS NULL)"));
    for &l in Level::ALL {
        let zh = match l {
            Level::Village => "村级",
            Level::Town => "镇街级",
            Level::City => "市级",
        };
        columns.push(Column::new(format!("by_level.{l}"), zh));
        exprs.push(format!("count(*) FILTER (WHERE {filed} AND level = '{l}')"));
    }
    for &c in Category::ALL {
        let zh = match c {
            Category::Rehabilitation => "康复",
            Category::AssistiveDevice => "辅具",
            Category::Education => "教育",
            Category::Employment => "就业",
            Category::Allowance => "补贴",
            Category::Medical => "医疗",
            Category::Housing => "住房",
            Category::DailyCare => "生活照料",
            Category::Culture => "文化",
            Category::LegalAid => "法律援助",
            Category::Other => "其他",
        };
        columns.push(Column::new(
            format!("by_category.{c}"),
            format!("类别-{zh}"),
        ));
        exprs.push(format!(
            "count(*) FILTER (WHERE {filed} AND category = '{c}')"
        ));
    }
    // two index range scans (filed in the period; closed in the period), grouped by the
    // dimensions; the pivot into columns happens here
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<SqlUuid>)]
        grp: Option<Uuid>,
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = Nullable<Text>)]
        lp: Option<String>,
        #[diesel(sql_type = Text)]
        level: String,
        #[diesel(sql_type = Text)]
        category: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let _ = exprs;
    let (unit_id, city, start, end) = (sc.unit.id, sc.unit.city_id, sc.start, sc.end);
    let col = unit_column(&sc.unit.kind);
    let child = child_column(&sc.unit.kind);
    let grp = child
        .map(|c| c.to_string())
        .unwrap_or_else(|| "NULL::uuid".into());
    let filed: Vec<Row> = diesel::sql_query(format!(
        "SELECT {grp} AS grp, state, loop AS lp, level, category, count(*) AS n FROM needs \
         WHERE city_id = $4 AND {col} = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1, 2, 3, 4, 5"
    ))
    .bind::<SqlUuid, _>(unit_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<SqlUuid, _>(city)
    .load(&mut conn)
    .await?;
    #[derive(QueryableByName)]
    struct Closed {
        #[diesel(sql_type = Nullable<SqlUuid>)]
        grp: Option<Uuid>,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let closed: Vec<Closed> = diesel::sql_query(format!(
        "SELECT {grp} AS grp, count(*) AS n FROM needs \
         WHERE city_id = $4 AND {col} = $1 AND state = 'closed' AND closed_at >= $2 AND closed_at < $3 GROUP BY 1"
    ))
    .bind::<SqlUuid, _>(unit_id)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .bind::<SqlUuid, _>(city)
    .load(&mut conn)
    .await?;
    let keys: Vec<String> = columns.iter().map(|c| c.key.clone()).collect();
    let values = |g: Option<Uuid>, all: bool| -> Vec<Value> {
        let mut counts = vec![0i64; keys.len()];
        for r in filed.iter().filter(|r| all || r.grp == g) {
            counts[0] += r.n;
            let lp = r.lp.clone().unwrap_or_else(|| "untriaged".into());
            for k in [
                format!("by_state.{}", r.state),
                format!("by_loop.{lp}"),
                format!("by_level.{}", r.level),
                format!("by_category.{}", r.category),
            ] {
                if let Some(i) = keys.iter().position(|x| *x == k) {
                    counts[i] += r.n;
                }
            }
        }
        counts[1] = closed
            .iter()
            .filter(|c| all || c.grp == g)
            .map(|c| c.n)
            .sum();
        counts.into_iter().map(|c| json!(c)).collect()
    };
    let totals = values(None, true);
    let mut children = Vec::new();
    if child.is_some() {
        for u in children_of(&mut conn, &sc.unit).await? {
            let v = values(Some(u.id), false);
            children.push((u, v));
        }
    }
    Table {
        name: "needs",
        unit: sc.unit_ref(),
        from: sc.from,
        to: sc.to,
        columns,
        totals,
        children,
        extras: vec![],
    }
    .respond(sc.format)
}

// ---------------------------------------------------------------------------------------------
// SLA

#[derive(QueryableByName)]
struct SlaNeeds {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    grp: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    closed: i64,
    #[diesel(sql_type = BigInt)]
    closed_on_time: i64,
    #[diesel(sql_type = BigInt)]
    closed_reopened: i64,
    #[diesel(sql_type = BigInt)]
    overdue_now: i64,
    #[diesel(sql_type = Nullable<Double>)]
    mean_days: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    p90_days: Option<f64>,
}

#[derive(QueryableByName)]
struct SlaEvents {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    grp: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    auto_escalations: i64,
    #[diesel(sql_type = BigInt)]
    followups: i64,
    #[diesel(sql_type = BigInt)]
    satisfied: i64,
    #[diesel(sql_type = Nullable<Double>)]
    mean_satisfaction: Option<f64>,
    #[diesel(sql_type = BigInt)]
    returns: i64,
    #[diesel(sql_type = BigInt)]
    reroutes: i64,
}

/// `GET /api/v1/reports/sla`: on-time closure (按时办结率), overdue now, auto-escalations,
/// days to close, reopen rate, satisfaction (满意率), returns (退单) and reroutes.
#[utoipa::path(get, path = "/api/v1/reports/sla", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {closed, closed_on_time, on_time_rate, overdue_now, auto_escalations, reopen_rate, followups, satisfied_followups, satisfaction_rate, mean_satisfaction, mean_days_to_close, p90_days_to_close, returns, reroutes}, children"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn sla(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let sc = resolve(&mut conn, &caller, &q.0).await?;
    let (unit_id, start, end, now, city) =
        (sc.unit.id, sc.start, sc.end, Utc::now(), sc.unit.city_id);
    let needs_sql = "SELECT {grp} AS grp, \
          count(*) FILTER (WHERE c) AS closed, \
          count(*) FILTER (WHERE c AND NOT ever_overdue) AS closed_on_time, \
          count(*) FILTER (WHERE c AND reopen_count > 0) AS closed_reopened, \
          count(*) FILTER (WHERE NOT c) AS overdue_now, \
          avg(days) FILTER (WHERE c) AS mean_days, \
          percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE c) AS p90_days \
        FROM ( \
          SELECT town_id, village_id, ever_overdue, reopen_count, true AS c, \
                 extract(epoch FROM closed_at - created_at)::float8 / 86400 AS days \
          FROM needs WHERE city_id = $5 AND {col} = $1 AND state = 'closed' AND closed_at >= $2 AND closed_at < $3 \
          UNION ALL \
          SELECT town_id, village_id, ever_overdue, reopen_count, false, NULL \
          FROM needs WHERE city_id = $5 AND {col} = $1 AND state NOT IN ('closed', 'withdrawn') AND due_at < $4) n";
    let (a, ac) = grouped::<SlaNeeds, _>(
        &mut conn,
        &sc,
        needs_sql,
        move |q| {
            q.into_boxed()
                .bind::<SqlUuid, _>(unit_id)
                .bind::<Timestamptz, _>(start)
                .bind::<Timestamptz, _>(end)
                .bind::<Timestamptz, _>(now)
                .bind::<SqlUuid, _>(city)
        },
        |r| r.grp,
        |r| match r {
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
        },
    )
    .await?;
    // the event counts come from the maintained daily summary (migration 000006), kept by a
    // trigger in the same transaction as each event: a few rows per village and day
    let events_sql = "SELECT {grp} AS grp, \
          coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations, \
          coalesce(sum(followups), 0)::bigint AS followups, \
          coalesce(sum(satisfied), 0)::bigint AS satisfied, \
          (sum(satisfaction_sum) / nullif(sum(satisfaction_n), 0))::float8 AS mean_satisfaction, \
          coalesce(sum(returns), 0)::bigint AS returns, \
          coalesce(sum(reroutes), 0)::bigint AS reroutes \
        FROM sla_event_daily \
        WHERE city_id = $4 AND {col} = $1 AND day >= $2 AND day <= $3";
    let (from_day, to_day) = (sc.from, sc.to);
    let (b, bc) = grouped::<SlaEvents, _>(
        &mut conn,
        &sc,
        events_sql,
        move |q| {
            q.into_boxed()
                .bind::<SqlUuid, _>(unit_id)
                .bind::<diesel::sql_types::Date, _>(from_day)
                .bind::<diesel::sql_types::Date, _>(to_day)
                .bind::<SqlUuid, _>(city)
        },
        |r| r.grp,
        |r| match r {
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
        },
    )
    .await?;
    // columns in the order of SPEC §5
    let order = |x: &[Value], y: &[Value]| -> Vec<Value> {
        let g = |v: &[Value], i: usize| v.get(i).cloned().unwrap_or(Value::Null);
        vec![
            g(x, 0),
            g(x, 1),
            g(x, 2),
            g(x, 3),
            g(y, 0),
            g(x, 4),
            g(y, 1),
            g(y, 2),
            g(y, 3),
            g(y, 4),
            g(x, 5),
            g(x, 6),
            g(y, 5),
            g(y, 6),
        ]
    };
    let totals = order(&a, &b);
    let children = ac
        .iter()
        .zip(bc.iter())
        .map(|((u, x), (_, y))| (u.clone(), order(x, y)))
        .collect();
    let columns = vec![
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
    ];
    Table {
        name: "sla",
        unit: sc.unit_ref(),
        from: sc.from,
        to: sc.to,
        columns,
        totals,
        children,
        extras: vec![],
    }
    .respond(sc.format)
}

// ---------------------------------------------------------------------------------------------
// funds

#[derive(QueryableByName)]
struct FundsRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    grp: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    allocated: i64,
    #[diesel(sql_type = BigInt)]
    allocations: i64,
    #[diesel(sql_type = BigInt)]
    needs_helped: i64,
}

#[derive(QueryableByName, Serialize, ToSchema)]
struct CampaignFigures {
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = BigInt)]
    raised_fen: i64,
    #[diesel(sql_type = BigInt)]
    allocated_fen: i64,
    #[diesel(sql_type = BigInt)]
    offline_fen: i64,
    #[diesel(sql_type = BigInt)]
    online_platform_fen: i64,
    #[diesel(sql_type = BigInt)]
    transfer_fen: i64,
    #[diesel(sql_type = BigInt)]
    materials_value_fen: i64,
}

/// `GET /api/v1/reports/funds`: funds raised (the city's campaigns) per campaign and channel, and
/// allocated to needs under the unit.
#[utoipa::path(get, path = "/api/v1/reports/funds", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {raised_fen, by_channel, materials_value_fen, allocated_fen, allocations, needs_helped}, children, campaigns"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn funds(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let sc = resolve(&mut conn, &caller, &q.0).await?;
    let (unit_id, city, start, end, from, to) = (
        sc.unit.id,
        sc.unit.city_id,
        sc.start,
        sc.end,
        sc.from,
        sc.to,
    );
    // raised: donations (and their reversals) of the city's campaigns received in the period
    let campaigns: Vec<CampaignFigures> = diesel::sql_query(
        "SELECT c.id AS campaign_id, c.name, c.kind, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.donation_id IS NOT NULL AND l.need_id IS NULL \
                AND coalesce(l.received_on, (l.at AT TIME ZONE 'UTC')::date) BETWEEN $2 AND $3), 0)::bigint AS raised_fen, \
           coalesce(-sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.need_id IS NOT NULL AND l.at >= $4 AND l.at < $5), 0)::bigint AS allocated_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'offline' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS offline_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'online_platform' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS online_platform_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'transfer' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS transfer_fen, \
           coalesce(sum(l.value_fen) FILTER (WHERE l.kind = 'materials' AND l.donation_id IS NOT NULL AND l.need_id IS NULL \
                AND coalesce(l.received_on, (l.at AT TIME ZONE 'UTC')::date) BETWEEN $2 AND $3), 0)::bigint AS materials_value_fen \
         FROM campaigns c LEFT JOIN ledger_entries l ON l.campaign_id = c.id \
         WHERE c.city_id = $1 GROUP BY c.id ORDER BY c.id",
    )
    .bind::<SqlUuid, _>(city)
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(&mut conn)
    .await?;
    let city_level = sc.unit.kind == "city";
    let sum = |f: fn(&CampaignFigures) -> i64| campaigns.iter().map(f).sum::<i64>();
    let raised: Vec<Value> = vec![
        json!(sum(|c| c.raised_fen)),
        json!(sum(|c| c.offline_fen)),
        json!(sum(|c| c.online_platform_fen)),
        json!(sum(|c| c.transfer_fen)),
        json!(sum(|c| c.materials_value_fen)),
    ];
    let sql = "SELECT {grp} AS grp, coalesce(-sum(l.amount), 0)::bigint AS allocated, count(*) AS allocations, \
               count(DISTINCT l.need_id) AS needs_helped \
               FROM ledger_entries l JOIN needs n ON n.id = l.need_id \
               WHERE n.{col} = $1 AND l.city_id = n.city_id AND l.kind = 'funds' AND l.at >= $2 AND l.at < $3";
    let sql = match child_column(&sc.unit.kind) {
        Some(_) => sql.replacen("{grp}", "n.{grp}", 1),
        None => sql.to_string(),
    };
    let (alloc, alloc_children) = grouped::<FundsRow, _>(
        &mut conn,
        &sc,
        &sql,
        move |q| {
            q.into_boxed()
                .bind::<SqlUuid, _>(unit_id)
                .bind::<Timestamptz, _>(start)
                .bind::<Timestamptz, _>(end)
        },
        |r| r.grp,
        |r| {
            let (a, n, h) = r
                .map(|r| (r.allocated, r.allocations, r.needs_helped))
                .unwrap_or((0, 0, 0));
            vec![json!(a), json!(n), json!(h)]
        },
    )
    .await?;
    // donations belong to the city's campaigns: units below the city show only what reached them
    let nulls = vec![Value::Null; 5];
    let mut totals = if city_level {
        raised.clone()
    } else {
        nulls.clone()
    };
    totals.extend(alloc);
    let children = alloc_children
        .into_iter()
        .map(|(u, mut v)| {
            let mut row = nulls.clone();
            row.append(&mut v);
            (u, row)
        })
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
    Table {
        name: "funds",
        unit: sc.unit_ref(),
        from: sc.from,
        to: sc.to,
        columns,
        totals,
        children,
        extras,
    }
    .respond(sc.format)
}

// ---------------------------------------------------------------------------------------------
// volunteers

#[derive(QueryableByName)]
struct VolRow {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    grp: Option<Uuid>,
    #[diesel(sql_type = BigInt)]
    halves: i64,
    #[diesel(sql_type = BigInt)]
    records: i64,
    #[diesel(sql_type = BigInt)]
    helpers: i64,
    #[diesel(sql_type = BigInt)]
    teams: i64,
}

#[derive(QueryableByName)]
struct HoursBy {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = BigInt)]
    halves: i64,
}

/// `GET /api/v1/reports/volunteers`: volunteer service hours (志愿服务时长) on needs under the unit,
/// per child unit, per team and per helper.
#[utoipa::path(get, path = "/api/v1/reports/volunteers", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, description = "totals {hours, records, helpers, teams}, children, teams, helpers"),
    (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn volunteers(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let sc = resolve(&mut conn, &caller, &q.0).await?;
    // `s.city_id` names the tenant on service_records itself, so the period's records are read
    // through (city_id, served_on) rather than every city's records of the period (at province
    // scale: 0.7 s → 20 ms for a city)
    let (unit_id, from, to, city_id) = (sc.unit.id, sc.from, sc.to, sc.unit.city_id);
    let sql = "SELECT {grp} AS grp, coalesce(sum(s.half_hours), 0)::bigint AS halves, count(*) AS records, \
               count(DISTINCT s.helper_id) AS helpers, count(DISTINCT s.team_id) AS teams \
               FROM service_records s JOIN needs n ON n.id = s.need_id \
               WHERE n.{col} = $1 AND s.served_on BETWEEN $2 AND $3 AND s.city_id = $4";
    let sql = match child_column(&sc.unit.kind) {
        Some(_) => sql.replacen("{grp}", "n.{grp}", 1),
        None => sql.to_string(),
    };
    let (totals, children) = grouped::<VolRow, _>(
        &mut conn,
        &sc,
        &sql,
        move |q| {
            q.into_boxed()
                .bind::<SqlUuid, _>(unit_id)
                .bind::<diesel::sql_types::Date, _>(from)
                .bind::<diesel::sql_types::Date, _>(to)
                .bind::<SqlUuid, _>(city_id)
        },
        |r| r.grp,
        |r| {
            let (h, n, p, t) = r
                .map(|r| (r.halves, r.records, r.helpers, r.teams))
                .unwrap_or((0, 0, 0, 0));
            vec![json!(h as f64 / 2.0), json!(n), json!(p), json!(t)]
        },
    )
    .await?;
    let col = unit_column(&sc.unit.kind);
    let by = |what: &str| {
        let (id, name, join) = match what {
            "team" => (
                "s.team_id",
                "t.name",
                "LEFT JOIN volunteer_teams t ON t.id = s.team_id",
            ),
            _ => (
                "s.helper_id",
                "h.name",
                "JOIN helpers h ON h.id = s.helper_id",
            ),
        };
        format!(
            "SELECT {id} AS id, {name} AS name, sum(s.half_hours)::bigint AS halves \
             FROM service_records s JOIN needs n ON n.id = s.need_id {join} \
             WHERE n.{col} = $1 AND s.served_on BETWEEN $2 AND $3 AND s.city_id = $4 \
             GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 200"
        )
    };
    let mut lists = Vec::new();
    for what in ["team", "helper"] {
        let rows: Vec<HoursBy> = diesel::sql_query(by(what))
            .bind::<SqlUuid, _>(unit_id)
            .bind::<diesel::sql_types::Date, _>(from)
            .bind::<diesel::sql_types::Date, _>(to)
            .bind::<SqlUuid, _>(city_id)
            .load(&mut conn)
            .await?;
        let key = if what == "team" {
            "volunteer_team_id"
        } else {
            "helper_id"
        };
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
    Table {
        name: "volunteers",
        unit: sc.unit_ref(),
        from: sc.from,
        to: sc.to,
        columns,
        totals,
        children,
        extras: vec![("teams", teams), ("helpers", helpers)],
    }
    .respond(sc.format)
}
