//! The org tree as the database holds it: units (city → town → village) and the
//! organisations acting in them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::{org_units, organizations};

/// An org unit row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = org_units)]
#[schema(as = UnitOut, description = "An org unit row.")]
pub struct UnitRow {
    /// Id.
    pub id: Uuid,
    /// `city`, `town` or `village`.
    pub kind: String,
    /// Name (e.g. 钢山街道).
    pub name: String,
    /// 12-digit statistical division code.
    pub code: String,
    /// The parent unit (null for a city).
    pub parent_id: Option<Uuid>,
    /// The city (the tenant key).
    pub city_id: Uuid,
    /// The town (itself for a town, its parent for a village, null for a city).
    pub town_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// A new org unit.
#[derive(Debug, Insertable)]
#[diesel(table_name = org_units)]
pub struct NewUnit<'a> {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Kind word.
    pub kind: &'static str,
    /// Name.
    pub name: &'a str,
    /// 12-digit code.
    pub code: &'a str,
    /// The parent (none for a city).
    pub parent_id: Option<Uuid>,
    /// The city (itself for a city).
    pub city_id: Uuid,
    /// The town (itself for a town, the parent for a village).
    pub town_id: Option<Uuid>,
}

/// An organisation row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = organizations)]
#[schema(as = OrgRow, description = "An organisation.")]
pub struct OrganizationRow {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The unit it acts in.
    pub org_unit_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// For departments: the remit.
    pub department_type: Option<String>,
    /// For extension sites: what it is.
    pub site_type: Option<String>,
    /// For branches: the association.
    pub parent_organization_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// A new organisation.
#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization<'a> {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Kind word.
    pub kind: &'static str,
    /// Name.
    pub name: &'a str,
    /// The unit it acts in.
    pub org_unit_id: Uuid,
    /// The unit's city.
    pub city_id: Uuid,
    /// Department remit word.
    pub department_type: Option<&'static str>,
    /// Extension-site word.
    pub site_type: Option<&'a str>,
    /// A branch's association.
    pub parent_organization_id: Option<Uuid>,
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
