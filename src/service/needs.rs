//! The dual closed loop's use cases (双闭环): filing a need, listing and reading needs, their
//! history, and every action on them. Each use case owns its transaction and walks one way
//! down: load in scope → relation → may → If-Match → check references → decide once → write →
//! append the event. The JSON API, the console, the sweeper and the seeders all come here.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::db::models::needs::{
    EventRow, NamedNeed, NeedRow, NewEvent, NewNeed, PersonPlace, Seat,
};
use crate::db::queries::idempotency::{self, Claim};
use crate::db::queries::needs::{self as queries, NeedFilter};
use crate::db::queries::{deadlines, org, persons as person_queries};
use crate::domain::caller::{Actor, Caller};
use crate::domain::need::{
    decide, may, permitted, Action, ActionKind, Assignee, Category, Handler, Level, Loop, NeedView,
    Refusal, Relation, State, Urgency,
};
use crate::domain::pii::PiiCipher;
use crate::domain::roles::{OrgKind, PersonStatus, Role};
use crate::domain::sla::{default_hours, reachable, Position};
use crate::error::{Error, FieldError, Result};
use crate::service::events;
use crate::service::filters::word;
use crate::service::handover::on_duty;
use crate::service::page::{list_query, Page, Paged, SeqPage};

/// A request body read but not parsed yet: an action's body is parsed only after scope and
/// role are checked (404 and 403 come before 400 and 422). The JSON API hands its raw bytes,
/// the console the fields of its form.
pub trait RawBody: Sync {
    /// Parses the body (400 when it is not JSON, 415 when declared as something else, 422
    /// naming the field when it does not fit).
    fn parse<T: DeserializeOwned>(&self) -> Result<T>;
    /// Whether the body is empty.
    fn is_empty(&self) -> bool;
}

/// A need as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NeedOut {
    /// Id.
    pub id: Uuid,
    /// 工单号: the city code's first 6 digits, the year of filing, a sequence per city and year
    /// (`370883-2026-000123`).
    pub case_number: String,
    /// The person.
    pub person_id: Uuid,
    /// The person's name.
    pub person_name: String,
    /// Category.
    #[schema(value_type = String)]
    pub category: Category,
    /// What is needed.
    pub description: String,
    /// `normal` or `urgent`.
    #[schema(value_type = String)]
    pub urgency: Urgency,
    /// State.
    #[schema(value_type = String)]
    pub state: State,
    /// `policy` or `social` (null until registered).
    #[serde(rename = "loop")]
    #[schema(rename = "loop", value_type = Option<String>)]
    pub loop_: Option<Loop>,
    /// `village`, `town` or `city`.
    #[schema(value_type = String)]
    pub level: Level,
    /// The organisation handling it now.
    pub handler_organization_id: Uuid,
    /// The user it is assigned to.
    pub assignee_user_id: Option<Uuid>,
    /// The extension site it is assigned to.
    pub assigned_site_id: Option<Uuid>,
    /// The volunteer team it is assigned to.
    pub assigned_team_id: Option<Uuid>,
    /// The helper who reported it.
    pub reporting_helper_id: Option<Uuid>,
    /// Deadline of the current step (null once finished).
    #[serde(serialize_with = "crate::domain::ts::utc_opt")]
    pub due_at: Option<DateTime<Utc>>,
    /// Marked overdue (督办) and not yet moved on.
    pub overdue: bool,
    /// Unsatisfied follow-ups so far.
    pub reopen_count: i32,
    /// The last follow-up's score (1–5).
    pub satisfaction: Option<i16>,
    /// `fulfilled` or `unable`, once resolved.
    pub outcome: Option<String>,
    /// What was done.
    pub resolution: Option<String>,
    /// The person's village.
    pub village_id: Uuid,
    /// The village's name.
    pub village_name: String,
    /// The person's town.
    pub town_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// Version (also the `ETag`).
    pub version: i32,
    /// Filed.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub updated_at: DateTime<Utc>,
    /// Closed.
    #[serde(serialize_with = "crate::domain::ts::utc_opt")]
    pub closed_at: Option<DateTime<Utc>>,
    /// The actions the caller may take now (`comment` excluded: anyone in scope but the auditor
    /// may comment); the same rule that answers 403 and 409. Null only where no caller asks (a
    /// webhook's payload).
    #[schema(value_type = Option<Vec<String>>)]
    pub allowed_actions: Option<Vec<ActionKind>>,
}

