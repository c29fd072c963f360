//! 工单号 and what every need object carries: case numbers per city and year, the person's and
//! the village's names, the caller's allowed actions, and possible duplicates (SPEC §6).

use crate::support::*;
use diesel_async::RunQueryDsl;
use reqwest::Method;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

fn actions(v: &Value) -> Vec<String> {
    v["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("allowed_actions is an array: {v}"))
        .iter()
        .filter_map(|a| a.as_str().map(String::from))
        .collect()
}

/// The year of now in Asia/Shanghai, as case numbers count it.
fn this_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .year()
}

#[tokio::test]
async fn case_numbers_count_per_city_and_year_and_are_never_reused() {
    let w = world().await;
    let a = w.person("village_v1", "v1", 1).await;
    let a2 = w.person("village_v3", "v3", 2).await;
    let b = w.person("village_bv", "bv", 3).await;
    let year = this_year();
    let first = w.need("village_v1", &s(&a, "id")).await;
    assert_eq!(s(&first, "case_number"), format!("370883-{year}-000001"));
    // another town of the same city continues the city's sequence; another city has its own
    let second = w.need("village_v3", &s(&a2, "id")).await;
    assert_eq!(s(&second, "case_number"), format!("370883-{year}-000002"));
    let other = w.need("village_bv", &s(&b, "id")).await;
    assert_eq!(s(&other, "case_number"), format!("370881-{year}-000001"));
    // a refused filing may leave a gap, never a repeat
    w.app
        .post(
            "/needs",
            w.tok("village_v1"),
            json!({"person_id": s(&a, "id"), "category": "spaceship", "description": "x"}),
        )
        .await
        .problem(422, "validation_failed");
    let third = w.need("village_v1", &s(&a, "id")).await;
    let seq = |n: &Value| {
        s(n, "case_number")
            .rsplit('-')
            .next()
            .and_then(|q| q.parse::<u32>().ok())
            .expect("a 6-digit sequence")
    };
    assert!(seq(&third) > seq(&second), "{}", s(&third, "case_number"));
    assert!(s(&third, "case_number").starts_with(&format!("370883-{year}-")));
    // the next year starts again at 1, and the current year's count goes on
    let mut db = w.app.db().await;
    #[derive(diesel::QueryableByName)]
    struct Taken {
        #[diesel(sql_type = diesel::sql_types::Text)]
        n: String,
    }
    let next_year: Taken =
        diesel::sql_query("SELECT take_case_number($1, now() + interval '366 days') AS n")
            .bind::<diesel::sql_types::Uuid, _>(w.unit("city_a"))
            .get_result(&mut db)
            .await
            .expect("take");
    assert_eq!(next_year.n, format!("370883-{}-000001", year + 1));
    let fourth = w.need("village_v1", &s(&a, "id")).await;
    assert_eq!(seq(&fourth), seq(&third) + 1);
    // the number is the need's for good: read back, listed, and unique in the database
    let got = w
        .app
        .get(&format!("/needs/{}", s(&first, "id")), w.tok("village_v1"))
        .await;
    assert_eq!(got.expect(200)["case_number"], first["case_number"]);
    let dup = diesel::sql_query("UPDATE needs SET case_number = $1 WHERE id = $2")
        .bind::<diesel::sql_types::Text, _>(s(&first, "case_number"))
        .bind::<diesel::sql_types::Uuid, _>(s(&second, "id").parse::<uuid::Uuid>().expect("id"))
        .execute(&mut db)
        .await;
    assert!(dup.is_err(), "case numbers are unique");
}

#[tokio::test]
async fn every_need_object_names_the_person_and_the_village() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 11).await;
    let filed = w.need("village_v1", &s(&p, "id")).await;
    assert_eq!(s(&filed, "person_name"), "残疾人11");
    assert_eq!(s(&filed, "village_name"), "东关社区");
    let id = s(&filed, "id");
    let got = w.app.get(&format!("/needs/{id}"), w.tok("town_t1")).await;
    let got = got.expect(200);
    assert_eq!(
        (s(got, "person_name"), s(got, "village_name")),
        ("残疾人11".into(), "东关社区".into())
    );
    let acted = w
        .step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    assert_eq!(s(&acted, "person_name"), "残疾人11");
    assert_eq!(
        actions(&acted),
        ["accept", "assign", "escalate", "withdraw"]
    );
    let list = w.app.get("/needs", w.tok("town_t1")).await;
    let items = list.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    let item = &items[0];
    assert_eq!(s(item, "case_number"), s(&filed, "case_number"));
    assert_eq!(s(item, "village_name"), "东关社区");
    // nullable fields are present, and a list carries the caller's actions too
    for k in [
        "assignee_user_id",
        "assigned_site_id",
        "satisfaction",
        "closed_at",
    ] {
        assert!(item.get(k).is_some_and(Value::is_null), "{k} in {item}");
    }
    assert_eq!(
        actions(item),
        Vec::<String>::new(),
        "town staff: nothing yet"
    );
}

