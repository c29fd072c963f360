//! Sign-in, tokens and their revocation.

use crate::support::*;
use diesel_async::RunQueryDsl;
use futures_util::StreamExt;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn login_gives_a_token_pair_that_opens_me() {
    let w = world().await;
    let out = w.app.login("village_v1").await;
    assert_eq!(out["token_type"], "Bearer");
    assert!(out["expires_in"].as_u64().unwrap_or(0) <= 900);
    assert_eq!(out["user"]["username"], "village_v1");
    assert!(out["user"].get("password_hash").is_none());
    let me = w
        .app
        .get("/me", out["access_token"].as_str().unwrap_or(""))
        .await;
    assert_eq!(me.expect(200)["role"], "village_staff");
    assert_eq!(me.body["org_unit_id"], w.unit("v1").to_string());
}

#[tokio::test]
async fn unknown_user_and_wrong_password_answer_identically() {
    let w = world().await;
    let wrong = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "village_v1", "password": "nope-nope"})),
        )
        .await;
    let unknown = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "nobody_here", "password": "nope-nope"})),
        )
        .await;
    wrong.problem(401, "unauthorized");
    assert_eq!(wrong.text, unknown.text);
    assert_eq!(wrong.status, unknown.status);
}

#[tokio::test]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let w = world().await;
    for _ in 0..5 {
        let r = w
            .app
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": "town_t1", "password": "wrong-password"})),
            )
            .await;
        r.problem(401, "unauthorized");
    }
    let r = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "town_t1", "password": PASSWORD})),
        )
        .await;
    r.problem(429, "rate_limited");
    // locked for 15 minutes from the fifth failure
    let wait = retry_after(&r);
    assert!((890..=900).contains(&wait), "Retry-After {wait}");
    // an unknown name locks the same way, so locking reveals nothing about who exists
    for _ in 0..5 {
        w.app
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": "ghost_user", "password": "x-wrong-x"})),
            )
            .await;
    }
    let r = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "ghost_user", "password": "x-wrong-x"})),
        )
        .await;
    r.problem(429, "rate_limited");
    // other accounts are unaffected
    w.app.login("town_t2").await;
}

/// One sign-in attempt, optionally through a proxy that says who the client is.
async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Resp {
    let headers: Vec<(&str, &str)> = forwarded_for
        .map(|f| vec![("X-Forwarded-For", f)])
        .unwrap_or_default();
    app.call_h(
        Method::POST,
        "/auth/login",
        None,
        Some(json!({"username": username, "password": password})),
        &headers,
    )
    .await
}

/// The `Retry-After` seconds of a 429.
#[track_caller]
fn retry_after(r: &Resp) -> u64 {
    r.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("a 429 without Retry-After: {:?}", r.headers))
}

/// `n` failed attempts under distinct unknown names (so no account lock is involved), each 401.
async fn fail_times(app: &TestApp, n: usize, tag: &str, forwarded_for: Option<&str>) {
    for i in 0..n {
        attempt(
            app,
            &format!("nobody_{tag}_{i}"),
            "wrong-password",
            forwarded_for,
        )
        .await
        .problem(401, "unauthorized");
    }
}

async fn count(app: &TestApp, table: &str) -> i64 {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(format!("SELECT count(*) AS n FROM {table}"))
        .get_result(&mut app.db().await)
        .await
        .expect("count");
    n.n
}

