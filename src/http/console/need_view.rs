//! The markup of a need's page (details, one form per allowed action, the history as a
//! timeline) and of the filing form.

use actix_web::http::StatusCode;
use chrono::Utc;
use maud::{html, Markup};
use serde_json::Value;

use super::form::Form;
use super::layout::{page as layout, Notice};
use super::view::{csrf, options, Fields};
use super::{zh, Me};
use crate::domain::need::{ActionKind, Category, Urgency};
use crate::domain::roles::Role;
use crate::domain::sla::Standing;
use crate::error::{Error, FieldError};
use crate::http::error::AsProblem;
use crate::service::needs::{EventOut, NeedOut};
use crate::service::organizations::OrgRow;
use crate::service::persons::PersonOut;
use crate::service::users::UserOut;

/// What the action forms offer to choose from.
#[derive(Default)]
pub struct Choices {
    /// 转介: the departments of the person's town.
    pub departments: Vec<OrgRow>,
    /// 派单: the people of the handling organisation.
    pub users: Vec<UserOut>,
    /// 派单: the extension sites.
    pub sites: Vec<OrgRow>,
}

/// Everything a need's page shows.
pub struct NeedPage {
    /// The need, with the user's allowed actions.
    pub need: NeedOut,
    /// Its history, oldest first.
    pub events: Vec<EventOut>,
    /// What the forms offer.
    pub choices: Choices,
    /// Its attachments.
    pub attached: super::attachments::Attached,
}

/// A form that came back: which, with what the person typed, and why.
pub struct Failed<'a> {
    action: String,
    form: &'a Form,
    errors: Vec<FieldError>,
    status: StatusCode,
    message: Option<Markup>,
}

impl<'a> Failed<'a> {
    /// The form of `action`, posted as `form`, refused with `e`.
    pub fn new(action: &str, form: &'a Form, e: &Error) -> Self {
        let status = e.parts().0;
        let (errors, message) = match e {
            Error::Validation { errors, .. } => (errors.clone(), None),
            Error::PreconditionFailed => (
                vec![],
                Some(html! {
                    p { strong { "已被他人修改。" } "您打开页面后，这条诉求已有新的变化，本次操作没有执行。请查看下面的最新内容，确认后再提交。" }
                }),
            ),
            Error::PossibleDuplicate {
                existing_need_id,
                existing_case_number,
            } => (
                vec![],
                Some(html! {
                    p { "此人已有一条同类别、尚未办结的诉求："
                        a href=(format!("/needs/{existing_need_id}")) { (existing_case_number) } "。" }
                    p { "如确认这是另一件事，请勾选下方“确认不是重复诉求”后再提交。" }
                }),
            ),
            Error::Conflict {
                code: "invalid_transition",
                ..
            } => (
                vec![],
                Some(html! {
                    p { "这条诉求现在的状态不能进行此操作，可能已被他人处理。请查看最新内容。" }
                }),
            ),
            Error::Forbidden(_) => (
                vec![],
                Some(html! { p { "您的角色不能对这条诉求进行此操作。" } }),
            ),
            Error::PreconditionRequired => (
                vec![],
                Some(html! { p { "页面缺少版本信息，请刷新页面后重试。" } }),
            ),
            _ => (
                vec![],
                Some(html! { p { "提交的内容无法处理，请刷新页面后重试。" } }),
            ),
        };
        Failed {
            action: action.to_string(),
            form,
            errors,
            status,
            message,
        }
    }

    /// The status of the page that shows it.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    fn fields(&self, action: &str) -> Option<(&'a Form, &[FieldError])> {
        (self.action == action).then_some((self.form, self.errors.as_slice()))
    }
}

/// Whether a refusal is shown on the form's own page (the rest get a page of their own).
pub fn shown_in_page(e: &Error) -> bool {
    matches!(
        e,
        Error::Validation { .. }
            | Error::PreconditionFailed
            | Error::PreconditionRequired
            | Error::PossibleDuplicate { .. }
            | Error::Conflict { .. }
            | Error::Forbidden(_)
            | Error::Malformed(_)
    )
}

/// The status message after an action succeeded (`?done=`).
pub fn done(action: Option<&str>) -> Notice {
    match action {
        Some("file") => Notice::Done("诉求已提交。".into()),
        Some("attach") => Notice::Done("附件已上传。".into()),
        Some(a) => match ActionKind::parse(a) {
            Some(k) => Notice::Done(format!("已{}。", k.zh())),
            None => Notice::None,
        },
        None => Notice::None,
    }
}

