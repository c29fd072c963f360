//! Refresh tokens as the database holds them (only their hashes).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::refresh_tokens;

/// A refresh token as rotation reads it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens)]
pub struct RefreshRow {
    /// Id.
    pub id: Uuid,
    /// The sign-in it descends from.
    pub family_id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was traded for a new pair.
    pub used_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new refresh token.
#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshToken<'a> {
    /// Id (UUIDv7).
    pub id: Uuid,
    /// The sign-in it descends from.
    pub family_id: Uuid,
    /// Whose it is.
    pub user_id: Uuid,
    /// SHA-256 of the token.
    pub token_hash: &'a [u8],
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}