impl NeedOut {
    /// A need object: the need with its names, and the actions `allowed` to whoever asks.
    pub fn new(named: NamedNeed, allowed: Option<Vec<ActionKind>>) -> Self {
        let NamedNeed {
            need: n,
            person_name,
            village_name,
            ..
        } = named;
        NeedOut {
            id: n.id,
            case_number: n.case_number,
            person_id: n.person_id,
            person_name,
            category: n.category,
            description: n.description,
            urgency: n.urgency,
            state: n.state,
            loop_: n.loop_,
            level: n.level,
            handler_organization_id: n.handler_organization_id,
            assignee_user_id: n.assignee_user_id,
            assigned_site_id: n.assigned_site_id,
            assigned_team_id: n.assigned_team_id,
            reporting_helper_id: n.reporting_helper_id,
            due_at: n.due_at,
            overdue: n.overdue,
            reopen_count: n.reopen_count,
            satisfaction: n.satisfaction,
            outcome: n.outcome,
            resolution: n.resolution,
            village_id: n.village_id,
            village_name,
            town_id: n.town_id,
            city_id: n.city_id,
            version: n.version,
            created_at: n.created_at,
            updated_at: n.updated_at,
            closed_at: n.closed_at,
            allowed_actions: allowed,
        }
    }

    /// A need object as `caller` sees it, with the actions it may take now.
    pub fn for_caller(caller: &Caller, named: NamedNeed) -> Self {
        let allowed = allowed(caller, &named);
        NeedOut::new(named, Some(allowed))
    }
}

/// The actions a caller may take on a need now (`comment` excluded): [`permitted`] with the
/// caller's [`relation_at`] the need, so a list of buttons never disagrees with a 403 or 409.
pub fn allowed(caller: &Caller, n: &NamedNeed) -> Vec<ActionKind> {
    allowed_at(caller, n.need.view(), n.need.seat(), &n.handler_kind)
}

/// The actions a caller may take now on a need in position `view`, sitting at `seat`, whose
/// handler is of the kind `handler_kind` (a word).
pub fn allowed_at(
    caller: &Caller,
    view: NeedView,
    seat: Seat,
    handler_kind: &str,
) -> Vec<ActionKind> {
    permitted(
        view,
        relation_at(caller, seat, OrgKind::parse(handler_kind)),
    )
}

/// A need object by id, whatever the scope (for what follows an event: notifications, webhook
/// payloads), without `allowed_actions`.
pub async fn need_object(conn: &mut AsyncPgConnection, id: Uuid) -> Result<NeedOut> {
    Ok(NeedOut::new(named(conn, id).await?, None))
}

/// One need with its names, by id (the caller has checked the scope).
async fn named(conn: &mut AsyncPgConnection, id: Uuid) -> Result<NamedNeed> {
    queries::named(conn, &[id])
        .await?
        .into_iter()
        .next()
        .ok_or(Error::NotFound)
}

/// One event of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// 1, 2, ... in order.
    pub seq: i32,
    /// `file`, an action, `auto_escalate`, `sla_breached`, `handover`, `allocate`.
    pub action: String,
    /// State before (null for filing).
    #[schema(value_type = Option<String>)]
    pub from_state: Option<State>,
    /// State after.
    #[schema(value_type = String)]
    pub to_state: State,
    /// Level after.
    #[schema(value_type = String)]
    pub level: Level,
    /// Handler after.
    pub handler_organization_id: Uuid,
    /// The acting user (null for the system).
    pub actor_user_id: Option<Uuid>,
    /// `system` or the username.
    pub actor: String,
    /// When.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub at: DateTime<Utc>,
    /// The action's details.
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl From<EventRow> for EventOut {
    fn from(e: EventRow) -> Self {
        EventOut {
            seq: e.seq,
            action: e.action,
            from_state: e.from_state,
            to_state: e.to_state,
            level: e.level,
            handler_organization_id: e.handler_organization_id,
            actor_user_id: e.actor_user_id,
            actor: e.actor,
            at: e.at,
            payload: e.payload,
        }
    }
}

