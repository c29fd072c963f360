//! The resources ledger: every movement of funds or materials is one append-only, hash-chained
//! row, and each campaign's balances move with it in the same transaction. A balance never goes
//! below zero: decrements are guarded updates under the campaign's row lock.

use chrono::{SubsecRound, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::json;
use uuid::Uuid;

/// A ledger row as the API answers it (the stored row without its hashes).
pub use crate::db::models::ledger::LedgerEntry as LedgerRow;
use crate::db::models::ledger::{BalanceMove, LedgerEntry};
use crate::db::queries::{campaigns, ledger};
use crate::domain::chain;
use crate::error::{Error, Result};

/// The hash of a ledger row: SHA-256 over the previous hash and the row's canonical content.
pub fn entry_hash(prev: Option<&[u8]>, e: &LedgerEntry) -> Vec<u8> {
    let content = json!({
        "id": e.id, "campaign_id": e.campaign_id, "seq": e.seq, "city_id": e.city_id, "entry": e.entry,
        "kind": e.kind, "item": e.item, "unit": e.unit, "amount": e.amount, "value_fen": e.value_fen,
        "donation_id": e.donation_id, "need_id": e.need_id, "reverses_id": e.reverses_id,
        "donor_name": e.donor_name, "channel": e.channel, "received_on": e.received_on, "note": e.note,
        "actor_user_id": e.actor_user_id, "at": chain::stamp(e.at),
    });
    chain::link(prev, &content)
}

/// Locks a campaign for ledger writes (serialises its movements); returns its city.
pub async fn lock_campaign(conn: &mut AsyncPgConnection, campaign: Uuid) -> Result<Uuid> {
    Ok(campaigns::lock(conn, campaign).await?)
}

/// Appends one movement and moves the balance with it; 409 `insufficient_balance` when an
/// outflow would take the balance below zero (nothing is written then). The caller holds the
/// campaign lock ([`lock_campaign`]) inside its transaction. `e` says what moves; its id, seq,
/// city, time and hashes are assigned here.
pub async fn append(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    e: LedgerEntry,
) -> Result<LedgerEntry> {
    // raised and allocated move by the kind of movement; the balance by its sign
    let (raised, allocated) = match e.entry.as_str() {
        "donation" => (e.amount, 0),
        "allocation" => (0, -e.amount),
        // a reversal undoes a donation (raised) or an allocation (allocated)
        _ => {
            let of = match e.reverses_id {
                Some(r) => ledger::entry_of(conn, r).await?,
                None => return Err(Error::internal("reversal without its entry")),
            };
            if of == "allocation" {
                (0, -e.amount)
            } else {
                (e.amount, 0)
            }
        }
    };
    let (kind, item, unit) = (e.kind.as_str(), e.item.as_str(), e.unit.as_str());
    campaigns::open_balance(conn, e.campaign_id, (kind, item, unit), city).await?;
    let moved = BalanceMove {
        campaign_id: e.campaign_id,
        kind,
        item,
        unit,
        raised,
        allocated,
        balance: e.amount,
        value_fen: if e.entry == "donation" {
            e.value_fen.unwrap_or(0)
        } else {
            0
        },
    };
    if ledger::move_balance(conn, moved).await? != 1 {
        return Err(Error::conflict(
            "insufficient_balance",
            "the campaign's balance is not enough for this",
        ));
    }
    let (seq, prev) = match ledger::last_link(conn, e.campaign_id).await? {
        Some((s, h)) => (s + 1, Some(h)),
        None => (1, None),
    };
    let mut row = LedgerEntry {
        id: Uuid::now_v7(),
        seq,
        city_id: city,
        at: Utc::now().trunc_subsecs(6),
        prev_hash: prev,
        hash: Vec::new(),
        ..e
    };
    row.hash = entry_hash(row.prev_hash.as_deref(), &row);
    ledger::insert(conn, &row).await?;
    Ok(row)
}
