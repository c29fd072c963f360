//! The resources ledger: every movement of funds or materials is one append-only, hash-chained
//! row, and each campaign's balances move with it in the same transaction. A balance never goes
//! below zero: decrements are guarded updates under the campaign's row lock.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::schema::{campaign_balances, campaigns, ledger_entries};
use crate::error::{Error, Result};

/// A ledger row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ledger_entries)]
pub struct LedgerRow {
    /// Id.
    pub id: Uuid,
    /// The campaign.
    pub campaign_id: Uuid,
    /// 1, 2, ... per campaign.
    pub seq: i32,
    /// The city.
    pub city_id: Uuid,
    /// `donation`, `allocation` or `reversal`.
    pub entry: String,
    /// `funds` or `materials`.
    pub kind: String,
    /// The material ('' for funds).
    pub item: String,
    /// Its unit ('' for funds).
    pub unit: String,
    /// Fen for funds, quantity for materials; positive in, negative out.
    pub amount: i64,
    /// For materials: their value in fen, if known.
    pub value_fen: Option<i64>,
    /// Groups the rows of one donation.
    pub donation_id: Option<Uuid>,
    /// The need an allocation went to.
    pub need_id: Option<Uuid>,
    /// The row a reversal undoes.
    pub reverses_id: Option<Uuid>,
    /// Donor.
    pub donor_name: Option<String>,
    /// `offline`, `online_platform` or `transfer`.
    pub channel: Option<String>,
    /// When the donation was received.
    pub received_on: Option<NaiveDate>,
    /// A note or reason.
    pub note: Option<String>,
    /// Who wrote it.
    pub actor_user_id: Option<Uuid>,
    /// When.
    pub at: DateTime<Utc>,
    /// Previous row's hash.
    #[serde(skip)]
    pub prev_hash: Option<Vec<u8>>,
    /// This row's hash.
    #[serde(skip)]
    pub hash: Vec<u8>,
}

/// What a new ledger row says (seq and hashes are added by [`append`]).
#[derive(Debug, Clone, Default)]
pub struct NewEntry {
    /// The campaign.
    pub campaign_id: Uuid,
    /// donation | allocation | reversal.
    pub entry: &'static str,
    /// funds | materials.
    pub kind: String,
    /// Material.
    pub item: String,
    /// Unit.
    pub unit: String,
    /// Signed amount.
    pub amount: i64,
    /// Value in fen.
    pub value_fen: Option<i64>,
    /// Donation group.
    pub donation_id: Option<Uuid>,
    /// Need.
    pub need_id: Option<Uuid>,
    /// Reversed row.
    pub reverses_id: Option<Uuid>,
    /// Donor.
    pub donor_name: Option<String>,
    /// Channel.
    pub channel: Option<String>,
    /// Received.
    pub received_on: Option<NaiveDate>,
    /// Note.
    pub note: Option<String>,
    /// Who.
    pub actor_user_id: Option<Uuid>,
}

/// The hash of a ledger row: SHA-256 over the previous hash and the row's canonical content.
pub fn entry_hash(prev: Option<&[u8]>, e: &LedgerRow) -> Vec<u8> {
    let content = json!({
        "id": e.id, "campaign_id": e.campaign_id, "seq": e.seq, "city_id": e.city_id, "entry": e.entry,
        "kind": e.kind, "item": e.item, "unit": e.unit, "amount": e.amount, "value_fen": e.value_fen,
        "donation_id": e.donation_id, "need_id": e.need_id, "reverses_id": e.reverses_id,
        "donor_name": e.donor_name, "channel": e.channel, "received_on": e.received_on, "note": e.note,
        "actor_user_id": e.actor_user_id, "at": e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    });
    let mut h = Sha256::new();
    h.update(prev.unwrap_or(&[]));
    h.update(content.to_string().as_bytes());
    h.finalize().to_vec()
}

/// Locks a campaign for ledger writes (serialises its movements); returns its city.
pub async fn lock_campaign(conn: &mut AsyncPgConnection, campaign: Uuid) -> Result<Uuid> {
    Ok(campaigns::table
        .find(campaign)
        .select(campaigns::city_id)
        .for_update()
        .first(conn)
        .await?)
}