/// `POST /needs` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NeedIn {
    /// The person (in the caller's scope, active).
    pub person_id: Uuid,
    /// Category.
    pub category: String,
    /// What is needed (1–4000 characters).
    pub description: String,
    /// `normal` (default) or `urgent`.
    pub urgency: Option<String>,
    /// The helper who brought it up (of the person's town).
    pub reporting_helper_id: Option<Uuid>,
    /// File it even though the person has an open need of the same category (otherwise 409
    /// `possible_duplicate`); the `file` event records it.
    pub confirm_duplicate: Option<bool>,
}

list_query! {
    /// Filters of `GET /needs`.
    pub struct NeedQuery {
        /// State.
        pub state: Option<String>,
        /// `policy` or `social`.
        #[serde(rename = "loop")]
        #[param(rename = "loop")]
        pub loop_: Option<String>,
        /// Level.
        pub level: Option<String>,
        /// Category.
        pub category: Option<String>,
        /// Needs of the persons under this unit.
        pub org_unit_id: Option<Uuid>,
        /// A handler's queue.
        pub handler_organization_id: Option<Uuid>,
        /// Marked overdue (or not).
        pub overdue: Option<bool>,
        /// Assigned to the caller.
        pub assigned_to_me: Option<bool>,
        /// One person's needs.
        pub person_id: Option<Uuid>,
        /// Search: the exact case number, the person's name containing it, or the person's (or the
        /// guardian's) exact phone number, matched by its keyed hash.
        pub q: Option<String>,
    }
}

/// Page parameters of the history.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Page size (1–200, default 200).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Needs in scope, filtered, keyset-paginated, each with its names and the caller's allowed
/// actions (one query for the page: the names are joined, the actions decided in memory).
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    pii: &PiiCipher,
    q: NeedQuery,
) -> Result<Paged<NeedOut>> {
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let filter = NeedFilter {
        state: word("state", q.state, State::parse, State::words())?,
        loop_: word("loop", q.loop_, Loop::parse, Loop::words())?,
        level: word("level", q.level, Level::parse, Level::words())?,
        category: word("category", q.category, Category::parse, Category::words())?,
        org_unit_id: q.org_unit_id,
        handler_organization_id: q.handler_organization_id,
        overdue: q.overdue,
        assignee_user_id: (q.assigned_to_me == Some(true)).then_some(caller.user_id),
        person_id: q.person_id,
        search: crate::service::persons::search(pii, q.q),
    };
    let rows = queries::list(conn, caller, &filter, page.after, page.limit + 1).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.need.id);
    Ok(Paged {
        items: rows
            .into_iter()
            .map(|n| NeedOut::for_caller(caller, n))
            .collect(),
        next_cursor,
    })
}

/// One need in scope with the caller's allowed actions, or 404.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<NeedOut> {
    let n = queries::find_named_in_scope(conn, caller, id).await?;
    Ok(NeedOut::for_caller(caller, n))
}

/// A need's whole history, oldest first (404 outside scope).
pub async fn events(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    q: EventQuery,
) -> Result<Paged<EventOut>> {
    let page = SeqPage::new(q.limit, q.cursor.as_deref(), 200)?;
    queries::find_in_scope(conn, caller, id).await?;
    let rows = queries::events(conn, id, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |e| e.seq)))
}

/// What filing answered: a new need, or the replay of an earlier answer to the same key.
#[derive(Debug)]
pub enum Filed {
    /// Filed now (201).
    Created(Box<NeedOut>),
    /// The first answer to this `Idempotency-Key` and body, replayed.
    Replayed {
        /// Its status.
        status: i32,
        /// Its body.
        body: Value,
    },
}

