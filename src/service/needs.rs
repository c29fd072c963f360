//! The service layer of the dual closed loop: filing, acting, SLA deadlines, the history's
//! hash chain, sweeping and presidents' handovers. Each function takes a connection and
//! leaves the transaction boundary to its caller, except where it says it opens one.

use chrono::{DateTime, Datelike, NaiveDate, SubsecRound, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::auth::{Caller, Scope};
use crate::db::cached::CachedBySql;
use crate::db::schema::{
    city_settings, duty_roster, need_access, need_events, needs, organizations, sla_policies, users,
};
use crate::domain::need::{
    decide, Action, ActionKind, Assignee, Handler, Level, Loop, NeedView, Refusal, Relation, State,
    Urgency,
};
use crate::domain::roles::{OrgKind, Role};
use crate::error::{Error, Result};

/// A need row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = needs)]
pub struct NeedRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Village.
    pub village_id: Uuid,
    /// The person.
    pub person_id: Uuid,
    /// Category word.
    pub category: String,
    /// What is needed.
    pub description: String,
    /// normal | urgent.
    pub urgency: String,
    /// State word.
    pub state: String,
    /// Loop word.
    #[diesel(column_name = loop_)]
    pub loop_: Option<String>,
    /// Level word.
    pub level: String,
    /// Handling organisation.
    pub handler_organization_id: Uuid,
    /// Assigned user.
    pub assignee_user_id: Option<Uuid>,
    /// Assigned extension site.
    pub assigned_site_id: Option<Uuid>,
    /// Assigned volunteer team.
    pub assigned_team_id: Option<Uuid>,
    /// Handler before the referral.
    pub referred_from_handler_id: Option<Uuid>,
    /// Level before the referral.
    pub referred_from_level: Option<String>,
    /// The helper who reported it.
    pub reporting_helper_id: Option<Uuid>,
    /// Who filed it.
    pub filed_by: Option<Uuid>,
    /// Deadline of the current step.
    pub due_at: Option<DateTime<Utc>>,
    /// Marked overdue (督办) by the sweeper.
    pub overdue: bool,
    /// Was ever overdue (for on-time closure).
    pub ever_overdue: bool,
    /// Unsatisfied follow-ups.
    pub reopen_count: i32,
    /// Last satisfaction score.
    pub satisfaction: Option<i16>,
    /// fulfilled | unable.
    pub outcome: Option<String>,
    /// What was done.
    pub resolution: Option<String>,
    /// Version for If-Match.
    pub version: i32,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Closed.
    pub closed_at: Option<DateTime<Utc>>,
}

impl NeedRow {
    fn view(&self) -> Result<NeedView> {
        Ok(NeedView {
            state: State::parse(&self.state).ok_or_else(|| Error::internal("bad state"))?,
            loop_: self.loop_.as_deref().and_then(Loop::parse),
            level: Level::parse(&self.level).ok_or_else(|| Error::internal("bad level"))?,
        })
    }

    /// Urgency of the need.
    pub fn urgency(&self) -> Urgency {
        Urgency::parse(&self.urgency).unwrap_or(Urgency::Normal)
    }
}

/// Who did something: a user, or the system (the sweeper).
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user (none for the system).
    pub user_id: Option<Uuid>,
    /// The username, or `system`.
    pub name: String,
}

