//! The console's Chinese: field labels, the service's field messages put into Chinese, event
//! names, refusals, and times in the city's time zone. The words of the domain (states, loops,
//! levels, categories, actions, roles) are the domain's own `zh()`, written once beside them.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::need::{ActionKind, Loop};
use crate::error::Error;

/// The label of a field (its form label, and how an error names it).
pub fn label(field: &str) -> &'static str {
    match field {
        "loop" => "闭环",
        "department_id" => "部门",
        "reason" => "原因",
        "satisfied" => "是否满意",
        "satisfaction" => "满意度",
        "outcome" => "结果",
        "resolution" => "处理说明",
        "note" => "备注",
        "text" => "留言内容",
        "assignee_user_id" => "派给",
        "extension_site_id" => "延伸服务点",
        "volunteer_team_id" => "志愿服务队",
        "category" => "类别",
        "description" => "诉求内容",
        "urgency" => "紧急程度",
        "person_id" => "残疾人",
        "confirm_duplicate" => "确认不是重复诉求",
        "name" => "姓名",
        "id_number" => "身份证号",
        "disability_category" => "残疾类别",
        "disability_grade" => "残疾等级",
        "phone" => "联系电话",
        "address" => "住址",
        "guardian_name" => "监护人",
        "guardian_phone" => "监护人电话",
        "village_id" => "所在村（社区）",
        "username" => "用户名",
        "password" => "密码",
        "visited_at" => "走访时间",
        "helper_id" => "帮扶人",
        "notes" => "走访情况",
        "helper_ids" | "helper_ids[0]" => "帮扶人一",
        "helper_ids[1]" => "帮扶人二",
        "helper_ids[2]" => "帮扶人三",
        "from" => "开始日期",
        "to" => "结束日期",
        "org_unit_id" => "单位",
        _ => "此项",
    }
}

/// A field message of the service, in Chinese (the service speaks English to the API).
pub fn message(english: &str) -> String {
    let at_most = |m: &str| {
        m.split("at most ")
            .nth(1)
            .and_then(|r| r.split(' ').next())
            .map(str::to_string)
    };
    let exact = match english {
        "must be policy or social" => Some("请选择政策闭环或社会闭环"),
        "must be fulfilled or unable" => Some("请选择已解决或无法解决"),
        "must be 1, 2, 3, 4 or 5" => Some("请选择 1 到 5 分"),
        "must be 1, 2, 3 or 4" => Some("请选择 1 到 4 级"),
        "must be a department of the person's town" => Some("请选择本镇（街道）的部门"),
        "name a user, a volunteer team or an extension site" => Some("请选择派单对象"),
        "must be an active user of the handling organisation" => {
            Some("请选择承办单位在岗的工作人员")
        }
        "must be an extension site of this city" => Some("请选择本市的延伸服务点"),
        "must be 18 characters" => Some("身份证号应为 18 位"),
        "must be 17 digits followed by a digit or X" => {
            Some("身份证号应为 17 位数字加 1 位数字或 X")
        }
        "invalid region code" => Some("身份证号的地区码无效"),
        "contains an invalid birth date" => Some("身份证号中的出生日期无效"),
        "birth date is in the future" => Some("身份证号中的出生日期晚于今天"),
        "check digit does not match" => Some("身份证号校验位不对，请逐位核对"),
        "no such village in your scope" => Some("不是您管辖范围内的村（社区）"),
        "must be a village" => Some("请选择村（社区）"),
        "the person is not active" => Some("此人不在册，不能提交诉求"),
        "no such person in your scope" => Some("不是您管辖范围内的残疾人"),
        "must be normal or urgent" => Some("请选择一般或紧急"),
        "a person with this id_number is already registered" => Some("此身份证号已登记过"),
        "was used with another body" => Some("此表单已提交过其他内容，请重新打开页面"),
        "must not be in the future" => Some("不能晚于现在"),
        "no such helper in the person's town" => Some("请选择本镇（街道）的帮扶人"),
        "must name exactly three helpers" => Some("请选齐三名帮扶人"),
        "the three helpers must be distinct" => Some("三名帮扶人不能重复"),
        "no such helper" => Some("没有这名帮扶人"),
        "the helper is not of the person's town" => Some("这名帮扶人不是本镇（街道）的"),
        "the helper is not active" => Some("这名帮扶人已停用"),
        "must not be after to" => Some("开始日期不能晚于结束日期"),
        "must be a date (YYYY-MM-DD)" => Some("请填写日期，如 2026-01-31"),
        _ => None,
    };
    if let Some(m) = exact {
        return m.to_string();
    }
    if english.starts_with("is required") {
        return match at_most(english) {
            Some(n) => format!("必须填写（最多 {n} 字）"),
            None => "必须填写".to_string(),
        };
    }
    if english.starts_with("at most") {
        if let Some(n) = at_most(english) {
            return format!("最多 {n} 字");
        }
    }
    if english.starts_with("must be 5–20 digits") {
        return "电话应为 5 到 20 位数字（可含空格、+ 和 -）".to_string();
    }
    if english.starts_with("the helper already covers") {
        return "这名帮扶人包保的人数已满".to_string();
    }
    if english.starts_with("must be one of") {
        return "请从列表中选择一项".to_string();
    }
    if english.starts_with("unknown field") {
        return "此项不能填写".to_string();
    }
    "填写有误，请检查".to_string()
}

