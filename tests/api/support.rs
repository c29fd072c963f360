//! The test harness: a real PostgreSQL database per test (cloned from a migrated template),
//! the real app on a random port, and a fixture world of two cities.

#![allow(dead_code)]

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::OnceLock;
use uuid::Uuid;
use zhucan::domain::roles::{OrgKind, Role, UnitKind};
use zhucan::service::org_units::{insert_unit, UnitOut};

/// The password every fixture user has.
pub const PASSWORD: &str = "fixture-password";

/// Where the PostgreSQL server for tests is: DATABASE_URL, else 127.0.0.1:5432, else a private cluster.
fn server_base() -> String {
    static BASE: OnceLock<String> = OnceLock::new();
    BASE.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            if !url.is_empty() {
                // keep scheme, credentials and host; the database name is ours to choose
                let base = match url.rfind('/') {
                    Some(i)
                        if url[..i].contains("://")
                            && i > url.find("://").map(|j| j + 2).unwrap_or(0) =>
                    {
                        url[..i].to_string()
                    }
                    _ => url.clone(),
                };
                return base;
            }
        }
        if zhucan::db::embedded::port_answers("127.0.0.1", 5432) {
            return "postgres://postgres@127.0.0.1:5432".into();
        }
        // a private cluster shared by every test process of this run, left running for the next
        let port = 55432;
        if !zhucan::db::embedded::port_answers("127.0.0.1", port) {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-pg");
            match zhucan::db::embedded::EmbeddedPg::start_blocking(&dir, port) {
                Ok(pg) => std::mem::forget(pg),
                Err(e) => {
                    // another test process may be starting it right now
                    for _ in 0..60 {
                        if zhucan::db::embedded::port_answers("127.0.0.1", port) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(500));
                    }
                    assert!(
                        zhucan::db::embedded::port_answers("127.0.0.1", port),
                        "no PostgreSQL for tests: {e:#}"
                    );
                }
            }
        }
        format!("postgres://postgres@127.0.0.1:{port}")
    })
    .clone()
}

fn migrations_fingerprint() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    for p in entries {
        p.hash(&mut h);
        std::fs::read(&p).unwrap_or_default().hash(&mut h);
    }
    format!("{:012x}", h.finish() & 0xffff_ffff_ffff)
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Creates a fresh database for one test from the migrated template; returns its URL.
pub async fn fresh_database() -> String {
    let base = server_base();
    let template = format!("zhucan_tmpl_{}", migrations_fingerprint());
    let mut admin = AsyncPgConnection::establish(&format!("{base}/postgres"))
        .await
        .expect("connect to the test server");
    admin
        .batch_execute("SELECT pg_advisory_lock(99120)")
        .await
        .expect("lock");
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let exists: Exists =
        diesel::sql_query("SELECT count(*) AS n FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(&template)
            .get_result(&mut admin)
            .await
            .expect("query pg_database");
    if exists.n == 0 {
        let building = format!("{template}_building");
        let _ = admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))
            .await;
        admin
            .batch_execute(&format!("CREATE DATABASE {building}"))
            .await
            .expect("create template");
        zhucan::db::migrate(&format!("{base}/{building}"))
            .await
            .expect("migrate template");
        admin
            .batch_execute(&format!("ALTER DATABASE {building} RENAME TO {template}"))
            .await
            .expect("rename template");
    }
    let name = format!("zt_{}", Uuid::new_v4().simple());
    let created = admin
        .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
        .await;
    admin
        .batch_execute("SELECT pg_advisory_unlock(99120)")
        .await
        .expect("unlock");
    created.expect("create test database");
    format!("{base}/{name}")
}

/// One running app on its own database.
pub struct TestApp {
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// The database URL.
    pub db_url: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The app state (token keys, pool).
    pub state: actix_web::web::Data<zhucan::http::AppState>,
}

/// An answer: status, headers and JSON body (Null when none).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// An answer read whole: status, headers, text and its JSON (Null when none).
    pub async fn of(res: reqwest::Response) -> Resp {
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    /// Asserts the status, printing the body when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        &self.body
    }

    /// The problem code.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// Asserts a problem+json with this status and code.
    #[track_caller]
    pub fn problem(&self, status: u16, code: &str) {
        self.expect(status);
        let ct = self
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        assert!(
            ct.starts_with("application/problem+json"),
            "content-type {ct}"
        );
        assert_eq!(self.code(), code, "body: {}", self.text);
    }

    /// The field names in a 422.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(fresh_database().await).await
}

