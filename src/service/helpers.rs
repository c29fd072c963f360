//! Helpers (包保人): the people of a town who make up 三帮一 contact groups.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields;
use super::needs;
use super::persons::CARE_ROLES;
use super::users::{self, UserOut};
use crate::auth::password;
use crate::auth::{Caller, Scope};
use crate::db::models::helpers::{HelperChanges, HelperRow};
use crate::db::models::users::NewUser;
use crate::db::queries::helpers::{self as q, HelperFilter};
use crate::db::queries::users as user_queries;
use crate::domain::roles::{HelperKind, OrgKind, Role};
use crate::domain::text::phone_ok;
use crate::error::{Error, FieldError, Result};
use crate::service::page::list_query;

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

list_query! {
    /// Filters of `GET /helpers`.
    pub struct HelperQuery {
        /// Only helpers of this village.
        pub village_id: Option<Uuid>,
        /// Only this kind.
        pub kind: Option<String>,
        /// Only active (true) or inactive (false).
        pub active: Option<bool>,
        /// Only members of this team.
        pub volunteer_team_id: Option<Uuid>,
    }
}

/// The 422 of an unknown kind word.
fn kind_error() -> FieldError {
    FieldError::new("kind", format!("must be one of {}", HelperKind::words()))
}

/// Whether the caller may change a helper of this village (its own scope, not just its town).
fn writable(caller: &Caller, h: &HelperRow) -> bool {
    match caller.scope {
        Scope::Village(v) => h.village_id == v,
        _ => true,
    }
}

/// Helpers in scope, `fetch` rows after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: HelperQuery,
    fetch: i64,
    after: Option<Uuid>,
) -> Result<Vec<HelperOut>> {
    let kind = match query.kind {
        None => None,
        Some(k) => Some(HelperKind::parse(&k).ok_or_else(|| {
            let e = kind_error();
            Error::field(e.field, e.message)
        })?),
    };
    let filter = HelperFilter {
        village_id: query.village_id,
        kind: kind.map(HelperKind::as_str),
        active: query.active,
        volunteer_team_id: query.volunteer_team_id,
        after,
        limit: fetch,
    };
    let rows = q::list(conn, caller, filter).await?;
    Ok(rows.into_iter().map(HelperOut::from).collect())
}

/// One helper in scope.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<HelperOut> {
    Ok(q::in_scope(conn, caller, id).await?.into())
}

/// A team of the city, or a 422 on `volunteer_team_id`.
async fn check_team(
    conn: &mut AsyncPgConnection,
    team: Uuid,
    city: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<()> {
    if !q::team_in_city(conn, team, city).await? {
        errors.push(FieldError::new(
            "volunteer_team_id",
            "no such team in this city",
        ));
    }
    Ok(())
}

/// Adds a helper to a village of the caller's scope; `body` is read after the role check.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    body: impl FnOnce() -> Result<HelperIn>,
) -> Result<HelperOut> {
    caller.require(CARE_ROLES)?;
    let input = body()?;
    let mut errors = Vec::new();
    let name = fields::name(&input.name, &mut errors);
    let kind = HelperKind::parse(&input.kind);
    if kind.is_none() {
        errors.push(kind_error());
    }
    let phone = fields::phone("phone", input.phone, &mut errors);
    let village = fields::village(conn, caller, input.village_id, &mut errors).await?;
    if let (Some(t), Some(v)) = (input.volunteer_team_id, village.as_ref()) {
        check_team(conn, t, v.city_id, &mut errors).await?;
    }
    if let (Some(u), Some(v)) = (input.user_id, village.as_ref()) {
        if !q::user_in_city(conn, u, v.city_id).await? {
            errors.push(FieldError::new("user_id", "no such user in this city"));
        } else if q::user_bound(conn, u).await? {
            // one helper per account (a unique index holds it against a race: 409)
            errors.push(FieldError::new(
                "user_id",
                "already another helper's account",
            ));
        }
    }
    Error::check(errors)?;
    let (Some(kind), Some(village)) = (kind, village) else {
        return Err(fields::validated());
    };
    let new = HelperRow {
        id: Uuid::now_v7(),
        city_id: village.city_id,
        town_id: village.town_id,
        village_id: village.id,
        name,
        phone,
        kind: kind.as_str().to_owned(),
        volunteer_team_id: input.volunteer_team_id,
        user_id: input.user_id,
        active: input.active.unwrap_or(true),
        created_at: Utc::now(),
    };
    Ok(q::insert(conn, &new).await?.into())
}

