//! Console sessions as the database holds them (only the token's hash).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::console_sessions;

/// A live session as a console request reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = console_sessions)]
pub struct SessionRow {
    /// Id.
    pub id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// The CSRF token every form of the session carries.
    pub csrf_token: String,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Ends unless used before.
    pub idle_until: DateTime<Utc>,
}

/// A new session.
#[derive(Debug, Insertable)]
#[diesel(table_name = console_sessions)]
pub struct NewSession<'a> {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// SHA-256 of the cookie's token.
    pub token_hash: &'a [u8],
    /// Whose it is.
    pub user_id: Uuid,
    /// The CSRF token.
    pub csrf_token: &'a str,
    /// Signed in at.
    pub created_at: DateTime<Utc>,
    /// Ends unless used before.
    pub idle_until: DateTime<Utc>,
    /// Ends whatever happens.
    pub expires_at: DateTime<Utc>,
}
