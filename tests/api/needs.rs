//! The dual closed loop: both loops end to end, return, reroute, reopen, refusals, concurrency,
//! idempotent filing, the SLA sweeper and the presidents' roster.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

fn s(v: &serde_json::Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

#[tokio::test]
async fn the_policy_loop_runs_from_village_to_department_and_closes_after_follow_up() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let n = w.need("village_v1", &s(&p, "id")).await;
    let id = s(&n, "id");
    assert_eq!(
        (s(&n, "state"), s(&n, "level")),
        ("reported".into(), "village".into())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["vdpf_v1"].to_string()
    );
    assert!(n["loop"].is_null() && n["due_at"].is_string());
    let n = w
        .step("village_v1", &id, "register", json!({"loop": "policy"}))
        .await;
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["vdpf_v1"].to_string()
    );
    // the department cannot see it before it is referred
    w.app
        .get(&format!("/needs/{id}"), w.tok("officer_t1"))
        .await
        .problem(404, "not_found");
    let n = w
        .step(
            "village_v1",
            &id,
            "refer",
            json!({"department_id": w.orgs["civil_t1"]}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), s(&n, "level")),
        ("referred".into(), "town".into())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["civil_t1"].to_string()
    );
    // now the officer sees the need and the person behind it, and its queue holds it
    w.app
        .get(&format!("/persons/{}", s(&p, "id")), w.tok("officer_t1"))
        .await
        .expect(200);
    let queue = w
        .app
        .get(
            &format!("/needs?handler_organization_id={}", w.orgs["civil_t1"]),
            w.tok("officer_t1"),
        )
        .await;
    assert_eq!(
        queue.expect(200)["items"].as_array().map(|a| a.len()),
        Some(1)
    );
    // another department of the same town does not
    w.app
        .get(&format!("/needs/{id}"), w.tok("health_t1"))
        .await
        .problem(404, "not_found");
    let n = w.step("officer_t1", &id, "accept", json!({})).await;
    assert_eq!(s(&n, "state"), "in_progress");
    let n = w
        .step(
            "officer_t1",
            &id,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "办理了残疾人两项补贴"}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), s(&n, "outcome")),
        ("resolved".into(), "fulfilled".into())
    );
    // only the person's village follows up
    let v = n["version"].as_i64();
    w.act(
        "town_t1",
        &id,
        "verify",
        json!({"satisfied": true, "satisfaction": 5}),
        v,
    )
    .await
    .problem(403, "forbidden");
    w.act(
        "officer_t1",
        &id,
        "verify",
        json!({"satisfied": true, "satisfaction": 5}),
        v,
    )
    .await
    .problem(403, "forbidden");
    let n = w
        .step(
            "village_v1",
            &id,
            "verify",
            json!({"satisfied": true, "satisfaction": 5, "note": "很满意"}),
        )
        .await;
    assert_eq!(
        (
            s(&n, "state"),
            n["satisfaction"].as_i64(),
            n["version"].as_i64()
        ),
        ("closed".into(), Some(5), Some(6))
    );
    assert!(n["due_at"].is_null() && n["closed_at"].is_string());
    let h = w.history(&id).await;
    let actions: Vec<&str> = h.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        vec!["file", "register", "refer", "accept", "resolve", "verify"]
    );
    assert_eq!(h[0], ("file".into(), "".into(), "reported".into()));
    assert_eq!(h[5], ("verify".into(), "resolved".into(), "closed".into()));
    let ev = w
        .app
        .get(&format!("/needs/{id}/events"), w.tok("village_v1"))
        .await;
    let items = ev.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let seqs: Vec<i64> = items.iter().filter_map(|e| e["seq"].as_i64()).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(items[2]["level"], "town");
    assert_eq!(
        items[2]["handler_organization_id"],
        w.orgs["civil_t1"].to_string()
    );
    assert_eq!(items[3]["actor"], "officer_t1");
    assert_eq!(items[3]["actor_user_id"], w.users["officer_t1"].to_string());
    // a closed need takes no more actions
    w.act(
        "village_v1",
        &id,
        "withdraw",
        json!({"reason": "x"}),
        Some(6),
    )
    .await
    .problem(409, "invalid_transition");
}

