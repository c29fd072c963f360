//! Webhooks: registration and who may do it, the SSRF rule, and delivery from the outbox to a
//! local receiver (signed, once per success, in `seq` order, retried, not stalled by a
//! receiver that hangs, nothing lost when the receiver restarts).

use crate::support::*;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;
use zhucan::config::WebhookSettings;

const SECRET: &str = "a-shared-secret-of-some-length";

/// What a receiver does with a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reply {
    Status(u16),
    Hang,
    /// 200 after this many milliseconds: a delivery that is in flight for a while.
    Delay(u64),
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
pub(crate) struct Got {
    path: String,
    event_id: String,
    signature: String,
    content_type: String,
    body: String,
    /// What it answered (0: it hung).
    answered: u16,
    at: std::time::Instant,
}

impl Got {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a JSON body")
    }
}

/// The receiver's memory and script, kept across restarts.
#[derive(Default)]
struct Shared {
    got: Mutex<Vec<Got>>,
    script: Mutex<VecDeque<Reply>>,
    /// After the script: 200, or this.
    then: Mutex<Option<Reply>>,
}

/// A local HTTP receiver on 127.0.0.1 that records what it is sent.
pub(crate) struct Receiver {
    port: u16,
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let reply = shared
        .script
        .lock()
        .expect("script")
        .pop_front()
        .or(*shared.then.lock().expect("then"))
        .unwrap_or(Reply::Status(200));
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    shared.got.lock().expect("got").push(Got {
        path: req.path().to_string(),
        event_id: header("X-Zhucan-Event-Id"),
        signature: header("X-Zhucan-Signature"),
        content_type: header("Content-Type"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: match reply {
            Reply::Status(s) => s,
            Reply::Hang => 0,
            Reply::Delay(_) => 200,
        },
        at: std::time::Instant::now(),
    });
    match reply {
        Reply::Status(s) => {
            HttpResponse::build(actix_web::http::StatusCode::from_u16(s).expect("status")).finish()
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            HttpResponse::Ok().finish()
        }
        Reply::Delay(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            HttpResponse::Ok().finish()
        }
    }
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub(crate) async fn start() -> Receiver {
        Receiver::on(0, Arc::new(Shared::default())).await
    }

    async fn on(port: u16, shared: Arc<Shared>) -> Receiver {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind receiver");
        let port = listener.local_addr().expect("addr").port();
        let data = web::Data::from(shared.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .shutdown_timeout(0)
        .listen(listener)
        .expect("listen")
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Receiver {
            port,
            shared,
            handle,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Stops it at once, dropping its connections.
    async fn kill(&self) {
        self.handle.stop(false).await;
    }

    /// Starts it again on the same port, with the same memory.
    async fn restart(&self) -> Receiver {
        Receiver::on(self.port, self.shared.clone()).await
    }

    fn script(&self, replies: &[Reply]) {
        self.shared.script.lock().expect("script").extend(replies);
    }

    pub(crate) fn then(&self, reply: Reply) {
        *self.shared.then.lock().expect("then") = Some(reply);
    }

    pub(crate) fn got(&self) -> Vec<Got> {
        self.shared.got.lock().expect("got").clone()
    }
}

/// Fast settings for tests: targets on 127.0.0.1 allowed, the backoff scaled down from 1 s.
pub(crate) fn settings(retry_base_ms: u64, timeout_ms: u64) -> WebhookSettings {
    WebhookSettings {
        allow_private: true,
        retry_base: Duration::from_millis(retry_base_ms),
        timeout: Duration::from_millis(timeout_ms),
        poll: Duration::from_millis(50),
        concurrency: 8,
    }
}

/// The fixture world with the delivery worker running (as in `serve`).
async fn world_delivering(s: WebhookSettings) -> World {
    let db = fresh_database().await;
    let worker_settings = s.clone();
    let app = spawn_app_with(db, move |c| c.webhooks = s).await;
    let outbox = zhucan::jobs::outbox::spawn(app.state.pool.clone(), worker_settings)
        .expect("worker")
        .expect("worker on");
    // runs until the test's runtime ends
    std::mem::forget(outbox);
    world_in(app).await
}

/// Polls `done` every 50 ms until it holds or `secs` pass.
pub(crate) async fn until<F, Fut>(secs: u64, what: &str, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub(crate) fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

pub(crate) async fn register(w: &World, url: &str, events: Value) -> Value {
    let r = w
        .app
        .post(
            "/webhooks",
            w.tok("admin_a"),
            json!({"url": url, "events": events, "secret": SECRET}),
        )
        .await;
    r.expect(201).clone()
}

/// Whether `signature` is `sha256=` + the hex HMAC-SHA256 of `body` under `secret`.
fn signed(secret: &str, body: &str, signature: &str) -> bool {
    let Some(hex) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect();
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(body.as_bytes());
    bytes.is_some_and(|b| mac.verify_slice(&b).is_ok())
}

/// The need's history as (event id, action, to_state), oldest first.
pub(crate) async fn events_of(w: &World, need: &str) -> Vec<(String, String, String)> {
    let r = w
        .app
        .get(&format!("/needs/{need}/events"), w.tok("root"))
        .await;
    let id: Uuid = need.parse().expect("need id");
    r.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            let seq = e["seq"].as_i64().unwrap_or(0) as i32;
            (
                zhucan::domain::webhook::event_id(id, seq).to_string(),
                s(e, "action"),
                s(e, "to_state"),
            )
        })
        .collect()
}

/// Files a need in V1 and walks it: register (social), a comment, escalate to the town.
pub(crate) async fn walked_need(w: &World, n: u32) -> String {
    let p = w.person("village_v1", "v1", n).await;
    let id = s(&w.need("village_v1", &s(&p, "id")).await, "id");
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    w.act(
        "village_v1",
        &id,
        "comment",
        json!({"text": "已电话联系"}),
        None,
    )
    .await
    .expect(200);
    w.step(
        "village_v1",
        &id,
        "escalate",
        json!({"reason": "村里解决不了"}),
    )
    .await;
    id
}

/// The event ids the receiver answered 2xx, per need, in the order they arrived.
pub(crate) fn delivered_per_need(got: &[Got], path: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for g in got
        .iter()
        .filter(|g| g.path == path && (200..300).contains(&g.answered))
    {
        out.entry(s(&g.json()["need"], "id"))
            .or_default()
            .push(g.event_id.clone());
    }
    out
}

pub(crate) async fn pending_rows(w: &World) -> i64 {
    use diesel::{ExpressionMethods, QueryDsl};
    use diesel_async::RunQueryDsl;
    use zhucan::db::schema::webhook_outbox;
    let mut db = w.app.db().await;
    webhook_outbox::table
        .filter(webhook_outbox::status.eq("pending"))
        .count()
        .get_result(&mut db)
        .await
        .expect("count")
}

pub(crate) async fn deliveries(w: &World, hook: &str) -> Vec<Value> {
    let r = w
        .app
        .get(
            &format!("/webhooks/{hook}/deliveries?limit=200"),
            w.tok("admin_a"),
        )
        .await;
    r.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn each_event_is_delivered_once_signed_and_in_seq_order() {
    let w = world_delivering(settings(20, 2000)).await;
    let rx = Receiver::start().await;
    let all = register(&w, &rx.url("/all"), json!(["*"])).await;
    assert_eq!(all["secret"], SECRET);
    assert_eq!(all["active"], true);
    register(&w, &rx.url("/registered"), json!(["register"])).await;

    let needs = [walked_need(&w, 1).await, walked_need(&w, 2).await];
    let mut expected: HashMap<String, Vec<(String, String, String)>> = HashMap::new();
    for n in &needs {
        expected.insert(n.clone(), events_of(&w, n).await);
    }
    let total: usize = expected.values().map(Vec::len).sum();
    assert_eq!(total, 8, "file, register, comment, escalate for each need");
    until(20, "every event at both webhooks", || async {
        let got = rx.got();
        got.iter().filter(|g| g.path == "/all").count() >= total
            && got.iter().filter(|g| g.path == "/registered").count() >= 2
    })
    .await;
    let hook = s(&all, "id");
    until(10, "every attempt on record", || async {
        deliveries(&w, &hook).await.len() >= total
    })
    .await;
    // a little longer: nothing more arrives
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();

    let mut ids_seen = std::collections::HashSet::new();
    for g in &got {
        assert_eq!(g.content_type, "application/json");
        assert!(
            signed(SECRET, &g.body, &g.signature),
            "bad signature on {g:?}"
        );
        let body = g.json();
        assert_eq!(s(&body, "id"), g.event_id);
        assert_eq!(s(&body, "city_id"), w.unit("city_a").to_string());
        assert!(body["at"].as_str().is_some_and(|a| a.ends_with('Z')));
        let need = s(&body["need"], "id");
        let history = &expected[&need];
        let event = history
            .iter()
            .find(|e| e.0 == g.event_id)
            .expect("an event of the need's history");
        assert_eq!(s(&body, "type"), event.1);
        // the need as it was right after the event
        assert_eq!(s(&body["need"], "state"), event.2);
        ids_seen.insert((g.path.clone(), g.event_id.clone()));
    }
    assert_eq!(
        ids_seen.len(),
        got.len(),
        "each event delivered once per webhook"
    );
    let per_need = delivered_per_need(&got, "/all");
    for (need, history) in &expected {
        let ids: Vec<String> = history.iter().map(|e| e.0.clone()).collect();
        assert_eq!(per_need.get(need), Some(&ids), "in seq order");
    }
    let registered: Vec<Value> = got
        .iter()
        .filter(|g| g.path == "/registered")
        .map(Got::json)
        .collect();
    assert_eq!(registered.len(), 2);
    assert!(registered.iter().all(|b| b["type"] == "register"));

    // the attempts are on record; the secret is not shown again
    let d = deliveries(&w, &hook).await;
    assert_eq!(d.len(), total);
    assert!(d
        .iter()
        .all(|x| x["status"] == 200 && x["attempt"] == 1 && x["error"].is_null()));
    let one = w
        .app
        .get(&format!("/webhooks/{hook}"), w.tok("admin_a"))
        .await;
    assert!(one.expect(200).get("secret").is_none());
    let list = w.app.get("/webhooks", w.tok("admin_a")).await;
    let items = list.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i.get("secret").is_none()));
    assert!(list.body["next_cursor"].is_null());
}

#[tokio::test]
async fn a_receiver_failing_three_times_gets_the_retries_then_nothing_more() {
    let w = world_delivering(settings(20, 2000)).await;
    let rx = Receiver::start().await;
    rx.script(&[Reply::Status(500), Reply::Status(503), Reply::Status(500)]);
    let hook = s(&register(&w, &rx.url("/h"), json!(["file"])).await, "id");
    let p = w.person("village_v1", "v1", 1).await;
    w.need("village_v1", &s(&p, "id")).await;

    until(20, "four attempts", || async { rx.got().len() >= 4 }).await;
    until(10, "the success on record", || async {
        deliveries(&w, &hook).await.len() >= 4
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = rx.got();
    assert_eq!(
        got.iter().map(|g| g.answered).collect::<Vec<_>>(),
        vec![500, 503, 500, 200],
        "retried until the 2xx, then no more"
    );
    assert!(got
        .iter()
        .all(|g| g.event_id == got[0].event_id && g.body == got[0].body));
    // the waits grow: at least 1, 3 and 8 times the base delay
    for (i, min_ms) in [20u64, 60, 160].into_iter().enumerate() {
        let waited = got[i + 1].at.duration_since(got[i].at);
        assert!(
            waited >= Duration::from_millis(min_ms),
            "wait {i}: {waited:?}"
        );
    }
    let d = deliveries(&w, &hook).await;
    let seen: Vec<(i64, i64, String)> = d
        .iter()
        .map(|x| {
            (
                x["attempt"].as_i64().unwrap_or(0),
                x["status"].as_i64().unwrap_or(0),
                s(x, "outcome"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            (1, 500, "retry".to_string()),
            (2, 503, "retry".to_string()),
            (3, 500, "retry".to_string()),
            (4, 200, "delivered".to_string()),
        ]
    );
    assert_eq!(s(&d[0], "event_id"), got[0].event_id);
    assert_eq!(d[0]["error"], "HTTP 500 Internal Server Error");
    assert_eq!(pending_rows(&w).await, 0);
}

#[tokio::test]
async fn a_receiver_that_never_succeeds_gets_ten_attempts_and_the_event_is_dead() {
    let w = world_delivering(settings(1, 2000)).await;
    let rx = Receiver::start().await;
    rx.then(Reply::Status(500));
    let hook = s(&register(&w, &rx.url("/h"), json!(["*"])).await, "id");
    let p = w.person("village_v1", "v1", 1).await;
    w.need("village_v1", &s(&p, "id")).await;
    // the whole schedule is 5 674 base delays: under 6 s here
    until(30, "the delivery dead", || async {
        deliveries(&w, &hook)
            .await
            .last()
            .is_some_and(|d| d["outcome"] == "dead")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.got().len(), 10);
    let d = deliveries(&w, &hook).await;
    assert_eq!(d.len(), 10);
    assert_eq!(d[9]["attempt"], 10);
    assert_eq!(pending_rows(&w).await, 0);
}

#[tokio::test]
async fn a_receiver_that_hangs_does_not_stall_another_webhook() {
    // a long timeout: the hanging receiver holds its deliveries for the whole test
    let w = world_delivering(settings(20, 60_000)).await;
    let stuck = Receiver::start().await;
    stuck.then(Reply::Hang);
    let fine = Receiver::start().await;
    register(&w, &stuck.url("/stuck"), json!(["*"])).await;
    register(&w, &fine.url("/fine"), json!(["*"])).await;
    let mut needs = Vec::new();
    for n in 1..=6 {
        let p = w.person("village_v1", "v1", n).await;
        needs.push(s(&w.need("village_v1", &s(&p, "id")).await, "id"));
    }
    until(15, "every event at the receiver that answers", || async {
        fine.got().len() >= needs.len()
    })
    .await;
    until(5, "the stuck receiver reached", || async {
        !stuck.got().is_empty()
    })
    .await;
    assert!(fine.got().iter().all(|g| g.answered == 200));
}

#[tokio::test]
async fn a_receiver_killed_and_restarted_loses_nothing_and_gets_each_need_in_order() {
    let w = world_delivering(settings(20, 2000)).await;
    let rx = Receiver::start().await;
    let hook = s(&register(&w, &rx.url("/h"), json!(["*"])).await, "id");
    let first = walked_need(&w, 1).await;
    until(20, "the first need's events", || async {
        rx.got().len() >= 4
    })
    .await;

    rx.kill().await;
    // events while nobody listens
    let second = walked_need(&w, 2).await;
    w.step("town_t1", &first, "accept", json!({})).await;
    until(
        20,
        "a failed attempt while the receiver is down",
        || async {
            deliveries(&w, &hook)
                .await
                .iter()
                .any(|x| x["status"].is_null())
        },
    )
    .await;
    let rx2 = rx.restart().await;
    let third = walked_need(&w, 3).await;

    until(30, "every outbox row delivered or dead", || async {
        pending_rows(&w).await == 0
    })
    .await;
    let got = rx2.got();
    let per_need = delivered_per_need(&got, "/h");
    for need in [&first, &second, &third] {
        let history: Vec<String> = events_of(&w, need).await.into_iter().map(|e| e.0).collect();
        let mut arrived = per_need.get(need).cloned().unwrap_or_default();
        // at least once: a repeat may arrive, never an earlier event after a later one
        arrived.dedup();
        assert_eq!(arrived, history, "need {need}");
    }
    let d = deliveries(&w, &hook).await;
    assert!(d
        .iter()
        .any(|x| x["status"].is_null() && x["error"].is_string()));
    assert!(d.iter().all(|x| x["outcome"] != "dead"));
}

#[tokio::test]
async fn internal_targets_are_refused_unless_allowed() {
    let w = world().await;
    for url in [
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://127.0.0.1:9000/hook",
        "http://[::1]/hook",
        "http://localhost/hook",
        "ftp://203.0.113.10/hook",
        "not a url",
    ] {
        let r = w
            .app
            .post(
                "/webhooks",
                w.tok("admin_a"),
                json!({"url": url, "events": ["*"]}),
            )
            .await;
        r.problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["url"], "{url}");
    }
    let r = w
        .app
        .post(
            "/webhooks",
            w.tok("admin_a"),
            json!({"url": "https://203.0.113.10/hook", "events": ["file", "nonsense"], "secret": "short"}),
        )
        .await;
    assert_eq!(r.fields(), vec!["events[1]", "secret"]);
    let r = w
        .app
        .post(
            "/webhooks",
            w.tok("admin_a"),
            json!({"url": "https://203.0.113.10/hook", "events": ["*"]}),
        )
        .await;
    let created = r.expect(201);
    let secret = s(created, "secret");
    assert_eq!(secret.len(), 64, "a generated secret: {secret}");
    // a name is checked again at delivery, after resolution
    let refused = zhucan::service::webhooks::resolve_public("localhost", 80, false).await;
    assert!(refused.is_err_and(|e| e.contains("loopback")));
    let allowed = zhucan::service::webhooks::resolve_public("localhost", 80, true).await;
    assert!(allowed.is_ok_and(|a| !a.is_empty()));
}

#[tokio::test]
async fn a_private_target_slipped_into_the_table_is_refused_at_delivery() {
    // the worker refuses private targets; the row is written behind the API's back
    let mut strict = settings(1, 2000);
    strict.allow_private = false;
    let w = world_delivering(strict).await;
    let rx = Receiver::start().await;
    let hook = Uuid::now_v7();
    {
        use diesel::ExpressionMethods;
        use diesel_async::RunQueryDsl;
        use zhucan::db::schema::webhooks;
        let mut db = w.app.db().await;
        diesel::insert_into(webhooks::table)
            .values((
                webhooks::id.eq(hook),
                webhooks::city_id.eq(w.unit("city_a")),
                webhooks::url.eq(rx.url("/h")),
                webhooks::events.eq(vec!["*".to_string()]),
                webhooks::secret.eq(SECRET),
            ))
            .execute(&mut db)
            .await
            .expect("insert");
    }
    let p = w.person("village_v1", "v1", 1).await;
    w.need("village_v1", &s(&p, "id")).await;
    until(30, "the delivery dead", || async {
        deliveries(&w, &hook.to_string())
            .await
            .last()
            .is_some_and(|d| d["outcome"] == "dead")
    })
    .await;
    assert!(rx.got().is_empty(), "nothing reached the private address");
    let d = deliveries(&w, &hook.to_string()).await;
    assert!(d[0]["error"]
        .as_str()
        .is_some_and(|e| e.contains("loopback")));
}

#[tokio::test]
async fn only_the_city_admin_manages_its_webhooks() {
    let w = world().await;
    let url = "https://203.0.113.10/hook";
    let hook = w
        .app
        .post(
            "/webhooks",
            w.tok("admin_a"),
            json!({"url": url, "events": ["*"]}),
        )
        .await;
    let id = s(hook.expect(201), "id");
    // another city's admin: as if it did not exist
    for path in [
        format!("/webhooks/{id}"),
        format!("/webhooks/{id}/deliveries"),
    ] {
        w.app
            .get(&path, w.tok("admin_b"))
            .await
            .problem(404, "not_found");
    }
    w.app
        .call(
            Method::DELETE,
            &format!("/webhooks/{id}"),
            Some(w.tok("admin_b")),
            None,
        )
        .await
        .problem(404, "not_found");
    let theirs = w.app.get("/webhooks", w.tok("admin_b")).await;
    assert_eq!(theirs.expect(200)["items"], json!([]));
    // others of the city: their role may not
    for who in [
        "village_v1",
        "town_t1",
        "auditor_a",
        "assoc_a",
        "president_a",
    ] {
        w.app
            .get(&format!("/webhooks/{id}"), w.tok(who))
            .await
            .problem(403, "forbidden");
        w.app
            .get("/webhooks", w.tok(who))
            .await
            .problem(403, "forbidden");
        w.app
            .post(
                "/webhooks",
                w.tok(who),
                json!({"url": url, "events": ["*"]}),
            )
            .await
            .problem(403, "forbidden");
    }
    // the deployment admin names the city
    let r = w
        .app
        .post(
            "/webhooks",
            w.tok("root"),
            json!({"url": url, "events": ["*"]}),
        )
        .await;
    assert_eq!(r.fields(), vec!["city_id"]);
    w.app
        .post(
            "/webhooks",
            w.tok("root"),
            json!({"url": url, "events": ["*"], "city_id": w.unit("city_b")}),
        )
        .await
        .expect(201);
    w.app
        .get(&format!("/webhooks/{id}"), w.tok("root"))
        .await
        .expect(200);
    let b = w
        .app
        .get(
            &format!("/webhooks?city_id={}", w.unit("city_b")),
            w.tok("root"),
        )
        .await;
    assert_eq!(b.expect(200)["items"].as_array().map(Vec::len), Some(1));
    // removed: gone
    w.app
        .call(
            Method::DELETE,
            &format!("/webhooks/{id}"),
            Some(w.tok("admin_a")),
            None,
        )
        .await
        .expect(204);
    w.app
        .get(&format!("/webhooks/{id}"), w.tok("admin_a"))
        .await
        .problem(404, "not_found");
}
