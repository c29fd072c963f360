//! 通知: the signed-in user's notifications, newest first (`service::notifications::list`).

use actix_web::{http::StatusCode, web};
use maud::html;
use serde::Deserialize;

use super::form::Form;
use super::layout::{page as layout, Notice};
use super::view::csrf;
use super::{html, see_other, zh, Html, Me};
use crate::http::AppState;
use crate::service::notifications::{self as svc, NotificationQuery};

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
    let mut conn = state.conn().await?;
    let out = svc::list(&mut conn, &me.caller, query).await?;
    let content = html! {
        @if out.unread > 0 {
            form method="post" action="/notifications/read-all" {
                (csrf(&me.csrf))
                button.secondary type="submit" { "全部标为已读" }
            }
        }
        @if out.items.is_empty() { p.empty { "没有通知。" } }
        ol.notes {
            @for n in &out.items {
                li.unread[n.read_at.is_none()] {
                    @if n.read_at.is_none() { span.badge { "未读" } " " }
                    @match n.need_id {
                        Some(id) => a href=(format!("/needs/{id}")) { (n.title) },
                        None => span { (n.title) },
                    }
                    " " span.muted { (zh::time(n.at, me.tz)) }
                }
            }
        }
        @if let Some(c) = &out.next_cursor {
            nav.pager aria-label="翻页" { a href=(format!("/notifications?cursor={}", zh::url_encode(c))) { "更早的通知" } }
        }
    };
    Ok(html(
        StatusCode::OK,
        layout(&me, "通知", Notice::None, content),
    ))
}

/// `POST /notifications/read-all`: marks every notification read.
pub async fn read_all(me: Me, state: web::Data<AppState>, form: Form) -> Html {
    me.check(&form)?;
    let mut conn = state.conn().await?;
    svc::read_all(&mut conn, &me.caller).await?;
    Ok(see_other("/notifications", &[]))
}
