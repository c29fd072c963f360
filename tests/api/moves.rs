//! Persons on the move (SPEC §6): a transfer carries the person's open needs with it (their
//! village and scope; a need at village level to the new village's handler of the same kind), a
//! `transfer` event each; `deceased` / `moved_out` withdraws them with the reason and dissolves
//! the contact group; reports count the needs where they now are.

use crate::support::*;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// A person of V1 with open needs in several states and one closed need:
/// (reported, registered in the social loop, escalated to the town, referred to T1's civil
/// affairs department, closed).
async fn person_with_needs(w: &World, n: u32) -> (String, Vec<String>, String) {
    let p = s(&w.person("village_v1", "v1", n).await, "id");
    let reported = s(&w.need("village_v1", &p).await, "id");
    let social = s(&w.need("village_v1", &p).await, "id");
    w.step("village_v1", &social, "register", json!({"loop": "social"}))
        .await;
    let town = s(&w.need("village_v1", &p).await, "id");
    w.step("village_v1", &town, "register", json!({"loop": "social"}))
        .await;
    w.step(
        "village_v1",
        &town,
        "escalate",
        json!({"reason": "村里解决不了"}),
    )
    .await;
    let referred = s(&w.need("village_v1", &p).await, "id");
    w.step("vdpf_v1", &referred, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &referred,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    let closed = s(&w.need("village_v1", &p).await, "id");
    w.step("village_v1", &closed, "register", json!({"loop": "social"}))
        .await;
    w.step("village_v1", &closed, "accept", json!({})).await;
    w.step(
        "village_v1",
        &closed,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "已送轮椅"}),
    )
    .await;
    w.step(
        "village_v1",
        &closed,
        "verify",
        json!({"satisfied": true, "satisfaction": 5}),
    )
    .await;
    (p, vec![reported, social, town, referred], closed)
}

async fn need(w: &World, id: &str) -> Value {
    w.app
        .get(&format!("/needs/{id}"), w.tok("admin_a"))
        .await
        .expect(200)
        .clone()
}

