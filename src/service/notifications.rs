//! Notifications (SPEC §6): the events that put a need on someone's desk tell the people who
//! may now act on it, in the event's own transaction; the sweeper tells a need's handler once
//! per state when it becomes at risk and when it becomes overdue; each village station hears
//! once a day of the persons whose visits fall due within a week. Nobody is told of their own
//! action.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::models::needs::NeedRow;
use crate::db::models::notifications::{NewNotification, NotificationRow};
use crate::db::queries::notifications as q;
use crate::db::queries::org;
use crate::domain::caller::{Actor, Caller};
use crate::domain::need::State;
use crate::domain::sla::Standing;
use crate::error::{Error, Result};
use crate::service::page::{list_query, Page};

/// The events that put a need on someone's desk (a satisfied `verify` closes it: no desk).
const DESK_EVENTS: &[&str] = &[
    "file",
    "register",
    "refer",
    "return",
    "escalate",
    "auto_escalate",
    "reroute",
    "assign",
    "resolve",
    "verify",
    "handover",
];

/// One notification as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationOut {
    /// Id.
    pub id: Uuid,
    /// When.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub at: DateTime<Utc>,
    /// The event's action, or `at_risk`, `overdue`, `visit_due`.
    pub kind: String,
    /// The need it is about (null for a visit reminder).
    pub need_id: Option<Uuid>,
    /// The need's case number.
    pub case_number: Option<String>,
    /// One line of Chinese.
    pub title: String,
    /// When it was read (null while unread).
    #[serde(serialize_with = "crate::domain::ts::utc_opt")]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<NotificationRow> for NotificationOut {
    fn from(r: NotificationRow) -> Self {
        NotificationOut {
            id: r.id,
            at: r.at,
            kind: r.kind,
            need_id: r.need_id,
            case_number: r.case_number,
            title: r.title,
            read_at: r.read_at,
        }
    }
}

/// The caller's notifications: a page, newest first, and how many are unread.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsOut {
    /// This page.
    pub items: Vec<NotificationOut>,
    /// Pass as `cursor` for the next (older) page; null on the last.
    pub next_cursor: Option<String>,
    /// Unread notifications in all.
    pub unread: i64,
}

list_query! {
    /// `GET /me/notifications` parameters.
    pub struct NotificationQuery {
        /// Only the unread ones.
        pub unread: Option<bool>,
    }
}

/// The caller's notifications, newest first.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: NotificationQuery,
) -> Result<NotificationsOut> {
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let unread_only = query.unread == Some(true);
    let rows = q::page(
        conn,
        caller.user_id,
        unread_only,
        page.after,
        page.limit + 1,
    )
    .await?;
    let (rows, next_cursor) = page.finish(rows, |r| r.id);
    Ok(NotificationsOut {
        items: rows.into_iter().map(NotificationOut::from).collect(),
        next_cursor,
        unread: q::unread(conn, caller.user_id).await?,
    })
}

