//! The web console over HTTP: sessions and their cookie, CSRF, the security headers, scope,
//! filing once, and every action form reaching what the JSON API reaches.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;

/// A browser without a browser: a cookie jar, no redirects followed.
pub struct Browser {
    base: String,
    client: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// A console answer.
pub struct Page {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Page {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Every `Set-Cookie` value.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect()
    }

    /// The value of the first hidden field `name` in the page.
    pub fn hidden(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        self.text
            .split(&marker)
            .nth(1)
            .and_then(|r| r.split('"').next())
            .unwrap_or("")
            .to_string()
    }

    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        self
    }
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        self.send_with(method, path, |req| match form {
            Some(f) => req.form(f),
            None => req,
        })
        .await
    }

    /// Posts a raw body (a multipart form) with its content type.
    pub async fn post_raw(&mut self, path: &str, content_type: &str, body: Vec<u8>) -> Page {
        let ct = content_type.to_string();
        self.send_with(Method::POST, path, move |req| {
            req.header("content-type", ct).body(body)
        })
        .await
    }

    async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Page {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path))
            .header("accept", "text/html");
        if !self.cookies.is_empty() {
            req = req.header("cookie", self.cookie_header());
        }
        let req = body(req);
        let res = req.send().await.expect("request");
        let page = Page {
            status: res.status(),
            headers: res.headers().clone(),
            text: res.text().await.unwrap_or_default(),
        };
        for c in page.set_cookies() {
            let pair = c.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                if v.is_empty() || c.contains("Max-Age=0") {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        page
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Signs in through the form; returns the answer to the sign-in.
    pub async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/login").await;
        let csrf = form.hidden("csrf");
        self.post(
            "/login",
            &[("csrf", &csrf), ("username", user), ("password", password)],
        )
        .await
    }

    /// The session cookie's value.
    pub fn session(&self) -> Option<&String> {
        self.cookies.get("zhucan_session")
    }

    /// Posts a form of a page with its CSRF token and the version the page shows.
    pub async fn submit(&mut self, page_path: &str, action: &str, fields: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        let csrf = page.hidden("csrf");
        let version = page.hidden("version");
        let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf), ("version", &version)];
        all.extend_from_slice(fields);
        self.post(action, &all).await
    }
}

pub async fn signed_in(w: &World, user: &str) -> Browser {
    let mut b = Browser::new(&w.app);
    b.sign_in(user, PASSWORD).await.expect(303);
    b
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

async fn session_rows(app: &TestApp) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query("SELECT count(*) AS n FROM console_sessions")
        .get_result(&mut app.db().await)
        .await
        .expect("count");
    n.n
}

#[tokio::test]
async fn signing_in_and_out_keeps_a_strict_session_row_that_sign_out_deletes() {
    let w = world().await;
    let mut b = Browser::new(&w.app);
    // not signed in: to the sign-in page, which comes back here
    let r = b.get("/").await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/login?next=%2F"));
    let form = b.get("/login").await;
    form.expect(200);
    for text in [
        "lang=\"zh-CN\"",
        ">用户名</label>",
        ">密码</label>",
        ">登录</button>",
    ] {
        assert!(form.text.contains(text), "{text}");
    }
    // a wrong password: the form again, in Chinese, nothing started
    let r = b.sign_in("village_v1", "wrong-password").await;
    r.expect(401);
    assert!(r.text.contains("用户名或密码不正确"));
    assert_eq!(session_rows(&w.app).await, 0);
    let r = b.sign_in("village_v1", PASSWORD).await;
    assert_eq!((r.status.as_u16(), r.location()), (303, "/"));
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("zhucan_session="))
        .expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    // the row keeps the token's SHA-256, never the token
    let token = b.session().cloned().unwrap_or_default();
    let hash = zhucan::auth::sessions::token_hash(&token);
    {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        use zhucan::db::schema::console_sessions as cs;
        let stored: Vec<Vec<u8>> = cs::table
            .select(cs::token_hash)
            .load(&mut w.app.db().await)
            .await
            .expect("rows");
        assert_eq!(stored, vec![hash]);
    }
    let inbox = b.get("/").await;
    inbox.expect(200);
    assert!(inbox.text.contains("<h1>待办</h1>"));
    assert_eq!(inbox.text.matches("<h1").count(), 1);
    // signing out deletes the row; the old cookie no longer signs anyone in
    let csrf = inbox.hidden("csrf");
    let out = b.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!((out.status.as_u16(), out.location()), (303, "/login"));
    assert_eq!(session_rows(&w.app).await, 0);
    let mut replay = Browser::new(&w.app);
    replay.cookies.insert("zhucan_session".into(), token);
    assert_eq!(replay.get("/").await.status.as_u16(), 303);
}

