//! Campaigns, donations, allocations and the ledger; volunteer teams and hours; site records.

use crate::support::*;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

async fn campaign(w: &World) -> String {
    let r = w
        .app
        .post("/campaigns", w.tok("assoc_a"), json!({"name": "温暖过冬", "kind": "themed", "starts_on": "2026-11-01", "ends_on": "2027-02-28", "target_categories": ["daily_care"], "goal_fen": 5_000_000}))
        .await;
    s(r.expect(201), "id")
}

async fn social_need(w: &World, n: u32) -> String {
    let p = w.person("village_v1", "v1", n).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    id
}

async fn funds(w: &World, campaign: &str, fen: i64) -> Value {
    let r = w
        .app
        .post("/donations", w.tok("assoc_a"), json!({"campaign_id": campaign, "kind": "funds", "amount_fen": fen, "donor_name": "爱心企业", "channel": "online_platform", "received_on": "2026-11-20"}))
        .await;
    r.expect(201).clone()
}

#[tokio::test]
async fn campaigns_are_run_by_the_association_and_validated() {
    let w = world().await;
    let id = campaign(&w).await;
    for who in ["town_t1", "village_v1", "auditor_a", "officer_t1"] {
        w.app.post("/campaigns", w.tok(who), json!({"name": "x", "kind": "themed", "starts_on": "2026-01-01", "ends_on": "2026-02-01"})).await.problem(403, "forbidden");
    }
    let r = w.app.post("/campaigns", w.tok("admin_a"), json!({"name": "", "kind": "party", "starts_on": "2026-03-01", "ends_on": "2026-02-01", "target_categories": ["fun"]})).await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["ends_on", "kind", "name", "target_categories[0]"]);
    let r = w.app.post("/campaigns", w.tok("admin_a"), json!({"name": "复明助残", "kind": "special", "starts_on": "2026-03-01", "ends_on": "2026-04-01", "goal_fen": 1000.5})).await;
    assert_eq!(r.fields(), vec!["goal_fen"]);
    let c = w
        .app
        .get(&format!("/campaigns/{id}"), w.tok("village_v1"))
        .await;
    assert_eq!(c.expect(200)["funds"]["balance_fen"], 0);
    w.app
        .get(&format!("/campaigns/{id}"), w.tok("admin_b"))
        .await
        .problem(404, "not_found");
    let list = w.app.get("/campaigns", w.tok("admin_b")).await;
    assert_eq!(list.expect(200)["items"], json!([]));
}

#[tokio::test]
async fn donations_take_integer_fen_and_materials_and_show_in_the_balances() {
    let w = world().await;
    let c = campaign(&w).await;
    funds(&w, &c, 100_000).await;
    let base = json!({"campaign_id": c, "kind": "funds", "donor_name": "张三", "channel": "offline", "received_on": "2026-11-20"});
    for bad in [json!(1000.0), json!("1000"), json!(-5), json!(0)] {
        let mut b = base.clone();
        b["amount_fen"] = bad.clone();
        let r = w.app.post("/donations", w.tok("assoc_a"), b).await;
        r.problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["amount_fen"], "{bad}");
    }
    let mut b = base.clone();
    b["amount_fen"] = json!(500);
    b["channel"] = json!("cash-in-hand");
    assert_eq!(
        w.app.post("/donations", w.tok("assoc_a"), b).await.fields(),
        vec!["channel"]
    );
    let m = w
        .app
        .post("/donations", w.tok("president_a"), json!({"campaign_id": c, "kind": "materials", "items": [
            {"item": "轮椅", "quantity": 5, "unit": "台", "value_fen": 400_000},
            {"item": "棉被", "quantity": 20, "unit": "床"}], "donor_name": "圆梦微公益服务中心", "channel": "transfer", "received_on": "2026-11-21"}))
        .await;
    assert_eq!(m.expect(201)["items"].as_array().map(|a| a.len()), Some(2));
    let r = w.app.post("/donations", w.tok("assoc_a"), json!({"campaign_id": c, "kind": "materials", "items": [{"item": "轮椅", "quantity": 1.5, "unit": "台"}], "donor_name": "x", "channel": "offline", "received_on": "2026-11-21"})).await;
    assert_eq!(r.fields(), vec!["items[0].quantity"]);
    w.app.post("/donations", w.tok("village_v1"), json!({"campaign_id": c, "kind": "funds", "amount_fen": 100, "donor_name": "x", "channel": "offline", "received_on": "2026-11-21"})).await.problem(403, "forbidden");
    let r = w.app.post("/donations", w.tok("admin_b"), json!({"campaign_id": c, "kind": "funds", "amount_fen": 100, "donor_name": "x", "channel": "offline", "received_on": "2026-11-21"})).await;
    assert_eq!(r.fields(), vec!["campaign_id"]);
    let got = w
        .app
        .get(&format!("/campaigns/{c}"), w.tok("town_t1"))
        .await;
    let got = got.expect(200).clone();
    assert_eq!(
        got["funds"],
        json!({"raised_fen": 100_000, "allocated_fen": 0, "balance_fen": 100_000})
    );
    let chairs = got["materials"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["item"] == "轮椅").cloned())
        .unwrap_or_default();
    assert_eq!(
        (
            chairs["raised"].as_i64(),
            chairs["balance"].as_i64(),
            chairs["value_fen"].as_i64()
        ),
        (Some(5), Some(5), Some(400_000))
    );
    let list = w
        .app
        .get(&format!("/donations?campaign_id={c}"), w.tok("assoc_a"))
        .await;
    assert_eq!(
        list.expect(200)["items"].as_array().map(|a| a.len()),
        Some(2)
    );
}

