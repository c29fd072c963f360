//! 会长轮值: the duty roster of the association's presidents.

use actix_web::{web, HttpResponse};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::auth::Caller;
use crate::db::models::duty::RosterRow;
use crate::db::schema::{duty_roster, needs, org_units, users};
use crate::domain::caller::Actor;
use crate::domain::roles::{OrgKind, Role};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Body, Page, Query};
use crate::http::AppState;
use crate::service::handover::{handover, on_duty};
use crate::service::needs::org_at;

/// 404 unless the city exists.
pub async fn city_exists(conn: &mut AsyncPgConnection, city: Uuid) -> AppResult<()> {
    let n: i64 = org_units::table
        .filter(org_units::id.eq(city))
        .filter(org_units::kind.eq("city"))
        .count()
        .get_result(conn)
        .await?;
    if n == 0 {
        Err(AppError::NotFound)
    } else {
        Ok(())
    }
}

/// Which city, and paging.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RosterQuery {
    /// Required for a deployment admin; others get their own city.
    pub city_id: Option<Uuid>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `POST /duty-roster` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterIn {
    /// A `president` of the city's association.
    pub user_id: Uuid,
    /// First day on duty (inclusive).
    pub starts_on: NaiveDate,
    /// Last day on duty (inclusive).
    pub ends_on: NaiveDate,
    /// For a deployment admin: the city.
    pub city_id: Option<Uuid>,
}

/// `PATCH /duty-roster/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RosterPatch {
    /// Another president.
    pub user_id: Option<Uuid>,
    /// New first day.
    pub starts_on: Option<NaiveDate>,
    /// New last day.
    pub ends_on: Option<NaiveDate>,
}

/// A president as the roster shows them.
#[derive(Debug, Serialize, ToSchema, Queryable)]
pub struct PresidentOut {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
}

/// `GET /duty-roster/current`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrentOut {
    /// The association.
    pub association_id: Uuid,
    /// Today's entry (null in a gap).
    pub entry: Option<RosterRow>,
    /// Today's president (null in a gap).
    pub president: Option<PresidentOut>,
    /// Nobody is on duty today.
    pub gap: bool,
    /// Open city-level needs waiting without an assignee.
    pub unassigned_city_needs: i64,
}

const MANAGERS: &[Role] = &[Role::Admin, Role::AssociationStaff];

async fn check_president(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    association: Uuid,
    errors: &mut Vec<FieldError>,
) -> AppResult<()> {
    let found: Option<(String, Option<Uuid>, bool)> = users::table
        .find(user)
        .select((users::role, users::organization_id, users::active))
        .first(conn)
        .await
        .optional()?;
    if !matches!(found, Some((ref r, Some(o), true)) if r == Role::President.as_str() && o == association)
    {
        errors.push(FieldError::new(
            "user_id",
            "must be an active president of the city's association",
        ));
    }
    Ok(())
}

/// `GET /api/v1/duty-roster`: the city's roster.
#[utoipa::path(get, path = "/api/v1/duty-roster", tag = "roster", params(RosterQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<RosterRow>), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<RosterQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let city = caller.city_or(q.city_id)?;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut conn = state.conn().await?;
    city_exists(&mut conn, city).await?;
    let mut query = duty_roster::table
        .filter(duty_roster::city_id.eq(city))
        .order(duty_roster::id)
        .limit(page.limit + 1)
        .select(RosterRow::as_select())
        .into_boxed();
    if let Some(after) = page.after {
        query = query.filter(duty_roster::id.gt(after));
    }
    let rows: Vec<RosterRow> = query.load(&mut conn).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `POST /api/v1/duty-roster`: adds a turn; overlapping turns are refused (409).
#[utoipa::path(post, path = "/api/v1/duty-roster", tag = "roster", request_body = RosterIn, security(("bearer" = [])), responses(
    (status = 201, body = RosterRow), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), 
    (status = 409, description = "overlaps another turn", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(MANAGERS)?;
    let input: RosterIn = body.json()?;
    let city = caller.city_or(input.city_id)?;
    let mut conn = state.conn().await?;
    city_exists(&mut conn, city).await?;
    let association = org_at(&mut conn, city, OrgKind::Association).await?;
    let mut errors = Vec::new();
    check_president(&mut conn, input.user_id, association, &mut errors).await?;
    if input.ends_on < input.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    AppError::check(errors)?;
    let actor = Actor::of(&caller);
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row: RosterRow = diesel::insert_into(duty_roster::table)
                .values((
                    duty_roster::id.eq(Uuid::now_v7()),
                    duty_roster::association_id.eq(association),
                    duty_roster::city_id.eq(city),
                    duty_roster::user_id.eq(input.user_id),
                    duty_roster::starts_on.eq(input.starts_on),
                    duty_roster::ends_on.eq(input.ends_on),
                ))
                .returning(RosterRow::as_returning())
                .get_result(conn)
                .await?;
            handover(conn, city, &actor, false).await?;
            Ok(row)
        })
        .await?;
    Ok(created(&row))
}

