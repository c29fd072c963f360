//! Users: listed within scope, created and disabled by admins.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::{ok, Paged};
use crate::auth::{password, Caller};
use crate::db::schema::users;
use crate::domain::roles::Role;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{path_id, Json, Page, Query};
use crate::http::AppState;
use crate::service::organizations::{load_in_scope as load_org_in_scope, OrgRow};

/// A user row (the hash never leaves this module's callers).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role word.
    pub role: String,
    /// Organisation.
    pub organization_id: Option<Uuid>,
    /// City.
    pub city_id: Option<Uuid>,
    /// argon2 hash.
    pub password_hash: String,
    /// Whether the user may sign in.
    pub active: bool,
    /// Created.
    pub created_at: DateTime<Utc>,
}

/// A user as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    /// Id.
    pub id: Uuid,
    /// Login name.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Organisation (null for the deployment admin).
    pub organization_id: Option<Uuid>,
    /// City (null for the deployment admin).
    pub city_id: Option<Uuid>,
    /// Whether the user may sign in.
    pub active: bool,
    /// When created.
    pub created_at: DateTime<Utc>,
}

impl From<UserRow> for UserOut {
    fn from(r: UserRow) -> Self {
        UserOut {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
            role: r.role,
            organization_id: r.organization_id,
            city_id: r.city_id,
            active: r.active,
            created_at: r.created_at,
        }
    }
}

/// `POST /users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserIn {
    /// Login name: 3–64 of letters, digits, `_ . @ -`.
    pub username: String,
    /// Name shown to others.
    pub display_name: String,
    /// Role.
    pub role: String,
    /// Organisation (omit only for a deployment admin).
    pub organization_id: Option<Uuid>,
    /// Initial password (8–128 characters).
    pub password: String,
}

/// `PATCH /users/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// Disable (false) or re-enable (true); disabling ends every session at once.
    pub active: Option<bool>,
    /// New display name.
    pub display_name: Option<String>,
    /// A new password set by the admin; ends every session.
    pub password: Option<String>,
}

/// Filters of `GET /users`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UserQuery {
    /// Only this organisation.
    pub organization_id: Option<Uuid>,
    /// Only this role.
    pub role: Option<String>,
    /// Page size (1–200, default 50).
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

/// `GET /api/v1/users`: users in scope.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", params(UserQuery), security(("bearer" = [])), responses(
    (status = 200, body = Paged<UserOut>), (status = 401, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn list(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<UserQuery>,
) -> AppResult<HttpResponse> {
    let q = q.0;
    let page = Page::new(q.limit, q.cursor.as_deref())?;
    let mut query = crate::db::queries::scope::users(&caller)
        .select(UserRow::as_select())
        .order(users::id)
        .limit(page.limit + 1);
    if let Some(o) = q.organization_id {
        query = query.filter(users::organization_id.eq(o));
    }
    if let Some(r) = q.role {
        let r = Role::parse(&r)
            .ok_or_else(|| AppError::field("role", format!("must be one of {}", Role::words())))?;
        query = query.filter(users::role.eq(r.as_str()));
    }
    if let Some(after) = page.after {
        query = query.filter(users::id.gt(after));
    }
    let mut conn = state.conn().await?;
    let rows: Vec<UserRow> = query.load(&mut conn).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(ok(&Paged {
        items: rows.into_iter().map(UserOut::from).collect::<Vec<_>>(),
        next_cursor,
    }))
}

/// `GET /api/v1/users/{id}`: one user in scope.
#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 404, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let row: UserRow = crate::db::queries::scope::users(&caller)
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(&mut conn)
        .await?;
    Ok(ok(&UserOut::from(row)))
}

