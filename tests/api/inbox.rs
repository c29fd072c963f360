//! 待办: a need walked through both loops is in exactly the inbox of whoever may move it on, with
//! the actions they may take; counts and buckets of needs arranged to be overdue, due today and
//! at risk; keyset pages by deadline.

use crate::support::*;
use chrono::{DateTime, Duration, Utc};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};
use std::collections::BTreeMap;

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

fn words(v: &Value) -> Vec<String> {
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|a| a.as_str().map(String::from))
        .collect()
}

/// Everyone the walk asks: every kind of desk, and some that never hold these needs.
const EVERYONE: &[&str] = &[
    "root",
    "admin_a",
    "president_a",
    "president_a2",
    "assoc_a",
    "auditor_a",
    "town_t1",
    "auditor_t1",
    "town_t2",
    "officer_t1",
    "health_t1",
    "site_t1",
    "village_v1",
    "vdpf_v1",
    "village_v2",
    "admin_b",
    "village_bv",
];

/// Who has the need in their inbox, with the allowed actions the item shows; each item's
/// actions are also what `GET /needs/{id}` answers that user.
async fn holders(w: &World, need: &str) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for who in EVERYONE {
        let r = w.app.get("/inbox", w.tok(who)).await;
        let body = r.expect(200);
        let items = body["items"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            body["counts"]["total"].as_i64(),
            Some(items.len() as i64),
            "{who}: one page holds this test's inbox"
        );
        if let Some(item) = items.iter().find(|i| s(i, "id") == need) {
            let allowed = words(&item["allowed_actions"]);
            let got = w.app.get(&format!("/needs/{need}"), w.tok(who)).await;
            assert_eq!(words(&got.expect(200)["allowed_actions"]), allowed, "{who}");
            assert!(item["case_number"].is_string() && item["person_name"].is_string());
            out.insert(who.to_string(), allowed);
        }
    }
    out
}

fn expect(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    pairs
        .iter()
        .map(|(who, a)| (who.to_string(), a.iter().map(|x| x.to_string()).collect()))
        .collect()
}

#[tokio::test]
async fn a_policy_need_moves_from_desk_to_desk_and_leaves_every_inbox_when_closed() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    let village = &["register", "withdraw"][..];
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("vdpf_v1", village), ("village_v1", village)])
    );
    w.step("village_v1", &id, "register", json!({"loop": "policy"}))
        .await;
    assert_eq!(
        holders(&w, &id).await,
        expect(&[
            ("town_t1", &["refer"]),
            ("vdpf_v1", &["refer", "withdraw"]),
            ("village_v1", &["refer", "withdraw"]),
        ])
    );
    w.step(
        "village_v1",
        &id,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    // the town could reroute and the village withdraw: neither puts it on their desk
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("officer_t1", &["accept", "return", "reroute"])])
    );
    w.step("officer_t1", &id, "accept", json!({})).await;
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("officer_t1", &["reroute", "resolve"])])
    );
    w.step(
        "officer_t1",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "补贴已发放"}),
    )
    .await;
    let follow_up = &["verify", "withdraw"][..];
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("vdpf_v1", follow_up), ("village_v1", follow_up)])
    );
    w.step(
        "village_v1",
        &id,
        "verify",
        json!({"satisfied": true, "satisfaction": 5}),
    )
    .await;
    assert!(holders(&w, &id).await.is_empty());
}

#[tokio::test]
async fn a_social_need_climbs_to_the_city_and_back_to_the_village_through_the_right_inboxes() {
    let w = world().await;
    w.on_duty("president_a").await;
    let p = w.person("village_v1", "v1", 2).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    let station = &["accept", "assign", "escalate", "withdraw"][..];
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("vdpf_v1", station), ("village_v1", station)])
    );
    w.step(
        "village_v1",
        &id,
        "escalate",
        json!({"reason": "村里解决不了"}),
    )
    .await;
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("town_t1", &["accept", "assign", "escalate"])])
    );
    w.step("town_t1", &id, "escalate", json!({"reason": "镇里也不行"}))
        .await;
    // at the city: the association's staff and presidents (the on-duty one is assigned)
    let city = &["accept", "assign"][..];
    assert_eq!(
        holders(&w, &id).await,
        expect(&[
            ("assoc_a", city),
            ("president_a", city),
            ("president_a2", city)
        ])
    );
    w.step(
        "president_a",
        &id,
        "assign",
        json!({"extension_site_id": w.orgs["site_t1"]}),
    )
    .await;
    let holding = &["assign", "resolve"][..];
    let with_site = expect(&[
        ("assoc_a", holding),
        ("president_a", holding),
        ("president_a2", holding),
        ("site_t1", &["resolve"]),
    ]);
    assert_eq!(holders(&w, &id).await, with_site);
    w.step(
        "site_t1",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "康复训练已安排"}),
    )
    .await;
    let follow_up = &["verify", "withdraw"][..];
    assert_eq!(
        holders(&w, &id).await,
        expect(&[("vdpf_v1", follow_up), ("village_v1", follow_up)])
    );
    // unsatisfied: back on the desks that held it
    w.step(
        "village_v1",
        &id,
        "verify",
        json!({"satisfied": false, "satisfaction": 2}),
    )
    .await;
    assert_eq!(holders(&w, &id).await, with_site);
    w.step(
        "president_a2",
        &id,
        "resolve",
        json!({"outcome": "fulfilled", "resolution": "再次上门"}),
    )
    .await;
    w.step(
        "village_v1",
        &id,
        "verify",
        json!({"satisfied": true, "satisfaction": 4}),
    )
    .await;
    assert!(holders(&w, &id).await.is_empty());
}

