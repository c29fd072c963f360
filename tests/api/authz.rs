//! The authorization matrix. `tests/authz/matrix.toml` states, for every operation the app
//! serves × every subject (each role, a deployment admin, anonymous, an expired token) × every
//! relation of the target (own unit, sibling village, other town, other city, missing id), the
//! answer. These tests drive every cell over real HTTP against the fixture world and fail on any
//! mismatch, on any 404 of a foreign object that differs from the 404 of a missing one, and on
//! any operation the app serves that the matrix does not list.
//!
//! `ZHUCAN_AUTHZ_RECORD=1` writes what the app answers to `target/authz-observed.toml` (same
//! layout) instead of failing, for reviewing a change against the spec.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Mutex;

/// The subjects, in the matrix's order: fixture users, then no token, then an expired one.
pub const SUBJECTS: [&str; 13] = [
    "root",
    "admin_a",
    "president_a",
    "assoc_a",
    "auditor_a",
    "town_t1",
    "auditor_t1",
    "officer_t1",
    "site_t1",
    "village_v1",
    "helper_v1",
    "anon",
    "expired",
];

/// The relations of a target to the subjects (who sit in village V1 / town T1 / city A).
pub const RELATIONS: [&str; 5] = ["own", "sibling", "other_town", "other_city", "missing"];

/// The village each relation puts the target in (V1; V2 in the same town; V3 in town T2;
/// BV in city B; none).
const VILLAGE: [Option<&str>; 5] = [Some("v1"), Some("v2"), Some("v3"), Some("bv"), None];
const TOWN: [Option<&str>; 5] = [Some("t1"), Some("t1"), Some("t2"), Some("bt"), None];
const CITY: [Option<&str>; 5] = [
    Some("city_a"),
    Some("city_a"),
    Some("city_a"),
    Some("city_b"),
    None,
];

/// One expected or observed answer.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// The HTTP status.
    Status(u16),
    /// A list answered 200 and held the target.
    Listed,
    /// A list answered 200 without the target.
    Hidden,
    /// An import answered 200 and created the row.
    Created,
    /// An import answered 200 and refused the row.
    Invalid,
    /// No such relation for this target (e.g. a sibling village of a city-level campaign).
    NotApplicable,
}

impl Cell {
    fn parse(v: &toml::Value) -> Result<Cell, String> {
        match v {
            toml::Value::Integer(n) => u16::try_from(*n)
                .map(Cell::Status)
                .map_err(|_| format!("status {n}")),
            toml::Value::String(s) => match s.as_str() {
                "listed" => Ok(Cell::Listed),
                "hidden" => Ok(Cell::Hidden),
                "created" => Ok(Cell::Created),
                "invalid" => Ok(Cell::Invalid),
                "-" => Ok(Cell::NotApplicable),
                other => Err(format!("unknown cell {other:?}")),
            },
            other => Err(format!("unknown cell {other}")),
        }
    }
    fn render(&self) -> String {
        match self {
            Cell::Status(n) => n.to_string(),
            Cell::Listed => "\"listed\"".into(),
            Cell::Hidden => "\"hidden\"".into(),
            Cell::Created => "\"created\"".into(),
            Cell::Invalid => "\"invalid\"".into(),
            Cell::NotApplicable => "\"-\"".into(),
        }
    }
}

/// One operation of the matrix.
#[derive(Debug, Clone)]
struct Op {
    method: String,
    path: String,
    case: Option<String>,
    target: String,
    note: Option<String>,
    expect: HashMap<String, Vec<Cell>>,
}

impl Op {
    fn route(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
    fn label(&self) -> String {
        match &self.case {
            Some(c) => format!("{} [{c}]", self.route()),
            None => self.route(),
        }
    }
    fn shard(&self) -> &'static str {
        let p = self.path.as_str();
        if p.ends_with("/attachments") || p.starts_with("/api/v1/attachments") {
            "attachments"
        } else if p.starts_with("/api/v1/needs/{id}/actions") {
            "actions"
        } else if p.starts_with("/api/v1/needs") {
            "needs"
        } else if p.starts_with("/api/v1/persons") || p.starts_with("/api/v1/helpers") {
            "persons"
        } else if p.starts_with("/api/v1/auth/refresh")
            || p.starts_with("/api/v1/auth/logout")
            || p == "/api/v1/me/password"
        {
            "sessions"
        } else if p.starts_with("/api/v1/campaigns")
            || p.starts_with("/api/v1/donations")
            || p.starts_with("/api/v1/ledger")
            || p.starts_with("/api/v1/volunteer")
            || p.starts_with("/api/v1/service")
        {
            "resources"
        } else if p.starts_with("/api/v1/reports")
            || p.starts_with("/api/v1/sla")
            || p.starts_with("/api/v1/duty")
            || p.starts_with("/api/v1/audit")
            || p.starts_with("/api/v1/webhooks")
        {
            "city"
        } else {
            "org"
        }
    }
}

fn matrix_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/authz/matrix.toml")
}

