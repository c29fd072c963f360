//! The rows report queries answer with: one per group (`grp` is the child unit, or null for the
//! unit's totals), or one per listed person, campaign, team or helper.

use chrono::{DateTime, Utc};
use diesel::sql_types::{BigInt, Double, Nullable, SmallInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use serde::Serialize;
use uuid::Uuid;

/// A row of a query grouped by child unit.
pub trait GroupRow {
    /// The child unit the row counts (null in the totals).
    fn grp(&self) -> Option<Uuid>;
}

macro_rules! group_row {
    ($($t:ty),*) => {$(
        impl GroupRow for $t {
            fn grp(&self) -> Option<Uuid> {
                self.grp
            }
        }
    )*};
}

group_row!(
    CoverageRow,
    NeedsDailyRow,
    SlaNeedsRow,
    SlaEventsRow,
    FundsRow,
    VolunteersRow
);

/// Coverage counts of a group.
#[derive(QueryableByName)]
pub struct CoverageRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Active persons.
    #[diesel(sql_type = BigInt)]
    pub active: i64,
    /// With a complete group.
    #[diesel(sql_type = BigInt)]
    pub covered: i64,
    /// With an overdue visit.
    #[diesel(sql_type = BigInt)]
    pub overdue: i64,
}

/// A person needing attention (incomplete group or overdue visit), as the coverage report lists it.
#[derive(QueryableByName, Serialize)]
pub struct AttentionRow {
    /// The person.
    #[diesel(sql_type = SqlUuid)]
    pub person_id: Uuid,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Village.
    #[diesel(sql_type = SqlUuid)]
    pub village_id: Uuid,
    /// Helpers in place (0–3).
    #[diesel(sql_type = SmallInt)]
    pub group_size: i16,
    /// Last visit.
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_visited_at: Option<DateTime<Utc>>,
}

/// One child unit's counts of the needs report (from `needs_daily`), in the report's order.
#[derive(Debug, QueryableByName)]
pub struct NeedsDailyRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Filed, closed, by state, by loop (untriaged last), by level, by category.
    #[diesel(sql_type = diesel::sql_types::Array<BigInt>)]
    pub counts: Vec<i64>,
}

/// SLA figures read from the needs.
#[derive(QueryableByName)]
pub struct SlaNeedsRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Closed in the period.
    #[diesel(sql_type = BigInt)]
    pub closed: i64,
    /// Of those, never overdue.
    #[diesel(sql_type = BigInt)]
    pub closed_on_time: i64,
    /// Of those, reopened at least once.
    #[diesel(sql_type = BigInt)]
    pub closed_reopened: i64,
    /// Open and past due now.
    #[diesel(sql_type = BigInt)]
    pub overdue_now: i64,
    /// Mean days to close.
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_days: Option<f64>,
    /// 90th percentile of days to close.
    #[diesel(sql_type = Nullable<Double>)]
    pub p90_days: Option<f64>,
}

/// SLA figures read from the daily event summary.
#[derive(QueryableByName)]
pub struct SlaEventsRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Escalations by the sweeper.
    #[diesel(sql_type = BigInt)]
    pub auto_escalations: i64,
    /// Follow-ups.
    #[diesel(sql_type = BigInt)]
    pub followups: i64,
    /// Satisfied follow-ups.
    #[diesel(sql_type = BigInt)]
    pub satisfied: i64,
    /// Mean satisfaction score.
    #[diesel(sql_type = Nullable<Double>)]
    pub mean_satisfaction: Option<f64>,
    /// Returns (退单).
    #[diesel(sql_type = BigInt)]
    pub returns: i64,
    /// Reroutes to the social loop.
    #[diesel(sql_type = BigInt)]
    pub reroutes: i64,
}

/// Funds allocated to the group's needs.
#[derive(QueryableByName)]
pub struct FundsRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Fen allocated.
    #[diesel(sql_type = BigInt)]
    pub allocated: i64,
    /// Allocation rows.
    #[diesel(sql_type = BigInt)]
    pub allocations: i64,
    /// Distinct needs helped.
    #[diesel(sql_type = BigInt)]
    pub needs_helped: i64,
}

/// What one campaign raised and allocated in the period.
#[derive(QueryableByName)]
pub struct CampaignFiguresRow {
    /// The campaign.
    #[diesel(sql_type = SqlUuid)]
    pub campaign_id: Uuid,
    /// Its name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// themed | special.
    #[diesel(sql_type = Text)]
    pub kind: String,
    /// Funds raised.
    #[diesel(sql_type = BigInt)]
    pub raised_fen: i64,
    /// Funds allocated.
    #[diesel(sql_type = BigInt)]
    pub allocated_fen: i64,
    /// Raised offline.
    #[diesel(sql_type = BigInt)]
    pub offline_fen: i64,
    /// Raised on an online platform.
    #[diesel(sql_type = BigInt)]
    pub online_platform_fen: i64,
    /// Raised by transfer.
    #[diesel(sql_type = BigInt)]
    pub transfer_fen: i64,
    /// Value of the materials received.
    #[diesel(sql_type = BigInt)]
    pub materials_value_fen: i64,
}

/// Volunteer service of a group.
#[derive(QueryableByName)]
pub struct VolunteersRow {
    /// The group.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub grp: Option<Uuid>,
    /// Half hours served.
    #[diesel(sql_type = BigInt)]
    pub halves: i64,
    /// Service records.
    #[diesel(sql_type = BigInt)]
    pub records: i64,
    /// Distinct helpers.
    #[diesel(sql_type = BigInt)]
    pub helpers: i64,
    /// Distinct teams.
    #[diesel(sql_type = BigInt)]
    pub teams: i64,
}

/// Half hours served by one team or helper.
#[derive(QueryableByName)]
pub struct HoursByRow {
    /// The team or helper.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub id: Option<Uuid>,
    /// Its name.
    #[diesel(sql_type = Nullable<Text>)]
    pub name: Option<String>,
    /// Half hours.
    #[diesel(sql_type = BigInt)]
    pub halves: i64,
}
