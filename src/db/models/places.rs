//! Where a new person or helper sits: the org unit as registration needs it.

use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::org_units;

/// An org unit as a registration places something in it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = org_units)]
pub struct UnitPlace {
    /// Id.
    pub id: Uuid,
    /// `city`, `town` or `village`.
    pub kind: String,
    /// 12-digit statistical division code.
    pub code: String,
    /// The city.
    pub city_id: Uuid,
    /// The town (itself for a town, its parent for a village, null for a city).
    pub town_id: Option<Uuid>,
}

/// A village, resolved: the three columns a row placed in it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Village {
    /// The village.
    pub id: Uuid,
    /// Its town.
    pub town_id: Uuid,
    /// Its city.
    pub city_id: Uuid,
}

impl Village {
    /// A village from its unit columns (a unit without a town stands in its city's place).
    pub fn of(id: Uuid, city_id: Uuid, town_id: Option<Uuid>) -> Self {
        Village {
            id,
            town_id: town_id.unwrap_or(city_id),
            city_id,
        }
    }
}

impl From<&UnitPlace> for Village {
    fn from(u: &UnitPlace) -> Self {
        Village::of(u.id, u.city_id, u.town_id)
    }
}
