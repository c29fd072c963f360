//! Volunteer teams and service records.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{service_records, volunteer_teams};

/// A team row, and a new team as written (its `created_at` set by the code).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = volunteer_teams)]
pub struct TeamRow {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Where it is organised.
    pub org_unit_id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town (if at a town or village).
    pub town_id: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A service record row, and a new record as written (its `created_at` set by the code).
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = service_records)]
pub struct ServiceRow {
    /// Id.
    pub id: Uuid,
    /// The need's city.
    pub city_id: Uuid,
    /// The helper.
    pub helper_id: Uuid,
    /// The need served.
    pub need_id: Uuid,
    /// The helper's team at the time (now, for a new record).
    pub team_id: Option<Uuid>,
    /// The day.
    pub served_on: NaiveDate,
    /// Half hours.
    pub half_hours: i32,
    /// A note.
    pub note: String,
    /// Who recorded it.
    pub recorded_by: Uuid,
    /// When recorded.
    pub created_at: DateTime<Utc>,
}
