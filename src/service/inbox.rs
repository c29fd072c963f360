//! 待办, the inbox: the open needs in the caller's scope that wait for the caller — those on
//! which it may take an action now other than `withdraw` and `reroute` — most urgent first,
//! with counts of the whole inbox by bucket (SPEC §6 "Inbox").
//!
//! The database reads only the needs that can reach the caller's desk (per handling
//! organisation, village, town or site, through the inbox indexes); whether each one really
//! waits is [`permitted`] with the caller's relation, the rule that answers 403 and 409.

use base64::Engine;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::db::queries::needs::{self as queries, Desk};
use crate::db::queries::org;
use crate::domain::caller::Caller;
use crate::domain::need::ActionKind;
use crate::domain::roles::{OrgKind, Role};
use crate::domain::sla::{end_of_day, Standing};
use crate::error::{Error, Result};
use crate::service::needs::{allowed_at, NeedOut};
use crate::service::page::{checked_limit, list_query, DEFAULT_LIMIT};

list_query! {
    /// Parameters of `GET /inbox`.
    pub struct InboxQuery {
        /// Narrows the items to `overdue`, `due_today` or `at_risk` (the counts stay the whole inbox's).
        pub bucket: Option<String>,
    }
}

/// How many needs wait, in all and per bucket (a need may be both due today and at risk).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct InboxCounts {
    /// Every need in the inbox.
    pub total: i64,
    /// Marked overdue, or past `due_at`.
    pub overdue: i64,
    /// Not overdue, due before the end of today in the city's time zone.
    pub due_today: i64,
    /// Not overdue, less than a quarter of the time between the last transition and `due_at` left.
    pub at_risk: i64,
}

/// `GET /inbox`: the counts of the whole inbox and a page of its needs, by `due_at` then `id`.
#[derive(Debug, Serialize, ToSchema)]
pub struct InboxOut {
    /// Counts of the whole inbox (not of the page, nor of the bucket).
    pub counts: InboxCounts,
    /// Need objects, each with the caller's `allowed_actions`.
    pub items: Vec<NeedOut>,
    /// Pass as `cursor` to get the next page; null when this is the last.
    pub next_cursor: Option<String>,
}

/// A bucket of the inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bucket {
    Overdue,
    DueToday,
    AtRisk,
}

impl Bucket {
    fn parse(s: &str) -> Option<Bucket> {
        match s {
            "overdue" => Some(Bucket::Overdue),
            "due_today" => Some(Bucket::DueToday),
            "at_risk" => Some(Bucket::AtRisk),
            _ => None,
        }
    }

    fn holds(self, s: Standing) -> bool {
        match self {
            Bucket::Overdue => s.overdue,
            Bucket::DueToday => s.due_today,
            Bucket::AtRisk => s.at_risk,
        }
    }
}

/// Where an item sorts: its deadline (none: last) in microseconds, then its id.
type Key = (i64, Uuid);

fn key(due: Option<DateTime<Utc>>, id: Uuid) -> Key {
    (due.map_or(i64::MAX, |d| d.timestamp_micros()), id)
}

