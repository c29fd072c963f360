//! `zhucan seed --synthetic`: a realistic deployment for load and scale work, generated in
//! memory and bulk-loaded with COPY, table by table, with progress on stderr.
//!
//! Every row keeps the model's invariants: contact groups of three helpers of the person's town
//! (90% of persons; the rest incomplete), needs whose version equals their state-changing events
//! and whose events replay to their state with a valid hash chain, ledgers that balance.

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, SubsecRound, Utc};
use futures_util::SinkExt;
use serde_json::json;
use std::fmt::Write as _;
use std::time::Instant;
use uuid::Uuid;

use crate::domain::resident_id::{make_valid, DisabilityCategory, ResidentId};
use crate::needs::{default_hours, event_hash, EventRow};
use crate::pii::PiiCipher;

/// What to build.
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Cities.
    pub cities: usize,
    /// Persons in all.
    pub persons: usize,
    /// Needs per person (the issue's city benchmark uses 5).
    pub needs_per_person: f64,
    /// Persons per village (Zoucheng: about 100).
    pub persons_per_village: usize,
}

/// What was built.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Rows per table, in load order.
    pub rows: Vec<(&'static str, usize)>,
    /// Seconds in all.
    pub seconds: f64,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() % 1_000_000) as f64 / 1_000_000.0 < p
    }
}

/// A COPY text-format row builder.
struct Copy {
    buf: String,
    rows: usize,
}

impl Copy {
    fn new() -> Self {
        Copy {
            buf: String::with_capacity(1 << 20),
            rows: 0,
        }
    }
    fn field(&mut self, v: &str) {
        if !self.buf.is_empty() && !self.buf.ends_with('\n') {
            self.buf.push('\t');
        }
        for ch in v.chars() {
            match ch {
                '\\' => self.buf.push_str("\\\\"),
                '\t' => self.buf.push_str("\\t"),
                '\n' => self.buf.push_str("\\n"),
                '\r' => self.buf.push_str("\\r"),
                c => self.buf.push(c),
            }
        }
    }
    fn null(&mut self) {
        if !self.buf.is_empty() && !self.buf.ends_with('\n') {
            self.buf.push('\t');
        }
        self.buf.push_str("\\N");
    }
    fn opt(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.field(v),
            None => self.null(),
        }
    }
    fn bytes(&mut self, b: &[u8]) {
        let mut hex = String::with_capacity(2 + b.len() * 2);
        hex.push_str("\\x");
        for x in b {
            let _ = write!(hex, "{x:02x}");
        }
        self.field(&hex);
    }
    fn end(&mut self) {
        self.buf.push('\n');
        self.rows += 1;
    }
}

/// Streams rows into a table with COPY, in chunks of about a megabyte.
struct Loader<'a> {
    client: &'a tokio_postgres::Client,
    summary: &'a mut Summary,
}

impl Loader<'_> {
    async fn copy(
        &mut self,
        table: &'static str,
        columns: &str,
        mut fill: impl FnMut(&mut Copy) -> bool,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let sink = self
            .client
            .copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))
            .await?;
        futures_util::pin_mut!(sink);
        let mut total = 0;
        loop {
            let mut c = Copy::new();
            let mut more = true;
            while c.buf.len() < (1 << 20) {
                if !fill(&mut c) {
                    more = false;
                    break;
                }
            }
            total += c.rows;
            if !c.buf.is_empty() {
                sink.send(Bytes::from(c.buf)).await?;
            }
            if !more {
                break;
            }
        }
        sink.finish().await?;
        eprintln!(
            "  {table:<24} {total:>10} rows  {:>6.1}s",
            started.elapsed().as_secs_f64()
        );
        self.summary.rows.push((table, total));
        Ok(())
    }
}

/// A unit with its kind, parent, city and town, ready for COPY.
type UnitLine<'a> = (&'a Unit, &'a str, Option<Uuid>, Uuid, Option<Uuid>);

struct Unit {
    id: Uuid,
    code: String,
    name: String,
    city: usize,
    town: Option<usize>,
}

fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string()
}

