//! Helpers: reads in scope, inserts, the one-statement edit, and leaving contact groups.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::helpers::{HelperChanges, HelperRow};
use crate::db::queries::{insert_chunked, scope, CHUNK};
use crate::db::schema::{contact_group_members, helpers, persons, users, volunteer_teams};
use crate::domain::caller::Caller;

/// One helper in the caller's scope (not found otherwise).
pub async fn in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<HelperRow> {
    scope::helpers(caller)
        .filter(helpers::id.eq(id))
        .select(HelperRow::as_select())
        .first(conn)
        .await
}

/// One helper, whatever the scope.
pub async fn get(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<HelperRow> {
    helpers::table
        .find(id)
        .select(HelperRow::as_select())
        .first(conn)
        .await
}

/// What `GET /helpers` filters by.
#[derive(Debug, Default)]
pub struct HelperFilter {
    /// Only this village.
    pub village_id: Option<Uuid>,
    /// Only this kind word.
    pub kind: Option<&'static str>,
    /// Only active or inactive.
    pub active: Option<bool>,
    /// Only this team.
    pub volunteer_team_id: Option<Uuid>,
    /// Rows after this id.
    pub after: Option<Uuid>,
    /// How many rows.
    pub limit: i64,
}

/// A page of the helpers in scope, by id.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: HelperFilter,
) -> QueryResult<Vec<HelperRow>> {
    let mut query = scope::helpers(caller)
        .select(HelperRow::as_select())
        .order(helpers::id)
        .limit(f.limit);
    if let Some(v) = f.village_id {
        query = query.filter(helpers::village_id.eq(v));
    }
    if let Some(k) = f.kind {
        query = query.filter(helpers::kind.eq(k));
    }
    if let Some(a) = f.active {
        query = query.filter(helpers::active.eq(a));
    }
    if let Some(t) = f.volunteer_team_id {
        query = query.filter(helpers::volunteer_team_id.eq(t));
    }
    if let Some(after) = f.after {
        query = query.filter(helpers::id.gt(after));
    }
    query.load(conn).await
}

/// The town of a helper, if there is such a helper.
pub async fn town_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Uuid>> {
    helpers::table
        .find(id)
        .select(helpers::town_id)
        .first(conn)
        .await
        .optional()
}

/// Whether a volunteer team of this id belongs to the city.
pub async fn team_in_city(
    conn: &mut AsyncPgConnection,
    team: Uuid,
    city: Uuid,
) -> QueryResult<bool> {
    let found: Option<Uuid> = volunteer_teams::table
        .find(team)
        .filter(volunteer_teams::city_id.eq(city))
        .select(volunteer_teams::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// Whether a user of this id belongs to the city.
pub async fn user_in_city(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    city: Uuid,
) -> QueryResult<bool> {
    let found: Option<Option<Uuid>> = users::table
        .find(user)
        .select(users::city_id)
        .first(conn)
        .await
        .optional()?;
    Ok(found == Some(Some(city)))
}

/// Inserts one helper.
pub async fn insert(conn: &mut AsyncPgConnection, h: &HelperRow) -> QueryResult<HelperRow> {
    diesel::insert_into(helpers::table)
        .values(h)
        .returning(HelperRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts many helpers, a chunk per statement.
pub async fn insert_many(conn: &mut AsyncPgConnection, rows: &[HelperRow]) -> QueryResult<()> {
    insert_chunked::<helpers::table, HelperRow>(conn, helpers::table, rows).await
}

/// Applies an edit in one UPDATE (nothing when it changes nothing) and answers the row.
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &HelperChanges,
) -> QueryResult<HelperRow> {
    if changes.is_empty() {
        return get(conn, id).await;
    }
    diesel::update(helpers::table.find(id))
        .set(changes)
        .returning(HelperRow::as_returning())
        .get_result(conn)
        .await
}

/// Takes a helper out of every contact group; their persons' groups shrink by one.
pub async fn leave_groups(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    let affected: Vec<Uuid> = diesel::delete(
        contact_group_members::table.filter(contact_group_members::helper_id.eq(id)),
    )
    .returning(contact_group_members::person_id)
    .get_results(conn)
    .await?;
    diesel::update(persons::table.filter(persons::id.eq_any(affected)))
        .set(persons::group_size.eq(persons::group_size - 1))
        .execute(conn)
        .await?;
    Ok(())
}

/// These helpers, locked, in id order (a fixed order, so concurrent group edits serialise).
pub async fn lock_many(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<HelperRow>> {
    let mut sorted = ids.to_vec();
    sorted.sort();
    helpers::table
        .filter(helpers::id.eq_any(&sorted))
        .order(helpers::id)
        .select(HelperRow::as_select())
        .for_update()
        .load(conn)
        .await
}

/// How many persons each of these helpers covers, leaving one person out.
pub async fn loads(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    except_person: Uuid,
) -> QueryResult<Vec<(Uuid, i64)>> {
    let mut sorted = ids.to_vec();
    sorted.sort();
    contact_group_members::table
        .filter(contact_group_members::helper_id.eq_any(&sorted))
        .filter(contact_group_members::person_id.ne(except_person))
        .group_by(contact_group_members::helper_id)
        .select((contact_group_members::helper_id, diesel::dsl::count_star()))
        .load(conn)
        .await
}

/// Helpers with one of these names in these villages: (id, village, name, phone), by id.
pub async fn named_in(
    conn: &mut AsyncPgConnection,
    villages: &[Uuid],
    names: &[String],
) -> QueryResult<Vec<(Uuid, Uuid, String, Option<String>)>> {
    let mut out = Vec::new();
    if villages.is_empty() {
        return Ok(out);
    }
    for chunk in names.chunks(CHUNK) {
        let found: Vec<(Uuid, Uuid, String, Option<String>)> = helpers::table
            .filter(helpers::village_id.eq_any(villages))
            .filter(helpers::name.eq_any(chunk))
            .order(helpers::id)
            .select((
                helpers::id,
                helpers::village_id,
                helpers::name,
                helpers::phone,
            ))
            .load(conn)
            .await?;
        out.extend(found);
    }
    Ok(out)
}

/// Binds a helper to its sign-in account, only if it has none yet (1 row changed, or 0).
pub async fn bind_user(conn: &mut AsyncPgConnection, id: Uuid, user: Uuid) -> QueryResult<usize> {
    diesel::update(
        helpers::table
            .filter(helpers::id.eq(id))
            .filter(helpers::user_id.is_null()),
    )
    .set(helpers::user_id.eq(user))
    .execute(conn)
    .await
}

/// Whether a user is already some helper's sign-in account.
pub async fn user_bound(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<bool> {
    let found: Option<Uuid> = helpers::table
        .filter(helpers::user_id.eq(user))
        .select(helpers::id)
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}