async fn entry_in_city(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<RosterRow> {
    let row: RosterRow = duty_roster::table
        .find(id)
        .select(RosterRow::as_select())
        .first(conn)
        .await?;
    if caller.city_id.is_some_and(|c| c != row.city_id) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

/// `PATCH /api/v1/duty-roster/{id}`: changes a turn; open city needs follow whoever is on duty.
#[utoipa::path(patch, path = "/api/v1/duty-roster/{id}", tag = "roster", params(("id" = Uuid, Path)), request_body = RosterPatch, security(("bearer" = [])), responses(
    (status = 200, body = RosterRow), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem),
    (status = 409, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Body,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let current = entry_in_city(&mut conn, &caller, id).await?;
    caller.require(MANAGERS)?;
    let input: RosterPatch = body.json()?;
    let mut errors = Vec::new();
    let user = input.user_id.unwrap_or(current.user_id);
    if input.user_id.is_some() {
        check_president(&mut conn, user, current.association_id, &mut errors).await?;
    }
    let starts = input.starts_on.unwrap_or(current.starts_on);
    let ends = input.ends_on.unwrap_or(current.ends_on);
    if ends < starts {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    AppError::check(errors)?;
    let actor = Actor::of(&caller);
    let city = current.city_id;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let row: RosterRow = diesel::update(duty_roster::table.find(id))
                .set((
                    duty_roster::user_id.eq(user),
                    duty_roster::starts_on.eq(starts),
                    duty_roster::ends_on.eq(ends),
                ))
                .returning(RosterRow::as_returning())
                .get_result(conn)
                .await?;
            handover(conn, city, &actor, false).await?;
            Ok(row)
        })
        .await?;
    Ok(ok(&row))
}

/// `DELETE /api/v1/duty-roster/{id}`: removes a turn.
#[utoipa::path(delete, path = "/api/v1/duty-roster/{id}", tag = "roster", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 204, description = "removed"), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem)))]
pub async fn delete(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let current = entry_in_city(&mut conn, &caller, id).await?;
    caller.require(MANAGERS)?;
    let actor = Actor::of(&caller);
    conn.transaction::<_, AppError, _>(async move |conn| {
        diesel::delete(duty_roster::table.find(id))
            .execute(conn)
            .await?;
        handover(conn, current.city_id, &actor, false).await?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Which city.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CityQuery {
    /// Required for a deployment admin; others get their own city.
    pub city_id: Option<Uuid>,
}

/// `GET /api/v1/duty-roster/current`: who is on duty today, or the gap.
#[utoipa::path(get, path = "/api/v1/duty-roster/current", tag = "roster", params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = CurrentOut), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn current(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<CityQuery>,
) -> AppResult<HttpResponse> {
    let city = caller.city_or(q.0.city_id)?;
    let mut conn = state.conn().await?;
    city_exists(&mut conn, city).await?;
    let association = org_at(&mut conn, city, OrgKind::Association).await?;
    let entry = on_duty(&mut conn, city).await?;
    let president = match &entry {
        Some(e) => users::table
            .find(e.user_id)
            .select((users::id, users::username, users::display_name))
            .first::<PresidentOut>(&mut conn)
            .await
            .optional()?,
        None => None,
    };
    let unassigned: i64 = needs::table
        .filter(needs::city_id.eq(city))
        .filter(needs::level.eq("city"))
        .filter(needs::state.ne_all(vec!["closed", "withdrawn"]))
        .filter(needs::assignee_user_id.is_null())
        .count()
        .get_result(&mut conn)
        .await?;
    Ok(ok(&CurrentOut {
        association_id: association,
        gap: entry.is_none(),
        entry,
        president,
        unassigned_city_needs: unassigned,
    }))
}