#[tokio::test]
async fn allocations_move_resources_to_social_needs_and_never_below_zero() {
    let w = world().await;
    let c = campaign(&w).await;
    funds(&w, &c, 50_000).await;
    w.app
        .post("/donations", w.tok("assoc_a"), json!({"campaign_id": c, "kind": "materials", "items": [{"item": "助听器", "quantity": 2, "unit": "副"}], "donor_name": "x", "channel": "offline", "received_on": "2026-11-21"}))
        .await
        .expect(201);
    let need = social_need(&w, 1).await;
    let path = format!("/needs/{need}/allocations");
    let r = w
        .app
        .post(
            &path,
            w.tok("town_t1"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 30_000, "note": "购买轮椅"}),
        )
        .await;
    assert_eq!(r.expect(201)["amount"], -30_000);
    w.app
        .post(
            &path,
            w.tok("town_t1"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 30_000}),
        )
        .await
        .problem(409, "insufficient_balance");
    let r = w
        .app
        .post(
            &path,
            w.tok("assoc_a"),
            json!({"campaign_id": c, "kind": "materials", "item": "助听器", "quantity": 2}),
        )
        .await;
    r.expect(201);
    w.app
        .post(
            &path,
            w.tok("assoc_a"),
            json!({"campaign_id": c, "kind": "materials", "item": "助听器", "quantity": 1}),
        )
        .await
        .problem(409, "insufficient_balance");
    w.app
        .post(
            &path,
            w.tok("assoc_a"),
            json!({"campaign_id": c, "kind": "materials", "item": "拐杖", "quantity": 1}),
        )
        .await
        .problem(409, "insufficient_balance");
    let r = w
        .app
        .post(
            &path,
            w.tok("town_t1"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 10.5}),
        )
        .await;
    assert_eq!(r.fields(), vec!["amount_fen"]);
    for who in ["auditor_a", "officer_t1", "site_t1"] {
        w.app
            .post(
                &path,
                w.tok(who),
                json!({"campaign_id": c, "kind": "funds", "amount_fen": 1}),
            )
            .await
            .problem(
                if who == "auditor_a" { 403 } else { 404 },
                if who == "auditor_a" {
                    "forbidden"
                } else {
                    "not_found"
                },
            );
    }
    w.app
        .post(
            &path,
            w.tok("town_t2"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 1}),
        )
        .await
        .problem(404, "not_found");
    // a policy-loop need takes no resources
    let p = w.person("village_v1", "v1", 2).await;
    let policy = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &policy, "register", json!({"loop": "policy"}))
        .await;
    w.app
        .post(
            &format!("/needs/{policy}/allocations"),
            w.tok("town_t1"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 1}),
        )
        .await
        .problem(409, "conflict");
    let got = w
        .app
        .get(&format!("/campaigns/{c}"), w.tok("assoc_a"))
        .await;
    assert_eq!(
        got.body["funds"],
        json!({"raised_fen": 50_000, "allocated_fen": 30_000, "balance_fen": 20_000})
    );
    // the need's history records each allocation without moving its version
    let n = w
        .app
        .get(&format!("/needs/{need}"), w.tok("village_v1"))
        .await;
    assert_eq!(n.body["version"], 2);
    let allocs = w
        .history(&need)
        .await
        .iter()
        .filter(|(a, _, _)| a == "allocate")
        .count();
    assert_eq!(allocs, 2);
    let mine = w.app.get(&path, w.tok("village_v1")).await;
    assert_eq!(
        mine.expect(200)["items"].as_array().map(|a| a.len()),
        Some(2)
    );
}