#[tokio::test]
async fn the_cookie_is_secure_behind_an_https_public_url() {
    let app = spawn_app_with(fresh_database().await, |c| {
        c.public_url = Some(url::Url::parse("https://zhucan.example.org/").expect("url"));
    })
    .await;
    let w = world_in(app).await;
    let mut b = Browser::new(&w.app);
    let r = b.sign_in("town_t1", PASSWORD).await;
    let cookie = r
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("zhucan_session="))
        .expect("session cookie");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test]
async fn an_idle_session_ends() {
    let w = world().await;
    let mut b = signed_in(&w, "village_v1").await;
    b.get("/").await.expect(200);
    // a session in use is kept alive: ten seconds from its end, a page moves it 30 minutes on
    w.app
        .sql("UPDATE console_sessions SET idle_until = now() + interval '10 seconds'")
        .await;
    b.get("/persons").await.expect(200);
    let alive = count(
        &w.app,
        "SELECT count(*) AS n FROM console_sessions WHERE idle_until > now() + interval '29 minutes'",
    )
    .await;
    assert_eq!(alive, 1, "the idle deadline moved on");
    w.app
        .sql("UPDATE console_sessions SET idle_until = now() - interval '1 second'")
        .await;
    let r = b.get("/persons").await;
    assert_eq!(
        (r.status.as_u16(), r.location()),
        (303, "/login?next=%2Fpersons")
    );
}

#[tokio::test]
async fn a_form_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 1).await;
    let n = w.need("village_v1", &s(&p, "id")).await;
    let id = s(&n, "id");
    let mut b = signed_in(&w, "village_v1").await;
    let page = b.get(&format!("/needs/{id}")).await;
    let version = page.hidden("version");
    for csrf in [None, Some("not-the-token")] {
        let mut form = vec![("version", version.as_str()), ("loop", "social")];
        if let Some(c) = csrf {
            form.push(("csrf", c));
        }
        let r = b.post(&format!("/needs/{id}/register"), &form).await;
        r.expect(403);
        assert!(r.text.contains("未做任何更改"), "{}", r.text);
    }
    let after = w.app.get(&format!("/needs/{id}"), w.tok("root")).await;
    assert_eq!(s(after.expect(200), "state"), "reported");
    assert_eq!(w.history(&id).await.len(), 1);
    // signing out needs the token too; the sign-in form needs its own cookie
    b.post("/logout", &[]).await.expect(403);
    assert_eq!(session_rows(&w.app).await, 1);
    let mut stranger = Browser::new(&w.app);
    let r = stranger
        .post(
            "/login",
            &[("username", "village_v1"), ("password", PASSWORD)],
        )
        .await;
    r.expect(403);
    assert_eq!(session_rows(&w.app).await, 1);
}

#[tokio::test]
async fn a_console_cookie_never_authorises_the_api() {
    let w = world().await;
    let b = signed_in(&w, "admin_a").await;
    let cookie = format!(
        "zhucan_session={}",
        b.session().cloned().unwrap_or_default()
    );
    let r = w
        .app
        .call_h(Method::GET, "/me", None, None, &[("cookie", &cookie)])
        .await;
    r.problem(401, "unauthorized");
    let r = w
        .app
        .call_h(Method::GET, "/inbox", None, None, &[("cookie", &cookie)])
        .await;
    r.problem(401, "unauthorized");
}