/// A need's page.
pub fn page(me: &Me, p: &NeedPage, notice: Notice, failed: Option<Failed<'_>>) -> Markup {
    let n = &p.need;
    let notice = match failed.as_ref().and_then(|f| f.message.clone()) {
        Some(m) => Notice::Problem(m),
        None => notice,
    };
    let mut actions: Vec<ActionKind> = n.allowed_actions.clone().unwrap_or_default();
    if me.caller.role != Role::Auditor {
        actions.push(ActionKind::Comment);
    }
    let content = html! {
        div.need {
            section.details aria-labelledby="details-h" {
                h2 #details-h { "诉求详情" }
                (details(me, n))
            }
            (super::attachments::section(me, &p.attached, &format!("/needs/{}/attachments", n.id), "申请材料、证明扫描件或送达照片"))
            section.actions aria-labelledby="actions-h" {
                h2 #actions-h { "办理" }
                @if actions.is_empty() { p { "您现在没有可进行的操作。" } }
                @for k in actions { (action_form(me, p, k, failed.as_ref())) }
            }
            section.history aria-labelledby="history-h" {
                h2 #history-h { "办理记录" }
                ol.timeline {
                    @for e in &p.events { (event(me, e)) }
                }
            }
        }
    };
    layout(me, &format!("诉求 {}", n.case_number), notice, content)
}

fn details(me: &Me, n: &NeedOut) -> Markup {
    let overdue = !n.state.is_final() && Standing::overdue_at(n.due_at, n.overdue, Utc::now());
    html! {
        dl.facts {
            div { dt { "工单号" } dd { (n.case_number) } }
            div { dt { "残疾人" } dd { a href=(format!("/persons/{}", n.person_id)) { (n.person_name) } } }
            div { dt { "村（社区）" } dd { (n.village_name) } }
            div { dt { "类别" } dd { (n.category.zh()) } }
            div { dt { "紧急程度" } dd { (n.urgency.zh()) } }
            div { dt { "状态" } dd { (n.state.zh()) @if overdue { " " span.badge-overdue { "已超时" } } } }
            @if let Some(l) = n.loop_ { div { dt { "闭环" } dd { (l.zh()) } } }
            div { dt { "层级" } dd { (n.level.zh()) } }
            @if let Some(d) = n.due_at { div { dt { "期限" } dd { (zh::time(d, me.tz)) } } }
            div { dt { "提交时间" } dd { (zh::time(n.created_at, me.tz)) } }
            @if let Some(o) = &n.outcome { div { dt { "结果" } dd { (zh::outcome(o)) } } }
            @if let Some(r) = &n.resolution { div { dt { "处理说明" } dd { (r) } } }
            @if let Some(s) = n.satisfaction { div { dt { "满意度" } dd { (s) " 分" } } }
            @if n.reopen_count > 0 { div { dt { "重新打开" } dd { (n.reopen_count) " 次" } } }
        }
        div.description {
            h3 { "诉求内容" }
            p { (n.description) }
        }
    }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_string(), (*b).to_string()))
        .collect()
}

fn action_form(me: &Me, p: &NeedPage, kind: ActionKind, failed: Option<&Failed<'_>>) -> Markup {
    let k = kind.as_str();
    let (posted, errors) = match failed.and_then(|f| f.fields(k)) {
        Some((form, errors)) => (Some(form), errors),
        None => (None, &[][..]),
    };
    let f = Fields {
        prefix: k,
        posted,
        errors,
    };
    let c = &p.choices;
    let body = match kind {
        ActionKind::Register => html! {
            (f.select("loop", "闭环", Some("请选择"), &pairs(&[("policy", "政策闭环"), ("social", "社会闭环")]), None))
            (f.textarea("note", "备注", Some("选填")))
        },
        ActionKind::Refer => {
            let deps: Vec<(String, String)> = c
                .departments
                .iter()
                .map(|d| (d.id.to_string(), d.name.clone()))
                .collect();
            html! {
                (f.select("department_id", "部门", Some("请选择"), &deps, None))
                (f.textarea("note", "备注", Some("选填")))
            }
        }
        ActionKind::Accept => html! { (f.textarea("note", "备注", Some("选填"))) },
        ActionKind::Return | ActionKind::Escalate | ActionKind::Reroute | ActionKind::Withdraw => {
            html! {
                (f.textarea("reason", "原因", None))
            }
        }
        ActionKind::Assign => {
            let people: Vec<(String, String)> = c
                .users
                .iter()
                .filter(|u| u.active)
                .map(|u| (u.id.to_string(), u.display_name.clone()))
                .collect();
            let sites: Vec<(String, String)> = c
                .sites
                .iter()
                .map(|s| (s.id.to_string(), s.name.clone()))
                .collect();
            html! {
                (f.select("assignee_user_id", "派给", Some("（不指定人员）"), &people, None))
                (f.select("extension_site_id", "延伸服务点", Some("（不指定）"), &sites, None))
                (f.textarea("note", "备注", Some("选填")))
            }
        }
        ActionKind::Resolve => html! {
            (f.select("outcome", "结果", Some("请选择"), &pairs(&[("fulfilled", "已解决"), ("unable", "无法解决")]), None))
            (f.textarea("resolution", "处理说明", None))
        },
        ActionKind::Verify => html! {
            (f.select("satisfied", "是否满意", Some("请选择"), &pairs(&[("true", "满意"), ("false", "不满意")]), None))
            (f.select("satisfaction", "满意度", Some("请选择"), &pairs(&[("5", "5 分（很满意）"), ("4", "4 分"), ("3", "3 分"), ("2", "2 分"), ("1", "1 分（很不满意）")]), None))
            (f.textarea("note", "备注", Some("选填")))
        },
        ActionKind::Comment => html! { (f.textarea("text", "留言内容", None)) },
    };
    html! {
        section.action aria-labelledby=(format!("{k}-h")) {
            h3 id=(format!("{k}-h")) { (kind.zh()) }
            (f.summary())
            form method="post" action=(format!("/needs/{}/{k}", p.need.id)) {
                (csrf(&me.csrf))
                @if kind != ActionKind::Comment {
                    input type="hidden" name="version" value=(p.need.version);
                }
                (body)
                button type="submit" { (kind.zh()) }
            }
        }
    }
}

