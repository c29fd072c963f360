//! `seed --synthetic` at a small size produces data that satisfies every invariant of the model;
//! `verify` finds any tampering with the chains.

use crate::support::*;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};

#[derive(QueryableByName)]
struct N {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Fk {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    child: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Text)]
    cols: String,
    #[diesel(sql_type = Text)]
    pcols: String,
}

async fn schema(db: &mut diesel_async::AsyncPgConnection) -> Vec<String> {
    let lines: Vec<Line> = diesel::sql_query(zhucan::tools::synthetic::SCHEMA_FINGERPRINT_SQL)
        .load(db)
        .await
        .expect("schema fingerprint");
    lines.into_iter().map(|l| l.line).collect()
}

async fn count(db: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    let r: N = diesel::sql_query(sql)
        .get_result(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.n
}

#[tokio::test]
async fn a_small_synthetic_deployment_keeps_every_invariant_and_tampering_is_found() {
    let app = spawn_app().await;
    let params = zhucan::tools::synthetic::Params {
        cities: 2,
        persons: 3_000,
        needs_per_person: 2.0,
        persons_per_village: 50,
    };
    let hash = zhucan::auth::password::hash_blocking(PASSWORD).expect("hash");
    let migrated = schema(&mut app.db().await).await;
    assert!(migrated
        .iter()
        .any(|l| l.contains("need_events_append_only")));
    let summary = zhucan::tools::synthetic::run(&app.db_url, params, &app.state.pii, &hash)
        .await
        .expect("synthetic");
    // the load dropped secondary indexes and ran without triggers: all back, exactly as migrated
    assert_eq!(schema(&mut app.db().await).await, migrated);
    assert!(summary.frozen && summary.unchecked, "{summary:?}");
    let rows = |t: &str| {
        summary
            .rows
            .iter()
            .find(|r| r.0 == t)
            .map(|r| r.1)
            .unwrap_or(0)
    };
    assert_eq!(rows("persons"), 3_000);
    assert_eq!(rows("needs"), 6_000);
    let mut db = app.db().await;
    // the load skipped the foreign-key checks: every reference must hold all the same
    let fks: Vec<Fk> = diesel::sql_query(
        "SELECT conname::text AS name, conrelid::regclass::text AS child, confrelid::regclass::text AS parent, \
           (SELECT string_agg('c.' || quote_ident(a.attname), ',' ORDER BY k.ord) FROM unnest(conkey) WITH ORDINALITY k(att, ord) \
              JOIN pg_attribute a ON a.attrelid = conrelid AND a.attnum = k.att) AS cols, \
           (SELECT string_agg('p.' || quote_ident(a.attname), ',' ORDER BY k.ord) FROM unnest(confkey) WITH ORDINALITY k(att, ord) \
              JOIN pg_attribute a ON a.attrelid = confrelid AND a.attnum = k.att) AS pcols \
         FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace",
    )
    .load(&mut db)
    .await
    .expect("foreign keys");
    assert!(fks.len() > 40, "{}", fks.len());
    for fk in &fks {
        let not_null = fk
            .cols
            .split(',')
            .map(|c| format!("{c} IS NOT NULL"))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT count(*) AS n FROM {} c WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} p WHERE ({}) = ({}))",
            fk.child, fk.parent, fk.pcols, fk.cols
        );
        assert_eq!(count(&mut db, &sql).await, 0, "{}: {sql}", fk.name);
    }
    // the SLA report's event summary was rebuilt by the load: its follow-ups are the history's
    assert_eq!(
        count(
            &mut db,
            "SELECT coalesce(sum(followups), 0)::bigint AS n FROM sla_event_daily"
        )
        .await,
        count(
            &mut db,
            "SELECT count(*) AS n FROM need_events WHERE action = 'verify'"
        )
        .await
    );
    assert!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM need_events WHERE action = 'verify'"
        )
        .await
            > 0
    );
    // a user of every role, campaigns with a ledger, allocations recorded on needs, volunteer hours
    assert_eq!(
        count(&mut db, "SELECT count(DISTINCT role) AS n FROM users").await,
        8
    );
    assert_eq!(
        count(&mut db, "SELECT count(*) AS n FROM campaigns").await,
        6
    );
    assert!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM ledger_entries WHERE entry = 'allocation'"
        )
        .await
            > 0
    );
    assert_eq!(
        count(
            &mut db,
            "SELECT count(*) AS n FROM ledger_entries WHERE entry = 'allocation'"
        )
        .await,
        count(
            &mut db,
            "SELECT count(*) AS n FROM need_events WHERE action = 'allocate'"
        )
        .await
    );
    assert!(count(&mut db, "SELECT count(*) AS n FROM service_records").await > 0);
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM persons p WHERE p.group_size <> (SELECT count(*) FROM contact_group_members m WHERE m.person_id = p.id)").await, 0);
    // a synthetic user signs in with the documented password
    app.login("synthetic_admin").await;
    // contact groups: complete ones have exactly three distinct helpers of the person's town, within capacity
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM persons p WHERE p.group_size = 3 AND (SELECT count(DISTINCT helper_id) FROM contact_group_members m WHERE m.person_id = p.id) <> 3").await, 0);
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM persons p WHERE p.group_size = 0 AND EXISTS (SELECT 1 FROM contact_group_members m WHERE m.person_id = p.id)").await, 0);
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM contact_group_members m JOIN helpers h ON h.id = m.helper_id JOIN persons p ON p.id = m.person_id WHERE h.town_id <> p.town_id").await, 0);
    assert_eq!(count(&mut db, "SELECT count(*) AS n FROM (SELECT helper_id FROM contact_group_members GROUP BY helper_id HAVING count(*) > 10) x").await, 0);
    let incomplete = count(
        &mut db,
        "SELECT count(*) AS n FROM persons WHERE group_size < 3",
    )
    .await;
    assert!(incomplete > 0 && incomplete < 3_000);
    // needs in every state and both loops, at every level
    assert_eq!(
        count(&mut db, "SELECT count(DISTINCT state) AS n FROM needs").await,
        8
    );
    assert_eq!(
        count(&mut db, "SELECT count(DISTINCT loop) AS n FROM needs").await,
        2
    );
    assert_eq!(
        count(&mut db, "SELECT count(DISTINCT level) AS n FROM needs").await,
        3
    );
    // ID numbers are unique and sealed (the blind index is unique by constraint)
    assert_eq!(
        count(
            &mut db,
            "SELECT count(DISTINCT id_number_hash) AS n FROM persons"
        )
        .await,
        3_000
    );
    // histories: versions equal state changes, chains intact
    let report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    assert!(
        report.problems.is_empty(),
        "{:?}",
        &report.problems[..report.problems.len().min(5)]
    );
    assert_eq!(report.needs, 6_000);
    // tamper with one event (as the superuser, around the trigger): verify names it
    db.batch_execute(
        "ALTER TABLE need_events DISABLE TRIGGER need_events_append_only;
         UPDATE need_events SET actor = 'mallory' WHERE (need_id, seq) = (SELECT need_id, seq FROM need_events ORDER BY need_id, seq LIMIT 1);
         ALTER TABLE need_events ENABLE TRIGGER need_events_append_only;",
    )
    .await
    .expect("tamper");
    let report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains("was altered"));
}