#[tokio::test]
async fn console_answers_carry_the_security_headers() {
    let w = world().await;
    let mut b = Browser::new(&w.app);
    let login = b.get("/login").await;
    let css = login
        .text
        .split("href=\"/static/")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .map(|f| format!("/static/{f}"))
        .expect("stylesheet link");
    assert!(css.ends_with(".css") && css.len() > "/static/console.css".len());
    let mut b = signed_in(&w, "village_v1").await;
    let pages = [
        b.get("/").await,
        login,
        b.get("/persons").await,
        b.get("/needs/00000000-0000-7000-8000-000000000000").await,
        b.get("/no-such-page").await,
    ];
    for p in &pages {
        let h = |k: &str| {
            p.headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(csp.contains("form-action 'self'") && csp.contains("base-uri 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(h("x-frame-options"), "DENY");
        assert_eq!(h("referrer-policy"), "same-origin");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(h("cache-control"), "no-store");
        assert!(h("content-type").starts_with("text/html"));
        assert!(p.text.contains("<html lang=\"zh-CN\">"));
        assert_eq!(p.text.matches("<h1").count(), 1, "{}", p.text);
    }
    assert_eq!(pages[3].status.as_u16(), 404);
    assert_eq!(pages[4].status.as_u16(), 404);
    let asset = b.get(&css).await;
    asset.expect(200);
    assert_eq!(
        asset
            .headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=31536000, immutable")
    );
    b.get("/static/console.css").await.expect(404);
    // the API's own 404 stays problem+json
    w.app
        .call(Method::GET, "/api/v1/no-such-thing", None, None)
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn a_need_outside_a_village_workers_scope_is_a_404_page() {
    let w = world().await;
    let p = w.person("village_v2", "v2", 2).await;
    let n = w.need("village_v2", &s(&p, "id")).await;
    let mut b = signed_in(&w, "village_v1").await;
    let r = b.get(&format!("/needs/{}", s(&n, "id"))).await;
    r.expect(404);
    assert!(r.text.contains("找不到该页面"));
    assert!(!r.text.contains(&s(&n, "case_number")));
    let mut own = signed_in(&w, "village_v2").await;
    let r = own.get(&format!("/needs/{}", s(&n, "id"))).await;
    r.expect(200);
    assert!(r.text.contains(&s(&n, "case_number")));
}

#[tokio::test]
async fn the_filing_form_sent_twice_files_one_need() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 3).await;
    let pid = s(&p, "id");
    let mut b = signed_in(&w, "village_v1").await;
    let path = format!("/persons/{pid}/needs/new");
    let form = b.get(&path).await;
    form.expect(200);
    let (csrf, key) = (form.hidden("csrf"), form.hidden("idempotency_key"));
    assert_eq!(key.len(), 36);
    let fields = [
        ("csrf", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("category", "rehabilitation"),
        ("description", "需要康复训练"),
        ("urgency", "normal"),
    ];
    let mut b2 = Browser::new(&w.app);
    b2.cookies = b.cookies.clone();
    let (r1, r2) = tokio::join!(b.post(&path, &fields), b2.post(&path, &fields));
    assert_eq!((r1.status.as_u16(), r2.status.as_u16()), (303, 303));
    assert_eq!(r1.location(), r2.location());
    let list = w
        .app
        .get(&format!("/needs?person_id={pid}"), w.tok("root"))
        .await;
    assert_eq!(item_ids(list.expect(200)).len(), 1);
    // a third send, later, is the same need again
    let r3 = b.post(&path, &fields).await;
    assert_eq!(r3.location(), r1.location());
    let page = b.get(r1.location()).await;
    assert!(page.text.contains("诉求已提交"), "{}", page.text);
    assert!(page.text.contains("role=\"status\""));

    // a new form for the same category: a possible duplicate, named, to confirm
    let form = b.get(&path).await;
    let key2 = form.hidden("idempotency_key");
    let mut fields: Vec<(&str, &str)> = vec![
        ("csrf", &csrf),
        ("idempotency_key", &key2),
        ("category", "rehabilitation"),
        ("description", "又一条"),
    ];
    let dup = b.post(&path, &fields).await;
    dup.expect(409);
    let existing = w
        .app
        .get(&format!("/needs?person_id={pid}"), w.tok("root"))
        .await;
    let number = s(&existing.body["items"][0], "case_number");
    assert!(dup.text.contains(&number), "{}", dup.text);
    assert!(dup.text.contains("确认不是重复诉求"));
    assert!(dup.text.contains("又一条"), "the form keeps what was typed");
    // confirmed, with the same key (the refusal left the key unused)
    fields.push(("confirm_duplicate", "true"));
    b.post(&path, &fields).await.expect(303);
    let list = w
        .app
        .get(&format!("/needs?person_id={pid}"), w.tok("root"))
        .await;
    assert_eq!(item_ids(list.expect(200)).len(), 2);
}

#[tokio::test]
async fn field_errors_stale_forms_and_sign_in_limits_read_in_chinese() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 4).await;
    let n = w.need("village_v1", &s(&p, "id")).await;
    let id = s(&n, "id");
    let page = format!("/needs/{id}");
    let mut b = signed_in(&w, "village_v1").await;
    // no loop chosen: the error sits by the field, linked to it, and the note typed stays
    let r = b
        .submit(
            &page,
            &format!("/needs/{id}/register"),
            &[("note", "先看看")],
        )
        .await;
    r.expect(422);
    assert!(r.text.contains("id=\"register-loop-error\""), "{}", r.text);
    assert!(r.text.contains("aria-invalid=\"true\""));
    assert!(r.text.contains("aria-describedby=\"register-loop-error\""));
    assert!(r.text.contains("必须填写"));
    assert!(r.text.contains("先看看"));
    // a form drawn before someone else acted: refused, nothing done twice
    let stale = b.get(&page).await;
    w.step("village_v1", &id, "register", json!({"loop": "social"}))
        .await;
    let r = b
        .post(
            &format!("/needs/{id}/escalate"),
            &[
                ("csrf", &stale.hidden("csrf")),
                ("version", &stale.hidden("version")),
                ("reason", "村里解决不了"),
            ],
        )
        .await;
    r.expect(412);
    assert!(r.text.contains("已被他人修改"));
    let now = w.app.get(&page, w.tok("root")).await;
    assert_eq!(s(now.expect(200), "state"), "registered");
    // registering a person with a wrong ID number
    let form = b.get("/persons/new").await;
    let r = b
        .post(
            "/persons/new",
            &[
                ("csrf", &form.hidden("csrf")),
                ("name", "李四"),
                ("id_number", "370883195001010011"),
                ("disability_category", "physical"),
                ("disability_grade", "2"),
            ],
        )
        .await;
    r.expect(422);
    assert!(
        r.text.contains("id=\"person-id-number-error\""),
        "{}",
        r.text
    );
    assert!(r.text.contains("身份证号"));
    assert!(r.text.contains("李四"));
    // five failures lock the name: a Chinese page with Retry-After
    let mut stranger = Browser::new(&w.app);
    for _ in 0..5 {
        stranger.sign_in("town_t2", "wrong").await.expect(401);
    }
    let r = stranger.sign_in("town_t2", PASSWORD).await;
    r.expect(429);
    assert!(r.text.contains("登录失败次数过多"));
    assert!(r.headers.get("retry-after").is_some());
}

/// The need as the API shows it, in the parts an action changes.
async fn standing(w: &World, id: &str) -> Value {
    let n = w.app.get(&format!("/needs/{id}"), w.tok("root")).await;
    let n = n.expect(200);
    json!([
        n["state"],
        n["loop"],
        n["level"],
        n["handler_organization_id"],
        n["assignee_user_id"],
        n["outcome"],
        n["satisfaction"],
        n["reopen_count"],
        n["version"]
    ])
}

#[tokio::test]
async fn every_action_form_reaches_what_the_api_reaches() {
    let w = world().await;
    w.on_duty("president_a").await;
    let p1 = w.person("village_v1", "v1", 5).await;
    let p2 = w.person("village_v1", "v1", 6).await;
    let mut browsers: HashMap<&str, Browser> = HashMap::new();
    for who in ["village_v1", "town_t1", "officer_t1"] {
        browsers.insert(who, signed_in(&w, who).await);
    }
    let civil = w.orgs["civil_t1"].to_string();
    let town_user = w.users["town_t1"].to_string();
    // (who, action, body) — three needs: the policy loop, the social loop, a withdrawal
    let paths: Vec<Vec<(&str, &str, Value)>> = vec![
        vec![
            ("village_v1", "register", json!({"loop": "policy"})),
            ("village_v1", "comment", json!({"text": "已电话联系"})),
            ("village_v1", "refer", json!({"department_id": civil})),
            ("officer_t1", "return", json!({"reason": "不属于民政"})),
            ("village_v1", "refer", json!({"department_id": civil})),
            ("officer_t1", "accept", json!({})),
            (
                "officer_t1",
                "resolve",
                json!({"outcome": "unable", "resolution": "政策不覆盖"}),
            ),
            (
                "village_v1",
                "verify",
                json!({"satisfied": false, "satisfaction": 2}),
            ),
        ],
        vec![
            ("village_v1", "register", json!({"loop": "social"})),
            ("village_v1", "escalate", json!({"reason": "村里解决不了"})),
            ("town_t1", "accept", json!({"note": "收到"})),
            ("town_t1", "assign", json!({"assignee_user_id": town_user})),
            (
                "town_t1",
                "resolve",
                json!({"outcome": "fulfilled", "resolution": "送来轮椅"}),
            ),
            (
                "village_v1",
                "verify",
                json!({"satisfied": true, "satisfaction": 5}),
            ),
        ],
        vec![("village_v1", "withdraw", json!({"reason": "本人不再需要"}))],
    ];
    for steps in paths {
        let by_api = s(&w.need("village_v1", &s(&p1, "id")).await, "id");
        let by_form = s(&w.need("village_v1", &s(&p2, "id")).await, "id");
        for (who, action, body) in steps {
            w.step(who, &by_api, action, body.clone()).await;
            let fields: Vec<(String, String)> = body
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                v.as_str()
                                    .map(String::from)
                                    .unwrap_or_else(|| v.to_string()),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let b = browsers.get_mut(who).expect("browser");
            let page = format!("/needs/{by_form}");
            let r = b
                .submit(&page, &format!("/needs/{by_form}/{action}"), &fields)
                .await;
            assert_eq!(
                (r.status.as_u16(), r.location()),
                (303, format!("/needs/{by_form}?done={action}").as_str()),
                "{who} {action}: {}",
                r.text
            );
            assert_eq!(
                standing(&w, &by_api).await,
                standing(&w, &by_form).await,
                "{who} {action}"
            );
        }
        let api_history: Vec<(String, String, String)> = w.history(&by_api).await;
        assert_eq!(api_history, w.history(&by_form).await);
    }
}

impl Browser {
    /// The raw bytes of a download (with the session's cookies).
    pub async fn bytes(&self, path: &str) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let res = self
            .client
            .get(format!("{}{}", self.base, path))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .expect("request");
        let (status, headers) = (res.status(), res.headers().clone());
        let bytes = res.bytes().await.expect("body").to_vec();
        (status, headers, bytes)
    }
}

