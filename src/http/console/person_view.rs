//! A person's page drawn: details (the ID number masked, or revealed and said to be audited),
//! the 三帮一 contact group, visits with the form that records one, needs; and the form that
//! sets the contact group. Which forms a user gets is the services' own role lists
//! (`CARE_ROLES`, `REVEAL_ROLES`): an auditor gets none.

use maud::{html, Markup};

use super::form::Form;
use super::inbox::card;
use super::layout::{page as layout, Notice};
use super::view::{csrf, Fields};
use super::{zh, Me};
use crate::domain::resident_id::DisabilityCategory;
use crate::domain::roles::HelperKind;
use crate::error::FieldError;
use crate::service::groups::GroupOut;
use crate::service::helpers::HelperOut;
use crate::service::needs::NeedOut;
use crate::service::persons::{PersonOut, CARE_ROLES, REVEAL_ROLES};
use crate::service::visits::VisitOut;

/// What a person's page shows.
pub struct PersonPage {
    /// The person (masked unless revealed).
    pub person: PersonOut,
    /// The contact group.
    pub group: GroupOut,
    /// Visits, oldest first.
    pub visits: Vec<VisitOut>,
    /// Needs.
    pub needs: Vec<NeedOut>,
    /// The ID number is shown in clear (and the reveal was audited).
    pub revealed: bool,
    /// The person's papers (certificate scans, forms).
    pub attached: super::attachments::Attached,
}

/// The message after a form of the page succeeded.
pub fn done(what: Option<&str>) -> Notice {
    let text = match what {
        Some("created") => "已登记。",
        Some("visit") => "走访已记录。",
        Some("group") => "三帮一已设置。",
        Some("attach") => "附件已上传。",
        _ => return Notice::None,
    };
    Notice::Done(text.into())
}

/// A person's page; `errors` and `posted` are those of the visit form when it came back.
pub fn page(
    me: &Me,
    p: &PersonPage,
    notice: Notice,
    errors: &[FieldError],
    posted: Option<&Form>,
) -> Markup {
    let person = &p.person;
    let cares = me.caller.is(CARE_ROLES);
    // a helper records its visits and reports needs for the persons of its groups
    let helps = cares || me.caller.helper().is_some();
    let active = person.status == "active";
    let visit = Fields {
        prefix: "visit",
        posted,
        errors,
    };
    let content = html! {
        section aria-labelledby="facts-h" {
            h2 #facts-h { "基本情况" }
            (facts(me, p))
        }
        (group(p, cares && active))
        section aria-labelledby="visits-h" {
            h2 #visits-h { "走访" }
            (visits(me, p))
            @if helps { (visit_form(me, p, &visit)) }
        }
        (super::attachments::section(me, &p.attached, &format!("/persons/{}/attachments", person.id), "残疾人证、身份证或申请表的扫描件"))
        section aria-labelledby="needs-h" {
            h2 #needs-h { "诉求" }
            @if helps && active {
                p { a.button href=(format!("/persons/{}/needs/new", person.id)) { "新建诉求" } }
            }
            @if p.needs.is_empty() { p.empty { "还没有诉求。" } }
            ol.cards { @for n in &p.needs { (card(me, n)) } }
        }
    };
    layout(me, &person.name, notice, content)
}

fn facts(me: &Me, p: &PersonPage) -> Markup {
    let person = &p.person;
    let category =
        DisabilityCategory::parse_word(&person.disability_category).map_or("", |c| c.chinese());
    let status = match person.status.as_str() {
        "active" => "在册",
        "moved_out" => "已迁出",
        "deceased" => "已去世",
        _ => "",
    };
    let may_reveal = !p.revealed && me.caller.is(REVEAL_ROLES);
    html! {
        dl.facts {
            div { dt { "身份证号" } dd { (person.id_number) @if !p.revealed { span.visually-hidden { "（部分隐藏）" } } } }
            @if p.revealed { div { dt { "残疾证号" } dd { (person.disability_cert_number) } } }
            div { dt { "残疾类别" } dd { (category) } }
            div { dt { "残疾等级" } dd { (person.disability_grade) " 级" } }
            div { dt { "性别" } dd { (if person.gender == "male" { "男" } else { "女" }) } }
            div { dt { "出生日期" } dd { (person.birth_date.format("%Y年%m月%d日")) } }
            div { dt { "状态" } dd { (status) } }
            @if let Some(ph) = &person.phone { div { dt { "联系电话" } dd { (ph) } } }
            @if let Some(a) = &person.address { div { dt { "住址" } dd { (a) } } }
            @if let Some(g) = &person.guardian_name { div { dt { "监护人" } dd { (g) } } }
            @if let Some(g) = &person.guardian_phone { div { dt { "监护人电话" } dd { (g) } } }
            div { dt { "最近走访" } dd { (person.last_visited_at.map(|t| zh::time(t, me.tz)).unwrap_or_else(|| "还没有".into())) } }
        }
        @if may_reveal {
            form.inline method="post" action=(format!("/persons/{}/reveal", person.id)) {
                (csrf(&me.csrf))
                p.hint #reveal-hint { "查看完整号码会记入审计日志。" }
                button.secondary type="submit" aria-describedby="reveal-hint" { "查看完整身份证号" }
            }
        }
    }
}

