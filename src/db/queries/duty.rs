//! Who is on duty (会长轮值).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::duty::RosterRow;
use crate::db::schema::{duty_roster, users};
use crate::domain::roles::Role;

/// The roster entry of a city covering a day, if any.
pub async fn covering(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    day: NaiveDate,
) -> QueryResult<Option<RosterRow>> {
    duty_roster::table
        .filter(duty_roster::city_id.eq(city))
        .filter(duty_roster::starts_on.le(day))
        .filter(duty_roster::ends_on.ge(day))
        .select(RosterRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The president users of a city.
pub async fn presidents(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::city_id.eq(city))
        .filter(users::role.eq(Role::President.as_str()))
        .select(users::id)
        .load(conn)
        .await
}