/// The cells of the first sheet of a workbook, as text.
fn sheet(bytes: &[u8]) -> Vec<Vec<String>> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx opens");
    let range = book.worksheet_range_at(0).expect("a sheet").expect("range");
    range
        .rows()
        .map(|r| r.iter().map(|c| c.to_string()).collect())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let n: N = diesel::sql_query(sql)
        .get_result(&mut app.db().await)
        .await
        .expect("count");
    n.n
}

/// How many POST forms a page holds, the header's 退出 included.
fn post_forms(page: &Page) -> usize {
    page.text.matches("method=\"post\"").count()
}

#[tokio::test]
async fn a_persons_page_shows_group_visits_and_needs_and_its_forms_reach_the_api() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 20).await;
    let pid = s(&p, "id");
    let n = w.need("village_v1", &pid).await;
    let helpers = [
        w.helper("village_v1", "v1", "张帮扶").await.to_string(),
        w.helper("village_v1", "v1", "李帮扶").await.to_string(),
        w.helper("village_v1", "v1", "赵帮扶").await.to_string(),
    ];
    let mut b = signed_in(&w, "village_v1").await;
    let path = format!("/persons/{pid}");
    let page = b.get(&path).await;
    page.expect(200);
    for text in [
        "三帮一",
        "未建立",
        "设置三帮一",
        "记录走访",
        "还没有走访记录",
        "新建诉求",
        "查看完整身份证号",
        &s(&n, "case_number"),
        &format!("href=\"/needs/{}\"", s(&n, "id")),
        zhucan::domain::need::State::parse(&s(&n, "state"))
            .expect("a state")
            .zh(),
    ] {
        assert!(page.text.contains(text), "{text}: {}", page.text);
    }
    assert_eq!(page.text.matches("<h1").count(), 1);

    // the group form: two the same is refused by the service, by the field
    let gpath = format!("/persons/{pid}/group");
    let form = b.get(&gpath).await;
    form.expect(200);
    assert!(form.text.contains("张帮扶"));
    let csrf = form.hidden("csrf");
    let same = b
        .post(
            &gpath,
            &[
                ("csrf", &csrf),
                ("helper_ids[0]", &helpers[0]),
                ("helper_ids[1]", &helpers[0]),
                ("helper_ids[2]", &helpers[1]),
            ],
        )
        .await;
    same.expect(422);
    assert!(same.text.contains("三名帮扶人不能重复"), "{}", same.text);
    assert!(same.text.contains("aria-invalid=\"true\""));
    let set = b
        .post(
            &gpath,
            &[
                ("csrf", &csrf),
                ("helper_ids[0]", &helpers[0]),
                ("helper_ids[1]", &helpers[1]),
                ("helper_ids[2]", &helpers[2]),
            ],
        )
        .await;
    set.expect(303);
    assert_eq!(set.location(), format!("/persons/{pid}?done=group"));
    let group = w
        .app
        .get(&format!("/persons/{pid}/contact-group"), w.tok("root"))
        .await;
    assert_eq!(group.expect(200)["complete"], json!(true));
    let page = b.get(set.location()).await;
    assert!(page.text.contains("三帮一已设置"));
    assert!(page.text.contains("已建立") && page.text.contains("赵帮扶"));

    // a visit through the form: the time typed is the city's (UTC+8)
    let vpath = format!("/persons/{pid}/visits");
    let later = b
        .post(
            &vpath,
            &[("csrf", &csrf), ("visited_at", "2099-01-01T09:00")],
        )
        .await;
    later.expect(422);
    assert!(later.text.contains("不能晚于现在"), "{}", later.text);
    let done = b
        .post(
            &vpath,
            &[
                ("csrf", &csrf),
                ("visited_at", "2025-12-01T09:30"),
                ("helper_id", &helpers[1]),
                ("notes", "上门走访，轮椅需要维修"),
            ],
        )
        .await;
    done.expect(303);
    let listed = w
        .app
        .get(&format!("/persons/{pid}/visits"), w.tok("root"))
        .await;
    let items = listed.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    let at: chrono::DateTime<chrono::Utc> = s(&items[0], "visited_at").parse().expect("time");
    assert_eq!(at.to_rfc3339(), "2025-12-01T01:30:00+00:00");
    assert_eq!(s(&items[0], "helper_id"), helpers[1]);
    let page = b.get(&path).await;
    assert!(page.text.contains("上门走访，轮椅需要维修"));
    assert!(
        page.text.contains("2025年12月01日 09:30 · 李帮扶"),
        "{}",
        page.text
    );

    // without the session's token: nothing recorded
    b.post(&vpath, &[("notes", "x")]).await.expect(403);
    let listed = w
        .app
        .get(&format!("/persons/{pid}/visits"), w.tok("root"))
        .await;
    assert_eq!(item_ids(listed.expect(200)).len(), 1);
}

