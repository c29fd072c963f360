//! Users as the database holds them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::users;

/// A user row (the hash never leaves the service layer).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = users)]
#[schema(as = UserOut, description = "A user as the API shows it.")]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Organisation (null for the deployment admin).
    pub organization_id: Option<Uuid>,
    /// City (null for the deployment admin).
    pub city_id: Option<Uuid>,
    /// argon2 hash.
    #[serde(skip)]
    pub password_hash: String,
    /// Whether the user may sign in.
    pub active: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// A new user, its password already hashed.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// Login name.
    pub username: &'a str,
    /// Name shown to others.
    pub display_name: &'a str,
    /// Role word.
    pub role: &'static str,
    /// Organisation (none for a deployment admin).
    pub organization_id: Option<Uuid>,
    /// The organisation's city.
    pub city_id: Option<Uuid>,
    /// argon2 hash.
    pub password_hash: &'a str,
}

/// What an admin's `PATCH /users/{id}` changes: the fields given, in one UPDATE.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    /// Disabled or re-enabled.
    pub active: Option<bool>,
    /// New display name.
    pub display_name: Option<String>,
    /// New password hash.
    pub password_hash: Option<String>,
    /// Set with a new password: tokens issued before it stop working.
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl UserChanges {
    /// Whether nothing changes (diesel refuses an empty SET).
    pub fn is_empty(&self) -> bool {
        self.active.is_none()
            && self.display_name.is_none()
            && self.password_hash.is_none()
            && self.password_changed_at.is_none()
    }
}
