//! The duty roster (会长轮值) and the presidents on it.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{duty_roster, users};

/// A roster entry as stored, and as a new turn is written (its `created_at` set by the code).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = duty_roster)]
pub struct RosterEntry {
    /// Id.
    pub id: Uuid,
    /// The association.
    pub association_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// The president on duty.
    pub user_id: Uuid,
    /// First day (inclusive, city time zone).
    pub starts_on: NaiveDate,
    /// Last day (inclusive).
    pub ends_on: NaiveDate,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A turn's change: the president and both days, written in one UPDATE.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = duty_roster)]
pub struct RosterChange {
    /// The president.
    pub user_id: Uuid,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
}

/// A president as the roster names them.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct PresidentRow {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
}

/// What decides whether a user may be on the roster: role, organisation, active.
#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserStanding {
    /// Role word.
    pub role: String,
    /// Organisation.
    pub organization_id: Option<Uuid>,
    /// Whether the user may sign in.
    pub active: bool,
}
