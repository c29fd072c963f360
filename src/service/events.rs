//! A need's history, and what goes with each event: every event of every use case (filing,
//! actions, the sweeper's, handovers, allocations) is recorded here, in the caller's
//! transaction, so whatever must follow an event (notifications, the webhook outbox) is
//! written in one place and commits or rolls back with it.

use diesel_async::AsyncPgConnection;

use crate::db::models::needs::{EventRow, NewEvent};
use crate::db::queries::needs as queries;
use crate::error::Result;
use crate::service::notifications;

/// Appends `action` to the need's history (the caller holds the need's row lock) and writes it
/// to the webhook outbox; `need` is the need after the event.
pub async fn record(conn: &mut AsyncPgConnection, e: NewEvent<'_>) -> Result<EventRow> {
    let (need, action, actor, at) = (e.need, e.action, e.actor, e.at);
    let event = queries::append_event(conn, e).await?;
    notifications::for_event(conn, need, action, actor, at).await?;
    super::webhooks::enqueue(conn, need, &event).await?;
    Ok(event)
}
