//! The webhook delivery worker: claims due outbox rows (`FOR UPDATE SKIP LOCKED` and a lease,
//! so several `serve` processes never send one row at once), POSTs them signed, and records
//! each attempt through `service::webhooks`. Deliveries run concurrently across needs and
//! webhooks, bounded in all and per webhook, each under a timeout, so a receiver that hangs
//! holds only its own share. Database errors are logged and retried; `stop` lets the
//! deliveries in flight finish.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::config::WebhookSettings;
use crate::db::models::webhooks::ClaimedRow;
use crate::db::DbPool;
use crate::domain::webhook::{parse_target, signature};
use crate::service::webhooks::{self as svc, Attempt, ClaimLimits};

/// Resolves webhook hosts through [`svc::resolve_public`]: the connection goes only to the
/// addresses checked here, so a name cannot be re-pointed at an internal address between the
/// check and the connect (DNS rebinding).
struct PublicOnly {
    allow_private: bool,
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            // the connector puts the URL's port on each address
            let addrs = svc::resolve_public(name.as_str(), 0, allow_private)
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { e.into() })?;
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client deliveries use: no proxy (it would hide the target's address from the
/// check), no redirects (a 3xx is a failed attempt), the worker's timeouts.
fn client(settings: &WebhookSettings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        .timeout(settings.timeout)
        .user_agent(concat!("zhucan-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(PublicOnly {
            allow_private: settings.allow_private,
        }))
        .build()
}

/// A running worker.
pub struct Outbox {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Outbox {
    /// Stops claiming and waits for the deliveries in flight (each bounded by the timeout).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "webhook worker ended abnormally");
        }
    }
}

/// Starts the worker (none when `settings.poll` is zero).
pub fn spawn(pool: DbPool, settings: WebhookSettings) -> anyhow::Result<Option<Outbox>> {
    if settings.poll.is_zero() {
        return Ok(None);
    }
    let client = client(&settings)?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(run(pool, settings, client, stopped));
    Ok(Some(Outbox { stop, task }))
}

/// Deliveries of one webhook in flight at once in one worker.
fn per_webhook(settings: &WebhookSettings) -> i32 {
    i32::try_from((settings.concurrency / 4).max(1)).unwrap_or(4)
}

/// How long a claimed row stays out of other workers' reach: the longest a delivery may take
/// plus time to record it. A worker that dies leaves it to fall due again after this.
fn lease(settings: &WebhookSettings) -> Duration {
    settings.timeout + Duration::from_secs(30)
}