#[tokio::test]
async fn revealing_an_id_number_is_audited_and_refused_to_a_role_that_may_not() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 21).await;
    let pid = s(&p, "id");
    let clear = id_number(21);
    let reveals = "SELECT count(*) AS n FROM audit_log WHERE action = 'reveal'";
    let mut b = signed_in(&w, "village_v1").await;
    let page = b.get(&format!("/persons/{pid}")).await;
    assert!(page.text.contains(&s(&p, "id_number")), "masked");
    assert!(!page.text.contains(&clear));
    assert!(page.text.contains("会记入审计日志"));
    let csrf = page.hidden("csrf");
    let path = format!("/persons/{pid}/reveal");
    b.post(&path, &[]).await.expect(403);
    assert_eq!(count(&w.app, reveals).await, 0, "no token, no reveal");
    let shown = b.post(&path, &[("csrf", &csrf)]).await;
    shown.expect(200);
    assert!(shown.text.contains(&clear));
    assert!(shown.text.contains("此次查看已记入审计日志"));
    assert!(shown.text.contains("role=\"status\""));
    assert_eq!(count(&w.app, reveals).await, 1);

    // an auditor may read the person but not reveal: no button, and 403 if it tries
    let mut a = signed_in(&w, "auditor_t1").await;
    let page = a.get(&format!("/persons/{pid}")).await;
    page.expect(200);
    assert!(!page.text.contains("查看完整身份证号"));
    let csrf = page.hidden("csrf");
    let refused = a.post(&path, &[("csrf", &csrf)]).await;
    refused.expect(403);
    assert!(refused.text.contains("无权操作"));
    assert!(!refused.text.contains(&clear));
    assert_eq!(count(&w.app, reveals).await, 1);
}

