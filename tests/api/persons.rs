//! Persons: registration rules, masking and reveal, optimistic updates, and scope.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_village_registers_a_person_and_reads_it_masked() {
    let w = world().await;
    let id_no = id_number(7);
    let r = w
        .app
        .post(
            "/persons",
            w.tok("village_v1"),
            json!({"name": "张秀英", "id_number": id_no, "disability_category": "vision", "disability_grade": 1, "phone": "13800000000"}),
        )
        .await;
    let p = r.expect(201).clone();
    assert_eq!(p["village_id"], w.unit("v1").to_string());
    assert_eq!(
        p["id_number"],
        format!("{}********{}", &id_no[..6], &id_no[14..])
    );
    assert_eq!(
        p["disability_cert_number"],
        format!("{}********{}11", &id_no[..6], &id_no[14..])
    );
    assert_eq!(
        p["birth_date"],
        format!("{}-{}-{}", &id_no[6..10], &id_no[10..12], &id_no[12..14])
    );
    assert_eq!(p["version"], 1);
    for field in ["guardian_name", "guardian_phone", "address"] {
        assert!(
            p.get(field).is_some_and(|v| v.is_null()),
            "{field} present as null"
        );
    }
    let got = w
        .app
        .get(
            &format!("/persons/{}", p["id"].as_str().unwrap_or("")),
            w.tok("town_t1"),
        )
        .await;
    assert_eq!(got.expect(200)["name"], "张秀英");
    assert_eq!(
        got.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"1\"")
    );
    assert!(!got.text.contains(&id_no));
}

#[tokio::test]
async fn revealing_the_id_number_is_for_some_roles_and_always_audited() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 11).await;
    let pid = p["id"].as_str().unwrap_or("").to_string();
    let clear = id_number(11);
    let r = w
        .app
        .get(
            &format!("/persons/{pid}?reveal=id_number"),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(r.expect(200)["id_number"], clear);
    assert_eq!(r.body["disability_cert_number"], format!("{clear}42"));
    for who in ["auditor_a", "president_a", "assoc_a"] {
        w.app
            .get(&format!("/persons/{pid}?reveal=id_number"), w.tok(who))
            .await
            .problem(403, "forbidden");
    }
    // out of scope is not found before it is forbidden
    w.app
        .get(
            &format!("/persons/{pid}?reveal=id_number"),
            w.tok("village_v2"),
        )
        .await
        .problem(404, "not_found");
    let log = w
        .app
        .get(&format!("/audit-log?person_id={pid}"), w.tok("auditor_a"))
        .await;
    let items = log.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["action"], "reveal");
    assert_eq!(items[0]["actor"], "village_v1");
    w.app
        .get("/audit-log", w.tok("village_v1"))
        .await
        .problem(403, "forbidden");
    w.app
        .get(&format!("/audit-log?person_id={pid}"), w.tok("admin_b"))
        .await
        .expect(200);
    assert_eq!(
        w.app
            .get(&format!("/audit-log?person_id={pid}"), w.tok("admin_b"))
            .await
            .body["items"],
        json!([])
    );
}

#[tokio::test]
async fn id_and_certificate_numbers_are_checked() {
    let w = world().await;
    let tok = w.tok("village_v1");
    let good = id_number(21);
    let mut bad_check = good.clone();
    let last = if bad_check.ends_with('0') { "1" } else { "0" };
    bad_check.replace_range(17..18, last);
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": bad_check, "disability_category": "physical", "disability_grade": 2})).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["id_number"]);
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": "37088319990231001X", "disability_category": "physical", "disability_grade": 2})).await;
    assert_eq!(r.fields(), vec!["id_number"]);
    // the certificate must be the ID plus the category and grade digits
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": good, "disability_cert_number": format!("{good}43"), "disability_category": "physical", "disability_grade": 2})).await;
    assert_eq!(r.fields(), vec!["disability_cert_number"]);
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": good, "birth_date": "1900-01-01", "gender": "robot", "disability_category": "wings", "disability_grade": 5})).await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(
        f,
        vec![
            "birth_date",
            "disability_category",
            "disability_grade",
            "gender"
        ]
    );
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": good, "disability_cert_number": format!("{good}42"), "disability_category": "physical", "disability_grade": 2})).await;
    r.expect(201);
    // a float where an integer belongs names the field
    let r = w.app.post("/persons", tok, json!({"name": "a", "id_number": id_number(22), "disability_category": "physical", "disability_grade": 2.0})).await;
    assert_eq!(r.fields(), vec!["disability_grade"]);
}

