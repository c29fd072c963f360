//! Organisations acting inside units: association, branches, 残联, town centres,
//! departments, village stations, 村残协 and extension sites.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::org_units::load_in_scope;
use super::{created, ok, Paged};
use crate::auth::Caller;
use crate::db::schema::organizations;
use crate::domain::roles::{DepartmentType, OrgKind, Role, SiteType, UnitKind};
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Json, Page, Query};
use crate::http::AppState;

/// An organisation.
#[derive(Debug, Clone, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = organizations)]
pub struct OrgRow {
    /// Id.
    pub id: Uuid,
    /// Kind.
    pub kind: String,
    /// Name.
    pub name: String,
    /// The unit it acts in.
    pub org_unit_id: Uuid,
    /// The city.
    pub city_id: Uuid,
    /// For departments: the remit.
    pub department_type: Option<String>,
    /// For extension sites: what it is.
    pub site_type: Option<String>,
    /// For branches: the association.
    pub parent_organization_id: Option<Uuid>,
    /// When created.
    pub created_at: DateTime<Utc>,
}

/// `POST /organizations` body: departments, association branches and extension sites.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    /// `department`, `association_branch` or `extension_site` (the others come with their unit).
    pub kind: String,
    /// Name.
    pub name: String,
    /// The unit: a town for a department, the city for a branch, any unit for a site.
    pub org_unit_id: Uuid,
    /// Required for departments.
    pub department_type: Option<String>,
    /// Required for extension sites.
    pub site_type: Option<String>,
    /// For a branch: its association (defaults to the city's).
    pub parent_organization_id: Option<Uuid>,
}

/// Filters of `GET /organizations`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct OrgQuery {
    /// Only this kind.
    pub kind: Option<String>,
    /// Only organisations of this unit.
    pub org_unit_id: Option<Uuid>,
    /// Only departments of this remit.
    pub department_type: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// One organisation in the caller's scope, or 404.
pub async fn load_org_in_scope(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> AppResult<OrgRow> {
    Ok(crate::db::queries::scope::organizations(caller.scope)
        .filter(organizations::id.eq(id))
        .select(OrgRow::as_select())
        .first(conn)
        .await?)
}

/// The organisation of a kind at a unit (town centre, station, 村残协, association, 残联).
pub async fn singleton(
    conn: &mut AsyncPgConnection,
    unit: Uuid,
    kind: OrgKind,
) -> AppResult<OrgRow> {
    Ok(organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind.as_str()))
        .select(OrgRow::as_select())
        .first(conn)
        .await?)
}

/// `GET /api/v1/organizations`: organisations in scope.
#[utoipa::path(get, path = "/api/v1/organizations", tag = "org", params(OrgQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<OrgRow>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<OrgQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::organizations(caller.scope)
        .select(OrgRow::as_select())
        .order(organizations::id)
        .limit(page.limit + 1);
    if let Some(k) = q.kind {
        let k = OrgKind::parse(&k).ok_or_else(|| {
            AppError::field("kind", format!("must be one of {}", OrgKind::words()))
        })?;
        query = query.filter(organizations::kind.eq(k.as_str()));
    }
    if let Some(d) = q.department_type {
        let d = DepartmentType::parse(&d).ok_or_else(|| {
            AppError::field(
                "department_type",
                format!("must be one of {}", DepartmentType::words()),
            )
        })?;
        query = query.filter(organizations::department_type.eq(d.as_str()));
    }
    if let Some(u) = q.org_unit_id {
        query = query.filter(organizations::org_unit_id.eq(u));
    }
    if let Some(after) = page.after {
        query = query.filter(organizations::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<OrgRow> = query.load(&mut conn).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}

/// `GET /api/v1/organizations/{id}`: one organisation in scope.
#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = OrgRow), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    Ok(ok(&load_org_in_scope(&mut conn, &caller, id).await?))
}