/// SPEC §6: an office behind one NAT signs in at 8:30. Successful sign-ins never count.
#[tokio::test]
async fn three_hundred_colleagues_sign_in_from_one_address_within_a_minute() {
    let w = world().await;
    let mut db = w.app.db().await;
    let org = w.orgs["station_v1"];
    let city = w.units["city_a"].city_id;
    for i in 0..300 {
        let name = format!("staff_{i:03}");
        zhucan::tools::seed::insert_user_with_hash(
            &mut db,
            &name,
            &name,
            zhucan::domain::roles::Role::VillageStaff,
            Some(org),
            Some(city),
            fixture_hash(),
        )
        .await
        .expect("user");
    }
    let started = std::time::Instant::now();
    let statuses: Vec<u16> = futures_util::stream::iter(0..300)
        .map(|i| {
            let app = &w.app;
            async move {
                attempt(app, &format!("staff_{i:03}"), PASSWORD, None)
                    .await
                    .status
                    .as_u16()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let took = started.elapsed();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        300,
        "{statuses:?}"
    );
    assert!(took < std::time::Duration::from_secs(60), "took {took:?}");
    // none of them counted: the address may still fail (and be told so) like any other
    attempt(&w.app, "staff_000", "mistyped-it", None)
        .await
        .problem(401, "unauthorized");
    attempt(&w.app, "staff_001", PASSWORD, None)
        .await
        .expect(200);
    // and none of them wrote a count: only the one failure is on record
    assert_eq!(count(&w.app, "login_failures").await, 1);
    assert_eq!(count(&w.app, "login_throttle").await, 1);
}

/// SPEC §6: at most 30 failures a minute per client address; the 31st attempt is refused,
/// even with the right password, until the oldest failure is a minute old.
#[tokio::test]
async fn the_thirty_first_failure_of_a_minute_from_one_address_is_refused() {
    let w = world().await;
    fail_times(&w.app, 30, "a", None).await;
    let r = attempt(&w.app, "nobody_else", "wrong-password", None).await;
    r.problem(429, "rate_limited");
    let wait = retry_after(&r);
    assert!((1..=60).contains(&wait), "Retry-After {wait}");
    // the address is refused, whoever it tries
    attempt(&w.app, "village_v1", PASSWORD, None)
        .await
        .problem(429, "rate_limited");
    // refused attempts are not failures: once the minute has passed the address may sign in
    w.app
        .sql("UPDATE login_failures SET at = at - interval '61 seconds'")
        .await;
    attempt(&w.app, "village_v1", PASSWORD, None)
        .await
        .expect(200);
}

/// Attempts racing each other are checked again after their passwords: no more than the limit
/// of failures is ever answered 401, however many arrive at once.
#[tokio::test]
async fn concurrent_attempts_cannot_together_pass_a_limit() {
    let w = world().await;
    let app = &w.app;
    let statuses: Vec<u16> = futures_util::stream::iter(0..45)
        .map(|i| async move {
            attempt(app, &format!("racer_{i}"), "wrong-password", None)
                .await
                .status
                .as_u16()
        })
        .buffer_unordered(45)
        .collect()
        .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        30,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    // one account from many addresses (a proxy in front): at most 5 guesses are answered
    let proxied = spawn_app_with(fresh_database().await, |c| {
        c.trusted_proxies = zhucan::config::parse_trusted_proxies("127.0.0.1/32").expect("cidr");
    })
    .await;
    let app = &proxied;
    let statuses: Vec<u16> = futures_util::stream::iter(0..20)
        .map(|i| async move {
            let from = format!("198.51.100.{i}");
            attempt(app, "town_t1", "wrong-password", Some(&from))
                .await
                .status
                .as_u16()
        })
        .buffer_unordered(20)
        .collect()
        .await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
}

/// SPEC §6: "5 failures within 15 minutes": older failures stop counting, a successful sign-in
/// forgets them, and a lock ends after 15 minutes.
#[tokio::test]
async fn an_account_counts_only_its_failures_of_the_last_fifteen_minutes() {
    let w = world().await;
    for _ in 0..4 {
        attempt(&w.app, "town_t1", "wrong-password", None)
            .await
            .problem(401, "unauthorized");
    }
    w.app.sql("UPDATE login_throttle SET recent_failures = ARRAY(SELECT f - interval '16 minutes' FROM unnest(recent_failures) f)").await;
    for _ in 0..4 {
        attempt(&w.app, "town_t1", "wrong-password", None)
            .await
            .problem(401, "unauthorized");
    }
    attempt(&w.app, "town_t1", PASSWORD, None).await.expect(200);
    // the success forgot the four: four more are still not five
    for _ in 0..4 {
        attempt(&w.app, "town_t1", "wrong-password", None)
            .await
            .problem(401, "unauthorized");
    }
    attempt(&w.app, "town_t1", PASSWORD, None).await.expect(200);
    // a fifth within the window locks; the lock ends after 15 minutes
    for _ in 0..5 {
        attempt(&w.app, "town_t1", "wrong-password", None)
            .await
            .problem(401, "unauthorized");
    }
    attempt(&w.app, "town_t1", PASSWORD, None)
        .await
        .problem(429, "rate_limited");
    w.app.sql("UPDATE login_throttle SET locked_until = locked_until - interval '15 minutes', recent_failures = ARRAY(SELECT f - interval '15 minutes' FROM unnest(recent_failures) f)").await;
    attempt(&w.app, "town_t1", PASSWORD, None).await.expect(200);
}

/// SPEC §6: behind a trusted proxy the client is the right-most untrusted `X-Forwarded-For`
/// address, so the offices behind one proxy are limited one by one.
#[tokio::test]
async fn behind_a_trusted_proxy_each_client_address_has_its_own_limit() {
    let app = spawn_app_with(fresh_database().await, |c| {
        c.trusted_proxies =
            zhucan::config::parse_trusted_proxies("127.0.0.1/32, 10.0.0.0/8").expect("cidrs");
    })
    .await;
    fail_times(&app, 30, "a", Some("203.0.113.7")).await;
    attempt(&app, "nobody", "wrong-password", Some("203.0.113.7"))
        .await
        .problem(429, "rate_limited");
    // what the client wrote left of its real address changes nothing; inner proxies are skipped
    for forwarded in [
        "198.51.100.99, 203.0.113.7",
        "203.0.113.7, 10.1.1.1",
        "203.0.113.8, 203.0.113.7",
    ] {
        attempt(&app, "nobody", "wrong-password", Some(forwarded))
            .await
            .problem(429, "rate_limited");
    }
    // another office behind the same proxy is not affected
    attempt(&app, "nobody", "wrong-password", Some("203.0.113.8"))
        .await
        .problem(401, "unauthorized");
    attempt(
        &app,
        "nobody",
        "wrong-password",
        Some("203.0.113.7, 203.0.113.8"),
    )
    .await
    .problem(401, "unauthorized");
    // the proxy's own requests (no header) are the proxy's address, not limited by its clients
    attempt(&app, "nobody", "wrong-password", None)
        .await
        .problem(401, "unauthorized");
}

/// SPEC §6: without `TRUSTED_PROXIES`, `X-Forwarded-For` is the client's own word and is ignored.
#[tokio::test]
async fn a_forged_forwarded_for_from_an_untrusted_peer_does_not_escape_the_limit() {
    let app = spawn_app().await;
    for i in 0..30 {
        let forged = format!("203.0.113.{i}");
        attempt(
            &app,
            &format!("nobody_{i}"),
            "wrong-password",
            Some(&forged),
        )
        .await
        .problem(401, "unauthorized");
    }
    attempt(&app, "nobody", "wrong-password", Some("198.51.100.1"))
        .await
        .problem(429, "rate_limited");
    attempt(&app, "nobody", "wrong-password", None)
        .await
        .problem(429, "rate_limited");
}

/// SPEC §6: the counts live in PostgreSQL, so two API processes behind a balancer share them.
#[tokio::test]
async fn two_servers_on_one_database_share_the_limits() {
    let db = fresh_database().await;
    let one = spawn_app_on(db.clone()).await;
    let two = spawn_app_on(db).await;
    for i in 0..15 {
        fail_times(&one, 1, &format!("one{i}"), None).await;
        fail_times(&two, 1, &format!("two{i}"), None).await;
    }
    for app in [&one, &two] {
        attempt(app, "nobody", "wrong-password", None)
            .await
            .problem(429, "rate_limited");
    }
    // and an account's failures, on a fresh database
    let w = world().await;
    let other = spawn_app_on(w.app.db_url.clone()).await;
    for app in [&w.app, &other, &w.app, &other, &w.app] {
        attempt(app, "village_v2", "wrong-password", None)
            .await
            .problem(401, "unauthorized");
    }
    attempt(&other, "village_v2", PASSWORD, None)
        .await
        .problem(429, "rate_limited");
    attempt(&other, "village_v1", PASSWORD, None)
        .await
        .expect(200);
}

#[tokio::test]
async fn a_refresh_token_works_once_and_reuse_revokes_the_family() {
    let w = world().await;
    let first = w.app.login("village_v1").await;
    let r1 = first["refresh_token"].as_str().unwrap_or("").to_string();
    let second = w
        .app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    let second = second.expect(200).clone();
    let r2 = second["refresh_token"].as_str().unwrap_or("").to_string();
    assert_ne!(r1, r2);
    // reuse of the spent token: refused, and the live one of the same family dies with it
    let reuse = w
        .app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r1})),
        )
        .await;
    reuse.problem(401, "unauthorized");
    let after = w
        .app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": r2})),
        )
        .await;
    after.problem(401, "unauthorized");
    let garbage = w
        .app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": "garbage"})),
        )
        .await;
    garbage.problem(401, "unauthorized");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let w = world().await;
    let pair = w.app.login("village_v1").await;
    let access = pair["access_token"].as_str().unwrap_or("");
    let refresh = pair["refresh_token"].as_str().unwrap_or("");
    let r = w
        .app
        .post("/auth/logout", access, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(r.status.as_u16(), 204);
    let again = w
        .app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    again.problem(401, "unauthorized");
}

