//! Refresh tokens: issued, locked for rotation, spent, revoked by family or by user.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::tokens::{NewRefreshToken, RefreshRow};
use crate::db::schema::refresh_tokens;

/// Writes a refresh token.
pub async fn insert(conn: &mut AsyncPgConnection, t: &NewRefreshToken<'_>) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(t)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The token with this hash, locked so that one token is traded once, if there is one.
pub async fn lock_by_hash(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> QueryResult<Option<RefreshRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Marks a token traded.
pub async fn mark_used(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::used_at.eq(at))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The family of a user's token with this hash, if there is one.
pub async fn family_of(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    user: Uuid,
) -> QueryResult<Option<Uuid>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .filter(refresh_tokens::user_id.eq(user))
        .select(refresh_tokens::family_id)
        .first(conn)
        .await
        .optional()
}

/// Revokes every live token of a sign-in (one session).
pub async fn revoke_family(conn: &mut AsyncPgConnection, family: Uuid) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Revokes every live token of a user (every session).
pub async fn revoke_user(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<()> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(Utc::now()))
    .execute(conn)
    .await
    .map(|_| ())
}
