//! Volunteer teams (志愿服务队) and volunteers' service hours (志愿服务时长).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{helpers, service_records, volunteer_teams};
use crate::domain::roles::Role;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Body, Page, Query};
use crate::http::AppState;
use crate::service::org_units::load_in_scope;

/// Roles that organise volunteers and record their hours.
const ORGANISERS: &[Role] = &[
    Role::Admin,
    Role::AssociationStaff,
    Role::President,
    Role::TownStaff,
    Role::VillageStaff,
];

/// A team row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = volunteer_teams)]
pub struct TeamRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Where it is organised.
    pub org_unit_id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town (if at a town or village).
    pub town_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A team with its members and hours.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamOut {
    /// Id.
    pub id: Uuid,
    /// Name (e.g. 管得宽志愿服务队).
    pub name: String,
    /// The village, town or city it belongs to.
    pub org_unit_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// Helpers in the team.
    pub members: i64,
    /// Service hours recorded for the team.
    pub total_hours: f64,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// `POST /volunteer-teams` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamIn {
    /// Name.
    pub name: String,
    /// A village, town or city in scope (default: the caller's unit).
    pub org_unit_id: Option<Uuid>,
}

/// Filters of `GET /volunteer-teams`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TeamQuery {
    /// Teams of this unit.
    pub org_unit_id: Option<Uuid>,
    /// For a deployment admin: the city.
    pub city_id: Option<Uuid>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

async fn team_out(conn: &mut diesel_async::AsyncPgConnection, t: TeamRow) -> AppResult<TeamOut> {
    let members: i64 = helpers::table
        .filter(helpers::volunteer_team_id.eq(t.id))
        .count()
        .get_result(conn)
        .await?;
    let halves: Option<i64> = service_records::table
        .filter(service_records::team_id.eq(t.id))
        .select(diesel::dsl::sum(service_records::half_hours))
        .first(conn)
        .await?;
    Ok(TeamOut {
        id: t.id,
        name: t.name,
        org_unit_id: t.org_unit_id,
        city_id: t.city_id,
        members,
        total_hours: halves.unwrap_or(0) as f64 / 2.0,
        created_at: t.created_at,
    })
}

