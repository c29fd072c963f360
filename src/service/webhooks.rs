//! Webhooks (SPEC §6): a city admin registers a URL; every need event of the city it subscribes
//! to is written to the outbox in the event's own transaction ([`enqueue`], called from
//! `service::events::record`), and `jobs::outbox` delivers it, signed, at least once, in each
//! need's `seq` order, recording every attempt ([`record_attempt`]).

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use utoipa::ToSchema;
use uuid::Uuid;

use super::needs::NeedOut;
use super::page::{Page, Paged};
use crate::db::models::needs::{EventRow, NeedRow};
use crate::db::models::webhooks::{ClaimedRow, DeliveryRow, NewOutbox, WebhookRow};
use crate::db::queries::places;
use crate::db::queries::webhooks::{self as q, AfterAttempt};
use crate::domain::caller::Caller;
use crate::domain::roles::{Role, UnitKind};
use crate::domain::webhook::{self as rules, event_id, retry_after};
use crate::error::{Error, FieldError, Result};
use crate::service::page::list_query;

/// `POST /webhooks` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookIn {
    /// Where events are POSTed: an http(s) URL of a public host.
    pub url: String,
    /// The events to send: action words (`file`, `register`, …, `handover`), or `*` for all.
    pub events: Vec<String>,
    /// The HMAC-SHA256 key (16–256 characters); generated and returned once when absent.
    pub secret: Option<String>,
    /// For a deployment admin: the city whose events it receives.
    pub city_id: Option<Uuid>,
}

/// A webhook as the API shows it (its secret only once, at creation).
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    /// Id.
    pub id: Uuid,
    /// The city whose events it receives.
    pub city_id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// Action words, or `*`.
    pub events: Vec<String>,
    /// Whether events are sent to it.
    pub active: bool,
    /// Registered.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
}

impl From<WebhookRow> for WebhookOut {
    fn from(w: WebhookRow) -> Self {
        WebhookOut {
            id: w.id,
            city_id: w.city_id,
            url: w.url,
            events: w.events,
            active: w.active,
            created_at: w.created_at,
        }
    }
}

/// `POST /webhooks` answer: the webhook with its secret, which is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreated {
    /// Id.
    pub id: Uuid,
    /// The city whose events it receives.
    pub city_id: Uuid,
    /// Where events are POSTed.
    pub url: String,
    /// Action words, or `*`.
    pub events: Vec<String>,
    /// Whether events are sent to it.
    pub active: bool,
    /// Registered.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub created_at: DateTime<Utc>,
    /// The HMAC-SHA256 key of `X-Zhucan-Signature` (as given, or generated).
    pub secret: String,
}

/// One delivery attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    /// The event's id (as sent in `X-Zhucan-Event-Id`).
    pub event_id: Uuid,
    /// 1, 2, … for this event.
    pub attempt: i32,
    /// When it was made.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status (null when it did not answer).
    pub status: Option<i32>,
    /// Why it failed (null on success).
    pub error: Option<String>,
    /// `delivered`, `retry` (another attempt follows) or `dead` (the last attempt failed).
    pub outcome: String,
}

impl From<DeliveryRow> for DeliveryOut {
    fn from(d: DeliveryRow) -> Self {
        DeliveryOut {
            event_id: d.event_id,
            attempt: d.attempt,
            at: d.at,
            status: d.status,
            error: d.error,
            outcome: d.outcome,
        }
    }
}

/// What a webhook receives: `POST` of this JSON, signed in `X-Zhucan-Signature`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent {
    /// The event's own id, the same on every retry (also `X-Zhucan-Event-Id`).
    pub id: Uuid,
    /// The action (`file`, `register`, …, `auto_escalate`, `handover`, `allocate`).
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    pub kind: String,
    /// When it happened.
    #[serde(serialize_with = "crate::domain::ts::utc")]
    pub at: DateTime<Utc>,
    /// The need's city.
    pub city_id: Uuid,
    /// The need after the event.
    pub need: NeedOut,
}

list_query! {
    /// Which city, and paging, for `GET /webhooks`.
    pub struct WebhookQuery {
        /// Required for a deployment admin; others get their own city.
        pub city_id: Option<Uuid>,
    }
}

/// Webhooks are the city admin's: an `admin` of the city, or the deployment admin.
fn require_city_admin(caller: &Caller) -> Result<()> {
    let city_admin = caller.role == Role::Admin
        && (caller.is_deployment_admin() || caller.unit_kind == Some(UnitKind::City));
    if city_admin {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "only the city's admin manages its webhooks",
        ))
    }
}

