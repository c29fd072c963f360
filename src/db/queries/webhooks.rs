//! Webhooks: registration in scope, the outbox rows an event writes, the worker's claim and the
//! record of each attempt.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::webhooks::{ClaimedRow, DeliveryRow, NewOutbox, WebhookRow};
use crate::db::queries::scope;
use crate::db::schema::{webhook_deliveries, webhook_outbox, webhooks};
use crate::domain::caller::Caller;

/// Registers a webhook.
pub async fn insert(conn: &mut AsyncPgConnection, row: &WebhookRow) -> QueryResult<WebhookRow> {
    diesel::insert_into(webhooks::table)
        .values(row)
        .returning(WebhookRow::as_returning())
        .get_result(conn)
        .await
}

/// One webhook in the caller's scope, or `NotFound`.
pub async fn in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<WebhookRow> {
    scope::webhooks(caller)
        .filter(webhooks::id.eq(id))
        .select(WebhookRow::as_select())
        .first(conn)
        .await
}

/// A page of a city's webhooks in the caller's scope, by id, after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    city: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<WebhookRow>> {
    let mut q = scope::webhooks(caller)
        .filter(webhooks::city_id.eq(city))
        .select(WebhookRow::as_select())
        .order(webhooks::id)
        .limit(limit);
    if let Some(a) = after {
        q = q.filter(webhooks::id.gt(a));
    }
    q.load(conn).await
}

/// Removes a webhook with its outbox and delivery record.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(webhooks::table.filter(webhooks::id.eq(id)))
        .execute(conn)
        .await
}

/// The active webhooks of a city subscribed to `action` (or to every event).
pub async fn subscribed(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    action: &str,
) -> QueryResult<Vec<Uuid>> {
    webhooks::table
        .filter(webhooks::city_id.eq(city))
        .filter(webhooks::active.eq(true))
        .filter(webhooks::events.overlaps_with(vec![
            action.to_string(),
            crate::domain::webhook::EVERY_EVENT.to_string(),
        ]))
        .select(webhooks::id)
        .load(conn)
        .await
}

/// Writes outbox rows (in the caller's transaction: the event's).
pub async fn enqueue(conn: &mut AsyncPgConnection, rows: &[NewOutbox<'_>]) -> QueryResult<usize> {
    diesel::insert_into(webhook_outbox::table)
        .values(rows)
        .execute(conn)
        .await
}

/// Claims up to `limit` due rows for delivery and moves them `lease_ms` into the future, so no
/// other worker takes them while they are sent (a worker that dies lets them fall due again).
/// Only the first pending row of each (webhook, need) is eligible, so a need's events go out in
/// `seq` order; and at most `per_webhook` rows of a webhook are in flight in this worker,
/// counting the `busy` ones it is still sending (`busy_ids[i]` has `busy_counts[i]`), so a
/// receiver that hangs holds only its own share of the worker.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limit: i64,
    per_webhook: i32,
    busy_ids: &[Uuid],
    busy_counts: &[i32],
    lease_ms: i64,
) -> QueryResult<Vec<ClaimedRow>> {
    diesel::sql_query(
        "WITH candidates AS (
            SELECT o.id, o.webhook_id,
                   row_number() OVER (PARTITION BY o.webhook_id
                                      ORDER BY o.next_attempt_at, o.id) AS rank
            FROM webhook_outbox o
            WHERE o.status = 'pending' AND o.next_attempt_at <= now()
              AND NOT EXISTS (
                  SELECT 1 FROM webhook_outbox e
                  WHERE e.webhook_id = o.webhook_id AND e.need_id = o.need_id
                    AND e.seq < o.seq AND e.status = 'pending')
            ORDER BY o.next_attempt_at, o.id
            LIMIT 1000
        ), busy AS (
            SELECT * FROM unnest($1::uuid[], $2::int[]) AS b(webhook_id, n)
        ), picked AS (
            SELECT o.id FROM webhook_outbox o
            JOIN candidates c ON c.id = o.id
            LEFT JOIN busy b ON b.webhook_id = c.webhook_id
            WHERE c.rank + coalesce(b.n, 0) <= $3
              AND o.status = 'pending' AND o.next_attempt_at <= now()
            ORDER BY o.next_attempt_at, o.id
            LIMIT $4
            FOR UPDATE OF o SKIP LOCKED
        )
        UPDATE webhook_outbox o
        SET next_attempt_at = now() + $5 * interval '1 millisecond'
        FROM picked p, webhooks w
        WHERE o.id = p.id AND w.id = o.webhook_id
        RETURNING o.id, o.webhook_id, o.event_id, o.body, o.attempts, w.url, w.secret",
    )
    .bind::<Array<SqlUuid>, _>(busy_ids)
    .bind::<Array<Integer>, _>(busy_counts)
    .bind::<Integer, _>(per_webhook)
    .bind::<BigInt, _>(limit)
    .bind::<BigInt, _>(lease_ms)
    .load(conn)
    .await
}

/// Where an outbox row stands after an attempt.
#[derive(Debug, Clone, Copy)]
pub struct AfterAttempt<'a> {
    /// `pending`, `delivered` or `dead`.
    pub status: &'a str,
    /// Attempts made so far.
    pub attempts: i32,
    /// When it is next due (pending rows).
    pub next_attempt_at: DateTime<Utc>,
    /// When it ended (delivered or dead rows).
    pub finished_at: Option<DateTime<Utc>>,
}

/// Records an attempt: the outbox row's new standing and the attempt itself. Nothing is written
/// when the row is gone (its webhook was deleted meanwhile) or no longer pending.
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    outbox_id: i64,
    after: AfterAttempt<'_>,
    attempt: &DeliveryRow,
) -> QueryResult<bool> {
    let updated = diesel::update(
        webhook_outbox::table
            .filter(webhook_outbox::id.eq(outbox_id))
            .filter(webhook_outbox::status.eq("pending")),
    )
    .set((
        webhook_outbox::status.eq(after.status),
        webhook_outbox::attempts.eq(after.attempts),
        webhook_outbox::next_attempt_at.eq(after.next_attempt_at),
        webhook_outbox::finished_at.eq(after.finished_at),
    ))
    .execute(conn)
    .await?;
    if updated == 0 {
        return Ok(false);
    }
    diesel::insert_into(webhook_deliveries::table)
        .values(attempt)
        .execute(conn)
        .await?;
    Ok(true)
}

/// A page of a webhook's delivery attempts, oldest first, after `after`.
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    webhook: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<DeliveryRow>> {
    let mut q = webhook_deliveries::table
        .filter(webhook_deliveries::webhook_id.eq(webhook))
        .select(DeliveryRow::as_select())
        .order(webhook_deliveries::id)
        .limit(limit)
        .into_boxed();
    if let Some(a) = after {
        q = q.filter(webhook_deliveries::id.gt(a));
    }
    q.load(conn).await
}

/// When the oldest pending outbox row was written, if any row waits.
pub async fn oldest_pending(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Option<chrono::DateTime<chrono::Utc>>> {
    webhook_outbox::table
        .filter(webhook_outbox::status.eq("pending"))
        .select(diesel::dsl::min(webhook_outbox::created_at))
        .first(conn)
        .await
}