#[tokio::test]
async fn corrections_are_reversing_entries_and_keep_the_balance_non_negative() {
    let w = world().await;
    let c = campaign(&w).await;
    let d = funds(&w, &c, 10_000).await;
    let need = social_need(&w, 3).await;
    let alloc = w
        .app
        .post(
            &format!("/needs/{need}/allocations"),
            w.tok("assoc_a"),
            json!({"campaign_id": c, "kind": "funds", "amount_fen": 8_000}),
        )
        .await;
    let alloc_id = s(alloc.expect(201), "id");
    let donation_entry = d["ledger_entry_ids"][0].as_str().unwrap_or("").to_string();
    // reversing the donation would take the balance below zero
    w.app
        .post(
            &format!("/ledger-entries/{donation_entry}/reversal"),
            w.tok("assoc_a"),
            json!({"reason": "录入错误"}),
        )
        .await
        .problem(409, "insufficient_balance");
    let r = w
        .app
        .post(
            &format!("/ledger-entries/{alloc_id}/reversal"),
            w.tok("assoc_a"),
            json!({"reason": "需求已由其他渠道解决"}),
        )
        .await;
    assert_eq!(r.expect(201)["amount"], 8_000);
    w.app
        .post(
            &format!("/ledger-entries/{alloc_id}/reversal"),
            w.tok("assoc_a"),
            json!({"reason": "again"}),
        )
        .await
        .problem(409, "conflict");
    let r = w
        .app
        .post(
            &format!("/ledger-entries/{donation_entry}/reversal"),
            w.tok("assoc_a"),
            json!({"reason": "录入错误"}),
        )
        .await;
    r.expect(201);
    let got = w
        .app
        .get(&format!("/campaigns/{c}"), w.tok("assoc_a"))
        .await;
    assert_eq!(
        got.body["funds"],
        json!({"raised_fen": 0, "allocated_fen": 0, "balance_fen": 0})
    );
    let list = w
        .app
        .get(&format!("/donations?campaign_id={c}"), w.tok("assoc_a"))
        .await;
    assert_eq!(list.body["items"][0]["reversed"], true);
    w.app
        .post(
            &format!("/ledger-entries/{alloc_id}/reversal"),
            w.tok("admin_b"),
            json!({"reason": "x"}),
        )
        .await
        .problem(404, "not_found");
    w.app
        .post(
            &format!("/ledger-entries/{alloc_id}/reversal"),
            w.tok("town_t1"),
            json!({"reason": "x"}),
        )
        .await
        .problem(403, "forbidden");
}

#[tokio::test]
async fn racing_allocations_never_overdraw_and_the_ledger_replays_to_the_balances() {
    let w = world().await;
    let c = campaign(&w).await;
    funds(&w, &c, 7_000).await;
    funds(&w, &c, 3_000).await;
    let need = social_need(&w, 4).await;
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let client = w.app.client.clone();
        let url = format!("{}/api/v1/needs/{need}/allocations", w.app.base);
        let tok = w.tok("assoc_a").to_string();
        let body = json!({"campaign_id": c, "kind": "funds", "amount_fen": 1_000});
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(tok)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut codes = Vec::new();
    for t in tasks {
        codes.push(t.await.unwrap_or(0));
    }
    assert_eq!(codes.iter().filter(|c| **c == 201).count(), 10, "{codes:?}");
    assert!(codes.iter().all(|c| *c == 201 || *c == 409), "{codes:?}");
    let got = w
        .app
        .get(&format!("/campaigns/{c}"), w.tok("assoc_a"))
        .await;
    assert_eq!(
        got.body["funds"],
        json!({"raised_fen": 10_000, "allocated_fen": 10_000, "balance_fen": 0})
    );
    // replay the ledger: its sums are the reported balances, and the chain is in order
    let ledger = w
        .app
        .get(
            &format!("/campaigns/{c}/ledger?limit=200"),
            w.tok("assoc_a"),
        )
        .await;
    let rows = ledger.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let sum: i64 = rows.iter().filter_map(|r| r["amount"].as_i64()).sum();
    let raised: i64 = rows
        .iter()
        .filter(|r| r["entry"] == "donation")
        .filter_map(|r| r["amount"].as_i64())
        .sum();
    let allocated: i64 = -rows
        .iter()
        .filter(|r| r["entry"] == "allocation")
        .filter_map(|r| r["amount"].as_i64())
        .sum::<i64>();
    assert_eq!((sum, raised, allocated), (0, 10_000, 10_000));
    let seqs: Vec<i64> = rows.iter().filter_map(|r| r["seq"].as_i64()).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<i64>>());
    assert_eq!(
        w.history(&need)
            .await
            .iter()
            .filter(|(a, _, _)| a == "allocate")
            .count(),
        10
    );
}

