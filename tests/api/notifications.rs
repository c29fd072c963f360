//! Notifications (SPEC §6): the people who may now act on a need are told, in the event's
//! transaction, and never of their own action; the sweeper's at-risk and overdue notices go out
//! once per need and state; each village station hears daily of visits falling due.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// The (kind, need_id) of a user's notifications, newest first.
async fn inbox_of(w: &World, who: &str) -> Vec<(String, String)> {
    let r = w.app.get("/me/notifications", w.tok(who)).await;
    r.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|n| (s(n, "kind"), s(n, "need_id")))
        .collect()
}

#[tokio::test]
async fn each_desk_event_tells_whoever_may_now_act_and_never_the_actor() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let n = w.need("village_v1", &s(&p, "id")).await;
    let id = s(&n, "id");
    // filed at the village: the 村残协 (handler) is told to register it, not the filer
    assert_eq!(
        inbox_of(&w, "vdpf_v1").await,
        vec![("file".into(), id.clone())]
    );
    assert!(inbox_of(&w, "village_v1").await.is_empty());
    // registered into the social loop by the station's own worker: the station is the handler
    // now, and its only user is the actor, so nobody new is told
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    assert!(inbox_of(&w, "village_v1").await.is_empty());
    // escalated: the town centre must sign for it
    w.step(
        "village_v1",
        &id,
        "escalate",
        json!({"reason": "村里解决不了"}),
    )
    .await;
    assert_eq!(
        inbox_of(&w, "town_t1").await,
        vec![("escalate".into(), id.clone())]
    );
    assert!(
        inbox_of(&w, "town_t2").await.is_empty(),
        "another town hears nothing"
    );
    // accepting puts nothing on anyone else's desk; resolving asks the village to follow up
    w.step("town_t1", &id, "accept", json!({})).await;
    w.step(
        "town_t1",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "已配发轮椅"}),
    )
    .await;
    let v1 = inbox_of(&w, "village_v1").await;
    assert_eq!(v1, vec![("resolve".into(), id.clone())]);
    assert_eq!(
        inbox_of(&w, "vdpf_v1").await.first(),
        Some(&("resolve".into(), id.clone()))
    );
    assert_eq!(
        inbox_of(&w, "town_t1").await.len(),
        1,
        "the resolver is not told of its own act"
    );
    // an unsatisfied follow-up reopens it on the handler's desk
    w.step(
        "village_v1",
        &id,
        "verify",
        json!({"satisfied": false, "satisfaction": 2, "note": "轮椅太小"}),
    )
    .await;
    assert_eq!(
        inbox_of(&w, "town_t1").await.first(),
        Some(&("verify".into(), id.clone()))
    );
    // a referral tells the department at once
    let p2 = w.person("village_v1", "v1", 2).await;
    let n2 = w.need("village_v1", &s(&p2, "id")).await;
    let id2 = s(&n2, "id");
    w.step("vdpf_v1", &id2, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &id2,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    assert_eq!(
        inbox_of(&w, "officer_t1").await,
        vec![("refer".into(), id2.clone())]
    );
    assert!(
        inbox_of(&w, "health_t1").await.is_empty(),
        "another department hears nothing"
    );
    // the item carries the title in Chinese and whether it was read
    let r = w.app.get("/me/notifications", w.tok("officer_t1")).await;
    let item = &r.expect(200)["items"][0];
    assert!(s(item, "title").contains("转介") && item["read_at"].is_null());
    assert!(item
        .as_object()
        .is_some_and(|o| o.contains_key("case_number")));
}

