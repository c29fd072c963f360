//! Needs (诉求): filing (idempotent), reading, lists and queues, the history, and actions.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{
    helpers, idempotency_keys, need_events, needs, org_units, organizations, users, volunteer_teams,
};
use crate::domain::need::{Action, ActionKind, Category, Level, Loop, State, Urgency};
use crate::domain::roles::{OrgKind, PersonStatus, Role};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{etag, if_match, path_id, Body, Page, Query, SeqPage};
use crate::http::AppState;
use crate::service::needs::{self as svc, Actor, EventRow, Extras, NeedRow};

/// A need as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NeedOut {
    /// Id.
    pub id: Uuid,
    /// The person.
    pub person_id: Uuid,
    /// Category.
    pub category: String,
    /// What is needed.
    pub description: String,
    /// `normal` or `urgent`.
    pub urgency: String,
    /// State.
    pub state: String,
    /// `policy` or `social` (null until registered).
    #[serde(rename = "loop")]
    #[schema(rename = "loop")]
    pub loop_: Option<String>,
    /// `village`, `town` or `city`.
    pub level: String,
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
    #[serde(serialize_with = "crate::http::api::ts::utc_opt")]
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
    /// The person's town.
    pub town_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// Version (also the `ETag`).
    pub version: i32,
    /// Filed.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub created_at: DateTime<Utc>,
    /// Last change.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
    pub updated_at: DateTime<Utc>,
    /// Closed.
    #[serde(serialize_with = "crate::http::api::ts::utc_opt")]
    pub closed_at: Option<DateTime<Utc>>,
}

impl From<NeedRow> for NeedOut {
    fn from(n: NeedRow) -> Self {
        NeedOut {
            id: n.id,
            person_id: n.person_id,
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
            town_id: n.town_id,
            city_id: n.city_id,
            version: n.version,
            created_at: n.created_at,
            updated_at: n.updated_at,
            closed_at: n.closed_at,
        }
    }
}

/// One event of the history.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventOut {
    /// 1, 2, ... in order.
    pub seq: i32,
    /// `file`, an action, `auto_escalate`, `sla_breached`, `handover`, `allocate`.
    pub action: String,
    /// State before (null for filing).
    pub from_state: Option<String>,
    /// State after.
    pub to_state: String,
    /// Level after.
    pub level: String,
    /// Handler after.
    pub handler_organization_id: Uuid,
    /// The acting user (null for the system).
    pub actor_user_id: Option<Uuid>,
    /// `system` or the username.
    pub actor: String,
    /// When.
    #[serde(serialize_with = "crate::http::api::ts::utc")]
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
}

/// Filters of `GET /needs`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
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
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

fn word<T>(
    field: &str,
    raw: Option<String>,
    parse: fn(&str) -> Option<T>,
    words: String,
) -> AppResult<Option<T>> {
    match raw {
        None => Ok(None),
        Some(r) => parse(&r)
            .map(Some)
            .ok_or_else(|| AppError::field(field, format!("must be one of {words}"))),
    }
}