#[tokio::test]
async fn report_pages_draw_the_apis_figures_and_download_the_same_workbook() {
    let w = world().await;
    let covered = w.person("village_v1", "v1", 30).await;
    w.person("village_v1", "v1", 31).await;
    w.person("village_v2", "v2", 32).await;
    let mut ids = Vec::new();
    for name in ["甲", "乙", "丙"] {
        ids.push(w.helper("village_v1", "v1", name).await.to_string());
    }
    w.app
        .put(
            &format!("/persons/{}/contact-group", s(&covered, "id")),
            w.tok("village_v1"),
            json!({ "helper_ids": ids }),
        )
        .await
        .expect(200);
    let (t1, v1) = (w.unit("t1"), w.unit("v1"));
    let mut b = signed_in(&w, "town_t1").await;
    let inbox = b.get("/").await;
    assert!(
        inbox.text.contains("href=\"/reports/coverage\""),
        "报表 in the navigation"
    );

    let page = b.get("/reports/coverage").await;
    page.expect(200);
    let api = w
        .app
        .get(
            &format!("/reports/coverage?org_unit_id={t1}"),
            w.tok("town_t1"),
        )
        .await;
    let api = api.expect(200);
    assert_eq!(api["totals"]["active_persons"], json!(3));
    for text in [
        "<h1>三帮一覆盖率报表</h1>",
        "钢山街道",
        "role=\"img\"",
        "<title>",
        "<desc>",
        "<table",
        "东关社区 50.0%",
        "西关社区 0.0%",
        "33.3%",
        &format!("href=\"/reports/coverage?unit={v1}\""),
        &format!("/reports/coverage?unit={t1}&amp;format=xlsx"),
    ] {
        assert!(page.text.contains(text), "{text}: {}", page.text);
    }
    assert_eq!(page.text.matches("<h1").count(), 1);

    // the download is the API's workbook, Chinese headers, the same cells
    let (status, headers, xlsx) = b
        .bytes(&format!("/reports/coverage?unit={t1}&format=xlsx"))
        .await;
    assert_eq!(status.as_u16(), 200);
    assert!(xlsx.starts_with(b"PK"), "a zip");
    assert!(headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("coverage-") && v.ends_with(".xlsx\"")));
    let api_xlsx = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/reports/coverage?org_unit_id={t1}&format=xlsx&lang=zh",
            w.app.base
        ))
        .bearer_auth(w.tok("town_t1"))
        .send()
        .await
        .expect("api xlsx")
        .bytes()
        .await
        .expect("bytes");
    let cells = sheet(&xlsx);
    assert_eq!(cells, sheet(&api_xlsx));
    assert_eq!(cells.len(), 4, "headers, the town and its two villages");
    assert!(cells[0].contains(&"三帮一覆盖率".to_string()));

    // a child's own report, and the way back
    let village = b.get(&format!("/reports/coverage?unit={v1}")).await;
    village.expect(200);
    assert!(village.text.contains("东关社区") && village.text.contains("返回本单位"));

    // SLA over a period; a date that is not one, or an inverted period, is refused in Chinese
    let sla = b
        .get("/reports/sla?unit=&from=2026-01-01&to=2026-12-31")
        .await;
    sla.expect(200);
    assert!(
        sla.text.contains("2026年01月01日 至 2026年12月31日"),
        "{}",
        sla.text
    );
    assert!(sla.text.contains("按时办结率"));
    assert!(sla.text.contains("<label for=\"from\">开始日期</label>"));
    b.get("/reports/sla?from=soon").await.expect(422);
    b.get("/reports/sla?from=2026-02-01&to=2026-01-01")
        .await
        .expect(422);
    let (status, _, xlsx) = b
        .bytes("/reports/sla?from=2026-01-01&to=2026-12-31&format=xlsx")
        .await;
    assert_eq!(status.as_u16(), 200);
    assert!(xlsx.starts_with(b"PK"));

    // roles the API refuses get the Chinese 403 page, and no 报表 link
    for who in ["officer_t1", "site_t1"] {
        let mut o = signed_in(&w, who).await;
        let refused = o.get("/reports/coverage").await;
        refused.expect(403);
        assert!(refused.text.contains("无权操作"));
        assert!(!o.get("/").await.text.contains("/reports/coverage"));
    }
}