/// `POST /api/v1/organizations`: an admin adds a department, a branch or an extension site.
#[utoipa::path(post, path = "/api/v1/organizations", tag = "org", request_body = OrgIn, security(("bearer" = [])), responses(
    (status = 201, body = OrgRow), (status = 403, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<OrgIn>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let mut errors = Vec::new();
    let kind = OrgKind::parse(&input.kind);
    match kind {
        None => errors.push(FieldError::new(
            "kind",
            format!("must be one of {}", OrgKind::words()),
        )),
        Some(k) if k.is_singleton() => errors.push(FieldError::new(
            "kind",
            "created with its unit; use department, association_branch or extension_site",
        )),
        _ => {}
    }
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        errors.push(FieldError::new(
            "name",
            "is required (at most 200 characters)",
        ));
    }
    let mut conn = state.conn().await?;
    let unit = match load_in_scope(&mut conn, caller.scope, input.org_unit_id).await {
        Ok(u) => Some(u),
        Err(AppError::NotFound) => {
            errors.push(FieldError::new("org_unit_id", "no such unit in your scope"));
            None
        }
        Err(e) => return Err(e),
    };
    let dept = input
        .department_type
        .as_deref()
        .map(|d| (d, DepartmentType::parse(d)));
    let site = input.site_type.as_deref().map(|s| (s, SiteType::parse(s)));
    let mut parent = input.parent_organization_id;
    if let (Some(k), Some(u)) = (kind, unit.as_ref()) {
        let ukind = u.unit_kind()?;
        match k {
            OrgKind::Department => {
                if ukind != UnitKind::Town {
                    errors.push(FieldError::new(
                        "org_unit_id",
                        "a department sits at a town",
                    ));
                }
                match dept {
                    Some((_, Some(_))) => {}
                    _ => errors.push(FieldError::new(
                        "department_type",
                        format!("is required: one of {}", DepartmentType::words()),
                    )),
                }
            }
            OrgKind::ExtensionSite => match site {
                Some((_, Some(_))) => {}
                _ => errors.push(FieldError::new(
                    "site_type",
                    format!("is required: one of {}", SiteType::words()),
                )),
            },
            OrgKind::AssociationBranch => {
                if ukind != UnitKind::City {
                    errors.push(FieldError::new("org_unit_id", "a branch sits at the city"));
                } else {
                    let assoc = singleton(&mut conn, u.id, OrgKind::Association).await?;
                    match parent {
                        None => parent = Some(assoc.id),
                        Some(p) if p == assoc.id => {}
                        Some(_) => errors.push(FieldError::new(
                            "parent_organization_id",
                            "must be the city's association",
                        )),
                    }
                }
            }
            _ => {}
        }
        if k != OrgKind::Department && dept.is_some() {
            errors.push(FieldError::new(
                "department_type",
                "only departments have one",
            ));
        }
        if k != OrgKind::ExtensionSite && site.is_some() {
            errors.push(FieldError::new(
                "site_type",
                "only extension sites have one",
            ));
        }
        if k != OrgKind::AssociationBranch && input.parent_organization_id.is_some() {
            errors.push(FieldError::new(
                "parent_organization_id",
                "only branches have a parent organisation",
            ));
        }
    }
    AppError::check(errors)?;
    let (kind, unit) = match (kind, unit) {
        (Some(k), Some(u)) => (k, u),
        _ => return Err(AppError::internal("checked above")),
    };
    let row: OrgRow = diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(Uuid::now_v7()),
            organizations::kind.eq(kind.as_str()),
            organizations::name.eq(&name),
            organizations::org_unit_id.eq(unit.id),
            organizations::city_id.eq(unit.city_id),
            organizations::department_type.eq(dept.and_then(|d| d.1).map(|d| d.as_str())),
            organizations::site_type.eq(site.and_then(|s| s.1).map(|s| s.as_str())),
            organizations::parent_organization_id.eq(parent),
        ))
        .returning(OrgRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(created(&row))
}

/// What an organisation has handled: the needs routed to it, held by it, or assigned to it (sites).
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordOut {
    /// The organisation.
    pub organization_id: Uuid,
    /// Every need it has ever had, by state now.
    pub by_state: std::collections::BTreeMap<String, i64>,
    /// All of them.
    pub total: i64,
    /// Still open (not resolved, closed or withdrawn).
    pub open: i64,
    /// Resolved or closed.
    pub handled: i64,
}

/// `GET /api/v1/organizations/{id}/record`: the needs an organisation handled (an extension site's record).
#[utoipa::path(get, path = "/api/v1/organizations/{id}/record", tag = "org", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = RecordOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn record(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    use crate::db::schema::{need_access, needs};
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    if caller.is_narrow() {
        if caller.organization_id != Some(id) {
            return Err(AppError::NotFound);
        }
    } else {
        load_org_in_scope(&mut conn, &caller, id).await?;
    }
    let rows: Vec<(String, i64)> = needs::table
        .filter(
            needs::handler_organization_id
                .eq(id)
                .or(needs::assigned_site_id.eq(id))
                .or(needs::id.eq_any(
                    need_access::table
                        .filter(need_access::organization_id.eq(id))
                        .select(need_access::need_id),
                )),
        )
        .group_by(needs::state)
        .select((needs::state, diesel::dsl::count_star()))
        .load(&mut conn)
        .await?;
    let by_state: std::collections::BTreeMap<String, i64> = rows.into_iter().collect();
    let total = by_state.values().sum();
    let handled = by_state.get("resolved").copied().unwrap_or(0)
        + by_state.get("closed").copied().unwrap_or(0);
    let open = total - handled - by_state.get("withdrawn").copied().unwrap_or(0);
    Ok(ok(&RecordOut {
        organization_id: id,
        by_state,
        total,
        open,
        handled,
    }))
}
