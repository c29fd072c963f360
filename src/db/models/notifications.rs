//! Notifications as the database holds them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::notifications;

/// A notification row, with its need's case number when it has a need.
#[derive(Debug, Clone, Queryable)]
pub struct NotificationRow {
    /// Id (UUIDv7: id order is time order).
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// The event's action, or `at_risk`, `overdue`, `visit_due`.
    pub kind: String,
    /// The need, if it is about one.
    pub need_id: Option<Uuid>,
    /// The need's case number.
    pub case_number: Option<String>,
    /// One line of Chinese.
    pub title: String,
    /// When the user read it.
    pub read_at: Option<DateTime<Utc>>,
}

/// A notification as written.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = notifications)]
pub struct NewNotification {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Who is told.
    pub user_id: Uuid,
    /// The city (tenant key).
    pub city_id: Uuid,
    /// The need, if any.
    pub need_id: Option<Uuid>,
    /// What happened.
    pub kind: String,
    /// One line of Chinese.
    pub title: String,
    /// When.
    pub at: DateTime<Utc>,
}
