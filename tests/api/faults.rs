//! Faults against a private PostgreSQL cluster this test starts and owns (never the shared server):
//! the database crashes under load, the service answers 503 with Retry-After meanwhile, recovers
//! by itself, and nothing acknowledged is lost.

use crate::support::*;
use reqwest::Method;
use serde_json::json;
use zhucan::db::embedded::EmbeddedPg;

fn crash(pg: &EmbeddedPg) {
    // kill -9 the postmaster and every backend: a crash, not a shutdown
    let pid_file = pg.pg_data_dir().join("postmaster.pid");
    let pid = std::fs::read_to_string(&pid_file)
        .ok()
        .and_then(|s| s.lines().next().map(str::to_string))
        .unwrap_or_default();
    // stopped first, so that it forks no new backend (a client reconnecting at once) between
    // the listing of its children and its own death: an orphan backend would keep the shared
    // memory and the restart would fail
    let _ = std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .stderr(std::process::Stdio::null())
        .status();
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pid])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    for c in children
        .split_whitespace()
        .chain(std::iter::once(pid.as_str()))
    {
        // a backend may already be gone with its postmaster
        let _ = std::process::Command::new("kill")
            .args(["-9", c])
            .stderr(std::process::Stdio::null())
            .status();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
}

/// What the steady client of the database-crash test saw.
#[derive(Default)]
struct Steady {
    /// Needs answered 201.
    filed: Vec<String>,
    /// Needs whose `register` answered 200.
    registered: Vec<String>,
    /// Answers that were 503 problem+json with Retry-After.
    unavailable: usize,
    /// The slowest answer.
    slowest: std::time::Duration,
    /// Anything else (a 500, another status, a 503 without Retry-After, a lost answer).
    unexpected: Vec<String>,
}