#[tokio::test]
async fn allowed_actions_on_a_need_are_the_callers_own() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 21).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    let seen = async |who: &str| {
        let r = w.app.get(&format!("/needs/{id}"), w.tok(who)).await;
        actions(r.expect(200))
    };
    assert_eq!(seen("village_v1").await, ["register", "withdraw"]);
    assert_eq!(seen("vdpf_v1").await, ["register", "withdraw"]);
    assert_eq!(seen("admin_a").await, ["withdraw"]);
    assert_eq!(seen("root").await, ["withdraw"]);
    assert!(seen("town_t1").await.is_empty());
    assert!(seen("auditor_a").await.is_empty());
    w.step("village_v1", &id, "register", json!({"loop": "policy"}))
        .await;
    assert_eq!(seen("village_v1").await, ["refer", "withdraw"]);
    assert_eq!(seen("town_t1").await, ["refer"]);
    w.step(
        "town_t1",
        &id,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    assert_eq!(seen("officer_t1").await, ["accept", "return", "reroute"]);
    assert_eq!(seen("town_t1").await, ["reroute"]);
    assert_eq!(seen("village_v1").await, ["withdraw"]);
    assert!(seen("president_a").await.is_empty());
    // the same rule answers the refusals: what is not listed is refused
    let r = w.act("town_t1", &id, "accept", json!({}), Some(3)).await;
    r.problem(403, "forbidden");
    let r = w
        .act(
            "officer_t1",
            &id,
            "resolve",
            json!({"outcome": "fulfilled", "resolution": "x"}),
            Some(3),
        )
        .await;
    r.problem(409, "invalid_transition");
    w.step("officer_t1", &id, "accept", json!({})).await;
    assert_eq!(seen("officer_t1").await, ["reroute", "resolve"]);
}

#[tokio::test]
async fn an_open_need_of_the_same_category_is_a_possible_duplicate_unless_confirmed() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 31).await;
    let pid = s(&p, "id");
    let body = json!({"person_id": pid, "category": "medical", "description": "需要陪诊"});
    let first = w
        .app
        .post("/needs", w.tok("village_v1"), body.clone())
        .await;
    let first = first.expect(201).clone();
    // the same person and category, open: 409 naming the need and its case number
    let again = w.app.post("/needs", w.tok("town_t1"), body.clone()).await;
    again.problem(409, "possible_duplicate");
    assert_eq!(again.body["existing_need_id"], first["id"]);
    assert_eq!(again.body["existing_case_number"], first["case_number"]);
    // another category is no duplicate
    let housing = json!({"person_id": pid, "category": "housing", "description": "危房改造"});
    w.app
        .post("/needs", w.tok("village_v1"), housing)
        .await
        .expect(201);
    // confirmed: filed, and the file event records it
    let mut confirmed = body.clone();
    confirmed["confirm_duplicate"] = json!(true);
    let second = w.app.post("/needs", w.tok("village_v1"), confirmed).await;
    let second = second.expect(201).clone();
    assert_ne!(second["id"], first["id"]);
    let events = w
        .app
        .get(
            &format!("/needs/{}/events", s(&second, "id")),
            w.tok("village_v1"),
        )
        .await;
    let filed = &events.expect(200)["items"][0];
    assert_eq!(filed["action"], "file");
    assert_eq!(filed["payload"]["confirm_duplicate"], json!(true));
    assert_eq!(filed["payload"]["duplicate_of"], first["id"]);
    // once the open ones are finished, the category is free again
    for n in [&first, &second] {
        w.step(
            "village_v1",
            &s(n, "id"),
            "withdraw",
            json!({"reason": "重复"}),
        )
        .await;
    }
    let third = w
        .app
        .post("/needs", w.tok("village_v1"), body.clone())
        .await;
    let third = third.expect(201).clone();
    let events = w
        .app
        .get(
            &format!("/needs/{}/events", s(&third, "id")),
            w.tok("village_v1"),
        )
        .await;
    assert!(events.expect(200)["items"][0]["payload"]
        .get("confirm_duplicate")
        .is_none());
}

#[tokio::test]
async fn a_repeated_idempotency_key_is_a_replay_never_a_duplicate() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 41).await;
    let body = json!({"person_id": s(&p, "id"), "category": "employment", "description": "求职"});
    let send = async || {
        w.app
            .call_h(
                Method::POST,
                "/needs",
                Some(w.tok("village_v1")),
                Some(body.clone()),
                &[("Idempotency-Key", "dup-1")],
            )
            .await
    };
    let first = send().await;
    let first = first.expect(201).clone();
    let replay = send().await;
    assert_eq!(replay.expect(201)["id"], first["id"]);
    assert_eq!(
        replay
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    assert_eq!(replay.body["case_number"], first["case_number"]);
    // without the key, the same body is a possible duplicate of it
    let fresh = w
        .app
        .post("/needs", w.tok("village_v1"), body.clone())
        .await;
    fresh.problem(409, "possible_duplicate");
    assert_eq!(fresh.body["existing_need_id"], first["id"]);
}
