//! Who is told of what, and each user's notifications.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::needs::NeedRow;
use crate::db::models::notifications::{NewNotification, NotificationRow};
use crate::db::schema::{
    need_notices, needs, notifications, org_units, organizations, sla_policies, users,
    visit_reminders,
};
use crate::domain::need::State;
use crate::domain::roles::{OrgKind, Role, UnitKind};

/// The active users of some organisations.
pub async fn active_users_of(
    conn: &mut AsyncPgConnection,
    orgs: &[Uuid],
) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(users::organization_id.eq_any(orgs))
        .filter(users::active.eq(true))
        // a helper sits at its village's station but takes no action there
        .filter(users::role.ne(Role::Helper.as_str()))
        .order(users::id)
        .select(users::id)
        .load(conn)
        .await
}

/// The active village staff of a village (both its station and its 村残协).
pub async fn village_staff_of(
    conn: &mut AsyncPgConnection,
    village: Uuid,
) -> QueryResult<Vec<Uuid>> {
    users::table
        .inner_join(organizations::table)
        .filter(organizations::org_unit_id.eq(village))
        .filter(users::role.eq(Role::VillageStaff.as_str()))
        .filter(users::active.eq(true))
        .order(users::id)
        .select(users::id)
        .load(conn)
        .await
}

/// Whether a user is active.
pub async fn is_active(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<bool> {
    users::table
        .find(user)
        .select(users::active)
        .first(conn)
        .await
        .optional()
        .map(|a| a == Some(true))
}

/// Writes notifications.
pub async fn insert(conn: &mut AsyncPgConnection, rows: &[NewNotification]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    diesel::insert_into(notifications::table)
        .values(rows)
        .execute(conn)
        .await
        .map(|_| ())
}

/// A page of a user's notifications, newest first, before `before` (an id).
pub async fn page(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<NotificationRow>> {
    let mut q = notifications::table
        .left_join(needs::table)
        .filter(notifications::user_id.eq(user))
        .order(notifications::id.desc())
        .limit(limit)
        .select((
            notifications::id,
            notifications::at,
            notifications::kind,
            notifications::need_id,
            needs::case_number.nullable(),
            notifications::title,
            notifications::read_at,
        ))
        .into_boxed();
    if unread_only {
        q = q.filter(notifications::read_at.is_null());
    }
    if let Some(b) = before {
        q = q.filter(notifications::id.lt(b));
    }
    q.load(conn).await
}

/// How many of a user's notifications are unread.
pub async fn unread(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<i64> {
    notifications::table
        .filter(notifications::user_id.eq(user))
        .filter(notifications::read_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// Marks one of a user's notifications read (the first read counts); false when the user has
/// no such notification.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<bool> {
    let found: Option<Option<DateTime<Utc>>> = notifications::table
        .filter(notifications::id.eq(id))
        .filter(notifications::user_id.eq(user))
        .select(notifications::read_at)
        .first(conn)
        .await
        .optional()?;
    match found {
        None => Ok(false),
        Some(Some(_)) => Ok(true),
        Some(None) => {
            diesel::update(notifications::table.find(id))
                .set(notifications::read_at.eq(at))
                .execute(conn)
                .await?;
            Ok(true)
        }
    }
}

/// Marks every unread notification of a user read.
pub async fn mark_all_read(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        notifications::table
            .filter(notifications::user_id.eq(user))
            .filter(notifications::read_at.is_null()),
    )
    .set(notifications::read_at.eq(at))
    .execute(conn)
    .await
}

/// Open needs not marked overdue whose deadline is near enough to be at risk by some
/// position's hours (a quarter of the longest SLA any city set, 720 hours by default), with no
/// `kind` notice yet for their current state; oldest deadline first. The caller decides which
/// of them are at risk by their own times.
pub async fn at_risk_candidates(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<NeedRow>> {
    let longest: Option<i32> = sla_policies::table
        .select(diesel::dsl::max(sla_policies::hours))
        .first(conn)
        .await?;
    let window = chrono::Duration::hours(i64::from(longest.unwrap_or(0).max(720)) / 4 + 1);
    needs::table
        .filter(needs::state.ne_all(vec![State::Closed.as_str(), State::Withdrawn.as_str()]))
        .filter(needs::overdue.eq(false))
        .filter(needs::due_at.gt(now))
        .filter(needs::due_at.le(now + window))
        .filter(diesel::dsl::not(diesel::dsl::exists(
            need_notices::table
                .filter(need_notices::need_id.eq(needs::id))
                .filter(need_notices::version.eq(needs::version))
                .filter(need_notices::kind.eq("at_risk")),
        )))
        .order(needs::due_at)
        .limit(limit)
        .select(NeedRow::as_select())
        .load(conn)
        .await
}

/// Records that a notice went out for a need in its current state; false when one already had.
pub async fn claim_notice(
    conn: &mut AsyncPgConnection,
    need: Uuid,
    version: i32,
    kind: &str,
) -> QueryResult<bool> {
    diesel::insert_into(need_notices::table)
        .values((
            need_notices::need_id.eq(need),
            need_notices::version.eq(version),
            need_notices::kind.eq(kind),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// Every village station with its village, city and the city's visit interval.
pub async fn stations(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, Uuid, Uuid)>> {
    organizations::table
        .inner_join(org_units::table)
        .filter(organizations::kind.eq(OrgKind::VillageStation.as_str()))
        .filter(org_units::kind.eq(UnitKind::Village.as_str()))
        .select((organizations::id, org_units::id, organizations::city_id))
        .load(conn)
        .await
}

/// How many active persons of a village were last visited (or, never visited, registered)
/// before `cutoff`: their next visit falls due before `cutoff` + the visit interval.
pub async fn visits_due(
    conn: &mut AsyncPgConnection,
    village: Uuid,
    cutoff: DateTime<Utc>,
) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Due {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let due: Due = diesel::sql_query(
        "SELECT count(*) AS n FROM persons p WHERE p.village_id = $1 AND p.status = 'active' \
         AND COALESCE((SELECT max(v.visited_at) FROM visits v WHERE v.person_id = p.id), p.created_at) < $2",
    )
    .bind::<diesel::sql_types::Uuid, _>(village)
    .bind::<diesel::sql_types::Timestamptz, _>(cutoff)
    .get_result(conn)
    .await?;
    Ok(due.n)
}

/// Records today's reminder for a station; false when it went out already today.
pub async fn claim_reminder(
    conn: &mut AsyncPgConnection,
    station: Uuid,
    day: NaiveDate,
    persons: i32,
) -> QueryResult<bool> {
    diesel::insert_into(visit_reminders::table)
        .values((
            visit_reminders::organization_id.eq(station),
            visit_reminders::on_day.eq(day),
            visit_reminders::persons.eq(persons),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|n| n == 1)
}

/// The stations that had today's reminder already.
pub async fn reminded_on(conn: &mut AsyncPgConnection, day: NaiveDate) -> QueryResult<Vec<Uuid>> {
    visit_reminders::table
        .filter(visit_reminders::on_day.eq(day))
        .select(visit_reminders::organization_id)
        .load(conn)
        .await
}

/// A city's visit interval in days (30 unless the city set another).
pub async fn visit_interval_days(conn: &mut AsyncPgConnection, city: Uuid) -> QueryResult<i32> {
    use crate::db::schema::city_settings;
    city_settings::table
        .find(city)
        .select(city_settings::visit_interval_days)
        .first(conn)
        .await
        .optional()
        .map(|d| d.unwrap_or(30))
}