async fn notes(w: &World) -> Value {
    let r = w.app.get("/me/notifications", w.tok("town_t1")).await;
    r.expect(200).clone()
}

#[tokio::test]
async fn notifications_are_marked_read_one_by_one_or_all_at_once() {
    let w = world().await;
    for n in [40, 41] {
        let p = w.person("village_v1", "v1", n).await;
        let need = s(&w.need("village_v1", &s(&p, "id")).await, "id");
        w.step("village_v1", &need, "register", json!({"loop": "social"}))
            .await;
        w.step(
            "village_v1",
            &need,
            "escalate",
            json!({"reason": "需要镇里协调"}),
        )
        .await;
    }
    let before = notes(&w).await;
    let total = before["items"].as_array().map_or(0, Vec::len);
    assert!(before["unread"].as_i64() >= Some(2), "{before}");
    let mut b = signed_in(&w, "town_t1").await;
    let page = b.get("/notifications").await;
    page.expect(200);
    assert_eq!(page.text.matches(">未读<").count(), total);
    assert_eq!(page.text.matches("标为已读</button>").count(), total + 1);
    assert!(page.text.contains("全部标为已读"));
    let first = s(&before["items"][0], "id");
    assert!(page
        .text
        .contains(&format!("/needs/{}", s(&before["items"][0], "need_id"))));
    let csrf = page.hidden("csrf");
    let path = format!("/notifications/{first}/read");
    b.post(&path, &[]).await.expect(403);
    b.post(&path, &[("csrf", &csrf)]).await.expect(303);
    let after = notes(&w).await;
    assert_eq!(
        after["unread"].as_i64(),
        before["unread"].as_i64().map(|n| n - 1)
    );
    assert!(after["items"][0]["read_at"].is_string());
    let page = b.get("/notifications").await;
    assert!(page.text.contains(">已读<"));
    b.post("/notifications/read-all", &[("csrf", &csrf)])
        .await
        .expect(303);
    assert_eq!(notes(&w).await["unread"], json!(0));
    let page = b.get("/notifications").await;
    assert!(!page.text.contains("标为已读"), "nothing left to mark");
    assert!(!page.text.contains(">未读<"));
}

