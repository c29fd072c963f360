//! `zhucan verify`: walks every need's history and every campaign's ledger, recomputing the
//! hash chains, and names every row that was changed, removed or reordered.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::models::ledger::LedgerEntry;
use crate::db::models::needs::EventRow;
use crate::db::schema::{ledger_entries, need_events, needs};
use crate::domain::chain::event_hash;
use crate::service::ledger::entry_hash;

/// What a walk found.
#[derive(Debug, Default)]
pub struct Report {
    /// Needs whose history was walked.
    pub needs: usize,
    /// Events checked.
    pub events: usize,
    /// Ledger rows checked.
    pub ledger_rows: usize,
    /// Attachment objects read and hashed.
    pub objects: usize,
    /// Every problem, one line each.
    pub problems: Vec<String>,
}

/// Walks the chains in batches (keyset on the primary keys).
pub async fn run(conn: &mut AsyncPgConnection) -> anyhow::Result<Report> {
    let mut report = Report::default();
    // need histories
    let mut after: (Uuid, i32) = (Uuid::nil(), 0);
    let mut current: Option<Uuid> = None;
    let mut prev: Option<Vec<u8>> = None;
    let mut expect_seq = 1;
    loop {
        let batch: Vec<EventRow> = need_events::table
            .filter(
                need_events::need_id.gt(after.0).or(need_events::need_id
                    .eq(after.0)
                    .and(need_events::seq.gt(after.1))),
            )
            .order((need_events::need_id, need_events::seq))
            .limit(20_000)
            .select(EventRow::as_select())
            .load(conn)
            .await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            if current != Some(e.need_id) {
                current = Some(e.need_id);
                prev = None;
                expect_seq = 1;
                report.needs += 1;
            }
            report.events += 1;
            if e.seq != expect_seq {
                report.problems.push(format!(
                    "need {}: event {} found where {} was expected (removed or reordered)",
                    e.need_id, e.seq, expect_seq
                ));
            }
            if e.prev_hash != prev {
                report.problems.push(format!(
                    "need {}: event {} does not follow the previous event's hash",
                    e.need_id, e.seq
                ));
            }
            if event_hash(e.prev_hash.as_deref(), &e.facts()) != e.hash {
                report.problems.push(format!(
                    "need {}: event {} ({}) was altered",
                    e.need_id, e.seq, e.action
                ));
            }
            prev = Some(e.hash.clone());
            expect_seq = e.seq + 1;
        }
        if let Some(last) = batch.last() {
            after = (last.need_id, last.seq);
        }
    }
    // every need has a history that starts with its filing, and its version counts its state changes
    #[derive(QueryableByName)]
    struct Mismatch {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        problem: String,
    }
    let keeps_state = crate::domain::need::KEEPS_STATE
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mismatches: Vec<Mismatch> = diesel::sql_query(format!(
        "SELECT n.id, CASE WHEN e.n IS NULL THEN 'has no history' \
                 WHEN e.changes <> n.version THEN 'version ' || n.version || ' but ' || e.changes || ' state changes in its history' \
                 ELSE 'its history ends in ' || e.last_state || ', not ' || n.state END AS problem \
         FROM needs n LEFT JOIN LATERAL ( \
            SELECT count(*) AS n, \
                   count(*) FILTER (WHERE action NOT IN ({keeps_state})) AS changes, \
                   (array_agg(to_state ORDER BY seq DESC))[1] AS last_state \
            FROM need_events WHERE need_id = n.id) e ON true \
         WHERE e.n = 0 OR e.changes <> n.version OR e.last_state <> n.state LIMIT 1000"
    ))
    .load(conn)
    .await?;
    for m in mismatches {
        report
            .problems
            .push(format!("need {}: {}", m.id, m.problem));
    }
    let _ = needs::table;
    // ledgers
    let mut after: (Uuid, i32) = (Uuid::nil(), 0);
    let mut current: Option<Uuid> = None;
    let mut prev: Option<Vec<u8>> = None;
    let mut expect_seq = 1;
    loop {
        let batch: Vec<LedgerEntry> = ledger_entries::table
            .filter(
                ledger_entries::campaign_id
                    .gt(after.0)
                    .or(ledger_entries::campaign_id
                        .eq(after.0)
                        .and(ledger_entries::seq.gt(after.1))),
            )
            .order((ledger_entries::campaign_id, ledger_entries::seq))
            .limit(20_000)
            .select(LedgerEntry::as_select())
            .load(conn)
            .await?;
        if batch.is_empty() {
            break;
        }
        for r in &batch {
            if current != Some(r.campaign_id) {
                current = Some(r.campaign_id);
                prev = None;
                expect_seq = 1;
            }
            report.ledger_rows += 1;
            if r.seq != expect_seq {
                report.problems.push(format!(
                    "campaign {}: ledger row {} found where {} was expected (removed or reordered)",
                    r.campaign_id, r.seq, expect_seq
                ));
            }
            if r.prev_hash != prev {
                report.problems.push(format!(
                    "campaign {}: ledger row {} does not follow the previous row's hash",
                    r.campaign_id, r.seq
                ));
            }
            if entry_hash(r.prev_hash.as_deref(), r) != r.hash {
                report.problems.push(format!(
                    "campaign {}: ledger row {} was altered",
                    r.campaign_id, r.seq
                ));
            }
            prev = Some(r.hash.clone());
            expect_seq = r.seq + 1;
        }
        if let Some(last) = batch.last() {
            after = (last.campaign_id, last.seq);
        }
    }
    // every balance equals its ledger
    let unbalanced: Vec<Mismatch> = diesel::sql_query(
        "SELECT b.campaign_id AS id, 'balance ' || b.balance || ' of ' || b.kind || ' ' || b.item || ' but the ledger sums to ' || coalesce(l.s, 0) AS problem \
         FROM campaign_balances b LEFT JOIN LATERAL (SELECT sum(amount) AS s FROM ledger_entries \
            WHERE campaign_id = b.campaign_id AND kind = b.kind AND item = b.item AND unit = b.unit) l ON true \
         WHERE b.balance <> coalesce(l.s, 0)",
    )
    .load(conn)
    .await?;
    for m in unbalanced {
        report
            .problems
            .push(format!("campaign {}: {}", m.id, m.problem));
    }
    Ok(report)
}

/// Reads every object an attachment row names and checks it exists with that size and sha256.
pub async fn objects(
    conn: &mut AsyncPgConnection,
    store: &crate::db::objects::Objects,
    report: &mut Report,
) -> anyhow::Result<()> {
    use crate::db::objects::Check;
    let mut after = String::new();
    loop {
        let batch = crate::db::queries::attachments::objects(conn, &after, 1000).await?;
        let Some(last) = batch.last() else {
            break;
        };
        after = last.0.clone();
        for (sha, size) in batch {
            report.objects += 1;
            match store.check(&sha, size as u64).await? {
                Check::Intact => {}
                Check::Missing => report.problems.push(format!(
                    "attachment object {sha}: missing from {}",
                    store.describe
                )),
                Check::Corrupt => report.problems.push(format!(
                    "attachment object {sha}: its bytes no longer match their sha256"
                )),
            }
        }
    }
    Ok(())
}