/// `POST /api/v1/users`: an admin creates a user in its city (the deployment admin anywhere).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = UserIn, security(("bearer" = [])), responses(
    (status = 201, body = UserOut), (status = 403, body = crate::http::error::Problem),
    (status = 409, description = "username taken", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn create(
    caller: Caller,
    state: web::Data<AppState>,
    body: Json<UserIn>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let input = body.0;
    let mut errors = Vec::new();
    let username = input.username.trim().to_string();
    if !(3..=64).contains(&username.len())
        || !username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.@-".contains(c))
    {
        errors.push(FieldError::new(
            "username",
            "3–64 characters of letters, digits, _ . @ -",
        ));
    }
    let display_name = input.display_name.trim().to_string();
    if display_name.is_empty() || display_name.chars().count() > 100 {
        errors.push(FieldError::new(
            "display_name",
            "is required (at most 100 characters)",
        ));
    }
    let role = Role::parse(&input.role);
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            format!("must be one of {}", Role::words()),
        ));
    }
    if let Some(p) = password::policy_problem(&input.password) {
        errors.push(FieldError::new("password", p));
    }
    let mut conn = state.conn().await?;
    let org: Option<OrgRow> = match input.organization_id {
        Some(o) => match load_org_in_scope(&mut conn, &caller, o).await {
            Ok(org) => Some(org),
            Err(AppError::NotFound) => {
                errors.push(FieldError::new(
                    "organization_id",
                    "no such organisation in your scope",
                ));
                None
            }
            Err(e) => return Err(e),
        },
        None => {
            if !(role == Some(Role::Admin) && caller.is_deployment_admin()) {
                errors.push(FieldError::new("organization_id", "is required"));
            }
            None
        }
    };
    if let (Some(role), Some(org)) = (role, org.as_ref()) {
        let kind = crate::domain::roles::OrgKind::parse(&org.kind);
        if !kind.is_some_and(|k| role.allowed_org_kinds().contains(&k)) {
            errors.push(FieldError::new(
                "role",
                format!("a {} cannot belong to a {} organisation", role, org.kind),
            ));
        }
    }
    AppError::check(errors)?;
    let role = role.ok_or_else(|| AppError::internal("role checked"))?;
    let hash = password::hash(input.password).await?;
    let row: UserRow = diesel::insert_into(users::table)
        .values((
            users::id.eq(Uuid::now_v7()),
            users::username.eq(&username),
            users::display_name.eq(&display_name),
            users::role.eq(role.as_str()),
            users::organization_id.eq(org.as_ref().map(|o| o.id)),
            users::city_id.eq(org.as_ref().map(|o| o.city_id)),
            users::password_hash.eq(hash),
        ))
        .returning(UserRow::as_returning())
        .get_result(&mut conn)
        .await?;
    Ok(HttpResponse::Created().json(UserOut::from(row)))
}

/// `PATCH /api/v1/users/{id}`: an admin disables, re-enables or resets a user.
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "users", params(("id" = Uuid, Path)), request_body = UserPatch, security(("bearer" = [])), responses(
    (status = 200, body = UserOut), (status = 403, body = crate::http::error::Problem), (status = 404, body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn patch(
    _req: HttpRequest,
    caller: Caller,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<UserPatch>,
) -> AppResult<HttpResponse> {
    let id = path_id(&id)?;
    let mut conn = state.conn().await?;
    let target: UserRow = crate::db::queries::scope::users(&caller)
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(&mut conn)
        .await?;
    caller.require(&[Role::Admin])?;
    if target.organization_id.is_none() && !caller.is_deployment_admin() {
        return Err(AppError::NotFound);
    }
    let input = body.0;
    let mut errors = Vec::new();
    if let Some(d) = &input.display_name {
        if d.trim().is_empty() || d.chars().count() > 100 {
            errors.push(FieldError::new("display_name", "1–100 characters"));
        }
    }
    if let Some(p) = input.password.as_deref().and_then(password::policy_problem) {
        errors.push(FieldError::new("password", p));
    }
    if input.active == Some(false) && target.id == caller.user_id {
        errors.push(FieldError::new("active", "you cannot disable yourself"));
    }
    AppError::check(errors)?;
    let hash = match input.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            if let Some(active) = input.active {
                diesel::update(users::table.find(id))
                    .set(users::active.eq(active))
                    .execute(conn)
                    .await?;
            }
            if let Some(d) = input.display_name {
                diesel::update(users::table.find(id))
                    .set(users::display_name.eq(d.trim()))
                    .execute(conn)
                    .await?;
            }
            if let Some(h) = &hash {
                diesel::update(users::table.find(id))
                    .set((
                        users::password_hash.eq(h),
                        users::password_changed_at.eq(Utc::now()),
                    ))
                    .execute(conn)
                    .await?;
            }
            if input.active == Some(false) || hash.is_some() {
                super::auth::revoke_user_tokens(conn, id).await?;
            }
            let row: UserRow = users::table
                .find(id)
                .select(UserRow::as_select())
                .first(conn)
                .await?;
            Ok(row)
        })
        .await?;
    Ok(ok(&UserOut::from(row)))
}
