//! The report queries. Every figure is defined in docs/reports.md; the SQL below is that
//! definition. A grouped query runs twice: once for the unit's totals (`{grp}` is a null
//! constant), once grouped by the child column (none for a village); `{col}` is the column that
//! places a row under the unit.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{Date, Timestamptz, Uuid as SqlUuid};
use diesel::QueryableByName;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::org::UnitRow;
use crate::db::models::reports::{
    AttentionRow, CampaignFiguresRow, CoverageRow, FundsRow, HoursByRow, NeedsDailyRow,
    SlaEventsRow, SlaNeedsRow, VolunteersRow,
};
use crate::db::schema::city_settings;

/// The rows of a grouped query: the unit's totals, and (unless the unit is a village) a row per
/// child unit that has any.
pub struct Grouped<R> {
    /// The totals (one row, or none).
    pub totals: Vec<R>,
    /// The rows per child unit; `None` for a village.
    pub children: Option<Vec<R>>,
}

/// The column of `persons`/`needs` that places a row under a unit of this kind.
fn unit_column(kind: &str) -> &'static str {
    match kind {
        "city" => "city_id",
        "town" => "town_id",
        _ => "village_id",
    }
}

/// The column naming a row's child unit under a unit of this kind (none for a village).
fn child_column(kind: &str) -> Option<&'static str> {
    match kind {
        "city" => Some("town_id"),
        "town" => Some("village_id"),
        _ => None,
    }
}

/// Whether a unit of this kind has child units to report on (a city its towns, a town its
/// villages).
pub fn has_children(unit: &UnitRow) -> bool {
    child_column(&unit.kind).is_some()
}

type Binds = dyn Fn(SqlQuery) -> BoxedSqlQuery<'static, Pg, SqlQuery>;

/// Binds `$1` the unit, `$2`/`$3` the days `from..=to`, `$4` the city.
fn by_days(
    unit: &UnitRow,
    from: NaiveDate,
    to: NaiveDate,
) -> impl Fn(SqlQuery) -> BoxedSqlQuery<'static, Pg, SqlQuery> {
    let (unit_id, city) = (unit.id, unit.city_id);
    move |q: SqlQuery| {
        q.into_boxed()
            .bind::<SqlUuid, _>(unit_id)
            .bind::<Date, _>(from)
            .bind::<Date, _>(to)
            .bind::<SqlUuid, _>(city)
    }
}

/// Runs a grouped query for the totals and, below a city or town, per child unit.
async fn grouped<R>(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    sql: &str,
    binds: &Binds,
) -> QueryResult<Grouped<R>>
where
    R: QueryableByName<Pg> + Send + 'static,
{
    let col = unit_column(&unit.kind);
    let total_sql = sql
        .replace("n.{grp}", "NULL::uuid")
        .replace("{grp}", "NULL::uuid")
        .replace("{col}", col);
    let totals: Vec<R> = binds(diesel::sql_query(total_sql)).load(conn).await?;
    let children = match child_column(&unit.kind) {
        Some(child) => {
            let child_sql = format!(
                "{} GROUP BY 1",
                sql.replace("{grp}", child).replace("{col}", col)
            );
            Some(binds(diesel::sql_query(child_sql)).load(conn).await?)
        }
        None => None,
    };
    Ok(Grouped { totals, children })
}

/// Groups a query joined to `needs n` by the need's child column (`n.town_id`, ...).
fn on_needs(sql: &str, unit: &UnitRow) -> String {
    match child_column(&unit.kind) {
        Some(_) => sql.replacen("{grp}", "n.{grp}", 1),
        None => sql.to_string(),
    }
}

