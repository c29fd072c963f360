//! The association's duty roster (会长轮值) as the database holds it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::duty_roster;

/// A roster entry.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = duty_roster)]
pub struct RosterRow {
    /// Id.
    pub id: Uuid,
    /// The association.
    #[serde(skip)]
    pub association_id: Uuid,
    /// The city.
    #[serde(skip)]
    pub city_id: Uuid,
    /// The president on duty.
    pub user_id: Uuid,
    /// First day (inclusive, city time zone).
    pub starts_on: NaiveDate,
    /// Last day (inclusive).
    pub ends_on: NaiveDate,
    /// Created.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}
