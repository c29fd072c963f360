//! The ledger's queries: appending a movement, moving its balance, and reading rows back.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::ledger::{BalanceMove, LedgerEntry};
use crate::db::schema::{campaign_balances, ledger_entries};

/// One row.
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<LedgerEntry> {
    ledger_entries::table
        .find(id)
        .select(LedgerEntry::as_select())
        .first(conn)
        .await
}

/// What kind of movement a row is (`donation`, `allocation`, `reversal`).
pub async fn entry_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<String> {
    ledger_entries::table
        .find(id)
        .select(ledger_entries::entry)
        .first(conn)
        .await
}

/// Moves a balance, unless that takes it below zero: the number of rows changed (0 or 1).
pub async fn move_balance(conn: &mut AsyncPgConnection, m: BalanceMove<'_>) -> QueryResult<usize> {
    diesel::update(
        campaign_balances::table
            .filter(campaign_balances::campaign_id.eq(m.campaign_id))
            .filter(campaign_balances::kind.eq(m.kind))
            .filter(campaign_balances::item.eq(m.item))
            .filter(campaign_balances::unit.eq(m.unit))
            .filter((campaign_balances::balance + m.balance).ge(0i64)),
    )
    .set((
        campaign_balances::raised.eq(campaign_balances::raised + m.raised),
        campaign_balances::allocated.eq(campaign_balances::allocated + m.allocated),
        campaign_balances::balance.eq(campaign_balances::balance + m.balance),
        campaign_balances::value_fen.eq(campaign_balances::value_fen + m.value_fen),
    ))
    .execute(conn)
    .await
}

/// The campaign's last row's seq and hash (none before its first movement).
pub async fn last_link(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
) -> QueryResult<Option<(i32, Vec<u8>)>> {
    ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(campaign))
        .order(ledger_entries::seq.desc())
        .select((ledger_entries::seq, ledger_entries::hash))
        .first(conn)
        .await
        .optional()
}

/// Writes a row.
pub async fn insert(conn: &mut AsyncPgConnection, row: &LedgerEntry) -> QueryResult<usize> {
    diesel::insert_into(ledger_entries::table)
        .values(row)
        .execute(conn)
        .await
}

/// How many rows reverse this one (0 or 1).
pub async fn reversals_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<i64> {
    ledger_entries::table
        .filter(ledger_entries::reverses_id.eq(id))
        .count()
        .get_result(conn)
        .await
}

/// A page of a campaign's rows in seq order (`limit` rows after seq `after`).
pub async fn page(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
    limit: i64,
    after: i32,
) -> QueryResult<Vec<LedgerEntry>> {
    ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(campaign))
        .filter(ledger_entries::seq.gt(after))
        .order(ledger_entries::seq)
        .limit(limit)
        .select(LedgerEntry::as_select())
        .load(conn)
        .await
}

/// What a need has received (the first 1,000 rows, in time order).
pub async fn of_need(conn: &mut AsyncPgConnection, need: Uuid) -> QueryResult<Vec<LedgerEntry>> {
    ledger_entries::table
        .filter(ledger_entries::need_id.eq(need))
        .order((ledger_entries::at, ledger_entries::seq))
        .limit(1000)
        .select(LedgerEntry::as_select())
        .load(conn)
        .await
}

/// A page of a campaign's donation ids, in id order (`limit` ids after `after`).
pub async fn donation_ids(
    conn: &mut AsyncPgConnection,
    campaign: Uuid,
    limit: i64,
    after: Option<Uuid>,
) -> QueryResult<Vec<Uuid>> {
    let mut ids = ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(campaign))
        .filter(ledger_entries::entry.eq("donation"))
        .select(ledger_entries::donation_id)
        .distinct()
        .order(ledger_entries::donation_id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        ids = ids.filter(ledger_entries::donation_id.gt(after));
    }
    let ids: Vec<Option<Uuid>> = ids.load(conn).await?;
    Ok(ids.into_iter().flatten().collect())
}

/// Every row of these donations (their reversals included), in seq order.
pub async fn of_donations(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<LedgerEntry>> {
    ledger_entries::table
        .filter(ledger_entries::donation_id.eq_any(ids))
        .order(ledger_entries::seq)
        .select(LedgerEntry::as_select())
        .load(conn)
        .await
}

/// Which of these rows have been reversed.
pub async fn reversed_among(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Uuid>> {
    let reversed: Vec<Option<Uuid>> = ledger_entries::table
        .filter(ledger_entries::reverses_id.eq_any(ids))
        .select(ledger_entries::reverses_id)
        .load(conn)
        .await?;
    Ok(reversed.into_iter().flatten().collect())
}
