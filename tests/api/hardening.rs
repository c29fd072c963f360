//! Defences that must hold against hostile or broken clients, each a test that fails without it.

use crate::support::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn deeply_nested_or_huge_bodies_are_refused_without_a_panic() {
    let w = world().await;
    let deep = format!("{}1{}", "[".repeat(3000), "]".repeat(3000));
    for path in ["/api/v1/needs", "/api/v1/persons", "/api/v1/auth/login"] {
        let res = w
            .app
            .client
            .post(format!("{}{path}", w.app.base))
            .bearer_auth(w.tok("village_v1"))
            .header("content-type", "application/json")
            .body(deep.clone())
            .send()
            .await
            .expect("send");
        let status = res.status().as_u16();
        assert!((400..500).contains(&status), "{path}: {status}");
    }
    let many: Vec<String> = (0..1500)
        .map(|_| uuid::Uuid::now_v7().to_string())
        .collect();
    let p = w.person("village_v1", "v1", 1).await;
    let r = w
        .app
        .put(
            &format!("/persons/{}/contact-group", p["id"].as_str().unwrap_or("")),
            w.tok("village_v1"),
            json!({"helper_ids": many}),
        )
        .await;
    assert_eq!(r.fields(), vec!["helper_ids"]);
    // the server is still there
    w.app
        .call(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
}

/// SPEC §6 "Malformed bodies": syntax is decided before shape, so a body that breaks is 400
/// even when a field the endpoint does not know (`name` on login, `id_number` on a need) stands
/// before the break.
#[tokio::test]
async fn a_body_that_is_not_json_is_400_whatever_stands_before_the_break() {
    let w = world().await;
    let broken = r#"{"name": "张三", "id_number": "#;
    for (path, token) in [
        ("/api/v1/auth/login", None),
        ("/api/v1/persons", Some(w.tok("village_v1"))),
        ("/api/v1/needs", Some(w.tok("village_v1"))),
        ("/api/v1/helpers", Some(w.tok("village_v1"))),
    ] {
        for body in [
            broken.to_string(),
            format!("{broken}\"3708"),
            r#"{"username": "x", "password": "y"} and more"#.to_string(),
        ] {
            let mut req = w
                .app
                .client
                .post(format!("{}{path}", w.app.base))
                .header("content-type", "application/json")
                .body(body.clone());
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let res = req.send().await.expect("send");
            let status = res.status().as_u16();
            let problem: serde_json::Value = res.json().await.unwrap_or_default();
            assert_eq!(status, 400, "{path} {body}: {problem}");
            assert_eq!(problem["code"], "malformed_body", "{path} {body}");
            assert!(problem.get("errors").is_none(), "{path}: {problem}");
        }
    }
    // the same unknown field in well-formed JSON is still 422 naming it
    let r = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"name": "张三", "username": "village_v1", "password": PASSWORD})),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["name"]);
    // and nothing was written
    let persons = w.app.get("/persons", w.tok("village_v1")).await;
    assert_eq!(persons.expect(200)["items"], json!([]));
}

