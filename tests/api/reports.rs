//! The coverage report: 三帮一 coverage per unit and child unit.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn coverage_moves_when_a_group_is_completed() {
    let w = world().await;
    let p1 = w.person("village_v1", "v1", 1).await;
    w.person("village_v1", "v1", 2).await;
    w.person("village_v2", "v2", 3).await;
    w.person("village_v3", "v3", 4).await;
    let before = w
        .app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("t1")),
            w.tok("town_t1"),
        )
        .await;
    let b = before.expect(200).clone();
    assert_eq!(b["totals"]["active_persons"], 3);
    assert_eq!(b["totals"]["covered_persons"], 0);
    assert_eq!(b["totals"]["coverage_rate"], 0.0);
    assert_eq!(b["incomplete"].as_array().map(|a| a.len()), Some(3));
    let hs = [
        w.helper("village_v1", "v1", "甲").await,
        w.helper("village_v1", "v1", "乙").await,
        w.helper("village_v1", "v1", "丙").await,
    ];
    w.app
        .put(
            &format!("/persons/{}/contact-group", p1["id"].as_str().unwrap_or("")),
            w.tok("village_v1"),
            json!({"helper_ids": hs}),
        )
        .await
        .expect(200);
    let after = w
        .app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("t1")),
            w.tok("town_t1"),
        )
        .await;
    let a = after.expect(200).clone();
    assert_eq!(a["org_unit"]["kind"], "town");
    assert_eq!(a["totals"]["active_persons"], 3);
    assert_eq!(a["totals"]["covered_persons"], 1);
    assert_eq!(a["totals"]["coverage_rate"], 1.0 / 3.0);
    let children = a["children"].as_array().cloned().unwrap_or_default();
    assert_eq!(children.len(), 2);
    assert_eq!(children[0]["org_unit"]["id"], w.unit("v1").to_string());
    assert_eq!(children[0]["active_persons"], 2);
    assert_eq!(children[0]["covered_persons"], 1);
    assert_eq!(children[0]["coverage_rate"], 0.5);
    assert_eq!(children[1]["active_persons"], 1);
    assert_eq!(children[1]["covered_persons"], 0);
    // the city sees its towns; a town with nobody yet has a null rate, not a division by zero
    let city = w.app.get("/reports/coverage", w.tok("admin_a")).await;
    let c = city.expect(200).clone();
    assert_eq!(c["totals"]["active_persons"], 4);
    assert_eq!(c["children"].as_array().map(|a| a.len()), Some(2));
    let empty = w
        .app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("bv")),
            w.tok("admin_b"),
        )
        .await;
    assert!(empty.expect(200)["totals"]["coverage_rate"].is_null());
    // every person is overdue for a visit until visited
    assert_eq!(a["totals"]["overdue_visits"], 3);
}

#[tokio::test]
async fn coverage_of_a_unit_out_of_scope_is_not_found() {
    let w = world().await;
    w.app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("t2")),
            w.tok("town_t1"),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("v2")),
            w.tok("village_v1"),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get(
            &format!("/reports/coverage?org_unit_id={}", w.unit("city_a")),
            w.tok("admin_b"),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get(
            "/reports/coverage?from=2026-05-01&to=2026-01-01",
            w.tok("town_t1"),
        )
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/reports/coverage?org_unit_id=nope", w.tok("town_t1"))
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/reports/coverage", w.tok("auditor_t1"))
        .await
        .expect(200);
}

mod figures {
    use crate::support::*;
    use diesel_async::SimpleAsyncConnection;
    use serde_json::{json, Value};

    fn s(v: &Value, k: &str) -> String {
        v[k].as_str().unwrap_or("").to_string()
    }

    async fn past_due(w: &World, need: &str) {
        let mut db = w.app.db().await;
        db.batch_execute(&format!(
            "UPDATE needs SET due_at = now() - interval '1 hour' WHERE id = '{need}'"
        ))
        .await
        .expect("arrange");
    }

