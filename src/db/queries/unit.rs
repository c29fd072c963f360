//! Org units read by reports, SLA policies, the roster, campaigns and volunteer teams.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::unit::{UnitName, UnitRow};
use crate::db::queries::scope;
use crate::db::schema::org_units;
use crate::domain::caller::Scope;

/// One unit in a scope (NotFound outside it).
pub async fn in_scope(conn: &mut AsyncPgConnection, sc: Scope, id: Uuid) -> QueryResult<UnitRow> {
    scope::org_units(sc)
        .filter(org_units::id.eq(id))
        .select(UnitRow::as_select())
        .first(conn)
        .await
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
