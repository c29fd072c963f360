//! 三帮一 contact groups: every person has three helpers of their town, each with room.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::helpers::HelperOut;
use super::persons::{load_in_scope, CARE_ROLES};
use crate::auth::Caller;
use crate::db::models::helpers::HelperRow;
use crate::db::models::persons::{NewMember, PersonRow};
use crate::db::queries::{helpers, persons};
use crate::domain::roles::PersonStatus;
use crate::error::{Error, FieldError, Result};

/// A person's contact group.
#[derive(Debug, Serialize, ToSchema)]
pub struct GroupOut {
    /// The person.
    pub person_id: Uuid,
    /// The helpers, in slot order.
    pub members: Vec<MemberOut>,
    /// True only when all three helpers are in place.
    pub complete: bool,
}

/// One helper of a contact group.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    /// Slot 1–3.
    pub slot: i16,
    /// The helper's id (same as `helper.id`).
    pub helper_id: Uuid,
    /// The helper.
    #[serde(flatten)]
    pub helper: HelperOut,
}

/// `PUT /persons/{id}/contact-group` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupIn {
    /// Exactly three distinct active helpers of the person's town.
    pub helper_ids: Vec<Uuid>,
}

/// The group as it stands.
async fn group_of(conn: &mut AsyncPgConnection, person: Uuid) -> Result<GroupOut> {
    let rows = persons::members(conn, person).await?;
    let complete = rows.len() == 3 && rows.iter().all(|(_, h)| h.active);
    Ok(GroupOut {
        person_id: person,
        members: rows
            .into_iter()
            .map(|(slot, h)| MemberOut {
                slot,
                helper_id: h.id,
                helper: h.into(),
            })
            .collect(),
        complete,
    })
}

/// The contact group of a person in scope.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<GroupOut> {
    load_in_scope(conn, caller, id).await?;
    group_of(conn, id).await
}

/// Three distinct helper ids, or 422.
fn three_distinct(ids: &[Uuid]) -> Result<()> {
    if ids.len() != 3 {
        return Err(Error::field(
            "helper_ids",
            "must name exactly three helpers",
        ));
    }
    let errors = (0..ids.len())
        .filter(|&i| ids[..i].contains(&ids[i]))
        .map(|i| {
            FieldError::new(
                format!("helper_ids[{i}]"),
                "the three helpers must be distinct",
            )
        })
        .collect();
    Error::check(errors)
}

/// Sets all three helpers at once; `body` is read after the 404 and 403.
pub async fn put(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    body: impl FnOnce() -> Result<GroupIn>,
) -> Result<GroupOut> {
    let person = load_in_scope(conn, caller, id).await?;
    caller.require(CARE_ROLES)?;
    let ids = body()?.helper_ids;
    three_distinct(&ids)?;
    if person.status != PersonStatus::Active.as_str() {
        return Err(Error::conflict(
            "conflict",
            "only an active person has a contact group",
        ));
    }
    conn.transaction::<_, Error, _>(async move |conn| {
        // lock the person, then the helpers in a fixed order, so capacity checks serialise
        persons::lock(conn, id).await?;
        let found = helpers::lock_many(conn, &ids).await?;
        let capacity = persons::helper_capacity(conn, person.city_id).await?;
        let loads = helpers::loads(conn, &ids, id).await?;
        Error::check(member_errors(&person, &ids, &found, capacity, &loads))?;
        let rows: Vec<NewMember> = ids
            .iter()
            .enumerate()
            .map(|(i, h)| NewMember {
                person_id: id,
                helper_id: *h,
                slot: i as i16 + 1,
                city_id: person.city_id,
            })
            .collect();
        persons::replace_group(conn, id, &rows).await?;
        group_of(conn, id).await
    })
    .await
}

/// Why each named helper cannot join the person's group: absent, of another town, inactive, full.
fn member_errors(
    person: &PersonRow,
    ids: &[Uuid],
    found: &[HelperRow],
    capacity: i32,
    loads: &[(Uuid, i64)],
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (i, hid) in ids.iter().enumerate() {
        let field = format!("helper_ids[{i}]");
        match found.iter().find(|h| h.id == *hid) {
            None => errors.push(FieldError::new(field, "no such helper")),
            Some(h) if h.town_id != person.town_id => errors.push(FieldError::new(
                field,
                "the helper is not of the person's town",
            )),
            Some(h) if !h.active => errors.push(FieldError::new(field, "the helper is not active")),
            Some(_) => {
                let load = loads
                    .iter()
                    .find(|(x, _)| x == hid)
                    .map(|(_, n)| *n)
                    .unwrap_or(0);
                if load >= i64::from(capacity) {
                    errors.push(FieldError::new(
                        field,
                        format!("the helper already covers {load} persons (capacity {capacity})"),
                    ));
                }
            }
        }
    }
    errors
}
