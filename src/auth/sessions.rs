//! Console sessions: a random token in an `HttpOnly` cookie, only its SHA-256 in PostgreSQL,
//! an idle deadline moved on every request and an absolute end; signing out deletes the row.
//! A session loads the same [`Caller`] as a bearer token does, so a disabled user or a changed
//! password ends it at once.

use chrono::{Duration, Utc};
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::tokens::new_refresh_token;
use super::Caller;
use crate::db::models::sessions::NewSession;
use crate::db::queries::sessions as q;
use crate::error::Result;

/// The cookie's name.
pub const COOKIE: &str = "zhucan_session";

/// No session outlives a working day, however busy.
pub const MAX_HOURS: i64 = 12;

/// A session just started: the cookie's token (shown once, never stored) and its CSRF token.
pub struct Started {
    /// The cookie's value.
    pub token: String,
    /// The CSRF token of the session's forms.
    pub csrf: String,
}

/// A live session: who it is and the CSRF token its forms must carry.
pub struct Session {
    /// The session's row.
    pub id: Uuid,
    /// The CSRF token.
    pub csrf: String,
    /// The signed-in user, loaded for this request.
    pub caller: Caller,
}

/// What the database keeps of a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Starts a session for a user who has just signed in.
pub async fn start(conn: &mut AsyncPgConnection, user: Uuid, idle: Duration) -> Result<Started> {
    let token = new_refresh_token();
    let csrf = new_refresh_token();
    let now = Utc::now();
    q::insert(
        conn,
        &NewSession {
            id: Uuid::now_v7(),
            token_hash: &token_hash(&token),
            user_id: user,
            csrf_token: &csrf,
            created_at: now,
            idle_until: now + idle,
            expires_at: now + Duration::hours(MAX_HOURS),
        },
    )
    .await?;
    Ok(Started { token, csrf })
}

/// How stale a session's idle deadline may grow before a request moves it: page views within
/// a minute of each other write nothing.
pub const TOUCH_EVERY: Duration = Duration::seconds(60);

/// The live session of a cookie's token, kept alive for another `idle`; `None` when there is
/// none (never was, signed out, idle too long, past its end, or its user may no longer sign in).
pub async fn resume(
    conn: &mut AsyncPgConnection,
    token: &str,
    idle: Duration,
) -> Result<Option<Session>> {
    let now = Utc::now();
    let Some(row) = q::live(conn, &token_hash(token), now).await? else {
        return Ok(None);
    };
    // a page view is a read: the idle deadline is written only when it is more than
    // TOUCH_EVERY behind where this request would put it (so idleness is counted to the minute)
    if row.idle_until < now + idle - TOUCH_EVERY {
        q::extend(conn, row.id, now + idle).await?;
    }
    let issued = u64::try_from(row.created_at.timestamp()).unwrap_or(0);
    match Caller::load(conn, row.user_id, issued).await {
        Ok(caller) => Ok(Some(Session {
            id: row.id,
            csrf: row.csrf_token,
            caller,
        })),
        Err(crate::error::Error::Unauthorized(_)) => {
            q::delete(conn, &token_hash(token)).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Ends the session of a cookie's token (signing out); whether there was one.
pub async fn end(conn: &mut AsyncPgConnection, token: &str) -> Result<bool> {
    Ok(q::delete(conn, &token_hash(token)).await?)
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