/// Builds the deployment. The database must be migrated and should be empty of synthetic data.
pub async fn run(
    url: &str,
    p: Params,
    pii: &PiiCipher,
    password_hash: &str,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("synthetic: connection: {e}");
        }
    });
    client.batch_execute("SET synchronous_commit = off").await?;
    let mut summary = Summary::default();
    let mut rng = Rng(0x5EED_2026_1128);
    let villages_per_town =
        (p.persons / p.cities.max(1) / 16 / p.persons_per_village.max(1)).clamp(1, 999);
    let now = Utc::now().trunc_subsecs(6);
    eprintln!(
        "synthetic: {} cities x 16 towns x {villages_per_town} villages, {} persons, {:.1} needs per person",
        p.cities, p.persons, p.needs_per_person
    );

    // ---- the tree
    let mut cities = Vec::new();
    let mut towns = Vec::new();
    let mut villages = Vec::new();
    for c in 0..p.cities {
        let prefix = format!("3{:05}", c + 1);
        cities.push(Unit {
            id: Uuid::now_v7(),
            code: format!("{prefix}000000"),
            name: format!("合成市{}", c + 1),
            city: c,
            town: None,
        });
        for t in 0..16 {
            let ti = towns.len();
            towns.push(Unit {
                id: Uuid::now_v7(),
                code: format!("{prefix}{:03}000", t + 1),
                name: format!("合成市{}第{}镇", c + 1, t + 1),
                city: c,
                town: None,
            });
            for v in 0..villages_per_town {
                villages.push(Unit {
                    id: Uuid::now_v7(),
                    code: format!("{prefix}{:03}{:03}", t + 1, v + 1),
                    name: format!("第{}村", v + 1),
                    city: c,
                    town: Some(ti),
                });
            }
        }
    }
    let mut loader = Loader {
        client: &client,
        summary: &mut summary,
    };
    {
        let all: Vec<UnitLine<'_>> = cities
            .iter()
            .map(|u| (u, "city", None, u.id, None))
            .chain(towns.iter().map(|u| {
                (
                    u,
                    "town",
                    Some(cities[u.city].id),
                    cities[u.city].id,
                    Some(u.id),
                )
            }))
            .chain(villages.iter().map(|u| {
                let t = &towns[u.town.unwrap_or(0)];
                (u, "village", Some(t.id), cities[u.city].id, Some(t.id))
            }))
            .collect();
        let mut it = all.iter();
        loader
            .copy(
                "org_units",
                "id, kind, name, code, parent_id, city_id, town_id",
                |c| match it.next() {
                    None => false,
                    Some((u, kind, parent, city, town)) => {
                        c.field(&u.id.to_string());
                        c.field(kind);
                        c.field(&u.name);
                        c.field(&u.code);
                        c.opt(parent.map(|x| x.to_string()).as_deref());
                        c.field(&city.to_string());
                        c.opt(town.map(|x| x.to_string()).as_deref());
                        c.end();
                        true
                    }
                },
            )
            .await?;
    }
    let mut it = cities.iter();
    loader
        .copy("city_settings", "city_id", |c| match it.next() {
            None => false,
            Some(u) => {
                c.field(&u.id.to_string());
                c.end();
                true
            }
        })
        .await?;

    // ---- organisations: per city association + 残联; per town centre, 民政办, site; per village station + 村残协
    struct Org {
        id: Uuid,
        kind: &'static str,
        unit: Uuid,
        city: Uuid,
        dept: Option<&'static str>,
        site: Option<&'static str>,
    }
    let mut orgs: Vec<Org> = Vec::new();
    let mut assoc = Vec::new();
    let mut town_orgs = Vec::new(); // (centre, civil, site)
    let mut village_orgs = Vec::new(); // (station, vdpf)
    for u in &cities {
        let a = Uuid::now_v7();
        orgs.push(Org {
            id: a,
            kind: "association",
            unit: u.id,
            city: u.id,
            dept: None,
            site: None,
        });
        orgs.push(Org {
            id: Uuid::now_v7(),
            kind: "dpf",
            unit: u.id,
            city: u.id,
            dept: None,
            site: None,
        });
        assoc.push(a);
    }
    for u in &towns {
        let city = cities[u.city].id;
        let (centre, civil, site) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        orgs.push(Org {
            id: centre,
            kind: "town_centre",
            unit: u.id,
            city,
            dept: None,
            site: None,
        });
        orgs.push(Org {
            id: civil,
            kind: "department",
            unit: u.id,
            city,
            dept: Some("civil_affairs"),
            site: None,
        });
        orgs.push(Org {
            id: site,
            kind: "extension_site",
            unit: u.id,
            city,
            dept: None,
            site: Some("rukang_home"),
        });
        town_orgs.push((centre, civil, site));
    }
    for u in &villages {
        let city = cities[u.city].id;
        let (station, vdpf) = (Uuid::now_v7(), Uuid::now_v7());
        orgs.push(Org {
            id: station,
            kind: "village_station",
            unit: u.id,
            city,
            dept: None,
            site: None,
        });
        orgs.push(Org {
            id: vdpf,
            kind: "village_dpf",
            unit: u.id,
            city,
            dept: None,
            site: None,
        });
        village_orgs.push((station, vdpf));
    }
    let mut it = orgs.iter();
    loader
        .copy(
            "organizations",
            "id, kind, name, org_unit_id, city_id, department_type, site_type",
            |c| match it.next() {
                None => false,
                Some(o) => {
                    c.field(&o.id.to_string());
                    c.field(o.kind);
                    c.field(o.kind);
                    c.field(&o.unit.to_string());
                    c.field(&o.city.to_string());
                    c.opt(o.dept);
                    c.opt(o.site);
                    c.end();
                    true
                }
            },
        )
        .await?;

    // ---- users: per city an admin and two presidents; per town staff and an officer; per village staff
    let mut users: Vec<(Uuid, String, &'static str, Uuid, Uuid)> = Vec::new();
    let mut presidents = Vec::new();
    for (i, u) in cities.iter().enumerate() {
        users.push((
            Uuid::now_v7(),
            format!("s{}_admin", u.code),
            "admin",
            orgs[i * 2 + 1].id,
            u.id,
        ));
        for k in 0..2 {
            let id = Uuid::now_v7();
            users.push((
                id,
                format!("s{}_president{k}", u.code),
                "president",
                assoc[i],
                u.id,
            ));
            if k == 0 {
                presidents.push(id);
            }
        }
    }
    let mut town_users = Vec::new();
    for (i, u) in towns.iter().enumerate() {
        let city = cities[u.city].id;
        let (staff, officer) = (Uuid::now_v7(), Uuid::now_v7());
        users.push((
            staff,
            format!("s{}_staff", &u.code[..9]),
            "town_staff",
            town_orgs[i].0,
            city,
        ));
        users.push((
            officer,
            format!("s{}_civil", &u.code[..9]),
            "department_officer",
            town_orgs[i].1,
            city,
        ));
        town_users.push((staff, officer));
    }
    let mut village_users = Vec::new();
    for (i, u) in villages.iter().enumerate() {
        let id = Uuid::now_v7();
        users.push((
            id,
            format!("s{}", u.code),
            "village_staff",
            village_orgs[i].0,
            cities[u.city].id,
        ));
        village_users.push(id);
    }
    let mut it = users.iter();
    loader
        .copy(
            "users",
            "id, username, display_name, role, organization_id, city_id, password_hash",
            |c| match it.next() {
                None => false,
                Some((id, name, role, org, city)) => {
                    c.field(&id.to_string());
                    c.field(name);
                    c.field(name);
                    c.field(role);
                    c.field(&org.to_string());
                    c.field(&city.to_string());
                    c.field(password_hash);
                    c.end();
                    true
                }
            },
        )
        .await?;

    // ---- persons, village by village, with their helpers and contact groups
    let per_village = p.persons.div_ceil(villages.len().max(1));
    let helpers_per_village = (per_village * 3).div_ceil(10) + 2;
    let mut helper_ids: Vec<Vec<Uuid>> = Vec::with_capacity(villages.len());
    {
        let mut vi = 0usize;
        let mut k = 0usize;
        let mut ids = Vec::new();
        loader
            .copy(
                "helpers",
                "id, city_id, town_id, village_id, name, kind",
                |c| {
                    if vi >= villages.len() {
                        return false;
                    }
                    let v = &villages[vi];
                    let id = Uuid::now_v7();
                    ids.push(id);
                    c.field(&id.to_string());
                    c.field(&cities[v.city].id.to_string());
                    c.field(&towns[v.town.unwrap_or(0)].id.to_string());
                    c.field(&v.id.to_string());
                    c.field(&format!("志愿者{k}"));
                    c.field(["village_cadre", "volunteer", "party_member", "grid_worker"][k % 4]);
                    c.end();
                    k += 1;
                    if k == helpers_per_village {
                        helper_ids.push(std::mem::take(&mut ids));
                        k = 0;
                        vi += 1;
                    }
                    true
                },
            )
            .await?;
    }
    // persons: (id, village index, created_at)
    let mut persons: Vec<(Uuid, u32)> = Vec::with_capacity(p.persons);
    let base = NaiveDate::from_ymd_opt(1940, 1, 1).unwrap_or_default();
    {
        let mut i = 0usize;
        let cats = DisabilityCategory::ALL;
        loader
            .copy(
                "persons",
                "id, city_id, town_id, village_id, name, id_number_enc, id_number_hash, id_number_masked, disability_category, \
                 disability_grade, birth_date, gender, phone, status, group_size, last_visited_at",
                |c| {
                    if i >= p.persons {
                        return false;
                    }
                    let vi = (i / per_village).min(villages.len() - 1);
                    let v = &villages[vi];
                    let birth = base + Duration::days((i / 1000) as i64 % 25_000);
                    let raw = make_valid("370883", birth, (i % 1000) as u16);
                    let Ok(rid) = ResidentId::parse_at(&raw, now.date_naive()) else {
                        i += 1;
                        return true;
                    };
                    let id = Uuid::now_v7();
                    let complete = i % 10 != 9;
                    c.field(&id.to_string());
                    c.field(&cities[v.city].id.to_string());
                    c.field(&towns[v.town.unwrap_or(0)].id.to_string());
                    c.field(&v.id.to_string());
                    c.field(&format!("残疾人{i}"));
                    c.bytes(&pii.seal(id, "id_number", rid.expose()));
                    c.bytes(&pii.blind_index(rid.expose()));
                    c.field(&rid.masked());
                    c.field(cats[i % 7].as_str());
                    c.field(&(1 + i % 4).to_string());
                    c.field(&rid.birth_date().to_string());
                    c.field(rid.gender().as_str());
                    c.field(&format!("138{:08}", i % 100_000_000));
                    c.field("active");
                    c.field(if complete { "3" } else { "0" });
                    c.field(&ts(now - Duration::days((i % 60) as i64)));
                    c.end();
                    persons.push((id, vi as u32));
                    i += 1;
                    true
                },
            )
            .await?;
    }
    {
        // three helpers of the person's own village, rotating so no helper exceeds 10
        let mut i = 0usize;
        let mut slot = 0usize;
        let mut in_village = vec![0usize; villages.len()];
        loader
            .copy(
                "contact_group_members",
                "person_id, helper_id, slot, city_id",
                |c| loop {
                    if i >= persons.len() {
                        return false;
                    }
                    let (pid, vi) = persons[i];
                    if i % 10 == 9 {
                        i += 1;
                        slot = 0;
                        continue;
                    }
                    let hs = &helper_ids[vi as usize];
                    let n = in_village[vi as usize];
                    let h = hs[(n * 3 + slot) % hs.len()];
                    c.field(&pid.to_string());
                    c.field(&h.to_string());
                    c.field(&(slot + 1).to_string());
                    c.field(&cities[villages[vi as usize].city].id.to_string());
                    c.end();
                    slot += 1;
                    if slot == 3 {
                        slot = 0;
                        in_village[vi as usize] += 1;
                        i += 1;
                    }
                    return true;
                },
            )
            .await?;
    }

    // ---- needs and their events
    let total_needs = (p.persons as f64 * p.needs_per_person) as usize;
    let mut need_rows = Copy::new();
    let mut event_rows = Copy::new();
    let mut access_rows = Copy::new();
    let started_needs = Instant::now();
    let mut events_total = 0usize;
    let mut access_total = 0usize;
    let cats = crate::domain::need::Category::ALL;
    let mut pending_needs: Vec<Bytes> = Vec::new();
    let mut flushed_events: Vec<Bytes> = Vec::new();
    let mut flushed_access: Vec<Bytes> = Vec::new();
    for k in 0..total_needs {
        let (pid, vi) = persons[k % persons.len()];
        let v = &villages[vi as usize];
        let ti = v.town.unwrap_or(0);
        let (city_id, town_id) = (cities[v.city].id, towns[ti].id);
        let (station, vdpf) = village_orgs[vi as usize];
        let (centre, civil, site) = town_orgs[ti];
        let (tstaff, officer) = town_users[ti];
        let vuser = village_users[vi as usize];
        let president = presidents[v.city];
        let association = assoc[v.city];
        let id = Uuid::now_v7();
        let created = now - Duration::minutes(rng.below(365 * 24 * 60) as i64 + 60 * 24 * 3);
        let policy = rng.chance(0.5);
        let roll = rng.below(100);
        // (action, to_state, level, handler, actor user)
        let mut path: Vec<(&str, &str, &str, Uuid, Uuid)> =
            vec![("file", "reported", "village", vdpf, vuser)];
        let state_target = match roll {
            0..=4 => "reported",
            5..=14 => "registered",
            15..=22 => "referred",
            23..=29 => "escalated",
            30..=49 => "in_progress",
            50..=59 => "resolved",
            60..=94 => "closed",
            _ => "withdrawn",
        };
        let reopen = state_target == "closed" && rng.chance(0.1);
        let city_level = !policy && rng.chance(0.3);
        if state_target == "withdrawn" {
            path.push(("withdraw", "withdrawn", "village", vdpf, vuser));
        } else if state_target != "reported" {
            if policy {
                path.push(("register", "registered", "village", vdpf, vuser));
                if state_target != "registered" {
                    path.push(("refer", "referred", "town", civil, vuser));
                }
                if state_target == "escalated" {
                    path.push(("reroute", "escalated", "town", centre, officer));
                } else if !matches!(state_target, "registered" | "referred") {
                    path.push(("accept", "in_progress", "town", civil, officer));
                }
            } else {
                path.push(("register", "registered", "village", station, vuser));
                if state_target != "registered" {
                    path.push(("escalate", "escalated", "town", centre, vuser));
                    if city_level {
                        path.push(("accept", "in_progress", "town", centre, tstaff));
                        path.push(("escalate", "escalated", "city", association, tstaff));
                    }
                    if !matches!(state_target, "escalated") {
                        let (lv, h, u) = if city_level {
                            ("city", association, president)
                        } else {
                            ("town", centre, tstaff)
                        };
                        path.push(("accept", "in_progress", lv, h, u));
                    }
                }
            }
            if matches!(state_target, "resolved" | "closed") {
                let (_, _, lv, h, u) = *path.last().unwrap_or(&("", "", "town", centre, tstaff));
                path.push(("resolve", "resolved", lv, h, u));
                if state_target == "closed" {
                    if reopen {
                        path.push(("verify", "in_progress", lv, h, vuser));
                        path.push(("resolve", "resolved", lv, h, u));
                    }
                    path.push(("verify", "closed", lv, h, vuser));
                }
            }
        }
        let (_, state, level, handler, _) = *path
            .last()
            .unwrap_or(&("file", "reported", "village", vdpf, vuser));
        let loop_ = if state_target == "reported" || (state_target == "withdrawn") {
            None
        } else if path.iter().any(|s| s.0 == "reroute") || !policy {
            Some("social")
        } else {
            Some("policy")
        };
        let mut at = created;
        let mut prev: Option<Vec<u8>> = None;
        let mut seq = 0;
        let mut from: Option<&str> = None;
        let mut closed_at = None;
        let mut ever_overdue = false;
        for (action, to, lv, h, actor) in &path {
            seq += 1;
            at += Duration::minutes(30 + rng.below(60 * 24 * 4) as i64);
            if at > now {
                at = now - Duration::minutes(1);
            }
            if rng.chance(0.04) {
                ever_overdue = true;
            }
            let payload = match *action {
                "register" => {
                    json!({"loop": if loop_ == Some("policy") || (*h == vdpf && policy) { "policy" } else { "social" }})
                }
                "verify" => {
                    json!({"satisfied": *to == "closed", "satisfaction": if *to == "closed" { 4 + (k % 2) } else { 2 }})
                }
                "refer" => json!({"department_id": civil}),
                "file" => json!({"category": cats[k % cats.len()].as_str(), "urgency": "normal"}),
                _ => json!({}),
            };
            let mut e = EventRow {
                need_id: id,
                seq,
                city_id,
                action: action.to_string(),
                from_state: from.map(str::to_string),
                to_state: to.to_string(),
                level: lv.to_string(),
                handler_organization_id: *h,
                actor_user_id: Some(*actor),
                actor: "synthetic".into(),
                at: at.trunc_subsecs(6),
                payload,
                prev_hash: prev.clone(),
                hash: Vec::new(),
            };
            e.hash = event_hash(e.prev_hash.as_deref(), &e);
            let r = &mut event_rows;
            r.field(&id.to_string());
            r.field(&seq.to_string());
            r.field(&city_id.to_string());
            r.field(action);
            r.opt(from);
            r.field(to);
            r.field(lv);
            r.field(&h.to_string());
            r.field(&actor.to_string());
            r.field("synthetic");
            r.field(&ts(e.at));
            r.field(&e.payload.to_string());
            match &e.prev_hash {
                Some(b) => r.bytes(b),
                None => r.null(),
            }
            r.bytes(&e.hash);
            r.end();
            prev = Some(e.hash);
            from = Some(to);
            if *to == "closed" {
                closed_at = Some(e.at);
            }
        }
        events_total += seq as usize;
        if path.iter().any(|s| s.0 == "refer") {
            access_rows.field(&civil.to_string());
            access_rows.field(&id.to_string());
            access_rows.end();
            access_total += 1;
        }
        let st = crate::domain::need::State::parse(state)
            .unwrap_or(crate::domain::need::State::Reported);
        let lp = loop_.and_then(crate::domain::need::Loop::parse);
        let lvl =
            crate::domain::need::Level::parse(level).unwrap_or(crate::domain::need::Level::Village);
        let due = if st.is_final() {
            None
        } else {
            Some(
                at + Duration::hours(i64::from(default_hours(
                    st,
                    lp,
                    lvl,
                    crate::domain::need::Urgency::Normal,
                ))),
            )
        };
        let assigned_site = !policy && state_target == "in_progress" && rng.chance(0.2);
        if assigned_site {
            access_rows.field(&site.to_string());
            access_rows.field(&id.to_string());
            access_rows.end();
            access_total += 1;
        }
        let r = &mut need_rows;
        r.field(&id.to_string());
        r.field(&city_id.to_string());
        r.field(&town_id.to_string());
        r.field(&v.id.to_string());
        r.field(&pid.to_string());
        r.field(cats[k % cats.len()].as_str());
        r.field("合成诉求");
        r.field("normal");
        r.field(state);
        r.opt(loop_);
        r.field(level);
        r.field(&handler.to_string());
        r.opt(
            if level == "city" && !st.is_final() {
                Some(president.to_string())
            } else {
                None
            }
            .as_deref(),
        );
        r.opt(
            if assigned_site {
                Some(site.to_string())
            } else {
                None
            }
            .as_deref(),
        );
        let referred = path.iter().any(|s| s.0 == "refer");
        r.opt(
            if referred {
                Some(vdpf.to_string())
            } else {
                None
            }
            .as_deref(),
        );
        r.opt(if referred { Some("village") } else { None });
        r.field(&vuser.to_string());
        r.opt(due.map(ts).as_deref());
        r.field(if due.is_some_and(|d| d < now) {
            "t"
        } else {
            "f"
        });
        r.field(if ever_overdue || due.is_some_and(|d| d < now) {
            "t"
        } else {
            "f"
        });
        r.field(if reopen { "1" } else { "0" });
        r.opt(if state == "closed" {
            Some(if k % 2 == 0 { "4" } else { "5" })
        } else {
            None
        });
        r.opt(if matches!(state, "resolved" | "closed") {
            Some("fulfilled")
        } else {
            None
        });
        r.field(&seq.to_string());
        r.field(&ts(created));
        r.field(&ts(at));
        r.opt(closed_at.map(ts).as_deref());
        r.end();
        if need_rows.buf.len() > (1 << 20) {
            pending_needs.push(Bytes::from(
                std::mem::replace(&mut need_rows, Copy::new()).buf,
            ));
        }
        if event_rows.buf.len() > (1 << 20) {
            flushed_events.push(Bytes::from(
                std::mem::replace(&mut event_rows, Copy::new()).buf,
            ));
        }
        if access_rows.buf.len() > (1 << 20) {
            flushed_access.push(Bytes::from(
                std::mem::replace(&mut access_rows, Copy::new()).buf,
            ));
        }
        // a batch at a time: the needs first (the events' foreign key), then what hangs on them
        if (k + 1) % 50_000 == 0 {
            pending_needs.push(Bytes::from(
                std::mem::replace(&mut need_rows, Copy::new()).buf,
            ));
            flushed_events.push(Bytes::from(
                std::mem::replace(&mut event_rows, Copy::new()).buf,
            ));
            flushed_access.push(Bytes::from(
                std::mem::replace(&mut access_rows, Copy::new()).buf,
            ));
            copy_chunks(&client, "needs", NEED_COLUMNS, &mut pending_needs).await?;
            copy_chunks(&client, "need_events", EVENT_COLUMNS, &mut flushed_events).await?;
            copy_chunks(
                &client,
                "need_access",
                "organization_id, need_id",
                &mut flushed_access,
            )
            .await?;
        }
        if k > 0 && k % 500_000 == 0 {
            eprintln!(
                "  needs: {k} of {total_needs} loaded ({:.1}s)",
                started_needs.elapsed().as_secs_f64()
            );
        }
    }
    pending_needs.push(Bytes::from(need_rows.buf));
    copy_chunks(&client, "needs", NEED_COLUMNS, &mut pending_needs).await?;
    flushed_events.push(Bytes::from(event_rows.buf));
    flushed_access.push(Bytes::from(access_rows.buf));
    copy_chunks(&client, "need_events", EVENT_COLUMNS, &mut flushed_events).await?;
    copy_chunks(
        &client,
        "need_access",
        "organization_id, need_id",
        &mut flushed_access,
    )
    .await?;
    eprintln!(
        "  {:<24} {:>10} rows  {:>6.1}s (with {events_total} events, {access_total} routings)",
        "needs",
        total_needs,
        started_needs.elapsed().as_secs_f64()
    );
    summary.rows.push(("needs", total_needs));
    summary.rows.push(("need_events", events_total));
    summary.rows.push(("need_access", access_total));

    // ---- the roster, and one campaign per city with a balanced ledger
    let today = now.date_naive();
    for (i, c) in cities.iter().enumerate() {
        client
            .batch_execute(&format!(
                "INSERT INTO duty_roster (id, association_id, city_id, user_id, starts_on, ends_on) \
                 VALUES ('{}', '{}', '{}', '{}', '{}', '{}')",
                Uuid::now_v7(),
                assoc[i],
                c.id,
                presidents[i],
                today - Duration::days(3),
                today + Duration::days(3)
            ))
            .await?;
    }
    client.batch_execute("ANALYZE").await?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

const NEED_COLUMNS: &str = "id, city_id, town_id, village_id, person_id, category, description, urgency, state, loop, level, \
     handler_organization_id, assignee_user_id, assigned_site_id, referred_from_handler_id, referred_from_level, filed_by, due_at, \
     overdue, ever_overdue, reopen_count, satisfaction, outcome, version, created_at, updated_at, closed_at";

const EVENT_COLUMNS: &str =
    "need_id, seq, city_id, action, from_state, to_state, level, handler_organization_id, actor_user_id, actor, at, payload, prev_hash, hash";

async fn copy_chunks(
    client: &tokio_postgres::Client,
    table: &str,
    columns: &str,
    chunks: &mut Vec<Bytes>,
) -> anyhow::Result<()> {
    if chunks.iter().all(|c| c.is_empty()) {
        chunks.clear();
        return Ok(());
    }
    let sink = client
        .copy_in(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    futures_util::pin_mut!(sink);
    for c in chunks.drain(..) {
        if !c.is_empty() {
            sink.send(c).await?;
        }
    }
    sink.finish().await?;
    Ok(())
}
