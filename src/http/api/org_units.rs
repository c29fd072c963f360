//! The org tree (1+16+N): city → town (街道/镇) → village (社区/村).

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{created, ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{city_settings, org_units, organizations};
use crate::domain::roles::{OrgKind, Role, UnitKind};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Json, Page, Query};
use crate::http::AppState;

/// An org unit row.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = org_units)]
pub struct UnitOut {
    /// Id.
    pub id: Uuid,
    /// `city`, `town` or `village`.
    pub kind: String,
    /// Name (e.g. 钢山街道).
    pub name: String,
    /// 12-digit statistical division code.
    pub code: String,
    /// The parent unit (null for a city).
    pub parent_id: Option<Uuid>,
    /// The city (the tenant key).
    pub city_id: Uuid,
    /// The town (itself for a town, its parent for a village, null for a city).
    pub town_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

impl UnitOut {
    /// The unit's kind.
    pub fn unit_kind(&self) -> AppResult<UnitKind> {
        UnitKind::parse(&self.kind).ok_or_else(|| AppError::internal("bad unit kind"))
    }
}

/// `POST /org-units` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitIn {
    /// `city`, `town` or `village`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// 12-digit code: a city `dddddd000000`, a town shares the city's first 6 digits and ends in `000`,
    /// a village shares the town's first 9 digits.
    pub code: String,
    /// The parent (required for towns and villages; omitted for a city).
    pub parent_id: Option<Uuid>,
}

/// Filters of `GET /org-units`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UnitQuery {
    /// Only units of this kind.
    pub kind: Option<String>,
    /// Only children of this unit.
    pub parent_id: Option<Uuid>,
    /// Exact code.
    pub code: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// One unit in the caller's scope, or 404.
pub async fn load_in_scope(
    conn: &mut AsyncPgConnection,
    scope: Scope,
    id: Uuid,
) -> AppResult<UnitOut> {
    Ok(crate::db::queries::scope::org_units(scope)
        .filter(org_units::id.eq(id))
        .select(UnitOut::as_select())
        .first(conn)
        .await?)
}