/// The app on a given (migrated) database.
pub async fn spawn_app_on(db_url: String) -> TestApp {
    spawn_app_with(db_url, |_| {}).await
}

/// The app on a given database with an adjusted configuration.
pub async fn spawn_app_with(
    db_url: String,
    adjust: impl FnOnce(&mut zhucan::config::Config),
) -> TestApp {
    let mut config = zhucan::config::Config::for_tests(db_url.clone());
    adjust(&mut config);
    let pool = zhucan::server::pool(&config, &db_url).expect("pool");
    // two workers, as on the 2-core machine the suite is built for, whatever this one has
    let workers = 2;
    let state = zhucan::server::state(&config, &db_url, pool, workers).expect("state");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let running = zhucan::server::start(state.clone(), listener, workers).expect("start");
    let base = format!("http://{}", running.addr);
    tokio::spawn(running.server);
    TestApp {
        base,
        db_url,
        client: reqwest::Client::builder().build().expect("client"),
        state,
    }
}

impl TestApp {
    /// Sends a request with an optional token and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        self.call_h(method, path, token, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn call_h(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let url = if path.starts_with('/')
            && !path.starts_with("/api/")
            && !path.starts_with("/healthz")
            && !path.starts_with("/readyz")
            && !path.starts_with("/metrics")
            && !path.starts_with("/docs")
        {
            format!("{}/api/v1{}", self.base, path)
        } else {
            format!("{}{}", self.base, path)
        };
        let mut req = self.client.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Resp::of(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value, version: Option<i64>) -> Resp {
        let v = version.map(|v| format!("\"{v}\""));
        let headers: Vec<(&str, &str)> = v
            .as_deref()
            .map(|v| vec![("If-Match", v)])
            .unwrap_or_default();
        self.call_h(Method::PATCH, path, Some(token), Some(body), &headers)
            .await
    }

    /// A direct database connection (for arranging and for checking invariants).
    pub async fn db(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.db_url)
            .await
            .expect("db")
    }

    /// Runs SQL straight on the test's database (to arrange what the API cannot: time passing).
    pub async fn sql(&self, statement: &str) {
        use diesel_async::SimpleAsyncConnection;
        self.db()
            .await
            .batch_execute(statement)
            .await
            .expect(statement);
    }

    /// Signs in over HTTP.
    pub async fn login(&self, username: &str) -> Value {
        let r = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"username": username, "password": PASSWORD})),
            )
            .await;
        r.expect(200).clone()
    }

    /// An access token minted with the app's own keys (fast; login is tested separately).
    pub fn token_for(&self, user_id: Uuid) -> String {
        self.state.tokens.issue(user_id).expect("token")
    }
}

/// Units, organisations and users of the fixture world.
pub struct World {
    pub app: TestApp,
    pub units: HashMap<&'static str, UnitOut>,
    pub orgs: HashMap<&'static str, Uuid>,
    pub users: HashMap<&'static str, Uuid>,
    pub tokens: HashMap<&'static str, String>,
}

/// The argon2 hash of [`PASSWORD`], computed once per test process.
pub fn fixture_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| zhucan::auth::password::hash_blocking(PASSWORD).expect("hash"))
}

async fn org(conn: &mut AsyncPgConnection, unit: Uuid, kind: OrgKind) -> Uuid {
    use diesel::{ExpressionMethods, QueryDsl};
    use zhucan::db::schema::organizations;
    organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind.as_str()))
        .select(organizations::id)
        .first(conn)
        .await
        .expect("org")
}

async fn add_org(
    conn: &mut AsyncPgConnection,
    unit: &UnitOut,
    kind: &str,
    name: &str,
    dept: Option<&str>,
    site: Option<&str>,
) -> Uuid {
    use diesel::ExpressionMethods;
    use zhucan::db::schema::organizations;
    let id = Uuid::now_v7();
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::kind.eq(kind),
            organizations::name.eq(name),
            organizations::org_unit_id.eq(unit.id),
            organizations::city_id.eq(unit.city_id),
            organizations::department_type.eq(dept),
            organizations::site_type.eq(site),
        ))
        .execute(conn)
        .await
        .expect("org");
    id
}

