//! `Idempotency-Key` claims: a transaction-scoped advisory lock says "in flight", and the key
//! row commits with the need and its answer, so a request that dies leaves nothing behind.

use chrono::Utc;
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::schema::idempotency_keys;

/// Where a key stands for this request.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// This request owns the key: go on, then [`answer`].
    Mine,
    /// Another request with the key is still running.
    InFlight,
    /// The key was used with another body.
    Reused,
    /// The key was answered before: replay this status and body.
    Replay(i32, Value),
}

/// The advisory lock a filing holds on its (user, key) while it runs.
fn key_lock(user: Uuid, key: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(user.as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Claims a key inside the caller's transaction.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    key: &str,
    hash: &[u8],
) -> QueryResult<Claim> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS got")
        .bind::<diesel::sql_types::BigInt, _>(key_lock(user, key))
        .get_result(conn)
        .await?;
    if !lock.got {
        return Ok(Claim::InFlight);
    }
    let found: Option<(Vec<u8>, Option<i32>, Option<Value>)> = idempotency_keys::table
        .find((user, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .await
        .optional()?;
    match found {
        None => {
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::user_id.eq(user),
                    idempotency_keys::key.eq(key),
                    idempotency_keys::request_hash.eq(hash),
                ))
                .execute(conn)
                .await?;
            Ok(Claim::Mine)
        }
        Some((stored, _, _)) if stored != hash => Ok(Claim::Reused),
        Some((_, Some(status), Some(body))) => Ok(Claim::Replay(status, body)),
        Some(_) => {
            // a claim without an answer (committed on its own by an older build): nobody holds
            // the lock, so its request is gone and this one takes the key over
            diesel::update(idempotency_keys::table.find((user, key)))
                .set(idempotency_keys::created_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            Ok(Claim::Mine)
        }
    }
}

/// Records the answer of a claimed key (in the same transaction as the work).
pub async fn answer(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    key: &str,
    status: i32,
    body: Value,
) -> QueryResult<()> {
    diesel::update(idempotency_keys::table.find((user, key)))
        .set((
            idempotency_keys::status.eq(status),
            idempotency_keys::response.eq(body),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether a key was claimed before (answered, in flight or left over): its request is then a
/// replay, a conflict or a reuse, never a new filing.
pub async fn seen(conn: &mut AsyncPgConnection, user: Uuid, key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        idempotency_keys::table.find((user, key)),
    ))
    .get_result(conn)
    .await
}
