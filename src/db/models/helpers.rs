//! Helpers (包保人) as stored, and the forms that write them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::helpers;

/// A helper row, and a new helper as written (its `created_at` set by the code).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = helpers)]
pub struct HelperRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Home village.
    pub village_id: Uuid,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Kind word.
    pub kind: String,
    /// Team.
    pub volunteer_team_id: Option<Uuid>,
    /// Linked user.
    pub user_id: Option<Uuid>,
    /// Active.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// The columns a `PATCH /helpers/{id}` changes (`None`: left as it is).
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = helpers)]
pub struct HelperChanges {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Kind word.
    pub kind: Option<&'static str>,
    /// Team.
    pub volunteer_team_id: Option<Uuid>,
    /// Active.
    pub active: Option<bool>,
}

impl HelperChanges {
    /// Whether nothing changes (diesel refuses an empty `SET`).
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.kind.is_none()
            && self.volunteer_team_id.is_none()
            && self.active.is_none()
    }
}