/// Two cities: A (towns T1 with villages V1, V2; T2 with V3) and B (town BT with village BV).
pub async fn world() -> World {
    world_in(spawn_app().await).await
}

/// The fixture world in a given app's database.
pub async fn world_in(app: TestApp) -> World {
    let mut conn = app.db().await;
    let c = &mut conn;
    let mut units = HashMap::new();
    let city_a = insert_unit(c, UnitKind::City, "甲市", "370883000000", None)
        .await
        .expect("city");
    let t1 = insert_unit(c, UnitKind::Town, "钢山街道", "370883001000", Some(&city_a))
        .await
        .expect("t1");
    let t2 = insert_unit(c, UnitKind::Town, "太平镇", "370883100000", Some(&city_a))
        .await
        .expect("t2");
    let v1 = insert_unit(c, UnitKind::Village, "东关社区", "370883001001", Some(&t1))
        .await
        .expect("v1");
    let v2 = insert_unit(c, UnitKind::Village, "西关社区", "370883001002", Some(&t1))
        .await
        .expect("v2");
    let v3 = insert_unit(c, UnitKind::Village, "王庄村", "370883100001", Some(&t2))
        .await
        .expect("v3");
    let city_b = insert_unit(c, UnitKind::City, "乙市", "370881000000", None)
        .await
        .expect("city b");
    let bt = insert_unit(c, UnitKind::Town, "乙镇", "370881100000", Some(&city_b))
        .await
        .expect("bt");
    let bv = insert_unit(c, UnitKind::Village, "乙村", "370881100001", Some(&bt))
        .await
        .expect("bv");
    let mut orgs = HashMap::new();
    orgs.insert("dpf_a", org(c, city_a.id, OrgKind::Dpf).await);
    orgs.insert("assoc_a", org(c, city_a.id, OrgKind::Association).await);
    orgs.insert("centre_t1", org(c, t1.id, OrgKind::TownCentre).await);
    orgs.insert("centre_t2", org(c, t2.id, OrgKind::TownCentre).await);
    orgs.insert("station_v1", org(c, v1.id, OrgKind::VillageStation).await);
    orgs.insert("vdpf_v1", org(c, v1.id, OrgKind::VillageDpf).await);
    orgs.insert("station_v2", org(c, v2.id, OrgKind::VillageStation).await);
    orgs.insert("vdpf_v2", org(c, v2.id, OrgKind::VillageDpf).await);
    orgs.insert("station_v3", org(c, v3.id, OrgKind::VillageStation).await);
    orgs.insert("vdpf_v3", org(c, v3.id, OrgKind::VillageDpf).await);
    orgs.insert("dpf_b", org(c, city_b.id, OrgKind::Dpf).await);
    orgs.insert("centre_bt", org(c, bt.id, OrgKind::TownCentre).await);
    orgs.insert("station_bv", org(c, bv.id, OrgKind::VillageStation).await);
    orgs.insert("vdpf_bv", org(c, bv.id, OrgKind::VillageDpf).await);
    orgs.insert(
        "civil_t1",
        add_org(
            c,
            &t1,
            "department",
            "钢山民政办",
            Some("civil_affairs"),
            None,
        )
        .await,
    );
    orgs.insert(
        "health_t1",
        add_org(c, &t1, "department", "钢山卫健办", Some("health"), None).await,
    );
    orgs.insert(
        "civil_t2",
        add_org(
            c,
            &t2,
            "department",
            "太平民政办",
            Some("civil_affairs"),
            None,
        )
        .await,
    );
    orgs.insert(
        "site_t1",
        add_org(
            c,
            &t1,
            "extension_site",
            "钢山如康家园",
            None,
            Some("rukang_home"),
        )
        .await,
    );
    let plan: &[(&'static str, Role, Option<&'static str>)] = &[
        ("root", Role::Admin, None),
        ("admin_a", Role::Admin, Some("dpf_a")),
        ("president_a", Role::President, Some("assoc_a")),
        ("president_a2", Role::President, Some("assoc_a")),
        ("assoc_a", Role::AssociationStaff, Some("assoc_a")),
        ("auditor_a", Role::Auditor, Some("dpf_a")),
        ("town_t1", Role::TownStaff, Some("centre_t1")),
        ("auditor_t1", Role::Auditor, Some("centre_t1")),
        ("town_t2", Role::TownStaff, Some("centre_t2")),
        ("officer_t1", Role::DepartmentOfficer, Some("civil_t1")),
        ("health_t1", Role::DepartmentOfficer, Some("health_t1")),
        ("officer_t2", Role::DepartmentOfficer, Some("civil_t2")),
        ("site_t1", Role::SiteStaff, Some("site_t1")),
        ("village_v1", Role::VillageStaff, Some("station_v1")),
        ("vdpf_v1", Role::VillageStaff, Some("vdpf_v1")),
        ("village_v2", Role::VillageStaff, Some("station_v2")),
        ("village_v3", Role::VillageStaff, Some("station_v3")),
        ("admin_b", Role::Admin, Some("dpf_b")),
        ("town_bt", Role::TownStaff, Some("centre_bt")),
        ("village_bv", Role::VillageStaff, Some("station_bv")),
        // a helper of V1 who signs in (bound to its helper record below)
        ("helper_v1", Role::Helper, Some("station_v1")),
    ];
    let mut users = HashMap::new();
    let mut tokens = HashMap::new();
    for (name, role, org_key) in plan {
        let org_id = org_key.map(|k| orgs[k]);
        let city = match org_key {
            None => None,
            Some(k) if k.ends_with("_b") || k.ends_with("bt") || k.ends_with("bv") => {
                Some(city_b.id)
            }
            Some(_) => Some(city_a.id),
        };
        let id = zhucan::tools::seed::insert_user_with_hash(
            c,
            name,
            name,
            *role,
            org_id,
            city,
            fixture_hash(),
        )
        .await
        .expect("user");
        users.insert(*name, id);
        tokens.insert(*name, app.token_for(id));
    }
    // helper_v1's helper record, in V1
    {
        diesel::sql_query(format!(
            "INSERT INTO helpers (id, city_id, town_id, village_id, name, kind, user_id) \
             VALUES ('{}', '{}', '{}', '{}', '帮扶人甲', 'volunteer', '{}')",
            Uuid::now_v7(),
            city_a.id,
            t1.id,
            v1.id,
            users["helper_v1"]
        ))
        .execute(c)
        .await
        .expect("helper_v1's record");
    }
    for (k, u) in [
        ("city_a", city_a),
        ("t1", t1),
        ("t2", t2),
        ("v1", v1),
        ("v2", v2),
        ("v3", v3),
        ("city_b", city_b),
        ("bt", bt),
        ("bv", bv),
    ] {
        units.insert(k, u);
    }
    World {
        app,
        units,
        orgs,
        users,
        tokens,
    }
}

