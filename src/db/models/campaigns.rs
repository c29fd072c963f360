//! Campaigns and their balances (kept by the ledger's writes).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::db::schema::{campaign_balances, campaigns};

/// A campaign row, and a new campaign as written (its `created_at` set by the code).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = campaigns)]
pub struct CampaignRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Name.
    pub name: String,
    /// themed | special.
    pub kind: String,
    /// Description.
    pub description: String,
    /// First day.
    pub starts_on: NaiveDate,
    /// Last day.
    pub ends_on: NaiveDate,
    /// Need categories it serves.
    pub target_categories: Vec<String>,
    /// Goal in fen.
    pub goal_fen: Option<i64>,
    /// Creator.
    pub created_by: Option<Uuid>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// One balance of a campaign: its funds, or one material in one unit.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = campaign_balances)]
pub struct BalanceRow {
    /// funds | materials.
    pub kind: String,
    /// The material ('' for funds).
    pub item: String,
    /// Its unit ('' for funds).
    pub unit: String,
    /// Received.
    pub raised: i64,
    /// Allocated to needs.
    pub allocated: i64,
    /// Left.
    pub balance: i64,
    /// Declared value of what was received (fen).
    pub value_fen: i64,
}
