//! The SLA sweep (督办): overdue social needs below the city climb a level, other overdue needs
//! are marked once, and open city needs pass to the president on duty.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use serde_json::json;

use crate::db::models::needs::NewEvent;
use crate::db::queries::{needs as queries, org};
use crate::domain::caller::Actor;
use crate::domain::need::{decide, Action, Relation};
use crate::error::{Error, Result};
use crate::service::events;
use crate::service::handover::handover;
use crate::service::needs::{apply, Extras, Step};
use crate::service::notifications;

/// What one sweep did.
#[derive(Debug, Default, Serialize, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// Social needs escalated automatically.
    pub auto_escalated: usize,
    /// Needs marked overdue (督办).
    pub breached: usize,
    /// City needs passed to the president on duty.
    pub handovers: usize,
    /// Handlers told that a need became at risk.
    pub at_risk_notices: usize,
    /// Village station users told of visits falling due.
    pub visit_reminders: usize,
}

/// One SLA pass. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so concurrent sweepers never
/// act twice on one need; each need is acted on at most once per pass (what this pass moved
/// waits for the next).
pub async fn sweep(conn: &mut AsyncPgConnection) -> Result<SweepReport> {
    let mut report = SweepReport::default();
    let started = Utc::now();
    loop {
        let batch = conn
            .transaction::<_, Error, _>(async |conn| {
                let rows = queries::claim_overdue(conn, started, 200).await?;
                let mut done = SweepReport::default();
                for mut n in rows {
                    // the system acts as the handler would: a need climbs exactly when the
                    // state machine lets its handler escalate it (social, below the city)
                    let system_rel = Relation {
                        handler_staff: true,
                        ..Relation::default()
                    };
                    let climbs = decide(n.view(), Action::Escalate, system_rel).is_ok();
                    n.ever_overdue = true;
                    let system = Actor::system();
                    if climbs {
                        let payload = json!({"reason": "SLA deadline passed", "due_at": n.due_at});
                        let step = Step {
                            action: Action::Escalate,
                            relation: system_rel,
                            extras: &Extras::default(),
                            actor: &system,
                            event: "auto_escalate",
                            payload,
                        };
                        apply(conn, n, step).await?;
                        done.auto_escalated += 1;
                    } else {
                        queries::mark_overdue(conn, n.id).await?;
                        // the event (and its webhook body) carries the need after it
                        n.overdue = true;
                        let payload = json!({"due_at": n.due_at});
                        let (from, now) = (Some(n.state), Utc::now());
                        events::record(
                            conn,
                            NewEvent {
                                need: &n,
                                action: "sla_breached",
                                from,
                                actor: &system,
                                at: now,
                                payload,
                            },
                        )
                        .await?;
                        notifications::overdue(conn, &n).await?;
                        done.breached += 1;
                    }
                }
                Ok(done)
            })
            .await?;
        report.auto_escalated += batch.auto_escalated;
        report.breached += batch.breached;
        if batch.auto_escalated + batch.breached == 0 {
            break;
        }
    }
    for city in org::city_ids(conn).await? {
        let n = conn
            .transaction::<_, Error, _>(async |conn| {
                handover(conn, city, &Actor::system(), true).await
            })
            .await?;
        report.handovers += n;
    }
    let now = Utc::now();
    report.at_risk_notices = notifications::at_risk(conn, now).await?;
    report.visit_reminders = notifications::visit_reminders(conn, now).await?;
    Ok(report)
}