/// The canonical hash of a request body (key order and spacing do not matter).
fn request_hash(body: &Value) -> Vec<u8> {
    Sha256::digest(body.to_string().as_bytes()).to_vec()
}

/// The next case number of a city, taken in a statement of its own (unique, never reused; a
/// number taken by a filing that then fails is a gap).
pub async fn take_case_number(conn: &mut AsyncPgConnection, city: Uuid) -> Result<String> {
    queries::take_case_number(conn, city)
        .await?
        .ok_or_else(|| Error::internal(format!("{city} is no city")))
}

/// The case number for a filing, taken before its transaction so that the city's counter row
/// is locked for one short statement rather than for a whole filing: (city, number), or `None`
/// where the filing will not use one (a key already seen is a replay, in flight or reused; a
/// person out of reach is a 422).
async fn case_number_ahead(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    raw: &Value,
    key: Option<&str>,
) -> Result<Option<(Uuid, String)>> {
    if let Some(k) = key {
        if idempotency::seen(conn, caller.user_id, k).await? {
            return Ok(None);
        }
    }
    let person = raw
        .get("person_id")
        .and_then(Value::as_str)
        .and_then(|p| p.parse::<Uuid>().ok());
    let Some(person) = person else {
        return Ok(None);
    };
    let Some(p) = queries::person_in_scope(conn, caller, person).await? else {
        return Ok(None);
    };
    Ok(Some((p.city_id, take_case_number(conn, p.city_id).await?)))
}

/// Files a need for a person in scope (`reported`, at the village's 村残协). With an
/// `Idempotency-Key`, the claim, the need and its answer commit together; a refused request
/// rolls its claim back, so the client may correct it and retry with the same key. A person
/// with an open need of the same category is a 409 `possible_duplicate` unless the body
/// confirms it; a replay is always answered as a replay (the key is checked first).
pub async fn file(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    body: &impl RawBody,
    key: Option<String>,
) -> Result<Filed> {
    caller.require(&[
        Role::VillageStaff,
        Role::TownStaff,
        Role::Admin,
        Role::Helper,
    ])?;
    let raw: Value = body.parse()?;
    let hash = request_hash(&raw);
    let ahead = case_number_ahead(conn, caller, &raw, key.as_deref()).await?;
    conn.transaction::<_, Error, _>(async move |conn| {
        if let Some(k) = &key {
            match idempotency::claim(conn, caller.user_id, k, &hash).await? {
                Claim::Mine => {}
                Claim::InFlight => {
                    return Err(Error::conflict(
                        "conflict",
                        "a request with this Idempotency-Key is still in flight",
                    ))
                }
                Claim::Reused => {
                    return Err(Error::Validation {
                        code: "idempotency_key_reused",
                        errors: vec![FieldError::new(
                            "Idempotency-Key",
                            "was used with another body",
                        )],
                    })
                }
                Claim::Replay(status, body) => return Ok(Filed::Replayed { status, body }),
            }
        }
        let input: NeedIn = body.parse()?;
        let (person, category, description, urgency) = check_filing(conn, caller, &input).await?;
        // filings for one person queue here, so two reports of one need cannot both pass the check
        person_queries::lock(conn, person.id).await?;
        let existing = queries::open_of_category(conn, person.id, category).await?;
        let confirmed = input.confirm_duplicate == Some(true);
        if let (Some((id, number)), false) = (&existing, confirmed) {
            return Err(Error::PossibleDuplicate {
                existing_need_id: *id,
                existing_case_number: number.clone(),
            });
        }
        let case_number = match ahead {
            Some((city, number)) if city == person.city_id => number,
            // the key's earlier request is gone and this one took it over
            _ => take_case_number(conn, person.city_id).await?,
        };
        let filing = Filing {
            person: &person,
            category,
            description: &description,
            urgency,
            // a helper who files is the reporting helper
            reporting_helper_id: caller.helper().or(input.reporting_helper_id),
            case_number,
            confirmed_duplicate: existing.map(|e| e.0),
        };
        let n = file_for(conn, &Actor::of(caller), filing).await?;
        let out = NeedOut::for_caller(caller, named(conn, n.id).await?);
        if let Some(k) = &key {
            let body = serde_json::to_value(&out).map_err(Error::internal)?;
            idempotency::answer(conn, caller.user_id, k, 201, body).await?;
        }
        Ok(Filed::Created(Box::new(out)))
    })
    .await
}

