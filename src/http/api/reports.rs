//! Reports: 三帮一 coverage per unit and child unit.

use actix_web::{web, HttpResponse};
use chrono::{Datelike, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ok;
use super::org_units::{load_in_scope, UnitOut};
use crate::auth::Caller;
use crate::db::schema::city_settings;
use crate::http::error::{AppError, AppResult};
use crate::http::extract::Query;
use crate::http::AppState;

/// Which unit a report is about, and the period.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// The unit (default: the caller's own).
    pub org_unit_id: Option<Uuid>,
    /// For a deployment admin without `org_unit_id`: the city.
    pub city_id: Option<Uuid>,
    /// First day of the period (default 1 January this year).
    pub from: Option<NaiveDate>,
    /// Last day of the period (default today).
    pub to: Option<NaiveDate>,
    /// `json` (default).
    pub format: Option<String>,
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

/// Coverage figures of one unit.
#[derive(Debug, Serialize, ToSchema, Clone, Default)]
pub struct CoverageFigures {
    /// Active persons.
    pub active_persons: i64,
    /// Active persons with a complete contact group.
    pub covered_persons: i64,
    /// covered ÷ active (null when there are none).
    pub coverage_rate: Option<f64>,
    /// Active persons with an incomplete group.
    pub incomplete_groups: i64,
    /// Active persons not visited within the city's visit interval.
    pub overdue_visits: i64,
}

/// One child unit's row.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageChild {
    /// The child unit.
    pub org_unit: UnitRef,
    /// Its figures.
    #[serde(flatten)]
    pub figures: CoverageFigures,
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
    pub last_visited_at: Option<chrono::DateTime<Utc>>,
}

/// `GET /reports/coverage`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CoverageReport {
    /// The unit.
    pub org_unit: UnitRef,
    /// Period start.
    pub from: NaiveDate,
    /// Period end.
    pub to: NaiveDate,
    /// The unit's totals.
    pub totals: CoverageFigures,
    /// One row per child unit.
    pub children: Vec<CoverageChild>,
    /// Active persons whose group is incomplete (first 200).
    pub incomplete: Vec<AttentionPerson>,
    /// Active persons with an overdue visit (first 200).
    pub overdue: Vec<AttentionPerson>,
    /// The visit interval used, in days.
    pub visit_interval_days: i32,
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    active: i64,
    #[diesel(sql_type = BigInt)]
    covered: i64,
    #[diesel(sql_type = BigInt)]
    overdue: i64,
}

fn figures(active: i64, covered: i64, overdue: i64) -> CoverageFigures {
    CoverageFigures {
        active_persons: active,
        covered_persons: covered,
        coverage_rate: rate(covered, active),
        incomplete_groups: active - covered,
        overdue_visits: overdue,
    }
}

/// A fraction 0–1 rounded to 4 places, or null when the denominator is 0.
pub fn rate(num: i64, den: i64) -> Option<f64> {
    if den == 0 {
        None
    } else {
        Some(((num as f64 / den as f64) * 10_000.0).round() / 10_000.0)
    }
}

/// The persons column that places a person under a unit of this kind.
pub fn unit_column(kind: &str) -> &'static str {
    match kind {
        "city" => "city_id",
        "town" => "town_id",
        _ => "village_id",
    }
}

/// Resolves the report's unit and period, enforcing scope (404 outside it).
pub async fn resolve(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    q: &ReportQuery,
) -> AppResult<(UnitOut, NaiveDate, NaiveDate)> {
    if caller.is_narrow() {
        return Err(AppError::Forbidden(
            "reports cover whole units; your role sees only what is routed to you",
        ));
    }
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
    let today = Utc::now().date_naive();
    let from = q
        .from
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today));
    let to = q.to.unwrap_or(today);
    if from > to {
        return Err(AppError::field("from", "must not be after to"));
    }
    match q.format.as_deref() {
        None | Some("json") => {}
        Some(_) => return Err(AppError::field("format", "must be json")),
    }
    Ok((unit, from, to))
}

