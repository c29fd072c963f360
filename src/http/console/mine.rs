//! 我的帮扶对象: a helper's one page, made for a phone. A helper who signs in (SPEC §6 "Helpers
//! who sign in") sees the persons of its own contact groups — the same `service::persons::list`
//! as `GET /api/v1/persons`, scoped to them — each with what a helper does next: 记录走访 and
//! 反映诉求 (the person's page and the filing form, which the services let a helper use for them).

use actix_web::{http::StatusCode, web};
use maud::{html, Markup};

use super::layout::{page as layout, Notice};
use super::{html, see_other, zh, Html, Me};
use crate::http::AppState;
use crate::service::persons::{self as svc, PersonOut, PersonQuery};

/// `GET /my`: the helper's persons (everyone else goes to 待办).
pub async fn page(me: Me, state: web::Data<AppState>) -> Html {
    if me.caller.helper().is_none() {
        return Ok(see_other("/", &[]));
    }
    let query = PersonQuery {
        org_unit_id: None,
        village_id: None,
        status: Some("active".into()),
        disability_category: None,
        disability_grade: None,
        contact_group_complete: None,
        id_number: None,
        name: None,
        q: None,
        limit: None,
        cursor: None,
    };
    let mut conn = me.conn(&state).await?;
    let persons = svc::list(&mut conn, &me.caller, &state.pii, query, 200, None).await?;
    Ok(html(
        StatusCode::OK,
        layout(&me, "我的帮扶对象", Notice::None, view(&me, &persons)),
    ))
}

fn view(me: &Me, persons: &[PersonOut]) -> Markup {
    html! {
        p { "您是以下残疾人的帮扶人（三帮一）。上门走访后请记录；发现困难，请反映诉求，村里会及时登记办理。" }
        @if persons.is_empty() {
            p.empty { "您目前还没有帮扶对象。如有疑问，请联系村（社区）残协。" }
        }
        ol.cards.mine {
            @for p in persons {
                li.card {
                    h2 { a href=(format!("/persons/{}", p.id)) { (p.name) } }
                    dl.facts {
                        @if let Some(phone) = &p.phone { div { dt { "电话" } dd { a href=(format!("tel:{phone}")) { (phone) } } } }
                        @if let Some(a) = &p.address { div { dt { "住址" } dd { (a) } } }
                        div { dt { "上次走访" } dd {
                            @match p.last_visited_at {
                                Some(t) => (zh::time(t, me.tz)),
                                None => "还没有走访记录",
                            }
                        } }
                    }
                    p.actions {
                        a.button href=(format!("/persons/{}#visits-h", p.id)) aria-label=(format!("记录走访：{}", p.name)) { "记录走访" }
                        " "
                        a.button href=(format!("/persons/{}/needs/new", p.id)) aria-label=(format!("反映诉求：{}", p.name)) { "反映诉求" }
                    }
                }
            }
        }
    }
}
