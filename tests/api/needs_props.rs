//! Property test: random sequences of actions by random users, through the real HTTP API.
//! After every step the need's invariants hold, whatever was allowed or refused.

use crate::support::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};

const ACTORS: [&str; 9] = [
    "village_v1",
    "vdpf_v1",
    "town_t1",
    "officer_t1",
    "president_a",
    "assoc_a",
    "site_t1",
    "admin_a",
    "auditor_a",
];
const ACTIONS: [&str; 11] = [
    "register", "refer", "accept", "return", "assign", "escalate", "reroute", "resolve", "verify",
    "withdraw", "comment",
];

fn body(w: &World, action: &str, flip: bool) -> Value {
    match action {
        "register" => json!({"loop": if flip { "policy" } else { "social" }}),
        "refer" => json!({"department_id": w.orgs["civil_t1"]}),
        "assign" => json!({"extension_site_id": w.orgs["site_t1"]}),
        "resolve" => {
            json!({"outcome": if flip { "fulfilled" } else { "unable" }, "resolution": "done"})
        }
        "verify" => json!({"satisfied": flip, "satisfaction": if flip { 5 } else { 2 }}),
        "comment" => json!({"text": "note"}),
        "accept" => json!({}),
        _ => json!({"reason": "because"}),
    }
}

async fn check_invariants(w: &World, id: &str) {
    let n = w
        .app
        .get(&format!("/needs/{id}"), w.tok("root"))
        .await
        .expect(200)
        .clone();
    let events = w
        .app
        .get(&format!("/needs/{id}/events"), w.tok("root"))
        .await
        .expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let non_state = ["comment", "sla_breached", "handover", "allocate"];
    let changes = events
        .iter()
        .filter(|e| !non_state.contains(&e["action"].as_str().unwrap_or("")))
        .count();
    assert_eq!(
        n["version"].as_u64(),
        Some(changes as u64),
        "version counts the state changes"
    );
    // the history replays to the current state, each event starting where the last ended
    let mut state: Option<String> = None;
    for (i, e) in events.iter().enumerate() {
        assert_eq!(e["seq"].as_u64(), Some(i as u64 + 1));
        assert_eq!(
            e["from_state"].as_str().map(String::from),
            state,
            "event {i} starts where the last ended"
        );
        state = e["to_state"].as_str().map(String::from);
    }
    assert_eq!(state.as_deref(), n["state"].as_str());
    let last = events.last().cloned().unwrap_or_default();
    assert_eq!(last["level"], n["level"]);
    assert_eq!(
        last["handler_organization_id"],
        n["handler_organization_id"]
    );
    // a closed need passed a satisfied follow-up
    if n["state"] == "closed" {
        let closing = events
            .iter()
            .rev()
            .find(|e| e["to_state"] == "closed" && e["from_state"] != "closed");
        let closing = closing.cloned().unwrap_or_default();
        assert_eq!(closing["action"], "verify");
        assert_eq!(closing["payload"]["satisfied"], true);
    }
    // a city-level need is the on-duty president's (president_a is on duty all along)
    if n["level"] == "city" && n["assignee_user_id"].is_string() {
        let assignee = n["assignee_user_id"].as_str().unwrap_or("");
        let staff = [
            w.users["president_a"].to_string(),
            w.users["assoc_a"].to_string(),
        ];
        assert!(
            staff.contains(&assignee.to_string()),
            "city need assigned to {assignee}"
        );
    }
}

#[test]
fn random_action_sequences_keep_every_invariant() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let w = rt.block_on(async {
        let w = world().await;
        w.on_duty("president_a").await;
        w
    });
    let person = rt.block_on(w.person("village_v1", "v1", 1));
    let person_id = person["id"].as_str().unwrap_or("").to_string();
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy =
        proptest::collection::vec((0..ACTORS.len(), 0..ACTIONS.len(), any::<bool>()), 1..14);
    let result = runner.run(&strategy, |steps| {
        rt.block_on(async {
            let need = w.need("village_v1", &person_id).await;
            let id = need["id"].as_str().unwrap_or("").to_string();
            for (actor, action, flip) in steps {
                let who = ACTORS[actor];
                let action = ACTIONS[action];
                let current = w.app.get(&format!("/needs/{id}"), w.tok("root")).await;
                let version = current.body["version"].as_i64();
                let r = w
                    .act(who, &id, action, body(&w, action, flip), version)
                    .await;
                let code = r.status.as_u16();
                assert!(
                    [200, 403, 404, 409].contains(&code),
                    "{who} {action}: {code} {}",
                    r.text
                );
                check_invariants(&w, &id).await;
            }
        });
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