/// The city's time zone setting, if any.
pub async fn time_zone(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<Option<String>> {
    city_settings::table
        .find(city)
        .select(city_settings::time_zone)
        .first(conn)
        .await
        .optional()
}

/// The city's visit interval setting, if any.
pub async fn visit_interval_days(
    conn: &mut AsyncPgConnection,
    city: Uuid,
) -> QueryResult<Option<i32>> {
    city_settings::table
        .find(city)
        .select(city_settings::visit_interval_days)
        .first(conn)
        .await
        .optional()
}

/// Active persons, those with a complete group, and those with a visit older than `cutoff`.
pub async fn coverage(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    cutoff: DateTime<Utc>,
) -> QueryResult<Grouped<CoverageRow>> {
    let sql = "SELECT {grp} AS grp, count(*) AS active, count(*) FILTER (WHERE group_size >= 3) AS covered, \
               count(*) FILTER (WHERE last_visited_at IS NULL OR last_visited_at < $2) AS overdue \
               FROM persons WHERE {col} = $1 AND status = 'active'";
    let unit_id = unit.id;
    let binds = move |q: SqlQuery| {
        q.into_boxed()
            .bind::<SqlUuid, _>(unit_id)
            .bind::<Timestamptz, _>(cutoff)
    };
    grouped(conn, unit, sql, &binds).await
}

/// Active persons whose group is incomplete (the first 200).
pub async fn incomplete_groups(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
) -> QueryResult<Vec<AttentionRow>> {
    let col = unit_column(&unit.kind);
    diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND group_size < 3 ORDER BY id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit.id)
    .load(conn)
    .await
}

/// Active persons whose last visit is older than `cutoff` (the 200 longest waiting).
pub async fn overdue_visits(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    cutoff: DateTime<Utc>,
) -> QueryResult<Vec<AttentionRow>> {
    let col = unit_column(&unit.kind);
    diesel::sql_query(format!(
        "SELECT id AS person_id, name, village_id, group_size, last_visited_at FROM persons \
         WHERE {col} = $1 AND status = 'active' AND (last_visited_at IS NULL OR last_visited_at < $2) \
         ORDER BY last_visited_at NULLS FIRST, id LIMIT 200"
    ))
    .bind::<SqlUuid, _>(unit.id)
    .bind::<Timestamptz, _>(cutoff)
    .load(conn)
    .await
}

/// The grouping expression of the needs report: the child column, or a null constant.
fn needs_grp(unit: &UnitRow) -> String {
    child_column(&unit.kind)
        .map(|c| c.to_string())
        .unwrap_or_else(|| "NULL::uuid".into())
}

/// The count columns of `needs_daily`, in the needs report's column order.
pub const NEEDS_DAILY_COLUMNS: &[&str] = &[
    "filed",
    "closed",
    "s_reported",
    "s_registered",
    "s_referred",
    "s_escalated",
    "s_in_progress",
    "s_resolved",
    "s_closed",
    "s_withdrawn",
    "l_policy",
    "l_social",
    "l_untriaged",
    "v_village",
    "v_town",
    "v_city",
    "c_rehabilitation",
    "c_assistive_device",
    "c_education",
    "c_employment",
    "c_allowance",
    "c_medical",
    "c_housing",
    "c_daily_care",
    "c_culture",
    "c_legal_aid",
    "c_other",
];