/// The Chinese name of a history event (an action, or what the system did).
pub fn event(action: &str) -> &'static str {
    match action {
        "file" => "提交诉求",
        "auto_escalate" => "超时自动上报",
        "sla_breached" => "超时督办",
        "handover" => "会长轮值交接",
        "allocate" => "分配资源",
        "attach" => "上传附件",
        "transfer" => "随人迁移",
        other => ActionKind::parse(other).map_or("其他", ActionKind::zh),
    }
}

/// A loop word in Chinese.
pub fn loop_word(word: &str) -> &'static str {
    Loop::parse(word).map_or("", Loop::zh)
}

/// A resolution's outcome in Chinese.
pub fn outcome(word: &str) -> &'static str {
    match word {
        "fulfilled" => "已解决",
        "unable" => "无法解决",
        _ => "",
    }
}

/// A time as the city reads it: `2026年12月12日 14:05`.
pub fn time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz)
        .format("%Y年%m月%d日 %H:%M")
        .to_string()
}

/// A time typed into a `datetime-local` control (`2026-03-01T14:30`), read in the city's zone.
pub fn local_time(typed: &str, tz: Tz) -> Option<DateTime<Utc>> {
    let t = chrono::NaiveDateTime::parse_from_str(typed.trim(), "%Y-%m-%dT%H:%M").ok()?;
    t.and_local_timezone(tz)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

/// A fraction 0–1 as a percentage with one decimal (`87.5%`); none: `无数据`.
pub fn percent(rate: Option<f64>) -> String {
    match rate {
        Some(r) => format!("{:.1}%", r * 100.0),
        None => "无数据".to_string(),
    }
}

/// The title and text of a page that answers a refusal.
pub fn refusal(e: &Error) -> (&'static str, &'static str) {
    match e {
        Error::NotFound => ("找不到该页面", "您要找的内容不存在，或不在您的管辖范围内。"),
        Error::Forbidden(_) => ("无权操作", "您的角色不能进行此操作或查看此页面。"),
        Error::RateLimited(_) => (
            "尝试次数过多",
            "登录失败次数过多，已暂时锁定。请 15 分钟后再试。",
        ),
        Error::Unavailable(_) => ("系统繁忙", "系统暂时无法处理，请稍后再试。"),
        Error::Internal(_) => ("系统出错", "系统出现错误，已记录。请稍后再试。"),
        Error::PayloadTooLarge(_) => ("内容过长", "提交的内容过长，请删减后再试。"),
        _ => ("无法完成", "请求有误，未做任何更改。请返回上一页重试。"),
    }
}

/// A value for a URL's query string.
pub fn url_encode(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_messages_read_in_chinese() {
        assert_eq!(
            message("is required (at most 2000 characters)"),
            "必须填写（最多 2000 字）"
        );
        assert_eq!(message("is required"), "必须填写");
        assert_eq!(
            message("check digit does not match"),
            "身份证号校验位不对，请逐位核对"
        );
        assert_eq!(message("something new"), "填写有误，请检查");
        assert_eq!(event("accept"), "签收");
        assert_eq!(event("auto_escalate"), "超时自动上报");
        assert_eq!(percent(Some(0.875)), "87.5%");
        assert_eq!(percent(None), "无数据");
        let shanghai = chrono_tz::Asia::Shanghai;
        let t = local_time("2026-03-01T14:30", shanghai).map(|t| t.to_rfc3339());
        assert_eq!(t.as_deref(), Some("2026-03-01T06:30:00+00:00"));
        assert_eq!(local_time("yesterday", shanghai), None);
    }
}