#[tokio::test]
async fn volunteer_hours_are_recorded_capped_per_day_and_totalled() {
    let w = world().await;
    let team = w
        .app
        .post(
            "/volunteer-teams",
            w.tok("village_v1"),
            json!({"name": "管得宽志愿服务队"}),
        )
        .await;
    let team = s(team.expect(201), "id");
    w.app
        .post("/volunteer-teams", w.tok("auditor_a"), json!({"name": "x"}))
        .await
        .problem(403, "forbidden");
    let r = w
        .app
        .post(
            "/volunteer-teams",
            w.tok("village_v1"),
            json!({"name": "x", "org_unit_id": w.unit("v2")}),
        )
        .await;
    assert_eq!(r.fields(), vec!["org_unit_id"]);
    let h = w
        .app
        .post(
            "/helpers",
            w.tok("village_v1"),
            json!({"name": "泉小哥", "kind": "volunteer", "volunteer_team_id": team}),
        )
        .await;
    let h = s(h.expect(201), "id");
    let need = social_need(&w, 5).await;
    let rec = |hours: Value, day: &str| json!({"helper_id": h, "need_id": need, "served_on": day, "hours": hours});
    w.app
        .post(
            "/service-records",
            w.tok("village_v1"),
            rec(json!(8), "2026-11-20"),
        )
        .await
        .expect(201);
    w.app
        .post(
            "/service-records",
            w.tok("town_t1"),
            rec(json!(15.5), "2026-11-20"),
        )
        .await
        .expect(201);
    for bad in [
        json!(1),
        json!(0),
        json!(-2),
        json!(1.3),
        json!("2"),
        json!(25),
    ] {
        let r = w
            .app
            .post(
                "/service-records",
                w.tok("village_v1"),
                rec(bad.clone(), "2026-11-20"),
            )
            .await;
        assert_eq!(r.fields(), vec!["hours"], "{bad}");
    }
    w.app
        .post(
            "/service-records",
            w.tok("village_v1"),
            rec(json!(0.5), "2026-11-20"),
        )
        .await
        .expect(201);
    w.app
        .post(
            "/service-records",
            w.tok("village_v1"),
            rec(json!(2), "2026-11-21"),
        )
        .await
        .expect(201);
    let r = w
        .app
        .post(
            "/service-records",
            w.tok("village_v2"),
            rec(json!(1), "2026-11-22"),
        )
        .await;
    assert_eq!(r.fields(), vec!["need_id"]);
    let t = w
        .app
        .get(&format!("/volunteer-teams/{team}"), w.tok("admin_a"))
        .await;
    assert_eq!(
        (
            t.expect(200)["members"].as_i64(),
            t.body["total_hours"].as_f64()
        ),
        (Some(1), Some(26.0))
    );
    let byh = w
        .app
        .get(
            &format!("/service-records?helper_id={h}"),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(byh.expect(200)["total_hours"].as_f64(), Some(26.0));
    assert_eq!(byh.body["items"].as_array().map(|a| a.len()), Some(4));
    let other = w
        .app
        .get(&format!("/service-records?helper_id={h}"), w.tok("admin_b"))
        .await;
    assert_eq!(other.expect(200)["total_hours"].as_f64(), Some(0.0));
    w.app
        .get(&format!("/volunteer-teams/{team}"), w.tok("admin_b"))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn an_extension_site_sees_its_queue_and_keeps_a_record_of_what_it_handled() {
    let w = world().await;
    w.on_duty("president_a").await;
    let need = social_need(&w, 6).await;
    w.step(
        "village_v1",
        &need,
        "assign",
        json!({"extension_site_id": w.orgs["site_t1"]}),
    )
    .await;
    let q = w.app.get("/needs", w.tok("site_t1")).await;
    assert_eq!(q.expect(200)["items"].as_array().map(|a| a.len()), Some(1));
    let rec = w
        .app
        .get(
            &format!("/organizations/{}/record", w.orgs["site_t1"]),
            w.tok("site_t1"),
        )
        .await;
    assert_eq!(
        (rec.expect(200)["total"].as_i64(), rec.body["open"].as_i64()),
        (Some(1), Some(1))
    );
    w.step(
        "site_t1",
        &need,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "康复训练三次"}),
    )
    .await;
    let rec = w
        .app
        .get(
            &format!("/organizations/{}/record", w.orgs["site_t1"]),
            w.tok("admin_a"),
        )
        .await;
    assert_eq!(
        (
            rec.expect(200)["handled"].as_i64(),
            rec.body["open"].as_i64()
        ),
        (Some(1), Some(0))
    );
    w.app
        .get(
            &format!("/organizations/{}/record", w.orgs["site_t1"]),
            w.tok("admin_b"),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get(
            &format!("/organizations/{}/record", w.orgs["civil_t1"]),
            w.tok("site_t1"),
        )
        .await
        .problem(404, "not_found");
}
