//! Sign-in, tokens and their revocation.

use crate::support::*;
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
    assert!(r.headers.get("retry-after").is_some());
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