fn helper_kind(word: &str) -> &'static str {
    HelperKind::parse(word).map_or("", HelperKind::zh)
}

fn group(p: &PersonPage, may_set: bool) -> Markup {
    let g = &p.group;
    html! {
        section aria-labelledby="group-h" {
            h2 #group-h { "三帮一" }
            @if g.complete {
                p { strong { "已建立" } "：三名帮扶人齐全。" }
            } @else {
                p { strong { "未建立" } "：现有 " (g.members.len()) " 名在册帮扶人，需要三名。" }
            }
            @if !g.members.is_empty() {
                ol.people {
                    @for m in &g.members {
                        li {
                            (m.helper.name) span.muted { "（" (helper_kind(&m.helper.kind)) "）" }
                            @if let Some(ph) = &m.helper.phone { " " (ph) }
                            @if !m.helper.active { " " strong { "已停用" } }
                        }
                    }
                }
            }
            @if may_set {
                p { a.button.secondary href=(format!("/persons/{}/group", p.person.id)) { "设置三帮一" } }
            }
        }
    }
}

fn visits(me: &Me, p: &PersonPage) -> Markup {
    let helper = |id: Option<uuid::Uuid>| {
        id.and_then(|id| p.group.members.iter().find(|m| m.helper_id == id))
            .map(|m| m.helper.name.clone())
    };
    html! {
        @if p.visits.is_empty() {
            p.empty { "还没有走访记录。" }
        } @else {
            ol.visits {
                @for v in p.visits.iter().rev() {
                    li {
                        p.when { (zh::time(v.visited_at, me.tz)) @if let Some(h) = helper(v.helper_id) { " · " (h) } }
                        @if !v.notes.is_empty() { p { (v.notes) } }
                    }
                }
            }
        }
    }
}

fn visit_form(me: &Me, p: &PersonPage, f: &Fields<'_>) -> Markup {
    let members: Vec<(String, String)> = p
        .group
        .members
        .iter()
        .map(|m| (m.helper_id.to_string(), m.helper.name.clone()))
        .collect();
    html! {
        h3 { "记录走访" }
        (f.summary())
        form method="post" action=(format!("/persons/{}/visits", p.person.id)) {
            (csrf(&me.csrf))
            (f.input("visited_at", "走访时间", "datetime-local", Some("不填则为现在")))
            // a helper records its own visits: no choice to make
            @if me.caller.helper().is_none() {
                (f.select("helper_id", "帮扶人", Some("未记录"), &members, None))
            }
            (f.textarea("notes", "走访情况", Some("选填，最多 2000 字")))
            button type="submit" { "记录走访" }
        }
    }
}

/// The form that sets the contact group: three of the town's active helpers.
pub fn group_form(
    me: &Me,
    p: &PersonPage,
    helpers: &[HelperOut],
    errors: &[FieldError],
    posted: Option<&Form>,
) -> Markup {
    // "name exactly three" belongs to the first of the three controls
    let errors: Vec<FieldError> = errors
        .iter()
        .map(|e| match e.field.as_str() {
            "helper_ids" => FieldError::new("helper_ids[0]", e.message.clone()),
            _ => e.clone(),
        })
        .collect();
    let f = Fields {
        prefix: "group",
        posted,
        errors: &errors,
    };
    let options: Vec<(String, String)> = helpers
        .iter()
        .map(|h| {
            (
                h.id.to_string(),
                format!("{}（{}）", h.name, helper_kind(&h.kind)),
            )
        })
        .collect();
    let current = |slot: i16| {
        p.group
            .members
            .iter()
            .find(|m| m.slot == slot)
            .map(|m| m.helper_id.to_string())
    };
    let labels = ["帮扶人一", "帮扶人二", "帮扶人三"];
    html! {
        p { "为 " strong { (p.person.name) } " 选择本镇（街道）的三名帮扶人。三名齐全，三帮一才算建立。" }
        (f.summary())
        @if helpers.is_empty() {
            p.empty { "本镇（街道）还没有可选的帮扶人。" }
        }
        form method="post" action=(format!("/persons/{}/group", p.person.id)) {
            (csrf(&me.csrf))
            @for (i, label) in labels.iter().enumerate() {
                (f.select(&format!("helper_ids[{i}]"), label, Some("请选择"), &options, current(i as i16 + 1).as_deref()))
            }
            button type="submit" { "保存" }
        }
        p { a href=(format!("/persons/{}", p.person.id)) { "返回 " (p.person.name) } }
    }
}