#[tokio::test]
async fn the_social_loop_climbs_to_the_on_duty_president_and_reopens_when_the_follow_up_says_no() {
    let w = world().await;
    w.on_duty("president_a").await;
    let p = w.person("village_v1", "v1", 2).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    let n = w
        .step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["station_v1"].to_string()
    );
    let n = w
        .step(
            "village_v1",
            &id,
            "escalate",
            json!({"reason": "村里解决不了"}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), s(&n, "level")),
        ("escalated".into(), "town".into())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["centre_t1"].to_string()
    );
    // the village no longer holds it: it cannot accept or escalate
    let v = n["version"].as_i64();
    w.act("village_v1", &id, "accept", json!({}), v)
        .await
        .problem(403, "forbidden");
    w.step("town_t1", &id, "accept", json!({})).await;
    let n = w
        .step(
            "town_t1",
            &id,
            "escalate",
            json!({"reason": "需要社会力量"}),
        )
        .await;
    assert_eq!(
        (s(&n, "level"), s(&n, "assignee_user_id")),
        ("city".into(), w.users["president_a"].to_string())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["assoc_a"].to_string()
    );
    let mine = w
        .app
        .get("/needs?assigned_to_me=true", w.tok("president_a"))
        .await;
    assert_eq!(
        mine.expect(200)["items"].as_array().map(|a| a.len()),
        Some(1)
    );
    w.step("president_a", &id, "accept", json!({})).await;
    // escalating beyond the city is not a thing
    let cur = w
        .app
        .get(&format!("/needs/{id}"), w.tok("president_a"))
        .await;
    w.act(
        "president_a",
        &id,
        "escalate",
        json!({"reason": "x"}),
        cur.body["version"].as_i64(),
    )
    .await
    .problem(409, "invalid_transition");
    // the association mobilises an extension site; its staff then see and resolve the need
    w.app
        .get(&format!("/needs/{id}"), w.tok("site_t1"))
        .await
        .problem(404, "not_found");
    let n = w
        .step(
            "assoc_a",
            &id,
            "assign",
            json!({"extension_site_id": w.orgs["site_t1"]}),
        )
        .await;
    assert_eq!(s(&n, "assigned_site_id"), w.orgs["site_t1"].to_string());
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["assoc_a"].to_string()
    );
    w.step(
        "site_t1",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "如康家园送来轮椅"}),
    )
    .await;
    let n = w
        .step(
            "village_v1",
            &id,
            "verify",
            json!({"satisfied": false, "satisfaction": 2, "note": "轮椅尺寸不合适"}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), n["reopen_count"].as_i64()),
        ("in_progress".into(), Some(1))
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["assoc_a"].to_string()
    );
    w.step(
        "president_a",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "换了合适的轮椅"}),
    )
    .await;
    let n = w
        .step(
            "village_v1",
            &id,
            "verify",
            json!({"satisfied": true, "satisfaction": 4}),
        )
        .await;
    assert_eq!(s(&n, "state"), "closed");
    let actions: Vec<String> = w
        .history(&id)
        .await
        .into_iter()
        .map(|(a, _, _)| a)
        .collect();
    assert_eq!(
        actions,
        vec![
            "file", "register", "escalate", "accept", "escalate", "accept", "assign", "resolve",
            "verify", "resolve", "verify"
        ]
    );
    assert_eq!(n["version"].as_i64(), Some(11));
}

