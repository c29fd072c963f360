//! A need and its history as the database holds them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::db::schema::{need_events, needs};
use crate::domain::caller::Actor;
use crate::domain::chain::EventFacts;
use crate::domain::need::{Category, Level, Loop, NeedView, State, Urgency};

/// A need row.
#[derive(Debug, Clone, Queryable, Selectable)]
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
    /// Category.
    pub category: Category,
    /// What is needed.
    pub description: String,
    /// normal | urgent.
    pub urgency: Urgency,
    /// State.
    pub state: State,
    /// Loop word.
    #[diesel(column_name = loop_)]
    pub loop_: Option<Loop>,
    /// Level.
    pub level: Level,
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
    pub referred_from_level: Option<Level>,
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
    /// 工单号: `370883-2026-000123`.
    pub case_number: String,
    /// When it entered its current state (the last transition).
    pub entered_state_at: DateTime<Utc>,
}

/// `view()` and `seat()` of a row holding a need's position and place.
macro_rules! view_and_seat {
    ($row:ty) => {
        impl $row {
            /// The need as the state machine sees it.
            pub fn view(&self) -> NeedView {
                NeedView {
                    state: self.state,
                    loop_: self.loop_,
                    level: self.level,
                }
            }

            /// Where the need sits and who holds it, as a caller's relation to it is worked out.
            pub fn seat(&self) -> Seat {
                Seat {
                    city_id: self.city_id,
                    town_id: self.town_id,
                    village_id: self.village_id,
                    handler_organization_id: self.handler_organization_id,
                    assigned_site_id: self.assigned_site_id,
                }
            }
        }
    };
}

view_and_seat!(NeedRow);
view_and_seat!(DeskRow);

/// Where a need sits in the tree and who holds it: what a caller's relation to it depends on.
#[derive(Debug, Clone, Copy)]
pub struct Seat {
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Village.
    pub village_id: Uuid,
    /// Handling organisation.
    pub handler_organization_id: Uuid,
    /// Assigned extension site.
    pub assigned_site_id: Option<Uuid>,
}

/// A need with what every need object shows beside it: the person's name, the village's name,
/// and the kind of its handling organisation (what the caller's relation depends on).
#[derive(Debug, Clone, Queryable)]
pub struct NamedNeed {
    /// The need.
    pub need: NeedRow,
    /// The person's name.
    pub person_name: String,
    /// The person's village's name.
    pub village_name: String,
    /// The handling organisation's kind word.
    pub handler_kind: String,
}

/// An open need as the inbox weighs it: enough to decide whether it waits for the caller, in
/// which bucket, and where it sorts.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = needs)]
pub struct DeskRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Village.
    pub village_id: Uuid,
    /// State.
    pub state: State,
    /// Loop.
    #[diesel(column_name = loop_)]
    pub loop_: Option<Loop>,
    /// Level.
    pub level: Level,
    /// Handling organisation.
    pub handler_organization_id: Uuid,
    /// Assigned extension site.
    pub assigned_site_id: Option<Uuid>,
    /// Deadline of the current step.
    pub due_at: Option<DateTime<Utc>>,
    /// Marked overdue by the sweeper.
    pub overdue: bool,
    /// When it entered its current state.
    pub entered_state_at: DateTime<Utc>,
}

/// A need as filing writes it.
#[derive(Debug, Insertable)]
#[diesel(table_name = needs)]
pub struct NewNeed<'a> {
    /// Id (UUIDv7).
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
    pub category: &'static str,
    /// What is needed.
    pub description: &'a str,
    /// Urgency word.
    pub urgency: &'static str,
    /// `reported`.
    pub state: &'static str,
    /// `village`.
    pub level: &'static str,
    /// The village's 村残协.
    pub handler_organization_id: Uuid,
    /// The helper who reported it.
    pub reporting_helper_id: Option<Uuid>,
    /// Who filed it.
    pub filed_by: Option<Uuid>,
    /// Deadline of `reported`.
    pub due_at: Option<DateTime<Utc>>,
    /// Filed.
    pub created_at: DateTime<Utc>,
    /// Last change (= filed).
    pub updated_at: DateTime<Utc>,
    /// 工单号, taken for this filing.
    pub case_number: &'a str,
    /// Entered `reported` (= filed).
    pub entered_state_at: DateTime<Utc>,
}

/// An event to append to a need's history: `need` is the need after it, `from` its state before
/// (`None` when the event files it).
#[derive(Debug)]
pub struct NewEvent<'a> {
    /// The need after the event.
    pub need: &'a NeedRow,
    /// What happened.
    pub action: &'a str,
    /// The state before (`None`: filing).
    pub from: Option<State>,
    /// Who did it.
    pub actor: &'a Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// Its details.
    pub payload: Value,
}

/// One event of a need's history.
#[derive(Debug, Clone, Queryable, Selectable)]
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
    pub from_state: Option<State>,
    /// State after.
    pub to_state: State,
    /// Level after.
    pub level: Level,
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

impl EventRow {
    /// What this event's hash covers.
    pub fn facts(&self) -> EventFacts<'_> {
        EventFacts {
            need_id: self.need_id,
            seq: self.seq,
            city_id: self.city_id,
            action: &self.action,
            from_state: self.from_state.map(State::as_str),
            to_state: self.to_state.as_str(),
            level: self.level.as_str(),
            handler_organization_id: self.handler_organization_id,
            actor_user_id: self.actor_user_id,
            actor: &self.actor,
            at: self.at,
            payload: &self.payload,
        }
    }
}

/// Where a person stands, as filing needs it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = crate::db::schema::persons)]
pub struct PersonPlace {
    /// The person.
    pub id: Uuid,
    /// The person's name.
    pub name: String,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Village.
    pub village_id: Uuid,
    /// `active`, `moved_out` or `deceased`.
    pub status: String,
}