#[tokio::test]
async fn verify_finds_a_removed_event_and_an_altered_ledger_row() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let id = w.need("village_v1", p["id"].as_str().unwrap_or("")).await["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    w.step(
        "village_v1",
        &id,
        "register",
        serde_json::json!({"loop": "social"}),
    )
    .await;
    w.step(
        "village_v1",
        &id,
        "comment",
        serde_json::json!({"text": "x"}),
    )
    .await;
    let c = w.app.post("/campaigns", w.tok("assoc_a"), serde_json::json!({"name": "x", "kind": "themed", "starts_on": "2026-01-01", "ends_on": "2026-12-31"})).await;
    let c = c.expect(201)["id"].as_str().unwrap_or("").to_string();
    w.app.post("/donations", w.tok("assoc_a"), serde_json::json!({"campaign_id": c, "kind": "funds", "amount_fen": 100, "donor_name": "x", "channel": "offline", "received_on": "2026-11-01"})).await.expect(201);
    let mut db = w.app.db().await;
    assert!(zhucan::tools::verify::run(&mut db)
        .await
        .expect("verify")
        .problems
        .is_empty());
    db.batch_execute(&format!(
        "ALTER TABLE need_events DISABLE TRIGGER need_events_append_only;
         DELETE FROM need_events WHERE need_id = '{id}' AND seq = 2;
         ALTER TABLE need_events ENABLE TRIGGER need_events_append_only;
         ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only;
         UPDATE ledger_entries SET amount = 1000000 WHERE campaign_id = '{c}';
         ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only;"
    ))
    .await
    .expect("tamper");
    let problems = zhucan::tools::verify::run(&mut db)
        .await
        .expect("verify")
        .problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&id) && p.contains("removed or reordered")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&c) && p.contains("altered")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&c) && p.contains("ledger sums")),
        "{problems:?}"
    );
}
