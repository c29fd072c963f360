//! Users: listed and read within scope, created, disabled, re-enabled and reset by admins.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::organizations::{self, OrgRow};
use crate::auth::password;
/// A user as the API shows it: the stored row, without the password hash.
pub use crate::db::models::users::UserRow as UserOut;
use crate::db::models::users::{NewUser, UserChanges};
use crate::db::queries::tokens;
use crate::db::queries::users::{self as q, UserFilter};
use crate::domain::caller::Caller;
use crate::domain::roles::{OrgKind, Role};
use crate::error::{Error, FieldError, Result};
use crate::service::filters::word;
use crate::service::page::{list_query, Page, Paged};

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

list_query! {
    /// Filters of `GET /users`.
    pub struct UserQuery {
        /// Only this organisation.
        pub organization_id: Option<Uuid>,
        /// Only this role.
        pub role: Option<String>,
    }
}

/// The users in the caller's scope, filtered, keyset-paginated.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: UserQuery,
) -> Result<Paged<UserOut>> {
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let filter = UserFilter {
        organization_id: query.organization_id,
        role: word("role", query.role, Role::parse, Role::words())?,
    };
    let rows = q::list(conn, caller, filter, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |r| r.id)))
}

/// One user in the caller's scope, or 404.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<UserOut> {
    Ok(q::in_scope(conn, caller, id).await?)
}

/// The organisation a new user joins, named by `organization_id` (a deployment admin alone
/// may have none), or a 422 for the field.
async fn organization_for(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    given: Option<Uuid>,
    role: Option<Role>,
    errors: &mut Vec<FieldError>,
) -> Result<Option<OrgRow>> {
    let Some(o) = given else {
        if !(role == Some(Role::Admin) && caller.is_deployment_admin()) {
            errors.push(FieldError::new("organization_id", "is required"));
        }
        return Ok(None);
    };
    match organizations::load_in_scope(conn, caller, o).await {
        Ok(org) => Ok(Some(org)),
        Err(Error::NotFound) => {
            errors.push(FieldError::new(
                "organization_id",
                "no such organisation in your scope",
            ));
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A login name, trimmed: 3–64 letters, digits, `_ . @ -` (else an error on `username`).
pub fn username(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let username = raw.trim().to_string();
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
    username
}

/// `POST /users`: an admin creates a user in its city (the deployment admin anywhere).
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: UserIn,
) -> Result<UserOut> {
    caller.require(&[Role::Admin])?;
    let mut errors = Vec::new();
    let username = username(&input.username, &mut errors);
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
    if role == Some(Role::Helper) {
        errors.push(FieldError::new(
            "role",
            "a helper's account is made from its helper record: POST /helpers/{id}/account",
        ));
    }
    if let Some(p) = password::policy_problem(&input.password) {
        errors.push(FieldError::new("password", p));
    }
    let org = organization_for(conn, caller, input.organization_id, role, &mut errors).await?;
    if let (Some(role), Some(org)) = (role, org.as_ref()) {
        let kind = OrgKind::parse(&org.kind);
        if !kind.is_some_and(|k| role.allowed_org_kinds().contains(&k)) {
            errors.push(FieldError::new(
                "role",
                format!("a {} cannot belong to a {} organisation", role, org.kind),
            ));
        }
    }
    Error::check(errors)?;
    let role = role.ok_or_else(|| Error::internal("role checked"))?;
    let hash = password::hash(input.password).await?;
    let row = NewUser {
        id: Uuid::now_v7(),
        username: &username,
        display_name: &display_name,
        role: role.as_str(),
        organization_id: org.as_ref().map(|o| o.id),
        city_id: org.as_ref().map(|o| o.city_id),
        password_hash: &hash,
    };
    Ok(q::insert(conn, &row).await?)
}

/// `PATCH /users/{id}`: an admin disables, re-enables or resets a user, in one UPDATE; disabling
/// and a new password end every session of the user.
pub async fn patch(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: UserPatch,
) -> Result<UserOut> {
    let target = q::in_scope(conn, caller, id).await?;
    caller.require(&[Role::Admin])?;
    // the deployment admins are invisible to a city's admins
    if target.organization_id.is_none() && !caller.is_deployment_admin() {
        return Err(Error::NotFound);
    }
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
    Error::check(errors)?;
    let password_hash = match input.password {
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    let ends_sessions = input.active == Some(false) || password_hash.is_some();
    let changes = UserChanges {
        active: input.active,
        display_name: input.display_name.map(|d| d.trim().to_string()),
        password_changed_at: password_hash.as_ref().map(|_| Utc::now()),
        password_hash,
    };
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            let row = q::update(conn, id, &changes).await?;
            if ends_sessions {
                tokens::revoke_user(conn, id).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(row)
}