/// Appends one movement and moves the balance with it; 409 `insufficient_balance` when an
/// outflow would take the balance below zero (nothing is written then). The caller holds the
/// campaign lock ([`lock_campaign`]) inside its transaction.
pub async fn append(conn: &mut AsyncPgConnection, city: Uuid, e: NewEntry) -> Result<LedgerRow> {
    // raised and allocated move by the kind of movement; the balance by its sign
    let (raised, allocated) = match e.entry {
        "donation" => (e.amount, 0),
        "allocation" => (0, -e.amount),
        // a reversal undoes a donation (raised) or an allocation (allocated)
        _ => {
            let of: String = match e.reverses_id {
                Some(r) => {
                    ledger_entries::table
                        .find(r)
                        .select(ledger_entries::entry)
                        .first(conn)
                        .await?
                }
                None => return Err(Error::internal("reversal without its entry")),
            };
            if of == "allocation" {
                (0, -e.amount)
            } else {
                (e.amount, 0)
            }
        }
    };
    let value = e.value_fen.unwrap_or(0);
    diesel::insert_into(campaign_balances::table)
        .values((
            campaign_balances::campaign_id.eq(e.campaign_id),
            campaign_balances::kind.eq(&e.kind),
            campaign_balances::item.eq(&e.item),
            campaign_balances::unit.eq(&e.unit),
            campaign_balances::city_id.eq(city),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let updated = diesel::update(
        campaign_balances::table
            .filter(campaign_balances::campaign_id.eq(e.campaign_id))
            .filter(campaign_balances::kind.eq(&e.kind))
            .filter(campaign_balances::item.eq(&e.item))
            .filter(campaign_balances::unit.eq(&e.unit))
            .filter((campaign_balances::balance + e.amount).ge(0i64)),
    )
    .set((
        campaign_balances::raised.eq(campaign_balances::raised + raised),
        campaign_balances::allocated.eq(campaign_balances::allocated + allocated),
        campaign_balances::balance.eq(campaign_balances::balance + e.amount),
        campaign_balances::value_fen
            .eq(campaign_balances::value_fen + if e.entry == "donation" { value } else { 0 }),
    ))
    .execute(conn)
    .await?;
    if updated != 1 {
        return Err(Error::conflict(
            "insufficient_balance",
            "the campaign's balance is not enough for this",
        ));
    }
    let last: Option<(i32, Vec<u8>)> = ledger_entries::table
        .filter(ledger_entries::campaign_id.eq(e.campaign_id))
        .order(ledger_entries::seq.desc())
        .select((ledger_entries::seq, ledger_entries::hash))
        .first(conn)
        .await
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, Some(h)),
        None => (1, None),
    };
    let mut row = LedgerRow {
        id: Uuid::now_v7(),
        campaign_id: e.campaign_id,
        seq,
        city_id: city,
        entry: e.entry.to_string(),
        kind: e.kind,
        item: e.item,
        unit: e.unit,
        amount: e.amount,
        value_fen: e.value_fen,
        donation_id: e.donation_id,
        need_id: e.need_id,
        reverses_id: e.reverses_id,
        donor_name: e.donor_name,
        channel: e.channel,
        received_on: e.received_on,
        note: e.note,
        actor_user_id: e.actor_user_id,
        at: Utc::now().trunc_subsecs(6),
        prev_hash: prev,
        hash: Vec::new(),
    };
    row.hash = entry_hash(row.prev_hash.as_deref(), &row);
    diesel::insert_into(ledger_entries::table)
        .values((
            ledger_entries::id.eq(row.id),
            ledger_entries::campaign_id.eq(row.campaign_id),
            ledger_entries::seq.eq(row.seq),
            ledger_entries::city_id.eq(row.city_id),
            ledger_entries::entry.eq(&row.entry),
            ledger_entries::kind.eq(&row.kind),
            ledger_entries::item.eq(&row.item),
            ledger_entries::unit.eq(&row.unit),
            ledger_entries::amount.eq(row.amount),
            ledger_entries::value_fen.eq(row.value_fen),
            ledger_entries::donation_id.eq(row.donation_id),
            ledger_entries::need_id.eq(row.need_id),
            ledger_entries::reverses_id.eq(row.reverses_id),
            ledger_entries::donor_name.eq(&row.donor_name),
            ledger_entries::channel.eq(&row.channel),
            ledger_entries::received_on.eq(row.received_on),
            ledger_entries::note.eq(&row.note),
            ledger_entries::actor_user_id.eq(row.actor_user_id),
            ledger_entries::at.eq(row.at),
            ledger_entries::prev_hash.eq(&row.prev_hash),
            ledger_entries::hash.eq(&row.hash),
        ))
        .execute(conn)
        .await?;
    Ok(row)
}