/// A valid resident ID number, different for each `n`.
pub fn id_number(n: u32) -> String {
    let birth = chrono::NaiveDate::from_ymd_opt(1950 + (n % 50) as i32, 1 + (n % 12), 1 + (n % 28))
        .expect("date");
    zhucan::domain::resident_id::make_valid("370883", birth, (n % 1000) as u16)
}

impl World {
    pub fn tok(&self, who: &str) -> &str {
        self.tokens
            .get(who)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no user {who}"))
    }
    pub fn unit(&self, key: &str) -> Uuid {
        self.units[key].id
    }

    /// Registers a person in a village as that village's (or the given) user; returns the body.
    pub async fn person(&self, who: &str, village: &str, n: u32) -> Value {
        let r = self
            .app
            .post(
                "/persons",
                self.tok(who),
                json!({"name": format!("残疾人{n}"), "id_number": id_number(n), "disability_category": "physical",
                       "disability_grade": 2, "village_id": self.unit(village)}),
            )
            .await;
        r.expect(201).clone()
    }

    /// Adds a helper to a village; returns its id.
    /// The helper record a signed-in helper (`helper_v1`) is bound to.
    pub async fn helper_record(&self, who: &str) -> Uuid {
        use diesel::{ExpressionMethods, QueryDsl};
        use zhucan::db::schema::helpers;
        let mut db = self.app.db().await;
        helpers::table
            .filter(helpers::user_id.eq(self.users[who]))
            .select(helpers::id)
            .first(&mut db)
            .await
            .expect("a helper record")
    }

    pub async fn helper(&self, who: &str, village: &str, name: &str) -> Uuid {
        let r = self
            .app
            .post(
                "/helpers",
                self.tok(who),
                json!({"name": name, "kind": "volunteer", "village_id": self.unit(village)}),
            )
            .await;
        let id = r.expect(201)["id"].as_str().expect("id").to_string();
        id.parse().expect("uuid")
    }
}

