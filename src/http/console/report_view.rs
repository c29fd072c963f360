//! A report drawn: the unit, the period (SLA), a bar chart rendered here as inline SVG (a
//! `role="img"` with its `<title>`, `<desc>` and an `aria-label` that reads every bar's figure;
//! each bar also carries its figure in text, so nothing is said by colour alone), the figures in
//! a real `<table>` with a row per child unit linking to that unit's own report, and the
//! download of the same table as XLSX.

use maud::{html, Markup};
use serde_json::Value;
use uuid::Uuid;

use super::layout::{page as layout, Notice};
use super::{zh, Me};
use crate::domain::roles::UnitKind;
use crate::service::reports::Table;

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 三帮一 coverage.
    Coverage,
    /// On-time closure and satisfaction.
    Sla,
}

impl Kind {
    const ALL: [Kind; 2] = [Kind::Coverage, Kind::Sla];

    fn title(self) -> &'static str {
        match self {
            Kind::Coverage => "三帮一覆盖率报表",
            Kind::Sla => "办结时效报表",
        }
    }

    fn tab(self) -> &'static str {
        match self {
            Kind::Coverage => "三帮一覆盖率",
            Kind::Sla => "办结时效",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Kind::Coverage => "/reports/coverage",
            Kind::Sla => "/reports/sla",
        }
    }

    /// The column the chart draws, and its name.
    fn charted(self) -> (&'static str, &'static str) {
        match self {
            Kind::Coverage => ("coverage_rate", "三帮一覆盖率"),
            Kind::Sla => ("on_time_rate", "按时办结率"),
        }
    }
}

/// A report page's link: a unit's report over the table's period (`xlsx`: its download).
fn href(kind: Kind, unit: Uuid, t: &Table, xlsx: bool) -> String {
    let mut h = format!("{}?unit={unit}", kind.path());
    if kind == Kind::Sla {
        h.push_str(&format!("&from={}&to={}", t.from, t.to));
    }
    if xlsx {
        h.push_str("&format=xlsx");
    }
    h
}

fn unit_kind(word: &str) -> &'static str {
    UnitKind::parse(word).map_or("", UnitKind::zh)
}

fn day(d: chrono::NaiveDate) -> String {
    d.format("%Y年%m月%d日").to_string()
}

/// A report's page; `own`: the report is of the user's own unit (else a way back to it).
pub fn page(me: &Me, kind: Kind, t: &Table, own: bool) -> Markup {
    let content = html! {
        nav.tabs aria-label="报表" {
            ul {
                @for k in Kind::ALL {
                    li { a href=(k.path()) aria-current=[(k == kind).then_some("page")] { (k.tab()) } }
                }
            }
        }
        p.unit {
            "单位：" strong { (t.unit.name) } " " span.muted { "· " (unit_kind(&t.unit.kind)) }
            @if !own { " " a href=(kind.path()) { "返回本单位" } }
        }
        @if kind == Kind::Sla { (period(kind, t)) }
        section aria-labelledby="chart-h" {
            h2 #chart-h { "图表" }
            (chart(kind, t))
        }
        section aria-labelledby="table-h" {
            h2 #table-h { "数据" }
            p.hint { "表格较宽时，可在表格内左右滑动查看。" }
            (table(kind, t))
            p { a.button.secondary href=(href(kind, t.unit.id, t, true)) download { "下载 Excel（XLSX）" } }
        }
    };
    layout(me, kind.title(), Notice::None, content)
}

/// The period's form (a GET: it changes nothing) and the period in words.
fn period(kind: Kind, t: &Table) -> Markup {
    html! {
        form.search.period method="get" action=(kind.path()) {
            input type="hidden" name="unit" value=(t.unit.id);
            div.field {
                label for="from" { "开始日期" }
                input #from name="from" type="date" value=(t.from);
            }
            div.field {
                label for="to" { "结束日期" }
                input #to name="to" type="date" value=(t.to);
            }
            button.secondary type="submit" { "查看" }
        }
        p { "统计期间：" (day(t.from)) " 至 " (day(t.to)) }
    }
}