/// `GET /api/v1/volunteer-teams`: the city's teams with members and hours.
#[utoipa::path(get, path = "/api/v1/volunteer-teams", tag = "volunteers", params(TeamQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<TeamOut>), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_teams(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<TeamQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::volunteer_teams(&caller)
        .select(TeamRow::as_select())
        .order(volunteer_teams::id)
        .limit(page.limit + 1);
    if let Some(u) = q.org_unit_id {
        query = query.filter(volunteer_teams::org_unit_id.eq(u));
    }
    if let (None, Some(c)) = (caller.city_id, q.city_id) {
        query = query.filter(volunteer_teams::city_id.eq(c));
    }
    if let Some(after) = page.after {
        query = query.filter(volunteer_teams::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<TeamRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    let mut items = Vec::new();
    for r in rows {
        items.push(team_out(&mut conn, r).await?);
    }
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/volunteer-teams/{id}`: one team.
#[utoipa::path(get, path = "/api/v1/volunteer-teams/{id}", tag = "volunteers", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = TeamOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get_team(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let t: TeamRow = crate::db::queries::scope::volunteer_teams(&caller)
        .filter(volunteer_teams::id.eq(id))
        .select(TeamRow::as_select())
        .first(&mut conn)
        .await?;
    Ok(ok(&team_out(&mut conn, t).await?))
}

/// `POST /api/v1/volunteer-teams`: a team at a village, town or the city in scope.
#[utoipa::path(post, path = "/api/v1/volunteer-teams", tag = "volunteers", request_body = TeamIn, security(("bearer" = [])), responses(
    (status = 201, body = TeamOut), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create_team(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(ORGANISERS)?;
    let input: TeamIn = body.json()?;
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    let mut conn = state.conn().await?;
    let unit_id = input.org_unit_id.or(caller.unit_id);
    let unit = match unit_id {
        None => {
            errors.push(FieldError::new("org_unit_id", "is required"));
            None
        }
        Some(u) => match load_in_scope(&mut conn, caller.scope, u).await {
            Ok(u) => Some(u),
            Err(AppError::NotFound) => {
                errors.push(FieldError::new("org_unit_id", "no such unit in your scope"));
                None
            }
            Err(e) => return Err(e),
        },
    };
    AppError::check(errors)?;
    let unit = unit.ok_or_else(|| AppError::internal("checked"))?;
    let row: TeamRow = diesel::insert_into(volunteer_teams::table)
        .values((
            volunteer_teams::id.eq(Uuid::now_v7()),
            volunteer_teams::name.eq(name),
            volunteer_teams::org_unit_id.eq(unit.id),
            volunteer_teams::city_id.eq(unit.city_id),
            volunteer_teams::town_id.eq(unit.town_id),
        ))
        .returning(TeamRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(created(&team_out(&mut conn, row).await?))
}

/// A service record.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceOut {
    /// Id.
    pub id: Uuid,
    /// The helper (volunteer).
    pub helper_id: Uuid,
    /// The need served.
    pub need_id: Uuid,
    /// The helper's team at the time.
    pub volunteer_team_id: Option<Uuid>,
    /// The day.
    pub served_on: NaiveDate,
    /// Hours (multiples of 0.5).
    pub hours: f64,
    /// A note.
    pub note: String,
    /// Who recorded it.
    pub recorded_by: Uuid,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = service_records)]
struct ServiceRow {
    id: Uuid,
    helper_id: Uuid,
    need_id: Uuid,
    team_id: Option<Uuid>,
    served_on: NaiveDate,
    half_hours: i32,
    note: String,
    recorded_by: Uuid,
    created_at: DateTime<Utc>,
}

impl From<ServiceRow> for ServiceOut {
    fn from(r: ServiceRow) -> Self {
        ServiceOut {
            id: r.id,
            helper_id: r.helper_id,
            need_id: r.need_id,
            volunteer_team_id: r.team_id,
            served_on: r.served_on,
            hours: f64::from(r.half_hours) / 2.0,
            note: r.note,
            recorded_by: r.recorded_by,
            created_at: r.created_at,
        }
    }
}

/// `POST /service-records` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceIn {
    /// The helper who served (of the need's city).
    pub helper_id: Uuid,
    /// The need served (in scope).
    pub need_id: Uuid,
    /// The day (not in the future).
    pub served_on: NaiveDate,
    /// Hours: > 0, a multiple of 0.5, at most 24 per helper per day.
    pub hours: f64,
    /// A note.
    pub note: Option<String>,
}

/// `POST /api/v1/service-records`: records a volunteer's hours on a need.
#[utoipa::path(post, path = "/api/v1/service-records", tag = "volunteers", request_body = ServiceIn, security(("bearer" = [])), responses(
    (status = 201, body = ServiceOut), (status = 403, body = crate::http::error::Problem),
    (status = 422, description = "bad hours (or over 24 in a day for the helper)", body = crate::http::error::Problem)))]
pub async fn create_record(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(ORGANISERS)?;
    let input: ServiceIn = body.json()?;
    let mut errors = Vec::new();
    let halves = input.hours * 2.0;
    let half_hours = if input.hours <= 0.0 || halves.fract() != 0.0 || input.hours > 24.0 {
        errors.push(FieldError::new(
            "hours",
            "must be more than 0, at most 24, in steps of 0.5",
        ));
        0
    } else {
        halves as i32
    };
    if input.served_on > Utc::now().date_naive() + chrono::Duration::days(1) {
        errors.push(FieldError::new("served_on", "must not be in the future"));
    }
    let note = input.note.unwrap_or_default().trim().to_string();
    if note.chars().count() > 2000 {
        errors.push(FieldError::new("note", "at most 2000 characters"));
    }
    let mut conn = state.conn().await?;
    let need = match crate::db::queries::needs::find_in_scope(&mut conn, &caller, input.need_id)
        .await
        .map_err(AppError::from)
    {
        Ok(n) => Some(n),
        Err(AppError::NotFound) => {
            errors.push(FieldError::new("need_id", "no such need in your scope"));
            None
        }
        Err(e) => return Err(e),
    };
    let helper: Option<(Uuid, Option<Uuid>)> = helpers::table
        .find(input.helper_id)
        .select((helpers::city_id, helpers::volunteer_team_id))
        .first(&mut conn)
        .await
        .optional()?;
    if let Some(n) = &need {
        if helper.is_none_or(|(city, _)| city != n.city_id) {
            errors.push(FieldError::new(
                "helper_id",
                "no such helper in the need's city",
            ));
        }
    }
    AppError::check(errors)?;
    let (city, team) = helper.ok_or_else(|| AppError::internal("checked"))?;
    let user = caller.user_id;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            // the helper's row lock serialises the daily cap check
            helpers::table
                .find(input.helper_id)
                .select(helpers::id)
                .for_update()
                .first::<Uuid>(conn)
                .await?;
            let day: Option<i64> = service_records::table
                .filter(service_records::helper_id.eq(input.helper_id))
                .filter(service_records::served_on.eq(input.served_on))
                .select(diesel::dsl::sum(service_records::half_hours))
                .first(conn)
                .await?;
            let day = day.unwrap_or(0);
            if day + i64::from(half_hours) > 48 {
                return Err(AppError::field(
                    "hours",
                    format!(
                        "the helper already has {} hours on {}; at most 24 in a day",
                        day as f64 / 2.0,
                        input.served_on
                    ),
                ));
            }
            let row: ServiceRow = diesel::insert_into(service_records::table)
                .values((
                    service_records::id.eq(Uuid::now_v7()),
                    service_records::city_id.eq(city),
                    service_records::helper_id.eq(input.helper_id),
                    service_records::need_id.eq(input.need_id),
                    service_records::team_id.eq(team),
                    service_records::served_on.eq(input.served_on),
                    service_records::half_hours.eq(half_hours),
                    service_records::note.eq(note),
                    service_records::recorded_by.eq(user),
                ))
                .returning(ServiceRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(row)
        })
        .await?;
    Ok(created(&ServiceOut::from(row)))
}

/// Filters of `GET /service-records`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// One helper's records.
    pub helper_id: Option<Uuid>,
    /// One need's records.
    pub need_id: Option<Uuid>,
    /// One team's records.
    pub volunteer_team_id: Option<Uuid>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Service records with their total.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePage {
    /// This page.
    pub items: Vec<ServiceOut>,
    /// Next page's cursor.
    pub next_cursor: Option<String>,
    /// Hours of every record matching the filters (not only this page).
    pub total_hours: f64,
}

/// `GET /api/v1/service-records`: records in the caller's city, filtered, with their total hours.
#[utoipa::path(get, path = "/api/v1/service-records", tag = "volunteers", params(ServiceQuery), security(("bearer" = [])), responses(
    (status = 200, body = ServicePage), (status = 422, body = crate::http::error::Problem)))]
pub async fn list_records(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<ServiceQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let base = || {
        let mut b = service_records::table.into_boxed();
        if let Some(c) = caller.city_id {
            b = b.filter(service_records::city_id.eq(c));
        }
        // the records of the needs the caller sees (its part of the tree; for a department
        // officer or site staff, only the needs routed to them)
        if caller.is_narrow() || !matches!(caller.scope, Scope::All | Scope::City(_)) {
            b = b.filter(service_records::need_id.eq_any(
                crate::db::queries::scope::needs(&caller).select(crate::db::schema::needs::id),
            ));
        }
        if let Some(h) = q.helper_id {
            b = b.filter(service_records::helper_id.eq(h));
        }
        if let Some(n) = q.need_id {
            b = b.filter(service_records::need_id.eq(n));
        }
        if let Some(t) = q.volunteer_team_id {
            b = b.filter(service_records::team_id.eq(t));
        }
        b
    };
    let mut query = base()
        .select(ServiceRow::as_select())
        .order(service_records::id)
        .limit(page.limit + 1);
    if let Some(after) = page.after {
        query = query.filter(service_records::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<ServiceRow> = query.load(&mut conn).await?;
    let total: Option<i64> = base()
        .select(diesel::dsl::sum(service_records::half_hours))
        .first(&mut conn)
        .await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&ServicePage {
        items: rows.into_iter().map(ServiceOut::from).collect(),
        next_cursor,
        total_hours: total.unwrap_or(0) as f64 / 2.0,
    }))
}