/// Validates a filing (422 naming every field that fails).
async fn check_filing(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: &NeedIn,
) -> Result<(PersonPlace, Category, String, Urgency)> {
    let mut errors = Vec::new();
    let category = Category::parse(&input.category);
    if category.is_none() {
        errors.push(FieldError::new(
            "category",
            format!("must be one of {}", Category::words()),
        ));
    }
    let description = input.description.trim().to_string();
    if description.is_empty() || description.chars().count() > 4000 {
        errors.push(FieldError::new(
            "description",
            "is required (at most 4000 characters)",
        ));
    }
    let urgency = match input.urgency.as_deref() {
        None => Some(Urgency::Normal),
        Some(u) => Urgency::parse(u),
    };
    if urgency.is_none() {
        errors.push(FieldError::new("urgency", "must be normal or urgent"));
    }
    let person = match queries::person_in_scope(conn, caller, input.person_id).await? {
        Some(p) if p.status == PersonStatus::Active.as_str() => Some(p),
        Some(_) => {
            errors.push(FieldError::new("person_id", "the person is not active"));
            None
        }
        None => {
            errors.push(FieldError::new("person_id", "no such person in your scope"));
            None
        }
    };
    if let (Some(me), Some(h)) = (caller.helper(), input.reporting_helper_id) {
        if h != me {
            errors.push(FieldError::new(
                "reporting_helper_id",
                "a helper reports as itself",
            ));
        }
    }
    if let (Some(h), Some(p)) = (input.reporting_helper_id, person.as_ref()) {
        if org::helper_town(conn, h).await? != Some(p.town_id) {
            errors.push(FieldError::new(
                "reporting_helper_id",
                "no such helper in the person's town",
            ));
        }
    }
    Error::check(errors)?;
    match (person, category, urgency) {
        (Some(p), Some(c), Some(u)) => Ok((p, c, description, u)),
        _ => Err(Error::internal("validated above")),
    }
}

/// A filing, checked: what [`file_for`] writes.
pub struct Filing<'a> {
    /// The person.
    pub person: &'a PersonPlace,
    /// Category.
    pub category: Category,
    /// What is needed.
    pub description: &'a str,
    /// Urgency.
    pub urgency: Urgency,
    /// The helper who brought it up.
    pub reporting_helper_id: Option<Uuid>,
    /// Its case number ([`take_case_number`]).
    pub case_number: String,
    /// Filed with `confirm_duplicate: true` although the person has this open need of the
    /// same category.
    pub confirmed_duplicate: Option<Uuid>,
}

/// Writes a filed need and its `file` event in the caller's transaction.
pub async fn file_for(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    filing: Filing<'_>,
) -> Result<NeedRow> {
    let Filing {
        person,
        category,
        description,
        urgency,
        reporting_helper_id,
        case_number,
        confirmed_duplicate,
    } = filing;
    let now = Utc::now();
    let handler = org_at(conn, person.village_id, OrgKind::VillageDpf).await?;
    let position = Position {
        state: State::Reported,
        loop_: None,
        level: Level::Village,
        urgency,
    };
    let due = due_at(conn, person.city_id, position, now).await?;
    let n = queries::insert(
        conn,
        &NewNeed {
            id: Uuid::now_v7(),
            city_id: person.city_id,
            town_id: person.town_id,
            village_id: person.village_id,
            person_id: person.id,
            category: category.as_str(),
            description,
            urgency: urgency.as_str(),
            state: State::Reported.as_str(),
            level: Level::Village.as_str(),
            handler_organization_id: handler,
            reporting_helper_id,
            filed_by: actor.user_id,
            due_at: due,
            created_at: now,
            updated_at: now,
            case_number: &case_number,
            entered_state_at: now,
        },
    )
    .await?;
    let mut payload = json!({"category": category.as_str(), "urgency": urgency.as_str(), "reporting_helper_id": reporting_helper_id});
    if let (Some(duplicate_of), Value::Object(m)) = (confirmed_duplicate, &mut payload) {
        m.insert("confirm_duplicate".into(), json!(true));
        m.insert("duplicate_of".into(), json!(duplicate_of));
    }
    events::record(
        conn,
        NewEvent {
            need: &n,
            action: "file",
            from: None,
            actor,
            at: now,
            payload,
        },
    )
    .await?;
    Ok(n)
}

