//! SLA policies: the hours allowed in each (state, loop, level, urgency), per city.

use actix_web::{web, HttpResponse};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::ok;
use crate::auth::Caller;
use crate::db::schema::sla_policies;
use crate::domain::need::{Level, Loop, State, Urgency};
use crate::domain::roles::Role;
use crate::domain::sla::reachable;
use crate::http::error::{AppError, AppResult, FieldError};
use crate::http::extract::{Body, Query};
use crate::http::AppState;
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

/// Which city.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CityQuery {
    /// Required for a deployment admin; others get their own city.
    pub city_id: Option<Uuid>,
}

/// `GET /api/v1/sla-policies`: the city's effective SLA table.
#[utoipa::path(get, path = "/api/v1/sla-policies", tag = "needs", params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = SlaOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn get(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<CityQuery>,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin, Role::Auditor])?;
    let city = caller.city_or(q.0.city_id)?;
    let mut conn = state.conn().await?;
    super::roster::city_exists(&mut conn, city).await?;
    Ok(ok(&SlaOut {
        city_id: city,
        policies: policies(&mut conn, city).await?,
    }))
}

/// `PUT /api/v1/sla-policies`: replaces the city's SLA table (admin).
#[utoipa::path(put, path = "/api/v1/sla-policies", tag = "needs", request_body = SlaIn, params(CityQuery), security(("bearer" = [])), responses(
    (status = 200, body = SlaOut), (status = 403, body = crate::http::error::Problem), (status = 404, description = "`city_id` names a city other than the caller's", body = crate::http::error::Problem), (status = 422, body = crate::http::error::Problem)))]
pub async fn put(
    caller: Caller,
    state: web::Data<AppState>,
    q: Query<CityQuery>,
    body: Body,
) -> AppResult<HttpResponse> {
    caller.require(&[Role::Admin])?;
    let input: SlaIn = body.json()?;
    let city = caller.city_or(input.city_id.or(q.0.city_id))?;
    let mut conn = state.conn().await?;
    super::roster::city_exists(&mut conn, city).await?;
    let reach = reachable();
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    for (i, e) in input.policies.iter().enumerate() {
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
        if let (Some(s), Some(l), Some(v), Some(u)) =
            (st, lp.unwrap_or(Some(Loop::Policy)).map(Some), lv, ur)
        {
            let l = if e.loop_.is_none() { None } else { l };
            if !reach.contains(&(s, l, v)) {
                errors.push(FieldError::new(
                    format!("policies[{i}]"),
                    "no need can stand in this (state, loop, level)",
                ));
            } else if rows
                .iter()
                .any(|(s2, l2, v2, u2, _)| (s2, l2, v2, u2) == (&s, &l, &v, &u))
            {
                errors.push(FieldError::new(format!("policies[{i}]"), "given twice"));
            } else {
                rows.push((s, l, v, u, e.hours as i32));
            }
        }
    }
    AppError::check(errors)?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        diesel::delete(sla_policies::table.filter(sla_policies::city_id.eq(city)))
            .execute(conn)
            .await?;
        let values: Vec<_> = rows
            .iter()
            .map(|(s, l, v, u, h)| {
                (
                    sla_policies::city_id.eq(city),
                    sla_policies::state.eq(s.as_str()),
                    sla_policies::loop_.eq(l.map(|l| l.as_str()).unwrap_or("")),
                    sla_policies::level.eq(v.as_str()),
                    sla_policies::urgency.eq(u.as_str()),
                    sla_policies::hours.eq(*h),
                )
            })
            .collect();
        if !values.is_empty() {
            diesel::insert_into(sla_policies::table)
                .values(values)
                .execute(conn)
                .await?;
        }
        Ok(())
    })
    .await?;
    Ok(ok(&SlaOut {
        city_id: city,
        policies: policies(&mut conn, city).await?,
    }))
}