fn encode_cursor(k: Key) -> String {
    let mut bytes = k.0.to_be_bytes().to_vec();
    bytes.extend_from_slice(k.1.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn decode_cursor(c: &str) -> Option<Key> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(c)
        .ok()?;
    let (due, id) = bytes.split_at_checked(8)?;
    Some((
        i64::from_be_bytes(due.try_into().ok()?),
        Uuid::from_slice(id).ok()?,
    ))
}

/// Actions that put nothing on a desk: `withdraw` is always open to village staff and admins,
/// `reroute` exceptionally to the town and the department.
fn waits(allowed: &[ActionKind]) -> bool {
    allowed
        .iter()
        .any(|a| !matches!(a, ActionKind::Withdraw | ActionKind::Reroute))
}

/// The ways a need can reach the caller's desk: every relation that lets it act (village
/// staff of the need's village, town staff refer the town's policy needs, the handler's staff
/// — the association's for its staff and presidents —, staff of an assigned site).
async fn desk_of(conn: &mut AsyncPgConnection, caller: &Caller) -> Result<Desk> {
    let mut desk = Desk {
        handlers: caller.organization_id.into_iter().collect(),
        ..Desk::default()
    };
    match caller.role {
        Role::VillageStaff => desk.village = caller.unit_id,
        Role::TownStaff => desk.refer_town = caller.unit_id,
        Role::SiteStaff => desk.site = caller.organization_id,
        Role::AssociationStaff | Role::President => {
            if let Some(city) = caller.city_id {
                desk.handlers
                    .extend(org::org_at(conn, city, OrgKind::Association).await?);
            }
        }
        _ => {}
    }
    Ok(desk)
}

/// The caller's inbox: its counts, and a page of the bucket asked for.
pub async fn inbox(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    q: InboxQuery,
) -> Result<InboxOut> {
    let bucket =
        match q.bucket.as_deref() {
            None => None,
            Some(b) => Some(Bucket::parse(b).ok_or_else(|| {
                Error::field("bucket", "must be one of overdue, due_today, at_risk")
            })?),
        };
    let limit = checked_limit(q.limit, DEFAULT_LIMIT)? as usize;
    let after = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(
            decode_cursor(c)
                .ok_or_else(|| Error::field("cursor", "is not a cursor this API issued"))?,
        ),
    };
    // an auditor reads and takes no action, a helper only comments: nothing waits for either
    if matches!(caller.role, Role::Auditor | Role::Helper) {
        return Ok(InboxOut {
            counts: InboxCounts::default(),
            items: Vec::new(),
            next_cursor: None,
        });
    }
    let desk = desk_of(conn, caller).await?;
    let candidates = queries::desk(conn, caller, &desk).await?;
    let mut handlers: Vec<Uuid> = candidates
        .iter()
        .map(|r| r.handler_organization_id)
        .collect();
    handlers.sort_unstable();
    handlers.dedup();
    let kinds: HashMap<Uuid, String> = queries::org_kinds(conn, &handlers)
        .await?
        .into_iter()
        .collect();
    let now = Utc::now();
    let tz = match caller.city_id {
        Some(city) => org::city_tz(conn, city).await?,
        None => chrono_tz::Asia::Shanghai,
    };
    let end_of_today = end_of_day(now, tz);
    let mut counts = InboxCounts::default();
    let mut chosen: Vec<(Key, Vec<ActionKind>)> = Vec::new();
    for row in candidates {
        let kind = kinds
            .get(&row.handler_organization_id)
            .map_or("", String::as_str);
        let allowed = allowed_at(caller, row.view(), row.seat(), kind);
        if !waits(&allowed) {
            continue;
        }
        let s = Standing::of(
            row.due_at,
            row.overdue,
            row.entered_state_at,
            now,
            end_of_today,
        );
        counts.total += 1;
        counts.overdue += i64::from(s.overdue);
        counts.due_today += i64::from(s.due_today);
        counts.at_risk += i64::from(s.at_risk);
        if bucket.is_none_or(|b| b.holds(s)) {
            chosen.push((key(row.due_at, row.id), allowed));
        }
    }
    chosen.sort_by_key(|c| c.0);
    let mut page: Vec<(Key, Vec<ActionKind>)> = chosen
        .into_iter()
        .filter(|c| after.is_none_or(|a| c.0 > a))
        .take(limit + 1)
        .collect();
    let next_cursor = if page.len() > limit {
        page.truncate(limit);
        page.last().map(|c| encode_cursor(c.0))
    } else {
        None
    };
    let ids: Vec<Uuid> = page.iter().map(|c| c.0 .1).collect();
    let mut named: HashMap<Uuid, _> = queries::named(conn, &ids)
        .await?
        .into_iter()
        .map(|n| (n.need.id, n))
        .collect();
    let items = page
        .into_iter()
        .filter_map(|(k, allowed)| named.remove(&k.1).map(|n| NeedOut::new(n, Some(allowed))))
        .collect();
    Ok(InboxOut {
        counts,
        items,
        next_cursor,
    })
}
