//! The counts behind the sign-in limits, in PostgreSQL so that every API process shares them:
//! `login_failures` (a row per failure of a client address) and `login_throttle` (the recent
//! failures and the lock of an account name). Only failures write; a successful sign-in reads,
//! and deletes its account's row only when there is one. The rules are `domain::sign_in`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Array, BigInt, Double, Integer, Nullable, Text, Timestamptz};
use diesel::QueryResult;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::net::IpAddr;

use crate::domain::sign_in::{self, Standing};

/// Advisory-lock class of "recording a failure of this address" (the key is the address's hash).
const ADDRESS_LOCK_CLASS: i32 = 0x5349_474e; // "SIGN"

/// The `ADDRESS_FAILURES`-th most recent failure of address `$1` within the window (`$2`
/// seconds), when there are that many (`$3` = how many to skip).
const ADDRESS_FULL_SINCE: &str = "(SELECT f.at FROM login_failures f \
     WHERE f.addr = $1::inet AND f.at > statement_timestamp() - make_interval(secs => $2) \
     ORDER BY f.at DESC OFFSET $3 LIMIT 1)";

#[derive(diesel::QueryableByName)]
struct StandingRow {
    #[diesel(sql_type = Timestamptz)]
    now: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    address_full_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    locked_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Array<Timestamptz>>)]
    recent_failures: Option<Vec<DateTime<Utc>>>,
}

impl StandingRow {
    fn standing(&self) -> Standing {
        Standing {
            now: self.now,
            address_full_since: self.address_full_since,
            account_locked_until: self.locked_until,
        }
    }
}

fn window_secs(window: chrono::Duration) -> f64 {
    window.num_milliseconds() as f64 / 1000.0
}

fn skip_to_full() -> i64 {
    sign_in::ADDRESS_FAILURES.saturating_sub(1) as i64
}

/// Where an attempt from `addr` on account name `account` stands, read in one statement; the
/// flag tells whether the account name has failures on record.
pub async fn standing(
    conn: &mut AsyncPgConnection,
    addr: IpAddr,
    account: &str,
) -> QueryResult<(Standing, bool)> {
    let row: StandingRow = diesel::sql_query(format!(
        "SELECT statement_timestamp() AS now, {ADDRESS_FULL_SINCE} AS address_full_since, \
                t.locked_until, t.recent_failures \
         FROM (SELECT) AS one LEFT JOIN login_throttle t ON t.username_key = $4"
    ))
    .bind::<Text, _>(addr.to_string())
    .bind::<Double, _>(window_secs(sign_in::ADDRESS_WINDOW))
    .bind::<BigInt, _>(skip_to_full())
    .bind::<Text, _>(account)
    .get_result(conn)
    .await?;
    Ok((row.standing(), row.recent_failures.is_some()))
}

/// What became of a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Failure {
    /// Counted against the address and the account name; `locked` when it locked the name.
    Counted {
        /// This failure locked the account name.
        locked: bool,
    },
    /// A limit was reached by other attempts while this one's password was checked: it is not
    /// counted, and it is answered 429 with this many seconds to wait.
    Refused(u64),
}

/// Counts a failed attempt from `addr` on `account`, unless a limit was reached meanwhile.
///
/// Failures of one address are recorded one at a time (a transaction-scoped advisory lock on
/// the address; the account's row is locked by its upsert), and the limits are read again under
/// those locks, so concurrent attempts cannot together get past a limit: those beyond it are
/// refused whatever their password. Old failures of the address are deleted on the way.
pub async fn record_failure(
    conn: &mut AsyncPgConnection,
    addr: IpAddr,
    account: &str,
) -> QueryResult<Failure> {
    let addr = addr.to_string();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        diesel::sql_query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind::<Integer, _>(ADDRESS_LOCK_CLASS)
            .bind::<Text, _>(&addr)
            .execute(conn)
            .await?;
        // a fresh statement after the lock: it sees every failure committed before it, and its
        // clock (statement_timestamp(), not the transaction's now()) is later than theirs
        let row: StandingRow = diesel::sql_query(format!(
            "WITH pruned AS (
                DELETE FROM login_failures
                WHERE addr = $1::inet AND at <= statement_timestamp() - make_interval(secs => $2)
             ), account AS (
                INSERT INTO login_throttle AS t (username_key) VALUES ($4)
                ON CONFLICT (username_key) DO UPDATE SET updated_at = t.updated_at
                RETURNING t.locked_until, t.recent_failures
             )
             SELECT statement_timestamp() AS now, {ADDRESS_FULL_SINCE} AS address_full_since,
                    account.locked_until, account.recent_failures
             FROM account"
        ))
        .bind::<Text, _>(&addr)
        .bind::<Double, _>(window_secs(sign_in::ADDRESS_WINDOW))
        .bind::<BigInt, _>(skip_to_full())
        .bind::<Text, _>(account)
        .get_result(conn)
        .await?;
        if let Some(wait) = row.standing().retry_after() {
            return Ok(Failure::Refused(wait));
        }
        let after =
            sign_in::account_failure(row.recent_failures.as_deref().unwrap_or_default(), row.now);
        diesel::sql_query(
            "WITH failure AS (INSERT INTO login_failures (addr, at) VALUES ($1::inet, $2))
             UPDATE login_throttle
             SET failures = $4, recent_failures = $5,
                 locked_until = coalesce($6, locked_until), updated_at = $2
             WHERE username_key = $3",
        )
        .bind::<Text, _>(&addr)
        .bind::<Timestamptz, _>(row.now)
        .bind::<Text, _>(account)
        .bind::<Integer, _>(after.recent.len() as i32)
        .bind::<Array<Timestamptz>, _>(&after.recent)
        .bind::<Nullable<Timestamptz>, _>(after.locks_until)
        .execute(conn)
        .await?;
        Ok(Failure::Counted {
            locked: after.locks_until.is_some(),
        })
    })
    .await
}

/// Forgets an account name's failures after its user signed in.
pub async fn clear_account(conn: &mut AsyncPgConnection, account: &str) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM login_throttle WHERE username_key = $1")
        .bind::<Text, _>(account)
        .execute(conn)
        .await?;
    Ok(())
}

/// Deletes the counts that no longer count: address failures older than their window, and
/// account names whose failures are all older than theirs and that are not locked. Returns how
/// many rows of each went.
pub async fn prune(conn: &mut AsyncPgConnection) -> QueryResult<(usize, usize)> {
    let failures = diesel::sql_query(
        "DELETE FROM login_failures WHERE at <= now() - make_interval(secs => $1)",
    )
    .bind::<Double, _>(window_secs(sign_in::ADDRESS_WINDOW))
    .execute(conn)
    .await?;
    let accounts = diesel::sql_query(
        "DELETE FROM login_throttle
         WHERE updated_at <= now() - make_interval(secs => $1)
           AND (locked_until IS NULL OR locked_until <= now())",
    )
    .bind::<Double, _>(window_secs(sign_in::ACCOUNT_WINDOW))
    .execute(conn)
    .await?;
    Ok((failures, accounts))
}