#[tokio::test]
async fn one_id_number_is_one_person_in_the_whole_deployment() {
    let w = world().await;
    w.person("village_v1", "v1", 31).await;
    let r = w.app.post("/persons", w.tok("village_bv"), json!({"name": "b", "id_number": id_number(31), "disability_category": "hearing", "disability_grade": 3})).await;
    r.problem(409, "duplicate");
    // lowercase x is the same number
    let w2 = w.app.post("/persons", w.tok("village_v1"), json!({"name": "c", "id_number": "11010519491231002x", "disability_category": "hearing", "disability_grade": 3})).await;
    w2.expect(201);
    let again = w.app.post("/persons", w.tok("village_v2"), json!({"name": "c", "id_number": "11010519491231002X", "disability_category": "hearing", "disability_grade": 3})).await;
    again.problem(409, "duplicate");
}

#[tokio::test]
async fn bodies_that_are_not_json_or_too_big_get_clear_answers() {
    let w = world().await;
    let res = w
        .app
        .client
        .post(format!("{}/api/v1/persons", w.app.base))
        .bearer_auth(w.tok("village_v1"))
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 400);
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(body["code"], "malformed_body");
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(70 * 1024));
    let res = w
        .app
        .client
        .post(format!("{}/api/v1/persons", w.app.base))
        .bearer_auth(w.tok("village_v1"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 413);
    let r = w.app.post("/persons", w.tok("village_v1"), json!({"name": "a", "id_number": id_number(1), "disability_category": "physical", "disability_grade": 2, "version": 9})).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["version"]);
    let r = w.app.post("/persons", w.tok("village_v1"), json!({"id_number": id_number(1), "disability_category": "physical", "disability_grade": 2})).await;
    assert_eq!(r.fields(), vec!["name"]);
}

#[tokio::test]
async fn updates_need_the_current_version() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 41).await;
    let path = format!("/persons/{}", p["id"].as_str().unwrap_or(""));
    let tok = w.tok("village_v1");
    w.app
        .patch(&path, tok, json!({"phone": "13900000000"}), None)
        .await
        .problem(428, "precondition_required");
    w.app
        .patch(&path, tok, json!({"phone": "13900000000"}), Some(7))
        .await
        .problem(412, "precondition_failed");
    let r = w
        .app
        .patch(
            &path,
            tok,
            json!({"phone": "13900000000", "address": "东关 3 号"}),
            Some(1),
        )
        .await;
    assert_eq!(r.expect(200)["version"], 2);
    assert_eq!(r.body["phone"], "13900000000");
    assert_eq!(
        r.headers.get("etag").and_then(|v| v.to_str().ok()),
        Some("\"2\"")
    );
    // null clears an optional field
    let r = w
        .app
        .patch(&path, tok, json!({"address": null}), Some(2))
        .await;
    assert!(r.expect(200)["address"].is_null());
    // the old version is now stale, and nothing changed
    w.app
        .patch(&path, tok, json!({"phone": "13700000000"}), Some(2))
        .await
        .problem(412, "precondition_failed");
    assert_eq!(w.app.get(&path, tok).await.body["phone"], "13900000000");
    // the ID number is not writable
    let r = w
        .app
        .patch(&path, tok, json!({"id_number": id_number(42)}), Some(3))
        .await;
    assert_eq!(r.fields(), vec!["id_number"]);
    // body errors come after the version check
    w.app
        .patch(&path, tok, json!({"disability_grade": 9}), Some(1))
        .await
        .problem(412, "precondition_failed");
    let r = w
        .app
        .patch(&path, tok, json!({"disability_grade": 9}), Some(3))
        .await;
    assert_eq!(r.fields(), vec!["disability_grade"]);
}