#[tokio::test]
async fn a_department_returns_what_is_not_its_remit_and_reroutes_what_policy_cannot_meet() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 3).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &id, "register", json!({"loop": "policy"}))
        .await;
    // town staff may refer too, but only to a department of the person's town
    let cur = w.app.get(&format!("/needs/{id}"), w.tok("town_t1")).await;
    let r = w
        .act(
            "town_t1",
            &id,
            "refer",
            json!({"department_id": w.orgs["civil_t2"]}),
            cur.body["version"].as_i64(),
        )
        .await;
    assert_eq!(r.fields(), vec!["department_id"]);
    w.step(
        "town_t1",
        &id,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    let cur = w.app.get(&format!("/needs/{id}"), w.tok("town_t1")).await;
    // only an officer of the department holding it may return it
    w.act(
        "town_t1",
        &id,
        "return",
        json!({"reason": "x"}),
        cur.body["version"].as_i64(),
    )
    .await
    .problem(403, "forbidden");
    let r = w
        .act(
            "officer_t1",
            &id,
            "return",
            json!({"reason": ""}),
            cur.body["version"].as_i64(),
        )
        .await;
    assert_eq!(r.fields(), vec!["reason"]);
    let n = w
        .step(
            "officer_t1",
            &id,
            "return",
            json!({"reason": "属于卫健部门职责"}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), s(&n, "level")),
        ("registered".into(), "village".into())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["vdpf_v1"].to_string()
    );
    // the department still sees what was referred to it before
    w.app
        .get(&format!("/needs/{id}"), w.tok("officer_t1"))
        .await
        .expect(200);
    w.step(
        "village_v1",
        &id,
        "refer",
        json!({"department_id": w.orgs["health_t1"]}),
    )
    .await;
    w.step("health_t1", &id, "accept", json!({})).await;
    let n = w
        .step(
            "health_t1",
            &id,
            "reroute",
            json!({"reason": "政策无法覆盖"}),
        )
        .await;
    assert_eq!(
        (s(&n, "state"), s(&n, "loop"), s(&n, "level")),
        ("escalated".into(), "social".into(), "town".into())
    );
    assert_eq!(
        s(&n, "handler_organization_id"),
        w.orgs["centre_t1"].to_string()
    );
    w.step("town_t1", &id, "accept", json!({})).await;
}

#[tokio::test]
async fn refused_actions_change_nothing() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 4).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    // invalid from this state: 409, and neither version nor history moves
    w.act("village_v1", &id, "accept", json!({}), Some(1))
        .await
        .problem(409, "invalid_transition");
    w.act(
        "village_v1",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "x"}),
        Some(1),
    )
    .await
    .problem(409, "invalid_transition");
    w.act("village_v1", &id, "fly", json!({}), Some(1))
        .await
        .problem(409, "invalid_transition");
    // If-Match: missing, stale
    w.act(
        "village_v1",
        &id,
        "register",
        json!({"loop": "social"}),
        None,
    )
    .await
    .problem(428, "precondition_required");
    w.act(
        "village_v1",
        &id,
        "register",
        json!({"loop": "social"}),
        Some(3),
    )
    .await
    .problem(412, "precondition_failed");
    // body
    let r = w
        .act(
            "village_v1",
            &id,
            "register",
            json!({"loop": "sideways"}),
            Some(1),
        )
        .await;
    assert_eq!(r.fields(), vec!["loop"]);
    let r = w
        .act(
            "village_v1",
            &id,
            "register",
            json!({"loop": "social", "state": "closed"}),
            Some(1),
        )
        .await;
    assert_eq!(r.fields(), vec!["state"]);
    // scope and role
    w.act(
        "village_v2",
        &id,
        "register",
        json!({"loop": "social"}),
        Some(1),
    )
    .await
    .problem(404, "not_found");
    w.act("town_t2", &id, "comment", json!({"text": "x"}), None)
        .await
        .problem(404, "not_found");
    w.act("admin_b", &id, "withdraw", json!({"reason": "x"}), Some(1))
        .await
        .problem(404, "not_found");
    w.act("auditor_a", &id, "comment", json!({"text": "x"}), None)
        .await
        .problem(403, "forbidden");
    w.act(
        "town_t1",
        &id,
        "register",
        json!({"loop": "social"}),
        Some(1),
    )
    .await
    .problem(403, "forbidden");
    let n = w
        .app
        .get(&format!("/needs/{id}"), w.tok("village_v1"))
        .await;
    assert_eq!(
        (s(&n.body, "state"), n.body["version"].as_i64()),
        ("reported".into(), Some(1))
    );
    assert_eq!(w.history(&id).await.len(), 1);
    // a comment needs no If-Match, keeps the version, and lands in the history
    let c = w
        .act(
            "town_t1",
            &id,
            "comment",
            json!({"text": "已电话联系家属"}),
            None,
        )
        .await;
    assert_eq!(c.expect(200)["version"].as_i64(), Some(1));
    let h = w.history(&id).await;
    assert_eq!(
        h.last()
            .map(|(a, f, t)| (a.as_str(), f.as_str(), t.as_str())),
        Some(("comment", "reported", "reported"))
    );
    // the admin may withdraw; a withdrawn need is finished
    let n = w
        .step(
            "admin_a",
            &id,
            "withdraw",
            json!({"reason": "家属已自行解决"}),
        )
        .await;
    assert_eq!(s(&n, "state"), "withdrawn");
    w.act(
        "village_v1",
        &id,
        "register",
        json!({"loop": "social"}),
        n["version"].as_i64(),
    )
    .await
    .problem(409, "invalid_transition");
}