fn load_matrix() -> Vec<Op> {
    let text = std::fs::read_to_string(matrix_path()).expect("read tests/authz/matrix.toml");
    let doc: toml::Table = text.parse().expect("matrix.toml parses");
    let ops = doc
        .get("op")
        .and_then(|v| v.as_array())
        .expect("[[op]] entries");
    let mut out = Vec::new();
    for (i, v) in ops.iter().enumerate() {
        let t = v.as_table().unwrap_or_else(|| panic!("op {i} is a table"));
        let s = |k: &str| t.get(k).and_then(|v| v.as_str()).map(String::from);
        let route = s("route").unwrap_or_else(|| panic!("op {i}: route"));
        let (method, path) = route
            .split_once(' ')
            .unwrap_or_else(|| panic!("op {i}: route is 'METHOD /path'"));
        let mut expect = HashMap::new();
        for subject in SUBJECTS {
            if let Some(arr) = t.get(subject).and_then(|v| v.as_array()) {
                let cells: Vec<Cell> = arr
                    .iter()
                    .map(|c| Cell::parse(c).unwrap_or_else(|e| panic!("{route} {subject}: {e}")))
                    .collect();
                assert_eq!(cells.len(), RELATIONS.len(), "{route} {subject}: 5 cells");
                expect.insert(subject.to_string(), cells);
            }
        }
        out.push(Op {
            method: method.to_string(),
            path: path.to_string(),
            case: s("case"),
            target: s("target").unwrap_or_else(|| panic!("{route}: target")),
            note: s("note"),
            expect,
        });
    }
    out
}

fn recording() -> bool {
    std::env::var("ZHUCAN_AUTHZ_RECORD").is_ok_and(|v| v == "1")
}

/// Targets that live at city level: no sibling village or other town of their own.
fn city_level(target: &str) -> bool {
    matches!(
        target,
        "campaign" | "donation" | "ledger_entry" | "roster_entry" | "city" | "webhook"
    )
}

/// Targets addressed by parent unit (a town): no sibling village.
fn town_level(target: &str) -> bool {
    matches!(target, "town")
}

/// Operations whose success uses the target up (the next cell needs a fresh one).
fn consumes(op: &Op) -> bool {
    op.method == "DELETE"
        || op.path.contains("/actions/")
        || op.path.ends_with("/reversal")
        || op.path == "/api/v1/auth/refresh"
        || op.path == "/api/v1/helpers/{id}/account"
}

/// Collection reads whose cells say whether the target is listed.
fn is_list(op: &Op) -> bool {
    op.method == "GET"
        && matches!(
            op.path.as_str(),
            "/api/v1/users"
                | "/api/v1/org-units"
                | "/api/v1/organizations"
                | "/api/v1/persons"
                | "/api/v1/helpers"
                | "/api/v1/needs"
                | "/api/v1/campaigns"
                | "/api/v1/donations"
                | "/api/v1/volunteer-teams"
                | "/api/v1/service-records"
                | "/api/v1/duty-roster"
                | "/api/v1/audit-log"
                | "/api/v1/webhooks"
                | "/api/v1/inbox"
        )
}

fn is_import(op: &Op) -> bool {
    op.path.ends_with("/import")
}

/// The fixture world plus what the matrix needs on top, and a cache of targets.
struct Ctx {
    w: World,
    extra_users: HashMap<&'static str, uuid::Uuid>,
    civil_bt: uuid::Uuid,
    n: AtomicU32,
    cache: Mutex<HashMap<(String, usize), String>>,
}

fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap_or("").to_string()
}

impl Ctx {
    async fn new() -> Ctx {
        let w = world().await;
        let mut conn = w.app.db().await;
        // a civil-affairs department in town BT, its officer, and a president in city B
        let civil_bt = id_of(
            w.app
                .post(
                    "/organizations",
                    w.tok("root"),
                    json!({"kind": "department", "name": "乙镇民政办", "org_unit_id": w.unit("bt"), "department_type": "civil_affairs"}),
                )
                .await
                .expect(201),
        )
        .parse()
        .expect("uuid");
        let assoc_b = {
            use diesel::{ExpressionMethods, QueryDsl};
            use diesel_async::RunQueryDsl;
            use zhucan::db::schema::organizations;
            organizations::table
                .filter(organizations::org_unit_id.eq(w.unit("city_b")))
                .filter(organizations::kind.eq("association"))
                .select(organizations::id)
                .first::<uuid::Uuid>(&mut conn)
                .await
                .expect("association of city B")
        };
        let hash = zhucan::auth::password::hash_blocking(PASSWORD).expect("hash");
        let mut extra_users = HashMap::new();
        for (name, role, org) in [
            (
                "officer_bt",
                zhucan::domain::roles::Role::DepartmentOfficer,
                civil_bt,
            ),
            (
                "president_b",
                zhucan::domain::roles::Role::President,
                assoc_b,
            ),
        ] {
            let id = zhucan::tools::seed::insert_user_with_hash(
                &mut conn,
                name,
                name,
                role,
                Some(org),
                Some(w.unit("city_b")),
                &hash,
            )
            .await
            .expect("user");
            extra_users.insert(name, id);
        }
        Ctx {
            w,
            extra_users,
            civil_bt,
            n: AtomicU32::new(100),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn next(&self) -> u32 {
        self.n.fetch_add(1, Ordering::SeqCst)
    }

    fn root(&self) -> &str {
        self.w.tok("root")
    }

    /// A token for a fixture or extra user.
    fn token(&self, who: &str) -> String {
        if let Some(t) = self.w.tokens.get(who) {
            return t.clone();
        }
        let id = self.extra_users[who];
        self.w.app.token_for(id)
    }

    /// The token a subject sends (None: anonymous).
    fn subject_token(&self, subject: &str) -> Option<String> {
        match subject {
            "anon" => None,
            "expired" => {
                let now = zhucan::auth::tokens::now_secs();
                let claims = json!({"sub": self.w.users["root"], "iss": "zhucan", "aud": "zhucan-api", "exp": now - 120, "nbf": now - 1000, "iat": now - 1000, "jti": uuid::Uuid::new_v4()});
                Some(
                    jsonwebtoken::encode(
                        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
                        &claims,
                        &jsonwebtoken::EncodingKey::from_secret(
                            b"zhucan-development-secret-do-not-use-in-production",
                        ),
                    )
                    .expect("sign"),
                )
            }
            who => Some(self.w.app.token_for(self.w.users[who])),
        }
    }

    /// The village staff user of a relation's village.
    fn village_user(rel: usize) -> &'static str {
        ["village_v1", "village_v2", "village_v3", "village_bv", ""][rel]
    }

    fn officer(rel: usize) -> &'static str {
        ["officer_t1", "officer_t1", "officer_t2", "officer_bt", ""][rel]
    }