#[tokio::test]
async fn notifications_are_read_one_by_one_or_all_and_only_by_their_owner() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 3).await;
    for category in ["medical", "housing", "education"] {
        let n = w
            .app
            .post(
                "/needs",
                w.tok("village_v1"),
                json!({"person_id": s(&p, "id"), "category": category, "description": "复诊"}),
            )
            .await;
        n.expect(201);
    }
    let all = w.app.get("/me/notifications", w.tok("vdpf_v1")).await;
    let all = all.expect(200).clone();
    assert_eq!(all["unread"], 3);
    let first = s(&all["items"][0], "id");
    // someone else's notification is the same 404 as a missing one
    w.app
        .call(
            Method::POST,
            &format!("/me/notifications/{first}/read"),
            Some(w.tok("village_v1")),
            None,
        )
        .await
        .problem(404, "not_found");
    let r = w
        .app
        .call(
            Method::POST,
            &format!("/me/notifications/{first}/read"),
            Some(w.tok("vdpf_v1")),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let after = w.app.get("/me/notifications", w.tok("vdpf_v1")).await;
    assert_eq!(after.expect(200)["unread"], 2);
    let unread = w
        .app
        .get("/me/notifications?unread=true", w.tok("vdpf_v1"))
        .await;
    let unread = unread.expect(200).clone();
    assert_eq!(unread["items"].as_array().map(Vec::len), Some(2));
    assert!(unread["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|n| s(n, "id") != first));
    // paging: one at a time, newest first, every one seen once
    let page = w
        .app
        .get("/me/notifications?limit=1", w.tok("vdpf_v1"))
        .await;
    let page = page.expect(200).clone();
    assert_eq!(s(&page["items"][0], "id"), first);
    let next = s(&page, "next_cursor");
    let page2 = w
        .app
        .get(
            &format!("/me/notifications?limit=1&cursor={next}"),
            w.tok("vdpf_v1"),
        )
        .await;
    assert_ne!(s(&page2.expect(200)["items"][0], "id"), first);
    let r = w
        .app
        .call(
            Method::POST,
            "/me/notifications/read-all",
            Some(w.tok("vdpf_v1")),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    let done = w.app.get("/me/notifications", w.tok("vdpf_v1")).await;
    let done = done.expect(200).clone();
    assert_eq!(done["unread"], 0);
    assert!(done["items"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|n| n["read_at"].is_string()));
    w.app
        .get("/me/notifications", "not-a-token")
        .await
        .problem(401, "unauthorized");
}

#[tokio::test]
async fn the_sweeper_tells_the_handler_once_when_a_need_is_at_risk_and_once_when_overdue() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 4).await;
    let n = w.need("village_v1", &s(&p, "id")).await;
    let id = s(&n, "id");
    w.step("vdpf_v1", &id, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &id,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    w.step("officer_t1", &id, "accept", json!({})).await;
    // 10 days in, one day left: less than a quarter of the time remains
    w.app.sql(&format!("UPDATE needs SET entered_state_at = now() - interval '10 days', due_at = now() + interval '1 day' WHERE id = '{id}'")).await;
    let before = inbox_of(&w, "officer_t1").await.len();
    let report = w.sweep().await;
    assert_eq!(report.at_risk_notices, 1);
    let told = inbox_of(&w, "officer_t1").await;
    assert_eq!(told.len(), before + 1);
    assert_eq!(told[0], ("at_risk".into(), id.clone()));
    assert_eq!(
        w.sweep().await.at_risk_notices,
        0,
        "once per need and state"
    );
    // past the deadline: a policy need is marked overdue (督办) and its handler told, once
    w.app
        .sql(&format!(
            "UPDATE needs SET due_at = now() - interval '1 hour' WHERE id = '{id}'"
        ))
        .await;
    let report = w.sweep().await;
    assert_eq!(report.breached, 1);
    let told = inbox_of(&w, "officer_t1").await;
    assert_eq!(told[0], ("overdue".into(), id.clone()));
    w.sweep().await;
    let again = inbox_of(&w, "officer_t1").await;
    assert_eq!(
        again.len(),
        told.len(),
        "no second overdue notice in the same state"
    );
    // a need with plenty of time left is not at risk
    let p2 = w.person("village_v1", "v1", 5).await;
    w.need("village_v1", &s(&p2, "id")).await;
    assert_eq!(w.sweep().await.at_risk_notices, 0);
}

#[tokio::test]
async fn each_village_station_hears_once_a_day_of_visits_falling_due_within_a_week() {
    let w = world().await;
    let due = w.person("village_v1", "v1", 6).await;
    let recent = w.person("village_v1", "v1", 7).await;
    // registered 40 days ago and never visited: due; visited yesterday: not due for a month
    w.app
        .sql(&format!(
            "UPDATE persons SET created_at = now() - interval '40 days' WHERE id IN ('{}', '{}')",
            s(&due, "id"),
            s(&recent, "id")
        ))
        .await;
    let helper = w.helper("village_v1", "v1", "张志愿").await;
    let visit = w
        .app
        .post(&format!("/persons/{}/visits", s(&recent, "id")), w.tok("village_v1"), json!({"helper_id": helper, "visited_at": chrono::Utc::now() - chrono::Duration::days(1), "notes": "一切安好"}))
        .await;
    visit.expect(201);
    let report = w.sweep().await;
    assert!(report.visit_reminders >= 1);
    let items = w.app.get("/me/notifications", w.tok("village_v1")).await;
    let items = items.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let reminders: Vec<&Value> = items
        .iter()
        .filter(|n| s(n, "kind") == "visit_due")
        .collect();
    assert_eq!(reminders.len(), 1);
    assert!(
        s(reminders[0], "title").starts_with("1 位"),
        "{}",
        s(reminders[0], "title")
    );
    assert!(reminders[0]["need_id"].is_null());
    // the 村残协 is not the station: it is not reminded
    assert!(inbox_of(&w, "vdpf_v1")
        .await
        .iter()
        .all(|(k, _)| k != "visit_due"));
    w.sweep().await;
    let again = w.app.get("/me/notifications", w.tok("village_v1")).await;
    let again = again.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        again.iter().filter(|n| s(n, "kind") == "visit_due").count(),
        1,
        "once a day"
    );
}
