//! The resources ledger: one append-only, hash-chained row per movement.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use uuid::Uuid;

use crate::db::schema::ledger_entries;

/// A ledger row as stored, and as written: a caller says what moves (the rest left at
/// `Default`) and the service's `append` fills in id, seq, city, time and the hashes; the API
/// answers it as `LedgerRow`, without the hashes.
#[derive(Debug, Clone, Default, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = ledger_entries)]
#[schema(as = LedgerRow, description = "A ledger row.")]
pub struct LedgerEntry {
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

/// How one movement changes its campaign balance row.
#[derive(Debug, Clone, Copy)]
pub struct BalanceMove<'a> {
    /// The campaign.
    pub campaign_id: Uuid,
    /// funds | materials.
    pub kind: &'a str,
    /// The material ('' for funds).
    pub item: &'a str,
    /// Its unit ('' for funds).
    pub unit: &'a str,
    /// Added to `raised`.
    pub raised: i64,
    /// Added to `allocated`.
    pub allocated: i64,
    /// Added to `balance` (which may not go below zero).
    pub balance: i64,
    /// Added to `value_fen`.
    pub value_fen: i64,
}
