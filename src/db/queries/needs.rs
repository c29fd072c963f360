//! Needs and their history: reads in scope, the one UPDATE an action makes, the event append.

use chrono::{DateTime, SubsecRound, Utc};
use diesel::prelude::*;
use diesel::QueryResult;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::cached::CachedBySql;
use crate::db::models::needs::{
    DeskRow, EventRow, NamedNeed, NeedRow, NewEvent, NewNeed, PersonPlace,
};
use crate::db::queries::persons::Search;
use crate::db::queries::{contains_pattern, scope};
use crate::db::schema::{need_access, need_events, needs, org_units, organizations, persons};
use crate::domain::caller::{Caller, Scope};
use crate::domain::chain::event_hash;
use crate::domain::need::{Category, Level, Loop, State};

/// A boxed needs query joined to what every need object shows beside the need (the person's
/// name, the village's name) and to its handler's kind, selecting a [`NamedNeed`]: names come
/// with the rows, one query for a whole page.
macro_rules! named {
    ($query:expr) => {
        $query
            .inner_join(persons::table)
            .inner_join(org_units::table.on(org_units::id.eq(needs::village_id)))
            .inner_join(
                organizations::table.on(organizations::id.eq(needs::handler_organization_id)),
            )
            .select((
                NeedRow::as_select(),
                persons::name,
                org_units::name,
                organizations::kind,
            ))
    };
}

/// One need in scope, or `NotFound`.
pub async fn find_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<NeedRow> {
    scope::needs(caller)
        .filter(needs::id.eq(id))
        .select(NeedRow::as_select())
        .first(conn)
        .await
}

/// One need in scope with its names, or `NotFound`.
pub async fn find_named_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<NamedNeed> {
    named!(scope::needs(caller).filter(needs::id.eq(id)))
        .first(conn)
        .await
}

/// These needs with their names, whatever the scope (the caller has checked it), in no order.
pub async fn named(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<NamedNeed>> {
    named!(needs::table
        .into_boxed()
        .filter(needs::id.eq_any(ids.to_vec())))
    .load(conn)
    .await
}

/// Takes the next case number of a city for a filing now (`None` for a unit that is no city).
/// Run it as a statement of its own, outside a long transaction: the city's counter row is
/// locked until the statement's transaction ends.
pub async fn take_case_number(
    conn: &mut AsyncPgConnection,
    city: Uuid,
) -> QueryResult<Option<String>> {
    #[derive(QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        number: Option<String>,
    }
    let t: Taken = diesel::sql_query("SELECT take_case_number($1, now()) AS number")
        .bind::<diesel::sql_types::Uuid, _>(city)
        .get_result(conn)
        .await?;
    Ok(t.number)
}

/// The oldest open need (not closed, not withdrawn) of a person in a category: (id, case number).
pub async fn open_of_category(
    conn: &mut AsyncPgConnection,
    person: Uuid,
    category: Category,
) -> QueryResult<Option<(Uuid, String)>> {
    needs::table
        .filter(needs::person_id.eq(person))
        .filter(needs::category.eq(category.as_str()))
        .filter(needs::state.ne_all(vec![State::Closed.as_str(), State::Withdrawn.as_str()]))
        .order(needs::id)
        .select((needs::id, needs::case_number))
        .first(conn)
        .await
        .optional()
}

/// The ways an open need can reach one caller's desk, as the inbox asks for them.
#[derive(Debug, Default, Clone)]
pub struct Desk {
    /// Needs these organisations handle (the caller's own; the association, for its staff).
    pub handlers: Vec<Uuid>,
    /// Every open need of this village (village staff register, refer and follow up there).
    pub village: Option<Uuid>,
    /// Policy needs of this town awaiting referral (town staff refer).
    pub refer_town: Option<Uuid>,
    /// Needs assigned to this extension site.
    pub site: Option<Uuid>,
}

/// The open needs in scope that reach a desk one of its ways: a prefilter read through the
/// inbox indexes (per handler, village, town, site), never a scan of the city; whether each
/// really waits for the caller is the service's to decide.
pub async fn desk(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    d: &Desk,
) -> QueryResult<Vec<DeskRow>> {
    use diesel::dsl::sql;
    use diesel::sql_types::Bool;
    type Arm = Box<dyn BoxableExpression<needs::table, diesel::pg::Pg, SqlType = Bool>>;
    let mut arms: Vec<Arm> = Vec::new();
    if !d.handlers.is_empty() {
        arms.push(Box::new(
            needs::handler_organization_id.eq_any(d.handlers.clone()),
        ));
    }
    if let Some(v) = d.village {
        arms.push(Box::new(needs::village_id.eq(v)));
    }
    if let Some(t) = d.refer_town {
        // the predicate of needs_inbox_refer_idx, written out so the planner matches it
        arms.push(Box::new(needs::town_id.eq(t).and(sql::<Bool>(
            "needs.state = 'registered' AND needs.loop = 'policy'",
        ))));
    }
    if let Some(site) = d.site {
        arms.push(Box::new(needs::assigned_site_id.assume_not_null().eq(site)));
    }
    let Some(first) = arms.pop() else {
        return Ok(Vec::new());
    };
    let any: Arm = arms
        .into_iter()
        .fold(first, |acc, arm| Box::new(acc.or(arm)));
    scope::needs(caller)
        .filter(sql::<Bool>("needs.state NOT IN ('closed', 'withdrawn')"))
        .filter(any)
        .select(DeskRow::as_select())
        .load(conn)
        .await
}

