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
