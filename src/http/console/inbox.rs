//! 待办: the inbox page, from `service::inbox::inbox` (the function behind `GET /api/v1/inbox`).

use actix_web::{http::StatusCode, web};
use chrono::Utc;
use maud::{html, Markup};
use serde::Deserialize;

use super::layout::{page as layout, Notice};
use super::{html, zh, Html, Me};
use crate::domain::sla::Standing;
use crate::http::AppState;
use crate::service::inbox::{self as svc, InboxOut, InboxQuery};
use crate::service::needs::NeedOut;

/// Items per page on the console.
const PAGE: i64 = 20;

/// `?bucket=` and `?cursor=` of the page.
#[derive(Debug, Deserialize)]
pub struct Params {
    bucket: Option<String>,
    cursor: Option<String>,
}

/// `GET /`: the signed-in user's 待办.
pub async fn page(me: Me, state: web::Data<AppState>, q: web::Query<Params>) -> Html {
    // a helper has no desk: its page is its persons
    if me.caller.helper().is_some() {
        return Ok(super::see_other("/my", &[]));
    }
    let Params { bucket, cursor } = q.into_inner();
    let bucket = bucket.filter(|b| ["overdue", "due_today", "at_risk"].contains(&b.as_str()));
    let query = InboxQuery {
        bucket: bucket.clone(),
        limit: Some(PAGE),
        cursor: cursor.clone(),
    };
    let mut conn = me.conn(&state).await?;
    let out = svc::inbox(&mut conn, &me.caller, query).await?;
    let content = view(&me, &out, bucket.as_deref(), cursor.is_some());
    Ok(html(
        StatusCode::OK,
        layout(&me, "待办", Notice::None, content),
    ))
}

fn href(bucket: Option<&str>, cursor: Option<&str>) -> String {
    let mut q = Vec::new();
    if let Some(b) = bucket {
        q.push(format!("bucket={b}"));
    }
    if let Some(c) = cursor {
        q.push(format!("cursor={}", zh::url_encode(c)));
    }
    if q.is_empty() {
        "/".to_string()
    } else {
        format!("/?{}", q.join("&"))
    }
}

fn view(me: &Me, out: &InboxOut, bucket: Option<&str>, paged: bool) -> Markup {
    let c = &out.counts;
    let tabs = [
        (None, "全部", c.total),
        (Some("overdue"), "已超时", c.overdue),
        (Some("due_today"), "今日到期", c.due_today),
        (Some("at_risk"), "即将超时", c.at_risk),
    ];
    html! {
        nav.tabs aria-label="待办分类" {
            ul {
                @for (b, name, n) in tabs {
                    li {
                        a href=(href(b, None)) aria-current=[(b == bucket).then_some("page")] {
                            (name) " " span.count { (n) }
                        }
                    }
                }
            }
        }
        @if out.items.is_empty() {
            p.empty { "这里没有待办事项。" }
        } @else {
            ol.cards {
                @for n in &out.items { (card(me, n)) }
            }
        }
        nav.pager aria-label="翻页" {
            @if paged { a href=(href(bucket, None)) { "回到第一页" } }
            @if let Some(next) = &out.next_cursor { a href=(href(bucket, Some(next))) { "下一页" } }
        }
    }
}

/// One need of the inbox: what it is, whose, where, and when it is due.
pub fn card(me: &Me, n: &NeedOut) -> Markup {
    let overdue = Standing::overdue_at(n.due_at, n.overdue, Utc::now());
    html! {
        li.card.overdue[overdue] {
            h2 { a href=(format!("/needs/{}", n.id)) { (n.case_number) } }
            @if overdue { p.badge-overdue { "已超时" } }
            dl.facts {
                div { dt { "姓名" } dd { (n.person_name) } }
                div { dt { "村（社区）" } dd { (n.village_name) } }
                div { dt { "类别" } dd { (n.category.zh()) } }
                div { dt { "状态" } dd { (n.state.zh()) } }
                div { dt { "期限" } dd { (n.due_at.map(|d| zh::time(d, me.tz)).unwrap_or_else(|| "无".into())) } }
            }
        }
    }
}
