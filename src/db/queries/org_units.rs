//! Org units: read in scope, listed, created (with a city's settings row).

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::scope;
use crate::db::models::org::{NewUnit, UnitName, UnitRow};
use crate::db::schema::{city_settings, org_units};
use crate::domain::caller::Scope;
use crate::domain::roles::UnitKind;

/// Filters of a unit list.
#[derive(Debug, Default)]
pub struct UnitFilter {
    /// Only units of this kind.
    pub kind: Option<UnitKind>,
    /// Only children of this unit.
    pub parent_id: Option<Uuid>,
    /// Exact code.
    pub code: Option<String>,
}

/// One unit in a scope (`NotFound` when absent or outside it).
pub async fn in_scope(conn: &mut AsyncPgConnection, s: Scope, id: Uuid) -> QueryResult<UnitRow> {
    scope::org_units(s)
        .filter(org_units::id.eq(id))
        .select(UnitRow::as_select())
        .first(conn)
        .await
}

/// A page of the units in a scope, by id, after `after`; `limit` rows at most.
pub async fn list(
    conn: &mut AsyncPgConnection,
    s: Scope,
    f: UnitFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<UnitRow>> {
    let mut query = scope::org_units(s)
        .select(UnitRow::as_select())
        .order(org_units::id)
        .limit(limit);
    if let Some(k) = f.kind {
        query = query.filter(org_units::kind.eq(k.as_str()));
    }
    if let Some(p) = f.parent_id {
        query = query.filter(org_units::parent_id.eq(p));
    }
    if let Some(c) = f.code {
        query = query.filter(org_units::code.eq(c));
    }
    if let Some(after) = after {
        query = query.filter(org_units::id.gt(after));
    }
    query.load(conn).await
}

/// Writes a unit.
pub async fn insert(conn: &mut AsyncPgConnection, u: &NewUnit<'_>) -> QueryResult<UnitRow> {
    diesel::insert_into(org_units::table)
        .values(u)
        .returning(UnitRow::as_returning())
        .get_result(conn)
        .await
}

/// Gives a new city its settings row (the defaults).
pub async fn insert_city_settings(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<()> {
    diesel::insert_into(city_settings::table)
        .values(city_settings::city_id.eq(city))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether a city of this id exists.
pub async fn city_exists(conn: &mut AsyncPgConnection, city: uuid::Uuid) -> QueryResult<bool> {
    let n: i64 = org_units::table
        .filter(org_units::id.eq(city))
        .filter(org_units::kind.eq("city"))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// The child units of a unit, in code order.
pub async fn children(conn: &mut AsyncPgConnection, unit: Uuid) -> QueryResult<Vec<UnitName>> {
    diesel::sql_query("SELECT id, kind, name FROM org_units WHERE parent_id = $1 ORDER BY code")
        .bind::<SqlUuid, _>(unit)
        .load(conn)
        .await
}