/// The city a request is about: the caller's, or (deployment admin) the one named.
async fn city(conn: &mut AsyncPgConnection, caller: &Caller, given: Option<Uuid>) -> Result<Uuid> {
    let city = caller.city_or(given)?;
    match places::unit_in_scope(conn, caller.scope, city).await {
        Ok(unit) if unit.kind == UnitKind::City.as_str() => Ok(city),
        Ok(_) => Err(Error::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// How long a name may take to resolve, at registration and at delivery.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves a webhook host and refuses it when any of its addresses is in a refused range
/// (unless `allow_private`): the addresses returned are the only ones a delivery connects to,
/// so a name that changes its answer after this check (DNS rebinding) reaches nothing else.
pub async fn resolve_public(
    host: &str,
    port: u16,
    allow_private: bool,
) -> std::result::Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("resolving {host} timed out"))?
            .map_err(|e| format!("cannot resolve {host}: {e}"))?
            .collect();
    if addrs.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allow_private {
        for a in &addrs {
            if let Some(why) = rules::refused_address(a.ip()) {
                return Err(format!("{host} resolves to {}, a {why} address", a.ip()));
            }
        }
    }
    Ok(addrs)
}

/// 422 on `url` unless it is an http(s) URL whose host is not a refused address or a local
/// name. A name is not looked up here (no request waits on DNS holding a connection, and a
/// name's addresses may change anyway): every delivery resolves it and refuses a private
/// answer, connecting only to the addresses it checked.
fn check_url(raw: &str, allow_private: bool, errors: &mut Vec<FieldError>) -> String {
    let url = match rules::parse_target(raw, allow_private) {
        Ok(u) => u,
        Err(why) => {
            errors.push(FieldError::new("url", why));
            return String::new();
        }
    };
    if raw.len() > 2000 {
        errors.push(FieldError::new("url", "at most 2000 characters"));
    }
    url.to_string()
}

/// The subscribed events, checked: 1–32 known words, each once.
fn check_events(events: Vec<String>, errors: &mut Vec<FieldError>) -> Vec<String> {
    if events.is_empty() || events.len() > 32 {
        errors.push(FieldError::new("events", "1–32 event words"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, e) in events.into_iter().enumerate() {
        if !rules::is_event_word(&e) {
            errors.push(FieldError::new(
                format!("events[{i}]"),
                format!("must be one of {}", rules::event_words()),
            ));
        } else if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The given secret (16–256 characters) or a new random one (32 bytes, hex).
fn check_secret(given: Option<String>, errors: &mut Vec<FieldError>) -> String {
    match given {
        Some(s) if (16..=256).contains(&s.chars().count()) => s,
        Some(_) => {
            errors.push(FieldError::new("secret", "16–256 characters"));
            String::new()
        }
        None => {
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
    }
}

/// Registers a webhook for the caller's city; `body` is read after the role check.
pub async fn create(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    allow_private: bool,
    body: impl FnOnce() -> Result<WebhookIn>,
) -> Result<WebhookCreated> {
    require_city_admin(caller)?;
    let input = body()?;
    let city = city(conn, caller, input.city_id).await?;
    let mut errors = Vec::new();
    let url = check_url(&input.url, allow_private, &mut errors);
    let events = check_events(input.events, &mut errors);
    let secret = check_secret(input.secret, &mut errors);
    Error::check(errors)?;
    let row = q::insert(
        conn,
        &WebhookRow {
            id: Uuid::now_v7(),
            city_id: city,
            url,
            events,
            secret,
            active: true,
            created_at: Utc::now(),
        },
    )
    .await?;
    Ok(WebhookCreated {
        secret: row.secret.clone(),
        id: row.id,
        city_id: row.city_id,
        url: row.url,
        events: row.events,
        active: row.active,
        created_at: row.created_at,
    })
}

/// A page of the city's webhooks.
pub async fn list(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    query: WebhookQuery,
) -> Result<Paged<WebhookOut>> {
    require_city_admin(caller)?;
    let page = Page::new(query.limit, query.cursor.as_deref())?;
    let city = city(conn, caller, query.city_id).await?;
    let rows = q::list(conn, caller, city, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |w| w.id)))
}

/// One webhook of the caller's city (404 for another city's, then 403 for a non-admin).
async fn find(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<WebhookRow> {
    let row = q::in_scope(conn, caller, id).await?;
    require_city_admin(caller)?;
    Ok(row)
}

/// One webhook, without its secret.
pub async fn get(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<WebhookOut> {
    Ok(find(conn, caller, id).await?.into())
}

/// Removes a webhook: nothing more is written or sent to it, and its deliveries go with it.
pub async fn delete(conn: &mut AsyncPgConnection, caller: &Caller, id: Uuid) -> Result<()> {
    let row = find(conn, caller, id).await?;
    q::delete(conn, row.id).await?;
    Ok(())
}

/// A page of a webhook's delivery attempts, oldest first (paging checked after the 404/403).
pub async fn deliveries(
    conn: &mut AsyncPgConnection,
    caller: &Caller,
    id: Uuid,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<Paged<DeliveryOut>> {
    let row = find(conn, caller, id).await?;
    let page = Page::new(limit, cursor)?;
    let rows = q::deliveries(conn, row.id, page.after, page.limit + 1).await?;
    Ok(Paged::of(page.finish(rows, |d| d.id)))
}

/// Writes the event to the outbox of every active webhook of the need's city subscribed to it,
/// in the caller's transaction (the event's). `need` is the need after the event. The body is
/// serialized once, here, and stored: it is what is signed and sent on every attempt.
pub async fn enqueue(conn: &mut AsyncPgConnection, need: &NeedRow, event: &EventRow) -> Result<()> {
    let hooks = q::subscribed(conn, need.city_id, &event.action).await?;
    if hooks.is_empty() {
        return Ok(());
    }
    let id = event_id(need.id, event.seq);
    let body = serde_json::to_string(&WebhookEvent {
        id,
        kind: event.action.clone(),
        at: event.at,
        city_id: need.city_id,
        need: crate::service::needs::need_object(conn, need.id).await?,
    })
    .map_err(Error::internal)?;
    let now = Utc::now();
    let rows: Vec<NewOutbox> = hooks
        .into_iter()
        .map(|webhook_id| NewOutbox {
            webhook_id,
            event_id: id,
            need_id: need.id,
            seq: event.seq,
            body: &body,
            next_attempt_at: now,
            created_at: now,
        })
        .collect();
    q::enqueue(conn, &rows).await?;
    Ok(())
}

/// How the delivery worker claims rows.
#[derive(Debug, Clone, Copy)]
pub struct ClaimLimits {
    /// Rows to claim at most.
    pub limit: i64,
    /// Rows of one webhook in flight at most (in this worker).
    pub per_webhook: i32,
    /// How long a claimed row stays out of the others' reach.
    pub lease: Duration,
}

/// Claims due outbox rows for delivery (`FOR UPDATE SKIP LOCKED`, one per (webhook, need) in
/// `seq` order); `busy` counts the rows of each webhook this worker is still sending.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    limits: ClaimLimits,
    busy: &[(Uuid, i32)],
) -> Result<Vec<ClaimedRow>> {
    let ids: Vec<Uuid> = busy.iter().map(|b| b.0).collect();
    let counts: Vec<i32> = busy.iter().map(|b| b.1).collect();
    let lease_ms = i64::try_from(limits.lease.as_millis()).unwrap_or(i64::MAX);
    Ok(q::claim(
        conn,
        limits.limit,
        limits.per_webhook,
        &ids,
        &counts,
        lease_ms,
    )
    .await?)
}

/// What one attempt came to.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The receiver's status, if it answered.
    pub status: Option<u16>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

impl Attempt {
    /// A 2xx ends a delivery; anything else is retried.
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records an attempt on a claimed row: delivered on a 2xx; otherwise due again after the
/// backoff for its attempt number (scaled by `retry_base`, 1 s in production), or dead after
/// the last. Returns the outcome word (`delivered`, `retry`, `dead`), or `None` when the row
/// was gone (its webhook deleted meanwhile).
pub async fn record_attempt(
    conn: &mut AsyncPgConnection,
    row: &ClaimedRow,
    attempt: &Attempt,
    retry_base: Duration,
) -> Result<Option<&'static str>> {
    let number = row.attempts + 1;
    let now = Utc::now();
    let (status, outcome, next, finished) = if attempt.succeeded() {
        ("delivered", "delivered", now, Some(now))
    } else {
        match retry_after(number, retry_base).and_then(|d| chrono::Duration::from_std(d).ok()) {
            Some(wait) => ("pending", "retry", now + wait, None),
            None => ("dead", "dead", now, Some(now)),
        }
    };
    let delivery = DeliveryRow {
        id: Uuid::now_v7(),
        webhook_id: row.webhook_id,
        outbox_id: row.id,
        event_id: row.event_id,
        attempt: number,
        at: attempt.at,
        status: attempt.status.map(i32::from),
        error: attempt.error.clone(),
        outcome: outcome.to_string(),
    };
    let after = AfterAttempt {
        status,
        attempts: number,
        next_attempt_at: next,
        finished_at: finished,
    };
    let written = conn
        .transaction::<_, Error, _>(async move |conn| {
            Ok(q::record_attempt(conn, row.id, after, &delivery).await?)
        })
        .await?;
    Ok(written.then_some(outcome))
}

/// Seconds the oldest pending outbox row has waited (0 when none waits).
pub async fn outbox_lag_seconds(conn: &mut AsyncPgConnection) -> Result<f64> {
    let oldest = q::oldest_pending(conn).await?;
    Ok(oldest.map_or(0.0, |at| {
        (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0
    }))
}
