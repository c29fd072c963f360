//! A need's page and its action forms, and filing a need from a person. The page asks
//! `service::needs::get` (whose `allowed_actions` is `domain::need::permitted`) which forms to
//! show; a form posts to `service::needs::act` with the version it was drawn at, as `If-Match`
//! would carry it; filing goes through `service::needs::file` with the form's Idempotency-Key.

use actix_web::{http::StatusCode, web};
use diesel_async::AsyncPgConnection;
use serde_json::Value;
use uuid::Uuid;

use super::form::Form;
use super::layout::{page as layout, Notice};
use super::need_view::{self as view, Choices, Failed, NeedPage};
use super::{html, see_other, Html, Me, Refusal};
use crate::domain::need::ActionKind;
use crate::error::{Error, Result};
use crate::http::extract::path_id;
use crate::http::AppState;
use crate::service::needs::{self as svc, EventQuery, Filed};
use crate::service::organizations::{self as orgs, OrgQuery};
use crate::service::persons;
use crate::service::users::{self, UserQuery};

/// `GET /needs/{id}`: details, history, and a form for each action the user may take now.
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

/// The need's page with a notice (after an upload that came back, with its status).
pub(super) async fn show(
    me: &Me,
    state: &AppState,
    id: Uuid,
    notice: Notice,
    status: StatusCode,
) -> Html {
    let mut conn = me.conn(state).await?;
    let need = load(&mut conn, me, id).await?;
    Ok(html(status, view::page(me, &need, notice, None)))
}

/// `POST /needs/{id}/{action}`: one action, as `POST /api/v1/needs/{id}/actions/{action}` does it.
pub async fn act(
    me: Me,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: Form,
) -> Html {
    me.check(&form)?;
    let (id, action) = path.into_inner();
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let body = form.body(&[]);
    match svc::act(&mut conn, &me.caller, id, &action, form.version(), &body).await {
        Ok(_) => Ok(see_other(&format!("/needs/{id}?done={action}"), &[])),
        Err(e) if view::shown_in_page(&e) => {
            let need = load(&mut conn, &me, id).await?;
            let failed = Failed::new(&action, &form, &e);
            Ok(html(
                failed.status(),
                view::page(&me, &need, Notice::None, Some(failed)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// A need with its history and what its forms offer (departments to refer to, people and
/// sites to assign), read through the same service functions as the API's.
async fn load(conn: &mut AsyncPgConnection, me: &Me, id: Uuid) -> Result<NeedPage> {
    let need = svc::get(conn, &me.caller, id).await?;
    let q = EventQuery {
        limit: Some(200),
        cursor: None,
    };
    let events = svc::events(conn, &me.caller, id, q).await?.items;
    let allowed = need.allowed_actions.clone().unwrap_or_default();
    let mut choices = Choices::default();
    let org_query = |kind: &str, unit: Option<Uuid>| OrgQuery {
        kind: Some(kind.to_string()),
        org_unit_id: unit,
        department_type: None,
        limit: Some(200),
        cursor: None,
    };
    if allowed.contains(&ActionKind::Refer) {
        let q = org_query("department", Some(need.town_id));
        choices.departments = orgs::list(conn, &me.caller, q).await?.items;
    }
    if allowed.contains(&ActionKind::Assign) {
        let q = UserQuery {
            organization_id: Some(need.handler_organization_id),
            role: None,
            limit: Some(200),
            cursor: None,
        };
        choices.users = users::list(conn, &me.caller, q).await?.items;
        choices.sites = orgs::list(conn, &me.caller, org_query("extension_site", None))
            .await?
            .items;
    }
    let attached = super::attachments::load_for_need(conn, me, id, need.person_id).await?;
    Ok(NeedPage {
        need,
        events,
        choices,
        attached,
    })
}

/// `GET /persons/{id}/needs/new`: the filing form, with a fresh Idempotency-Key (403 for a
/// role that may not file).
pub async fn file_form(me: Me, state: web::Data<AppState>, id: web::Path<String>) -> Html {
    if me.caller.helper().is_none() {
        me.caller.require(persons::CARE_ROLES)?;
    }
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    let person = persons::get(&mut conn, &me.caller, &state.pii, id, None).await?;
    let key = Uuid::new_v4().to_string();
    let content = view::file_form(&me, &person, &key, None);
    Ok(html(
        StatusCode::OK,
        layout(&me, "新建诉求", Notice::None, content),
    ))
}

/// `POST /persons/{id}/needs/new`: files the need once, however often the form is sent.
pub async fn file(me: Me, state: web::Data<AppState>, id: web::Path<String>, form: Form) -> Html {
    me.check(&form)?;
    let id = path_id(&id)?;
    let key = form.get("idempotency_key").map(str::to_string);
    let body = form.body(&[("person_id", Value::from(id.to_string()))]);
    let mut conn = me.conn(&state).await?;
    match file_once(&mut conn, &me, &body, key).await {
        Ok(need) => Ok(see_other(&format!("/needs/{need}?done=file"), &[])),
        Err(e) if view::shown_in_page(&e) => {
            let person = persons::get(&mut conn, &me.caller, &state.pii, id, None).await?;
            let key = form.value("idempotency_key");
            let failed = Failed::new("file", &form, &e);
            let status = failed.status();
            let content = view::file_form(&me, &person, key, Some(&failed));
            Ok(html(status, layout(&me, "新建诉求", Notice::None, content)))
        }
        Err(e) => Err(Refusal::from(e)),
    }
}

/// Files through the API's use case; a second send of the same form while the first is still
/// being filed waits for it and answers as its replay (the API answers that 409 `conflict`).
async fn file_once(
    conn: &mut AsyncPgConnection,
    me: &Me,
    body: &super::form::FormBody,
    key: Option<String>,
) -> Result<Uuid> {
    for _ in 0..50 {
        match svc::file(conn, &me.caller, body, key.clone()).await {
            Ok(Filed::Created(n)) => return Ok(n.id),
            Ok(Filed::Replayed { body, .. }) => {
                return body
                    .get("id")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| Error::internal("a replay without the need's id"))
            }
            Err(Error::Conflict {
                code: "conflict", ..
            }) if key.is_some() => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(Error::conflict(
        "conflict",
        "the first request is still running",
    ))
}
