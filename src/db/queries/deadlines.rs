//! The city's stored SLA hours (`sla_policies`); the defaults are `domain::sla`'s.

use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::sla_policies;
use crate::domain::sla::Position;

/// The hours a city stored for one position, if it stored any.
pub async fn stored_hours(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    at: Position,
) -> QueryResult<Option<i32>> {
    let Position {
        state,
        loop_,
        level,
        urgency,
    } = at;
    sla_policies::table
        .filter(sla_policies::city_id.eq(city))
        .filter(sla_policies::state.eq(state.as_str()))
        .filter(sla_policies::loop_.eq(loop_.map(|l| l.as_str()).unwrap_or("")))
        .filter(sla_policies::level.eq(level.as_str()))
        .filter(sla_policies::urgency.eq(urgency.as_str()))
        .select(sla_policies::hours)
        .first(conn)
        .await
        .optional()
}

/// Every entry a city stored: (state, loop or '', level, urgency, hours).
pub async fn stored(
    conn: &mut AsyncPgConnection,
    city: Uuid,
) -> QueryResult<Vec<(String, String, String, String, i32)>> {
    sla_policies::table
        .filter(sla_policies::city_id.eq(city))
        .select((
            sla_policies::state,
            sla_policies::loop_,
            sla_policies::level,
            sla_policies::urgency,
            sla_policies::hours,
        ))
        .load(conn)
        .await
}