/// How many of the caller's notifications are unread (the console's header shows it).
pub async fn unread(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<i64> {
    Ok(q::unread(conn, caller.user_id).await?)
}

/// Marks one of the caller's notifications read (404 for anyone else's).
pub async fn read(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<()> {
    if q::mark_read(conn, caller.user_id, id, Utc::now()).await? {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// Marks all of the caller's notifications read.
pub async fn read_all(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<()> {
    q::mark_all_read(conn, caller.user_id, Utc::now()).await?;
    Ok(())
}

/// One line of Chinese for a notice about a need.
fn title(kind: &str, need: &NeedRow) -> String {
    let what = match kind {
        "file" => "新诉求待登记",
        "register" => "诉求已登记，请处理",
        "refer" => "收到转介的政策诉求，请签收",
        "return" => "诉求被退单，请重新处理",
        "escalate" => "收到上报的诉求，请签收",
        "auto_escalate" => "诉求超时自动上报，请签收",
        "reroute" => "政策无法解决，转入社会闭环，请签收",
        "assign" => "收到派单，请处理",
        "resolve" => "诉求已办结，请回访",
        "verify" => "回访不满意，诉求已重新打开",
        "handover" => "会长轮值交接：诉求转由您负责",
        "transfer" => "残疾人迁入，诉求转由您处理",
        "at_risk" => "诉求即将超时，请尽快处理",
        "overdue" => "诉求已超时（督办）",
        _ => "诉求有新进展",
    };
    format!("{what}：{} {}诉求", need.case_number, need.category.zh())
}

/// Who may now act on a need: after `resolve` the village staff of the person's village (they
/// follow up); otherwise the assignee if there is one, else the active users of the handling
/// organisation and of an assigned site.
async fn deciders(conn: &mut AsyncPgConnection, need: &NeedRow, kind: &str) -> Result<Vec<Uuid>> {
    if kind == "resolve" {
        return Ok(q::village_staff_of(conn, need.village_id).await?);
    }
    if let Some(a) = need.assignee_user_id {
        if q::is_active(conn, a).await? {
            return Ok(vec![a]);
        }
    }
    let mut orgs = vec![need.handler_organization_id];
    orgs.extend(need.assigned_site_id);
    Ok(q::active_users_of(conn, &orgs).await?)
}

/// Tells the people who may now act on a need of `kind`, but not `actor`.
async fn tell(
    conn: &mut AsyncPgConnection,
    need: &NeedRow,
    kind: &str,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<usize> {
    let users: Vec<Uuid> = deciders(conn, need, kind)
        .await?
        .into_iter()
        .filter(|u| Some(*u) != actor)
        .collect();
    let title = title(kind, need);
    let rows: Vec<NewNotification> = users
        .iter()
        .map(|&user_id| NewNotification {
            id: Uuid::now_v7(),
            user_id,
            city_id: need.city_id,
            need_id: Some(need.id),
            kind: kind.to_string(),
            title: title.clone(),
            at,
        })
        .collect();
    q::insert(conn, &rows).await?;
    written(kind, rows.len());
    Ok(rows.len())
}

/// Counts notifications written, by kind, for `/metrics`.
fn written(kind: &str, n: usize) {
    metrics::counter!("zhucan_notifications_written_total", "kind" => kind.to_string())
        .increment(n as u64);
}

/// The notifications an event brings, written in its transaction (`events::record` calls this).
pub async fn for_event(
    conn: &mut AsyncPgConnection,
    need: &NeedRow,
    action: &str,
    actor: &Actor,
    at: DateTime<Utc>,
) -> Result<usize> {
    if !DESK_EVENTS.contains(&action) || (action == "verify" && need.state != State::InProgress) {
        return Ok(0);
    }
    tell(conn, need, action, actor.user_id, at).await
}

/// Tells the new handler of a need carried to another place with its person (`transfer`): the
/// need is on a new desk, though no state changed.
pub async fn carried(
    conn: &mut AsyncPgConnection,
    need: &NeedRow,
    actor: Option<Uuid>,
    at: DateTime<Utc>,
) -> Result<usize> {
    tell(conn, need, "transfer", actor, at).await
}

/// Tells a need's handler, once for its current state, that it is overdue (the sweeper marked
/// it); false when it was told already.
pub async fn overdue(conn: &mut AsyncPgConnection, need: &NeedRow) -> Result<bool> {
    if !q::claim_notice(conn, need.id, need.version, "overdue").await? {
        return Ok(false);
    }
    tell(conn, need, "overdue", None, Utc::now()).await?;
    Ok(true)
}

/// Tells each handler, once per need and state, of the needs that have become at risk.
pub async fn at_risk(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<usize> {
    let mut told = 0;
    for n in q::at_risk_candidates(conn, now, 500).await? {
        if !Standing::of(n.due_at, n.overdue, n.entered_state_at, now, now).at_risk {
            continue;
        }
        let n2 = n.clone();
        let done = conn
            .transaction::<_, Error, _>(async move |conn| {
                if !q::claim_notice(conn, n2.id, n2.version, "at_risk").await? {
                    return Ok(false);
                }
                tell(conn, &n2, "at_risk", None, now).await?;
                Ok(true)
            })
            .await?;
        told += usize::from(done);
    }
    Ok(told)
}

/// The daily visit reminder: each village station, once a day (its city's day), hears how
/// many of its active persons' visits fall due within 7 days (overdue ones included).
pub async fn visit_reminders(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Result<usize> {
    let mut days = HashMap::new();
    let mut intervals = HashMap::new();
    let mut done: HashMap<chrono::NaiveDate, HashSet<Uuid>> = HashMap::new();
    let mut told = 0;
    for (station, village, city) in q::stations(conn).await? {
        let day = match days.get(&city) {
            Some(d) => *d,
            None => {
                let d = org::city_today(conn, city).await?;
                days.insert(city, d);
                d
            }
        };
        if let std::collections::hash_map::Entry::Vacant(e) = done.entry(day) {
            e.insert(q::reminded_on(conn, day).await?.into_iter().collect());
        }
        if done.get(&day).is_some_and(|s| s.contains(&station)) {
            continue;
        }
        let interval = match intervals.get(&city) {
            Some(i) => *i,
            None => {
                let i = q::visit_interval_days(conn, city).await?;
                intervals.insert(city, i);
                i
            }
        };
        let cutoff = now + chrono::Duration::days(7) - chrono::Duration::days(i64::from(interval));
        let due = q::visits_due(conn, village, cutoff).await?;
        told += conn
            .transaction::<_, Error, _>(async move |conn| {
                let persons = i32::try_from(due).unwrap_or(i32::MAX);
                if !q::claim_reminder(conn, station, day, persons).await? || due == 0 {
                    return Ok(0);
                }
                let rows: Vec<NewNotification> = q::active_users_of(conn, &[station])
                    .await?
                    .into_iter()
                    .map(|user_id| NewNotification {
                        id: Uuid::now_v7(),
                        user_id,
                        city_id: city,
                        need_id: None,
                        kind: "visit_due".into(),
                        title: format!("{due} 位残疾人的走访将在 7 天内到期，请安排走访"),
                        at: now,
                    })
                    .collect();
                q::insert(conn, &rows).await?;
                written("visit_due", rows.len());
                Ok(rows.len())
            })
            .await?;
    }
    Ok(told)
}
