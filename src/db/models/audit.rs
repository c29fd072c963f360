//! The audit log of reveals, exports and imports of personal data.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::audit_log;

/// One audit-log row (the API's `AuditOut`).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_log)]
#[schema(as = AuditOut, description = "One audit-log row.")]
pub struct AuditRow {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user id).
    pub actor_user_id: Option<Uuid>,
    /// Who (username).
    pub actor: String,
    /// `reveal` or `export`.
    pub action: String,
    /// The person concerned.
    pub person_id: Option<Uuid>,
    /// Which fields were shown.
    pub fields: Vec<String>,
}

/// A new audit-log row (`at` is the database's now).
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAudit<'a> {
    /// Id.
    pub id: Uuid,
    /// The actor's city (none for the deployment admin).
    pub city_id: Option<Uuid>,
    /// Who (user id).
    pub actor_user_id: Option<Uuid>,
    /// Who (username).
    pub actor: &'a str,
    /// What was done.
    pub action: &'a str,
    /// The person concerned.
    pub person_id: Option<Uuid>,
    /// Which fields.
    pub fields: Vec<String>,
}
