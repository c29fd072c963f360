//! Helpers who sign in (SPEC §6): a town staffer makes the account from the helper record; the
//! helper sees only the persons of its own contact groups and their needs, records visits, files
//! needs (as the reporting helper) and comments; every other write is 403, anyone else's person 404.

use crate::support::*;
use serde_json::{json, Value};
use uuid::Uuid;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// A helper of V1 with an account made by town staff, in the contact group of one person;
/// returns (helper id, its token, the person in its group, a person of V1 outside it).
async fn signed_in_helper(w: &World) -> (Uuid, String, String, String) {
    let me = w.helper("village_v1", "v1", "王建国").await;
    let h2 = w.helper("village_v1", "v1", "李秀英").await;
    let h3 = w.helper("village_v1", "v1", "孔德胜").await;
    let mine = s(&w.person("village_v1", "v1", 1).await, "id");
    let other = s(&w.person("village_v1", "v1", 2).await, "id");
    w.app
        .put(
            &format!("/persons/{mine}/contact-group"),
            w.tok("village_v1"),
            json!({"helper_ids": [me, h2, h3]}),
        )
        .await
        .expect(200);
    let r = w
        .app
        .post(
            &format!("/helpers/{me}/account"),
            w.tok("town_t1"),
            json!({"username": "wang_jianguo", "password": "a-long-enough-password"}),
        )
        .await;
    let user = r.expect(201).clone();
    assert_eq!(user["role"], "helper");
    assert_eq!(user["display_name"], "王建国");
    let login = w
        .app
        .post(
            "/auth/login",
            "",
            json!({"username": "wang_jianguo", "password": "a-long-enough-password"}),
        )
        .await;
    let token = s(login.expect(200), "access_token");
    (me, token, mine, other)
}

#[tokio::test]
async fn a_town_staffer_makes_the_account_once_and_nobody_else_can() {
    let w = world().await;
    let (me, token, _, _) = signed_in_helper(&w).await;
    let who = w.app.get("/me", &token).await;
    assert_eq!(who.expect(200)["role"], "helper");
    // the helper record now names its user
    let h = w.app.get(&format!("/helpers/{me}"), w.tok("town_t1")).await;
    assert!(h.expect(200)["user_id"].is_string());
    // a second account for the same helper
    w.app
        .post(
            &format!("/helpers/{me}/account"),
            w.tok("town_t1"),
            json!({"username": "wang2", "password": "a-long-enough-password"}),
        )
        .await
        .problem(409, "conflict");
    // village staff may not make one; bad fields are named
    let other = w.helper("village_v1", "v1", "赵六").await;
    w.app
        .post(
            &format!("/helpers/{other}/account"),
            w.tok("village_v1"),
            json!({"username": "zhao6", "password": "a-long-enough-password"}),
        )
        .await
        .problem(403, "forbidden");
    let r = w
        .app
        .post(
            &format!("/helpers/{other}/account"),
            w.tok("town_t1"),
            json!({"username": "x", "password": "short"}),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["username", "password"]);
    // the generic user endpoint does not make helpers: they are bound through their record
    let r = w
        .app
        .post(
            "/users",
            w.tok("admin_a"),
            json!({"username": "loose_helper", "display_name": "散户", "role": "helper",
                   "organization_id": w.orgs["station_v1"], "password": "a-long-enough-password"}),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["role"]);
    // an account already bound to a helper cannot be bound to another (schemathesis found the
    // unique index answering an undocumented 409 here)
    let bound = s(&who.body, "id");
    let r = w
        .app
        .post(
            "/helpers",
            w.tok("town_t1"),
            json!({"name": "冒名者", "kind": "volunteer", "village_id": w.unit("v1"), "user_id": bound}),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["user_id"]);
    // a deactivated helper record can no longer sign in
    w.app
        .patch(
            &format!("/helpers/{me}"),
            w.tok("town_t1"),
            json!({"active": false}),
            None,
        )
        .await
        .expect(200);
    w.app.get("/me", &token).await.problem(401, "unauthorized");
}