#[tokio::test]
async fn an_auditor_reads_every_page_and_is_given_no_form_it_cannot_use() {
    let w = world().await;
    let p = w.person("village_v1", "v1", 50).await;
    let pid = s(&p, "id");
    let n = w.need("village_v1", &pid).await;
    let nid = s(&n, "id");
    let mut a = signed_in(&w, "auditor_t1").await;
    for path in [
        "/".to_string(),
        "/persons".into(),
        format!("/persons/{pid}"),
        format!("/needs/{nid}"),
        "/notifications".into(),
        "/reports/coverage".into(),
        "/reports/sla".into(),
    ] {
        let page = a.get(&path).await;
        page.expect(200);
        assert_eq!(post_forms(&page), 1, "{path}: only 退出\n{}", page.text);
        for button in [
            "登记残疾人",
            "新建诉求",
            "记录走访",
            "设置三帮一",
            "查看完整身份证号",
            "留言",
        ] {
            assert!(!page.text.contains(button), "{path}: {button}");
        }
    }
    // the forms themselves, asked for by their address: 403 in Chinese
    for path in [
        "/persons/new".to_string(),
        format!("/persons/{pid}/needs/new"),
        format!("/persons/{pid}/group"),
    ] {
        let page = a.get(&path).await;
        page.expect(403);
        assert!(page.text.contains("无权操作"));
    }
    // and a form posted anyway changes nothing
    let csrf = a.get("/").await.hidden("csrf");
    a.post(
        &format!("/persons/{pid}/visits"),
        &[("csrf", &csrf), ("notes", "x")],
    )
    .await
    .expect(403);
    a.post(
        &format!("/needs/{nid}/comment"),
        &[("csrf", &csrf), ("version", "1"), ("text", "x")],
    )
    .await
    .expect(403);
    let visits = w
        .app
        .get(&format!("/persons/{pid}/visits"), w.tok("root"))
        .await;
    assert!(item_ids(visits.expect(200)).is_empty());
    assert_eq!(w.history(&nid).await.len(), 1, "only the filing");
}

#[tokio::test]
async fn persons_are_found_by_name_and_by_exact_id_number_only_in_scope() {
    let w = world().await;
    let mine = w.person("village_v1", "v1", 31).await;
    let theirs = w.person("village_v2", "v2", 32).await;
    let mut b = signed_in(&w, "village_v1").await;
    // by its ID number: the person, linked
    let r = b.get(&format!("/persons?q={}", id_number(31))).await;
    r.expect(200);
    assert!(r.text.contains(&format!("/persons/{}", s(&mine, "id"))));
    // a lower-case x is the same number; another village's person stays out of sight
    let r = b
        .get(&format!("/persons?q={}", id_number(32).to_lowercase()))
        .await;
    r.expect(200);
    assert!(!r.text.contains(&s(&theirs, "id")));
    assert!(r.text.contains("没有找到"));
    // by name
    let r = b.get(&format!("/persons?q={}", s(&mine, "name"))).await;
    assert!(r.expect(200).text.contains(&s(&mine, "id")));
}