/// A cell's figure in words: rates as percentages, no figure as 无数据.
fn figure(key: &str, v: &Value) -> String {
    match v {
        Value::Null => "无数据".to_string(),
        Value::Number(n) if key.ends_with("_rate") => zh::percent(n.as_f64()),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(kind: Kind, t: &Table) -> Markup {
    html! {
        div.table-wrap role="region" aria-labelledby="table-caption" tabindex="0" {
            table.figures {
                caption #table-caption { (kind.tab()) "：" (t.unit.name) "及下级单位" }
                thead {
                    tr {
                        th scope="col" { "单位" }
                        @for c in &t.columns { th scope="col" { (c.zh) } }
                    }
                }
                tbody {
                    tr.total {
                        th scope="row" { (t.unit.name) "（合计）" }
                        @for (c, v) in t.columns.iter().zip(&t.totals) { td { (figure(&c.key, v)) } }
                    }
                    @for (u, values) in &t.children {
                        tr {
                            th scope="row" { a href=(href(kind, u.id, t, false)) { (u.name) } }
                            @for (c, v) in t.columns.iter().zip(values) { td { (figure(&c.key, v)) } }
                        }
                    }
                }
            }
        }
    }
}

/// The charted rate of each child unit (of the unit itself when it has none).
fn bars(kind: Kind, t: &Table) -> Vec<(String, Option<f64>)> {
    let i = t.columns.iter().position(|c| c.key == kind.charted().0);
    let rate = |values: &[Value]| i.and_then(|i| values.get(i)).and_then(Value::as_f64);
    if t.children.is_empty() {
        vec![(t.unit.name.clone(), rate(&t.totals))]
    } else {
        t.children
            .iter()
            .map(|(u, v)| (u.name.clone(), rate(v)))
            .collect()
    }
}

/// Geometry of the chart, in the SVG's own units: about one to a CSS pixel on a 360 px phone
/// (it scales with the page, up to a width set in console.css).
const LEFT: f64 = 4.0;
const BAR: f64 = 240.0;
const WIDTH: f64 = 330.0;
const ROW: f64 = 50.0;
const TOP: f64 = 26.0;

fn chart(kind: Kind, t: &Table) -> Markup {
    let (_, name) = kind.charted();
    let bars = bars(kind, t);
    let said: Vec<String> = bars
        .iter()
        .map(|(n, r)| format!("{n} {}", zh::percent(*r)))
        .collect();
    let label = format!("{name}条形图：{}", said.join("，"));
    let height = TOP + ROW * bars.len() as f64;
    let x = |r: f64| LEFT + BAR * r.clamp(0.0, 1.0);
    html! {
        figure.chart {
            svg xmlns="http://www.w3.org/2000/svg" viewBox=(format!("0 0 {WIDTH:.0} {height:.0}")) role="img" aria-label=(label) {
                title { (name) "（按单位）" }
                desc { (label) }
                @for (r, text, anchor) in [(0.0, "0%", "start"), (0.5, "50%", "middle"), (1.0, "100%", "end")] {
                    line.grid x1=(format!("{:.1}", x(r))) x2=(format!("{:.1}", x(r))) y1=(TOP - 6.0) y2=(height) {}
                    text.axis x=(format!("{:.1}", x(r))) y="14" text-anchor=(anchor) { (text) }
                }
                @for (i, (unit, rate)) in bars.iter().enumerate() {
                    @let y = TOP + ROW * i as f64;
                    text.name x=(LEFT) y=(format!("{:.0}", y + 16.0)) { (unit) }
                    @match rate {
                        Some(r) => {
                            rect.bar x=(LEFT) y=(format!("{:.0}", y + 22.0)) width=(format!("{:.1}", x(*r) - LEFT)) height="18" {}
                            text.value x=(format!("{:.1}", x(*r) + 6.0)) y=(format!("{:.0}", y + 36.0)) { (zh::percent(Some(*r))) }
                        }
                        None => {
                            text.value.none x=(LEFT) y=(format!("{:.0}", y + 36.0)) { "无数据（没有可计算的数）" }
                        }
                    }
                }
            }
            figcaption { (name) "，每个单位一条；数字见下方表格。" }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_as_words() {
        assert_eq!(figure("coverage_rate", &serde_json::json!(0.5)), "50.0%");
        assert_eq!(figure("coverage_rate", &Value::Null), "无数据");
        assert_eq!(figure("closed", &serde_json::json!(7)), "7");
    }
}