#[tokio::test]
async fn a_body_that_trickles_in_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world().await;
    let addr = w.app.base.trim_start_matches("http://").to_string();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let head = format!(
        "POST /api/v1/persons HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{{",
        w.tok("village_v1")
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let started = std::time::Instant::now();
    let mut buf = vec![0u8; 4096];
    // send a byte every second; the server must answer (or close) without waiting for the rest
    let mut answer = String::new();
    for _ in 0..40 {
        tokio::select! {
            n = s.read(&mut buf) => {
                let n = n.unwrap_or(0);
                answer = String::from_utf8_lossy(&buf[..n]).to_string();
                break;
            }
            _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {
                if s.write_all(b" ").await.is_err() { break; }
            }
        }
    }
    assert!(
        started.elapsed().as_secs() < 30,
        "the trickle was not cut off"
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test]
async fn every_pooled_connection_has_its_timeouts() {
    let app = spawn_app().await;
    let mut conn = app.state.pool.get().await.expect("conn");
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    for (setting, want) in [
        ("statement_timeout", "10s"),
        ("lock_timeout", "5s"),
        ("idle_in_transaction_session_timeout", "30s"),
    ] {
        let got: S = diesel::sql_query(format!("SELECT current_setting('{setting}') AS v"))
            .get_result(&mut conn)
            .await
            .expect("show");
        assert_eq!(got.v, want, "{setting}");
    }
}

#[tokio::test]
async fn tokens_of_another_algorithm_issuer_or_audience_are_401() {
    let w = world().await;
    let now = zhucan::auth::tokens::now_secs();
    let secret = b"zhucan-development-secret-do-not-use-in-production";
    let claims = json!({"sub": w.users["village_v1"], "iss": "zhucan", "aud": "zhucan-api", "exp": now + 600, "nbf": now, "iat": now, "jti": uuid::Uuid::new_v4()});
    let sign = |alg: jsonwebtoken::Algorithm, c: &serde_json::Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            c,
            &jsonwebtoken::EncodingKey::from_secret(secret),
        )
        .unwrap_or_default()
    };
    w.app
        .get("/me", &sign(jsonwebtoken::Algorithm::HS256, &claims))
        .await
        .expect(200);
    w.app
        .get("/me", &sign(jsonwebtoken::Algorithm::HS384, &claims))
        .await
        .problem(401, "unauthorized");
    w.app
        .get("/me", &sign(jsonwebtoken::Algorithm::HS512, &claims))
        .await
        .problem(401, "unauthorized");
    for (k, v) in [
        ("iss", json!("someone")),
        ("aud", json!(["zhucan-api-x"])),
        ("sub", json!("not-a-uuid")),
    ] {
        let mut c = claims.clone();
        c[k] = v;
        w.app
            .get("/me", &sign(jsonwebtoken::Algorithm::HS256, &c))
            .await
            .problem(401, "unauthorized");
    }
    for k in ["aud", "iss", "exp"] {
        let mut c = claims.clone();
        c.as_object_mut().map(|m| m.remove(k));
        w.app
            .get("/me", &sign(jsonwebtoken::Algorithm::HS256, &c))
            .await
            .problem(401, "unauthorized");
    }
    // signed with another secret
    let other = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-another-secret-xx"),
    )
    .unwrap_or_default();
    w.app.get("/me", &other).await.problem(401, "unauthorized");
}

/// Failed sign-ins from one address are limited (SPEC §6: 30 failures a minute); before issue
/// 12 every attempt counted, successful ones too (see `auth.rs` for the whole contract).
#[tokio::test]
async fn failed_sign_ins_from_one_address_are_rate_limited() {
    let app = spawn_app().await;
    for i in 0..30 {
        app.call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": format!("nobody{i}"), "password": "whatever-it-is"})),
        )
        .await
        .problem(401, "unauthorized");
    }
    let last = app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody30", "password": "whatever-it-is"})),
        )
        .await;
    last.problem(429, "rate_limited");
    assert!(last.headers.get("retry-after").is_some());
}

#[tokio::test]
async fn the_runtime_role_cannot_rewrite_history_the_ledger_or_the_audit_log() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    w.need("village_v1", p["id"].as_str().unwrap_or("")).await;
    let mut db = w.app.db().await;
    db.batch_execute("SET ROLE zhucan_app")
        .await
        .expect("the runtime role exists");
    db.batch_execute("SELECT count(*) FROM need_events")
        .await
        .expect("it reads");
    for sql in [
        "UPDATE need_events SET actor = 'x'",
        "DELETE FROM need_events",
        "DELETE FROM ledger_entries",
        "UPDATE audit_log SET actor = 'x'",
        "TRUNCATE need_events CASCADE",
    ] {
        let err = db
            .batch_execute(sql)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("permission denied"), "{sql}: {err}");
    }
    db.batch_execute("UPDATE persons SET phone = phone")
        .await
        .expect("ordinary tables stay writable");
    db.batch_execute("RESET ROLE").await.expect("reset");
}

