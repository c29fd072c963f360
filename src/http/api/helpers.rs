//! Helpers (包保人): the people of a town who make up 三帮一 contact groups.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::org_units::load_in_scope;
use super::{created, ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{contact_group_members, helpers, persons, users, volunteer_teams};
use crate::domain::roles::{HelperKind, Role, UnitKind};
use crate::domain::text::{clean, phone_ok};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Body, Page, Query};
use crate::http::AppState;

/// A helper row.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = helpers)]
pub struct HelperRow {
    /// Id.
    pub id: Uuid,
    /// City.
    pub city_id: Uuid,
    /// Town.
    pub town_id: Uuid,
    /// Home village.
    pub village_id: Uuid,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Kind word.
    pub kind: String,
    /// Team.
    pub volunteer_team_id: Option<Uuid>,
    /// Linked user.
    pub user_id: Option<Uuid>,
    /// Active.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A helper as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct HelperOut {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// `village_cadre`, `volunteer`, `party_member`, `grid_worker`, `family`, `other`.
    pub kind: String,
    /// Home village (its town follows).
    pub village_id: Uuid,
    /// The town.
    pub town_id: Uuid,
    /// Volunteer team, if any.
    pub volunteer_team_id: Option<Uuid>,
    /// Linked user account, if any.
    pub user_id: Option<Uuid>,
    /// Whether the helper can be in contact groups.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<HelperRow> for HelperOut {
    fn from(h: HelperRow) -> Self {
        HelperOut {
            id: h.id,
            name: h.name,
            phone: h.phone,
            kind: h.kind,
            village_id: h.village_id,
            town_id: h.town_id,
            volunteer_team_id: h.volunteer_team_id,
            user_id: h.user_id,
            active: h.active,
            created_at: h.created_at,
        }
    }
}

/// `POST /helpers` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelperIn {
    /// Name.
    pub name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Kind.
    pub kind: String,
    /// Home village (village staff may omit it: their own).
    pub village_id: Option<Uuid>,
    /// Volunteer team.
    pub volunteer_team_id: Option<Uuid>,
    /// Linked user account.
    pub user_id: Option<Uuid>,
    /// Default true.
    pub active: Option<bool>,
}

/// `PATCH /helpers/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelperPatch {
    /// Name.
    pub name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Volunteer team.
    pub volunteer_team_id: Option<Uuid>,
    /// Deactivating a helper takes them out of every contact group (which then shows as incomplete).
    pub active: Option<bool>,
}

/// Filters of `GET /helpers`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HelperQuery {
    /// Only helpers of this village.
    pub village_id: Option<Uuid>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only active (true) or inactive (false).
    pub active: Option<bool>,
    /// Only members of this team.
    pub volunteer_team_id: Option<Uuid>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// Whether the caller may change a helper of this village (its own scope, not just its town).
fn writable(caller: &Caller, h: &HelperRow) -> bool {
    match caller.scope {
        Scope::Village(v) => h.village_id == v,
        _ => true,
    }
}

/// `GET /api/v1/helpers`: helpers in scope.
#[utoipa::path(get, path = "/api/v1/helpers", tag = "helpers", params(HelperQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<HelperOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<HelperQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::helpers(&caller)
        .select(HelperRow::as_select())
        .order(helpers::id)
        .limit(page.limit + 1);
    if let Some(v) = q.village_id {
        query = query.filter(helpers::village_id.eq(v));
    }
    if let Some(k) = q.kind {
        let k = HelperKind::parse(&k).ok_or_else(|| {
            AppError::field("kind", format!("must be one of {}", HelperKind::words()))
        })?;
        query = query.filter(helpers::kind.eq(k.as_str()));
    }
    if let Some(a) = q.active {
        query = query.filter(helpers::active.eq(a));
    }
    if let Some(t) = q.volunteer_team_id {
        query = query.filter(helpers::volunteer_team_id.eq(t));
    }
    if let Some(after) = page.after {
        query = query.filter(helpers::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<HelperRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged {
        items: rows.into_iter().map(HelperOut::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// `GET /api/v1/helpers/{id}`: one helper in scope.
#[utoipa::path(get, path = "/api/v1/helpers/{id}", tag = "helpers", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = HelperOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let row: HelperRow = crate::db::queries::scope::helpers(&caller)
        .filter(helpers::id.eq(id))
        .select(HelperRow::as_select())
        .first(&mut conn)
        .await?;
    Ok(ok(&HelperOut::from(row)))
}

async fn check_team(
    conn: &mut diesel_async::AsyncPgConnection,
    team: Uuid,
    city: Uuid,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let found: Option<Uuid> = volunteer_teams::table
        .find(team)
        .filter(volunteer_teams::city_id.eq(city))
        .select(volunteer_teams::id)
        .first(conn)
        .await
        .optional()?;
    if found.is_none() {
        errors.push(FieldError::new(
            "volunteer_team_id",
            "no such team in this city",
        ));
    }
    Ok(())
}

/// `POST /api/v1/helpers`: adds a helper to a village of the caller's scope.
#[utoipa::path(post, path = "/api/v1/helpers", tag = "helpers", request_body = HelperIn, security(("bearer" = [])), responses(
    (status = 201, body = HelperOut), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(super::persons::CARE_ROLES)?;
    let input: HelperIn = body.json()?;
    let mut errors = Vec::new();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 100 characters)",
        ));
    }
    let kind = HelperKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", HelperKind::words()),
        ));
    }
    let phone = clean(input.phone);
    if phone.as_ref().is_some_and(|p| !phone_ok(p)) {
        errors.push(FieldError::new(
            "phone",
            "must be 5–20 digits (spaces, + and - allowed)",
        ));
    }
    let mut conn = state.conn().await?;
    let village_id = match (input.village_id, caller.scope) {
        (Some(v), _) => Some(v),
        (None, Scope::Village(v)) => Some(v),
        (None, _) => {
            errors.push(FieldError::new("village_id", "is required"));
            None
        }
    };
    let village = match village_id {
        Some(v) => match load_in_scope(&mut conn, caller.scope, v).await {
            Ok(u) if u.kind == UnitKind::Village.as_str() => Some(u),
            Ok(_) => {
                errors.push(FieldError::new("village_id", "must be a village"));
                None
            }
            Err(AppError::NotFound) => {
                errors.push(FieldError::new(
                    "village_id",
                    "no such village in your scope",
                ));
                None
            }
            Err(e) => return Err(e),
        },
        None => None,
    };
    if let (Some(t), Some(v)) = (input.volunteer_team_id, village.as_ref()) {
        check_team(&mut conn, t, v.city_id, &mut errors).await?;
    }
    if let (Some(u), Some(v)) = (input.user_id, village.as_ref()) {
        let city: Option<Option<Uuid>> = users::table
            .find(u)
            .select(users::city_id)
            .first(&mut conn)
            .await
            .optional()?;
        if city != Some(Some(v.city_id)) {
            errors.push(FieldError::new("user_id", "no such user in this city"));
        }
    }
    AppError::check(errors)?;
    let (Some(kind), Some(village)) = (kind, village) else {
        return Err(AppError::internal("validated above"));
    };
    let row: HelperRow = diesel::insert_into(helpers::table)
        .values((
            helpers::id.eq(Uuid::now_v7()),
            helpers::city_id.eq(village.city_id),
            helpers::town_id.eq(village.town_id.unwrap_or(village.city_id)),
            helpers::village_id.eq(village.id),
            helpers::name.eq(name),
            helpers::phone.eq(phone),
            helpers::kind.eq(kind.as_str()),
            helpers::volunteer_team_id.eq(input.volunteer_team_id),
            helpers::user_id.eq(input.user_id),
            helpers::active.eq(input.active.unwrap_or(true)),
        ))
        .returning(HelperRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(created(&HelperOut::from(row)))
}