/// `GET /api/v1/needs`: needs in scope, filtered, keyset-paginated.
#[utoipa::path(get, path = "/api/v1/needs", tag = "needs", params(NeedQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<NeedOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<NeedQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::needs(&caller)
        .select(NeedRow::as_select())
        .order(needs::id)
        .limit(page.limit + 1);
    if let Some(s) = word("state", q.state, State::parse, State::words())? {
        query = query.filter(needs::state.eq(s.as_str()));
    }
    if let Some(l) = word("loop", q.loop_, Loop::parse, Loop::words())? {
        query = query.filter(needs::loop_.eq(l.as_str()));
    }
    if let Some(l) = word("level", q.level, Level::parse, Level::words())? {
        query = query.filter(needs::level.eq(l.as_str()));
    }
    if let Some(c) = word("category", q.category, Category::parse, Category::words())? {
        query = query.filter(needs::category.eq(c.as_str()));
    }
    let mut conn = state.conn().await?;
    if let Some(u) = q.org_unit_id {
        let kind: Option<String> = org_units::table
            .find(u)
            .select(org_units::kind)
            .first(&mut conn)
            .await
            .optional()?;
        query = match kind.as_deref() {
            Some("city") => query.filter(needs::city_id.eq(u)),
            Some("town") => query.filter(needs::town_id.eq(u)),
            Some(_) => query.filter(needs::village_id.eq(u)),
            None => query.filter(needs::village_id.eq(Uuid::nil())),
        };
    }
    if let Some(h) = q.handler_organization_id {
        query = query.filter(needs::handler_organization_id.eq(h));
    }
    if let Some(o) = q.overdue {
        query = query.filter(needs::overdue.eq(o));
    }
    if q.assigned_to_me == Some(true) {
        query = query.filter(needs::assignee_user_id.eq(caller.user_id));
    }
    if let Some(p) = q.person_id {
        query = query.filter(needs::person_id.eq(p));
    }
    if let Some(after) = page.after {
        query = query.filter(needs::id.gt(after));
    }
    let rows: Vec<NeedRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged {
        items: rows.into_iter().map(NeedOut::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// `GET /api/v1/needs/{id}`: one need, with its version as `ETag`.
#[utoipa::path(get, path = "/api/v1/needs/{id}", tag = "needs", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = NeedOut, headers(("ETag" = String, description = "the version"))), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let n = svc::load_in_scope(&mut conn, &caller, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(n.version))
        .json(NeedOut::from(n)))
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

/// `GET /api/v1/needs/{id}/events`: the whole history, oldest first.
#[utoipa::path(get, path = "/api/v1/needs/{id}/events", tag = "needs", params(("id" = Uuid, Path), EventQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<EventOut>), (status = 404, body = crate::http::error::Problem)))]
pub async fn events(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: Query<EventQuery>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let page = SeqPage::new(q.0.limit, q.0.cursor.as_deref(), 200)?;
    let mut conn = state.conn().await?;
    svc::load_in_scope(&mut conn, &caller, id).await?;
    let rows: Vec<EventRow> = need_events::table
        .filter(need_events::need_id.eq(id))
        .filter(need_events::seq.gt(page.after))
        .order(need_events::seq)
        .limit(page.limit + 1)
        .select(EventRow::as_select())
        .load(&mut conn)
        .await?;
    let (rows, next_cursor) = page.finish(rows, |e| e.seq);
    Ok(ok(&Paged {
        items: rows.into_iter().map(EventOut::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// The canonical hash of a request body (key order and spacing do not matter).
fn request_hash(body: &Value) -> Vec<u8> {
    Sha256::digest(body.to_string().as_bytes()).to_vec()
}

/// The advisory lock a filing holds on its (user, key) while it runs.
fn key_lock(user: Uuid, key: &str) -> i64 {
    let digest = Sha256::new()
        .chain_update(user.as_bytes())
        .chain_update(key.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// Claims an idempotency key inside the filing's transaction: `Ok(None)` when this request owns
/// it, `Ok(Some((status, body)))` to replay. "In flight" is a transaction-scoped advisory lock,
/// and the key row commits with the need and its answer, so a request that dies (process killed,
/// connection gone) leaves nothing behind: its replay files the need once, at once.
async fn claim_key(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    key: &str,
    hash: &[u8],
) -> AppResult<Option<(i32, Value)>> {
    #[derive(QueryableByName)]
    struct Locked {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        got: bool,
    }
    let lock: Locked = diesel::sql_query("SELECT pg_try_advisory_xact_lock($1) AS got")
        .bind::<diesel::sql_types::BigInt, _>(key_lock(user, key))
        .get_result(conn)
        .await?;
    if !lock.got {
        return Err(AppError::conflict(
            "conflict",
            "a request with this Idempotency-Key is still in flight",
        ));
    }
    let found: Option<(Vec<u8>, Option<i32>, Option<Value>)> = idempotency_keys::table
        .find((user, key))
        .select((
            idempotency_keys::request_hash,
            idempotency_keys::status,
            idempotency_keys::response,
        ))
        .first(conn)
        .await
        .optional()?;
    match found {
        None => {
            diesel::insert_into(idempotency_keys::table)
                .values((
                    idempotency_keys::user_id.eq(user),
                    idempotency_keys::key.eq(key),
                    idempotency_keys::request_hash.eq(hash),
                ))
                .execute(conn)
                .await?;
            Ok(None)
        }
        Some((stored, _, _)) if stored != hash => Err(AppError::Validation {
            code: "idempotency_key_reused",
            errors: vec![FieldError::new(
                "Idempotency-Key",
                "was used with another body",
            )],
        }),
        Some((_, Some(status), Some(body))) => Ok(Some((status, body))),
        Some(_) => {
            // a claim without an answer (committed on its own by an older build): nobody holds
            // the lock, so its request is gone and this one takes the key over
            diesel::update(idempotency_keys::table.find((user, key)))
                .set(idempotency_keys::created_at.eq(Utc::now()))
                .execute(conn)
                .await?;
            Ok(None)
        }
    }
}

/// `POST /api/v1/needs`: files a need for a person (`reported`, at the village's 村残协).
#[utoipa::path(post, path = "/api/v1/needs", tag = "needs", request_body = NeedIn,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first answer for the same key and body")),
    security(("bearer" = [])), responses(
    (status = 201, body = NeedOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "the same key is still in flight", body = crate::http::error::Problem),
    (status = 422, description = "invalid fields, or `idempotency_key_reused`", body = crate::http::error::Problem)))]
pub async fn create(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::VillageStaff, Role::TownStaff, Role::Admin])?;
    let raw: Value = body.json()?;
    let key = req
        .headers()
        .get("Idempotency-Key")
        .map(|v| v.to_str().map(|s| s.trim().to_string()))
        .transpose()
        .map_err(|_| AppError::field("Idempotency-Key", "must be visible ASCII"))?;
    if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
        return Err(AppError::field("Idempotency-Key", "1–200 characters"));
    }
    let mut conn = state.conn().await?;
    let n = match key {
        None => file_need(&mut conn, &caller, raw, None).await?,
        Some(k) => {
            // the claim, the need and its answer commit together; a refused request rolls its
            // claim back, so the client may correct it and retry with the same key
            let hash = request_hash(&raw);
            let user = caller.user_id;
            let caller = &caller;
            let filed = conn
                .transaction::<_, AppError, _>(async move |conn| {
                    match claim_key(conn, user, &k, &hash).await? {
                        Some(first) => Ok(Err(first)),
                        None => file_need(conn, caller, raw, Some(&k)).await.map(Ok),
                    }
                })
                .await?;
            match filed {
                Ok(n) => n,
                Err((status, body)) => {
                    let status = actix_web::http::StatusCode::from_u16(status as u16)
                        .unwrap_or(actix_web::http::StatusCode::CREATED);
                    let mut reply = HttpResponse::build(status);
                    reply.insert_header(("Idempotent-Replayed", "true"));
                    if let Some(v) = body.get("version").and_then(Value::as_i64) {
                        reply.insert_header(etag(v as i32));
                    }
                    return Ok(reply.json(body));
                }
            }
        }
    };
    Ok(HttpResponse::Created()
        .insert_header(etag(n.version))
        .insert_header((header::LOCATION, format!("/api/v1/needs/{}", n.id)))
        .json(NeedOut::from(n)))
}

async fn file_need(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    raw: Value,
    key: Option<&str>,
) -> AppResult<NeedRow> {
    let input: NeedIn = serde_json::from_value(raw.clone()).map_err(|e| {
        // re-run through the path-aware parser for a precise field name
        crate::http::extract::parse_json::<NeedIn>(raw.to_string().as_bytes())
            .err()
            .unwrap_or_else(|| AppError::field("body", e.to_string()))
    })?;
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
    let person = match crate::service::persons::load_in_scope(conn, caller, input.person_id).await {
        Ok(p) if p.status == PersonStatus::Active.as_str() => Some(p),
        Ok(_) => {
            errors.push(FieldError::new("person_id", "the person is not active"));
            None
        }
        Err(AppError::NotFound) => {
            errors.push(FieldError::new("person_id", "no such person in your scope"));
            None
        }
        Err(e) => return Err(e),
    };
    if let (Some(h), Some(p)) = (input.reporting_helper_id, person.as_ref()) {
        let town: Option<Uuid> = helpers::table
            .find(h)
            .select(helpers::town_id)
            .first(conn)
            .await
            .optional()?;
        if town != Some(p.town_id) {
            errors.push(FieldError::new(
                "reporting_helper_id",
                "no such helper in the person's town",
            ));
        }
    }
    AppError::check(errors)?;
    let (Some(category), Some(urgency), Some(person)) = (category, urgency, person) else {
        return Err(AppError::internal("validated above"));
    };
    let actor = Actor::of(caller);
    let user = caller.user_id;
    let key = key.map(str::to_string);
    conn.transaction::<_, AppError, _>(async move |conn| {
        let n = svc::file(
            conn,
            &actor,
            &person,
            category.as_str(),
            &description,
            urgency,
            input.reporting_helper_id,
        )
        .await?;
        if let Some(k) = key {
            let body =
                serde_json::to_value(NeedOut::from(n.clone())).map_err(AppError::internal)?;
            diesel::update(idempotency_keys::table.find((user, k)))
                .set((
                    idempotency_keys::status.eq(201),
                    idempotency_keys::response.eq(body),
                ))
                .execute(conn)
                .await?;
        }
        Ok(n)
    })
    .await
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

fn parse_body<T: serde::de::DeserializeOwned + Default>(body: &Body) -> AppResult<T> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        body.json()
    }
}

/// Parses and validates an action's body (422), returning the action, its extras and the event payload.
async fn parse_action(
    conn: &mut AsyncPgConnection,
    kind: ActionKind,
    body: &Body,
    n: &NeedRow,
) -> AppResult<(Action, Extras, Value)> {
    let mut errors = Vec::new();
    let mut extras = Extras::default();
    let (action, payload) = match kind {
        ActionKind::Register => {
            let b: RegisterIn = body.json()?;
            let l = Loop::parse(&b.loop_);
            let Some(l) = l else {
                return Err(AppError::field("loop", "must be policy or social"));
            };
            (Action::Register(l), json!(b))
        }
        ActionKind::Refer => {
            let b: ReferIn = body.json()?;
            let found: Option<(String, Uuid)> = organizations::table
                .find(b.department_id)
                .select((organizations::kind, organizations::org_unit_id))
                .first(conn)
                .await
                .optional()?;
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
            let b: ReasonIn = body.json()?;
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
            let b: AssignIn = body.json()?;
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
                let handler_unit: Uuid = organizations::table
                    .find(n.handler_organization_id)
                    .select(organizations::org_unit_id)
                    .first(conn)
                    .await?;
                let found: Option<(bool, Uuid)> = users::table
                    .inner_join(organizations::table)
                    .filter(users::id.eq(u))
                    .select((users::active, organizations::org_unit_id))
                    .first(conn)
                    .await
                    .optional()?;
                if !matches!(found, Some((true, unit)) if unit == handler_unit) {
                    errors.push(FieldError::new(
                        "assignee_user_id",
                        "must be an active user of the handling organisation",
                    ));
                }
            }
            if let Some(t) = b.volunteer_team_id {
                let city: Option<Uuid> = volunteer_teams::table
                    .find(t)
                    .select(volunteer_teams::city_id)
                    .first(conn)
                    .await
                    .optional()?;
                if city != Some(n.city_id) {
                    errors.push(FieldError::new(
                        "volunteer_team_id",
                        "no such team in this city",
                    ));
                }
            }
            if let Some(s) = b.extension_site_id {
                let found: Option<(String, Uuid)> = organizations::table
                    .find(s)
                    .select((organizations::kind, organizations::city_id))
                    .first(conn)
                    .await
                    .optional()?;
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
            let b: ResolveIn = body.json()?;
            if !matches!(b.outcome.as_str(), "fulfilled" | "unable") {
                errors.push(FieldError::new("outcome", "must be fulfilled or unable"));
            }
            reason_ok("resolution", &b.resolution, &mut errors);
            extras.outcome = Some(b.outcome.clone());
            extras.resolution = Some(b.resolution.trim().to_string());
            (Action::Resolve, json!(b))
        }
        ActionKind::Verify => {
            let b: VerifyIn = body.json()?;
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
            let b: CommentIn = body.json()?;
            if b.text.trim().is_empty() || b.text.chars().count() > 4000 {
                errors.push(FieldError::new(
                    "text",
                    "is required (at most 4000 characters)",
                ));
            }
            (Action::Comment, json!(b))
        }
    };
    AppError::check(errors)?;
    Ok((action, extras, payload))
}

/// `POST /api/v1/needs/{id}/actions/{action}`: moves a need along the loop (`If-Match` required but for comments).
#[utoipa::path(post, path = "/api/v1/needs/{id}/actions/{action}", tag = "needs",
    params(("id" = Uuid, Path), ("action" = String, Path, description = "register, refer, accept, return, assign, escalate, reroute, resolve, verify, withdraw, comment"),
           ("If-Match" = Option<String>, Header, description = "the need's version (all actions but comment)")),
    request_body(content = Object, description = "RegisterIn, ReferIn, NoteIn, ReasonIn, AssignIn, ResolveIn, VerifyIn or CommentIn, by action"),
    security(("bearer" = [])), responses(
    (status = 200, body = NeedOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, description = "`invalid_transition` from this state", body = crate::http::error::Problem),
    (status = 412, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem), (status = 428, body = crate::http::error::Problem)))]