/// The kinds of these organisations, by id (a desk's few handlers, read by primary key rather
/// than joined, which at a province's size would hash the whole table).
pub async fn org_kinds(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<Vec<(Uuid, String)>> {
    organizations::table
        .filter(organizations::id.eq_any(ids.to_vec()))
        .select((organizations::id, organizations::kind))
        .load(conn)
        .await
}

/// One need in scope, locked for the caller's transaction (`FOR UPDATE`), or `NotFound`: the
/// filter of [`scope::needs`], written out per scope because a boxed query cannot take a lock.
pub async fn lock_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> QueryResult<NeedRow> {
    let q = needs::table
        .filter(needs::id.eq(id))
        .select(NeedRow::as_select());
    if let Some(h) = caller.helper() {
        return q
            .filter(needs::person_id.eq_any(scope::group_persons(h)))
            .for_update()
            .first(conn)
            .await;
    }
    if caller.is_narrow() {
        let org = caller.organization_id.unwrap_or(Uuid::nil());
        return q
            .filter(
                needs::id.eq_any(
                    need_access::table
                        .filter(need_access::organization_id.eq(org))
                        .select(need_access::need_id),
                ),
            )
            .for_update()
            .first(conn)
            .await;
    }
    match caller.scope {
        Scope::All => q.for_update().first(conn).await,
        Scope::City(c) => {
            q.filter(needs::city_id.eq(c))
                .for_update()
                .first(conn)
                .await
        }
        Scope::Town(t) => {
            q.filter(needs::town_id.eq(t))
                .for_update()
                .first(conn)
                .await
        }
        Scope::Village(v) => {
            q.filter(needs::village_id.eq(v))
                .for_update()
                .first(conn)
                .await
        }
    }
}

/// The filters of a needs list, already parsed.
#[derive(Debug, Default, Clone)]
pub struct NeedFilter {
    /// State.
    pub state: Option<State>,
    /// Loop.
    pub loop_: Option<Loop>,
    /// Level.
    pub level: Option<Level>,
    /// Category.
    pub category: Option<Category>,
    /// Needs of the persons under this unit.
    pub org_unit_id: Option<Uuid>,
    /// A handler's queue.
    pub handler_organization_id: Option<Uuid>,
    /// Marked overdue (or not).
    pub overdue: Option<bool>,
    /// Assigned to this user.
    pub assignee_user_id: Option<Uuid>,
    /// One person's needs.
    pub person_id: Option<Uuid>,
    /// `?q=`: the exact case number, the person's name containing it, or the person's phone.
    pub search: Option<Search>,
}

/// A page of needs in scope with their names, by id, after `after`; `limit` rows at most.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    f: &NeedFilter,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<NamedNeed>> {
    let mut query = named!(scope::needs(caller)).order(needs::id).limit(limit);
    if let Some(s) = &f.search {
        query = query.filter(
            needs::case_number
                .eq(s.text.clone())
                .or(persons::name.ilike(contains_pattern(&s.text)))
                .or(persons::phone_hash.eq_any(s.phone_hashes.clone()))
                .or(persons::guardian_phone_hash.eq_any(s.phone_hashes.clone())),
        );
    }
    if let Some(s) = f.state {
        query = query.filter(needs::state.eq(s.as_str()));
    }
    if let Some(l) = f.loop_ {
        query = query.filter(needs::loop_.eq(l.as_str()));
    }
    if let Some(l) = f.level {
        query = query.filter(needs::level.eq(l.as_str()));
    }
    if let Some(c) = f.category {
        query = query.filter(needs::category.eq(c.as_str()));
    }
    if let Some(u) = f.org_unit_id {
        let kind: Option<String> = org_units::table
            .find(u)
            .select(org_units::kind)
            .first(conn)
            .await
            .optional()?;
        query = match kind.as_deref() {
            Some("city") => query.filter(needs::city_id.eq(u)),
            Some("town") => query.filter(needs::town_id.eq(u)),
            Some(_) => query.filter(needs::village_id.eq(u)),
            None => query.filter(needs::village_id.eq(Uuid::nil())),
        };
    }
    if let Some(h) = f.handler_organization_id {
        query = query.filter(needs::handler_organization_id.eq(h));
    }
    if let Some(o) = f.overdue {
        query = query.filter(needs::overdue.eq(o));
    }
    if let Some(u) = f.assignee_user_id {
        query = query.filter(needs::assignee_user_id.eq(u));
    }
    if let Some(p) = f.person_id {
        query = query.filter(needs::person_id.eq(p));
    }
    if let Some(after) = after {
        query = query.filter(needs::id.gt(after));
    }
    query.load(conn).await
}