fn event(me: &Me, e: &EventOut) -> Markup {
    let said: Vec<(&str, String)> = [
        "loop",
        "reason",
        "note",
        "outcome",
        "resolution",
        "satisfied",
        "satisfaction",
        "text",
    ]
    .into_iter()
    .filter_map(|key| {
        let v = e.payload.get(key)?;
        let shown = match (key, v) {
            ("loop", Value::String(s)) => zh::loop_word(s).to_string(),
            ("outcome", Value::String(s)) => zh::outcome(s).to_string(),
            ("satisfied", Value::Bool(b)) => (if *b { "满意" } else { "不满意" }).to_string(),
            (_, Value::String(s)) if !s.trim().is_empty() => s.clone(),
            (_, Value::Number(n)) => n.to_string(),
            _ => return None,
        };
        Some((zh::label(key), shown))
    })
    .collect();
    let moved = e.from_state != Some(e.to_state);
    html! {
        li {
            p.when { time datetime=(e.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (zh::time(e.at, me.tz)) } }
            p.what { strong { (zh::event(&e.action)) } " · " (if e.actor == "system" { "系统" } else { e.actor.as_str() }) }
            @if moved {
                p.state {
                    "状态："
                    @if let Some(from) = e.from_state { (from.zh()) " → " }
                    (e.to_state.zh())
                }
            }
            @if !said.is_empty() {
                dl.said { @for (k, v) in &said { div { dt { (k) } dd { (v) } } } }
            }
        }
    }
}

/// The filing form (新建诉求) for a person; `failed` when it came back.
pub fn file_form(me: &Me, person: &PersonOut, key: &str, failed: Option<&Failed<'_>>) -> Markup {
    let (posted, errors) = match failed.and_then(|f| f.fields("file")) {
        Some((form, errors)) => (Some(form), errors),
        None => (None, &[][..]),
    };
    let f = Fields {
        prefix: "file",
        posted,
        errors,
    };
    let duplicate = failed.is_some_and(|f| f.status == StatusCode::CONFLICT);
    let categories = options(Category::ALL, Category::as_str, Category::zh);
    let urgencies = options(Urgency::ALL, Urgency::as_str, Urgency::zh);
    html! {
        @if let Some(m) = failed.and_then(|f| f.message.clone()) {
            div.notice.problem role="alert" tabindex="-1" { (m) }
        }
        p { "为 " a href=(format!("/persons/{}", person.id)) { (person.name) } " 提交一条诉求。" }
        (f.summary())
        form method="post" action=(format!("/persons/{}/needs/new", person.id)) {
            (csrf(&me.csrf))
            input type="hidden" name="idempotency_key" value=(key);
            (f.select("category", "类别", Some("请选择"), &categories, None))
            (f.textarea("description", "诉求内容", Some("写清需要什么帮助，最多 4000 字")))
            (f.select("urgency", "紧急程度", None, &urgencies, Some("normal")))
            @if duplicate { (f.checkbox("confirm_duplicate", "确认不是重复诉求")) }
            button type="submit" { "提交" }
        }
    }
}
