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
    let children = std::process::Command::new("pgrep")
        .args(["-P", &pid])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    for c in children
        .split_whitespace()
        .chain(std::iter::once(pid.as_str()))
    {
        let _ = std::process::Command::new("kill").args(["-9", c]).status();
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
}

#[tokio::test]
async fn a_database_crash_is_503_with_retry_after_and_the_service_recovers_without_losing_a_write()
{
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("target/fault-pg-{}", uuid::Uuid::new_v4().simple()));
    let pg = EmbeddedPg::start(&dir, 0).await.expect("a private cluster");
    let port = pg.port();
    pg.ensure_database("zhucan").await.expect("database");
    let url = pg.url("zhucan");
    zhucan::db::migrate(&url).await.expect("migrate");
    let w = world_in(spawn_app_on(url.clone()).await).await;
    let person = w.person("village_v1", "v1", 1).await;
    let pid = person["id"].as_str().unwrap_or("").to_string();
    let mut acknowledged = Vec::new();
    for _ in 0..5 {
        acknowledged.push(
            w.need("village_v1", &pid).await["id"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        );
    }

    crash(&pg);
    // during the outage: 503 problem+json with Retry-After, quickly, never a 500 or a hang
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let r = w
            .app
            .post(
                "/needs",
                w.tok("village_v1"),
                json!({"person_id": pid, "category": "medical", "description": "x"}),
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
    let pg = EmbeddedPg::start(&dir, port)
        .await
        .expect("restart on the same port");
    let back = std::time::Instant::now();
    let mut recovered = false;
    while back.elapsed().as_secs() < 10 {
        if w.app
            .get("/needs?limit=200", w.tok("village_v1"))
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
    assert!(recovered, "the service did not recover by itself");
    assert!(
        back.elapsed().as_secs() <= 5,
        "recovered in {:?}",
        back.elapsed()
    );
    let list = w.app.get("/needs?limit=200", w.tok("village_v1")).await;
    let ids: Vec<String> = list.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n["id"].as_str().map(String::from))
        .collect();
    for a in &acknowledged {
        assert!(ids.contains(a), "an acknowledged need was lost");
    }
    // and it takes writes again
    w.need("village_v1", &pid).await;
    pg.stop().await.expect("stop");
    let _ = std::fs::remove_dir_all(&dir);
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
    // the pool is usable again, and no connection is left idle in a transaction
    w.app.get("/needs", w.tok("village_v1")).await.expect(200);
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
    let n = w
        .app
        .get(&format!("/needs/{need}"), w.tok("village_v1"))
        .await;
    assert_eq!(n.body["state"], "registered");
}
