//! 残疾人: search by name or phone, and register a person — through `service::persons`, as the
//! API's handlers call it. A person's own page is `person.rs`.

use actix_web::{http::StatusCode, web};
use diesel_async::AsyncPgConnection;
use maud::{html, Markup};
use serde::Deserialize;

use super::form::Form;
use super::layout::{page as layout, Notice};
use super::view::{csrf, Fields};
use super::{html, see_other, zh, Html, Me};
use crate::domain::caller::Scope;
use crate::domain::resident_id::DisabilityCategory;
use crate::error::{Error, FieldError, Result};
use crate::http::AppState;
use crate::service::org_units::{self as units, UnitQuery};
use crate::service::page::Page;
use crate::service::persons::{self as svc, PersonOut, PersonQuery, CARE_ROLES};

/// `?q=` and `?cursor=` of the search.
#[derive(Debug, Deserialize)]
pub struct Search {
    q: Option<String>,
    cursor: Option<String>,
}

/// Whether a search looks like a resident ID number (18 characters: 17 digits, then a digit or X):
/// then it is looked up exactly (through the keyed hash, like the API's `?id_number=`).
fn looks_like_id_number(q: &str) -> bool {
    let q = q.trim();
    q.len() == 18
        && q[..17].bytes().all(|b| b.is_ascii_digit())
        && q[17..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'X' || b == b'x')
}

fn query(q: Option<String>, limit: i64, cursor: Option<String>) -> PersonQuery {
    let (id_number, q) = match q {
        Some(v) if looks_like_id_number(&v) => (Some(v.trim().to_uppercase()), None),
        other => (None, other),
    };
    PersonQuery {
        org_unit_id: None,
        village_id: None,
        status: None,
        disability_category: None,
        disability_grade: None,
        contact_group_complete: None,
        id_number,
        name: None,
        q,
        limit: Some(limit),
        cursor,
    }
}

/// `GET /persons`: search by name, phone or ID number.
pub async fn search(me: Me, state: web::Data<AppState>, q: web::Query<Search>) -> Html {
    let Search { q, cursor } = q.into_inner();
    let page = Page::new(Some(20), cursor.as_deref())?;
    let mut conn = me.conn(&state).await?;
    let query = query(q.clone(), 20, cursor.clone());
    let rows = svc::list(
        &mut conn,
        &me.caller,
        &state.pii,
        query,
        page.limit + 1,
        page.after,
    )
    .await?;
    let (rows, next) = page.finish(rows, |r| r.id);
    let content = search_view(&me, q.as_deref().unwrap_or(""), &rows, next.as_deref());
    Ok(html(
        StatusCode::OK,
        layout(&me, "残疾人", Notice::None, content),
    ))
}

fn search_view(me: &Me, q: &str, rows: &[PersonOut], next: Option<&str>) -> Markup {
    html! {
        form.search method="get" action="/persons" role="search" {
            div.field {
                label for="q" { "姓名、电话或身份证号" }
                input #q name="q" type="search" value=(q);
            }
            button type="submit" { "搜索" }
        }
        @if me.caller.is(CARE_ROLES) { p { a.button href="/persons/new" { "登记残疾人" } } }
        @if rows.is_empty() {
            p.empty { "没有找到。" }
        } @else {
            ul.people {
                @for p in rows {
                    li { a href=(format!("/persons/{}", p.id)) { (p.name) } " " span.muted { (p.id_number) } }
                }
            }
        }
        @if let Some(n) = next {
            nav.pager aria-label="翻页" { a href=(format!("/persons?q={}&cursor={}", zh::url_encode(q), zh::url_encode(n))) { "下一页" } }
        }
    }
}

/// The villages a new person may go to (none for village staff: their own).
async fn villages(conn: &mut AsyncPgConnection, me: &Me) -> Result<Vec<(String, String)>> {
    if matches!(me.caller.scope, Scope::Village(_)) {
        return Ok(Vec::new());
    }
    let q = UnitQuery {
        kind: Some("village".into()),
        parent_id: None,
        code: None,
        limit: Some(200),
        cursor: None,
    };
    let found = units::list(conn, &me.caller, q).await?.items;
    Ok(found
        .into_iter()
        .map(|u| (u.id.to_string(), u.name))
        .collect())
}

/// `GET /persons/new`: the registration form (403 for a role that may not register).
pub async fn new_form(me: Me, state: web::Data<AppState>) -> Html {
    me.caller.require(CARE_ROLES)?;
    let mut conn = me.conn(&state).await?;
    let villages = villages(&mut conn, &me).await?;
    let content = register_view(&me, &Fields::new("person"), &villages);
    Ok(html(
        StatusCode::OK,
        layout(&me, "登记残疾人", Notice::None, content),
    ))
}

/// `POST /persons/new`: registers the person (the API's checks, errors shown by their fields).
pub async fn create(me: Me, state: web::Data<AppState>, form: Form) -> Html {
    me.check(&form)?;
    let mut conn = me.conn(&state).await?;
    let body = form.body(&[]);
    let made = svc::create(&mut conn, &me.caller, &state.pii, || {
        crate::service::needs::RawBody::parse(&body)
    });
    let errors = match made.await {
        Ok(p) => return Ok(see_other(&format!("/persons/{}?done=created", p.id), &[])),
        Err(Error::Validation { errors, .. }) => errors,
        Err(Error::Conflict {
            code: "duplicate",
            detail,
        }) => vec![FieldError::new("id_number", detail)],
        Err(e) => return Err(e.into()),
    };
    let villages = villages(&mut conn, &me).await?;
    let fields = Fields {
        prefix: "person",
        posted: Some(&form),
        errors: &errors,
    };
    let content = register_view(&me, &fields, &villages);
    let page = layout(&me, "登记残疾人", Notice::None, content);
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page))
}

fn register_view(me: &Me, f: &Fields<'_>, villages: &[(String, String)]) -> Markup {
    let categories: Vec<(String, String)> = DisabilityCategory::ALL
        .iter()
        .map(|c| (c.as_str().to_string(), c.chinese().to_string()))
        .collect();
    let grades: Vec<(String, String)> = (1..=4)
        .map(|g| (g.to_string(), format!("{g} 级")))
        .collect();
    html! {
        (f.summary())
        form method="post" action="/persons/new" {
            (csrf(&me.csrf))
            (f.input("name", "姓名", "text", None))
            (f.resident_id("id_number", "身份证号", Some("18 位，最后一位可以是 X")))
            (f.select("disability_category", "残疾类别", Some("请选择"), &categories, None))
            (f.select("disability_grade", "残疾等级", Some("请选择"), &grades, None))
            @if !villages.is_empty() {
                (f.select("village_id", "所在村（社区）", Some("请选择"), villages, None))
            }
            (f.input("phone", "联系电话", "tel", Some("选填")))
            (f.input("address", "住址", "text", Some("选填")))
            (f.input("guardian_name", "监护人", "text", Some("选填")))
            (f.input("guardian_phone", "监护人电话", "tel", Some("选填")))
            button type="submit" { "保存" }
        }
    }
}