/// `GET /api/v1/org-units`: the units in scope.
#[utoipa::path(get, path = "/api/v1/org-units", tag = "org", params(UnitQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<UnitOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<UnitQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::org_units(caller.scope)
        .select(UnitOut::as_select())
        .order(org_units::id)
        .limit(page.limit + 1);
    if let Some(k) = q.kind {
        let k = UnitKind::parse(&k).ok_or_else(|| {
            AppError::field("kind", format!("must be one of {}", UnitKind::words()))
        })?;
        query = query.filter(org_units::kind.eq(k.as_str()));
    }
    if let Some(p) = q.parent_id {
        query = query.filter(org_units::parent_id.eq(p));
    }
    if let Some(c) = q.code {
        query = query.filter(org_units::code.eq(c));
    }
    if let Some(after) = page.after {
        query = query.filter(org_units::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<UnitOut> = query.load(&mut conn).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/org-units/{id}`: one unit in scope.
#[utoipa::path(get, path = "/api/v1/org-units/{id}", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UnitOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&load_in_scope(&mut conn, caller.scope, id).await?))
}

/// The only rule on a code is the spec's: 12 digits (unique, by the database). The statistical
/// convention (a town extends its city's first 6 digits, a village its town's 9) is not enforced,
/// so that units whose codes were assigned otherwise can still be registered.
fn code_errors(_kind: UnitKind, code: &str, _parent: Option<&UnitOut>) -> Option<String> {
    if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Some("must be 12 digits".into());
    }
    None
}

/// Creates a unit with the organisations it always has, in one transaction.
pub async fn insert_unit(
    conn: &mut AsyncPgConnection,
    kind: UnitKind,
    name: &str,
    code: &str,
    parent: Option<&UnitOut>,
) -> AppResult<UnitOut> {
    let id = Uuid::now_v7();
    let (city_id, town_id) = match (kind, parent) {
        (UnitKind::City, _) => (id, None),
        (UnitKind::Town, Some(p)) => (p.city_id, Some(id)),
        (UnitKind::Village, Some(p)) => (p.city_id, Some(p.id)),
        _ => return Err(AppError::field("parent_id", "is required")),
    };
    let name = name.to_string();
    let code = code.to_string();
    let parent_id = parent.map(|p| p.id);
    conn.transaction::<_, AppError, _>(async move |conn| {
        let unit: UnitOut = diesel::insert_into(org_units::table)
            .values((
                org_units::id.eq(id),
                org_units::kind.eq(kind.as_str()),
                org_units::name.eq(&name),
                org_units::code.eq(&code),
                org_units::parent_id.eq(parent_id),
                org_units::city_id.eq(city_id),
                org_units::town_id.eq(town_id),
            ))
            .returning(UnitOut::as_returning())
            .get_result(conn)
            .await?;
        let orgs: Vec<(OrgKind, String)> = match kind {
            UnitKind::City => {
                diesel::insert_into(city_settings::table)
                    .values(city_settings::city_id.eq(id))
                    .execute(conn)
                    .await?;
                vec![
                    (OrgKind::Association, format!("{name}助残志愿者协会")),
                    (OrgKind::Dpf, format!("{name}残疾人联合会")),
                ]
            }
            UnitKind::Town => vec![(OrgKind::TownCentre, format!("{name}助残志愿者服务中心"))],
            UnitKind::Village => vec![
                (OrgKind::VillageStation, format!("{name}助残志愿者服务站")),
                (OrgKind::VillageDpf, format!("{name}残疾人协会")),
            ],
        };
        for (k, n) in orgs {
            diesel::insert_into(organizations::table)
                .values((
                    organizations::id.eq(Uuid::now_v7()),
                    organizations::kind.eq(k.as_str()),
                    organizations::name.eq(n),
                    organizations::org_unit_id.eq(id),
                    organizations::city_id.eq(city_id),
                ))
                .execute(conn)
                .await?;
        }
        Ok(unit)
    })
    .await
}

/// `POST /api/v1/org-units`: a city (deployment admin), a town or a village (admins of the city);
/// the unit's own organisations come with it.
#[utoipa::path(post, path = "/api/v1/org-units", tag = "org", request_body = UnitIn, security(("bearer" = [])), responses(
    (status = 201, body = UnitOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "code taken", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<UnitIn>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let mut errors = Vec::new();
    let kind = UnitKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", UnitKind::words()),
        ));
    }
    if kind == Some(UnitKind::City) && !caller.is_deployment_admin() {
        return Err(AppError::Forbidden(
            "only the deployment admin creates cities",
        ));
    }
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    let mut conn = state.conn().await?;
    let parent = match (kind, input.parent_id) {
        (Some(UnitKind::City), Some(_)) => {
            errors.push(FieldError::new("parent_id", "a city has no parent"));
            None
        }
        (Some(UnitKind::City), None) | (None, _) => None,
        (Some(_), None) => {
            errors.push(FieldError::new("parent_id", "is required"));
            None
        }
        (Some(k), Some(p)) => match load_in_scope(&mut conn, caller.scope, p).await {
            Ok(parent) if parent.unit_kind()?.child() == Some(k) => Some(parent),
            Ok(parent) => {
                errors.push(FieldError::new(
                    "parent_id",
                    format!("a {k} cannot sit under a {}", parent.kind),
                ));
                None
            }
            Err(AppError::NotFound) => {
                errors.push(FieldError::new("parent_id", "no such unit in your scope"));
                None
            }
            Err(e) => return Err(e),
        },
    };
    if let Some(k) = kind {
        if let Some(problem) = code_errors(k, input.code.trim(), parent.as_ref()) {
            errors.push(FieldError::new("code", problem));
        }
    }
    AppError::check(errors)?;
    let kind = kind.ok_or_else(|| AppError::internal("kind checked"))?;
    let unit = insert_unit(&mut conn, kind, &name, input.code.trim(), parent.as_ref()).await?;
    Ok(created(&unit))
}
