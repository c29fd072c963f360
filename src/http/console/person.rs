//! A person's page (details, 三帮一 contact group, visits, needs), revealing the ID number
//! (audited by the service), recording a visit and setting the contact group — through
//! `service::{persons, groups, visits, helpers, needs}`, as the API's handlers call them.

use actix_web::{http::StatusCode, web};
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::form::{Form, FormBody};
use super::layout::{page as layout, Notice};
use super::person_view::{self as view, PersonPage};
use super::{html, see_other, zh, Html, Me};
use crate::domain::pii::PiiCipher;
use crate::error::{Error, FieldError, Result};
use crate::http::extract::path_id;
use crate::http::AppState;
use crate::service::attachments::Parent;
use crate::service::helpers::{self, HelperOut, HelperQuery};
use crate::service::needs::{self, NeedQuery};
use crate::service::{groups, persons as svc, visits};

/// `GET /persons/{id}`: a person, masked, with group, visits and needs.
pub async fn page(
    me: Me,
    state: web::Data<AppState>,
    id: web::Path<String>,
    q: web::Query<super::Done>,
) -> Html {
    let id = path_id(&id)?;
    show(
        &me,
        &state,
        id,
        view::done(q.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// The person's page with a notice (after an upload that came back, with its status).
pub(super) async fn show(
    me: &Me,
    state: &AppState,
    id: Uuid,
    notice: Notice,
    status: StatusCode,
) -> Html {
    let mut conn = me.conn(state).await?;
    let p = load(&mut conn, me, &state.pii, id, false).await?;
    Ok(html(status, view::page(me, &p, notice, &[], None)))
}

/// `POST /persons/{id}/reveal`: the same page with the clear ID number (403 for a role that
/// may not; the service writes the audit row).
pub async fn reveal(me: Me, state: web::Data<AppState>, id: web::Path<String>, form: Form) -> Html {
    me.check(&form)?;
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let p = load(&mut conn, &me, &state.pii, id, true).await?;
    let notice = Notice::Done("已显示完整身份证号。此次查看已记入审计日志。".into());
    Ok(html(StatusCode::OK, view::page(&me, &p, notice, &[], None)))
}

/// `POST /persons/{id}/visits`: records a visit (the API's checks, errors by their fields).
pub async fn visit(me: Me, state: web::Data<AppState>, id: web::Path<String>, form: Form) -> Html {
    me.check(&form)?;
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let body = visit_body(&form, &me);
    let made = visits::create(&mut conn, &me.caller, id, || needs::RawBody::parse(&body));
    let errors = match made.await {
        Ok(_) => return Ok(see_other(&format!("/persons/{id}?done=visit"), &[])),
        Err(Error::Validation { errors, .. }) => errors,
        Err(e) => return Err(e.into()),
    };
    let p = load(&mut conn, &me, &state.pii, id, false).await?;
    let page = view::page(&me, &p, Notice::None, &errors, Some(&form));
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
}

/// A visit form as the API's body: the time typed in the city's zone, as an instant.
fn visit_body(form: &Form, me: &Me) -> FormBody {
    let at = form
        .get("visited_at")
        .and_then(|t| zh::local_time(t, me.tz));
    let extra: Vec<(&str, Value)> = at
        .map(|t| ("visited_at", Value::from(t.to_rfc3339())))
        .into_iter()
        .collect();
    form.body(&extra)
}

/// `GET /persons/{id}/group`: the form that sets the three helpers (403 for a role that may not).
pub async fn group_form(me: Me, state: web::Data<AppState>, id: web::Path<String>) -> Html {
    me.caller.require(svc::CARE_ROLES)?;
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let p = load(&mut conn, &me, &state.pii, id, false).await?;
    let choices = town_helpers(&mut conn, &me, &p).await?;
    let content = view::group_form(&me, &p, &choices, &[], None);
    Ok(html(
        StatusCode::OK,
        layout(&me, "设置三帮一", Notice::None, content),
    ))
}

/// `POST /persons/{id}/group`: sets the three helpers at once (`service::groups::put`).
pub async fn set_group(
    me: Me,
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: Form,
) -> Html {
    me.check(&form)?;
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let body = form.body(&[]);
    let put = groups::put(&mut conn, &me.caller, id, || needs::RawBody::parse(&body));
    let errors: Vec<FieldError> = match put.await {
        Ok(_) => return Ok(see_other(&format!("/persons/{id}?done=group"), &[])),
        Err(Error::Validation { errors, .. }) => errors,
        Err(e) => return Err(e.into()),
    };
    let p = load(&mut conn, &me, &state.pii, id, false).await?;
    let choices = town_helpers(&mut conn, &me, &p).await?;
    let content = view::group_form(&me, &p, &choices, &errors, Some(&form));
    let page = layout(&me, "设置三帮一", Notice::None, content);
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
}

/// A person with their group, visits and needs; `reveal`: the clear ID number (audited).
async fn load(
    conn: &mut AsyncPgConnection,
    me: &Me,
    pii: &PiiCipher,
    id: Uuid,
    reveal: bool,
) -> Result<PersonPage> {
    let shown = reveal.then_some("id_number");
    let person = svc::get(conn, &me.caller, pii, id, shown).await?;
    let group = groups::get(conn, &me.caller, id).await?;
    let visits = visits::list(conn, &me.caller, id, 200, None).await?;
    let needs = needs::list(conn, &me.caller, pii, needs_of(id))
        .await?
        .items;
    let attached = super::attachments::load(conn, me, Parent::Person(id)).await?;
    Ok(PersonPage {
        person,
        group,
        visits,
        needs,
        revealed: reveal,
        attached,
    })
}

/// The active helpers in the user's scope who may join the person's group (of their town).
async fn town_helpers(
    conn: &mut AsyncPgConnection,
    me: &Me,
    p: &PersonPage,
) -> Result<Vec<HelperOut>> {
    let q = HelperQuery {
        village_id: None,
        kind: None,
        active: Some(true),
        volunteer_team_id: None,
        limit: None,
        cursor: None,
    };
    let all = helpers::list(conn, &me.caller, q, 200, None).await?;
    let town = p.person.town_id;
    Ok(all.into_iter().filter(|h| h.town_id == town).collect())
}

/// The filter of one person's needs.
fn needs_of(person: Uuid) -> NeedQuery {
    NeedQuery {
        state: None,
        loop_: None,
        level: None,
        category: None,
        org_unit_id: None,
        handler_organization_id: None,
        overdue: None,
        assigned_to_me: None,
        person_id: Some(person),
        q: None,
        limit: Some(50),
        cursor: None,
    }
}
