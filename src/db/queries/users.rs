//! Users: read in scope, listed, found by login name, created, changed.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::scope;
use crate::db::models::users::{NewUser, UserChanges, UserRow};
use crate::db::schema::users;
use crate::domain::caller::Caller;
use crate::domain::roles::Role;

/// Filters of a user list.
#[derive(Debug, Default)]
pub struct UserFilter {
    /// Only this organisation.
    pub organization_id: Option<Uuid>,
    /// Only this role.
    pub role: Option<Role>,
}

/// One user in the caller's scope (`NotFound` when absent or outside it).
pub async fn in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<UserRow> {
    scope::users(caller)
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(conn)
        .await
}

/// A page of the users in the caller's scope, by id, after `after`; `limit` rows at most.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: UserFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = scope::users(caller)
        .select(UserRow::as_select())
        .order(users::id)
        .limit(limit);
    if let Some(o) = f.organization_id {
        query = query.filter(users::organization_id.eq(o));
    }
    if let Some(r) = f.role {
        query = query.filter(users::role.eq(r.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(users::id.gt(after));
    }
    query.load(conn).await
}

/// One user by id, whatever the scope (the caller's own account, a token's owner).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<UserRow> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
}

/// The user whose login name, lower-cased, is `key` (already lower-cased), if any.
pub async fn by_login_name(
    conn: &mut AsyncPgConnection,
    key: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(username) = ")
                .bind::<diesel::sql_types::Text, _>(key),
        )
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Writes a user.
pub async fn insert(conn: &mut AsyncPgConnection, u: &NewUser<'_>) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(u)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Applies the changes in one UPDATE and returns the user as it is now (a plain read when
/// nothing changes).
pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &UserChanges,
) -> QueryResult<UserRow> {
    if changes.is_empty() {
        return find(conn, id).await;
    }
    diesel::update(users::table.find(id))
        .set(changes)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}
