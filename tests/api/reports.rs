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
    assert_eq!(a["totals"]["coverage_rate"], 0.3333);
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