async fn run(
    pool: DbPool,
    settings: WebhookSettings,
    client: reqwest::Client,
    mut stopped: watch::Receiver<bool>,
) {
    let mut inflight: JoinSet<()> = JoinSet::new();
    let mut owner: HashMap<tokio::task::Id, Uuid> = HashMap::new();
    let mut busy: HashMap<Uuid, i32> = HashMap::new();
    let mut db_down = false;
    loop {
        if *stopped.borrow() {
            break;
        }
        let free = settings.concurrency.saturating_sub(inflight.len());
        let mut more = false;
        if free > 0 {
            match claim(&pool, &settings, free, &busy).await {
                Ok(rows) => {
                    if db_down {
                        tracing::info!("webhook worker: database reachable again");
                        db_down = false;
                    }
                    more = rows.len() == free;
                    for row in rows {
                        *busy.entry(row.webhook_id).or_default() += 1;
                        let webhook = row.webhook_id;
                        let job = deliver(pool.clone(), client.clone(), settings.clone(), row);
                        owner.insert(inflight.spawn(job).id(), webhook);
                    }
                }
                Err(e) => {
                    if !db_down {
                        tracing::warn!(error = %e, "webhook worker: cannot claim deliveries; retrying");
                        db_down = true;
                    }
                }
            }
        }
        let wait = if more { Duration::ZERO } else { settings.poll };
        tokio::select! {
            Some(done) = inflight.join_next_with_id(), if !inflight.is_empty() => {
                let id = match done {
                    Ok((id, ())) => id,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook delivery task failed");
                        e.id()
                    }
                };
                if let Some(w) = owner.remove(&id) {
                    if let Some(n) = busy.get_mut(&w) {
                        *n -= 1;
                        if *n <= 0 {
                            busy.remove(&w);
                        }
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.changed() => {}
        }
    }
    while inflight.join_next().await.is_some() {}
}

async fn claim(
    pool: &DbPool,
    settings: &WebhookSettings,
    free: usize,
    busy: &HashMap<Uuid, i32>,
) -> anyhow::Result<Vec<ClaimedRow>> {
    let mut conn = pool.get().await?;
    let busy: Vec<(Uuid, i32)> = busy.iter().map(|(w, n)| (*w, *n)).collect();
    let limits = ClaimLimits {
        limit: i64::try_from(free).unwrap_or(1),
        per_webhook: per_webhook(settings),
        lease: lease(settings),
    };
    let rows = svc::claim(&mut conn, limits, &busy).await?;
    // outbox lag: how long the oldest event still waiting for delivery has waited
    let lag = svc::outbox_lag_seconds(&mut conn).await?;
    metrics::gauge!("zhucan_webhook_outbox_lag_seconds").set(lag);
    Ok(rows)
}

/// Sends one claimed row and records the attempt, retrying the record while the database is
/// away (within the lease: after it, the row falls due again and is sent again — at least once).
async fn deliver(
    pool: DbPool,
    client: reqwest::Client,
    settings: WebhookSettings,
    row: ClaimedRow,
) {
    let attempt = send(&client, &settings, &row).await;
    let deadline = tokio::time::Instant::now() + lease(&settings) - settings.timeout;
    loop {
        let recorded = async {
            let mut conn = pool.get().await?;
            svc::record_attempt(&mut conn, &row, &attempt, settings.retry_base)
                .await
                .map_err(anyhow::Error::from)
        };
        match recorded.await {
            Ok(Some(outcome)) => {
                metrics::counter!("zhucan_webhook_deliveries_total", "outcome" => outcome.to_string())
                    .increment(1);
                tracing::debug!(event_id = %row.event_id, webhook_id = %row.webhook_id, outcome, status = ?attempt.status, "webhook attempt");
                if outcome == "dead" {
                    tracing::warn!(event_id = %row.event_id, webhook_id = %row.webhook_id, error = ?attempt.error, "webhook delivery dead after its last attempt");
                }
                return;
            }
            Ok(None) => return,
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::warn!(error = %e, event_id = %row.event_id, "webhook attempt not recorded yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, event_id = %row.event_id, "webhook attempt not recorded; the event will be sent again");
                return;
            }
        }
    }
}

/// One POST of the stored body, signed.
async fn send(client: &reqwest::Client, settings: &WebhookSettings, row: &ClaimedRow) -> Attempt {
    let at = chrono::Utc::now();
    let failed = |error: String| Attempt {
        at,
        status: None,
        error: Some(error),
    };
    // a literal address is never resolved, so the range check for it is here
    let url = match parse_target(&row.url, settings.allow_private) {
        Ok(u) => u,
        Err(why) => return failed(format!("url {why}")),
    };
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Zhucan-Event-Id", row.event_id.to_string())
        .header(
            "X-Zhucan-Signature",
            signature(row.secret.as_bytes(), row.body.as_bytes()),
        )
        .body(row.body.clone())
        .send()
        .await;
    match sent {
        Ok(res) => {
            let status = res.status();
            Attempt {
                at,
                status: Some(status.as_u16()),
                error: (!status.is_success()).then(|| format!("HTTP {status}")),
            }
        }
        Err(e) => failed(describe(&e)),
    }
}

/// The error with its causes (reqwest's own message alone says little), at most 500 characters.
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text.chars().take(500).collect()
}
