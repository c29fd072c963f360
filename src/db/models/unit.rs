//! Org units as the services below `http` read them (reports, volunteer teams).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use uuid::Uuid;

use crate::db::schema::org_units;

/// An org unit row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_units)]
pub struct UnitRow {
    /// Id.
    pub id: Uuid,
    /// `city`, `town` or `village`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// 12-digit statistical division code.
    pub code: String,
    /// The parent unit (null for a city).
    pub parent_id: Option<Uuid>,
    /// The city.
    pub city_id: Uuid,
    /// The town (itself for a town, its parent for a village, null for a city).
    pub town_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// A unit by id, kind and name (a report's child units).
#[derive(Debug, Clone, QueryableByName)]
pub struct UnitName {
    /// Id.
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    /// `city`, `town`, `village`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
}
