//! Webhooks, their outbox and their delivery attempts as the database holds them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{webhook_deliveries, webhook_outbox, webhooks};

/// A registered webhook.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhooks)]
pub struct WebhookRow {
    /// Id.
    pub id: Uuid,
    /// The city whose events it receives.
    pub city_id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// Action words, or `*`.
    pub events: Vec<String>,
    /// The HMAC key.
    pub secret: String,
    /// Whether events are written for it.
    pub active: bool,
    /// Registered.
    pub created_at: DateTime<Utc>,
}

/// One event for one webhook, to be written with the event.
#[derive(Debug, Insertable)]
#[diesel(table_name = webhook_outbox)]
pub struct NewOutbox<'a> {
    /// The webhook.
    pub webhook_id: Uuid,
    /// The event's own id.
    pub event_id: Uuid,
    /// The need.
    pub need_id: Uuid,
    /// The event's place in the need's history.
    pub seq: i32,
    /// The JSON body, exactly as signed and sent.
    pub body: &'a str,
    /// Due at once.
    pub next_attempt_at: DateTime<Utc>,
    /// Written.
    pub created_at: DateTime<Utc>,
}

/// An outbox row claimed for delivery, with what sending it needs.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClaimedRow {
    /// The outbox row.
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    /// The webhook.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub webhook_id: Uuid,
    /// The event's own id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub event_id: Uuid,
    /// The body to send.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub body: String,
    /// Attempts made before this one.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub attempts: i32,
    /// The webhook's URL.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub url: String,
    /// The webhook's key.
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub secret: String,
}

/// One delivery attempt.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    /// Id (time-ordered).
    pub id: Uuid,
    /// The webhook.
    pub webhook_id: Uuid,
    /// The outbox row.
    pub outbox_id: i64,
    /// The event's own id.
    pub event_id: Uuid,
    /// 1, 2, … per outbox row.
    pub attempt: i32,
    /// When it was made.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status, if it answered.
    pub status: Option<i32>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
}
