//! The org tree as other use cases need it: an organisation of a kind at a unit, a city's day.

use chrono::{Datelike, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::{city_settings, org_units, organizations};
use crate::domain::roles::{OrgKind, UnitKind};

/// The organisation of a kind at a unit, if there is one.
pub async fn org_at(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    kind: OrgKind,
) -> QueryResult<Option<Uuid>> {
    organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind.as_str()))
        .select(organizations::id)
        .first(conn)
        .await
        .optional()
}

/// An organisation's kind and unit, if it exists.
pub async fn org_kind_and_unit(
    conn: &mut AsyncPgConnection,
    org: Uuid,
) -> QueryResult<Option<(String, Uuid)>> {
    organizations::table
        .find(org)
        .select((organizations::kind, organizations::org_unit_id))
        .first(conn)
        .await
        .optional()
}

/// An organisation's kind and city, if it exists.
pub async fn org_kind_and_city(
    conn: &mut AsyncPgConnection,
    org: Uuid,
) -> QueryResult<Option<(String, Uuid)>> {
    organizations::table
        .find(org)
        .select((organizations::kind, organizations::city_id))
        .first(conn)
        .await
        .optional()
}

/// Every city of the deployment.
pub async fn city_ids(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Uuid>> {
    org_units::table
        .filter(org_units::kind.eq(UnitKind::City.as_str()))
        .select(org_units::id)
        .load(conn)
        .await
}

/// The city's time zone (Asia/Shanghai unless the city says otherwise).
pub async fn city_tz(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<chrono_tz::Tz> {
    let tz: Option<String> = city_settings::table
        .find(city)
        .select(city_settings::time_zone)
        .first(conn)
        .await
        .optional()?;
    Ok(tz
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai))
}

/// Today in the city's time zone (Asia/Shanghai unless the city says otherwise).
pub async fn city_today(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<NaiveDate> {
    let tz = city_tz(conn, city).await?;
    let now = Utc::now().with_timezone(&tz);
    Ok(NaiveDate::from_ymd_opt(now.year(), now.month(), now.day())
        .unwrap_or_else(|| Utc::now().date_naive()))
}

/// Whether a user is active, and its organisation's unit, if the user exists.
pub async fn user_active_and_unit(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Option<(bool, Uuid)>> {
    use crate::db::schema::users;
    users::table
        .inner_join(organizations::table)
        .filter(users::id.eq(user))
        .select((users::active, organizations::org_unit_id))
        .first(conn)
        .await
        .optional()
}

/// A volunteer team's city, if the team exists.
pub async fn team_city(conn: &mut AsyncPgConnection, team: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::volunteer_teams;
    volunteer_teams::table
        .find(team)
        .select(volunteer_teams::city_id)
        .first(conn)
        .await
        .optional()
}

/// A helper's town, if the helper exists.
pub async fn helper_town(conn: &mut AsyncPgConnection, helper: Uuid) -> QueryResult<Option<Uuid>> {
    use crate::db::schema::helpers;
    helpers::table
        .find(helper)
        .select(helpers::town_id)
        .first(conn)
        .await
        .optional()
}

/// The organisation of the same kind (and, for a department, the same remit) as `org` at
/// another unit: where a need handled by `org` goes when its person moves there.
pub async fn same_kind_at(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    unit: Uuid,
) -> QueryResult<Option<Uuid>> {
    let (kind, department): (String, Option<String>) = organizations::table
        .find(org)
        .select((organizations::kind, organizations::department_type))
        .first(conn)
        .await?;
    let mut q = organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind))
        .into_boxed();
    if let Some(d) = department {
        q = q.filter(organizations::department_type.eq(d));
    }
    q.order(organizations::created_at)
        .select(organizations::id)
        .first(conn)
        .await
        .optional()
}