/// `PATCH /api/v1/helpers/{id}`: edits a helper; deactivation leaves their groups incomplete.
#[utoipa::path(patch, path = "/api/v1/helpers/{id}", tag = "helpers", params(("id" = Uuid, Path)), request_body = HelperPatch, security(("bearer" = [])), responses(
    (status = 200, body = HelperOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let current: HelperRow = crate::db::queries::scope::helpers(&caller)
        .filter(helpers::id.eq(id))
        .select(HelperRow::as_select())
        .first(&mut conn)
        .await?;
    caller.require(super::persons::CARE_ROLES)?;
    if !writable(&caller, &current) {
        return Err(AppError::Forbidden(
            "this helper belongs to another village",
        ));
    }
    let input: HelperPatch = body.json()?;
    let mut errors = Vec::new();
    if input
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > 100)
    {
        errors.push(FieldError::new("name", "1–100 characters"));
    }
    let kind = input.kind.as_deref().map(HelperKind::parse);
    if kind == Some(None) {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", HelperKind::words()),
        ));
    }
    if input.phone.as_deref().is_some_and(|p| !phone_ok(p.trim())) {
        errors.push(FieldError::new(
            "phone",
            "must be 5–20 digits (spaces, + and - allowed)",
        ));
    }
    if let Some(t) = input.volunteer_team_id {
        check_team(&mut conn, t, current.city_id, &mut errors).await?;
    }
    AppError::check(errors)?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let target = helpers::table.find(id);
            if let Some(n) = input.name {
                diesel::update(target)
                    .set(helpers::name.eq(n.trim().to_string()))
                    .execute(conn)
                    .await?;
            }
            if let Some(p) = input.phone {
                diesel::update(target)
                    .set(helpers::phone.eq(p.trim().to_string()))
                    .execute(conn)
                    .await?;
            }
            if let Some(Some(k)) = kind {
                diesel::update(target)
                    .set(helpers::kind.eq(k.as_str()))
                    .execute(conn)
                    .await?;
            }
            if let Some(t) = input.volunteer_team_id {
                diesel::update(target)
                    .set(helpers::volunteer_team_id.eq(t))
                    .execute(conn)
                    .await?;
            }
            if let Some(a) = input.active {
                diesel::update(target)
                    .set(helpers::active.eq(a))
                    .execute(conn)
                    .await?;
                if !a {
                    // their persons lose a member: the groups show as incomplete until refilled
                    let affected: Vec<Uuid> = diesel::delete(
                        contact_group_members::table
                            .filter(contact_group_members::helper_id.eq(id)),
                    )
                    .returning(contact_group_members::person_id)
                    .get_results(conn)
                    .await?;
                    diesel::update(persons::table.filter(persons::id.eq_any(affected)))
                        .set(persons::group_size.eq(persons::group_size - 1))
                        .execute(conn)
                        .await?;
                }
            }
            let row: HelperRow = helpers::table
                .find(id)
                .select(HelperRow::as_select())
                .first(conn)
                .await?;
            Ok(row)
        })
        .await?;
    Ok(ok(&HelperOut::from(row)))
}

/// Only used to keep `Role` referenced for documentation of who may write.
pub const WRITERS: &[Role] = super::persons::CARE_ROLES;
