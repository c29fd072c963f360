//! SLA policies: the hours allowed in each (state, loop, level, urgency), per city. The table's
//! arithmetic (`policies`, `reachable`, `default_hours`, `due_at`) is `service::needs`'.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::sla::NewSlaPolicy;
use crate::db::queries::sla;
use crate::domain::caller::Caller;
use crate::domain::need::{Level, Loop, State, Urgency};
use crate::domain::roles::Role;
use crate::domain::sla::reachable;
use crate::error::{Error, FieldError, Result};
use crate::service::city;
use crate::service::needs::{policies, SlaEntry};

/// `GET|PUT /sla-policies` shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct SlaOut {
    /// The city.
    pub city_id: Uuid,
    /// One entry per reachable (state, loop, level, urgency).
    pub policies: Vec<SlaEntry>,
}

/// One entry of a `PUT`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaEntryIn {
    /// State.
    pub state: String,
    /// Loop (null for `reported`).
    #[serde(rename = "loop", default)]
    #[schema(rename = "loop")]
    pub loop_: Option<String>,
    /// Level.
    pub level: String,
    /// normal | urgent.
    pub urgency: String,
    /// Hours, 0–8760.
    pub hours: i64,
}

/// `PUT /sla-policies` body: replaces the city's table (entries not given fall back to the defaults).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaIn {
    /// The city (a deployment admin must say which; others may omit it).
    pub city_id: Option<Uuid>,
    /// The entries.
    pub policies: Vec<SlaEntryIn>,
}

/// The city's effective SLA table (admin, auditor).
pub async fn get(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    city_id: Option<Uuid>,
) -> Result<SlaOut> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let city = caller.city_or(city_id)?;
    city::exists(conn, city).await?;
    Ok(SlaOut {
        city_id: city,
        policies: policies(conn, city).await?,
    })
}

/// One valid entry.
type Entry = (State, Option<Loop>, Level, Urgency, i32);

/// Checks one entry: every word known, hours in range, a (state, loop, level) a need can stand
/// in, not given twice.
fn check_entry(
    i: usize,
    e: &SlaEntryIn,
    rows: &[Entry],
    errors: &mut Vec<FieldError>,
) -> Option<Entry> {
    let st = State::parse(&e.state);
    let lp = e.loop_.as_deref().map(Loop::parse);
    let lv = Level::parse(&e.level);
    let ur = Urgency::parse(&e.urgency);
    if st.is_none() {
        errors.push(FieldError::new(
            format!("policies[{i}].state"),
            format!("must be one of {}", State::words()),
        ));
    }
    if lp == Some(None) {
        errors.push(FieldError::new(
            format!("policies[{i}].loop"),
            "must be policy, social or null",
        ));
    }
    if lv.is_none() {
        errors.push(FieldError::new(
            format!("policies[{i}].level"),
            format!("must be one of {}", Level::words()),
        ));
    }
    if ur.is_none() {
        errors.push(FieldError::new(
            format!("policies[{i}].urgency"),
            "must be normal or urgent",
        ));
    }
    if !(0..=8760).contains(&e.hours) {
        errors.push(FieldError::new(
            format!("policies[{i}].hours"),
            "must be 0–8760",
        ));
    }
    let (Some(s), Some(l), Some(v), Some(u)) =
        (st, lp.unwrap_or(Some(Loop::Policy)).map(Some), lv, ur)
    else {
        return None;
    };
    let l = if e.loop_.is_none() { None } else { l };
    if !reachable().contains(&(s, l, v)) {
        errors.push(FieldError::new(
            format!("policies[{i}]"),
            "no need can stand in this (state, loop, level)",
        ));
        None
    } else if rows
        .iter()
        .any(|(s2, l2, v2, u2, _)| (s2, l2, v2, u2) == (&s, &l, &v, &u))
    {
        errors.push(FieldError::new(format!("policies[{i}]"), "given twice"));
        None
    } else {
        Some((s, l, v, u, e.hours as i32))
    }
}

/// Replaces the city's SLA table (admin): 403 before the body is read, 422 naming each bad entry.
pub async fn put(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    city_id: Option<Uuid>,
    input: impl FnOnce() -> Result<SlaIn>,
) -> Result<SlaOut> {
    caller.require(&[Role::Admin])?;
    let input = input()?;
    let city = caller.city_or(input.city_id.or(city_id))?;
    city::exists(conn, city).await?;
    let mut errors = Vec::new();
    let mut rows: Vec<Entry> = Vec::new();
    for (i, e) in input.policies.iter().enumerate() {
        if let Some(row) = check_entry(i, e, &rows, &mut errors) {
            rows.push(row);
        }
    }
    Error::check(errors)?;
    let values: Vec<NewSlaPolicy> = rows
        .iter()
        .map(|(s, l, v, u, h)| NewSlaPolicy {
            city_id: city,
            state: s.as_str(),
            loop_: l.map(|l| l.as_str()).unwrap_or(""),
            level: v.as_str(),
            urgency: u.as_str(),
            hours: *h,
        })
        .collect();
    conn.transaction::<_, Error, _>(async move |conn| Ok(sla::replace(conn, city, &values).await?))
        .await?;
    Ok(SlaOut {
        city_id: city,
        policies: policies(conn, city).await?,
    })
}
