//! The presidents' handover (会长轮值): open city-level needs go with the duty.

use chrono::Utc;
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

use crate::db::models::duty::RosterRow;
use crate::db::models::needs::NewEvent;
use crate::db::queries::{duty, needs as queries, org};
use crate::domain::caller::Actor;
use crate::domain::need::Level;
use crate::error::Result;
use crate::service::events;

/// The roster entry covering today (in the city's time zone), if any.
pub async fn on_duty(conn: &mut AsyncPgConnection, city: Uuid) -> Result<Option<RosterRow>> {
    let today = org::city_today(conn, city).await?;
    Ok(duty::covering(conn, city, today).await?)
}

/// Passes open city-level needs held by a president (or unassigned) to whoever is on duty now,
/// each with a `handover` event (the version stays). Returns how many changed hands.
pub async fn handover(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    actor: &Actor,
    skip_locked: bool,
) -> Result<usize> {
    let duty = on_duty(conn, city).await?.map(|e| e.user_id);
    let presidents = duty::presidents(conn, city).await?;
    let rows = queries::lock_open_at_city(conn, city, skip_locked).await?;
    // held by a president (or nobody) and not by the one on duty: re-checked under the lock
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|n| n.level == Level::City && !n.state.is_final())
        .filter(|n| n.assignee_user_id.is_none_or(|a| presidents.contains(&a)))
        .filter(|n| n.assignee_user_id != duty)
        .collect();
    let now = Utc::now();
    let changed = rows.len();
    for mut n in rows {
        let from = n.assignee_user_id;
        queries::set_assignee(conn, n.id, duty, now).await?;
        n.assignee_user_id = duty;
        n.updated_at = now;
        let payload = json!({"from_user_id": from, "to_user_id": duty});
        events::record(
            conn,
            NewEvent {
                need: &n,
                action: "handover",
                from: Some(n.state),
                actor,
                at: now,
                payload,
            },
        )
        .await?;
    }
    Ok(changed)
}