#[tokio::test]
async fn of_twenty_simultaneous_actions_exactly_one_wins() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 5).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    let mut tasks = Vec::new();
    for i in 0..20 {
        let client = w.app.client.clone();
        let url = format!("{}/api/v1/needs/{id}/actions/register", w.app.base);
        let tok = w
            .tok(if i % 2 == 0 { "village_v1" } else { "vdpf_v1" })
            .to_string();
        let lp = if i % 3 == 0 { "policy" } else { "social" };
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(tok)
                .header("If-Match", "\"1\"")
                .json(&json!({"loop": lp}))
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
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    assert!(
        codes.iter().all(|c| [200, 412, 409].contains(c)),
        "{codes:?}"
    );
    let n = w
        .app
        .get(&format!("/needs/{id}"), w.tok("village_v1"))
        .await;
    assert_eq!(n.body["version"].as_i64(), Some(2));
    assert_eq!(w.history(&id).await.len(), 2);
}

#[tokio::test]
async fn filing_honours_idempotency_keys_per_caller() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 6).await;
    let body = json!({"person_id": s(&p, "id"), "category": "rehabilitation", "description": "康复训练", "urgency": "urgent"});
    let first = w
        .app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("village_v1")),
            Some(body.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    let first = first.expect(201).clone();
    let again = w
        .app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("village_v1")),
            Some(body.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(again.status.as_u16(), 201);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(again.body["id"], first["id"]);
    let other =
        json!({"person_id": s(&p, "id"), "category": "rehabilitation", "description": "别的"});
    let r = w
        .app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("village_v1")),
            Some(other),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    r.problem(422, "idempotency_key_reused");
    // the key belongs to its caller: another user's same key is a new need (confirmed, as the
    // person now has an open rehabilitation need)
    let mut confirmed = body.clone();
    confirmed["confirm_duplicate"] = json!(true);
    let theirs = w
        .app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("town_t1")),
            Some(confirmed.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_ne!(theirs.expect(201)["id"], first["id"]);
    let list = w
        .app
        .get(
            &format!("/needs?person_id={}", s(&p, "id")),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(
        list.expect(200)["items"].as_array().map(|a| a.len()),
        Some(2)
    );
    // a refused request does not hold its key
    let bad = json!({"person_id": s(&p, "id"), "category": "spaceship", "description": "x"});
    w.app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("village_v1")),
            Some(bad),
            &[("Idempotency-Key", "k-2")],
        )
        .await
        .problem(422, "validation_failed");
    w.app
        .call_h(
            Method::POST,
            "/needs",
            Some(w.tok("village_v1")),
            Some(confirmed.clone()),
            &[("Idempotency-Key", "k-2")],
        )
        .await
        .expect(201);
    // an urgent need gets half the time
    let due = chrono::DateTime::parse_from_rfc3339(first["due_at"].as_str().unwrap_or(""))
        .expect("due_at");
    let created = chrono::DateTime::parse_from_rfc3339(first["created_at"].as_str().unwrap_or(""))
        .expect("created_at");
    assert_eq!((due - created).num_hours(), 24);
}