/// `register` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterIn {
    /// `policy` or `social`.
    #[serde(rename = "loop")]
    #[schema(rename = "loop")]
    pub loop_: String,
    /// A note.
    pub note: Option<String>,
}

/// `refer` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferIn {
    /// A department of the person's town.
    pub department_id: Uuid,
    /// A note.
    pub note: Option<String>,
}

/// `accept` body (optional).
#[derive(Debug, Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NoteIn {
    /// A note.
    pub note: Option<String>,
}

/// `return`, `escalate`, `reroute`, `withdraw` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Why.
    pub reason: String,
}

/// `assign` body: at least one of the three.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignIn {
    /// A user of the handling organisation.
    pub assignee_user_id: Option<Uuid>,
    /// A volunteer team of the city.
    pub volunteer_team_id: Option<Uuid>,
    /// An extension site of the city: its staff then see and resolve the need.
    pub extension_site_id: Option<Uuid>,
    /// A note.
    pub note: Option<String>,
}

/// `resolve` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveIn {
    /// `fulfilled` or `unable`.
    pub outcome: String,
    /// What was done.
    pub resolution: String,
}

/// `verify` body (回访).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyIn {
    /// Whether the need was really met.
    pub satisfied: bool,
    /// 1–5.
    pub satisfaction: i64,
    /// What the person said.
    pub note: Option<String>,
}

/// `comment` body.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentIn {
    /// The comment (1–4000 characters).
    pub text: String,
}

fn reason_ok(field: &str, text: &str, errors: &mut Vec<FieldError>) {
    if text.trim().is_empty() || text.chars().count() > 2000 {
        errors.push(FieldError::new(
            field,
            "is required (at most 2000 characters)",
        ));
    }
}

fn parse_body<T: DeserializeOwned + Default>(body: &impl RawBody) -> Result<T> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        body.parse()
    }
}