/// The needs report's counts from its maintained summary, per child unit, for the local days
/// `from..=to`: needs filed, closed, then by state, loop (untriaged last), level and category,
/// in the report's column order. A town or a village sums `needs_daily` (merged rows and the
/// deltas not merged yet); a whole city sums the per-town rollup `needs_daily_town` and the
/// deltas not merged yet — ~35 times fewer rows than its villages' days (migration 000601).
pub async fn needs_daily(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<NeedsDailyRow>> {
    let (grp, col) = (needs_grp(unit), unit_column(&unit.kind));
    let sums: Vec<String> = NEEDS_DAILY_COLUMNS
        .iter()
        .map(|c| format!("sum({c})"))
        .collect();
    let sql = if unit.kind == "city" {
        let cols = NEEDS_DAILY_COLUMNS.join(", ");
        format!(
            "SELECT town_id AS grp, ARRAY[{}]::bigint[] AS counts FROM (\
               SELECT town_id, {cols} FROM needs_daily_town \
                WHERE city_id = $4 AND city_id = $1 AND day >= $2 AND day <= $3 \
               UNION ALL \
               SELECT town_id, {cols} FROM needs_daily \
                WHERE NOT merged AND city_id = $4 AND city_id = $1 AND day >= $2 AND day <= $3\
             ) t GROUP BY 1",
            sums.join(", ")
        )
    } else {
        format!(
            "SELECT {grp} AS grp, ARRAY[{}]::bigint[] AS counts \
             FROM needs_daily WHERE city_id = $4 AND {col} = $1 AND day >= $2 AND day <= $3 GROUP BY 1",
            sums.join(", ")
        )
    };
    by_days(unit, from, to)(diesel::sql_query(sql))
        .load(conn)
        .await
}

/// Folds the summary's delta rows into its merged rows (the sweeper, once a minute); answers
/// how many delta rows it folded.
pub async fn merge_needs_daily(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Folded {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let r: Folded = diesel::sql_query("SELECT needs_daily_merge() AS n")
        .get_result(conn)
        .await?;
    Ok(r.n)
}

/// Closure figures of the needs closed in `[start, end)` and those overdue at `now`.
pub async fn sla_needs(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> QueryResult<Grouped<SlaNeedsRow>> {
    let sql = "SELECT {grp} AS grp, \
          count(*) FILTER (WHERE c) AS closed, \
          count(*) FILTER (WHERE c AND NOT ever_overdue) AS closed_on_time, \
          count(*) FILTER (WHERE c AND reopen_count > 0) AS closed_reopened, \
          count(*) FILTER (WHERE NOT c) AS overdue_now, \
          avg(days) FILTER (WHERE c) AS mean_days, \
          percentile_cont(0.9) WITHIN GROUP (ORDER BY days) FILTER (WHERE c) AS p90_days \
        FROM ( \
          SELECT town_id, village_id, ever_overdue, reopen_count, true AS c, \
                 extract(epoch FROM closed_at - created_at)::float8 / 86400 AS days \
          FROM needs WHERE city_id = $5 AND {col} = $1 AND state = 'closed' AND closed_at >= $2 AND closed_at < $3 \
          UNION ALL \
          SELECT town_id, village_id, ever_overdue, reopen_count, false, NULL \
          FROM needs WHERE city_id = $5 AND {col} = $1 AND state NOT IN ('closed', 'withdrawn') AND due_at < $4) n";
    let (unit_id, city) = (unit.id, unit.city_id);
    let binds = move |q: SqlQuery| {
        q.into_boxed()
            .bind::<SqlUuid, _>(unit_id)
            .bind::<Timestamptz, _>(start)
            .bind::<Timestamptz, _>(end)
            .bind::<Timestamptz, _>(now)
            .bind::<SqlUuid, _>(city)
    };
    grouped(conn, unit, sql, &binds).await
}

/// Event counts of the days `from..=to`, from the daily summary (migration 000006) a trigger
/// keeps in the same transaction as each event: a few rows per village and day.
pub async fn sla_events(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Grouped<SlaEventsRow>> {
    let sql = "SELECT {grp} AS grp, \
          coalesce(sum(auto_escalations), 0)::bigint AS auto_escalations, \
          coalesce(sum(followups), 0)::bigint AS followups, \
          coalesce(sum(satisfied), 0)::bigint AS satisfied, \
          (sum(satisfaction_sum) / nullif(sum(satisfaction_n), 0))::float8 AS mean_satisfaction, \
          coalesce(sum(returns), 0)::bigint AS returns, \
          coalesce(sum(reroutes), 0)::bigint AS reroutes \
        FROM sla_event_daily \
        WHERE city_id = $4 AND {col} = $1 AND day >= $2 AND day <= $3";
    grouped(conn, unit, sql, &by_days(unit, from, to)).await
}

/// Per campaign of the city: raised (donations and their reversals received `from..=to`, by
/// channel, materials' value) and allocated (`[start, end)`).
pub async fn campaign_figures(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    (from, to): (NaiveDate, NaiveDate),
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> QueryResult<Vec<CampaignFiguresRow>> {
    diesel::sql_query(
        "SELECT c.id AS campaign_id, c.name, c.kind, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.donation_id IS NOT NULL AND l.need_id IS NULL \
                AND coalesce(l.received_on, (l.at AT TIME ZONE 'UTC')::date) BETWEEN $2 AND $3), 0)::bigint AS raised_fen, \
           coalesce(-sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.need_id IS NOT NULL AND l.at >= $4 AND l.at < $5), 0)::bigint AS allocated_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'offline' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS offline_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'online_platform' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS online_platform_fen, \
           coalesce(sum(l.amount) FILTER (WHERE l.kind = 'funds' AND l.entry = 'donation' AND l.channel = 'transfer' \
                AND l.received_on BETWEEN $2 AND $3), 0)::bigint AS transfer_fen, \
           coalesce(sum(l.value_fen) FILTER (WHERE l.kind = 'materials' AND l.donation_id IS NOT NULL AND l.need_id IS NULL \
                AND coalesce(l.received_on, (l.at AT TIME ZONE 'UTC')::date) BETWEEN $2 AND $3), 0)::bigint AS materials_value_fen \
         FROM campaigns c LEFT JOIN ledger_entries l ON l.campaign_id = c.id \
         WHERE c.city_id = $1 GROUP BY c.id ORDER BY c.id",
    )
    .bind::<SqlUuid, _>(city)
    .bind::<Date, _>(from)
    .bind::<Date, _>(to)
    .bind::<Timestamptz, _>(start)
    .bind::<Timestamptz, _>(end)
    .load(conn)
    .await
}

/// Funds allocated in `[start, end)` to needs under the unit.
pub async fn funds_allocated(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> QueryResult<Grouped<FundsRow>> {
    let sql = "SELECT {grp} AS grp, coalesce(-sum(l.amount), 0)::bigint AS allocated, count(*) AS allocations, \
               count(DISTINCT l.need_id) AS needs_helped \
               FROM ledger_entries l JOIN needs n ON n.id = l.need_id \
               WHERE n.{col} = $1 AND l.city_id = n.city_id AND l.kind = 'funds' AND l.at >= $2 AND l.at < $3";
    let unit_id = unit.id;
    let binds = move |q: SqlQuery| {
        q.into_boxed()
            .bind::<SqlUuid, _>(unit_id)
            .bind::<Timestamptz, _>(start)
            .bind::<Timestamptz, _>(end)
    };
    grouped(conn, unit, &on_needs(sql, unit), &binds).await
}

// `s.city_id` names the tenant on service_records itself, so the period's records are read
// through (city_id, served_on) rather than every city's records of the period (at province
// scale: 0.7 s → 20 ms for a city)

/// Volunteer service on needs under the unit, served `from..=to`.
pub async fn volunteer_hours(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Grouped<VolunteersRow>> {
    let sql = "SELECT {grp} AS grp, coalesce(sum(s.half_hours), 0)::bigint AS halves, count(*) AS records, \
               count(DISTINCT s.helper_id) AS helpers, count(DISTINCT s.team_id) AS teams \
               FROM service_records s JOIN needs n ON n.id = s.need_id \
               WHERE n.{col} = $1 AND s.served_on BETWEEN $2 AND $3 AND s.city_id = $4";
    grouped(conn, unit, &on_needs(sql, unit), &by_days(unit, from, to)).await
}

/// Whose hours: the teams' or the helpers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursBy {
    /// Per volunteer team.
    Team,
    /// Per helper.
    Helper,
}

/// The 200 teams or helpers with the most hours on needs under the unit, served `from..=to`.
pub async fn hours_by(
    conn: &mut AsyncPgConnection,
    unit: &UnitRow,
    by: HoursBy,
    from: NaiveDate,
    to: NaiveDate,
) -> QueryResult<Vec<HoursByRow>> {
    let col = unit_column(&unit.kind);
    let (id, name, join) = match by {
        HoursBy::Team => (
            "s.team_id",
            "t.name",
            "LEFT JOIN volunteer_teams t ON t.id = s.team_id",
        ),
        HoursBy::Helper => (
            "s.helper_id",
            "h.name",
            "JOIN helpers h ON h.id = s.helper_id",
        ),
    };
    let sql = diesel::sql_query(format!(
        "SELECT {id} AS id, {name} AS name, sum(s.half_hours)::bigint AS halves \
         FROM service_records s JOIN needs n ON n.id = s.need_id {join} \
         WHERE n.{col} = $1 AND s.served_on BETWEEN $2 AND $3 AND s.city_id = $4 \
         GROUP BY 1, 2 ORDER BY 3 DESC, 1 LIMIT 200"
    ));
    by_days(unit, from, to)(sql).load(conn).await
}