impl World {
    /// Files a need for a person as `who`; returns the need.
    pub async fn need(&self, who: &str, person_id: &str) -> Value {
        let r = self
            .app
            .post("/needs", self.tok(who), json!({"person_id": person_id, "category": "assistive_device", "description": "需要一台轮椅", "confirm_duplicate": true}))
            .await;
        r.expect(201).clone()
    }

    /// Runs an action with `If-Match` = `version` (None: no header).
    pub async fn act(
        &self,
        who: &str,
        need: &str,
        action: &str,
        body: Value,
        version: Option<i64>,
    ) -> Resp {
        let v = version.map(|v| format!("\"{v}\""));
        let headers: Vec<(&str, &str)> = v
            .as_deref()
            .map(|v| vec![("If-Match", v)])
            .unwrap_or_default();
        self.app
            .call_h(
                Method::POST,
                &format!("/needs/{need}/actions/{action}"),
                Some(self.tok(who)),
                Some(body),
                &headers,
            )
            .await
    }

    /// Runs an action that must succeed, with the need's current version; returns the need after.
    pub async fn step(&self, who: &str, need: &str, action: &str, body: Value) -> Value {
        let current = self.app.get(&format!("/needs/{need}"), self.tok(who)).await;
        let version = current.expect(200)["version"].as_i64();
        let r = self.act(who, need, action, body, version).await;
        r.expect(200).clone()
    }

    /// The need's history, as (action, from, to) triples.
    pub async fn history(&self, need: &str) -> Vec<(String, String, String)> {
        let r = self
            .app
            .get(&format!("/needs/{need}/events"), self.tok("root"))
            .await;
        r.expect(200)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|e| {
                (
                    e["action"].as_str().unwrap_or("").to_string(),
                    e["from_state"].as_str().unwrap_or("").to_string(),
                    e["to_state"].as_str().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Puts a president on duty today (and for a week).
    pub async fn on_duty(&self, president: &str) -> Value {
        let today = chrono::Utc::now()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .date_naive();
        let r = self
            .app
            .post(
                "/duty-roster",
                self.tok("admin_a"),
                json!({"user_id": self.users[president], "starts_on": today - chrono::Duration::days(1), "ends_on": today + chrono::Duration::days(6)}),
            )
            .await;
        r.expect(201).clone()
    }

    /// Runs one SLA sweep directly against the database.
    pub async fn sweep(&self) -> zhucan::service::sweep::SweepReport {
        let mut conn = self.app.db().await;
        zhucan::service::sweep::sweep(&mut conn)
            .await
            .expect("sweep")
    }
}

/// The ids of a list answer's items, in order.
pub fn item_ids(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["id"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The boundary of every multipart body the tests build.
pub const MULTIPART_BOUNDARY: &str = "zhucan-test-boundary-7MA4YWxkTrZu0gW";

/// A multipart/form-data body holding one file part named `field`, and its content type.
pub fn multipart_file(field: &str, filename: &str, content: &[u8]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(format!("--{MULTIPART_BOUNDARY}\r\n").as_bytes());
    body.extend_from_slice(
        format!("Content-Disposition: form-data; name=\"{field}\"; filename=\"{filename}\"\r\n")
            .as_bytes(),
    );
    body.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
        body,
    )
}

/// Posts a raw body with a content type.
pub async fn post_raw(w: &World, path: &str, who: &str, content_type: &str, body: Vec<u8>) -> Resp {
    let res = w
        .app
        .client
        .post(format!("{}/api/v1{}", w.app.base, path))
        .bearer_auth(w.tok(who))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("send");
    Resp::of(res).await
}

/// Uploads `content` as the multipart field `file`.
pub async fn upload(w: &World, path: &str, who: &str, filename: &str, content: &[u8]) -> Resp {
    post_raw(
        w,
        path,
        who,
        &format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
        multipart_file("file", filename, content).1,
    )
    .await
}

/// GETs a file: status, headers and the raw bytes (no BOM stripping).
pub async fn download(
    w: &World,
    path: &str,
    who: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let res = w
        .app
        .client
        .get(format!("{}/api/v1{path}", w.app.base))
        .bearer_auth(w.tok(who))
        .send()
        .await
        .expect("send");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body").to_vec();
    (status, headers, bytes)
}