#[tokio::test]
async fn filing_checks_the_person_and_the_role() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 7).await;
    let foreign = w.person("village_v3", "v3", 8).await;
    for who in [
        "auditor_a",
        "president_a",
        "officer_t1",
        "site_t1",
        "assoc_a",
    ] {
        w.app
            .post(
                "/needs",
                w.tok(who),
                json!({"person_id": s(&p, "id"), "category": "medical", "description": "x"}),
            )
            .await
            .problem(403, "forbidden");
    }
    let r = w
        .app
        .post(
            "/needs",
            w.tok("village_v1"),
            json!({"person_id": s(&foreign, "id"), "category": "medical", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["person_id"]);
    let r = w.app.post("/needs", w.tok("village_v1"), json!({"person_id": s(&p, "id"), "category": "medical", "description": " ", "urgency": "now"})).await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["description", "urgency"]);
    let r = w
        .app
        .post(
            "/needs",
            w.tok("village_v1"),
            json!({"person_id": s(&p, "id"), "category": "medical"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["description"]);
}

#[tokio::test]
async fn the_sweeper_escalates_overdue_social_needs_and_marks_the_rest_once() {
    let w = world().await;
    let zero: Vec<serde_json::Value> = zhucan::domain::sla::reachable()
        .into_iter()
        .flat_map(|(st, lp, lv)| {
            ["normal", "urgent"]
                .map(|u| json!({"state": st, "loop": lp, "level": lv, "urgency": u, "hours": 0}))
        })
        .collect();
    let r = w
        .app
        .put("/sla-policies", w.tok("admin_a"), json!({"policies": zero}))
        .await;
    assert!(r.expect(200)["policies"]
        .as_array()
        .is_some_and(|a| a.iter().all(|e| e["hours"] == 0)));
    w.app
        .put("/sla-policies", w.tok("town_t1"), json!({"policies": []}))
        .await
        .problem(403, "forbidden");
    // city B keeps its defaults
    let b = w.app.get("/sla-policies", w.tok("admin_b")).await;
    assert!(b.expect(200)["policies"].as_array().is_some_and(|a| a
        .iter()
        .any(|e| e["state"] == "reported" && e["hours"] == 48)));
    let p = w.person("village_v1", "v1", 9).await;
    let social = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &social, "register", json!({"loop": "social"}))
        .await;
    let policy = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    let r1 = w.sweep().await;
    assert_eq!((r1.auto_escalated, r1.breached), (1, 1));
    let n = w
        .app
        .get(&format!("/needs/{social}"), w.tok("village_v1"))
        .await;
    assert_eq!(
        (s(&n.body, "state"), s(&n.body, "level")),
        ("escalated".into(), "town".into())
    );
    let ev = w
        .app
        .get(&format!("/needs/{social}/events"), w.tok("village_v1"))
        .await;
    let last = ev.body["items"]
        .as_array()
        .and_then(|a| a.last().cloned())
        .unwrap_or_default();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("auto_escalate"), Some("system"))
    );
    assert!(last["actor_user_id"].is_null());
    let pn = w
        .app
        .get(&format!("/needs/{policy}"), w.tok("village_v1"))
        .await;
    assert_eq!(pn.body["overdue"], true);
    // the level above sees the overdue mark
    let overdue = w.app.get("/needs?overdue=true", w.tok("town_t1")).await;
    assert_eq!(
        overdue.expect(200)["items"].as_array().map(|a| a.len()),
        Some(1)
    );
    // second pass: the social need climbs to the city (nobody on duty: unassigned); the mark is not repeated
    let r2 = w.sweep().await;
    assert_eq!((r2.auto_escalated, r2.breached), (1, 0));
    let n = w
        .app
        .get(&format!("/needs/{social}"), w.tok("village_v1"))
        .await;
    assert_eq!(s(&n.body, "level"), "city");
    assert!(n.body["assignee_user_id"].is_null());
    // third: at the city it can only be marked; fourth: nothing left to do
    let r3 = w.sweep().await;
    assert_eq!((r3.auto_escalated, r3.breached), (0, 1));
    let r4 = w.sweep().await;
    assert_eq!((r4.auto_escalated, r4.breached), (0, 0));
    let breaches = w
        .history(&policy)
        .await
        .iter()
        .filter(|(a, _, _)| a == "sla_breached")
        .count();
    assert_eq!(breaches, 1);
    // the next transition clears the mark; the version never counted it
    let n = w
        .step("village_v1", &policy, "register", json!({"loop": "policy"}))
        .await;
    assert_eq!(
        (n["overdue"].as_bool(), n["version"].as_i64()),
        (Some(false), Some(2))
    );
}