/// `zhucan verify` finds every history consistent: versions count the state changes (a
/// `transfer` is none), chains intact.
async fn verified(w: &World) {
    let mut db = w.app.db().await;
    let report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

async fn patch_person(w: &World, who: &str, person: &str, body: Value) -> Resp {
    let v = w
        .app
        .get(&format!("/persons/{person}"), w.tok(who))
        .await
        .expect(200)["version"]
        .as_i64();
    w.app
        .patch(&format!("/persons/{person}"), w.tok(who), body, v)
        .await
}

#[tokio::test]
async fn a_transfer_carries_each_open_need_to_the_new_village_and_leaves_the_closed_one() {
    let w = world().await;
    let (p, open, closed) = person_with_needs(&w, 1).await;
    let before: Vec<Value> = futures_util::future::join_all(open.iter().map(|n| need(&w, n))).await;

    patch_person(&w, "town_t1", &p, json!({"village_id": w.unit("v2")}))
        .await
        .expect(200);

    let after: Vec<Value> = futures_util::future::join_all(open.iter().map(|n| need(&w, n))).await;
    let v2 = w.unit("v2").to_string();
    for (b, a) in before.iter().zip(&after) {
        assert_eq!(s(a, "village_id"), v2, "{}", s(a, "case_number"));
        assert_eq!(a["village_name"], "西关社区");
        assert_eq!(a["state"], b["state"], "a transfer changes no state");
        assert_eq!(a["version"], b["version"], "nor the version");
        let last = w.history(&s(a, "id")).await;
        assert_eq!(
            last.last().map(|e| e.0.as_str()),
            Some("transfer"),
            "a transfer event on {}",
            s(a, "case_number")
        );
    }
    let handler = |i: usize| s(&after[i], "handler_organization_id");
    // at village level: the new village's organisation of the same kind
    assert_eq!(
        s(&before[0], "handler_organization_id"),
        w.orgs["vdpf_v1"].to_string()
    );
    assert_eq!(handler(0), w.orgs["vdpf_v2"].to_string());
    assert_eq!(handler(1), w.orgs["station_v2"].to_string());
    // held by the town (the same town) or its department: unchanged
    assert_eq!(handler(2), w.orgs["centre_t1"].to_string());
    assert_eq!(handler(3), w.orgs["civil_t1"].to_string());
    // the closed need stays where it was handled
    assert_eq!(
        s(&need(&w, &closed).await, "village_id"),
        w.unit("v1").to_string()
    );

    // the old village no longer sees the moved needs; the new one does, and has them on its desk
    for n in &open {
        w.app
            .get(&format!("/needs/{n}"), w.tok("village_v1"))
            .await
            .problem(404, "not_found");
        w.app
            .get(&format!("/needs/{n}"), w.tok("village_v2"))
            .await
            .expect(200);
    }
    let inbox = w.app.get("/inbox", w.tok("village_v2")).await;
    let ids = item_ids(inbox.expect(200));
    assert!(ids.contains(&open[1]), "the social need is on V2's desk");
    let told = w
        .app
        .get("/me/notifications", w.tok("village_v2"))
        .await
        .expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(told
        .iter()
        .any(|x| x["kind"] == "transfer" && x["need_id"] == open[1].as_str()));
    // the town's own need did not change desks: nobody is told of it
    assert!(!told.iter().any(|x| x["need_id"] == open[2].as_str()));
    verified(&w).await;
}

#[tokio::test]
async fn a_transfer_to_another_town_moves_town_needs_to_its_counterparts_or_is_refused() {
    let w = world().await;
    let (p, open, _) = person_with_needs(&w, 1).await;
    // the referred need moves to T2's civil affairs department, the escalated one to T2's centre
    patch_person(&w, "admin_a", &p, json!({"village_id": w.unit("v3")}))
        .await
        .expect(200);
    assert_eq!(
        s(&need(&w, &open[2]).await, "handler_organization_id"),
        w.orgs["centre_t2"].to_string()
    );
    let referred = need(&w, &open[3]).await;
    assert_eq!(
        s(&referred, "handler_organization_id"),
        w.orgs["civil_t2"].to_string()
    );
    assert_eq!(s(&referred, "town_id"), w.unit("t2").to_string());
    // T2's officer sees and may act on it; T1's does not see it any more
    let r = w
        .app
        .get(&format!("/needs/{}", open[3]), w.tok("officer_t2"))
        .await;
    let allowed = r.expect(200)["allowed_actions"].clone();
    assert!(allowed
        .as_array()
        .is_some_and(|a| a.contains(&json!("accept"))));
    w.app
        .get(&format!("/needs/{}", open[0]), w.tok("town_t1"))
        .await
        .problem(404, "not_found");

    // a need held by a department the new town does not have: refused, nothing moves
    let q = s(&w.person("village_v1", "v1", 2).await, "id");
    let health = s(&w.need("village_v1", &q).await, "id");
    w.step("vdpf_v1", &health, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &health,
        "refer",
        json!({"department_id": w.orgs["health_t1"]}),
    )
    .await;
    let r = patch_person(&w, "admin_a", &q, json!({"village_id": w.unit("v3")})).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["village_id"]);
    let still = w.app.get(&format!("/persons/{q}"), w.tok("admin_a")).await;
    assert_eq!(s(still.expect(200), "village_id"), w.unit("v1").to_string());
    assert_eq!(
        s(&need(&w, &health).await, "village_id"),
        w.unit("v1").to_string()
    );
}