/// Files needs and registers them, over and over, until told to stop; a 2xx or a proper 503 is fine.
async fn steady_client(
    base: String,
    token: String,
    person: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Steady {
    let http = http_client();
    let mut out = Steady::default();
    let timed = async |out: &mut Steady,
                       what: &str,
                       url: String,
                       body: serde_json::Value,
                       h: &[(&str, String)]| {
        let started = std::time::Instant::now();
        let mut req = http.post(url).bearer_auth(&token).json(&body);
        for (k, v) in h {
            req = req.header(*k, v.as_str());
        }
        let res = req.send().await;
        out.slowest = out.slowest.max(started.elapsed());
        let res = match res {
            Ok(r) => r,
            Err(e) => {
                out.unexpected.push(format!("{what}: no answer: {e}"));
                return None;
            }
        };
        let status = res.status().as_u16();
        let retry = res.headers().get("retry-after").is_some();
        let problem = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/problem+json"));
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        if started.elapsed().as_secs() >= 10 {
            out.unexpected
                .push(format!("{what}: answered after {:?}", started.elapsed()));
        }
        match status {
            200 | 201 => Some(body),
            503 if retry && problem && body["code"] == "unavailable" => {
                out.unavailable += 1;
                None
            }
            _ => {
                out.unexpected.push(format!("{what}: {status} {body}"));
                None
            }
        }
    };
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let filed = timed(
            &mut out,
            "file",
            format!("{base}/api/v1/needs"),
            json!({"person_id": person, "category": "medical", "description": "steady", "confirm_duplicate": true}),
            &[],
        )
        .await;
        if let Some(id) = filed.as_ref().and_then(|n| n["id"].as_str()) {
            out.filed.push(id.to_string());
            let url = format!("{base}/api/v1/needs/{id}/actions/register");
            let h = [("If-Match", "\"1\"".to_string())];
            if timed(&mut out, "register", url, json!({"loop": "social"}), &h)
                .await
                .is_some()
            {
                out.registered.push(id.to_string());
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    out
}

#[tokio::test]
async fn a_database_crash_is_503_with_retry_after_and_the_service_recovers_without_losing_a_write()
{
    let cycles = fault_cycles();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let mut pg = EmbeddedPg::start(&dir, 0).await.expect("a private cluster");
    let port = pg.port();
    pg.ensure_database("zhucan").await.expect("database");
    let url = pg.url("zhucan");
    zhucan::db::migrate(&url).await.expect("migrate");
    let w = world_in(spawn_app_on(url.clone()).await).await;
    let person = w.person("village_v1", "v1", 1).await;
    let pid = person["id"].as_str().unwrap_or("").to_string();
    let mut acknowledged = Vec::new();
    let mut registered = Vec::new();
    let (mut unavailable, mut slowest, mut slowest_recovery) =
        (0, std::time::Duration::ZERO, std::time::Duration::ZERO);
    for cycle in 1..=cycles {
        // a client files needs and acts on them before, during and after the crash
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let steady = tokio::spawn(steady_client(
            w.app.base.clone(),
            w.tok("village_v1").to_string(),
            pid.clone(),
            stop.clone(),
        ));
        for _ in 0..3 {
            acknowledged.push(
                w.need("village_v1", &pid).await["id"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;

        crash(&pg);
        // during the outage: 503 problem+json with Retry-After, quickly, never a 500 or a hang
        for _ in 0..3 {
            let started = std::time::Instant::now();
            let r = w
                .app
                .post(
                    "/needs",
                    w.tok("village_v1"),
                    json!({"person_id": pid, "category": "medical", "description": "x", "confirm_duplicate": true}),
                )
                .await;
            assert!(
                started.elapsed().as_secs() < 10,
                "no hang past the request timeout"
            );
            r.problem(503, "unavailable");
            assert!(r.headers.get("retry-after").is_some());
            let g = w.app.get("/needs", w.tok("village_v1")).await;
            g.problem(503, "unavailable");
            w.app
                .call(Method::GET, "/readyz", None, None)
                .await
                .problem(503, "unavailable");
        }
        w.app
            .call(Method::GET, "/healthz", None, None)
            .await
            .expect(200);

        drop(pg);
        pg = EmbeddedPg::start(&dir, port)
            .await
            .expect("restart on the same port");
        let back = std::time::Instant::now();
        let mut recovered = false;
        while back.elapsed().as_secs() < 10 {
            if w.app
                .get("/needs?limit=1", w.tok("village_v1"))
                .await
                .status
                .as_u16()
                == 200
            {
                recovered = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        assert!(
            recovered,
            "cycle {cycle}: the service did not recover by itself"
        );
        let recovery = back.elapsed();
        assert!(
            recovery.as_secs() <= 5,
            "cycle {cycle}: recovered in {recovery:?}"
        );
        slowest_recovery = slowest_recovery.max(recovery);
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let s = steady.await.expect("steady client");
        assert!(s.unexpected.is_empty(), "cycle {cycle}: {:?}", s.unexpected);
        unavailable += s.unavailable;
        slowest = slowest.max(s.slowest);
        acknowledged.extend(s.filed);
        registered.extend(s.registered);

        // every write acknowledged before, during or after the crash is there
        let db = sql_client(&url).await;
        let found = count(
            &db,
            "SELECT count(*) FROM needs WHERE id::text = ANY($1)",
            &[&acknowledged],
        )
        .await;
        assert_eq!(
            found,
            acknowledged.len() as i64,
            "cycle {cycle}: an acknowledged need was lost"
        );
        let found = count(
            &db,
            "SELECT count(*) FROM needs n WHERE n.id::text = ANY($1) AND n.version >= 2 \
             AND EXISTS (SELECT 1 FROM need_events e WHERE e.need_id = n.id AND e.action = 'register')",
            &[&registered],
        )
        .await;
        assert_eq!(
            found,
            registered.len() as i64,
            "cycle {cycle}: an acknowledged action was lost"
        );
        println!(
            "FAULTS pg-kill cycle {cycle}: recovered in {recovery:?}; {} acknowledged writes so far, 0 lost",
            acknowledged.len() + registered.len()
        );
    }
    println!(
        "FAULTS pg-kill: {cycles} cycles survived; {} acknowledged writes checked, 0 lost; {unavailable} answers during the outages were 503 with Retry-After, none 500, slowest answer {slowest:?}; recovered within {slowest_recovery:?}",
        acknowledged.len() + registered.len()
    );
    // and it takes writes again
    w.need("village_v1", &pid).await;
    pg.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

/// PostgreSQL killed (kill -9) while webhook deliveries are in flight, cycle after cycle: the
/// worker records what it sent once the database is back, keeps delivering, and in the end every
/// outbox row is delivered (none pending, none dead) and each need's events arrived in `seq` order.
#[tokio::test]
async fn postgres_killed_mid_delivery_loses_no_webhook_event_and_keeps_each_need_in_order() {
    use crate::webhooks::{
        delivered_per_need, deliveries, events_of, pending_rows, register, s, settings, until,
        walked_need, Receiver, Reply,
    };
    let cycles = fault_cycles();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let mut pg = EmbeddedPg::start(&dir, 0).await.expect("a private cluster");
    let port = pg.port();
    pg.ensure_database("zhucan").await.expect("database");
    let url = pg.url("zhucan");
    zhucan::db::migrate(&url).await.expect("migrate");
    let hooks = settings(20, 5000);
    let worker_settings = hooks.clone();
    let app = spawn_app_with(url.clone(), move |c| c.webhooks = hooks).await;
    let outbox = zhucan::jobs::outbox::spawn(app.state.pool.clone(), worker_settings)
        .expect("worker")
        .expect("worker on");
    let w = world_in(app).await;
    let rx = Receiver::start().await;
    // every delivery is held 300 ms by the receiver, so the crash finds some in flight
    rx.then(Reply::Delay(300));
    let hook = s(&register(&w, &rx.url("/h"), json!(["*"])).await, "id");

    let mut needs = Vec::new();
    for cycle in 1..=cycles {
        let seen = rx.got().len();
        for k in 0..3 {
            needs.push(walked_need(&w, (cycle * 10 + k) as u32).await);
        }
        until(20, "a delivery in flight", || async {
            rx.got().len() > seen
        })
        .await;
        crash(&pg);
        // down for a moment while the receiver still answers the requests in flight
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        drop(pg);
        pg = EmbeddedPg::start(&dir, port)
            .await
            .expect("restart on the same port");
        println!(
            "FAULTS webhook pg-kill cycle {cycle}: killed with {} requests received so far",
            rx.got().len() - seen
        );
    }

    until(90, "every outbox row delivered or dead", || async {
        pending_rows(&w).await == 0
    })
    .await;
    let got = rx.got();
    let per_need = delivered_per_need(&got, "/h");
    let mut events = 0;
    for need in &needs {
        let history: Vec<String> = events_of(&w, need).await.into_iter().map(|e| e.0).collect();
        let mut arrived = per_need.get(need).cloned().unwrap_or_default();
        // at least once: a repeat may arrive, never an earlier event after a later one
        arrived.dedup();
        assert_eq!(arrived, history, "need {need}: every event, in seq order");
        events += history.len();
    }
    let dead = deliveries(&w, &hook)
        .await
        .iter()
        .filter(|d| d["outcome"] == "dead")
        .count();
    assert_eq!(dead, 0, "no delivery given up");
    println!(
        "FAULTS webhook pg-kill: {cycles} cycles; {events} events of {} needs delivered in order, {} requests in all ({} repeats), 0 lost, 0 dead",
        needs.len(),
        got.len(),
        got.len() - events
    );
    outbox.stop().await;
    pg.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

/// This process's resident set (VmRSS), in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// Holds a need's row lock in an open transaction, so actions on it wait (holding their pooled connection).
async fn hold_lock(db_url: &str, need: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(db_url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!(
            "BEGIN; SELECT 1 FROM needs WHERE id = '{need}' FOR UPDATE"
        ))
        .await
        .expect("lock");
    client
}

#[tokio::test]
async fn an_exhausted_pool_answers_503_within_its_wait_and_leaves_nothing_idle_in_a_transaction() {
    let db = fresh_database().await;
    let app = spawn_app_with(db.clone(), |c| {
        c.pool_size = 2;
        c.pool_wait = std::time::Duration::from_millis(500);
    })
    .await;
    let w = world_in(app).await;
    let p = w.person("village_v1", "v1", 1).await;
    let need = w.need("village_v1", p["id"].as_str().unwrap_or("")).await["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let locker = hold_lock(&db, &need).await;
    // two actions wait on the lock, holding both pooled connections
    let mut slow = Vec::new();
    for _ in 0..2 {
        let client = w.app.client.clone();
        let url = format!("{}/api/v1/needs/{need}/actions/register", w.app.base);
        let tok = w.tok("village_v1").to_string();
        slow.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(tok)
                .header("If-Match", "\"1\"")
                .json(&json!({"loop": "social"}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let started = std::time::Instant::now();
    let r = w.app.get("/needs", w.tok("village_v1")).await;
    r.problem(503, "unavailable");
    assert!(r.headers.get("retry-after").is_some());
    assert!(
        started.elapsed() < std::time::Duration::from_millis(2500),
        "answered after {:?}",
        started.elapsed()
    );
    locker.batch_execute("ROLLBACK").await.expect("release");
    let mut codes = Vec::new();
    for t in slow {
        codes.push(t.await.unwrap_or(0));
    }
    codes.sort();
    assert!(
        codes == vec![200, 412] || codes == vec![200, 503] || codes == vec![412, 200],
        "{codes:?}"
    );
    // the pool is usable again
    w.app.get("/needs", w.tok("village_v1")).await.expect(200);

    // memory stays flat: waves of excess requests against the exhausted pool (this process holds
    // the app, so its resident set is the app's plus the clients')
    let locker = hold_lock(&db, &need).await;
    let mut slow = Vec::new();
    for _ in 0..2 {
        let client = w.app.client.clone();
        let url = format!("{}/api/v1/needs/{need}/actions/accept", w.app.base);
        let tok = w.tok("village_v1").to_string();
        slow.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(tok)
                .header("If-Match", "\"2\"")
                .json(&json!({}))
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let wave = async || {
        let mut batch = Vec::new();
        for _ in 0..40 {
            let client = w.app.client.clone();
            let url = format!("{}/api/v1/needs", w.app.base);
            let tok = w.tok("village_v1").to_string();
            batch.push(tokio::spawn(async move {
                client
                    .get(url)
                    .bearer_auth(tok)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }));
        }
        let mut codes = Vec::new();
        for t in batch {
            codes.push(t.await.unwrap_or(0));
        }
        codes
    };
    let warm = wave().await;
    let before = rss_kib();
    let mut excess = warm.len();
    for _ in 0..3 {
        let codes = wave().await;
        assert!(codes.iter().all(|c| *c == 503), "{codes:?}");
        excess += codes.len();
    }
    let after = rss_kib();
    locker.batch_execute("ROLLBACK").await.expect("release");
    for t in slow {
        let code = t.await.unwrap_or(0);
        assert!([200, 412, 503].contains(&code), "{code}");
    }
    println!(
        "FAULTS pool: {excess} excess requests answered 503; resident set {before} KiB before the last 120, {after} KiB after"
    );
    assert!(
        after.saturating_sub(before) < 32 * 1024,
        "memory grew from {before} KiB to {after} KiB"
    );

    // no connection is left idle in a transaction
    let name = db.rsplit('/').next().unwrap_or("").to_string();
    let (admin, conn) = tokio_postgres::connect(&db, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let rows = admin
        .query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'", &[&name])
        .await
        .expect("activity");
    let idle: i64 = rows.first().map(|r| r.get(0)).unwrap_or(-1);
    assert_eq!(idle, 0);
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_refuses_new_ones_and_exits_cleanly() {
    let db = fresh_database().await;
    let w = world_in(spawn_app_on(db.clone()).await).await;
    let p = w.person("village_v1", "v1", 1).await;
    let need = w.need("village_v1", p["id"].as_str().unwrap_or("")).await["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zhucan"))
        .arg("serve")
        .env("DATABASE_URL", &db)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SWEEP_INTERVAL_SECS", "0")
        .env_remove("JWT_SECRET")
        .env_remove("PII_KEY")
        .env_remove("APP_ENV")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let base = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        if w.app
            .client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let locker = hold_lock(&db, &need).await;
    let client = w.app.client.clone();
    let tok = w.tok("village_v1").to_string();
    let url = format!("{base}/api/v1/needs/{need}/actions/register");
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(tok)
            .header("If-Match", "\"1\"")
            .json(&json!({"loop": "social"}))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let pid = child.id().expect("pid");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    // new connections are refused while the in-flight request is still waiting
    let fresh = reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(fresh.is_err(), "a new request was accepted after SIGTERM");
    locker.batch_execute("ROLLBACK").await.expect("release");
    assert_eq!(
        in_flight.await.unwrap_or(0),
        200,
        "the in-flight request finished"
    );
    let status = tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
        .await
        .expect("exits")
        .expect("status");
    assert!(status.success(), "exit status {status}");
    println!("FAULTS sigterm: the in-flight request finished with 200, a new connection was refused, {status}");
    let n = w
        .app
        .get(&format!("/needs/{need}"), w.tok("village_v1"))
        .await;
    assert_eq!(n.body["state"], "registered");
}

// ---------------------------------------------------------------------------------------------
// The API process killed (kill -9) mid-load and restarted.
// ---------------------------------------------------------------------------------------------

/// Kill/restart cycles per fault: `FAULT_CYCLES` (default 2, the CI size; `scripts/faults.sh` runs 20).
fn fault_cycles() -> usize {
    std::env::var("FAULT_CYCLES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n: &usize| *n > 0)
        .unwrap_or(2)
}

/// Fixed keys for the spawned server and the in-process app that mints the tokens, so a token
/// (and every encrypted field) outlives a restart.
const FAULT_JWT_SECRET: &str = "fault-suite-jwt-secret-fixed-across-restarts";
const FAULT_PII_KEY: [u8; 32] = *b"fault-suite-pii-key-32-bytes-ok!";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(15))
        .build()
        .expect("client")
}

/// Starts `zhucan serve` on the private cluster and waits until it is ready.
async fn serve(url: &str, port: u16, log: &std::path::Path) -> tokio::process::Child {
    use base64::Engine;
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .expect("api log");
    let err = out.try_clone().expect("api log");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zhucan"))
        .arg("serve")
        .env("DATABASE_URL", url)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SWEEP_INTERVAL_SECS", "0")
        .env("DB_POOL_SIZE", "8")
        .env("JWT_SECRET", FAULT_JWT_SECRET)
        .env(
            "PII_KEY",
            base64::engine::general_purpose::STANDARD.encode(FAULT_PII_KEY),
        )
        .env("RUST_LOG", "warn")
        // beside the log: the same store across restarts, never the checkout's ./data
        .env(
            "ATTACHMENTS_DIR",
            log.parent()
                .unwrap_or(std::path::Path::new("."))
                .join("attachments"),
        )
        .env_remove("ATTACHMENTS_URL")
        .env_remove("PII_KEY_PREVIOUS")
        .env_remove("APP_ENV")
        .stdout(out)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("serve");
    let client = http_client();
    let started = std::time::Instant::now();
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16() == 200)
            .unwrap_or(false);
        if ready {
            return child;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the API did not come up; see {}",
            log.display()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// One request: `Ok((status, replayed, body))`, or `Err` when the answer was lost.
async fn send(
    client: &reqwest::Client,
    method: Method,
    url: String,
    token: &str,
    body: &serde_json::Value,
    headers: &[(&str, String)],
) -> Result<(u16, bool, serde_json::Value), reqwest::Error> {
    let mut req = client.request(method, url).bearer_auth(token).json(body);
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let res = req.send().await?;
    let status = res.status().as_u16();
    let replayed = res
        .headers()
        .get("idempotent-replayed")
        .and_then(|v| v.to_str().ok())
        == Some("true");
    let text = res.text().await?;
    Ok((
        status,
        replayed,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// A filing that was answered: its key, body and answer.
struct Filing {
    key: String,
    body: serde_json::Value,
    answer: serde_json::Value,
    id: String,
}

/// What the clients of one cycle saw.
#[derive(Default)]
struct Load {
    /// Filings answered 201.
    filings: Vec<Filing>,
    /// Filings whose answer was lost in the kill: (key, body).
    lost_filings: Vec<(String, serde_json::Value)>,
    /// Actions answered 2xx: (need, action).
    acts: Vec<(String, &'static str)>,
    /// Allocations answered 201: their ledger row.
    allocations: Vec<String>,
    /// Donations answered 201.
    donations: Vec<String>,
    /// Requests whose answer was lost.
    lost: usize,
    /// Any other answer.
    unexpected: Vec<String>,
}

impl Load {
    fn merge(&mut self, o: Load) {
        self.filings.extend(o.filings);
        self.lost_filings.extend(o.lost_filings);
        self.acts.extend(o.acts);
        self.allocations.extend(o.allocations);
        self.donations.extend(o.donations);
        self.lost += o.lost;
        self.unexpected.extend(o.unexpected);
    }

    fn acknowledged(&self) -> usize {
        self.filings.len() + self.acts.len() + self.donations.len()
    }
}

/// Who the clients are and what they work on.
#[derive(Clone)]
struct Crew {
    base: String,
    village: String,
    town: String,
    assoc: String,
    campaign: String,
}

/// Files needs with an Idempotency-Key and takes each through register → accept → allocate → escalate.
async fn file_and_act(
    crew: Crew,
    person: String,
    tag: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Load {
    let http = http_client();
    let base = &crew.base;
    let mut out = Load::default();
    let mut i = 0;
    'next: while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        i += 1;
        let key = format!("{tag}-{i}");
        let body = json!({"person_id": person, "category": "assistive_device", "description": format!("fault {key}"), "confirm_duplicate": true});
        let headers = [("Idempotency-Key", key.clone())];
        let (status, _, answer) = match send(
            &http,
            Method::POST,
            format!("{base}/api/v1/needs"),
            &crew.village,
            &body,
            &headers,
        )
        .await
        {
            Ok(r) => r,
            Err(_) => {
                out.lost += 1;
                out.lost_filings.push((key, body));
                break;
            }
        };
        if status != 201 {
            out.unexpected
                .push(format!("file {key}: {status} {answer}"));
            continue;
        }
        let id = answer["id"].as_str().unwrap_or("").to_string();
        out.filings.push(Filing {
            key,
            body,
            answer,
            id: id.clone(),
        });
        let steps: [(&'static str, &str, serde_json::Value, Option<i64>, u16); 4] = [
            (
                "register",
                &crew.village,
                json!({"loop": "social"}),
                Some(1),
                200,
            ),
            (
                "accept",
                &crew.village,
                json!({"note": "签收"}),
                Some(2),
                200,
            ),
            (
                "allocate",
                &crew.town,
                json!({"campaign_id": crew.campaign, "kind": "funds", "amount_fen": 100}),
                None,
                201,
            ),
            (
                "escalate",
                &crew.village,
                json!({"reason": "村里办不了"}),
                Some(3),
                200,
            ),
        ];
        for (action, token, body, version, want) in steps {
            let url = if action == "allocate" {
                format!("{base}/api/v1/needs/{id}/allocations")
            } else {
                format!("{base}/api/v1/needs/{id}/actions/{action}")
            };
            let headers: Vec<(&str, String)> = version
                .map(|v| vec![("If-Match", format!("\"{v}\""))])
                .unwrap_or_default();
            match send(&http, Method::POST, url, token, &body, &headers).await {
                Err(_) => {
                    out.lost += 1;
                    break 'next;
                }
                Ok((s, _, a)) if s == want => {
                    if action == "allocate" {
                        out.allocations
                            .push(a["id"].as_str().unwrap_or("").to_string());
                    }
                    out.acts.push((id.clone(), action));
                }
                Ok((s, _, a)) => {
                    out.unexpected.push(format!("{action} {id}: {s} {a}"));
                    continue 'next;
                }
            }
        }
    }
    out
}

/// Records donations to the campaign.
async fn donate(crew: Crew, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> Load {
    let http = http_client();
    let mut out = Load::default();
    let body = json!({"campaign_id": crew.campaign, "kind": "funds", "amount_fen": 1000, "donor_name": "爱心企业", "channel": "online_platform", "received_on": "2026-11-20"});
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        match send(
            &http,
            Method::POST,
            format!("{}/api/v1/donations", crew.base),
            &crew.assoc,
            &body,
            &[],
        )
        .await
        {
            Err(_) => {
                out.lost += 1;
                break;
            }
            Ok((201, _, a)) => out
                .donations
                .push(a["id"].as_str().unwrap_or("").to_string()),
            Ok((s, _, a)) => out.unexpected.push(format!("donation: {s} {a}")),
        }
    }
    out
}

async fn sql_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to the private cluster");
    tokio::spawn(conn);
    client
}

async fn count(
    db: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> i64 {
    db.query_one(sql, params)
        .await
        .map(|r| r.get::<_, i64>(0))
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Half-applied actions and ledgers out of balance, one line per kind of problem found.
async fn half_applied(db: &tokio_postgres::Client) -> Vec<String> {
    let checks = [
        (
            "needs without their events (version ≠ state changes, or state ≠ the last event's to_state)",
            "SELECT count(*) FROM needs n LEFT JOIN LATERAL ( \
                SELECT count(*) AS n, \
                       count(*) FILTER (WHERE action NOT IN ('comment', 'sla_breached', 'handover', 'allocate', 'allocation_reversed')) AS changes, \
                       (array_agg(to_state ORDER BY seq DESC))[1] AS last_state \
                FROM need_events WHERE need_id = n.id) e ON true \
             WHERE e.n = 0 OR e.changes <> n.version OR e.last_state <> n.state",
        ),
        (
            "allocation ledger rows without their allocate event",
            "SELECT count(*) FROM ledger_entries l WHERE l.entry = 'allocation' AND NOT EXISTS ( \
                SELECT 1 FROM need_events e WHERE e.need_id = l.need_id AND e.action = 'allocate' \
                AND e.payload->>'ledger_entry_id' = l.id::text)",
        ),
        (
            "allocate events without their ledger row",
            "SELECT count(*) FROM need_events e WHERE e.action = 'allocate' AND NOT EXISTS ( \
                SELECT 1 FROM ledger_entries l WHERE l.id::text = e.payload->>'ledger_entry_id')",
        ),
        (
            "balances that are not their ledger's sums",
            "SELECT count(*) FROM campaign_balances b WHERE \
                b.balance <> (SELECT coalesce(sum(amount), 0) FROM ledger_entries l \
                    WHERE l.campaign_id = b.campaign_id AND l.kind = b.kind AND l.item = b.item AND l.unit = b.unit) \
             OR b.raised <> (SELECT coalesce(sum(amount), 0) FROM ledger_entries l \
                    WHERE l.campaign_id = b.campaign_id AND l.kind = b.kind AND l.item = b.item AND l.unit = b.unit AND l.entry = 'donation') \
             OR b.allocated <> (SELECT coalesce(-sum(amount), 0) FROM ledger_entries l \
                    WHERE l.campaign_id = b.campaign_id AND l.kind = b.kind AND l.item = b.item AND l.unit = b.unit AND l.entry = 'allocation')",
        ),
        (
            "idempotency keys claimed without their answer",
            "SELECT count(*) FROM idempotency_keys WHERE status IS NULL",
        ),
        (
            "idempotency answers naming a need that is not there",
            "SELECT count(*) FROM idempotency_keys k WHERE k.status = 201 \
             AND NOT EXISTS (SELECT 1 FROM needs n WHERE n.id::text = k.response->>'id')",
        ),
        (
            "filings applied twice",
            "SELECT count(*) FROM (SELECT description FROM needs WHERE description LIKE 'fault %' \
             GROUP BY description HAVING count(*) > 1) d",
        ),
    ];
    let mut problems = Vec::new();
    for (what, sql) in checks {
        let n = count(db, sql, &[]).await;
        if n != 0 {
            problems.push(format!("{n} {what}"));
        }
    }
    problems
}

/// Acknowledged writes that are not in the database.
async fn missing(db: &tokio_postgres::Client, load: &Load) -> usize {
    let needs: Vec<String> = load.filings.iter().map(|f| f.id.clone()).collect();
    let (act_needs, act_names): (Vec<String>, Vec<String>) = load
        .acts
        .iter()
        .map(|(n, a)| (n.clone(), a.to_string()))
        .unzip();
    let found_needs = count(
        db,
        "SELECT count(*) FROM needs WHERE id::text = ANY($1)",
        &[&needs],
    )
    .await;
    let missing_acts = count(
        db,
        "SELECT count(*) FROM unnest($1::text[], $2::text[]) AS a(need, action) WHERE NOT EXISTS ( \
            SELECT 1 FROM need_events e WHERE e.need_id::text = a.need AND e.action = a.action)",
        &[&act_needs, &act_names],
    )
    .await;
    let found_allocations = count(
        db,
        "SELECT count(*) FROM ledger_entries WHERE entry = 'allocation' AND id::text = ANY($1)",
        &[&load.allocations],
    )
    .await;
    let found_donations = count(
        db,
        "SELECT count(DISTINCT donation_id) FROM ledger_entries WHERE donation_id::text = ANY($1)",
        &[&load.donations],
    )
    .await;
    (needs.len() as i64 - found_needs) as usize
        + missing_acts as usize
        + (load.allocations.len() as i64 - found_allocations) as usize
        + (load.donations.len() as i64 - found_donations) as usize
}

#[tokio::test]
async fn killing_the_api_mid_load_leaves_no_half_applied_action_and_replays_the_first_answers() {
    let cycles = fault_cycles();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/fault-api-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let pg = EmbeddedPg::start(&dir, 0).await.expect("a private cluster");
    pg.ensure_database("zhucan").await.expect("database");
    let url = pg.url("zhucan");
    zhucan::db::migrate(&url).await.expect("migrate");
    // arrange through an in-process app holding the same keys as the server under test
    let app = spawn_app_with(url.clone(), |c| {
        c.jwt_secret = secrecy::SecretString::from(FAULT_JWT_SECRET.to_string());
        c.pii_key = secrecy::SecretBox::new(Box::new(FAULT_PII_KEY));
    })
    .await;
    let w = world_in(app).await;
    let mut persons = Vec::new();
    for n in 0..3 {
        let p = w.person("village_v1", "v1", 60 + n).await;
        persons.push(p["id"].as_str().unwrap_or("").to_string());
    }
    let campaign = w
        .app
        .post("/campaigns", w.tok("assoc_a"), json!({"name": "温暖过冬", "kind": "themed", "starts_on": "2026-11-01", "ends_on": "2027-02-28", "goal_fen": 50_000_000}))
        .await
        .expect(201)["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    w.app
        .post("/donations", w.tok("assoc_a"), json!({"campaign_id": campaign, "kind": "funds", "amount_fen": 10_000_000, "donor_name": "爱心企业", "channel": "offline", "received_on": "2026-11-20"}))
        .await
        .expect(201);

    let port = free_port();
    let log = dir.join("api.log");
    let mut api = serve(&url, port, &log).await;
    let crew = Crew {
        base: format!("http://127.0.0.1:{port}"),
        village: w.tok("village_v1").to_string(),
        town: w.tok("town_t1").to_string(),
        assoc: w.tok("assoc_a").to_string(),
        campaign,
    };
    let db = sql_client(&url).await;
    let (mut acknowledged, mut lost_writes, mut replays) = (0, 0, 0);
    let (mut lost_answers, mut applied_on_replay, mut replayed_lost) = (0, 0, 0);
    for cycle in 1..=cycles {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut clients = Vec::new();
        for (t, person) in persons.iter().enumerate() {
            clients.push(tokio::spawn(file_and_act(
                crew.clone(),
                person.clone(),
                format!("c{cycle}-t{t}"),
                stop.clone(),
            )));
        }
        clients.push(tokio::spawn(donate(crew.clone(), stop.clone())));
        // kill -9 at a different moment each cycle
        let at = 250 + (cycle as u64 * 89) % 300;
        tokio::time::sleep(std::time::Duration::from_millis(at)).await;
        api.start_kill().expect("kill -9 the API");
        let _ = api.wait().await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut load = Load::default();
        for c in clients {
            load.merge(c.await.expect("client"));
        }
        assert!(
            load.unexpected.is_empty(),
            "cycle {cycle}: {:?}",
            load.unexpected
        );
        assert!(
            !load.filings.is_empty(),
            "cycle {cycle}: no load before the kill"
        );

        api = serve(&url, port, &log).await;
        // (a) no half-applied action, the chains intact, every balance its ledger's sum
        let problems = half_applied(&db).await;
        assert!(problems.is_empty(), "cycle {cycle}: {problems:?}");
        let verify = tokio::process::Command::new(env!("CARGO_BIN_EXE_zhucan"))
            .arg("verify")
            .env("DATABASE_URL", &url)
            .env_remove("JWT_SECRET")
            .env_remove("PII_KEY")
            .env_remove("PII_KEY_PREVIOUS")
            .env_remove("APP_ENV")
            .output()
            .await
            .expect("zhucan verify");
        assert!(
            verify.status.success(),
            "cycle {cycle}: zhucan verify: {}",
            String::from_utf8_lossy(&verify.stdout)
        );
        // (b) every acknowledged write is there
        let gone = missing(&db, &load).await;
        acknowledged += load.acknowledged();
        lost_writes += gone;
        assert_eq!(gone, 0, "cycle {cycle}: acknowledged writes lost");
        // (c) a replay answers the first status and body
        let http = http_client();
        for f in &load.filings {
            let (status, replayed, answer) = send(
                &http,
                Method::POST,
                format!("{}/api/v1/needs", crew.base),
                &crew.village,
                &f.body,
                &[("Idempotency-Key", f.key.clone())],
            )
            .await
            .expect("replay");
            assert_eq!(status, 201, "cycle {cycle}: replay of {}: {answer}", f.key);
            assert!(replayed, "cycle {cycle}: {} was not a replay", f.key);
            assert_eq!(answer, f.answer, "cycle {cycle}: replay of {}", f.key);
            replays += 1;
        }
        // a filing whose answer was lost is applied exactly once, or replays
        for (key, body) in &load.lost_filings {
            lost_answers += 1;
            let mut first = None;
            for attempt in 0..2 {
                let (status, replayed, answer) = send(
                    &http,
                    Method::POST,
                    format!("{}/api/v1/needs", crew.base),
                    &crew.village,
                    body,
                    &[("Idempotency-Key", key.clone())],
                )
                .await
                .expect("replay");
                assert_eq!(
                    status, 201,
                    "cycle {cycle}: replay of {key} (answer lost in the kill): {answer}"
                );
                replays += 1;
                match first.take() {
                    None => {
                        if replayed {
                            replayed_lost += 1;
                        } else {
                            applied_on_replay += 1;
                        }
                        first = Some(answer);
                    }
                    Some(f) => {
                        assert!(replayed, "cycle {cycle}: second replay of {key}");
                        assert_eq!(answer, f, "cycle {cycle}: second replay of {key}");
                    }
                }
                let _ = attempt;
            }
            let n = count(
                &db,
                "SELECT count(*) FROM needs WHERE description = $1",
                &[&format!("fault {key}")],
            )
            .await;
            assert_eq!(n, 1, "cycle {cycle}: {key} applied {n} times");
        }
        let problems = half_applied(&db).await;
        assert!(
            problems.is_empty(),
            "cycle {cycle} after the replays: {problems:?}"
        );
        println!(
            "FAULTS api-kill cycle {cycle}: killed after {at} ms; {} acknowledged writes checked, {gone} lost; {} answers lost in the kill ({} filings); {} replays",
            load.acknowledged(),
            load.lost,
            load.lost_filings.len(),
            load.filings.len() + 2 * load.lost_filings.len(),
        );
    }
    println!(
        "FAULTS api-kill: {cycles} cycles survived; {acknowledged} acknowledged writes checked, {lost_writes} lost; {replays} replays checked ({lost_answers} filings whose answer was lost: {applied_on_replay} applied once on replay, {replayed_lost} replayed)"
    );
    api.start_kill().expect("stop the API");
    let _ = api.wait().await;
    pg.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_key_claimed_by_a_request_that_died_is_filed_at_once_on_replay() {
    use sha2::Digest;
    let w = world().await;
    let p = w.person("village_v1", "v1", 70).await;
    let body = json!({"person_id": p["id"], "category": "medical", "description": "复诊"});
    // a claim without its answer, as a request killed mid-filing by an older build left it
    let db = sql_client(&w.app.db_url).await;
    db.execute(
        "INSERT INTO idempotency_keys (user_id, key, request_hash) VALUES (CAST($1::text AS uuid), 'k-died', $2)",
        &[
            &w.users["village_v1"].to_string(),
            &sha2::Sha256::digest(body.to_string().as_bytes()).to_vec(),
        ],
    )
    .await
    .expect("claim");
    let send = async || {
        w.app
            .call_h(
                Method::POST,
                "/needs",
                Some(w.tok("village_v1")),
                Some(body.clone()),
                &[("Idempotency-Key", "k-died")],
            )
            .await
    };
    // nobody is filing it any more: filed now (not 409 "in flight"), and once
    let first = send().await;
    let filed = first.expect(201).clone();
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = send().await;
    assert_eq!(again.expect(201), &filed);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let n = count(
        &db,
        "SELECT count(*) FROM needs WHERE description = '复诊'",
        &[],
    )
    .await;
    assert_eq!(n, 1);
}

// ---------------------------------------------------------------------------------------------
// An attachment upload cut off: by the client mid-body, or by the API killed mid-upload.
// ---------------------------------------------------------------------------------------------

/// Sends the head of a multipart upload of a `total`-byte PDF and its first `sent` body bytes,
/// and returns the open connection (dropping it cuts the upload off).
async fn partial_upload(
    addr: &str,
    path: &str,
    token: &str,
    total: usize,
    sent: usize,
) -> tokio::net::TcpStream {
    use tokio::io::AsyncWriteExt;
    let mut file = b"%PDF-1.4\n".to_vec();
    file.resize(total, b'.');
    let (ct, body) = multipart_file("file", "申请表.pdf", &file);
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for chunk in body[..sent.min(body.len())].chunks(64 * 1024) {
        stream.write_all(chunk).await.expect("body");
    }
    stream.flush().await.expect("flush");
    stream
}

fn files_in(dir: &std::path::Path) -> usize {
    crate::attachments::files_under(dir).len()
}

async fn attachment_rows(url: &str) -> i64 {
    let db = sql_client(url).await;
    db.query_one("SELECT count(*) FROM attachments", &[])
        .await
        .expect("count")
        .get(0)
}

/// Waits until a directory holds no file (the server dropped what it spooled).
async fn until_empty(dir: &std::path::Path) -> usize {
    for _ in 0..100 {
        if files_in(dir) == 0 {
            return 0;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    files_in(dir)
}

#[tokio::test]
async fn an_upload_cut_off_mid_body_or_by_a_killed_api_leaves_no_row_and_no_orphan() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/fault-upload-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let url = fresh_database().await;
    let store = dir.join("attachments");
    let s = store.clone();
    // the in-process app: cut off by the client, with no grace for orphans
    let app = spawn_app_with(url.clone(), move |c| {
        c.jwt_secret = secrecy::SecretString::from(FAULT_JWT_SECRET.to_string());
        c.pii_key = secrecy::SecretBox::new(Box::new(FAULT_PII_KEY));
        c.attachments.dir = s;
        c.attachments.grace = std::time::Duration::ZERO;
    })
    .await;
    let w = world_in(app).await;
    let p = w.person("village_v1", "v1", 90).await;
    let n = w.need("village_v1", p["id"].as_str().unwrap_or("")).await;
    let path = format!(
        "/api/v1/needs/{}/attachments",
        n["id"].as_str().unwrap_or("")
    );
    let addr = w.app.base.trim_start_matches("http://").to_string();
    let token = w.tok("village_v1").to_string();
    // cut in the multipart head, in the file's first bytes, and deep in the file
    for sent in [40, 300, 3 * 1024 * 1024] {
        let conn = partial_upload(&addr, &path, &token, 4 * 1024 * 1024, sent).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(conn);
        assert_eq!(
            until_empty(&store.join("spool")).await,
            0,
            "spool after a cut at {sent}"
        );
    }
    assert_eq!(attachment_rows(&url).await, 0);
    assert_eq!(
        files_in(&store.join("objects")),
        0,
        "no object of a cut-off upload"
    );
    let mut db = w.app.db().await;
    assert_eq!(
        w.app
            .state
            .objects
            .sweep(&mut db, chrono::Utc::now())
            .await
            .expect("sweep"),
        0
    );

    // the API process killed (kill -9) mid-upload: its spool file is left, the next start
    // removes it; no row, no object; and the same upload then succeeds
    let port = free_port();
    let log = dir.join("api.log");
    let mut api = serve(&url, port, &log).await;
    let addr = format!("127.0.0.1:{port}");
    let conn = partial_upload(&addr, &path, &token, 8 * 1024 * 1024, 5 * 1024 * 1024).await;
    let mut spooled = 0;
    for _ in 0..100 {
        spooled = files_in(&store.join("spool"));
        if spooled > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        spooled > 0,
        "the upload was being spooled when the API died"
    );
    api.kill().await.expect("kill -9");
    drop(conn);
    assert_eq!(
        files_in(&store.join("spool")),
        spooled,
        "a killed process removes nothing"
    );
    let mut api = serve(&url, port, &log).await;
    assert_eq!(
        files_in(&store.join("spool")),
        0,
        "the restart removed the dead upload's spool file"
    );
    assert_eq!(attachment_rows(&url).await, 0);
    assert_eq!(files_in(&store.join("objects")), 0);
    let mut file = b"%PDF-1.4\n".to_vec();
    file.resize(8 * 1024 * 1024, b'.');
    let (ct, body) = multipart_file("file", "申请表.pdf", &file);
    let r = http_client()
        .post(format!("http://{addr}{path}"))
        .bearer_auth(&token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(attachment_rows(&url).await, 1);
    assert_eq!(files_in(&store.join("objects")), 1);
    api.kill().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// The pool's default check after a PostgreSQL restart.
// ---------------------------------------------------------------------------------------------

/// Eight requests at once as two users (caller loads, a list, a need): every status.
async fn burst(w: &World, need: &str) -> Vec<u16> {
    let mut calls = Vec::new();
    for k in 0..8 {
        let who = if k % 2 == 0 { "village_v1" } else { "town_t1" };
        let path = match k % 3 {
            0 => "/me".to_string(),
            1 => "/needs?limit=5".to_string(),
            _ => format!("/needs/{need}"),
        };
        let (app, tok) = (&w.app, w.tok(who).to_string());
        calls.push(async move { app.get(&path, &tok).await.status.as_u16() });
    }
    futures_util::future::join_all(calls).await
}

/// The binary's default pool after PostgreSQL went away and came back, with its connections
/// used just before (not checked on checkout: the first read of each request, its caller, fails
/// on a dead one and is retried on a fresh one) and idle past the check (tried before they are
/// handed out): no request sees a dead connection.
#[tokio::test]
async fn after_a_postgres_restart_the_default_pool_hands_out_no_dead_connection() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!(
        "target/fault-pool-{}",
        uuid::Uuid::new_v4().simple()
    ));
    let mut pg = EmbeddedPg::start(&dir, 0).await.expect("a private cluster");
    let port = pg.port();
    pg.ensure_database("zhucan").await.expect("database");
    let url = pg.url("zhucan");
    zhucan::db::migrate(&url).await.expect("migrate");
    let app = spawn_app_with(url.clone(), |c| c.pool_size = 8).await;
    assert_eq!(app.state.pool.status().max_size, 8);
    let w = world_in(app).await;
    let p = w.person("village_v1", "v1", 1).await;
    let need = w.need("village_v1", p["id"].as_str().unwrap_or("")).await["id"]
        .as_str()
        .unwrap_or("")
        .to_string();
    for restart in ["just used", "idle"] {
        assert!(burst(&w, &need).await.iter().all(|s| *s == 200));
        drop(pg);
        pg = EmbeddedPg::start(&dir, port)
            .await
            .expect("restart on the same port");
        if restart == "idle" {
            tokio::time::sleep(zhucan::db::IDLE_CHECK + std::time::Duration::from_millis(500))
                .await;
        }
        for round in 0..3 {
            let statuses = burst(&w, &need).await;
            assert!(
                statuses.iter().all(|s| *s == 200),
                "{restart}, round {round}: {statuses:?}"
            );
        }
    }
    drop(pg);
    let _ = std::fs::remove_dir_all(&dir);
}
