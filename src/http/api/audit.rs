//! The audit log of reveals and exports of personal data.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ok, Paged};
use crate::auth::{Caller, Scope};
use crate::db::schema::{audit_log, persons};
use crate::domain::roles::Role;
use crate::http::error::AppResult;
use crate::http::extract::{Page, Query};
use crate::http::AppState;

/// One audit-log row.
#[derive(Debug, Queryable, Selectable, Serialize, ToSchema)]
#[diesel(table_name = audit_log)]
pub struct AuditOut {
    /// Id.
    pub id: Uuid,
    /// When.
    pub at: DateTime<Utc>,
    /// Who (user id).
    pub actor_user_id: Option<Uuid>,
    /// Who (username).
    pub actor: String,
    /// `reveal` or `export`.
    pub action: String,
    /// The person concerned.
    pub person_id: Option<Uuid>,
    /// Which fields were shown.
    pub fields: Vec<String>,
}

/// Filters of `GET /audit-log`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only rows about this person.
    pub person_id: Option<Uuid>,
    /// Only this action.
    pub action: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/audit-log`: reveals and exports in scope (admins and auditors).
#[utoipa::path(get, path = "/api/v1/audit-log", tag = "audit", params(AuditQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<AuditOut>), (status = 403, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<AuditQuery>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = audit_log::table
        .select(AuditOut::as_select())
        .order(audit_log::id)
        .limit(page.limit + 1)
        .into_boxed();
    query = match caller.scope {
        Scope::All => query,
        // rows written by the city's users, and rows about the city's persons whoever wrote
        // them (a deployment admin's reveal of a resident is the city's business too)
        Scope::City(c) => query.filter(
            audit_log::city_id.eq(c).or(audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::city_id.eq(c))
                    .select(persons::id.nullable()),
            )),
        ),
        Scope::Town(t) => query.filter(
            audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::town_id.eq(t))
                    .select(persons::id.nullable()),
            ),
        ),
        Scope::Village(v) => query.filter(
            audit_log::person_id.eq_any(
                persons::table
                    .filter(persons::village_id.eq(v))
                    .select(persons::id.nullable()),
            ),
        ),
    };
    if let Some(p) = q.person_id {
        query = query.filter(audit_log::person_id.eq(p));
    }
    if let Some(a) = q.action {
        query = query.filter(audit_log::action.eq(a));
    }
    if let Some(after) = page.after {
        query = query.filter(audit_log::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<AuditOut> = query.load(&mut conn).await?;
    let (items, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged { items, next_cursor }))
}