    fn civil(&self, rel: usize) -> uuid::Uuid {
        match rel {
            0 | 1 => self.w.orgs["civil_t1"],
            2 => self.w.orgs["civil_t2"],
            _ => self.civil_bt,
        }
    }

    fn president(&self, rel: usize) -> uuid::Uuid {
        if rel == 3 {
            self.extra_users["president_b"]
        } else {
            self.w.users["president_a"]
        }
    }

    fn village(&self, rel: usize) -> String {
        VILLAGE[rel]
            .map(|v| self.w.unit(v).to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }

    fn town(&self, rel: usize) -> String {
        TOWN[rel]
            .map(|v| self.w.unit(v).to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }

    fn city(&self, rel: usize) -> String {
        CITY[rel]
            .map(|v| self.w.unit(v).to_string())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
    }

    /// Runs a need action as `who` with the current version; it must succeed.
    async fn step(&self, who: &str, need: &str, action: &str, body: Value) {
        let version = self.version(&format!("/needs/{need}")).await;
        let tok = self.token(who);
        let r = self
            .w
            .app
            .call_h(
                Method::POST,
                &format!("/needs/{need}/actions/{action}"),
                Some(&tok),
                Some(body),
                &[("If-Match", &format!("\"{version}\""))],
            )
            .await;
        r.expect(200);
    }

    async fn version(&self, path: &str) -> i64 {
        self.w.app.get(path, self.root()).await.body["version"]
            .as_i64()
            .unwrap_or(0)
    }

    /// A target of a kind at a relation (cached until an operation uses it up).
    async fn target(&self, kind: &str, rel: usize) -> String {
        if RELATIONS[rel] == "missing" {
            return uuid::Uuid::new_v4().to_string();
        }
        let key = (kind.to_string(), rel);
        if let Some(id) = self.cache.lock().await.get(&key) {
            return id.clone();
        }
        let id = Box::pin(self.make(kind, rel)).await;
        self.cache.lock().await.insert(key, id.clone());
        id
    }

    async fn forget(&self, kind: &str, rel: usize) {
        self.cache.lock().await.remove(&(kind.to_string(), rel));
    }

    /// Creates a fresh target (as the deployment admin, or the user whose step it is).
    async fn make(&self, kind: &str, rel: usize) -> String {
        let app = &self.w.app;
        let root = self.root();
        let vkey = VILLAGE[rel].unwrap_or("v1");
        match kind {
            "none" => String::new(),
            "village" => self.village(rel),
            "town" => self.town(rel),
            "city" => self.city(rel),
            "organization" => {
                let k = match vkey {
                    "v1" => "station_v1",
                    "v2" => "station_v2",
                    "v3" => "station_v3",
                    _ => "station_bv",
                };
                self.w.orgs[k].to_string()
            }
            "user" => {
                let n = self.next();
                let org = match vkey {
                    "v1" => "station_v1",
                    "v2" => "station_v2",
                    "v3" => "station_v3",
                    _ => "station_bv",
                };
                id_of(app.post("/users", root, json!({"username": format!("matrix_user_{n}"), "display_name": "矩阵用户", "role": "village_staff", "organization_id": self.w.orgs[org], "password": "long-enough-password"})).await.expect(201))
            }
            "person" => {
                let n = self.next();
                let p = id_of(app.post("/persons", root, json!({"name": format!("矩阵{n}"), "id_number": id_number(n), "disability_category": "physical", "disability_grade": 2, "village_id": self.village(rel)})).await.expect(201));
                if rel == 0 {
                    // a person of V1 is in helper_v1's contact group: what a helper sees
                    let members = Box::pin(self.group_helpers(rel)).await;
                    app.put(
                        &format!("/persons/{p}/contact-group"),
                        root,
                        json!({"helper_ids": members}),
                    )
                    .await
                    .expect(200);
                }
                p
            }
            "revealed_person" => {
                // a person whose ID number the deployment admin revealed: an audit-log row
                let p = Box::pin(self.make("person", rel)).await;
                app.get(&format!("/persons/{p}?reveal=id_number"), root)
                    .await
                    .expect(200);
                p
            }
            "audit_row" => {
                let p = Box::pin(self.make("revealed_person", rel)).await;
                let list = app.get(&format!("/audit-log?person_id={p}"), root).await;
                id_of(&list.expect(200)["items"][0])
            }
            "helper" => {
                let n = self.next();
                id_of(app.post("/helpers", root, json!({"name": format!("帮扶人{n}"), "kind": "volunteer", "village_id": self.village(rel)})).await.expect(201))
            }
            "team" => {
                let n = self.next();
                id_of(
                    app.post(
                        "/volunteer-teams",
                        root,
                        json!({"name": format!("志愿服务队{n}"), "org_unit_id": self.village(rel)}),
                    )
                    .await
                    .expect(201),
                )
            }
            "carrier" => {
                // the person needs are filed for (one per village)
                Box::pin(self.make("person", rel)).await
            }
            "need_reported" => {
                let p = Box::pin(self.target("carrier", rel)).await;
                id_of(app.post("/needs", root, json!({"person_id": p, "category": "assistive_device", "description": "需要一台轮椅", "confirm_duplicate": true})).await.expect(201))
            }
            "need_registered_policy" | "need_registered_social" => {
                let id = Box::pin(self.make("need_reported", rel)).await;
                let lp = if kind.ends_with("policy") {
                    "policy"
                } else {
                    "social"
                };
                self.step(
                    Self::village_user(rel),
                    &id,
                    "register",
                    json!({"loop": lp}),
                )
                .await;
                id
            }
            "need_referred" => {
                let id = Box::pin(self.make("need_registered_policy", rel)).await;
                self.step(
                    Self::village_user(rel),
                    &id,
                    "refer",
                    json!({"department_id": self.civil(rel)}),
                )
                .await;
                id
            }
            "need_in_progress_policy" => {
                let id = Box::pin(self.make("need_referred", rel)).await;
                self.step(Self::officer(rel), &id, "accept", json!({}))
                    .await;
                id
            }
            "need_escalated" => {
                let id = Box::pin(self.make("need_registered_social", rel)).await;
                self.step(
                    Self::village_user(rel),
                    &id,
                    "escalate",
                    json!({"reason": "村里解决不了"}),
                )
                .await;
                id
            }
            "need_in_progress_social" => {
                let id = Box::pin(self.make("need_registered_social", rel)).await;
                self.step(Self::village_user(rel), &id, "accept", json!({}))
                    .await;
                id
            }
            "need_resolved" => {
                let id = Box::pin(self.make("need_in_progress_social", rel)).await;
                self.step(
                    Self::village_user(rel),
                    &id,
                    "resolve",
                    json!({"outcome": "fulfilled", "resolution": "已送达轮椅"}),
                )
                .await;
                id
            }
            "service_record" => {
                let need = Box::pin(self.target("need_in_progress_social", rel)).await;
                let helper = Box::pin(self.target("helper", rel)).await;
                id_of(app.post("/service-records", root, json!({"helper_id": helper, "need_id": need, "served_on": "2026-11-20", "hours": 0.5})).await.expect(201))
            }
            "campaign" => {
                let n = self.next();
                let c = id_of(app.post("/campaigns", root, json!({"name": format!("温暖过冬{n}"), "kind": "themed", "starts_on": "2026-01-01", "ends_on": "2027-12-31", "city_id": self.city(rel)})).await.expect(201));
                app.post("/donations", root, json!({"campaign_id": c, "kind": "funds", "amount_fen": 1_000_000, "donor_name": "爱心企业", "channel": "transfer", "received_on": "2026-11-20"})).await.expect(201);
                c
            }
            "donation" | "ledger_entry" => {
                let c = Box::pin(self.target("campaign", rel)).await;
                let d = app.post("/donations", root, json!({"campaign_id": c, "kind": "funds", "amount_fen": 500, "donor_name": "张三", "channel": "offline", "received_on": "2026-11-20"})).await;
                let d = d.expect(201).clone();
                if kind == "donation" {
                    id_of(&d)
                } else {
                    d["ledger_entry_ids"][0]
                        .as_str()
                        .map(String::from)
                        .unwrap_or_else(|| panic!("donation answer names its ledger entry: {d}"))
                }
            }
            "roster_entry" => {
                let n = self.next() as i64;
                let start = chrono::NaiveDate::from_ymd_opt(2031, 1, 1).expect("date")
                    + chrono::Duration::days(10 * n);
                id_of(app.post("/duty-roster", root, json!({"user_id": self.president(rel), "starts_on": start, "ends_on": start + chrono::Duration::days(2), "city_id": self.city(rel)})).await.expect(201))
            }
            "notification" => {
                use diesel_async::RunQueryDsl;
                let id = uuid::Uuid::now_v7();
                let mut db = app.db().await;
                diesel::sql_query(format!(
                    "INSERT INTO notifications (id, user_id, city_id, kind, title) VALUES ('{id}', '{}', '{}', 'file', '新诉求待登记')",
                    self.w.users["village_v2"],
                    self.city(rel)
                ))
                .execute(&mut db)
                .await
                .expect("notification");
                id.to_string()
            }
            "webhook" => id_of(
                app.post("/webhooks", root, json!({"url": "https://203.0.113.10/hook", "events": ["*"], "city_id": self.city(rel)}))
                    .await
                    .expect(201),
            ),
            "attachment" => {
                // a certificate scan on the relation's reported need
                let need = Box::pin(self.target("need_reported", rel)).await;
                let n = self.next();
                let (ct, body) = multipart_file("file", "证明.pdf", format!("%PDF-1.4 matrix {n}").as_bytes());
                let r = app
                    .client
                    .post(format!("{}/api/v1/needs/{need}/attachments", app.base))
                    .bearer_auth(root)
                    .header("content-type", ct)
                    .body(body)
                    .send()
                    .await
                    .expect("upload");
                assert_eq!(r.status().as_u16(), 201, "attachment target");
                let v: Value = r.json().await.expect("json");
                id_of(&v)
            }
            other => panic!("unknown target kind {other}"),
        }
    }

    /// Three helpers of the relation's town, for a contact group.
    /// In V1 the first of them is helper_v1 itself, so a group set by any cell keeps the
    /// person in helper_v1's sight.
    async fn group_helpers(&self, rel: usize) -> Vec<String> {
        let mut out = Vec::new();
        if rel == 0 {
            out.push(self.w.helper_record("helper_v1").await.to_string());
        }
        for k in ["group_h1", "group_h2", "group_h3"] {
            if out.len() == 3 {
                break;
            }
            let key = (k.to_string(), rel);
            let cached = self.cache.lock().await.get(&key).cloned();
            let id = match cached {
                Some(id) => id,
                None => {
                    let id = self.make("helper", rel).await;
                    self.cache.lock().await.insert(key, id.clone());
                    id
                }
            };
            out.push(id);
        }
        out
    }
}

/// The request of one cell: method, path with query, body (JSON or raw multipart).
struct Req {
    method: Method,
    path: String,
    body: Option<Value>,
    raw: Option<(String, Vec<u8>)>,
    headers: Vec<(String, String)>,
}

async fn request(ctx: &Ctx, op: &Op, rel: usize, subject: &str) -> Req {
    let method = Method::from_bytes(op.method.as_bytes()).expect("method");
    let target = ctx.target(&op.target, rel).await;
    let mut path = op.path.replace("{id}", &target);
    if let Some(case) = &op.case {
        path = path.replace("{action}", case);
    }
    let mut body = None;
    let mut raw = None;
    let mut headers = Vec::new();
    let n = ctx.next();
    let village = ctx.village(rel);
    let city = ctx.city(rel);
    match (op.method.as_str(), op.path.as_str()) {
        ("POST", "/api/v1/auth/login") => {
            body = Some(json!({"username": "village_v2", "password": PASSWORD}));
        }
        ("POST", "/api/v1/auth/refresh") | ("POST", "/api/v1/auth/logout") => {
            // a live refresh token of the subject (or of village_v2 for the tokenless)
            let who = match subject {
                "anon" | "expired" => "village_v2",
                s => s,
            };
            let login = ctx.w.app.login(who).await;
            body = Some(json!({"refresh_token": login["refresh_token"]}));
        }
        ("POST", "/api/v1/me/password") => {
            body = Some(
                json!({"current_password": PASSWORD, "new_password": format!("{PASSWORD}-{n}")}),
            );
        }
        ("POST", "/api/v1/users") => {
            let org = match VILLAGE[rel] {
                Some("v1") => ctx.w.orgs["station_v1"].to_string(),
                Some("v2") => ctx.w.orgs["station_v2"].to_string(),
                Some("v3") => ctx.w.orgs["station_v3"].to_string(),
                Some(_) => ctx.w.orgs["station_bv"].to_string(),
                None => uuid::Uuid::new_v4().to_string(),
            };
            body = Some(
                json!({"username": format!("matrix_new_{n}"), "display_name": "新用户", "role": "village_staff", "organization_id": org, "password": "long-enough-password"}),
            );
        }
        ("PATCH", "/api/v1/users/{id}") => {
            body = Some(json!({"display_name": format!("改名{n}")}));
        }
        ("GET", "/api/v1/users") => path.push_str("?limit=200"),
        ("POST", "/api/v1/org-units") => {
            let code = match TOWN[rel] {
                Some("t1") => format!("370883001{:03}", 100 + n % 900),
                Some("t2") => format!("370883100{:03}", 100 + n % 900),
                Some(_) => format!("370881100{:03}", 100 + n % 900),
                None => format!("370883999{:03}", 100 + n % 900),
            };
            body = Some(
                json!({"kind": "village", "name": format!("新村{n}"), "code": code, "parent_id": ctx.town(rel)}),
            );
        }
        ("GET", "/api/v1/org-units") | ("GET", "/api/v1/organizations") => {
            path.push_str("?limit=200")
        }
        ("POST", "/api/v1/organizations") => {
            body = Some(
                json!({"kind": "department", "name": format!("部门{n}"), "org_unit_id": ctx.town(rel), "department_type": "other"}),
            );
        }
        ("POST", "/api/v1/persons") => {
            body = Some(
                json!({"name": format!("新登记{n}"), "id_number": id_number(n), "disability_category": "hearing", "disability_grade": 3, "village_id": village}),
            );
        }
        ("POST", "/api/v1/helpers/{id}/account") => {
            body = Some(
                json!({"username": format!("helper_account_{n}"), "password": "long-enough-password"}),
            );
        }
        ("PATCH", "/api/v1/persons/{id}") | ("PATCH", "/api/v1/helpers/{id}") => {
            let version = ctx.version(&op.path.replace("{id}", &target)).await;
            headers.push(("If-Match".into(), format!("\"{version}\"")));
            body = Some(json!({"phone": format!("1380000{:04}", n % 10000)}));
        }
        ("GET", "/api/v1/persons/{id}") if op.case.as_deref() == Some("reveal") => {
            path.push_str("?reveal=id_number");
        }
        ("PUT", "/api/v1/persons/{id}/contact-group") => {
            let helpers = ctx.group_helpers(rel.min(3)).await;
            body = Some(json!({"helper_ids": helpers}));
        }
        ("POST", "/api/v1/persons/{id}/visits") => {
            // a signed-in helper records its own visit (naming another helper is 422)
            body = Some(if subject == "helper_v1" {
                json!({"notes": "上门走访"})
            } else {
                let helper = ctx.target("helper", rel.min(3)).await;
                json!({"helper_id": helper, "notes": "上门走访"})
            });
        }
        ("POST", "/api/v1/persons/import") => {
            let code = match VILLAGE[rel] {
                Some(v) => ctx.w.units[v].code.clone(),
                None => "370883999999".into(),
            };
            let csv = format!(
                "name,id_number,disability_category,disability_grade,village_code\n导入{n},{},physical,2,{code}\n",
                id_number(n)
            );
            raw = Some(multipart_file("file", "persons.csv", csv.as_bytes()));
        }
        ("POST", "/api/v1/needs/{id}/attachments")
        | ("POST", "/api/v1/persons/{id}/attachments") => {
            raw = Some(multipart_file(
                "file",
                "证明.pdf",
                format!("%PDF-1.4 cell {n}").as_bytes(),
            ));
        }
        ("POST", "/api/v1/helpers/import") => {
            let code = match VILLAGE[rel] {
                Some(v) => ctx.w.units[v].code.clone(),
                None => "370883999999".into(),
            };
            let csv = format!("name,kind,village_code\n导入帮扶人{n},volunteer,{code}\n");
            raw = Some(multipart_file("file", "helpers.csv", csv.as_bytes()));
        }
        ("GET", "/api/v1/persons") | ("GET", "/api/v1/helpers") | ("GET", "/api/v1/needs") => {
            path.push_str("?limit=200")
        }
        ("POST", "/api/v1/helpers") => {
            body = Some(
                json!({"name": format!("新帮扶人{n}"), "kind": "party_member", "village_id": village}),
            );
        }
        ("POST", "/api/v1/needs") => {
            let person = match VILLAGE[rel] {
                Some(_) => ctx.target("carrier", rel).await,
                None => uuid::Uuid::new_v4().to_string(),
            };
            body = Some(
                json!({"person_id": person, "category": "medical", "description": "需要陪诊", "confirm_duplicate": true}),
            );
        }
        ("POST", "/api/v1/needs/{id}/actions/{action}") => {
            let version = if RELATIONS[rel] == "missing" {
                1
            } else {
                ctx.version(&format!("/needs/{target}")).await
            };
            headers.push(("If-Match".into(), format!("\"{version}\"")));
            let r = rel.min(3);
            body = Some(match op.case.as_deref().unwrap_or("") {
                "register" => json!({"loop": "social"}),
                "refer" => json!({"department_id": ctx.civil(r)}),
                "accept" => json!({}),
                "return" => json!({"reason": "不属于本部门"}),
                "assign" => {
                    json!({"assignee_user_id": ctx.w.users.get(Ctx::village_user(r)).copied()})
                }
                "escalate" | "reroute" | "withdraw" => json!({"reason": "需要上级协调"}),
                "resolve" => json!({"outcome": "fulfilled", "resolution": "已办结"}),
                "verify" => json!({"satisfied": true, "satisfaction": 5, "note": "满意"}),
                "comment" => json!({"text": "已电话联系"}),
                _ => json!({}),
            });
        }
        ("POST", "/api/v1/needs/{id}/allocations") => {
            let campaign = ctx.target("campaign", if rel == 3 { 3 } else { 0 }).await;
            body = Some(json!({"campaign_id": campaign, "kind": "funds", "amount_fen": 100}));
        }
        ("GET", "/api/v1/donations") => {
            let campaign = ctx.target("campaign", rel).await;
            path.push_str(&format!("?limit=200&campaign_id={campaign}"));
        }
        ("GET", "/api/v1/service-records") => path.push_str("?limit=200"),
        ("GET", "/api/v1/campaigns")
        | ("GET", "/api/v1/volunteer-teams")
        | ("GET", "/api/v1/duty-roster") => {
            path.push_str("?limit=200");
            if subject == "root" {
                path.push_str(&format!("&city_id={city}"));
            }
        }
        ("POST", "/api/v1/campaigns") => {
            let mut b = json!({"name": format!("新活动{n}"), "kind": "special", "starts_on": "2026-01-01", "ends_on": "2026-12-31"});
            if subject == "root" || rel == 3 || rel == 4 {
                b["city_id"] = json!(city);
            }
            body = Some(b);
        }
        ("POST", "/api/v1/donations") => {
            let campaign = ctx.target("campaign", rel).await;
            body = Some(
                json!({"campaign_id": campaign, "kind": "funds", "amount_fen": 300, "donor_name": "李四", "channel": "online_platform", "received_on": "2026-11-21"}),
            );
        }
        ("POST", "/api/v1/volunteer-teams") => {
            body = Some(json!({"name": format!("新队{n}"), "org_unit_id": village}));
        }
        ("POST", "/api/v1/service-records") => {
            let (need, helper) = match VILLAGE[rel] {
                Some(_) => (
                    ctx.target("need_in_progress_social", rel).await,
                    ctx.target("helper", rel).await,
                ),
                None => (
                    uuid::Uuid::new_v4().to_string(),
                    uuid::Uuid::new_v4().to_string(),
                ),
            };
            body = Some(
                json!({"helper_id": helper, "need_id": need, "served_on": "2026-11-21", "hours": 0.5}),
            );
        }
        ("GET", "/api/v1/sla-policies") | ("GET", "/api/v1/duty-roster/current") => {
            path.push_str(&format!("?city_id={city}"));
        }
        ("PUT", "/api/v1/sla-policies") => {
            let current = ctx
                .w
                .app
                .get(
                    &format!("/sla-policies?city_id={}", ctx.city(rel.min(3))),
                    ctx.root(),
                )
                .await;
            body = Some(json!({"city_id": city, "policies": current.body["policies"]}));
        }
        ("POST", "/api/v1/duty-roster") => {
            let start = chrono::NaiveDate::from_ymd_opt(2041, 1, 1).expect("date")
                + chrono::Duration::days(10 * n as i64);
            body = Some(
                json!({"user_id": ctx.president(rel.min(3)), "starts_on": start, "ends_on": start + chrono::Duration::days(3), "city_id": city}),
            );
        }
        ("PATCH", "/api/v1/duty-roster/{id}") => {
            body = Some(json!({"ends_on": "2045-12-31"}));
        }
        ("GET", p) if p.starts_with("/api/v1/reports/") => {
            path.push_str(&format!("?org_unit_id={target}"));
        }
        ("GET", "/api/v1/audit-log") => {
            path.push_str("?limit=200");
        }
        ("GET", "/api/v1/webhooks") => {
            path.push_str("?limit=200");
            if subject == "root" {
                path.push_str(&format!("&city_id={city}"));
            }
        }
        ("POST", "/api/v1/webhooks") => {
            let mut b = json!({"url": "https://203.0.113.10/hook", "events": ["file"]});
            if subject == "root" || rel == 3 || rel == 4 {
                b["city_id"] = json!(city);
            }
            body = Some(b);
        }
        ("POST", "/api/v1/ledger-entries/{id}/reversal") => {
            body = Some(json!({"reason": "录入错误"}));
        }
        _ => {}
    }
    Req {
        method,
        path,
        body,
        raw,
        headers,
    }
}

/// Sends a cell's request as a subject.
async fn send(ctx: &Ctx, req: &Req, subject: &str) -> Resp {
    let token = ctx.subject_token(subject);
    let app = &ctx.w.app;
    if let Some((ct, bytes)) = &req.raw {
        let mut r = app
            .client
            .request(req.method.clone(), format!("{}{}", app.base, req.path))
            .header("content-type", ct.as_str())
            .body(bytes.clone());
        if let Some(t) = &token {
            r = r.bearer_auth(t);
        }
        return Resp::of(r.send().await.expect("send")).await;
    }
    let hdrs: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.call_h(
        req.method.clone(),
        &req.path,
        token.as_deref(),
        req.body.clone(),
        &hdrs,
    )
    .await
}

/// Whether a list (all of its pages) holds an id.
async fn list_holds(ctx: &Ctx, first: &Resp, req: &Req, subject: &str, id: &str) -> bool {
    let mut page = first.body.clone();
    let mut guard = 0;
    loop {
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.iter().any(|i| i["id"].as_str() == Some(id)) {
            return true;
        }
        let Some(cursor) = page["next_cursor"].as_str().map(String::from) else {
            return false;
        };
        guard += 1;
        assert!(guard < 100, "{}: endless paging", req.path);
        let sep = if req.path.contains('?') { '&' } else { '?' };
        let next = Req {
            method: Method::GET,
            path: format!("{}{sep}cursor={cursor}", req.path),
            body: None,
            raw: None,
            headers: vec![],
        };
        page = send(ctx, &next, subject).await.body;
    }
}

/// A 404 body with the path's ids blanked, to compare foreign with missing.
fn normalized(body: &Value, ids: &[&str]) -> String {
    let mut s = body.to_string();
    for id in ids {
        if !id.is_empty() {
            s = s.replace(id, "<id>");
        }
    }
    s
}

/// Drives every cell of the operations of one shard; returns the mismatches.
async fn run_shard(shard: &str) -> (Vec<String>, Vec<(Op, HashMap<String, Vec<Cell>>)>, usize) {
    let ops: Vec<Op> = load_matrix()
        .into_iter()
        .filter(|o| o.shard() == shard)
        .collect();
    assert!(!ops.is_empty(), "no operations in shard {shard}");
    let ctx = Ctx::new().await;
    let mut failures = Vec::new();
    let mut observed_all = Vec::new();
    let mut cells = 0;
    for op in &ops {
        let mut observed: HashMap<String, Vec<Cell>> = HashMap::new();
        for subject in SUBJECTS {
            let mut row = vec![Cell::NotApplicable; RELATIONS.len()];
            let mut missing_404: Option<String> = None;
            // the missing id first, so foreign 404s can be compared with it
            for rel in [4, 0, 1, 2, 3] {
                let na = (op.target == "none" && rel != 0)
                    || (city_level(&op.target) && (rel == 1 || rel == 2))
                    || (town_level(&op.target) && rel == 1)
                    || (is_list(op) && rel == 4)
                    || (op.method == "POST"
                        && !op.path.contains("{id}")
                        && city_level_create(op)
                        && (rel == 1 || rel == 2))
                    || (op.method == "POST" && op.path == "/api/v1/org-units" && rel == 1)
                    || (op.method == "POST" && op.path == "/api/v1/organizations" && rel == 1);
                if na {
                    continue;
                }
                let req = request(&ctx, op, rel, subject).await;
                let target = if RELATIONS[rel] == "missing" {
                    String::new()
                } else {
                    ctx.target(&op.target, rel).await
                };
                let resp = send(&ctx, &req, subject).await;
                cells += 1;
                let status = resp.status.as_u16();
                assert!(
                    status < 500,
                    "{} as {subject} on {}: server error {}",
                    op.label(),
                    RELATIONS[rel],
                    resp.text
                );
                let cell = if status == 200 && is_list(op) {
                    if list_holds(&ctx, &resp, &req, subject, &target).await {
                        Cell::Listed
                    } else {
                        Cell::Hidden
                    }
                } else if status == 200 && is_import(op) {
                    if resp.body["created"].as_i64() == Some(1) {
                        Cell::Created
                    } else {
                        Cell::Invalid
                    }
                } else {
                    Cell::Status(status)
                };
                // foreign objects answer exactly like missing ones
                if status == 404 && op.path.contains("{id}") {
                    let path_ids: Vec<&str> = req.path.split(['/', '?', '=', '&']).collect();
                    let norm = normalized(&resp.body, &path_ids);
                    match (&missing_404, rel) {
                        (None, 4) => missing_404 = Some(norm),
                        (Some(m), r) if r != 4 && *m != norm => failures.push(format!(
                            "{} as {subject}: the 404 for {} differs from the missing id's: {} vs {m}",
                            op.label(),
                            RELATIONS[rel],
                            norm
                        )),
                        _ => {}
                    }
                }
                if (200..300).contains(&status) && consumes(op) && RELATIONS[rel] != "missing" {
                    ctx.forget(&op.target, rel).await;
                }
                row[rel] = cell;
            }
            if !recording() {
                match op.expect.get(subject) {
                    None => failures.push(format!("{}: no row for {subject}", op.label())),
                    Some(want) => {
                        for rel in 0..RELATIONS.len() {
                            if want[rel] != row[rel] {
                                failures.push(format!(
                                    "{} as {subject} on {}: expected {}, got {}",
                                    op.label(),
                                    RELATIONS[rel],
                                    want[rel].render(),
                                    row[rel].render()
                                ));
                            }
                        }
                    }
                }
            }
            observed.insert(subject.to_string(), row);
        }
        observed_all.push((op.clone(), observed));
    }
    (failures, observed_all, cells)
}

/// POSTs to collections whose target is a city (campaigns, donations, duty roster).
fn city_level_create(op: &Op) -> bool {
    matches!(
        op.path.as_str(),
        "/api/v1/campaigns" | "/api/v1/donations" | "/api/v1/duty-roster" | "/api/v1/sla-policies"
    )
}

fn render_op(op: &Op, observed: &HashMap<String, Vec<Cell>>) -> String {
    let mut s = String::from("[[op]]\n");
    s.push_str(&format!("route = \"{}\"\n", op.route()));
    if let Some(c) = &op.case {
        s.push_str(&format!("case = \"{c}\"\n"));
    }
    s.push_str(&format!("target = \"{}\"\n", op.target));
    if let Some(n) = &op.note {
        s.push_str(&format!("note = \"{n}\"\n"));
    }
    s.push_str("#             own, sibling, other_town, other_city, missing\n");
    for subject in SUBJECTS {
        let row = &observed[subject];
        let cells: Vec<String> = row.iter().map(Cell::render).collect();
        s.push_str(&format!("{subject:<11} = [{}]\n", cells.join(", ")));
    }
    s
}

async fn check(shard: &str) {
    let (failures, observed, cells) = run_shard(shard).await;
    if recording() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/authz-observed");
        std::fs::create_dir_all(&dir).expect("dir");
        let text: Vec<String> = observed.iter().map(|(o, c)| render_op(o, c)).collect();
        std::fs::write(dir.join(format!("{shard}.toml")), text.join("\n")).expect("write");
    }
    eprintln!("authorization matrix, shard {shard}: {cells} cells driven");
    assert!(
        failures.is_empty(),
        "{} mismatches in shard {shard}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn matrix_org_users_and_auth() {
    check("org").await;
}

#[tokio::test]
async fn matrix_sessions() {
    check("sessions").await;
}

#[tokio::test]
async fn matrix_persons_and_helpers() {
    check("persons").await;
}

#[tokio::test]
async fn matrix_attachments() {
    check("attachments").await;
}

#[tokio::test]
async fn matrix_needs() {
    check("needs").await;
}

#[tokio::test]
async fn matrix_need_actions() {
    check("actions").await;
}

#[tokio::test]
async fn matrix_resources() {
    check("resources").await;
}

#[tokio::test]
async fn matrix_city_reports_roster_and_audit() {
    check("city").await;
}

/// Every operation the app serves is in the matrix, and the matrix lists nothing the app does
/// not serve; every action of the state machine has its own case.
#[test]
fn the_matrix_lists_every_operation_the_app_serves() {
    let ops = load_matrix();
    let listed: std::collections::BTreeSet<String> = ops.iter().map(Op::route).collect();
    let served: std::collections::BTreeSet<String> = zhucan::http::routes::ROUTE_TABLE
        .iter()
        .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
        .collect();
    let unlisted: Vec<_> = served.difference(&listed).collect();
    let unknown: Vec<_> = listed.difference(&served).collect();
    assert!(
        unlisted.is_empty(),
        "served but not in tests/authz/matrix.toml: {unlisted:?}"
    );
    assert!(
        unknown.is_empty(),
        "in the matrix but not served: {unknown:?}"
    );
    let cases: std::collections::BTreeSet<&str> = ops
        .iter()
        .filter(|o| o.path.ends_with("{action}"))
        .filter_map(|o| o.case.as_deref())
        .collect();
    for action in [
        "register", "refer", "accept", "return", "assign", "escalate", "reroute", "resolve",
        "verify", "withdraw", "comment",
    ] {
        assert!(cases.contains(action), "no matrix case for action {action}");
    }
    for op in &ops {
        for subject in SUBJECTS {
            assert!(
                op.expect.contains_key(subject),
                "{}: no row for {subject}",
                op.label()
            );
        }
    }
}
