//! The duty roster's queries.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::roster::{PresidentRow, RosterChange, RosterEntry, UserStanding};
use crate::db::schema::{duty_roster, needs, users};

/// A page of a city's roster, in id order (`limit` rows after `after`).
pub async fn page(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<RosterEntry>> {
    let mut query = duty_roster::table
        .filter(duty_roster::city_id.eq(city))
        .order(duty_roster::id)
        .limit(limit)
        .select(RosterEntry::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(duty_roster::id.gt(after));
    }
    query.load(conn).await
}

/// One entry.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<RosterEntry> {
    duty_roster::table
        .find(id)
        .select(RosterEntry::as_select())
        .first(conn)
        .await
}

/// Adds a turn.
pub async fn insert(conn: &mut AsyncPgConnection, new: &RosterEntry) -> QueryResult<RosterEntry> {
    diesel::insert_into(duty_roster::table)
        .values(new)
        .returning(RosterEntry::as_returning())
        .get_result(conn)
        .await
}

/// Changes a turn in one UPDATE.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    change: &RosterChange,
) -> QueryResult<RosterEntry> {
    diesel::update(duty_roster::table.find(id))
        .set(change)
        .returning(RosterEntry::as_returning())
        .get_result(conn)
        .await
}

/// Removes a turn.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(duty_roster::table.find(id))
        .execute(conn)
        .await
}

/// A user's role, organisation and whether active, if the user exists.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Option<UserStanding>> {
    users::table
        .find(user)
        .select(UserStanding::as_select())
        .first(conn)
        .await
        .optional()
}

/// A president by id, if the user exists.
pub async fn president(
    conn: &mut AsyncPgConnection,
    user: Uuid,
) -> QueryResult<Option<PresidentRow>> {
    users::table
        .find(user)
        .select(PresidentRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Open city-level needs of the city waiting without an assignee.
pub async fn unassigned_city_needs(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<i64> {
    needs::table
        .filter(needs::city_id.eq(city))
        .filter(needs::level.eq("city"))
        .filter(needs::state.ne_all(vec!["closed", "withdrawn"]))
        .filter(needs::assignee_user_id.is_null())
        .count()
        .get_result(conn)
        .await
}