#[tokio::test]
async fn a_death_withdraws_every_open_need_with_the_reason_and_dissolves_the_group() {
    let w = world().await;
    let (p, open, closed) = person_with_needs(&w, 1).await;
    let h1 = w.helper("village_v1", "v1", "王建国").await;
    let h2 = w.helper("village_v1", "v1", "李秀英").await;
    let h3 = w.helper("village_v1", "v1", "孔德胜").await;
    w.app
        .put(
            &format!("/persons/{p}/contact-group"),
            w.tok("village_v1"),
            json!({"helper_ids": [h1, h2, h3]}),
        )
        .await
        .expect(200);

    patch_person(&w, "village_v1", &p, json!({"status": "deceased"}))
        .await
        .expect(200);

    for n in &open {
        let after = need(&w, n).await;
        assert_eq!(after["state"], "withdrawn", "{}", s(&after, "case_number"));
        let events = w
            .app
            .get(&format!("/needs/{n}/events"), w.tok("admin_a"))
            .await;
        let last = events.expect(200)["items"]
            .as_array()
            .and_then(|a| a.last().cloned())
            .unwrap_or_default();
        assert_eq!(last["action"], "withdraw");
        assert_eq!(last["payload"]["reason"], "残疾人已去世");
        assert_eq!(last["payload"]["person_status"], "deceased");
    }
    assert_eq!(need(&w, &closed).await["state"], "closed");
    let group = w
        .app
        .get(&format!("/persons/{p}/contact-group"), w.tok("village_v1"))
        .await;
    assert_eq!(group.expect(200)["members"], json!([]));
    // nothing is left on anyone's desk
    for who in ["village_v1", "vdpf_v1", "town_t1", "officer_t1"] {
        let inbox = w.app.get("/inbox", w.tok(who)).await;
        let ids = item_ids(inbox.expect(200));
        assert!(open.iter().all(|n| !ids.contains(n)), "{who}'s inbox");
    }

    // moving out likewise, with its own reason
    let (q, open, _) = person_with_needs(&w, 2).await;
    patch_person(&w, "town_t1", &q, json!({"status": "moved_out"}))
        .await
        .expect(200);
    let last = w
        .app
        .get(&format!("/needs/{}/events", open[2]), w.tok("admin_a"))
        .await
        .expect(200)["items"]
        .as_array()
        .and_then(|a| a.last().cloned())
        .unwrap_or_default();
    assert_eq!(last["payload"]["reason"], "残疾人已迁出");
    verified(&w).await;
}

/// The SLA summary rows, as text, in a stable order.
async fn summary(w: &World) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        r: String,
    }
    let mut db = w.app.db().await;
    diesel::sql_query(
        "SELECT concat_ws(' ', village_id, day, auto_escalations, followups, satisfied, \
         satisfaction_sum, satisfaction_n, returns, reroutes) AS r \
         FROM sla_event_daily ORDER BY village_id, day",
    )
    .load::<Row>(&mut db)
    .await
    .expect("summary")
    .into_iter()
    .map(|r| r.r)
    .collect()
}