#[tokio::test]
async fn town_staff_transfer_persons_and_villages_cannot() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 51).await;
    let path = format!("/persons/{}", p["id"].as_str().unwrap_or(""));
    w.app
        .patch(
            &path,
            w.tok("village_v1"),
            json!({"village_id": w.unit("v2")}),
            Some(1),
        )
        .await
        .problem(403, "forbidden");
    let r = w
        .app
        .patch(
            &path,
            w.tok("town_t1"),
            json!({"village_id": w.unit("v3")}),
            Some(1),
        )
        .await;
    assert_eq!(r.fields(), vec!["village_id"]);
    let r = w
        .app
        .patch(
            &path,
            w.tok("town_t1"),
            json!({"village_id": w.unit("v2")}),
            Some(1),
        )
        .await;
    assert_eq!(r.expect(200)["village_id"], w.unit("v2").to_string());
    // the old village no longer sees the person; the new one does
    w.app
        .get(&path, w.tok("village_v1"))
        .await
        .problem(404, "not_found");
    w.app.get(&path, w.tok("village_v2")).await.expect(200);
    // the city admin moves across towns
    let r = w
        .app
        .patch(
            &path,
            w.tok("admin_a"),
            json!({"village_id": w.unit("v3")}),
            Some(2),
        )
        .await;
    assert_eq!(r.expect(200)["town_id"], w.unit("t2").to_string());
}

#[tokio::test]
async fn persons_outside_scope_do_not_exist_for_any_role() {
    let w = world().await;
    let p_v1 = w.person("village_v1", "v1", 61).await;
    let p_v2 = w.person("village_v2", "v2", 62).await;
    let p_v3 = w.person("village_v3", "v3", 63).await;
    let p_bv = w.person("village_bv", "bv", 64).await;
    let id = |p: &serde_json::Value| p["id"].as_str().unwrap_or("").to_string();
    // (role, persons it must not see)
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("village_v1", vec![id(&p_v2), id(&p_v3), id(&p_bv)]),
        ("vdpf_v1", vec![id(&p_v2), id(&p_v3), id(&p_bv)]),
        ("town_t1", vec![id(&p_v3), id(&p_bv)]),
        ("auditor_t1", vec![id(&p_v3), id(&p_bv)]),
        ("admin_a", vec![id(&p_bv)]),
        ("auditor_a", vec![id(&p_bv)]),
        ("president_a", vec![id(&p_bv)]),
        (
            "officer_t1",
            vec![id(&p_v1), id(&p_v2), id(&p_v3), id(&p_bv)],
        ),
        ("site_t1", vec![id(&p_v1), id(&p_v2), id(&p_v3), id(&p_bv)]),
        ("admin_b", vec![id(&p_v1), id(&p_v2), id(&p_v3)]),
        ("village_bv", vec![id(&p_v1), id(&p_v2), id(&p_v3)]),
    ];
    let missing = w
        .app
        .get(
            &format!("/persons/{}", uuid::Uuid::now_v7()),
            w.tok("village_v1"),
        )
        .await;
    for (who, hidden) in &cases {
        let tok = w.tok(who);
        let list = w.app.get("/persons?limit=200", tok).await;
        let seen: Vec<String> = list.expect(200)["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        for h in hidden {
            assert!(!seen.contains(h), "{who} lists a foreign person");
            let r = w.app.get(&format!("/persons/{h}"), tok).await;
            r.problem(404, "not_found");
            assert_eq!(r.text, missing.text, "{who}: foreign answers like missing");
            w.app
                .patch(
                    &format!("/persons/{h}"),
                    tok,
                    json!({"phone": "13000000000"}),
                    Some(1),
                )
                .await
                .problem(404, "not_found");
            w.app
                .put(
                    &format!("/persons/{h}/contact-group"),
                    tok,
                    json!({"helper_ids": []}),
                )
                .await
                .problem(404, "not_found");
            w.app
                .get(&format!("/persons/{h}/contact-group"), tok)
                .await
                .problem(404, "not_found");
            w.app
                .post(&format!("/persons/{h}/visits"), tok, json!({"notes": "x"}))
                .await
                .problem(404, "not_found");
        }
    }
    // the city admin's list holds its three persons and the deployment admin's all four
    let n = |r: &Resp| r.body["items"].as_array().map(|a| a.len()).unwrap_or(0);
    assert_eq!(n(&w.app.get("/persons", w.tok("admin_a")).await), 3);
    assert_eq!(n(&w.app.get("/persons", w.tok("root")).await), 4);
}

