//! 会长轮值: the duty roster of the association's presidents. Every change hands the city's open
//! city-level needs to whoever is on duty, in the same transaction.

use chrono::{NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub use crate::db::models::duty::RosterRow;
use crate::db::models::roster::{PresidentRow, RosterChange, RosterEntry};
use crate::db::queries::roster;
use crate::domain::caller::Actor;
use crate::domain::caller::Caller;
use crate::domain::roles::{OrgKind, Role};
use crate::error::{Error, FieldError, Result};
use crate::service::city;
use crate::service::handover::{handover, on_duty};
use crate::service::needs::org_at;
use crate::service::page::{list_query, Keyset};

list_query! {
    /// Which city, and paging.
    pub struct RosterQuery {
        /// Required for a deployment admin; others get their own city.
        pub city_id: Option<Uuid>,
    }
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
#[derive(Debug, Serialize, ToSchema)]
pub struct PresidentOut {
    /// User id.
    pub id: Uuid,
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
}

impl From<PresidentRow> for PresidentOut {
    fn from(r: PresidentRow) -> Self {
        PresidentOut {
            id: r.id,
            username: r.username,
            display_name: r.display_name,
        }
    }
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

/// Which city.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CityQuery {
    /// Required for a deployment admin; others get their own city.
    pub city_id: Option<Uuid>,
}

impl From<RosterEntry> for RosterRow {
    fn from(r: RosterEntry) -> Self {
        RosterRow {
            id: r.id,
            association_id: r.association_id,
            city_id: r.city_id,
            user_id: r.user_id,
            starts_on: r.starts_on,
            ends_on: r.ends_on,
            created_at: r.created_at,
        }
    }
}

const MANAGERS: &[Role] = &[Role::Admin, Role::AssociationStaff];

/// Adds a field error unless the user is an active president of the association.
async fn check_president(
    conn: &mut AsyncPgConnection,
    user: Uuid,
    association: Uuid,
    errors: &mut Vec<FieldError>,
) -> Result<()> {
    let ok = roster::standing(conn, user).await?.is_some_and(|u| {
        u.active && u.role == Role::President.as_str() && u.organization_id == Some(association)
    });
    if !ok {
        errors.push(FieldError::new(
            "user_id",
            "must be an active president of the city's association",
        ));
    }
    Ok(())
}

/// A page of the city's roster (404 for another city, or one that does not exist).
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    city_id: Option<Uuid>,
    page: &impl Keyset,
) -> Result<(Vec<RosterRow>, Option<String>)> {
    let city = caller.city_or(city_id)?;
    city::exists(conn, city).await?;
    let rows = roster::page(conn, city, page.limit() + 1, page.after()).await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok((rows.into_iter().map(RosterRow::from).collect(), next_cursor))
}

/// Adds a turn (403 for other roles, 422 for a non-president or inverted days, 409 when it
/// overlaps another); the body is read once the role is known to be allowed.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    input: impl FnOnce() -> Result<RosterIn>,
) -> Result<RosterRow> {
    caller.require(MANAGERS)?;
    let input = input()?;
    let city = caller.city_or(input.city_id)?;
    city::exists(conn, city).await?;
    let association = org_at(conn, city, OrgKind::Association).await?;
    let mut errors = Vec::new();
    check_president(conn, input.user_id, association, &mut errors).await?;
    if input.ends_on < input.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    Error::check(errors)?;
    let actor = Actor::of(caller);
    let new = RosterEntry {
        id: Uuid::now_v7(),
        association_id: association,
        city_id: city,
        user_id: input.user_id,
        starts_on: input.starts_on,
        ends_on: input.ends_on,
        created_at: Utc::now(),
    };
    conn.transaction::<_, Error, _>(async move |conn| {
        let row = roster::insert(conn, &new).await?;
        handover(conn, city, &actor, false).await?;
        Ok(RosterRow::from(row))
    })
    .await
}

/// An entry of the caller's city, or 404.
async fn entry_in_city(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
) -> Result<RosterEntry> {
    let row = roster::find(conn, id).await?;
    city::visible(caller, row.city_id)?;
    Ok(row)
}

/// Changes a turn in one UPDATE (404 outside the city, then 403, then 422); open city needs
/// follow whoever is on duty.
pub async fn patch(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    input: impl FnOnce() -> Result<RosterPatch>,
) -> Result<RosterRow> {
    let current = entry_in_city(conn, caller, id).await?;
    caller.require(MANAGERS)?;
    let input = input()?;
    let mut errors = Vec::new();
    let user = input.user_id.unwrap_or(current.user_id);
    if input.user_id.is_some() {
        check_president(conn, user, current.association_id, &mut errors).await?;
    }
    let change = RosterChange {
        user_id: user,
        starts_on: input.starts_on.unwrap_or(current.starts_on),
        ends_on: input.ends_on.unwrap_or(current.ends_on),
    };
    if change.ends_on < change.starts_on {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    Error::check(errors)?;
    let actor = Actor::of(caller);
    conn.transaction::<_, Error, _>(async move |conn| {
        let row = roster::update(conn, id, &change).await?;
        handover(conn, current.city_id, &actor, false).await?;
        Ok(RosterRow::from(row))
    })
    .await
}

/// Removes a turn (404 outside the city, then 403).
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<()> {
    let current = entry_in_city(conn, caller, id).await?;
    caller.require(MANAGERS)?;
    let actor = Actor::of(caller);
    conn.transaction::<_, Error, _>(async move |conn| {
        roster::delete(conn, id).await?;
        handover(conn, current.city_id, &actor, false).await?;
        Ok(())
    })
    .await
}

/// Who is on duty today in the city, or the gap.
pub async fn current(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    city_id: Option<Uuid>,
) -> Result<CurrentOut> {
    let city = caller.city_or(city_id)?;
    city::exists(conn, city).await?;
    let association = org_at(conn, city, OrgKind::Association).await?;
    let entry = on_duty(conn, city).await?;
    let president = match &entry {
        Some(e) => roster::president(conn, e.user_id)
            .await?
            .map(PresidentOut::from),
        None => None,
    };
    let unassigned = roster::unassigned_city_needs(conn, city).await?;
    Ok(CurrentOut {
        association_id: association,
        gap: entry.is_none(),
        entry,
        president,
        unassigned_city_needs: unassigned,
    })
}