/// `GET /api/v1/reports/coverage`: 三帮一 coverage of a unit and each child unit.
#[utoipa::path(get, path = "/api/v1/reports/coverage", tag = "reports", params(ReportQuery), security(("bearer" = [])), responses(
    (status = 200, body = CoverageReport), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn coverage(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ReportQuery>,
) -> AppResult<HttpResponse> {
    use diesel::{OptionalExtension, QueryDsl};
    let mut conn = state.conn().await?;
    let (unit, from, to) = resolve(&mut conn, &caller, &q.0).await?;
    let interval: i32 = city_settings::table
        .find(unit.city_id)
        .select(city_settings::visit_interval_days)
        .first(&mut conn)
        .await
        .optional()?
        .unwrap_or(30);
    let cutoff = Utc::now() - chrono::Duration::days(i64::from(interval));
    let col = unit_column(&unit.kind);
    let child_col = match unit.kind.as_str() {
        "city" => "town_id",
        _ => "village_id",
    };
    let totals: Vec<Row> = diesel::sql_query(format!(
        "SELECT ou.id, ou.kind, ou.name, \
           count(p.id) AS active, count(p.id) FILTER (WHERE p.group_size >= 3) AS covered, \
           count(p.id) FILTER (WHERE p.last_visited_at IS NULL OR p.last_visited_at < $2) AS overdue \
         FROM org_units ou LEFT JOIN persons p ON p.{col} = ou.id AND p.status = 'active' \
         WHERE ou.id = $1 GROUP BY ou.id"
    ))
    .bind::<SqlUuid, _>(unit.id)
    .bind::<Timestamptz, _>(cutoff)
    .load(&mut conn)
    .await?;
    let total = totals
        .into_iter()
        .next()
        .map(|r| figures(r.active, r.covered, r.overdue))
        .unwrap_or_default();
    let children: Vec<Row> = if unit.kind == "village" {
        Vec::new()
    } else {
        diesel::sql_query(format!(
            "SELECT ou.id, ou.kind, ou.name, coalesce(a.active, 0) AS active, coalesce(a.covered, 0) AS covered, \
                    coalesce(a.overdue, 0) AS overdue \
             FROM org_units ou LEFT JOIN ( \
                SELECT p.{child_col} AS unit_id, count(*) AS active, count(*) FILTER (WHERE p.group_size >= 3) AS covered, \
                       count(*) FILTER (WHERE p.last_visited_at IS NULL OR p.last_visited_at < $2) AS overdue \
                FROM persons p WHERE p.{col} = $1 AND p.status = 'active' GROUP BY p.{child_col}) a ON a.unit_id = ou.id \
             WHERE ou.parent_id = $1 ORDER BY ou.code"
        ))
        .bind::<SqlUuid, _>(unit.id)
        .bind::<Timestamptz, _>(cutoff)
        .load(&mut conn)
        .await?
    };
    let incomplete: Vec<AttentionPerson> = diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND group_size < 3 ORDER BY id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit.id)
    .load(&mut conn)
    .await?;
    let overdue: Vec<AttentionPerson> = diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND (last_visited_at IS NULL OR last_visited_at < $2) \
         ORDER BY last_visited_at NULLS FIRST, id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit.id)
    .bind::<Timestamptz, _>(cutoff)
    .load(&mut conn)
    .await?;
    Ok(ok(&CoverageReport {
        org_unit: UnitRef {
            id: unit.id,
            kind: unit.kind.clone(),
            name: unit.name.clone(),
        },
        from,
        to,
        totals: total,
        children: children
            .into_iter()
            .map(|r| CoverageChild {
                org_unit: UnitRef {
                    id: r.id,
                    kind: r.kind,
                    name: r.name,
                },
                figures: figures(r.active, r.covered, r.overdue),
            })
            .collect(),
        incomplete,
        overdue,
        visit_interval_days: interval,
    }))
}