impl Actor {
    /// The sweeper.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            name: "system".into(),
        }
    }

    /// A signed-in caller.
    pub fn of(caller: &Caller) -> Actor {
        Actor {
            user_id: Some(caller.user_id),
            name: caller.username.clone(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// scope

/// One need in scope, locked for the caller's transaction (`FOR UPDATE`), or 404: the same
/// filter as [`scoped`], written out per scope because a boxed query cannot take a lock.
pub async fn load_in_scope_for_update(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<NeedRow> {
    let q = needs::table
        .filter(needs::id.eq(id))
        .select(NeedRow::as_select());
    let row = if caller.is_narrow() {
        let org = caller.organization_id.unwrap_or(Uuid::nil());
        q.filter(
            needs::id.eq_any(
                need_access::table
                    .filter(need_access::organization_id.eq(org))
                    .select(need_access::need_id),
            ),
        )
        .for_update()
        .first(conn)
        .await?
    } else {
        match caller.scope {
            Scope::All => q.for_update().first(conn).await?,
            Scope::City(c) => {
                q.filter(needs::city_id.eq(c))
                    .for_update()
                    .first(conn)
                    .await?
            }
            Scope::Town(t) => {
                q.filter(needs::town_id.eq(t))
                    .for_update()
                    .first(conn)
                    .await?
            }
            Scope::Village(v) => {
                q.filter(needs::village_id.eq(v))
                    .for_update()
                    .first(conn)
                    .await?
            }
        }
    };
    Ok(row)
}

/// One need in scope, or 404.
pub async fn load_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<NeedRow> {
    Ok(crate::db::queries::scope::needs(caller)
        .filter(needs::id.eq(id))
        .select(NeedRow::as_select())
        .first(conn)
        .await?)
}

// ---------------------------------------------------------------------------------------------
// SLA

/// One SLA entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, PartialEq)]
pub struct SlaEntry {
    /// State.
    pub state: State,
    /// Loop (null only for `reported`).
    #[serde(rename = "loop")]
    #[schema(rename = "loop")]
    pub loop_: Option<Loop>,
    /// Level.
    pub level: Level,
    /// normal | urgent.
    pub urgency: Urgency,
    /// Hours allowed (0 = due at once).
    pub hours: i32,
}

/// Every (state, loop, level) a need can stand in with a deadline.
pub fn reachable() -> Vec<(State, Option<Loop>, Level)> {
    use Level::*;
    use State::*;
    let p = Some(Loop::Policy);
    let s = Some(Loop::Social);
    vec![
        (Reported, None, Village),
        (Registered, p, Village),
        (Referred, p, Town),
        (InProgress, p, Town),
        (Resolved, p, Town),
        // a returned policy need is registered at its village again; after return it may be
        // referred by the town, so the registered-at-town case cannot arise
        (Registered, s, Village),
        (Escalated, s, Town),
        (Escalated, s, City),
        (InProgress, s, Village),
        (InProgress, s, Town),
        (InProgress, s, City),
        (Resolved, s, Village),
        (Resolved, s, Town),
        (Resolved, s, City),
    ]
}

/// The spec's default hours for a (state, loop, level); urgent needs get half.
pub fn default_hours(state: State, loop_: Option<Loop>, level: Level, urgency: Urgency) -> i32 {
    let normal = match (state, loop_, level) {
        (State::Reported, _, _) => 48,
        (State::Resolved, _, _) => 168,
        (State::Registered, Some(Loop::Policy), _) => 72,
        (State::Referred, _, _) => 120,
        (State::InProgress, Some(Loop::Policy), _) => 720,
        (_, _, Level::Village) => 168,
        (_, _, Level::Town) => 360,
        (_, _, Level::City) => 720,
    };
    match urgency {
        Urgency::Normal => normal,
        Urgency::Urgent => normal / 2,
    }
}

/// The city's effective policy table: stored entries over the defaults.
pub async fn policies(conn: &mut AsyncPgConnection, city: Uuid) -> Result<Vec<SlaEntry>> {
    let stored: Vec<(String, String, String, String, i32)> = sla_policies::table
        .filter(sla_policies::city_id.eq(city))
        .select((
            sla_policies::state,
            sla_policies::loop_,
            sla_policies::level,
            sla_policies::urgency,
            sla_policies::hours,
        ))
        .load(conn)
        .await?;
    let mut out = Vec::new();
    for (state, loop_, level) in reachable() {
        for &urgency in Urgency::ALL {
            let hours = stored
                .iter()
                .find(|(s, l, lv, u, _)| {
                    s == state.as_str()
                        && l == loop_.map(|l| l.as_str()).unwrap_or("")
                        && lv == level.as_str()
                        && u == urgency.as_str()
                })
                .map(|r| r.4)
                .unwrap_or_else(|| default_hours(state, loop_, level, urgency));
            out.push(SlaEntry {
                state,
                loop_,
                level,
                urgency,
                hours,
            });
        }
    }
    Ok(out)
}

/// When a need in this position is due, from now.
pub async fn due_at(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    state: State,
    loop_: Option<Loop>,
    level: Level,
    urgency: Urgency,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if matches!(state, State::Closed | State::Withdrawn) {
        return Ok(None);
    }
    let stored: Option<i32> = sla_policies::table
        .filter(sla_policies::city_id.eq(city))
        .filter(sla_policies::state.eq(state.as_str()))
        .filter(sla_policies::loop_.eq(loop_.map(|l| l.as_str()).unwrap_or("")))
        .filter(sla_policies::level.eq(level.as_str()))
        .filter(sla_policies::urgency.eq(urgency.as_str()))
        .select(sla_policies::hours)
        .first(conn)
        .await
        .optional()?;
    let hours = stored.unwrap_or_else(|| default_hours(state, loop_, level, urgency));
    Ok(Some(now + chrono::Duration::hours(i64::from(hours))))
}

// ---------------------------------------------------------------------------------------------
// history

/// One event of a need's history.
#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = need_events)]
pub struct EventRow {
    /// The need.
    pub need_id: Uuid,
    /// 1, 2, ...
    pub seq: i32,
    /// City.
    pub city_id: Uuid,
    /// What happened.
    pub action: String,
    /// State before (null for filing).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Level after.
    pub level: String,
    /// Handler after.
    pub handler_organization_id: Uuid,
    /// Who (null for the system).
    pub actor_user_id: Option<Uuid>,
    /// Username or `system`.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The action's details.
    pub payload: Value,
    /// Hash of the previous event.
    pub prev_hash: Option<Vec<u8>>,
    /// This event's hash.
    pub hash: Vec<u8>,
}

/// The canonical bytes an event's hash covers (with the previous hash in front).
pub fn event_hash(prev: Option<&[u8]>, e: &EventRow) -> Vec<u8> {
    let content = json!({
        "need_id": e.need_id,
        "seq": e.seq,
        "city_id": e.city_id,
        "action": e.action,
        "from_state": e.from_state,
        "to_state": e.to_state,
        "level": e.level,
        "handler_organization_id": e.handler_organization_id,
        "actor_user_id": e.actor_user_id,
        "actor": e.actor,
        "at": e.at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "payload": e.payload,
    });
    let mut h = Sha256::new();
    h.update(prev.unwrap_or(&[]));
    h.update(content.to_string().as_bytes());
    h.finalize().to_vec()
}

/// Appends an event after the need's last one (the caller holds the need's row lock).
pub async fn append_event(
    conn: &mut AsyncPgConnection,
    need: &NeedRow,
    action: &str,
    from: Option<&str>,
    actor: &Actor,
    at: DateTime<Utc>,
    payload: Value,
) -> Result<EventRow> {
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
        from_state: from.map(str::to_string),
        to_state: need.state.clone(),
        level: need.level.clone(),
        handler_organization_id: need.handler_organization_id,
        actor_user_id: actor.user_id,
        actor: actor.name.clone(),
        at: at.trunc_subsecs(6),
        payload,
        prev_hash: prev,
        hash: Vec::new(),
    };
    row.hash = event_hash(row.prev_hash.as_deref(), &row);
    diesel::insert_into(need_events::table)
        .values((
            need_events::need_id.eq(row.need_id),
            need_events::seq.eq(row.seq),
            need_events::city_id.eq(row.city_id),
            need_events::action.eq(&row.action),
            need_events::from_state.eq(&row.from_state),
            need_events::to_state.eq(&row.to_state),
            need_events::level.eq(&row.level),
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

// ---------------------------------------------------------------------------------------------
// organisations and the roster

/// The organisation of a kind at a unit.
pub async fn org_at(conn: &mut AsyncPgConnection, unit: Uuid, kind: OrgKind) -> Result<Uuid> {
    organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind.as_str()))
        .select(organizations::id)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| Error::internal(format!("no {kind} at unit {unit}")))
}

/// Today in the city's time zone.
pub async fn city_today(conn: &mut AsyncPgConnection, city: Uuid) -> Result<NaiveDate> {
    let tz: Option<String> = city_settings::table
        .find(city)
        .select(city_settings::time_zone)
        .first(conn)
        .await
        .optional()?;
    let tz: chrono_tz::Tz = tz
        .as_deref()
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::Asia::Shanghai);
    let now = Utc::now().with_timezone(&tz);
    Ok(NaiveDate::from_ymd_opt(now.year(), now.month(), now.day())
        .unwrap_or_else(|| Utc::now().date_naive()))
}

/// A roster entry.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = duty_roster)]
pub struct RosterRow {
    /// Id.
    pub id: Uuid,
    /// The association.
    #[serde(skip)]
    pub association_id: Uuid,
    /// The city.
    #[serde(skip)]
    pub city_id: Uuid,
    /// The president on duty.
    pub user_id: Uuid,
    /// First day (inclusive, city time zone).
    pub starts_on: NaiveDate,
    /// Last day (inclusive).
    pub ends_on: NaiveDate,
    /// Created.
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
}

/// The roster entry covering today for a city, if any.
pub async fn on_duty(conn: &mut AsyncPgConnection, city: Uuid) -> Result<Option<RosterRow>> {
    let today = city_today(conn, city).await?;
    Ok(duty_roster::table
        .filter(duty_roster::city_id.eq(city))
        .filter(duty_roster::starts_on.le(today))
        .filter(duty_roster::ends_on.ge(today))
        .select(RosterRow::as_select())
        .first(conn)
        .await
        .optional()?)
}

/// Passes open city-level needs held by a president (or unassigned) to whoever is on duty now,
/// each with a `handover` event. Returns how many changed hands.
pub async fn handover(
    conn: &mut AsyncPgConnection,
    city: Uuid,
    actor: &Actor,
    skip_locked: bool,
) -> Result<usize> {
    let duty = on_duty(conn, city).await?.map(|e| e.user_id);
    let presidents: Vec<Uuid> = users::table
        .filter(users::city_id.eq(city))
        .filter(users::role.eq(Role::President.as_str()))
        .select(users::id)
        .load(conn)
        .await?;
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
    let rows: Vec<NeedRow> = if skip_locked {
        locked.for_update().skip_locked().load(conn).await?
    } else {
        locked.for_update().load(conn).await?
    };
    // held by a president (or nobody) and not by the one on duty: re-checked under the lock
    let rows: Vec<NeedRow> = rows
        .into_iter()
        .filter(|n| {
            n.level == Level::City.as_str() && !matches!(n.state.as_str(), "closed" | "withdrawn")
        })
        .filter(|n| n.assignee_user_id.is_none_or(|a| presidents.contains(&a)))
        .filter(|n| n.assignee_user_id != duty)
        .collect();
    let now = Utc::now();
    let changed = rows.len();
    for mut n in rows {
        let from = n.assignee_user_id;
        diesel::update(needs::table.find(n.id))
            .set((needs::assignee_user_id.eq(duty), needs::updated_at.eq(now)))
            .execute(conn)
            .await?;
        n.assignee_user_id = duty;
        append_event(
            conn,
            &n,
            "handover",
            Some(&n.state.clone()),
            actor,
            now,
            json!({"from_user_id": from, "to_user_id": duty}),
        )
        .await?;
    }
    Ok(changed)
}

// ---------------------------------------------------------------------------------------------
// acting

/// What an action's body adds to the transition.
#[derive(Debug, Default, Clone)]
pub struct Extras {
    /// refer: the department.
    pub department_id: Option<Uuid>,
    /// assign: the user.
    pub assignee_user_id: Option<Uuid>,
    /// assign: the team.
    pub team_id: Option<Uuid>,
    /// assign: the site.
    pub site_id: Option<Uuid>,
    /// resolve: fulfilled | unable.
    pub outcome: Option<String>,
    /// resolve: what was done.
    pub resolution: Option<String>,
    /// verify: 1–5.
    pub satisfaction: Option<i16>,
}

/// How the caller stands to a need.
pub async fn relation(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    n: &NeedRow,
) -> Result<Relation> {
    let handler_kind: String = organizations::table
        .find(n.handler_organization_id)
        .select(organizations::kind)
        .first(conn)
        .await?;
    let handler_kind = OrgKind::parse(&handler_kind);
    let village_staff = caller.role == Role::VillageStaff && caller.unit_id == Some(n.village_id);
    let town_staff = caller.role == Role::TownStaff && caller.unit_id == Some(n.town_id);
    let in_org = caller.organization_id == Some(n.handler_organization_id);
    let handler_staff = match handler_kind {
        Some(OrgKind::VillageStation | OrgKind::VillageDpf) => village_staff,
        Some(OrgKind::TownCentre) => town_staff && in_org,
        Some(OrgKind::Department) => caller.role == Role::DepartmentOfficer && in_org,
        Some(OrgKind::Association) => {
            matches!(caller.role, Role::AssociationStaff | Role::President)
                && caller.city_id == Some(n.city_id)
        }
        _ => in_org && caller.role != Role::Auditor,
    };
    Ok(Relation {
        handler_staff,
        village_staff,
        town_staff,
        handling_officer: caller.role == Role::DepartmentOfficer
            && in_org
            && handler_kind == Some(OrgKind::Department),
        assigned_site_staff: caller.role == Role::SiteStaff
            && n.assigned_site_id.is_some()
            && caller.organization_id == n.assigned_site_id,
        admin: caller.role == Role::Admin,
        auditor: caller.role == Role::Auditor,
    })
}

/// One action to carry out: what, by whom, with which details.
pub struct Step<'a> {
    /// The action.
    pub action: Action,
    /// The caller's relation to the need.
    pub relation: Relation,
    /// Details from the body.
    pub extras: &'a Extras,
    /// Who acts.
    pub actor: &'a Actor,
    /// The event's name (the action, or `auto_escalate`).
    pub event: &'a str,
    /// The event's payload.
    pub payload: Value,
}

/// Carries out a decided action on a locked need: the row (version + 1 when the state changes)
/// and its event, in the caller's transaction. Returns the need after.
pub async fn apply(
    conn: &mut AsyncPgConnection,
    mut n: NeedRow,
    step: Step<'_>,
) -> Result<NeedRow> {
    let Step {
        action,
        relation,
        extras,
        actor,
        event: event_name,
        payload,
    } = step;
    let t = match decide(n.view()?, action, relation) {
        Ok(t) => t,
        Err(Refusal::Forbidden) => {
            return Err(Error::Forbidden("your role may not do this to this need"))
        }
        Err(Refusal::InvalidTransition) => {
            return Err(Error::conflict(
                "invalid_transition",
                format!("{} is not possible from {}", action.kind(), n.state),
            ))
        }
    };
    let now = Utc::now();
    let from = n.state.clone();
    let mut payload = payload;
    if t.changes_state {
        // a step taken after its deadline was late, whether or not a sweep noticed it
        if n.due_at.is_some_and(|d| d < now) {
            n.ever_overdue = true;
        }
        let handler = match t.handler {
            Handler::Keep => n.handler_organization_id,
            Handler::VillageStation => org_at(conn, n.village_id, OrgKind::VillageStation).await?,
            Handler::Department => extras
                .department_id
                .ok_or_else(|| Error::internal("refer without department"))?,
            Handler::BeforeReferral => match n.referred_from_handler_id {
                Some(h) => h,
                None => org_at(conn, n.village_id, OrgKind::VillageDpf).await?,
            },
            Handler::TownCentre => org_at(conn, n.town_id, OrgKind::TownCentre).await?,
            Handler::Association => org_at(conn, n.city_id, OrgKind::Association).await?,
        };
        let level = if t.handler == Handler::BeforeReferral {
            n.referred_from_level
                .as_deref()
                .and_then(Level::parse)
                .unwrap_or(Level::Village)
        } else {
            t.level
        };
        if t.handler == Handler::Department {
            n.referred_from_handler_id = Some(n.handler_organization_id);
            n.referred_from_level = Some(n.level.clone());
            diesel::insert_into(need_access::table)
                .values((
                    need_access::organization_id.eq(handler),
                    need_access::need_id.eq(n.id),
                ))
                .on_conflict_do_nothing()
                .execute(conn)
                .await?;
        }
        n.assignee_user_id = match t.assignee {
            Assignee::Keep => n.assignee_user_id,
            Assignee::Clear => None,
            Assignee::OnDutyPresident => {
                let p = on_duty(conn, n.city_id).await?.map(|e| e.user_id);
                if let Value::Object(m) = &mut payload {
                    m.insert("assignee_user_id".into(), json!(p));
                }
                p
            }
            Assignee::FromBody => extras.assignee_user_id.or(n.assignee_user_id),
        };
        if action == Action::Assign {
            if let Some(site) = extras.site_id {
                n.assigned_site_id = Some(site);
                diesel::insert_into(need_access::table)
                    .values((
                        need_access::organization_id.eq(site),
                        need_access::need_id.eq(n.id),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .await?;
            }
            if let Some(team) = extras.team_id {
                n.assigned_team_id = Some(team);
            }
        }
        if action == Action::Resolve {
            n.outcome = extras.outcome.clone();
            n.resolution = extras.resolution.clone();
        }
        if let Action::Verify { .. } = action {
            n.satisfaction = extras.satisfaction;
        }
        if t.reopen {
            n.reopen_count += 1;
        }
        if t.to == State::Closed {
            n.closed_at = Some(now);
        }
        n.state = t.to.as_str().to_string();
        n.loop_ = t.loop_.map(|l| l.as_str().to_string());
        n.level = level.as_str().to_string();
        n.handler_organization_id = handler;
        n.overdue = false;
        n.due_at = due_at(conn, n.city_id, t.to, t.loop_, level, n.urgency(), now).await?;
        let expected = n.version;
        n.version += 1;
        n.updated_at = now;
        let updated = CachedBySql(
            diesel::update(
                needs::table
                    .filter(needs::id.eq(n.id))
                    .filter(needs::version.eq(expected)),
            )
            .set((
                needs::state.eq(&n.state),
                needs::loop_.eq(&n.loop_),
                needs::level.eq(&n.level),
                needs::handler_organization_id.eq(n.handler_organization_id),
                needs::assignee_user_id.eq(n.assignee_user_id),
                needs::assigned_site_id.eq(n.assigned_site_id),
                needs::assigned_team_id.eq(n.assigned_team_id),
                needs::referred_from_handler_id.eq(n.referred_from_handler_id),
                needs::referred_from_level.eq(&n.referred_from_level),
                needs::due_at.eq(n.due_at),
                needs::overdue.eq(false),
                needs::ever_overdue.eq(n.ever_overdue),
                needs::reopen_count.eq(n.reopen_count),
                needs::satisfaction.eq(n.satisfaction),
                needs::outcome.eq(&n.outcome),
                needs::resolution.eq(&n.resolution),
                needs::version.eq(n.version),
                needs::updated_at.eq(now),
                needs::closed_at.eq(n.closed_at),
            )),
        )
        .execute(conn)
        .await?;
        if updated != 1 {
            return Err(Error::PreconditionFailed);
        }
    }
    append_event(conn, &n, event_name, Some(&from), actor, now, payload).await?;
    Ok(n)
}

/// Files a need for a person: `reported` at the village, handled by the village's 村残协.
pub async fn file(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    person: &crate::db::models::persons::PersonRow,
    category: &str,
    description: &str,
    urgency: Urgency,
    reporting_helper_id: Option<Uuid>,
) -> Result<NeedRow> {
    let now = Utc::now();
    let handler = org_at(conn, person.village_id, OrgKind::VillageDpf).await?;
    let due = due_at(
        conn,
        person.city_id,
        State::Reported,
        None,
        Level::Village,
        urgency,
        now,
    )
    .await?;
    let n: NeedRow = diesel::insert_into(needs::table)
        .values((
            needs::id.eq(Uuid::now_v7()),
            needs::city_id.eq(person.city_id),
            needs::town_id.eq(person.town_id),
            needs::village_id.eq(person.village_id),
            needs::person_id.eq(person.id),
            needs::category.eq(category),
            needs::description.eq(description),
            needs::urgency.eq(urgency.as_str()),
            needs::state.eq(State::Reported.as_str()),
            needs::level.eq(Level::Village.as_str()),
            needs::handler_organization_id.eq(handler),
            needs::reporting_helper_id.eq(reporting_helper_id),
            needs::filed_by.eq(actor.user_id),
            needs::due_at.eq(due),
            needs::created_at.eq(now),
            needs::updated_at.eq(now),
        ))
        .returning(NeedRow::as_returning())
        .get_result(conn)
        .await?;
    append_event(
        conn,
        &n,
        "file",
        None,
        actor,
        now,
        json!({"category": category, "urgency": urgency.as_str(), "reporting_helper_id": reporting_helper_id}),
    )
    .await?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
// the sweeper

/// What one sweep did.
#[derive(Debug, Default, Serialize, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Social needs escalated automatically.
    pub auto_escalated: usize,
    /// Needs marked overdue (督办).
    pub breached: usize,
    /// City needs passed to the president on duty.
    pub handovers: usize,
}

/// One SLA pass: overdue social needs below the city climb a level; other overdue needs are
/// marked once. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so concurrent sweepers never
/// act twice on one need. Then open city needs pass to whoever is on duty.
pub async fn sweep(conn: &mut AsyncPgConnection) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    // each need is acted on at most once per pass: what this pass moved waits for the next
    let started = Utc::now();
    loop {
        let batch = conn
            .transaction::<_, Error, _>(async |conn| {
                let rows: Vec<NeedRow> = needs::table
                    .filter(needs::due_at.le(started))
                    .filter(needs::updated_at.lt(started))
                    .filter(
                        needs::state
                            .ne_all(vec![State::Closed.as_str(), State::Withdrawn.as_str()]),
                    )
                    .filter(needs::overdue.eq(false))
                    .order(needs::due_at)
                    .limit(200)
                    .select(NeedRow::as_select())
                    .for_update()
                    .skip_locked()
                    .load(conn)
                    .await?;
                let mut done = SweepReport::default();
                for mut n in rows {
                    let v = n.view()?;
                    let climbs = v.loop_ == Some(Loop::Social)
                        && v.level != Level::City
                        && matches!(
                            v.state,
                            State::Registered | State::Escalated | State::InProgress
                        );
                    n.ever_overdue = true;
                    if climbs {
                        let system = Relation {
                            handler_staff: true,
                            ..Relation::default()
                        };
                        let payload = json!({"reason": "SLA deadline passed", "due_at": n.due_at});
                        let extras = Extras::default();
                        let actor = Actor::system();
                        let step = Step {
                            action: Action::Escalate,
                            relation: system,
                            extras: &extras,
                            actor: &actor,
                            event: "auto_escalate",
                            payload,
                        };
                        apply(conn, n, step).await?;
                        done.auto_escalated += 1;
                    } else {
                        diesel::update(needs::table.find(n.id))
                            .set((needs::overdue.eq(true), needs::ever_overdue.eq(true)))
                            .execute(conn)
                            .await?;
                        let from = n.state.clone();
                        append_event(
                            conn,
                            &n,
                            "sla_breached",
                            Some(&from),
                            &Actor::system(),
                            Utc::now(),
                            json!({"due_at": n.due_at}),
                        )
                        .await?;
                        done.breached += 1;
                    }
                }
                Ok(done)
            })
            .await?;
        report.auto_escalated += batch.auto_escalated;
        report.breached += batch.breached;
        if batch.auto_escalated + batch.breached == 0 {
            break;
        }
    }
    #[derive(QueryableByName)]
    struct City {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let cities: Vec<City> = diesel::sql_query("SELECT id FROM org_units WHERE kind = $1")
        .bind::<Text, _>("city")
        .load(conn)
        .await?;
    for c in cities {
        let n = conn
            .transaction::<_, Error, _>(async |conn| {
                handover(conn, c.id, &Actor::system(), true).await
            })
            .await?;
        report.handovers += n;
    }
    Ok(report)
}

/// Whether a kind of action needs `If-Match` (all but comments).
pub fn needs_if_match(kind: ActionKind) -> bool {
    kind != ActionKind::Comment
}
