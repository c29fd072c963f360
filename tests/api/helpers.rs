//! Helpers, 三帮一 contact groups and visits.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn a_contact_group_is_complete_only_with_three_distinct_active_helpers_of_the_town() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let gpath = format!("/persons/{}/contact-group", p["id"].as_str().unwrap_or(""));
    let tok = w.tok("village_v1");
    let empty = w.app.get(&gpath, tok).await;
    assert_eq!(empty.expect(200)["members"], json!([]));
    assert_eq!(empty.body["complete"], false);
    let h1 = w.helper("village_v1", "v1", "王建国").await;
    let h2 = w.helper("village_v1", "v1", "李秀英").await;
    // a helper of the sibling village is still of the same town
    let h3 = w.helper("village_v2", "v2", "孔德胜").await;
    let far = w.helper("village_v3", "v3", "外镇人").await;
    let r = w
        .app
        .put(&gpath, tok, json!({"helper_ids": [h1, h2]}))
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["helper_ids"]);
    let r = w
        .app
        .put(&gpath, tok, json!({"helper_ids": [h1, h1, h2]}))
        .await;
    assert_eq!(r.fields(), vec!["helper_ids[1]"]);
    let r = w
        .app
        .put(&gpath, tok, json!({"helper_ids": [h1, h2, far]}))
        .await;
    assert_eq!(r.fields(), vec!["helper_ids[2]"]);
    let r = w
        .app
        .put(
            &gpath,
            tok,
            json!({"helper_ids": [h1, uuid::Uuid::now_v7(), h2]}),
        )
        .await;
    assert_eq!(r.fields(), vec!["helper_ids[1]"]);
    let r = w
        .app
        .put(&gpath, tok, json!({"helper_ids": [h1, h2, h3]}))
        .await;
    let g = r.expect(200).clone();
    assert_eq!(g["complete"], true);
    let ids: Vec<&str> = g["members"]
        .as_array()
        .map(|a| a.iter().filter_map(|m| m["helper_id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![h1.to_string(), h2.to_string(), h3.to_string()]);
    let person = w
        .app
        .get(&format!("/persons/{}", p["id"].as_str().unwrap_or("")), tok)
        .await;
    assert_eq!(person.body["contact_group_complete"], true);
    // deactivating a helper leaves the group incomplete until it is refilled
    let r = w
        .app
        .patch(
            &format!("/helpers/{h2}"),
            tok,
            json!({"active": false}),
            None,
        )
        .await;
    assert_eq!(r.expect(200)["active"], false);
    let g = w.app.get(&gpath, tok).await;
    assert_eq!(g.body["complete"], false);
    assert_eq!(g.body["members"].as_array().map(|a| a.len()), Some(2));
    let r = w
        .app
        .put(&gpath, tok, json!({"helper_ids": [h1, h2, h3]}))
        .await;
    assert_eq!(r.fields(), vec!["helper_ids[1]"]);
}

#[tokio::test]
async fn a_helper_covers_at_most_the_city_capacity() {
    let w = world().await;
    {
        use diesel_async::SimpleAsyncConnection;
        let mut db = w.app.db().await;
        db.batch_execute(&format!(
            "UPDATE city_settings SET helper_capacity = 1 WHERE city_id = '{}'",
            w.unit("city_a")
        ))
        .await
        .expect("set capacity");
    }
    let tok = w.tok("village_v1");
    let hs = [
        w.helper("village_v1", "v1", "甲").await,
        w.helper("village_v1", "v1", "乙").await,
        w.helper("village_v1", "v1", "丙").await,
    ];
    let extra = w.helper("village_v1", "v1", "丁").await;
    let p1 = w.person("village_v1", "v1", 2).await;
    let p2 = w.person("village_v1", "v1", 3).await;
    let g1 = format!("/persons/{}/contact-group", p1["id"].as_str().unwrap_or(""));
    let g2 = format!("/persons/{}/contact-group", p2["id"].as_str().unwrap_or(""));
    w.app
        .put(&g1, tok, json!({"helper_ids": hs}))
        .await
        .expect(200);
    // setting the same group again does not count the person twice
    w.app
        .put(&g1, tok, json!({"helper_ids": hs}))
        .await
        .expect(200);
    let r = w
        .app
        .put(&g2, tok, json!({"helper_ids": [extra, hs[1], hs[2]]}))
        .await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["helper_ids[1]", "helper_ids[2]"]);
    assert_eq!(w.app.get(&g2, tok).await.body["complete"], false);
}

#[tokio::test]
async fn helpers_are_seen_across_the_town_and_written_only_in_scope() {
    let w = world().await;
    let h_v2 = w.helper("village_v2", "v2", "西关志愿者").await;
    let h_v3 = w.helper("village_v3", "v3", "太平志愿者").await;
    let list = w.app.get("/helpers", w.tok("village_v1")).await;
    let ids: Vec<String> = list.expect(200)["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|h| h["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    assert!(ids.contains(&h_v2.to_string()) && !ids.contains(&h_v3.to_string()));
    // village v1 may read v2's helper but not change it
    w.app
        .patch(
            &format!("/helpers/{h_v2}"),
            w.tok("village_v1"),
            json!({"phone": "13000000000"}),
            None,
        )
        .await
        .problem(403, "forbidden");
    w.app
        .get(&format!("/helpers/{h_v3}"), w.tok("village_v1"))
        .await
        .problem(404, "not_found");
    w.app
        .get(&format!("/helpers/{h_v3}"), w.tok("admin_b"))
        .await
        .problem(404, "not_found");
    let r = w
        .app
        .post(
            "/helpers",
            w.tok("village_v1"),
            json!({"name": "x", "kind": "volunteer", "village_id": w.unit("v2")}),
        )
        .await;
    assert_eq!(r.fields(), vec!["village_id"]);
    let r = w
        .app
        .post(
            "/helpers",
            w.tok("village_v1"),
            json!({"name": "", "kind": "alien", "phone": "abc"}),
        )
        .await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["kind", "name", "phone"]);
    w.app
        .post(
            "/helpers",
            w.tok("auditor_a"),
            json!({"name": "x", "kind": "volunteer", "village_id": w.unit("v1")}),
        )
        .await
        .problem(403, "forbidden");
    // village staff default to their own village
    let r = w
        .app
        .post(
            "/helpers",
            w.tok("village_v1"),
            json!({"name": "网格员", "kind": "grid_worker"}),
        )
        .await;
    assert_eq!(r.expect(201)["village_id"], w.unit("v1").to_string());
}

#[tokio::test]
async fn visits_are_recorded_per_person() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 4).await;
    let h = w.helper("village_v1", "v1", "走访人").await;
    let vpath = format!("/persons/{}/visits", p["id"].as_str().unwrap_or(""));
    let tok = w.tok("village_v1");
    let r = w
        .app
        .post(
            &vpath,
            tok,
            json!({"helper_id": h, "notes": "轮椅需要维修"}),
        )
        .await;
    let v = r.expect(201).clone();
    assert_eq!(v["helper_id"], h.to_string());
    let r = w
        .app
        .post(&vpath, tok, json!({"visited_at": "2999-01-01T00:00:00Z"}))
        .await;
    assert_eq!(r.fields(), vec!["visited_at"]);
    let far = w.helper("village_v3", "v3", "外镇人").await;
    let r = w.app.post(&vpath, tok, json!({"helper_id": far})).await;
    assert_eq!(r.fields(), vec!["helper_id"]);
    let list = w.app.get(&vpath, w.tok("town_t1")).await;
    assert_eq!(
        list.expect(200)["items"].as_array().map(|a| a.len()),
        Some(1)
    );
    assert!(list.body["next_cursor"].is_null());
    let person = w
        .app
        .get(&format!("/persons/{}", p["id"].as_str().unwrap_or("")), tok)
        .await;
    assert!(person.body["last_visited_at"].is_string());
    w.app
        .post(&vpath, w.tok("auditor_a"), json!({"notes": "x"}))
        .await
        .problem(403, "forbidden");
}
