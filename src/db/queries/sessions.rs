//! Console sessions: started, found and kept alive in one statement, ended, pruned.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::sessions::{NewSession, SessionRow};
use crate::db::schema::console_sessions;

/// Writes a session.
pub async fn insert(conn: &mut AsyncPgConnection, s: &NewSession<'_>) -> QueryResult<()> {
    diesel::insert_into(console_sessions::table)
        .values(s)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The live session with this token hash (a session idle past its deadline, or past its
/// absolute end, is not found).
pub async fn live(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<SessionRow>> {
    console_sessions::table
        .filter(console_sessions::token_hash.eq(hash))
        .filter(console_sessions::idle_until.gt(now))
        .filter(console_sessions::expires_at.gt(now))
        .select(SessionRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Moves a live session's idle deadline to `idle_until` (never back).
pub async fn extend(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    idle_until: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        console_sessions::table
            .filter(console_sessions::id.eq(id))
            .filter(console_sessions::idle_until.lt(idle_until)),
    )
    .set(console_sessions::idle_until.eq(idle_until))
    .execute(conn)
    .await
    .map(|_| ())
}

/// Deletes the session with this token hash (signing out); whether there was one.
pub async fn delete(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<bool> {
    diesel::delete(console_sessions::table.filter(console_sessions::token_hash.eq(hash)))
        .execute(conn)
        .await
        .map(|n| n > 0)
}

/// Deletes every session idle or expired before `now`; how many.
pub async fn prune(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(
        console_sessions::table.filter(
            console_sessions::idle_until
                .le(now)
                .or(console_sessions::expires_at.le(now)),
        ),
    )
    .execute(conn)
    .await
}