/// A page of a need's history, oldest first, after `seq`.
pub async fn events(
    conn: &mut AsyncPgConnection,
    need: Uuid,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<EventRow>> {
    need_events::table
        .filter(need_events::need_id.eq(need))
        .filter(need_events::seq.gt(after))
        .order(need_events::seq)
        .limit(limit)
        .select(EventRow::as_select())
        .load(conn)
        .await
}

/// Writes a filed need.
pub async fn insert(conn: &mut AsyncPgConnection, n: &NewNeed<'_>) -> QueryResult<NeedRow> {
    diesel::insert_into(needs::table)
        .values(n)
        .returning(NeedRow::as_returning())
        .get_result(conn)
        .await
}

/// Lets an organisation the need was routed to (a department, a site) see it.
pub async fn grant_access(
    conn: &mut AsyncPgConnection,
    organization: Uuid,
    need: Uuid,
) -> QueryResult<()> {
    diesel::insert_into(need_access::table)
        .values((
            need_access::organization_id.eq(organization),
            need_access::need_id.eq(need),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|_| ())
}

/// Writes a transition: every field an action may change, in one UPDATE, only if the row is
/// still at `expected` (its version before). Returns the rows changed (0 or 1).
pub async fn save_transition(
    conn: &mut AsyncPgConnection,
    n: &NeedRow,
    expected: i32,
) -> QueryResult<usize> {
    CachedBySql(
        diesel::update(
            needs::table
                .filter(needs::id.eq(n.id))
                .filter(needs::version.eq(expected)),
        )
        .set((
            needs::state.eq(n.state.as_str()),
            needs::loop_.eq(n.loop_.map(Loop::as_str)),
            needs::level.eq(n.level.as_str()),
            needs::handler_organization_id.eq(n.handler_organization_id),
            needs::assignee_user_id.eq(n.assignee_user_id),
            needs::assigned_site_id.eq(n.assigned_site_id),
            needs::assigned_team_id.eq(n.assigned_team_id),
            needs::referred_from_handler_id.eq(n.referred_from_handler_id),
            needs::referred_from_level.eq(n.referred_from_level.map(Level::as_str)),
            needs::due_at.eq(n.due_at),
            needs::overdue.eq(false),
            needs::ever_overdue.eq(n.ever_overdue),
            needs::reopen_count.eq(n.reopen_count),
            needs::satisfaction.eq(n.satisfaction),
            needs::outcome.eq(&n.outcome),
            needs::resolution.eq(&n.resolution),
            needs::version.eq(n.version),
            needs::updated_at.eq(n.updated_at),
            needs::closed_at.eq(n.closed_at),
            needs::entered_state_at.eq(n.entered_state_at),
        )),
    )
    .execute(conn)
    .await
}

/// Marks a need overdue (督办); the version stays.
pub async fn mark_overdue(conn: &mut AsyncPgConnection, need: Uuid) -> QueryResult<()> {
    diesel::update(needs::table.find(need))
        .set((needs::overdue.eq(true), needs::ever_overdue.eq(true)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Passes a need to another assignee (a handover); the version stays.
pub async fn set_assignee(
    conn: &mut AsyncPgConnection,
    need: Uuid,
    assignee: Option<Uuid>,
    at: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(needs::table.find(need))
        .set((
            needs::assignee_user_id.eq(assignee),
            needs::updated_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Needs due by `started` and not touched since, not yet marked, oldest deadline first, locked
/// with `SKIP LOCKED` so concurrent sweepers never claim one need twice.
pub async fn claim_overdue(
    conn: &mut AsyncPgConnection,
    started: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<NeedRow>> {
    needs::table
        .filter(needs::due_at.le(started))
        .filter(needs::updated_at.lt(started))
        .filter(needs::state.ne_all(vec![State::Closed.as_str(), State::Withdrawn.as_str()]))
        .filter(needs::overdue.eq(false))
        .order(needs::due_at)
        .limit(limit)
        .select(NeedRow::as_select())
        .for_update()
        .skip_locked()
        .load(conn)
        .await
}

/// The open city-level needs of a city, locked (optionally skipping those another holds).
pub async fn lock_open_at_city(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    skip_locked: bool,
) -> QueryResult<Vec<NeedRow>> {
    let candidates: Vec<Uuid> = needs::table
        .filter(needs::city_id.eq(city))
        .filter(needs::level.eq(Level::City.as_str()))
        .filter(needs::state.ne_all(vec![State::Closed.as_str(), State::Withdrawn.as_str()]))
        .select(needs::id)
        .load(conn)
        .await?;
    let locked = needs::table
        .filter(needs::id.eq_any(&candidates))
        .order(needs::id)
        .select(NeedRow::as_select());
    if skip_locked {
        locked.for_update().skip_locked().load(conn).await
    } else {
        locked.for_update().load(conn).await
    }
}

/// Appends an event after the need's last one (the caller holds the need's row lock), its hash
/// chained to the one before.
pub async fn append_event(conn: &mut AsyncPgConnection, e: NewEvent<'_>) -> QueryResult<EventRow> {
    let NewEvent {
        need,
        action,
        from,
        actor,
        at,
        payload,
    } = e;
    // filing (`from` is None) writes a need's first event: there is nothing before it to read
    let last: Option<(i32, Vec<u8>)> = match from {
        None => None,
        Some(_) => need_events::table
            .filter(need_events::need_id.eq(need.id))
            .order(need_events::seq.desc())
            .select((need_events::seq, need_events::hash))
            .first(conn)
            .await
            .optional()?,
    };
    let (seq, prev) = match last {
        Some((s, h)) => (s + 1, Some(h)),
        None => (1, None),
    };
    let mut row = EventRow {
        need_id: need.id,
        seq,
        city_id: need.city_id,
        action: action.to_string(),
        from_state: from,
        to_state: need.state,
        level: need.level,
        handler_organization_id: need.handler_organization_id,
        actor_user_id: actor.user_id,
        actor: actor.name.clone(),
        at: at.trunc_subsecs(6),
        payload,
        prev_hash: prev,
        hash: Vec::new(),
    };
    row.hash = event_hash(row.prev_hash.as_deref(), &row.facts());
    diesel::insert_into(need_events::table)
        .values((
            need_events::need_id.eq(row.need_id),
            need_events::seq.eq(row.seq),
            need_events::city_id.eq(row.city_id),
            need_events::action.eq(&row.action),
            need_events::from_state.eq(row.from_state.map(State::as_str)),
            need_events::to_state.eq(row.to_state.as_str()),
            need_events::level.eq(row.level.as_str()),
            need_events::handler_organization_id.eq(row.handler_organization_id),
            need_events::actor_user_id.eq(row.actor_user_id),
            need_events::actor.eq(&row.actor),
            need_events::at.eq(row.at),
            need_events::payload.eq(&row.payload),
            need_events::prev_hash.eq(&row.prev_hash),
            need_events::hash.eq(&row.hash),
        ))
        .execute(conn)
        .await?;
    Ok(row)
}

/// A person in the caller's scope, as filing needs it, if there is one.
pub async fn person_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    person: Uuid,
) -> QueryResult<Option<PersonPlace>> {
    scope::persons(caller)
        .filter(crate::db::schema::persons::id.eq(person))
        .select(PersonPlace::as_select())
        .first(conn)
        .await
        .optional()
}

/// One need by id, locked for the caller's transaction (its scope checked before).
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<NeedRow> {
    needs::table
        .find(id)
        .select(NeedRow::as_select())
        .for_update()
        .first(conn)
        .await
}

/// A person's open needs, locked in id order (persons on the move: carried or withdrawn in the
/// person's transaction).
pub async fn lock_open_of_person(
    conn: &mut AsyncPgConnection,
    person: Uuid,
) -> QueryResult<Vec<NeedRow>> {
    needs::table
        .filter(needs::person_id.eq(person))
        .filter(needs::state.ne_all(["closed", "withdrawn"]))
        .order(needs::id)
        .for_update()
        .select(NeedRow::as_select())
        .load(conn)
        .await
}

/// Moves a need with its person: its place, handler, assignee and pre-referral handler; the
/// version stays (no state changes).
pub async fn save_move(conn: &mut AsyncPgConnection, n: &NeedRow) -> QueryResult<usize> {
    diesel::update(needs::table.find(n.id))
        .set((
            needs::village_id.eq(n.village_id),
            needs::town_id.eq(n.town_id),
            needs::city_id.eq(n.city_id),
            needs::handler_organization_id.eq(n.handler_organization_id),
            needs::assignee_user_id.eq(n.assignee_user_id),
            needs::referred_from_handler_id.eq(n.referred_from_handler_id),
            needs::updated_at.eq(n.updated_at),
        ))
        .execute(conn)
        .await
}