#[tokio::test]
async fn reports_count_moved_needs_where_they_now_are_and_the_summary_equals_a_rebuild() {
    let w = world().await;
    let p = s(&w.person("village_v1", "v1", 1).await, "id");
    // an open need with counted events: returned by a department, then an unsatisfied follow-up
    let n = s(&w.need("village_v1", &p).await, "id");
    w.step("vdpf_v1", &n, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &n,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    w.step("officer_t1", &n, "return", json!({"reason": "不属本部门"}))
        .await;
    let other = s(&w.need("village_v1", &p).await, "id");
    w.step("village_v1", &other, "register", json!({"loop": "social"}))
        .await;
    w.step("village_v1", &other, "accept", json!({})).await;
    w.step(
        "village_v1",
        &other,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "已办"}),
    )
    .await;
    w.step(
        "village_v1",
        &other,
        "verify",
        json!({"satisfied": false, "satisfaction": 2}),
    )
    .await;
    let report = |kind: &'static str, unit: &'static str| {
        let w = &w;
        async move {
            let r = w
                .app
                .get(
                    &format!("/reports/{kind}?org_unit_id={}", w.unit("t1")),
                    w.tok("admin_a"),
                )
                .await;
            r.expect(200)["children"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .find(|row| row["org_unit"]["id"] == w.unit(unit).to_string())
                .unwrap_or_default()
        }
    };
    let sla = |unit: &'static str| report("sla", unit);
    let v1_before = sla("v1").await;
    assert_eq!(v1_before["returns"], 1, "{v1_before}");

    patch_person(&w, "town_t1", &p, json!({"village_id": w.unit("v2")}))
        .await
        .expect(200);

    let (v1, v2) = (sla("v1").await, sla("v2").await);
    assert_eq!(v1["returns"], 0, "{v1}");
    assert_eq!(v2["returns"], 1, "{v2}");
    assert_eq!(v2["followups"], v1_before["followups"], "{v2}");
    let maintained = summary(&w).await;
    w.app.sql("SELECT sla_event_daily_rebuild()").await;
    assert_eq!(
        maintained,
        summary(&w).await,
        "the summary equals a rebuild"
    );

    // the needs report counts both needs in V2 now, none in V1
    assert_eq!(report("needs", "v1").await["opened"], 0);
    assert_eq!(report("needs", "v2").await["opened"], 2);

    // the needs report's summary, kept as deltas by its trigger, sums to a rebuild; merged by
    // the sweeper it is the same, and so is the report
    let kept = needs_summary(&w).await;
    assert!(!kept.is_empty());
    // a whole city's report reads the per-town rollup and the deltas: its row for the town is
    // the town's own totals, before the merge (deltas only), after it and after a rebuild
    let town_in_city = || {
        let w = &w;
        async move {
            let city = w
                .app
                .get(
                    &format!("/reports/needs?org_unit_id={}", w.unit("city_a")),
                    w.tok("admin_a"),
                )
                .await
                .expect(200)
                .clone();
            let mut row = city["children"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .find(|row| row["org_unit"]["id"] == w.unit("t1").to_string())
                .unwrap_or_default();
            if let Some(o) = row.as_object_mut() {
                o.remove("org_unit");
            }
            let town = w
                .app
                .get(
                    &format!("/reports/needs?org_unit_id={}", w.unit("t1")),
                    w.tok("admin_a"),
                )
                .await
                .expect(200)
                .clone();
            (row, town["totals"].clone())
        }
    };
    let (in_city, town) = town_in_city().await;
    assert_eq!(in_city, town, "the city's row for T1 from deltas");
    assert_eq!(town["opened"], 2, "{town}");
    let v2 = report("needs", "v2").await;
    // the returned need is registered again, the unsatisfied follow-up reopened the other
    assert_eq!(
        (
            v2["closed"].clone(),
            v2["by_state"]["registered"].clone(),
            v2["by_state"]["in_progress"].clone(),
            v2["by_loop"]["policy"].clone(),
        ),
        (json!(0), json!(1), json!(1), json!(1)),
        "{v2}"
    );
    w.app.sql("SELECT needs_daily_merge()").await;
    assert_eq!(kept, needs_summary(&w).await, "merged");
    let (in_city, merged_town) = town_in_city().await;
    assert_eq!(
        in_city, merged_town,
        "the city's row for T1 from the rollup"
    );
    assert_eq!(merged_town, town, "the town's totals, merged");
    let rollup = town_rollup(&w).await;
    assert!(!rollup.is_empty());
    assert_eq!(
        report("needs", "v2").await,
        v2,
        "the report from merged rows"
    );
    w.app.sql("SELECT needs_daily_rebuild()").await;
    assert_eq!(kept, needs_summary(&w).await, "rebuilt");
    assert_eq!(
        rollup,
        town_rollup(&w).await,
        "the town rollup equals a rebuild"
    );
    assert_eq!(
        town_in_city().await,
        (town.clone(), town),
        "after a rebuild"
    );
    assert_eq!(report("needs", "v2").await, v2, "the report from a rebuild");
}

/// The needs summary's per-town rollup per town and day, as text.
async fn town_rollup(w: &World) -> Vec<String> {
    summary_rows(w, "town_id", "needs_daily_town").await
}

/// The needs summary per village and day, deltas and merged rows summed, as text.
async fn needs_summary(w: &World) -> Vec<String> {
    summary_rows(w, "village_id", "needs_daily").await
}

/// A summary table's rows per unit and day, summed over its rows, as text (days that count
/// nothing left out, as a rebuild leaves them out).
async fn summary_rows(w: &World, unit: &str, table: &str) -> Vec<String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Text)]
        r: String,
    }
    let sums: Vec<String> = zhucan::db::queries::reports::NEEDS_DAILY_COLUMNS
        .iter()
        .map(|c| format!("sum({c})"))
        .collect();
    let mut db = w.app.db().await;
    diesel::sql_query(format!(
        "SELECT concat_ws(' ', {unit}, day, {}) AS r FROM {table} \
         GROUP BY {unit}, day HAVING {} ORDER BY {unit}, day",
        sums.join(", "),
        sums.iter()
            .map(|s| format!("{s} <> 0"))
            .collect::<Vec<_>>()
            .join(" OR ")
    ))
    .load::<Row>(&mut db)
    .await
    .expect("needs summary")
    .into_iter()
    .map(|r| r.r)
    .collect()
}