pub async fn act(
    req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: Body,
) -> AppResult<HttpResponse> {
    let (id, action) = path.into_inner();
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let actor = Actor::of(&caller);
    // read now (the request stays outside the transaction), refused only after 404 and 403
    let wanted = if_match(&req);
    // one read of the need, in scope and locked: every check below (404, 403, If-Match, body)
    // runs under the row lock, so nothing can change between the checks and the change
    let n = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = svc::load_in_scope_for_update(conn, &caller, id).await?;
            // an auditor reads and takes no action, named or not: 403 after the 404 (scope) and
            // before anything about the action, its state or its body (SPEC §5)
            if caller.is(&[crate::domain::roles::Role::Auditor]) {
                return Err(AppError::Forbidden(
                    "your role may not do this to this need",
                ));
            }
            let Some(kind) = ActionKind::parse(&action) else {
                return Err(AppError::conflict(
                    "invalid_transition",
                    format!("there is no action {action:?}"),
                ));
            };
            let rel = svc::relation(conn, &caller, &current).await?;
            // the role check comes before the version and the body (SPEC §5)
            let probe = match kind {
                ActionKind::Register => Action::Register(Loop::Policy),
                ActionKind::Verify => Action::Verify { satisfied: true },
                ActionKind::Refer => Action::Refer,
                ActionKind::Accept => Action::Accept,
                ActionKind::Return => Action::Return,
                ActionKind::Assign => Action::Assign,
                ActionKind::Escalate => Action::Escalate,
                ActionKind::Reroute => Action::Reroute,
                ActionKind::Resolve => Action::Resolve,
                ActionKind::Withdraw => Action::Withdraw,
                ActionKind::Comment => Action::Comment,
            };
            if crate::domain::need::decide(
                crate::domain::need::NeedView {
                    state: State::Closed,
                    loop_: None,
                    level: Level::City,
                },
                probe,
                rel,
            ) == Err(crate::domain::need::Refusal::Forbidden)
            {
                return Err(AppError::Forbidden(
                    "your role may not do this to this need",
                ));
            }
            if svc::needs_if_match(kind) && wanted? != current.version {
                return Err(AppError::PreconditionFailed);
            }
            let (action, extras, payload) = parse_action(conn, kind, &body, &current).await?;
            let step = svc::Step {
                action,
                relation: rel,
                extras: &extras,
                actor: &actor,
                event: kind.as_str(),
                payload,
            };
            svc::apply(conn, current, step).await
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(n.version))
        .json(NeedOut::from(n)))
}

/// Keeps `Scope` in use for the documentation of how lists are limited.
pub const _SCOPE: Option<Scope> = None;