/// Parses and validates an action's body (422), returning the action, its extras and the event payload.
async fn parse_action(
    conn: &mut AsyncPgConnection,
    kind: ActionKind,
    body: &impl RawBody,
    n: &NeedRow,
) -> Result<(Action, Extras, Value)> {
    let mut errors = Vec::new();
    let mut extras = Extras::default();
    let (action, payload) = match kind {
        ActionKind::Register => {
            let b: RegisterIn = body.parse()?;
            let l = Loop::parse(&b.loop_);
            let Some(l) = l else {
                return Err(Error::field("loop", "must be policy or social"));
            };
            (Action::Register(l), json!(b))
        }
        ActionKind::Refer => {
            let b: ReferIn = body.parse()?;
            let found = org::org_kind_and_unit(conn, b.department_id).await?;
            match found {
                Some((k, unit)) if k == OrgKind::Department.as_str() && unit == n.town_id => {}
                _ => errors.push(FieldError::new(
                    "department_id",
                    "must be a department of the person's town",
                )),
            }
            extras.department_id = Some(b.department_id);
            (Action::Refer, json!(b))
        }
        ActionKind::Accept => {
            let b: NoteIn = parse_body(body)?;
            (Action::Accept, json!(b))
        }
        ActionKind::Return | ActionKind::Escalate | ActionKind::Reroute | ActionKind::Withdraw => {
            let b: ReasonIn = body.parse()?;
            reason_ok("reason", &b.reason, &mut errors);
            let a = match kind {
                ActionKind::Return => Action::Return,
                ActionKind::Escalate => Action::Escalate,
                ActionKind::Reroute => Action::Reroute,
                _ => Action::Withdraw,
            };
            (a, json!(b))
        }
        ActionKind::Assign => {
            let b: AssignIn = body.parse()?;
            if b.assignee_user_id.is_none()
                && b.volunteer_team_id.is_none()
                && b.extension_site_id.is_none()
            {
                errors.push(FieldError::new(
                    "assignee_user_id",
                    "name a user, a volunteer team or an extension site",
                ));
            }
            if let Some(u) = b.assignee_user_id {
                // a user of the handler's unit (the station and 村残协 share a village; branches the city)
                let handler_unit = org::org_kind_and_unit(conn, n.handler_organization_id)
                    .await?
                    .map(|(_, unit)| unit);
                let found = org::user_active_and_unit(conn, u).await?;
                if !matches!(found, Some((true, unit)) if Some(unit) == handler_unit) {
                    errors.push(FieldError::new(
                        "assignee_user_id",
                        "must be an active user of the handling organisation",
                    ));
                }
            }
            if let Some(t) = b.volunteer_team_id {
                let city = org::team_city(conn, t).await?;
                if city != Some(n.city_id) {
                    errors.push(FieldError::new(
                        "volunteer_team_id",
                        "no such team in this city",
                    ));
                }
            }
            if let Some(s) = b.extension_site_id {
                let found = org::org_kind_and_city(conn, s).await?;
                if !matches!(found, Some((ref k, c)) if k == OrgKind::ExtensionSite.as_str() && c == n.city_id)
                {
                    errors.push(FieldError::new(
                        "extension_site_id",
                        "must be an extension site of this city",
                    ));
                }
            }
            extras.assignee_user_id = b.assignee_user_id;
            extras.team_id = b.volunteer_team_id;
            extras.site_id = b.extension_site_id;
            (Action::Assign, json!(b))
        }
        ActionKind::Resolve => {
            let b: ResolveIn = body.parse()?;
            if !matches!(b.outcome.as_str(), "fulfilled" | "unable") {
                errors.push(FieldError::new("outcome", "must be fulfilled or unable"));
            }
            reason_ok("resolution", &b.resolution, &mut errors);
            extras.outcome = Some(b.outcome.clone());
            extras.resolution = Some(b.resolution.trim().to_string());
            (Action::Resolve, json!(b))
        }
        ActionKind::Verify => {
            let b: VerifyIn = body.parse()?;
            if !(1..=5).contains(&b.satisfaction) {
                errors.push(FieldError::new("satisfaction", "must be 1, 2, 3, 4 or 5"));
            }
            extras.satisfaction = Some(b.satisfaction.clamp(1, 5) as i16);
            (
                Action::Verify {
                    satisfied: b.satisfied,
                },
                json!(b),
            )
        }
        ActionKind::Comment => {
            let b: CommentIn = body.parse()?;
            if b.text.trim().is_empty() || b.text.chars().count() > 4000 {
                errors.push(FieldError::new(
                    "text",
                    "is required (at most 4000 characters)",
                ));
            }
            (Action::Comment, json!(b))
        }
    };
    Error::check(errors)?;
    Ok((action, extras, payload))
}