    /// A small town with known needs: returns (w, ids of needs by letter).
    async fn town() -> (World, std::collections::HashMap<&'static str, String>) {
        let w = world().await;
        w.on_duty("president_a").await;
        let p1 = s(&w.person("village_v1", "v1", 1).await, "id");
        let p2 = s(&w.person("village_v2", "v2", 2).await, "id");
        let mut ids = std::collections::HashMap::new();
        // A: policy loop, closed on time, satisfied (5)
        let a = s(&w.need("village_v1", &p1).await, "id");
        w.step("village_v1", &a, "register", json!({"loop": "policy"}))
            .await;
        w.step(
            "village_v1",
            &a,
            "refer",
            json!({"department_id": w.orgs["civil_t1"]}),
        )
        .await;
        w.step("officer_t1", &a, "accept", json!({})).await;
        w.step(
            "officer_t1",
            &a,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "ok"}),
        )
        .await;
        w.step(
            "village_v1",
            &a,
            "verify",
            json!({"satisfied": true, "satisfaction": 5}),
        )
        .await;
        ids.insert("A", a);
        // B: social, reopened once (2), then closed satisfied (4)
        let b = s(&w.need("village_v1", &p1).await, "id");
        w.step("village_v1", &b, "register", json!({"loop": "social"}))
            .await;
        w.step("village_v1", &b, "accept", json!({})).await;
        w.step(
            "village_v1",
            &b,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "ok"}),
        )
        .await;
        w.step(
            "village_v1",
            &b,
            "verify",
            json!({"satisfied": false, "satisfaction": 2}),
        )
        .await;
        ids.insert("B", b);
        // C: policy, referred, returned, withdrawn
        let c = s(&w.need("village_v2", &p2).await, "id");
        w.step("village_v2", &c, "register", json!({"loop": "policy"}))
            .await;
        w.step(
            "village_v2",
            &c,
            "refer",
            json!({"department_id": w.orgs["civil_t1"]}),
        )
        .await;
        w.step("officer_t1", &c, "return", json!({"reason": "not ours"}))
            .await;
        w.step("village_v2", &c, "withdraw", json!({"reason": "solved"}))
            .await;
        ids.insert("C", c);
        // D: policy, referred, rerouted into the social loop (open, at the town)
        let d = s(&w.need("village_v2", &p2).await, "id");
        w.step("village_v2", &d, "register", json!({"loop": "policy"}))
            .await;
        w.step(
            "village_v2",
            &d,
            "refer",
            json!({"department_id": w.orgs["civil_t1"]}),
        )
        .await;
        w.step(
            "officer_t1",
            &d,
            "reroute",
            json!({"reason": "policy cannot"}),
        )
        .await;
        ids.insert("D", d);
        // E: reported and past its deadline
        let e = s(&w.need("village_v1", &p1).await, "id");
        past_due(&w, &e).await;
        ids.insert("E", e);
        // G: social, closed after its deadline passed (late), satisfied (5)
        let g = s(&w.need("village_v1", &p1).await, "id");
        w.step("village_v1", &g, "register", json!({"loop": "social"}))
            .await;
        w.step("village_v1", &g, "accept", json!({})).await;
        w.step(
            "village_v1",
            &g,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "ok"}),
        )
        .await;
        ids.insert("G", g);
        (w, ids)
    }

    #[tokio::test]
    async fn every_figure_of_the_needs_sla_funds_and_volunteer_reports() {
        let (w, ids) = town().await;
        let (b, g) = (ids["B"].clone(), ids["G"].clone());
        // resources for B and G while they are open
        let c = w.app.post("/campaigns", w.tok("assoc_a"), json!({"name": "辅具助残", "kind": "special", "starts_on": "2026-01-01", "ends_on": "2026-12-31"})).await;
        let c = s(c.expect(201), "id");
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive()
            .to_string();
        for (fen, ch) in [(10_000, "offline"), (5_000, "online_platform")] {
            w.app.post("/donations", w.tok("assoc_a"), json!({"campaign_id": c, "kind": "funds", "amount_fen": fen, "donor_name": "x", "channel": ch, "received_on": today})).await.expect(201);
        }
        w.app
            .post(
                &format!("/needs/{b}/allocations"),
                w.tok("village_v1"),
                json!({"campaign_id": c, "kind": "funds", "amount_fen": 3_000}),
            )
            .await
            .expect(201);
        w.app
            .post(
                &format!("/needs/{g}/allocations"),
                w.tok("village_v1"),
                json!({"campaign_id": c, "kind": "funds", "amount_fen": 2_000}),
            )
            .await
            .expect(201);
        let team = s(
            w.app
                .post(
                    "/volunteer-teams",
                    w.tok("village_v1"),
                    json!({"name": "管得宽"}),
                )
                .await
                .expect(201),
            "id",
        );
        let h1 = s(
            w.app
                .post(
                    "/helpers",
                    w.tok("village_v1"),
                    json!({"name": "甲", "kind": "volunteer", "volunteer_team_id": team}),
                )
                .await
                .expect(201),
            "id",
        );
        let h2 = s(
            w.app
                .post(
                    "/helpers",
                    w.tok("village_v1"),
                    json!({"name": "乙", "kind": "volunteer"}),
                )
                .await
                .expect(201),
            "id",
        );
        w.app
            .post(
                "/service-records",
                w.tok("village_v1"),
                json!({"helper_id": h1, "need_id": b, "served_on": today, "hours": 3}),
            )
            .await
            .expect(201);
        w.app
            .post(
                "/service-records",
                w.tok("village_v1"),
                json!({"helper_id": h2, "need_id": g, "served_on": today, "hours": 1.5}),
            )
            .await
            .expect(201);
        // finish B and G; G after its deadline
        w.step(
            "village_v1",
            &b,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "again"}),
        )
        .await;
        w.step(
            "village_v1",
            &b,
            "verify",
            json!({"satisfied": true, "satisfaction": 4}),
        )
        .await;
        past_due(&w, &g).await;
        w.step(
            "village_v1",
            &g,
            "verify",
            json!({"satisfied": true, "satisfaction": 5}),
        )
        .await;

        let t1 = w.unit("t1");
        let sla = w
            .app
            .get(&format!("/reports/sla?org_unit_id={t1}"), w.tok("town_t1"))
            .await;
        let t = sla.expect(200)["totals"].clone();
        assert_eq!(t["closed"], 3);
        assert_eq!(t["closed_on_time"], 2);
        assert_eq!(t["on_time_rate"], json!(2.0 / 3.0));
        assert_eq!(t["overdue_now"], 1);
        assert_eq!(t["auto_escalations"], 0);
        assert_eq!(t["reopen_rate"], json!(1.0 / 3.0));
        assert_eq!(t["followups"], 4);
        assert_eq!(t["satisfied_followups"], 3);
        assert_eq!(t["satisfaction_rate"], 0.75);
        assert_eq!(t["mean_satisfaction"], 4.0);
        assert_eq!(t["mean_days_to_close"], 0.0);
        assert_eq!(t["p90_days_to_close"], 0.0);
        assert_eq!(t["returns"], 1);
        assert_eq!(t["reroutes"], 1);
        let ch = sla.body["children"].as_array().cloned().unwrap_or_default();
        assert_eq!(ch.len(), 2);
        assert_eq!(
            (
                ch[0]["org_unit"]["id"].as_str(),
                ch[0]["closed"].as_i64(),
                ch[0]["followups"].as_i64()
            ),
            (Some(w.unit("v1").to_string().as_str()), Some(3), Some(4))
        );
        assert_eq!(
            (
                ch[1]["closed"].as_i64(),
                ch[1]["returns"].as_i64(),
                ch[1]["reroutes"].as_i64()
            ),
            (Some(0), Some(1), Some(1))
        );
        assert!(ch[1]["on_time_rate"].is_null() && ch[1]["satisfaction_rate"].is_null());

        let needs = w
            .app
            .get(
                &format!("/reports/needs?org_unit_id={t1}"),
                w.tok("town_t1"),
            )
            .await;
        let n = needs.expect(200)["totals"].clone();
        assert_eq!(
            (n["opened"].as_i64(), n["closed"].as_i64()),
            (Some(6), Some(3))
        );
        assert_eq!(n["by_state"]["closed"], 3);
        assert_eq!(n["by_state"]["withdrawn"], 1);
        assert_eq!(n["by_state"]["escalated"], 1);
        assert_eq!(n["by_state"]["reported"], 1);
        assert_eq!(n["by_state"]["in_progress"], 0);
        assert_eq!(
            (
                n["by_loop"]["policy"].as_i64(),
                n["by_loop"]["social"].as_i64(),
                n["by_loop"]["untriaged"].as_i64()
            ),
            (Some(2), Some(3), Some(1))
        );
        assert_eq!(
            (
                n["by_level"]["village"].as_i64(),
                n["by_level"]["town"].as_i64(),
                n["by_level"]["city"].as_i64()
            ),
            (Some(4), Some(2), Some(0))
        );
        assert_eq!(n["by_category"]["assistive_device"], 6);
        let kids = needs.body["children"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (kids[0]["opened"].as_i64(), kids[1]["opened"].as_i64()),
            (Some(4), Some(2))
        );
        // a period before anything happened is empty
        let empty = w
            .app
            .get(
                &format!("/reports/needs?org_unit_id={t1}&from=2020-01-01&to=2020-12-31"),
                w.tok("town_t1"),
            )
            .await;
        assert_eq!(empty.expect(200)["totals"]["opened"], 0);

        let funds = w.app.get("/reports/funds", w.tok("admin_a")).await;
        let f = funds.expect(200)["totals"].clone();
        assert_eq!(f["raised_fen"], 15_000);
        assert_eq!(
            f["by_channel"],
            json!({"offline": 10_000, "online_platform": 5_000, "transfer": 0})
        );
        assert_eq!(
            (
                f["allocated_fen"].as_i64(),
                f["allocations"].as_i64(),
                f["needs_helped"].as_i64()
            ),
            (Some(5_000), Some(2), Some(2))
        );
        let camp = funds.body["campaigns"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            (
                camp.len(),
                camp[0]["raised_fen"].as_i64(),
                camp[0]["allocated_fen"].as_i64()
            ),
            (1, Some(15_000), Some(5_000))
        );
        let town_funds = w
            .app
            .get(
                &format!("/reports/funds?org_unit_id={t1}"),
                w.tok("town_t1"),
            )
            .await;
        let tf = town_funds.expect(200).clone();
        assert!(tf["totals"]["raised_fen"].is_null());
        assert_eq!(tf["totals"]["allocated_fen"], 5_000);
        assert_eq!(
            (
                tf["children"][0]["allocated_fen"].as_i64(),
                tf["children"][1]["allocated_fen"].as_i64()
            ),
            (Some(5_000), Some(0))
        );

        let vol = w
            .app
            .get(
                &format!("/reports/volunteers?org_unit_id={t1}"),
                w.tok("town_t1"),
            )
            .await;
        let v = vol.expect(200).clone();
        assert_eq!(
            v["totals"],
            json!({"hours": 4.5, "records": 2, "helpers": 2, "teams": 1})
        );
        assert_eq!(v["children"][0]["hours"], 4.5);
        assert_eq!(v["children"][1]["hours"], 0.0);
        assert_eq!(v["teams"][0]["hours"], 3.0);
        assert_eq!(v["helpers"][0]["name"], "甲");

        // CSV: BOM, header, the unit's row, one row per child — the same figures
        let csv = w
            .app
            .client
            .get(format!(
                "{}/api/v1/reports/sla?org_unit_id={t1}&format=csv",
                w.app.base
            ))
            .bearer_auth(w.tok("town_t1"))
            .send()
            .await
            .expect("csv");
        assert_eq!(
            csv.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/csv; charset=utf-8")
        );
        let bytes = csv.bytes().await.expect("body");
        assert_eq!(&bytes[..3], &[0xEF, 0xBB, 0xBF]);
        let mut reader = csv::Reader::from_reader(&bytes[3..]);
        let header: Vec<String> = reader
            .headers()
            .expect("header")
            .iter()
            .map(String::from)
            .collect();
        assert_eq!(
            &header[..3],
            &["org_unit_id", "org_unit_kind", "org_unit_name"]
        );
        let records: Vec<csv::StringRecord> = reader.records().filter_map(Result::ok).collect();
        assert_eq!(records.len(), 3);
        let col = |name: &str| header.iter().position(|h| h == name).expect("column");
        assert_eq!(&records[0][col("closed")], "3");
        assert_eq!(&records[0][col("satisfaction_rate")], "0.75");
        assert_eq!(&records[2][col("reroutes")], "1");
        // Chinese headers
        let zh = w
            .app
            .client
            .get(format!(
                "{}/api/v1/reports/sla?org_unit_id={t1}&format=csv&lang=zh",
                w.app.base
            ))
            .bearer_auth(w.tok("town_t1"))
            .send()
            .await
            .expect("csv");
        let zh = zh.text().await.expect("text");
        assert!(zh.contains("按时办结率") && zh.contains("满意率"));
        // XLSX parses back to the same figures
        let x = w
            .app
            .client
            .get(format!(
                "{}/api/v1/reports/volunteers?org_unit_id={t1}&format=xlsx",
                w.app.base
            ))
            .bearer_auth(w.tok("town_t1"))
            .send()
            .await
            .expect("xlsx");
        assert_eq!(
            x.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        let bytes = x.bytes().await.expect("body");
        use calamine::{Reader, Xlsx};
        let mut book: Xlsx<_> =
            Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx opens");
        let sheet = book.worksheet_range_at(0).expect("a sheet").expect("range");
        let rows: Vec<Vec<String>> = sheet
            .rows()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect();
        let hcol = rows[0]
            .iter()
            .position(|h| h == "hours")
            .expect("hours column");
        assert_eq!(
            (rows.len(), rows[1][hcol].as_str(), rows[2][hcol].as_str()),
            (4, "4.5", "4.5")
        );
        w.app
            .get(
                &format!("/reports/sla?org_unit_id={t1}&format=pdf"),
                w.tok("town_t1"),
            )
            .await
            .problem(422, "validation_failed");

        // the event summary the SLA report reads, kept row by row by its trigger, equals a
        // recomputation from the history
        #[derive(diesel::QueryableByName)]
        struct Snap {
            #[diesel(sql_type = diesel::sql_types::Text)]
            rows: String,
        }
        let snap = "SELECT coalesce(string_agg(format('%s %s %s %s %s %s %s %s %s', village_id, day, \
                    auto_escalations, followups, satisfied, satisfaction_sum, satisfaction_n, returns, \
                    reroutes), E'\\n' ORDER BY village_id, day), '') AS rows FROM sla_event_daily";
        let mut db = w.app.db().await;
        let kept: Snap = diesel_async::RunQueryDsl::get_result(diesel::sql_query(snap), &mut db)
            .await
            .expect("summary");
        assert!(
            kept.rows.contains(" 1 "),
            "the summary holds the follow-ups: {}",
            kept.rows
        );
        db.batch_execute("SELECT sla_event_daily_rebuild()")
            .await
            .expect("rebuild");
        let rebuilt: Snap = diesel_async::RunQueryDsl::get_result(diesel::sql_query(snap), &mut db)
            .await
            .expect("summary");
        assert_eq!(kept.rows, rebuilt.rows);
    }

    #[tokio::test]
    async fn reports_refuse_out_of_scope_units_and_narrow_roles() {
        let w = world().await;
        for r in ["needs", "sla", "funds", "volunteers"] {
            w.app
                .get(
                    &format!("/reports/{r}?org_unit_id={}", w.unit("t2")),
                    w.tok("town_t1"),
                )
                .await
                .problem(404, "not_found");
            w.app
                .get(
                    &format!("/reports/{r}?org_unit_id={}", w.unit("city_a")),
                    w.tok("admin_b"),
                )
                .await
                .problem(404, "not_found");
            w.app
                .get(&format!("/reports/{r}"), w.tok("officer_t1"))
                .await
                .problem(403, "forbidden");
            w.app
                .get(&format!("/reports/{r}"), w.tok("auditor_t1"))
                .await
                .expect(200);
            w.app
                .get(&format!("/reports/{r}"), w.tok("root"))
                .await
                .problem(422, "validation_failed");
            w.app
                .get(
                    &format!("/reports/{r}?city_id={}", w.unit("city_b")),
                    w.tok("root"),
                )
                .await
                .expect(200);
        }
    }
}