#[tokio::test]
async fn no_id_number_appears_in_clear_in_a_dump_or_an_error_body() {
    let w = world().await;
    let ids: Vec<String> = (1..=5).map(id_number).collect();
    for n in 1..=5 {
        w.person("village_v1", "v1", n).await;
    }
    // a duplicate and a malformed number: the answers do not echo the number
    let dup = w.app.post("/persons", w.tok("village_v1"), json!({"name": "x", "id_number": ids[0], "disability_category": "physical", "disability_grade": 2})).await;
    dup.problem(409, "duplicate");
    assert!(!dup.text.contains(&ids[0]) && !dup.text.contains(&ids[0][6..14]));
    let bad = format!("{}0", &ids[1][..17]);
    let r = w.app.post("/persons", w.tok("village_v1"), json!({"name": "x", "id_number": bad, "disability_category": "physical", "disability_grade": 2})).await;
    assert!(!r.text.contains(&bad));
    let list = w.app.get("/persons?limit=200", w.tok("admin_a")).await;
    for id in &ids {
        assert!(!list.text.contains(id.as_str()));
    }
    let pg_dump = ["/usr/lib/postgresql/15/bin/pg_dump", "pg_dump"]
        .into_iter()
        .find(|b| {
            std::process::Command::new(b)
                .arg("--version")
                .output()
                .is_ok()
        });
    let Some(pg_dump) = pg_dump else {
        eprintln!("no pg_dump on this machine: the dump check is skipped");
        return;
    };
    let out = std::process::Command::new(pg_dump)
        .arg(&w.app.db_url)
        .output()
        .expect("pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("INSERT") || dump.contains("COPY public.persons"));
    for id in &ids {
        assert!(
            !dump.contains(id.as_str()),
            "an ID number is in the dump in clear"
        );
        // nor its birth date and sequence (the part masking hides)
        assert!(
            !dump.contains(&id[6..14]) || !dump.contains(&id[14..]),
            "the hidden digits are in the dump"
        );
    }
}

#[tokio::test]
async fn a_ciphertext_copied_to_another_row_does_not_open() {
    let w = world().await;
    let a = w.person("village_v1", "v1", 1).await;
    let b = w.person("village_v1", "v1", 2).await;
    let (a, b) = (
        a["id"].as_str().unwrap_or("").to_string(),
        b["id"].as_str().unwrap_or("").to_string(),
    );
    let mut db = w.app.db().await;
    db.batch_execute(&format!("UPDATE persons SET id_number_enc = (SELECT id_number_enc FROM persons WHERE id = '{a}') WHERE id = '{b}'"))
        .await
        .expect("copy the ciphertext");
    let r = w
        .app
        .get(
            &format!("/persons/{b}?reveal=id_number"),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(
        r.status.as_u16(),
        500,
        "a moved ciphertext is an integrity failure, not data"
    );
    assert!(!r.text.contains(&id_number(1)) && !r.text.contains(&id_number(2)));
    // the untouched row still opens
    let ok = w
        .app
        .get(
            &format!("/persons/{a}?reveal=id_number"),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(ok.expect(200)["id_number"], id_number(1));
}

#[tokio::test]
async fn rotating_the_pii_key_re_encrypts_every_row_and_the_old_key_stops_opening_them() {
    use diesel::{ExpressionMethods, QueryDsl};
    use zhucan::db::schema::persons;
    let w = world().await;
    for n in 1..=3 {
        w.person("village_v1", "v1", n).await;
    }
    let old_key = w.app.state.pii.clone();
    let new_key = [42u8; 32];
    let dev_key = *b"zhucan-dev-pii-key-not-for-prod!";
    let during = zhucan::domain::pii::PiiCipher::with_previous(&new_key, &dev_key);
    let mut db = w.app.db().await;
    let (rotated, current) = zhucan::tools::rotate_pii_key::rotate(&mut db, &during)
        .await
        .expect("rotate");
    assert_eq!((rotated, current), (3, 0));
    // a second run has nothing left to do
    assert_eq!(
        zhucan::tools::rotate_pii_key::rotate(&mut db, &during)
            .await
            .expect("rotate"),
        (0, 3)
    );
    let after = zhucan::domain::pii::PiiCipher::new(&new_key);
    let rows: Vec<(uuid::Uuid, Vec<u8>, Vec<u8>)> = persons::table
        .order(persons::id)
        .select((persons::id, persons::id_number_enc, persons::id_number_hash))
        .load(&mut db)
        .await
        .expect("rows");
    for (i, (id, sealed, hash)) in rows.iter().enumerate() {
        let clear = after
            .open(*id, "id_number", sealed)
            .expect("opens under the new key");
        assert_eq!(clear, id_number(i as u32 + 1));
        assert_eq!(hash, &after.blind_index(&clear));
        assert!(
            old_key.open(*id, "id_number", sealed).is_err(),
            "the old key no longer opens it"
        );
    }
    let _ = persons::id.eq(uuid::Uuid::nil());
}

/// The server's own log output, at debug level, never holds an ID number in clear: not when a
/// person is registered, refused as a duplicate or as malformed, revealed, or imported.
#[tokio::test]
async fn no_id_number_reaches_the_server_log() {
    let db = fresh_database().await;
    let w = world_in(spawn_app_on(db.clone()).await).await;
    let log_path = std::env::temp_dir().join(format!("zhucan-log-{}.txt", uuid::Uuid::new_v4()));
    let (child, port) = serve_logging_to(&db, &log_path, "json").await;
    let base = format!("http://127.0.0.1:{port}/api/v1");
    let client = reqwest::Client::new();
    let tok = w.tok("village_v1");
    let ids: Vec<String> = (41..=44).map(id_number).collect();
    let post = |body: serde_json::Value| {
        client
            .post(format!("{base}/persons"))
            .bearer_auth(tok)
            .json(&body)
            .send()
    };
    let created = post(json!({"name": "日志甲", "id_number": ids[0], "disability_category": "physical", "disability_grade": 2}))
        .await
        .expect("send");
    assert_eq!(created.status().as_u16(), 201);
    let person: serde_json::Value = created.json().await.expect("json");
    let dup = post(json!({"name": "日志乙", "id_number": ids[0], "disability_category": "physical", "disability_grade": 2}))
        .await
        .expect("send");
    assert_eq!(dup.status().as_u16(), 409);
    let bad = format!("{}0", &ids[1][..17]);
    let malformed = post(json!({"name": "日志丙", "id_number": bad, "disability_category": "physical", "disability_grade": 2}))
        .await
        .expect("send");
    assert_eq!(malformed.status().as_u16(), 422);
    let revealed = client
        .get(format!(
            "{base}/persons/{}?reveal=id_number",
            person["id"].as_str().unwrap_or("")
        ))
        .bearer_auth(tok)
        .send()
        .await
        .expect("send");
    assert!(revealed.text().await.unwrap_or_default().contains(&ids[0]));
    let found = client
        .get(format!("{base}/persons?id_number={}", ids[0]))
        .bearer_auth(tok)
        .send()
        .await
        .expect("send");
    assert_eq!(found.status().as_u16(), 200);
    let csv = format!(
        "name,id_number,disability_category,disability_grade,village_code\n导入甲,{},physical,2,{}\n导入乙,{}1,physical,2,{}\n",
        ids[2],
        w.units["v1"].code,
        &ids[3][..17],
        w.units["v1"].code
    );
    let (content_type, form) = multipart_file("file", "p.csv", csv.as_bytes());
    let imported = client
        .post(format!("{base}/persons/import"))
        .bearer_auth(tok)
        .header("content-type", content_type)
        .body(form)
        .send()
        .await
        .expect("send");
    assert_eq!(imported.status().as_u16(), 200);
    let text = stop_and_read_log(child, &log_path).await;
    assert!(
        text.contains("/persons"),
        "the log records the requests: {}",
        &text[..text.len().min(2000)]
    );
    for secret in ids.iter().chain([&bad]) {
        assert!(
            !text.contains(secret.as_str()),
            "an ID number is in the server log in clear"
        );
        assert!(
            !text.contains(&secret[6..17]),
            "the hidden digits of an ID number are in the server log"
        );
    }
}

/// `zhucan serve` on `db` as a child process at debug level, its stdout and stderr going to
/// `log_path` in `format` (`text` or `json`); answers once `/readyz` does.
async fn serve_logging_to(
    db: &str,
    log_path: &std::path::Path,
    format: &str,
) -> (tokio::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let log = std::fs::File::create(log_path).expect("log file");
    let err = log.try_clone().expect("log file");
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_zhucan"))
        .arg("serve")
        .env("DATABASE_URL", db)
        .env("BIND_ADDR", format!("127.0.0.1:{port}"))
        .env("SWEEP_INTERVAL_SECS", "0")
        .env("RUST_LOG", "debug")
        .env("LOG_FORMAT", format)
        .env_remove("JWT_SECRET")
        .env_remove("PII_KEY")
        .env_remove("APP_ENV")
        .stdout(log)
        .stderr(err)
        .kill_on_drop(true)
        .spawn()
        .expect("serve");
    let client = reqwest::Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(up, "the server came up");
    (child, port)
}

/// Stops the server `serve_logging_to` started and answers what it logged (the file is removed).
/// SIGTERM, so that the log thread writes out the lines it still holds before the process ends
/// (a `kill -9` right after a request could lose its access line).
async fn stop_and_read_log(mut child: tokio::process::Child, log_path: &std::path::Path) -> String {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(std::time::Duration::from_secs(20), child.wait())
        .await
        .is_err()
    {
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let text = std::fs::read_to_string(log_path).expect("read log");
    let _ = std::fs::remove_file(log_path);
    text
}

/// A text log written to a file (or a pipe, or a collector) is plain text: the access lines are
/// there, and no terminal colour code is (they made every line of a log file 80 bytes longer and
/// broke grep on its fields).
#[tokio::test]
async fn a_text_log_to_a_file_carries_no_terminal_colour_codes() {
    let db = fresh_database().await;
    let log_path = std::env::temp_dir().join(format!("zhucan-log-{}.txt", uuid::Uuid::new_v4()));
    let (child, port) = serve_logging_to(&db, &log_path, "text").await;
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/api/v1/me"))
        .await
        .expect("send");
    assert_eq!(answer.status().as_u16(), 401);
    let text = stop_and_read_log(child, &log_path).await;
    assert!(
        text.lines()
            .any(|l| l.contains("path=/api/v1/me") && l.contains("status=401")),
        "the access line names the path and the status as plain key=value: {}",
        &text[..text.len().min(2000)]
    );
    assert!(
        !text.contains('\u{1b}'),
        "a terminal escape code is in the log file: {:?}",
        &text[..text.len().min(600)]
    );
}

/// The pool checkouts the server has counted (`zhucan_db_pool_wait_seconds_count`).
async fn checkouts(app: &TestApp) -> u64 {
    let text = app.call(Method::GET, "/metrics", None, None).await.text;
    text.lines()
        .find(|l| l.starts_with("zhucan_db_pool_wait_seconds_count"))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|n| n.parse::<f64>().ok())
        .map_or(0, |n| n as u64)
}

#[tokio::test]
async fn an_api_request_and_a_console_page_each_take_one_pooled_connection() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let n = w.need("village_v1", p["id"].as_str().unwrap_or("")).await;
    let n = n["id"].as_str().unwrap_or("").to_string();
    for path in [
        format!("/needs/{n}"),
        "/inbox".into(),
        format!("/needs/{n}/events"),
    ] {
        let before = checkouts(&w.app).await;
        w.app.get(&path, w.tok("village_v1")).await.expect(200);
        assert_eq!(checkouts(&w.app).await - before, 1, "{path}");
    }
    let before = checkouts(&w.app).await;
    w.app
        .post(
            &format!("/needs/{n}/actions/comment"),
            w.tok("village_v1"),
            json!({"text": "已联系"}),
        )
        .await
        .expect(200);
    assert_eq!(checkouts(&w.app).await - before, 1, "an action");
    let mut b = crate::console::signed_in(&w, "village_v1").await;
    for path in ["/".to_string(), format!("/needs/{n}")] {
        let before = checkouts(&w.app).await;
        b.get(&path).await.expect(200);
        assert_eq!(checkouts(&w.app).await - before, 1, "console {path}");
    }
}

/// The HTTP workers' pools together hold `DB_POOL_SIZE` connections at most, whatever the
/// machine's core count: the state is built for the number of workers the server runs.
#[tokio::test]
async fn the_workers_pools_together_hold_db_pool_size_connections() {
    let db = fresh_database().await;
    for (pool_size, workers) in [(8, 4), (8, 1), (16, 2)] {
        let mut config = zhucan::config::Config::for_tests(db.clone());
        config.pool_size = pool_size;
        let pool = zhucan::server::pool(&config, &db).expect("pool");
        let state = zhucan::server::state(&config, &db, pool, workers).expect("state");
        // a pool is made in each worker thread on its first request; the threads live side by
        // side, as the workers do (an ended thread's slot is reused by the next)
        let all_made = std::sync::Barrier::new(workers);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    state.http_pools.get().map(|_| ()).expect("a worker's pool");
                    all_made.wait();
                });
            }
        });
        assert_eq!(
            state.http_pools.status().max_size,
            pool_size,
            "DB_POOL_SIZE {pool_size} over {workers} workers"
        );
    }
}