/// Moves a need along the loop. `wanted` is the `If-Match` version as read (its error, 428 or
/// 412, counts only for actions that need it, and only after 404 and 403); the body is parsed
/// after them too. One read of the need, in scope and locked: every check below runs under the
/// row lock, so nothing can change between the checks and the change.
pub async fn act(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    action: &str,
    wanted: Result<i32>,
    body: &impl RawBody,
) -> Result<NeedOut> {
    let n = conn
        .transaction::<_, Error, _>(async move |conn| {
            let current = queries::lock_in_scope(conn, caller, id).await?;
            // an auditor reads and takes no action, named or not: 403 after the 404 (scope) and
            // before anything about the action, its state or its body (SPEC §5)
            if caller.is(&[Role::Auditor]) {
                return Err(forbidden());
            }
            let Some(kind) = ActionKind::parse(action) else {
                return Err(Error::conflict(
                    "invalid_transition",
                    format!("there is no action {action:?}"),
                ));
            };
            let rel = relation(conn, caller, &current).await?;
            // the role check comes before the version and the body (SPEC §5)
            if !may(kind, rel) {
                return Err(forbidden());
            }
            if kind != ActionKind::Comment && wanted? != current.version {
                return Err(Error::PreconditionFailed);
            }
            let (action, extras, payload) = parse_action(conn, kind, body, &current).await?;
            let actor = Actor::of(caller);
            let step = Step {
                action,
                relation: rel,
                extras: &extras,
                actor: &actor,
                event: kind.as_str(),
                payload,
            };
            apply(conn, current, step).await
        })
        .await?;
    Ok(NeedOut::for_caller(caller, named(conn, n.id).await?))
}

fn forbidden() -> Error {
    Error::Forbidden("your role may not do this to this need")
}

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

/// How the caller stands to a need (its handler's kind read from the database).
pub async fn relation(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    n: &NeedRow,
) -> Result<Relation> {
    let handler_kind = org::org_kind_and_unit(conn, n.handler_organization_id)
        .await?
        .and_then(|(kind, _)| OrgKind::parse(&kind));
    Ok(relation_at(caller, n.seat(), handler_kind))
}

/// How the caller stands to a need sitting at `n` whose handler is of `handler_kind`.
pub fn relation_at(caller: &Caller, n: Seat, handler_kind: Option<OrgKind>) -> Relation {
    // a helper comments on its persons' needs and takes no action on them (may: comment only)
    if caller.role == Role::Helper {
        return Relation::default();
    }
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
    Relation {
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
    }
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
    let t = match decide(n.view(), action, relation) {
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
    let from = n.state;
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
            n.referred_from_level.unwrap_or(Level::Village)
        } else {
            t.level
        };
        if t.handler == Handler::Department {
            n.referred_from_handler_id = Some(n.handler_organization_id);
            n.referred_from_level = Some(n.level);
            queries::grant_access(conn, handler, n.id).await?;
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
                queries::grant_access(conn, site, n.id).await?;
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
        n.state = t.to;
        n.loop_ = t.loop_;
        n.level = level;
        n.handler_organization_id = handler;
        n.overdue = false;
        let position = Position {
            state: t.to,
            loop_: t.loop_,
            level,
            urgency: n.urgency,
        };
        n.due_at = due_at(conn, n.city_id, position, now).await?;
        let expected = n.version;
        n.version += 1;
        n.updated_at = now;
        n.entered_state_at = now;
        let updated = queries::save_transition(conn, &n, expected).await?;
        if updated != 1 {
            return Err(Error::PreconditionFailed);
        }
    }
    events::record(
        conn,
        NewEvent {
            need: &n,
            action: event_name,
            from: Some(from),
            actor,
            at: now,
            payload,
        },
    )
    .await?;
    Ok(n)
}

/// The organisation of a kind at a unit; every unit has its own, so a missing one is a bug.
pub async fn org_at(conn: &mut AsyncPgConnection, unit: Uuid, kind: OrgKind) -> Result<Uuid> {
    org::org_at(conn, unit, kind)
        .await?
        .ok_or_else(|| Error::internal(format!("no {kind} at unit {unit}")))
}

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

/// The city's effective policy table: stored entries over the defaults.
pub async fn policies(conn: &mut AsyncPgConnection, city: Uuid) -> Result<Vec<SlaEntry>> {
    let stored = deadlines::stored(conn, city).await?;
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
    at: Position,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>> {
    if at.state.is_final() {
        return Ok(None);
    }
    let stored = deadlines::stored_hours(conn, city, at).await?;
    let hours = stored.unwrap_or_else(|| default_hours(at.state, at.loop_, at.level, at.urgency));
    Ok(Some(now + chrono::Duration::hours(i64::from(hours))))
}
