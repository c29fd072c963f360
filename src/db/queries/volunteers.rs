//! Volunteer teams, helpers' service records and their hours.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::volunteers::{ServiceRow, TeamRow};
use crate::db::queries::scope;
use crate::db::schema::{helpers, needs, service_records, volunteer_teams};
use crate::domain::caller::{Caller, Scope};

/// A page of the teams in scope, in id order (`limit` rows after `after`), of a unit and (for a
/// deployment admin) a city if given.
pub async fn teams_page(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    (unit, city): (Option<Uuid>, Option<Uuid>),
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<TeamRow>> {
    let mut query = scope::volunteer_teams(caller)
        .select(TeamRow::as_select())
        .order(volunteer_teams::id)
        .limit(limit);
    if let Some(u) = unit {
        query = query.filter(volunteer_teams::org_unit_id.eq(u));
    }
    if let (None, Some(c)) = (caller.city_id, city) {
        query = query.filter(volunteer_teams::city_id.eq(c));
    }
    if let Some(after) = after {
        query = query.filter(volunteer_teams::id.gt(after));
    }
    query.load(conn).await
}

/// One team in scope.
pub async fn team_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<TeamRow> {
    scope::volunteer_teams(caller)
        .filter(volunteer_teams::id.eq(id))
        .select(TeamRow::as_select())
        .first(conn)
        .await
}

/// Adds a team.
pub async fn insert_team(conn: &mut AsyncPgConnection, new: &TeamRow) -> QueryResult<TeamRow> {
    diesel::insert_into(volunteer_teams::table)
        .values(new)
        .returning(TeamRow::as_returning())
        .get_result(conn)
        .await
}

/// How many helpers are in the team.
pub async fn members(conn: &mut AsyncPgConnection, team: Uuid) -> QueryResult<i64> {
    helpers::table
        .filter(helpers::volunteer_team_id.eq(team))
        .count()
        .get_result(conn)
        .await
}

/// Half hours recorded for the team.
pub async fn team_halves(conn: &mut AsyncPgConnection, team: Uuid) -> QueryResult<Option<i64>> {
    service_records::table
        .filter(service_records::team_id.eq(team))
        .select(diesel::dsl::sum(service_records::half_hours))
        .first(conn)
        .await
}

/// A helper's city and team, if the helper exists.
pub async fn helper_place(
    conn: &mut AsyncPgConnection,
    helper: Uuid,
) -> QueryResult<Option<(Uuid, Option<Uuid>)>> {
    helpers::table
        .find(helper)
        .select((helpers::city_id, helpers::volunteer_team_id))
        .first(conn)
        .await
        .optional()
}

/// Locks a helper's row (serialises the daily cap check).
pub async fn lock_helper(conn: &mut AsyncPgConnection, helper: Uuid) -> QueryResult<Uuid> {
    helpers::table
        .find(helper)
        .select(helpers::id)
        .for_update()
        .first(conn)
        .await
}

/// Half hours already recorded for the helper on the day.
pub async fn day_halves(
    conn: &mut AsyncPgConnection,
    helper: Uuid,
    day: chrono::NaiveDate,
) -> QueryResult<Option<i64>> {
    service_records::table
        .filter(service_records::helper_id.eq(helper))
        .filter(service_records::served_on.eq(day))
        .select(diesel::dsl::sum(service_records::half_hours))
        .first(conn)
        .await
}

/// Adds a service record.
pub async fn insert_record(
    conn: &mut AsyncPgConnection,
    new: &ServiceRow,
) -> QueryResult<ServiceRow> {
    diesel::insert_into(service_records::table)
        .values(new)
        .returning(ServiceRow::as_returning())
        .get_result(conn)
        .await
}

/// Which service records a list asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecordFilter {
    /// One helper's.
    pub helper_id: Option<Uuid>,
    /// One need's.
    pub need_id: Option<Uuid>,
    /// One team's.
    pub team_id: Option<Uuid>,
}

/// The records the caller sees that match the filter.
fn records(caller: &Caller, f: RecordFilter) -> service_records::BoxedQuery<'static, Pg> {
    let mut b = service_records::table.into_boxed();
    if let Some(c) = caller.city_id {
        b = b.filter(service_records::city_id.eq(c));
    }
    // the records of the needs the caller sees (its part of the tree; for a department
    // officer or site staff, only the needs routed to them)
    if caller.is_narrow() || !matches!(caller.scope, Scope::All | Scope::City(_)) {
        b = b.filter(service_records::need_id.eq_any(scope::needs(caller).select(needs::id)));
    }
    if let Some(h) = f.helper_id {
        b = b.filter(service_records::helper_id.eq(h));
    }
    if let Some(n) = f.need_id {
        b = b.filter(service_records::need_id.eq(n));
    }
    if let Some(t) = f.team_id {
        b = b.filter(service_records::team_id.eq(t));
    }
    b
}

/// A page of the matching records, in id order (`limit` rows after `after`).
pub async fn records_page(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: RecordFilter,
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<ServiceRow>> {
    let mut query = records(caller, f)
        .select(ServiceRow::as_select())
        .order(service_records::id)
        .limit(limit);
    if let Some(after) = after {
        query = query.filter(service_records::id.gt(after));
    }
    query.load(conn).await
}

/// Half hours of every matching record.
pub async fn records_halves(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: RecordFilter,
) -> QueryResult<Option<i64>> {
    records(caller, f)
        .select(diesel::dsl::sum(service_records::half_hours))
        .first(conn)
        .await
}
