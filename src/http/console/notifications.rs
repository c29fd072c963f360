//! 通知: the signed-in user's notifications, newest first, unread ones marked in words; each
//! marked read, or all at once (`service::notifications::{list, read, read_all}`).

use actix_web::{http::StatusCode, web};
use maud::{html, Markup};
use serde::Deserialize;

use super::form::Form;
use super::layout::{page as layout, Notice};
use super::view::csrf;
use super::{html, see_other, zh, Html, Me};
use crate::http::extract::path_id;
use crate::http::AppState;
use crate::service::notifications::{self as svc, NotificationQuery, NotificationsOut};

/// `?cursor=` of the page.
#[derive(Debug, Deserialize)]
pub struct Params {
    cursor: Option<String>,
}

/// `GET /notifications`: the notifications, unread ones marked.
pub async fn page(me: Me, state: web::Data<AppState>, q: web::Query<Params>) -> Html {
    let query = NotificationQuery {
        unread: None,
        limit: Some(50),
        cursor: q.into_inner().cursor,
    };
    let mut conn = me.conn(&state).await?;
    let out = svc::list(&mut conn, &me.caller, query).await?;
    let content = view(&me, &out);
    Ok(html(
        StatusCode::OK,
        layout(&me, "通知", Notice::None, content),
    ))
}

/// The list, newest first: unread ones say so in words, each with its own 标为已读.
fn view(me: &Me, out: &NotificationsOut) -> Markup {
    html! {
        @if out.unread > 0 {
            form method="post" action="/notifications/read-all" {
                (csrf(&me.csrf))
                button.secondary type="submit" { "全部标为已读" }
            }
        }
        @if out.items.is_empty() { p.empty { "没有通知。" } }
        ol.notes {
            @for n in &out.items {
                @let title = format!("note-{}", n.id);
                li.unread[n.read_at.is_none()] {
                    p.note-line {
                        @if n.read_at.is_none() { span.badge { "未读" } } @else { span.badge.read { "已读" } }
                        " "
                        @match n.need_id {
                            Some(id) => a #(title) href=(format!("/needs/{id}")) { (n.title) },
                            None => span #(title) { (n.title) },
                        }
                    }
                    p.muted.when { (zh::time(n.at, me.tz)) @if let Some(c) = &n.case_number { " · " (c) } }
                    @if n.read_at.is_none() {
                        form.inline method="post" action=(format!("/notifications/{}/read", n.id)) {
                            (csrf(&me.csrf))
                            button.secondary type="submit" aria-describedby=(title) { "标为已读" }
                        }
                    }
                }
            }
        }
        @if let Some(c) = &out.next_cursor {
            nav.pager aria-label="翻页" { a href=(format!("/notifications?cursor={}", zh::url_encode(c))) { "更早的通知" } }
        }
    }
}

/// `POST /notifications/{id}/read`: marks one notification read.
pub async fn read(me: Me, state: web::Data<AppState>, id: web::Path<String>, form: Form) -> Html {
    me.check(&form)?;
    let id = path_id(&id)?;
    let mut conn = me.conn(&state).await?;
    svc::read(&mut conn, &me.caller, id).await?;
    Ok(see_other("/notifications", &[]))
}

/// `POST /notifications/read-all`: marks every notification read.
pub async fn read_all(me: Me, state: web::Data<AppState>, form: Form) -> Html {
    me.check(&form)?;
    let mut conn = me.conn(&state).await?;
    svc::read_all(&mut conn, &me.caller).await?;
    Ok(see_other("/notifications", &[]))
}