/// Edits a helper in one UPDATE; deactivation takes them out of every contact group (which then
/// shows as incomplete). `body` is read after the 404 and 403.
pub async fn patch(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    body: impl FnOnce() -> Result<HelperPatch>,
) -> Result<HelperOut> {
    let current = q::in_scope(conn, caller, id).await?;
    caller.require(CARE_ROLES)?;
    if !writable(caller, &current) {
        return Err(Error::Forbidden("this helper belongs to another village"));
    }
    let input = body()?;
    let mut errors = Vec::new();
    // the raw length counts, as it always has for an edit (a create trims first)
    if input
        .name
        .as_deref()
        .is_some_and(|n| n.trim().is_empty() || n.chars().count() > 100)
    {
        errors.push(FieldError::new("name", "1–100 characters"));
    }
    let kind = input.kind.as_deref().map(HelperKind::parse);
    if kind == Some(None) {
        errors.push(kind_error());
    }
    if input.phone.as_deref().is_some_and(|p| !phone_ok(p.trim())) {
        errors.push(fields::phone_error("phone"));
    }
    if let Some(t) = input.volunteer_team_id {
        check_team(conn, t, current.city_id, &mut errors).await?;
    }
    Error::check(errors)?;
    let changes = HelperChanges {
        name: input.name.map(|n| n.trim().to_string()),
        phone: input.phone.map(|p| p.trim().to_string()),
        kind: kind.flatten().map(HelperKind::as_str),
        volunteer_team_id: input.volunteer_team_id,
        active: input.active,
    };
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            let row = q::update(conn, id, &changes).await?;
            if changes.active == Some(false) {
                q::leave_groups(conn, id).await?;
            }
            Ok(row)
        })
        .await?;
    Ok(row.into())
}

/// `POST /helpers/{id}/account` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelperAccountIn {
    /// Login name: 3–64 of letters, digits, `_ . @ -`.
    pub username: String,
    /// Initial password (8–128 characters).
    pub password: String,
}

/// Creates a helper's sign-in account from its record (SPEC §6, "Helpers who sign in"): a user of
/// role `helper` at the station of the helper's village, named as the helper, bound through
/// `helpers.user_id`, in one transaction. Town staff and admins do it; `body` is read after the
/// 404 and 403. A helper that has an account, or is inactive, is 409.
pub async fn account(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    body: impl FnOnce() -> Result<HelperAccountIn>,
) -> Result<UserOut> {
    let helper = q::in_scope(conn, caller, id).await?;
    caller.require(&[Role::Admin, Role::TownStaff])?;
    let input = body()?;
    if helper.user_id.is_some() {
        return Err(Error::conflict(
            "conflict",
            "this helper already has an account",
        ));
    }
    if !helper.active {
        return Err(Error::conflict(
            "conflict",
            "an inactive helper cannot sign in",
        ));
    }
    let mut errors = Vec::new();
    let username = users::username(&input.username, &mut errors);
    if let Some(p) = password::policy_problem(&input.password) {
        errors.push(FieldError::new("password", p));
    }
    Error::check(errors)?;
    let station = needs::org_at(conn, helper.village_id, OrgKind::VillageStation).await?;
    let hash = password::hash(input.password).await?;
    let row = NewUser {
        id: Uuid::now_v7(),
        username: &username,
        display_name: &helper.name,
        role: Role::Helper.as_str(),
        organization_id: Some(station),
        city_id: Some(helper.city_id),
        password_hash: &hash,
    };
    conn.transaction::<_, Error, _>(async move |conn| {
        let user = user_queries::insert(conn, &row).await?;
        if q::bind_user(conn, id, user.id).await? == 0 {
            return Err(Error::conflict(
                "conflict",
                "this helper already has an account",
            ));
        }
        Ok(user)
    })
    .await
}
