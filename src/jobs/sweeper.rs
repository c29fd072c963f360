//! The SLA sweeper loop: one pass every interval, errors logged and the loop kept alive.

use crate::db::DbPool;

/// How often the sweeper lists the attachments' store for orphaned objects.
const OBJECT_SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Runs the SLA sweeper every `interval` (none when zero). Each pass claims rows with
/// `SKIP LOCKED`, so several servers (or a server and `zhucan sweep`) may run it at once. It
/// also deletes the sign-in limits' expired counts and the console sessions that ended, merges
/// the needs report's summary deltas, and once an hour deletes the attachment objects no row
/// names (older than the grace period).
pub fn spawn_sweeper(
    pool: DbPool,
    objects: std::sync::Arc<crate::db::objects::Objects>,
    interval: std::time::Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    if interval.is_zero() {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut objects_swept: Option<std::time::Instant> = None;
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let mut conn = match pool.get().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "sweeper: no database connection");
                    continue;
                }
            };
            match crate::db::queries::login_limits::prune(&mut conn).await {
                Ok((failures, accounts)) if failures + accounts > 0 => {
                    tracing::debug!(failures, accounts, "sign-in limits: expired counts deleted")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sign-in limits: pruning failed"),
            }
            match crate::db::queries::sessions::prune(&mut conn, chrono::Utc::now()).await {
                Ok(n) if n > 0 => tracing::debug!(sessions = n, "console: ended sessions deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "console sessions: pruning failed"),
            }
            // orphaned attachment objects: a listing of the store, so once an hour
            if objects_swept.is_none_or(|t| t.elapsed() >= OBJECT_SWEEP_EVERY) {
                objects_swept = Some(std::time::Instant::now());
                match objects.sweep(&mut conn, chrono::Utc::now()).await {
                    Ok(n) if n > 0 => {
                        tracing::info!(deleted = n, "attachments: orphaned objects deleted")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "attachments: orphan sweep failed"),
                }
            }
            match crate::db::queries::reports::merge_needs_daily(&mut conn).await {
                Ok(n) if n > 0 => tracing::debug!(rows = n, "needs summary: deltas merged"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "needs summary: merging failed"),
            }
            match crate::service::sweep::sweep(&mut conn).await {
                Ok(r) if r.auto_escalated + r.breached + r.handovers > 0 => {
                    tracing::info!(
                        auto_escalated = r.auto_escalated,
                        breached = r.breached,
                        handovers = r.handovers,
                        "SLA sweep"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "sweeper failed"),
            }
        }
    }))
}
