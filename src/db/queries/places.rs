//! Org units as registrations look them up: by id or by code, always within a scope.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::places::UnitPlace;
use crate::db::queries::{scope, CHUNK};
use crate::db::schema::org_units;
use crate::domain::caller::Scope;

/// One unit in a scope (not found otherwise).
pub async fn unit_in_scope(
    conn: &mut AsyncPgConnection,
    within: Scope,
    id: Uuid,
) -> QueryResult<UnitPlace> {
    scope::org_units(within)
        .filter(org_units::id.eq(id))
        .select(UnitPlace::as_select())
        .first(conn)
        .await
}

/// The units of a scope that carry one of these codes.
pub async fn units_by_code(
    conn: &mut AsyncPgConnection,
    within: Scope,
    codes: &[String],
) -> QueryResult<Vec<UnitPlace>> {
    let mut out = Vec::new();
    for chunk in codes.chunks(CHUNK) {
        let units: Vec<UnitPlace> = scope::org_units(within)
            .filter(org_units::code.eq_any(chunk))
            .select(UnitPlace::as_select())
            .load(conn)
            .await?;
        out.extend(units);
    }
    Ok(out)
}
