//! SLA policy writes (the effective table is read by `service::needs::policies`).

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::sla::NewSlaPolicy;
use crate::db::schema::sla_policies;

/// Replaces the city's stored entries with these (none: the defaults apply everywhere).
pub async fn replace(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    rows: &[NewSlaPolicy],
) -> QueryResult<()> {
    diesel::delete(sla_policies::table.filter(sla_policies::city_id.eq(city)))
        .execute(conn)
        .await?;
    if !rows.is_empty() {
        diesel::insert_into(sla_policies::table)
            .values(rows)
            .execute(conn)
            .await?;
    }
    Ok(())
}