#[tokio::test]
async fn a_helper_sees_and_serves_only_the_persons_of_its_groups() {
    let w = world().await;
    let (me, token, mine, other) = signed_in_helper(&w).await;
    // persons: only its own
    let list = w.app.get("/persons", &token).await;
    assert_eq!(item_ids(list.expect(200)), vec![mine.clone()]);
    w.app
        .get(&format!("/persons/{other}"), &token)
        .await
        .problem(404, "not_found");
    // the ID number stays masked for it
    w.app
        .get(&format!("/persons/{mine}?reveal=id_number"), &token)
        .await
        .problem(403, "forbidden");
    // a need of the other person (filed by the station) is invisible
    let theirs = s(&w.need("village_v1", &other).await, "id");
    w.app
        .get(&format!("/needs/{theirs}"), &token)
        .await
        .problem(404, "not_found");

    // it files a need for its person: it is the reporting helper
    let r = w
        .app
        .post(
            "/needs",
            &token,
            json!({"person_id": mine, "category": "rehabilitation", "description": "想做康复训练"}),
        )
        .await;
    let need = r.expect(201).clone();
    assert_eq!(s(&need, "reporting_helper_id"), me.to_string());
    let id = s(&need, "id");
    // the village's 村残协, which registers it, hears of it; the helper not of its own filing
    let told = w.app.get("/me/notifications", w.tok("vdpf_v1")).await;
    assert!(told.expect(200)["items"]
        .as_array()
        .is_some_and(|a| a.iter().any(|n| n["need_id"] == id.as_str())));
    let mine_told = w.app.get("/me/notifications", &token).await;
    assert_eq!(mine_told.expect(200)["unread"], 0);
    // not for someone else's person, and not in another helper's name
    let r = w
        .app
        .post(
            "/needs",
            &token,
            json!({"person_id": other, "category": "rehabilitation", "description": "x"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["person_id"]);
    let stranger = w.helper("village_v1", "v1", "孙七").await;
    let r = w
        .app
        .post(
            "/needs",
            &token,
            json!({"person_id": mine, "category": "medical", "description": "x", "reporting_helper_id": stranger}),
        )
        .await;
    assert_eq!(r.fields(), vec!["reporting_helper_id"]);

    // it comments on the need, and takes no other action; nothing waits in its inbox
    let r = w
        .app
        .call_h(
            reqwest::Method::POST,
            &format!("/needs/{id}/actions/comment"),
            Some(&token),
            Some(json!({"text": "已电话联系家属"})),
            &[],
        )
        .await;
    r.expect(200);
    let got = w.app.get(&format!("/needs/{id}"), &token).await;
    assert_eq!(got.expect(200)["allowed_actions"], json!([]));
    let r = w
        .app
        .call_h(
            reqwest::Method::POST,
            &format!("/needs/{id}/actions/register"),
            Some(&token),
            Some(json!({"loop": "social"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    r.problem(403, "forbidden");
    let inbox = w.app.get("/inbox", &token).await;
    assert_eq!(inbox.expect(200)["counts"]["total"], 0);

    // it records its own visit
    let r = w
        .app
        .post(
            &format!("/persons/{mine}/visits"),
            &token,
            json!({"notes": "上门走访，身体尚好"}),
        )
        .await;
    assert_eq!(s(r.expect(201), "helper_id"), me.to_string());
    // every other write is 403: editing the person, its group, registering persons, reports
    let v = w.app.get(&format!("/persons/{mine}"), &token).await;
    let version = v.expect(200)["version"].as_i64();
    w.app
        .patch(
            &format!("/persons/{mine}"),
            &token,
            json!({"phone": "13800000000"}),
            version,
        )
        .await
        .problem(403, "forbidden");
    w.app
        .put(
            &format!("/persons/{mine}/contact-group"),
            &token,
            json!({"helper_ids": []}),
        )
        .await
        .problem(403, "forbidden");
    w.app
        .post(
            "/persons",
            &token,
            json!({"name": "新人", "id_number": id_number(9), "disability_category": "physical", "disability_grade": 2}),
        )
        .await
        .problem(403, "forbidden");
    w.app
        .get("/reports/coverage", &token)
        .await
        .problem(403, "forbidden");
}
