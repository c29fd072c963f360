//! Visits (走访): helpers and staff record who saw a person, when, and what they found.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::persons::{load_in_scope, CARE_ROLES};
use crate::auth::Caller;
use crate::db::models::persons::{NewVisit, VisitRow};
use crate::db::queries::{helpers, persons};
use crate::error::{Error, FieldError, Result};

/// A recorded visit (走访).
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitOut {
    /// Id.
    pub id: Uuid,
    /// The person visited.
    pub person_id: Uuid,
    /// The helper who visited (if recorded).
    pub helper_id: Option<Uuid>,
    /// When.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub visited_at: DateTime<Utc>,
    /// Notes.
    pub notes: String,
    /// The user who recorded it.
    pub recorded_by: Uuid,
    /// When recorded.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
}

impl From<VisitRow> for VisitOut {
    fn from(v: VisitRow) -> Self {
        VisitOut {
            id: v.id,
            person_id: v.person_id,
            helper_id: v.helper_id,
            visited_at: v.visited_at,
            notes: v.notes,
            recorded_by: v.recorded_by,
            created_at: v.created_at,
        }
    }
}

/// `POST /persons/{id}/visits` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitIn {
    /// The helper who visited (of the person's town).
    pub helper_id: Option<Uuid>,
    /// When (default now; not in the future).
    pub visited_at: Option<DateTime<Utc>>,
    /// What was seen and said.
    pub notes: Option<String>,
}

/// The visits of a person in scope, oldest first: `fetch` rows after `after`.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    fetch: i64,
    after: Option<Uuid>,
) -> Result<Vec<VisitOut>> {
    load_in_scope(conn, caller, id).await?;
    let rows = persons::visits(conn, id, after, fetch).await?;
    Ok(rows.into_iter().map(VisitOut::from).collect())
}

/// Records a visit; `body` is read after the 404 and 403.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    body: impl FnOnce() -> Result<VisitIn>,
) -> Result<VisitOut> {
    let person = load_in_scope(conn, caller, id).await?;
    if caller.helper().is_none() {
        caller.require(CARE_ROLES)?;
    }
    let input = body()?;
    let mut errors = Vec::new();
    let now = Utc::now();
    let at = input.visited_at.unwrap_or(now);
    // a few minutes of clock skew between a phone and the server is not "the future"
    if at > now + chrono::Duration::minutes(5) {
        errors.push(FieldError::new("visited_at", "must not be in the future"));
    }
    let notes = input.notes.unwrap_or_default().trim().to_string();
    if notes.chars().count() > 2000 {
        errors.push(FieldError::new("notes", "at most 2000 characters"));
    }
    // a helper records its own visits
    if let (Some(me), Some(h)) = (caller.helper(), input.helper_id) {
        if h != me {
            errors.push(FieldError::new(
                "helper_id",
                "a helper records its own visits",
            ));
        }
    }
    let helper_id = caller.helper().or(input.helper_id);
    if let Some(h) = input.helper_id {
        if helpers::town_of(conn, h).await? != Some(person.town_id) {
            errors.push(FieldError::new(
                "helper_id",
                "no such helper in the person's town",
            ));
        }
    }
    Error::check(errors)?;
    let visit = NewVisit {
        id: Uuid::now_v7(),
        person_id: id,
        helper_id,
        city_id: person.city_id,
        visited_at: at,
        notes,
        recorded_by: caller.user_id,
    };
    let row = conn
        .transaction::<_, Error, _>(async move |conn| {
            persons::insert_visit(conn, &visit)
                .await
                .map_err(Error::from)
        })
        .await?;
    Ok(row.into())
}