#[tokio::test]
async fn two_sweepers_at_once_never_act_twice_on_a_need() {
    let w = world().await;
    let zero: Vec<serde_json::Value> = ["normal", "urgent"]
        .iter()
        .map(|u| json!({"state": "registered", "loop": "social", "level": "village", "urgency": u, "hours": 0}))
        .collect();
    w.app
        .put("/sla-policies", w.tok("admin_a"), json!({"policies": zero}))
        .await
        .expect(200);
    let mut ids = Vec::new();
    for i in 0..12 {
        let p = w.person("village_v1", "v1", 20 + i).await;
        let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
        w.step("village_v1", &id, "register", json!({"loop": "social"}))
            .await;
        ids.push(id);
    }
    let (a, b) = tokio::join!(w.sweep(), w.sweep());
    assert_eq!(a.auto_escalated + b.auto_escalated, 12);
    for id in &ids {
        let escalations = w
            .history(id)
            .await
            .iter()
            .filter(|(a, _, _)| a == "auto_escalate")
            .count();
        assert_eq!(escalations, 1, "{id}");
    }
}

#[tokio::test]
async fn duty_passes_between_presidents_with_a_handover_and_a_gap_waits_unassigned() {
    let w = world().await;
    let cur = w.app.get("/duty-roster/current", w.tok("assoc_a")).await;
    assert_eq!(
        (
            cur.expect(200)["gap"].as_bool(),
            cur.body["unassigned_city_needs"].as_i64()
        ),
        (Some(true), Some(0))
    );
    // a need reaches the city during the gap
    let p = w.person("village_v1", "v1", 40).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    w.step("village_v1", &id, "escalate", json!({"reason": "x"}))
        .await;
    w.step("town_t1", &id, "escalate", json!({"reason": "y"}))
        .await;
    let cur = w.app.get("/duty-roster/current", w.tok("assoc_a")).await;
    assert_eq!(cur.body["unassigned_city_needs"].as_i64(), Some(1));
    // only presidents of the association, no overlaps, dates in order
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive();
    let r = w
        .app
        .post(
            "/duty-roster",
            w.tok("admin_a"),
            json!({"user_id": w.users["assoc_a"], "starts_on": today, "ends_on": today}),
        )
        .await;
    assert_eq!(r.fields(), vec!["user_id"]);
    let r = w.app.post("/duty-roster", w.tok("admin_a"), json!({"user_id": w.users["president_a"], "starts_on": today, "ends_on": today - chrono::Duration::days(1)})).await;
    assert_eq!(r.fields(), vec!["ends_on"]);
    w.app
        .post(
            "/duty-roster",
            w.tok("village_v1"),
            json!({"user_id": w.users["president_a"], "starts_on": today, "ends_on": today}),
        )
        .await
        .problem(403, "forbidden");
    let entry = w.on_duty("president_a").await;
    let r = w.app.post("/duty-roster", w.tok("admin_a"), json!({"user_id": w.users["president_a2"], "starts_on": today + chrono::Duration::days(6), "ends_on": today + chrono::Duration::days(9)})).await;
    r.problem(409, "conflict");
    // the waiting need went to the president on duty, with a handover by the admin
    let n = w.app.get(&format!("/needs/{id}"), w.tok("assoc_a")).await;
    assert_eq!(
        s(&n.body, "assignee_user_id"),
        w.users["president_a"].to_string()
    );
    assert_eq!(n.body["version"].as_i64(), Some(4));
    let ev = w
        .app
        .get(&format!("/needs/{id}/events"), w.tok("assoc_a"))
        .await;
    let last = ev.body["items"]
        .as_array()
        .and_then(|a| a.last().cloned())
        .unwrap_or_default();
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("handover"), Some("admin_a"))
    );
    assert!(last["payload"]["from_user_id"].is_null());
    assert_eq!(
        last["payload"]["to_user_id"],
        w.users["president_a"].to_string()
    );
    let cur = w.app.get("/duty-roster/current", w.tok("village_v1")).await;
    assert_eq!(cur.body["president"]["username"], "president_a");
    assert_eq!(cur.body["gap"], false);
    // the turn passes to the other president
    let eid = s(&entry, "id");
    let r = w
        .app
        .patch(
            &format!("/duty-roster/{eid}"),
            w.tok("admin_a"),
            json!({"user_id": w.users["president_a2"]}),
            None,
        )
        .await;
    assert_eq!(
        r.expect(200)["user_id"],
        w.users["president_a2"].to_string()
    );
    let n = w.app.get(&format!("/needs/{id}"), w.tok("assoc_a")).await;
    assert_eq!(
        s(&n.body, "assignee_user_id"),
        w.users["president_a2"].to_string()
    );
    // removing the turn leaves a gap: the need waits unassigned again
    let d = w
        .app
        .call(
            Method::DELETE,
            &format!("/duty-roster/{eid}"),
            Some(w.tok("admin_a")),
            None,
        )
        .await;
    assert_eq!(d.status.as_u16(), 204);
    let cur = w.app.get("/duty-roster/current", w.tok("assoc_a")).await;
    assert_eq!(
        (
            cur.body["gap"].as_bool(),
            cur.body["unassigned_city_needs"].as_i64()
        ),
        (Some(true), Some(1))
    );
    let handovers = w
        .history(&id)
        .await
        .iter()
        .filter(|(a, _, _)| a == "handover")
        .count();
    assert_eq!(handovers, 3);
    // another city's admin sees nothing of this roster
    w.app
        .patch(
            &format!("/duty-roster/{eid}"),
            w.tok("admin_b"),
            json!({}),
            None,
        )
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn lists_filter_and_never_hold_a_foreign_need() {
    let w = world().await;
    let p1 = w.person("village_v1", "v1", 50).await;
    let p3 = w.person("village_v3", "v3", 51).await;
    let pb = w.person("village_bv", "bv", 52).await;
    let n1 = s(&w.need("village_v1", &s(&p1, "id")).await, "id");
    w.need("village_v3", &s(&p3, "id")).await;
    w.need("village_bv", &s(&pb, "id")).await;
    w.step("village_v1", &n1, "register", json!({"loop": "social"}))
        .await;
    let count = |r: &Resp| r.body["items"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(count(&w.app.get("/needs", w.tok("village_v1")).await), 1);
    assert_eq!(count(&w.app.get("/needs", w.tok("town_t1")).await), 1);
    assert_eq!(count(&w.app.get("/needs", w.tok("admin_a")).await), 2);
    assert_eq!(count(&w.app.get("/needs", w.tok("auditor_a")).await), 2);
    assert_eq!(count(&w.app.get("/needs", w.tok("admin_b")).await), 1);
    assert_eq!(count(&w.app.get("/needs", w.tok("root")).await), 3);
    assert_eq!(count(&w.app.get("/needs", w.tok("officer_t1")).await), 0);
    assert_eq!(
        count(
            &w.app
                .get("/needs?state=registered&loop=social", w.tok("admin_a"))
                .await
        ),
        1
    );
    assert_eq!(
        count(&w.app.get("/needs?state=reported", w.tok("admin_a")).await),
        1
    );
    assert_eq!(
        count(
            &w.app
                .get(
                    &format!("/needs?org_unit_id={}", w.unit("t2")),
                    w.tok("admin_a")
                )
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &w.app
                .get(
                    &format!("/needs?org_unit_id={}", w.unit("t2")),
                    w.tok("town_t1")
                )
                .await
        ),
        0
    );
    assert_eq!(
        count(
            &w.app
                .get(
                    &format!("/needs?handler_organization_id={}", w.orgs["station_v1"]),
                    w.tok("admin_a")
                )
                .await
        ),
        1
    );
    assert_eq!(
        count(
            &w.app
                .get(
                    "/needs?level=village&category=assistive_device",
                    w.tok("admin_a")
                )
                .await
        ),
        2
    );
    w.app
        .get("/needs?state=lost", w.tok("admin_a"))
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/needs?loop=x", w.tok("admin_a"))
        .await
        .problem(422, "validation_failed");
    let g = w.app.get(&format!("/needs/{n1}"), w.tok("town_t1")).await;
    assert_eq!(
        g.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"2\"")
    );
}