#[tokio::test]
async fn roles_that_may_not_write_persons_are_refused() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 71).await;
    let path = format!("/persons/{}", p["id"].as_str().unwrap_or(""));
    for who in ["auditor_a", "auditor_t1", "president_a", "assoc_a"] {
        let r = w.app.post("/persons", w.tok(who), json!({"name": "x", "id_number": id_number(72), "disability_category": "physical", "disability_grade": 2, "village_id": w.unit("v1")})).await;
        r.problem(403, "forbidden");
        w.app
            .patch(&path, w.tok(who), json!({"phone": "13000000000"}), Some(1))
            .await
            .problem(403, "forbidden");
        w.app
            .put(
                &format!("{path}/contact-group"),
                w.tok(who),
                json!({"helper_ids": []}),
            )
            .await
            .problem(403, "forbidden");
    }
    // a village cannot register into another village
    let r = w.app.post("/persons", w.tok("village_v1"), json!({"name": "x", "id_number": id_number(73), "disability_category": "physical", "disability_grade": 2, "village_id": w.unit("v2")})).await;
    assert_eq!(r.fields(), vec!["village_id"]);
    // the person is unchanged
    assert_eq!(
        w.app.get(&path, w.tok("village_v1")).await.body["version"],
        1
    );
}

#[tokio::test]
async fn lists_page_by_cursor_without_repeats() {
    let w = world().await;
    for n in 0..5 {
        w.person("village_v1", "v1", 80 + n).await;
    }
    let tok = w.tok("village_v1");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            Some(c) => format!("/persons?limit=2&cursor={c}"),
            None => "/persons?limit=2".to_string(),
        };
        let r = w.app.get(&path, tok).await;
        let body = r.expect(200).clone();
        pages += 1;
        for p in body["items"].as_array().cloned().unwrap_or_default() {
            seen.push(p["id"].as_str().unwrap_or("").to_string());
        }
        // a person registered mid-way does not disturb the pages already read
        if pages == 1 {
            w.person("village_v1", "v1", 99).await;
        }
        match body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut dedup = seen.clone();
    dedup.dedup();
    assert_eq!(seen.len(), 6);
    assert_eq!(dedup.len(), 6);
    assert_eq!(pages, 3);
    w.app
        .get("/persons?limit=0", tok)
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/persons?cursor=%%%", tok)
        .await
        .problem(422, "validation_failed");
    let capped = w.app.get("/persons?limit=100000", tok).await;
    capped.expect(200);
    let r = w.app.get("/persons?status=gone", tok).await;
    assert_eq!(r.fields(), vec!["status"]);
    let r = w
        .app
        .get(&format!("/persons?id_number={}", id_number(81)), tok)
        .await;
    assert_eq!(r.body["items"].as_array().map(|a| a.len()), Some(1));
    let _ = Method::GET;
}
