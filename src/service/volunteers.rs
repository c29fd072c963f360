//! Volunteer teams (志愿服务队) and volunteers' service hours (志愿服务时长).

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::volunteers::{ServiceRow, TeamRow};
use crate::db::queries::needs::find_in_scope;
use crate::db::queries::org_units;
use crate::db::queries::volunteers::{self as q, RecordFilter};
use crate::domain::caller::Caller;
use crate::domain::roles::Role;
use crate::error::{Error, FieldError, Result};
use crate::service::page::{list_query, Keyset};

/// Roles that organise volunteers and record their hours.
const ORGANISERS: &[Role] = &[
    Role::Admin,
    Role::AssociationStaff,
    Role::President,
    Role::TownStaff,
    Role::VillageStaff,
];

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

list_query! {
    /// Filters of `GET /volunteer-teams`.
    pub struct TeamQuery {
        /// Teams of this unit.
        pub org_unit_id: Option<Uuid>,
        /// For a deployment admin: the city.
        pub city_id: Option<Uuid>,
    }
}

/// A team with its members and hours read.
async fn team_out(conn: &mut AsyncPgConnection, t: TeamRow) -> Result<TeamOut> {
    let members = q::members(conn, t.id).await?;
    let halves = q::team_halves(conn, t.id).await?;
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

/// A page of the teams in scope with members and hours.
pub async fn list_teams(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    tq: &TeamQuery,
    page: &impl Keyset,
) -> Result<(Vec<TeamOut>, Option<String>)> {
    let filter = (tq.org_unit_id, tq.city_id);
    let rows = q::teams_page(conn, caller, filter, page.limit() + 1, page.after()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    let mut items = Vec::new();
    for r in rows {
        items.push(team_out(conn, r).await?);
    }
    Ok((items, next_cursor))
}

/// One team in scope, or 404.
pub async fn get_team(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<TeamOut> {
    let t = q::team_in_scope(conn, caller, id).await?;
    team_out(conn, t).await
}

/// A team at a village, town or the city in scope: 403 before the body is read, 422 for a
/// missing name or a unit out of scope.
pub async fn create_team(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: impl FnOnce() -> Result<TeamIn>,
) -> Result<TeamOut> {
    caller.require(ORGANISERS)?;
    let input = input()?;
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    let unit = match input.org_unit_id.or(caller.unit_id) {
        None => {
            errors.push(FieldError::new("org_unit_id", "is required"));
            None
        }
        Some(u) => match org_units::in_scope(conn, caller.scope, u).await {
            Ok(u) => Some(u),
            Err(diesel::result::Error::NotFound) => {
                errors.push(FieldError::new("org_unit_id", "no such unit in your scope"));
                None
            }
            Err(e) => return Err(e.into()),
        },
    };
    Error::check(errors)?;
    let unit = unit.ok_or_else(|| Error::internal("checked"))?;
    let new = TeamRow {
        id: Uuid::now_v7(),
        name,
        org_unit_id: unit.id,
        city_id: unit.city_id,
        town_id: unit.town_id,
        created_at: Utc::now(),
    };
    let row = q::insert_team(conn, &new).await?;
    team_out(conn, row).await
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

/// Checks hours, day and note; the half hours and the trimmed note.
fn check_record(input: &ServiceIn, errors: &mut Vec<FieldError>) -> (i32, String) {
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
    let note = input.note.clone().unwrap_or_default().trim().to_string();
    if note.chars().count() > 2000 {
        errors.push(FieldError::new("note", "at most 2000 characters"));
    }
    (half_hours, note)
}

/// Records a volunteer's hours on a need in scope: at most 24 hours a day per helper, checked
/// under the helper's row lock.
pub async fn create_record(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: impl FnOnce() -> Result<ServiceIn>,
) -> Result<ServiceOut> {
    caller.require(ORGANISERS)?;
    let input = input()?;
    let mut errors = Vec::new();
    let (half_hours, note) = check_record(&input, &mut errors);
    let need = match find_in_scope(conn, caller, input.need_id)
        .await
        .map_err(Error::from)
    {
        Ok(n) => Some(n),
        Err(Error::NotFound) => {
            errors.push(FieldError::new("need_id", "no such need in your scope"));
            None
        }
        Err(e) => return Err(e),
    };
    let helper = q::helper_place(conn, input.helper_id).await?;
    if need.is_some_and(|n| helper.is_none_or(|(city, _)| city != n.city_id)) {
        errors.push(FieldError::new(
            "helper_id",
            "no such helper in the need's city",
        ));
    }
    Error::check(errors)?;
    let (city, team) = helper.ok_or_else(|| Error::internal("checked"))?;
    let new = ServiceRow {
        id: Uuid::now_v7(),
        city_id: city,
        helper_id: input.helper_id,
        need_id: input.need_id,
        team_id: team,
        served_on: input.served_on,
        half_hours,
        note,
        recorded_by: caller.user_id,
        created_at: Utc::now(),
    };
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            q::lock_helper(conn, new.helper_id).await?;
            let day = q::day_halves(conn, new.helper_id, new.served_on)
                .await?
                .unwrap_or(0);
            if day + i64::from(new.half_hours) > 48 {
                return Err(Error::field(
                    "hours",
                    format!(
                        "the helper already has {} hours on {}; at most 24 in a day",
                        day as f64 / 2.0,
                        new.served_on
                    ),
                ));
            }
            Ok(q::insert_record(conn, &new).await?)
        })
        .await?;
    Ok(ServiceOut::from(row))
}

list_query! {
    /// Filters of `GET /service-records`.
    pub struct ServiceQuery {
        /// One helper's records.
        pub helper_id: Option<Uuid>,
        /// One need's records.
        pub need_id: Option<Uuid>,
        /// One team's records.
        pub volunteer_team_id: Option<Uuid>,
    }
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

/// A page of the records the caller sees, filtered, with the total hours of all that match.
pub async fn list_records(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    sq: &ServiceQuery,
    page: &impl Keyset,
) -> Result<ServicePage> {
    let f = RecordFilter {
        helper_id: sq.helper_id,
        need_id: sq.need_id,
        team_id: sq.volunteer_team_id,
    };
    let rows = q::records_page(conn, caller, f, page.limit() + 1, page.after()).await?;
    let total = q::records_halves(conn, caller, f).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ServicePage {
        items: rows.into_iter().map(ServiceOut::from).collect(),
        next_cursor,
        total_hours: total.unwrap_or(0) as f64 / 2.0,
    })
}
