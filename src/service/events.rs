//! A need's history, and what goes with each event: every event of every use case (filing,
//! actions, the sweeper's, handovers, allocations) is recorded here, in the caller's
//! transaction, so whatever must follow an event (notifications, the webhook outbox) is
//! written in one place and commits or rolls back with it.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::Value;

use crate::db::models::needs::{EventRow, NeedRow};
use crate::db::queries::needs as queries;
use crate::domain::caller::Actor;
use crate::domain::need::State;
use crate::error::Result;
use crate::service::notifications;

/// Appends `action` to the need's history (the caller holds the need's row lock) and writes it
/// to the webhook outbox; `need` is the need after the event.
pub async fn record(
    conn: &mut AsyncPgConnection,
    need: &NeedRow,
    action: &str,
    from: Option<State>,
    actor: &Actor,
    at: DateTime<Utc>,
    payload: Value,
) -> Result<EventRow> {
    let event = queries::append_event(conn, need, action, from, actor, at, payload).await?;
    notifications::for_event(conn, need, action, actor, at).await?;
    super::webhooks::enqueue(conn, need, &event).await?;
    Ok(event)
}