#[tokio::test]
async fn changing_the_password_revokes_refresh_tokens_and_old_access_tokens() {
    let w = world().await;
    let pair = w.app.login("village_v1").await;
    let access = pair["access_token"].as_str().unwrap_or("").to_string();
    let refresh = pair["refresh_token"].as_str().unwrap_or("").to_string();
    let bad = w
        .app
        .post(
            "/me/password",
            &access,
            json!({"current_password": "not-it-at-all", "new_password": "a-new-password"}),
        )
        .await;
    bad.problem(422, "validation_failed");
    assert_eq!(bad.fields(), vec!["current_password"]);
    // the token was issued this second; make sure the change lands in a later second
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let ok = w
        .app
        .post(
            "/me/password",
            &access,
            json!({"current_password": PASSWORD, "new_password": "a-new-password"}),
        )
        .await;
    assert_eq!(ok.status.as_u16(), 204, "{}", ok.text);
    w.app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await
        .problem(401, "unauthorized");
    w.app.get("/me", &access).await.problem(401, "unauthorized");
    let login = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "village_v1", "password": "a-new-password"})),
        )
        .await;
    login.expect(200);
}

#[tokio::test]
async fn disabling_a_user_cuts_them_off_at_once() {
    let w = world().await;
    let pair = w.app.login("village_v2").await;
    let refresh = pair["refresh_token"].as_str().unwrap_or("").to_string();
    let access = pair["access_token"].as_str().unwrap_or("").to_string();
    let id = w.users["village_v2"];
    // a town cannot disable users; the city admin can
    w.app
        .patch(
            &format!("/users/{id}"),
            w.tok("town_t1"),
            json!({"active": false}),
            None,
        )
        .await
        .problem(403, "forbidden");
    let r = w
        .app
        .patch(
            &format!("/users/{id}"),
            w.tok("admin_a"),
            json!({"active": false}),
            None,
        )
        .await;
    assert_eq!(r.expect(200)["active"], false);
    w.app
        .call(
            Method::POST,
            "/auth/refresh",
            None,
            Some(json!({"refresh_token": refresh})),
        )
        .await
        .problem(401, "unauthorized");
    w.app.get("/me", &access).await.problem(401, "unauthorized");
    // another city's admin cannot even see the user
    w.app
        .patch(
            &format!("/users/{id}"),
            w.tok("admin_b"),
            json!({"active": true}),
            None,
        )
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn bad_tokens_are_401() {
    let w = world().await;
    let good = w.tok("village_v1").to_string();
    w.app
        .call(Method::GET, "/me", None, None)
        .await
        .problem(401, "unauthorized");
    w.app
        .get("/me", "not-a-jwt")
        .await
        .problem(401, "unauthorized");
    // a tampered payload
    let parts: Vec<&str> = good.split('.').collect();
    let tampered = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
    w.app
        .get("/me", &tampered)
        .await
        .problem(401, "unauthorized");
    // alg none
    use base64::Engine;
    let enc = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = zhucan::auth::tokens::now_secs();
    let claims = json!({"sub": w.users["village_v1"], "iss": "zhucan", "aud": "zhucan-api", "exp": now + 600, "nbf": now, "iat": now, "jti": uuid::Uuid::new_v4()});
    let none = format!(
        "{}.{}.",
        enc(json!({"alg": "none", "typ": "JWT"})),
        enc(claims.clone())
    );
    w.app.get("/me", &none).await.problem(401, "unauthorized");
    // signed right but expired, wrong audience, string exp
    let key = jsonwebtoken::EncodingKey::from_secret(
        b"zhucan-development-secret-do-not-use-in-production",
    );
    let sign = |c: serde_json::Value| {
        jsonwebtoken::encode(&jsonwebtoken::Header::default(), &c, &key).unwrap_or_default()
    };
    let mut expired = claims.clone();
    expired["exp"] = json!(now - 120);
    w.app
        .get("/me", &sign(expired))
        .await
        .problem(401, "unauthorized");
    let mut aud = claims.clone();
    aud["aud"] = json!("someone-else");
    w.app
        .get("/me", &sign(aud))
        .await
        .problem(401, "unauthorized");
    let mut s_exp = claims.clone();
    s_exp["exp"] = json!((now + 600).to_string());
    w.app
        .get("/me", &sign(s_exp))
        .await
        .problem(401, "unauthorized");
    let mut future = claims.clone();
    future["nbf"] = json!(now + 3600);
    w.app
        .get("/me", &sign(future))
        .await
        .problem(401, "unauthorized");
    // the same claims, correctly signed, do work: the refusals above are about the token
    w.app.get("/me", &sign(claims)).await.expect(200);
}