/// Sets a need's deadline, last transition and overdue mark directly.
async fn arrange(w: &World, id: &str, due: DateTime<Utc>, entered: DateTime<Utc>, overdue: bool) {
    let mut db = w.app.db().await;
    diesel::sql_query(
        "UPDATE needs SET due_at = $2, entered_state_at = $3, overdue = $4 WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(id.parse::<uuid::Uuid>().expect("id"))
    .bind::<diesel::sql_types::Timestamptz, _>(due)
    .bind::<diesel::sql_types::Timestamptz, _>(entered)
    .bind::<diesel::sql_types::Bool, _>(overdue)
    .execute(&mut db)
    .await
    .expect("arrange");
}

fn ids(body: &Value) -> Vec<String> {
    item_ids(body)
}

#[tokio::test]
async fn counts_and_buckets_sort_needs_by_deadline_and_pages_follow_it() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 3).await;
    let mut n = Vec::new();
    for _ in 0..5 {
        n.push(s(&w.need("village_v1", &s(&p, "id")).await, "id"));
    }
    let now = Utc::now();
    let end_of_today = {
        let tz = chrono_tz::Asia::Shanghai;
        let tomorrow = now.with_timezone(&tz).date_naive() + Duration::days(1);
        use chrono::TimeZone;
        tz.from_local_datetime(&tomorrow.and_time(chrono::NaiveTime::MIN))
            .earliest()
            .expect("midnight")
            .with_timezone(&Utc)
    };
    let minute = Duration::minutes(1);
    // overdue by its deadline
    arrange(
        &w,
        &n[0],
        now - Duration::hours(1),
        now - Duration::hours(49),
        false,
    )
    .await;
    // due today, with most of its time left
    arrange(
        &w,
        &n[1],
        now + (end_of_today - now) / 2,
        now - minute,
        false,
    )
    .await;
    // at risk: due tomorrow, but less than a quarter of 200 hours left
    let c = end_of_today + Duration::hours(10);
    arrange(&w, &n[2], c, c - Duration::hours(200), false).await;
    // nothing special
    arrange(
        &w,
        &n[3],
        end_of_today + Duration::hours(100),
        now - minute,
        false,
    )
    .await;
    // marked overdue by the sweeper though its deadline is far
    arrange(
        &w,
        &n[4],
        end_of_today + Duration::hours(200),
        now - minute,
        true,
    )
    .await;
    let inbox = async |who: &str, query: &str| {
        let r = w.app.get(&format!("/inbox{query}"), w.tok(who)).await;
        r.expect(200).clone()
    };
    let all = inbox("village_v1", "").await;
    assert_eq!(
        all["counts"],
        json!({"total": 5, "overdue": 2, "due_today": 1, "at_risk": 1})
    );
    assert_eq!(ids(&all), n);
    assert!(all["next_cursor"].is_null());
    let bucket = async |b: &str| {
        let body = inbox("village_v1", &format!("?bucket={b}")).await;
        assert_eq!(
            body["counts"], all["counts"],
            "counts are the whole inbox's"
        );
        ids(&body)
    };
    assert_eq!(bucket("overdue").await, [n[0].clone(), n[4].clone()]);
    assert_eq!(bucket("due_today").await, vec![n[1].clone()]);
    assert_eq!(bucket("at_risk").await, vec![n[2].clone()]);
    // keyset pages by (due_at, id)
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    loop {
        let page = inbox("vdpf_v1", &query).await;
        assert_eq!(page["counts"]["total"], 5);
        let got = ids(&page);
        assert!(got.len() <= 2);
        seen.extend(got);
        match page["next_cursor"].as_str() {
            Some(c) => query = format!("?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen, n);
    // refusals and empty inboxes
    w.app
        .get("/inbox?bucket=later", w.tok("village_v1"))
        .await
        .problem(422, "validation_failed");
    w.app
        .get("/inbox?cursor=nonsense", w.tok("village_v1"))
        .await
        .problem(422, "validation_failed");
    for who in ["auditor_a", "auditor_t1", "village_v2", "town_t1", "root"] {
        let body = inbox(who, "").await;
        assert_eq!(
            body["counts"],
            json!({"total": 0, "overdue": 0, "due_today": 0, "at_risk": 0}),
            "{who}"
        );
        assert!(ids(&body).is_empty(), "{who}");
    }
    // a need moved on leaves the village's inbox; withdrawn ones are no one's
    w.step("village_v1", &n[0], "withdraw", json!({"reason": "已撤回"}))
        .await;
    let after = inbox("village_v1", "").await;
    assert_eq!(
        after["counts"],
        json!({"total": 4, "overdue": 1, "due_today": 1, "at_risk": 1})
    );
}
