//! Seeding: the demo city (邹城市, 4 streets + 12 towns, 614 villages) and single users.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::password;
use crate::config::Config;
use crate::db::models::org::UnitRow;
use crate::db::models::places::Village;
use crate::db::schema::{contact_group_members, helpers, org_units, organizations, persons, users};
use crate::domain::resident_id::{make_valid, DisabilityCategory, ResidentId};
use crate::domain::roles::{DepartmentType, OrgKind, Role, UnitKind};
use crate::service::attachments::{Objects, Parent};
use crate::service::org_units::{insert_unit, UnitOut};
use crate::service::persons::NewPerson;

/// The demo city's statistical code.
pub const DEMO_CITY_CODE: &str = "370883000000";

/// The streets (街道) and towns (镇) of Zoucheng, with the 3-digit part of their codes.
pub const DEMO_TOWNS: [(&str, &str); 16] = [
    ("钢山街道", "001"),
    ("千泉街道", "002"),
    ("凫山街道", "003"),
    ("龙泉街道", "004"),
    ("太平镇", "100"),
    ("峄山镇", "101"),
    ("香城镇", "102"),
    ("城前镇", "103"),
    ("大束镇", "104"),
    ("北宿镇", "105"),
    ("中心店镇", "106"),
    ("唐村镇", "107"),
    ("田黄镇", "108"),
    ("张庄镇", "109"),
    ("石墙镇", "110"),
    ("郭里镇", "111"),
];

const VILLAGE_STEMS: [&str; 40] = [
    "东关", "西关", "南关", "北关", "前营", "后营", "王庄", "李庄", "刘庄", "孙庄", "马家", "赵家",
    "高庄", "郭庄", "凤凰", "青山", "泉头", "石桥", "柳林", "杏园", "枣园", "桃园", "双山", "龙湾",
    "白马", "黄山", "清河", "新兴", "和平", "幸福", "建设", "文化", "光明", "民主", "新华", "东风",
    "红旗", "朝阳", "峄阳", "孟府",
];
const SURNAMES: [&str; 20] = [
    "王", "李", "张", "刘", "陈", "杨", "孔", "孟", "赵", "孙", "周", "吴", "徐", "马", "朱", "胡",
    "郭", "何", "高", "林",
];
const GIVEN: [&str; 24] = [
    "秀英", "桂兰", "建国", "建华", "玉梅", "志强", "海燕", "国庆", "丽娟", "明", "伟", "芳", "军",
    "磊", "洋", "敏", "静", "强", "霞", "平", "刚", "红梅", "春生", "德胜",
];

/// The demo password (`DEMO_PASSWORD` or `demo-password`).
pub fn demo_password() -> String {
    std::env::var("DEMO_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "demo-password".to_string())
}

/// Whether the demo city is already there.
pub async fn demo_exists(conn: &mut AsyncPgConnection) -> anyhow::Result<bool> {
    let n: i64 = org_units::table
        .filter(org_units::code.eq(DEMO_CITY_CODE))
        .count()
        .get_result(conn)
        .await?;
    Ok(n > 0)
}

/// Creates a user after checking its role fits its organisation; returns its id.
pub async fn create_user(
    conn: &mut AsyncPgConnection,
    username: &str,
    display_name: &str,
    role: &str,
    organization_id: Option<Uuid>,
    password_clear: &str,
) -> anyhow::Result<Uuid> {
    let role = Role::parse(role)
        .ok_or_else(|| anyhow::anyhow!("role must be one of {}", Role::words()))?;
    if let Some(p) = password::policy_problem(password_clear) {
        anyhow::bail!("password {p}");
    }
    let city = match organization_id {
        None if role == Role::Admin => None,
        None => anyhow::bail!("a {role} needs --organization-id"),
        Some(o) => {
            let (kind, city): (String, Uuid) = organizations::table
                .find(o)
                .select((organizations::kind, organizations::city_id))
                .first(conn)
                .await
                .optional()?
                .ok_or_else(|| anyhow::anyhow!("no organisation {o}"))?;
            let kind =
                OrgKind::parse(&kind).ok_or_else(|| anyhow::anyhow!("bad organisation kind"))?;
            if !role.allowed_org_kinds().contains(&kind) {
                anyhow::bail!("a {role} cannot belong to a {kind}");
            }
            Some(city)
        }
    };
    let hash = password::hash_blocking(password_clear).map_err(|e| anyhow::anyhow!("{e}"))?;
    insert_user_with_hash(
        conn,
        username,
        display_name,
        role,
        organization_id,
        city,
        &hash,
    )
    .await
}

/// Inserts a user with a ready password hash (fixtures reuse one hash for speed).
pub async fn insert_user_with_hash(
    conn: &mut AsyncPgConnection,
    username: &str,
    display_name: &str,
    role: Role,
    organization_id: Option<Uuid>,
    city: Option<Uuid>,
    hash: &str,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::username.eq(username),
            users::display_name.eq(display_name),
            users::role.eq(role.as_str()),
            users::organization_id.eq(organization_id),
            users::city_id.eq(city),
            users::password_hash.eq(hash),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Makes sure the deployment admin `admin` exists (with the demo password when created).
async fn ensure_admin(conn: &mut AsyncPgConnection) -> anyhow::Result<()> {
    let n: i64 = users::table
        .filter(users::username.eq("admin"))
        .count()
        .get_result(conn)
        .await?;
    if n == 0 {
        create_user(conn, "admin", "部署管理员", "admin", None, &demo_password()).await?;
    }
    Ok(())
}

/// A small deterministic generator, so the demo city is the same on every machine.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

async fn org_of(conn: &mut AsyncPgConnection, unit: Uuid, kind: OrgKind) -> anyhow::Result<Uuid> {
    Ok(organizations::table
        .filter(organizations::org_unit_id.eq(unit))
        .filter(organizations::kind.eq(kind.as_str()))
        .select(organizations::id)
        .first(conn)
        .await?)
}

async fn add_org(
    conn: &mut AsyncPgConnection,
    kind: OrgKind,
    name: &str,
    unit: &UnitOut,
    department_type: Option<DepartmentType>,
    site_type: Option<&str>,
    parent: Option<Uuid>,
) -> anyhow::Result<Uuid> {
    let id = Uuid::now_v7();
    diesel::insert_into(organizations::table)
        .values((
            organizations::id.eq(id),
            organizations::kind.eq(kind.as_str()),
            organizations::name.eq(name),
            organizations::org_unit_id.eq(unit.id),
            organizations::city_id.eq(unit.city_id),
            organizations::department_type.eq(department_type.map(|d| d.as_str())),
            organizations::site_type.eq(site_type),
            organizations::parent_organization_id.eq(parent),
        ))
        .execute(conn)
        .await?;
    Ok(id)
}

/// Seeds the demo city (idempotent: a second run only makes sure `admin` exists).
pub async fn demo(conn: &mut AsyncPgConnection, config: &Config) -> anyhow::Result<String> {
    ensure_admin(conn).await?;
    if demo_exists(conn).await? {
        return Ok("the demo city is already there; admin ensured".into());
    }
    let pii = config.pii_cipher();
    let objects = Objects::open(&config.attachments)?;
    let started = std::time::Instant::now();
    let mut rng = Lcg(20260419);
    let pw = demo_password();
    let city = insert_unit(conn, UnitKind::City, "邹城市", DEMO_CITY_CODE, None)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dpf = org_of(conn, city.id, OrgKind::Dpf).await?;
    let association = org_of(conn, city.id, OrgKind::Association).await?;
    for i in 1..=23 {
        add_org(
            conn,
            OrgKind::AssociationBranch,
            &format!("邹城市助残志愿者协会第{i}分会"),
            &city,
            None,
            None,
            Some(association),
        )
        .await?;
    }
    for (username, display_name, role, org) in [
        ("city_admin", "市残联管理员", "admin", dpf),
        ("president1", "轮值会长甲", "president", association),
        ("president2", "轮值会长乙", "president", association),
        (
            "assoc_staff",
            "协会秘书处",
            "association_staff",
            association,
        ),
        ("auditor", "市级督查员", "auditor", dpf),
    ] {
        create_user(conn, username, display_name, role, Some(org), &pw).await?;
    }

    let mut villages_total = 0usize;
    let mut persons_total = 0usize;
    let mut helpers_total = 0usize;
    let mut covered_total = 0usize;
    let mut seq: u64 = 0;
    for (t_index, (town_name, part)) in DEMO_TOWNS.iter().enumerate() {
        let town_code = format!("370883{part}000");
        let town = insert_unit(conn, UnitKind::Town, town_name, &town_code, Some(&city))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let centre = org_of(conn, town.id, OrgKind::TownCentre).await?;
        let short = town_name.trim_end_matches("街道").trim_end_matches('镇');
        let mut civil = None;
        for d in DepartmentType::ALL
            .iter()
            .filter(|d| **d != DepartmentType::Other)
        {
            let label = match d {
                DepartmentType::CivilAffairs => "民政办",
                DepartmentType::SocialSecurity => "社会保障办",
                DepartmentType::Health => "卫生健康办",
                DepartmentType::Education => "教育办",
                DepartmentType::Housing => "住房保障办",
                DepartmentType::MedicalInsurance => "医保办",
                DepartmentType::Employment => "就业服务办",
                DepartmentType::Other => "综合办",
            };
            let id = add_org(
                conn,
                OrgKind::Department,
                &format!("{town_name}{label}"),
                &town,
                Some(*d),
                None,
                None,
            )
            .await?;
            if *d == DepartmentType::CivilAffairs {
                civil = Some(id);
            }
        }
        let site = add_org(
            conn,
            OrgKind::ExtensionSite,
            &format!("{short}如康家园"),
            &town,
            None,
            Some("rukang_home"),
            None,
        )
        .await?;
        if t_index == 0 {
            create_user(
                conn,
                "town_staff",
                &format!("{short}服务中心"),
                "town_staff",
                Some(centre),
                &pw,
            )
            .await?;
            if let Some(c) = civil {
                create_user(
                    conn,
                    "dept_officer",
                    &format!("{short}民政办"),
                    "department_officer",
                    Some(c),
                    &pw,
                )
                .await?;
            }
            create_user(
                conn,
                "site_staff",
                &format!("{short}如康家园"),
                "site_staff",
                Some(site),
                &pw,
            )
            .await?;
            create_user(
                conn,
                "town_auditor",
                &format!("{short}督查员"),
                "auditor",
                Some(centre),
                &pw,
            )
            .await?;
        }
        let n_villages = if t_index < 6 { 39 } else { 38 };
        let street = town_name.ends_with("街道");
        for v in 1..=n_villages {
            let stem = VILLAGE_STEMS[(v - 1 + t_index * 7) % VILLAGE_STEMS.len()];
            let name = if street {
                format!("{stem}社区")
            } else if v > VILLAGE_STEMS.len() {
                format!("{stem}二村")
            } else {
                format!("{stem}村")
            };
            let code = format!("370883{part}{v:03}");
            let village = insert_unit(conn, UnitKind::Village, &name, &code, Some(&town))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            villages_total += 1;
            if t_index == 0 && v == 1 {
                let station = org_of(conn, village.id, OrgKind::VillageStation).await?;
                create_user(
                    conn,
                    "village_staff",
                    &format!("{name}服务站"),
                    "village_staff",
                    Some(station),
                    &pw,
                )
                .await?;
                let vdpf = org_of(conn, village.id, OrgKind::VillageDpf).await?;
                create_user(
                    conn,
                    "village_dpf",
                    &format!("{name}残协"),
                    "village_staff",
                    Some(vdpf),
                    &pw,
                )
                .await?;
            }
            // four helpers per village: a cadre, a party member, a volunteer, a grid worker
            let kinds = ["village_cadre", "party_member", "volunteer", "grid_worker"];
            let mut helper_ids = Vec::new();
            let rows: Vec<_> = kinds
                .iter()
                .map(|k| {
                    let id = Uuid::now_v7();
                    helper_ids.push(id);
                    (
                        helpers::id.eq(id),
                        helpers::city_id.eq(city.id),
                        helpers::town_id.eq(town.id),
                        helpers::village_id.eq(village.id),
                        helpers::name.eq(format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN))),
                        helpers::phone.eq(Some(format!("13{:09}", rng.below(1_000_000_000)))),
                        helpers::kind.eq(*k),
                    )
                })
                .collect();
            diesel::insert_into(helpers::table)
                .values(rows)
                .execute(conn)
                .await?;
            helpers_total += helper_ids.len();
            let n_persons = 3 + rng.below(3) as usize;
            let mut members = Vec::new();
            let mut complete = Vec::new();
            for p in 0..n_persons {
                seq += 1;
                let birth = NaiveDate::from_ymd_opt(
                    1940 + rng.below(75) as i32,
                    1 + rng.below(12) as u32,
                    1 + rng.below(28) as u32,
                )
                .unwrap_or_default();
                let raw = make_valid("370883", birth, (seq % 1000) as u16);
                let Ok(resident_id) = ResidentId::parse(&raw) else {
                    continue;
                };
                let category = *rng.pick(&DisabilityCategory::ALL);
                let new = NewPerson {
                    id: Uuid::now_v7(),
                    name: format!("{}{}", rng.pick(&SURNAMES), rng.pick(&GIVEN)),
                    resident_id,
                    category,
                    grade: 1 + rng.below(4) as i16,
                    phone: Some(format!("15{:09}", rng.below(1_000_000_000))),
                    address: Some(format!("{}{}{}号", town_name, name, 1 + rng.below(120))),
                    guardian_name: None,
                    guardian_phone: None,
                    village: Village::of(village.id, village.city_id, village.town_id),
                };
                let row = match crate::db::queries::persons::insert(conn, &new.sealed(&pii)).await {
                    Ok(r) => r,
                    // a generated number may repeat one already used: skip it
                    Err(diesel::result::Error::DatabaseError(
                        diesel::result::DatabaseErrorKind::UniqueViolation,
                        _,
                    )) => continue,
                    Err(e) => return Err(e.into()),
                };
                persons_total += 1;
                // every seventh person waits for a complete group: the coverage report has work to show
                if (seq % 7) == 3 {
                    continue;
                }
                for slot in 0..3 {
                    members.push((
                        contact_group_members::person_id.eq(row.id),
                        contact_group_members::helper_id
                            .eq(helper_ids[(p + slot) % helper_ids.len()]),
                        contact_group_members::slot.eq(slot as i16 + 1),
                        contact_group_members::city_id.eq(city.id),
                    ));
                }
                complete.push(row.id);
            }
            if !members.is_empty() {
                diesel::insert_into(contact_group_members::table)
                    .values(members)
                    .execute(conn)
                    .await?;
                diesel::update(persons::table.filter(persons::id.eq_any(&complete)))
                    .set(persons::group_size.eq(3))
                    .execute(conn)
                    .await?;
                covered_total += complete.len();
            }
            if t_index == 0 && v == 1 {
                // the first helper of 东关社区 signs in (role helper): it sees its groups' persons
                let station = org_of(conn, village.id, OrgKind::VillageStation).await?;
                let user = create_user(
                    conn,
                    "helper",
                    &format!("{name}帮扶人"),
                    "helper",
                    Some(station),
                    &pw,
                )
                .await?;
                diesel::update(helpers::table.find(helper_ids[0]))
                    .set(helpers::user_id.eq(Some(user)))
                    .execute(conn)
                    .await?;
            }
            let visited = Utc::now() - Duration::days(rng.below(50) as i64);
            diesel::update(persons::table.filter(persons::village_id.eq(village.id)))
                .set(persons::last_visited_at.eq(Some(visited)))
                .execute(conn)
                .await?;
        }
    }
    let needs_total = demo_needs(conn, &city, &objects).await?;
    let ledger_rows = demo_resources(conn, &city).await?;
    Ok(format!(
        "seeded 邹城市 in {:.1}s: 16 towns, {villages_total} villages, {persons_total} persons ({covered_total} with complete contact groups), {helpers_total} helpers, {needs_total} needs, 7 campaigns with {ledger_rows} ledger rows; \
         logins admin, city_admin, president1, president2, assoc_staff, auditor, town_staff, town_auditor, dept_officer, site_staff, village_staff, village_dpf, helper (password {pw})",
        started.elapsed().as_secs_f64()
    ))
}

/// Acts on a need as a user, the way the API does (lock, relation, decide, apply).
/// A one-page PDF with a line of text (a stand-in for a scan in the demo city).
pub fn demo_pdf(title: &str) -> Vec<u8> {
    let text = title.replace(['(', ')', '\\'], " ");
    let stream = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for off in offsets {
        out.extend_from_slice(format!("{off:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// Attaches bytes as an upload would (spooled, then kept, then the row).
async fn demo_attach(
    conn: &mut AsyncPgConnection,
    objects: &Objects,
    caller: &crate::auth::Caller,
    parent: Parent,
    name: &str,
    bytes: &[u8],
) -> anyhow::Result<()> {
    let mut spool = objects.spool().await?;
    spool
        .write(bytes)
        .await
        .map_err(|e| anyhow::anyhow!("spool: {e:?}"))?;
    let file = spool
        .finish()
        .await
        .map_err(|e| anyhow::anyhow!("spool: {e:?}"))?;
    crate::service::attachments::attach(conn, objects, caller, parent, Some(name), file)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

async fn demo_act(
    conn: &mut AsyncPgConnection,
    caller: &crate::auth::Caller,
    need: Uuid,
    action: crate::domain::need::Action,
    extras: crate::service::needs::Extras,
    payload: serde_json::Value,
) -> anyhow::Result<()> {
    use crate::db::models::needs::NeedRow;
    use crate::db::schema::needs;
    use crate::domain::caller::Actor;
    use crate::service::needs::{apply, relation, Step};
    use diesel_async::AsyncConnection;
    let caller = caller.clone();
    conn.transaction::<_, crate::error::Error, _>(async move |conn| {
        let n: NeedRow = needs::table
            .find(need)
            .select(NeedRow::as_select())
            .for_update()
            .first(conn)
            .await?;
        let rel = relation(conn, &caller, &n).await?;
        let actor = Actor::of(&caller);
        let event = action.kind().as_str();
        apply(
            conn,
            n,
            Step {
                action,
                relation: rel,
                extras: &extras,
                actor: &actor,
                event,
                payload,
            },
        )
        .await?;
        Ok(())
    })
    .await
    .map_err(|e| anyhow::anyhow!("demo {action:?}: {e}"))
}

/// Fills the demo city with needs in every state, in both loops, and a roster covering today.
pub async fn demo_needs(
    conn: &mut AsyncPgConnection,
    city: &UnitOut,
    objects: &Objects,
) -> anyhow::Result<usize> {
    use crate::auth::Caller;
    use crate::db::queries::org::city_today;
    use crate::domain::caller::Actor;
    use crate::domain::need::{Action, Loop, Urgency};
    use crate::service::needs::{file_for, take_case_number, Extras, Filing};
    use serde_json::json;
    let hash = password::hash_blocking(&demo_password()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let today = city_today(conn, city.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let association = org_of(conn, city.id, OrgKind::Association).await?;
    let presidents: Vec<(Uuid, String)> = users::table
        .filter(users::organization_id.eq(association))
        .filter(users::role.eq("president"))
        .order(users::username)
        .select((users::id, users::username))
        .load(conn)
        .await?;
    for (i, (p, _)) in presidents.iter().enumerate() {
        let start = today - Duration::days(3) + Duration::days(7 * i as i64);
        diesel::insert_into(crate::db::schema::duty_roster::table)
            .values((
                crate::db::schema::duty_roster::id.eq(Uuid::now_v7()),
                crate::db::schema::duty_roster::association_id.eq(association),
                crate::db::schema::duty_roster::city_id.eq(city.id),
                crate::db::schema::duty_roster::user_id.eq(*p),
                crate::db::schema::duty_roster::starts_on.eq(start),
                crate::db::schema::duty_roster::ends_on.eq(start + Duration::days(6)),
            ))
            .execute(conn)
            .await?;
    }
    let load = async |conn: &mut AsyncPgConnection, username: &str| -> anyhow::Result<Caller> {
        let id: Uuid = users::table
            .filter(users::username.eq(username))
            .select(users::id)
            .first(conn)
            .await?;
        Caller::load(conn, id, u64::MAX / 2)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))
    };
    let president = match presidents.as_slice().first() {
        Some((_, name)) => Some(load(conn, name).await?),
        None => None,
    };
    let assoc_staff = load(conn, "assoc_staff").await.ok();
    let mut filed = 0usize;
    // the four streets: every village station and town centre has an account, every town a 民政办 officer
    let towns: Vec<UnitRow> = org_units::table
        .filter(org_units::parent_id.eq(city.id))
        .order(org_units::code)
        .limit(4)
        .select(UnitRow::as_select())
        .load(conn)
        .await?;
    for town in towns {
        let centre = org_of(conn, town.id, OrgKind::TownCentre).await?;
        let civil: Uuid = organizations::table
            .filter(organizations::org_unit_id.eq(town.id))
            .filter(organizations::department_type.eq("civil_affairs"))
            .select(organizations::id)
            .first(conn)
            .await?;
        let site: Uuid = organizations::table
            .filter(organizations::org_unit_id.eq(town.id))
            .filter(organizations::kind.eq("extension_site"))
            .select(organizations::id)
            .first(conn)
            .await?;
        let town_user = format!("t{}", &town.code[..9]);
        let officer_user = format!("d{}", &town.code[..9]);
        for (name, role, org) in [
            (&town_user, Role::TownStaff, centre),
            (&officer_user, Role::DepartmentOfficer, civil),
        ] {
            let exists: i64 = users::table
                .filter(users::username.eq(name))
                .count()
                .get_result(conn)
                .await?;
            if exists == 0 {
                insert_user_with_hash(conn, name, name, role, Some(org), Some(city.id), &hash)
                    .await?;
            }
        }
        let town_staff = load(conn, &town_user).await?;
        let officer = load(conn, &officer_user).await?;
        let villages: Vec<UnitRow> = org_units::table
            .filter(org_units::parent_id.eq(town.id))
            .order(org_units::code)
            .select(UnitRow::as_select())
            .load(conn)
            .await?;
        for (vi, village) in villages.iter().enumerate() {
            let station = org_of(conn, village.id, OrgKind::VillageStation).await?;
            let vuser = format!("v{}", village.code);
            let exists: i64 = users::table
                .filter(users::username.eq(&vuser))
                .count()
                .get_result(conn)
                .await?;
            if exists == 0 {
                insert_user_with_hash(
                    conn,
                    &vuser,
                    &format!("{}服务站", village.name),
                    Role::VillageStaff,
                    Some(station),
                    Some(city.id),
                    &hash,
                )
                .await?;
            }
            let vstaff = load(conn, &vuser).await?;
            let people: Vec<crate::db::models::persons::PersonRow> = persons::table
                .filter(persons::village_id.eq(village.id))
                .order(persons::id)
                .limit(2)
                .select(crate::db::models::persons::PersonRow::as_select())
                .load(conn)
                .await?;
            for (pi, person) in people.iter().enumerate() {
                let scenario = (vi * 2 + pi) % 17;
                use crate::domain::need::Category;
                let categories = [
                    Category::AssistiveDevice,
                    Category::Rehabilitation,
                    Category::Allowance,
                    Category::Employment,
                    Category::Education,
                    Category::Medical,
                    Category::DailyCare,
                    Category::Housing,
                    Category::Culture,
                    Category::LegalAid,
                ];
                let category = categories[(vi + pi) % categories.len()];
                let urgency = if scenario % 5 == 0 {
                    Urgency::Urgent
                } else {
                    Urgency::Normal
                };
                let place = crate::db::models::needs::PersonPlace {
                    id: person.id,
                    name: person.name.clone(),
                    city_id: person.city_id,
                    town_id: person.town_id,
                    village_id: person.village_id,
                    status: person.status.clone(),
                };
                let case_number = take_case_number(conn, person.city_id)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                let filing = Filing {
                    person: &place,
                    category,
                    description: "包保小组走访时反映的需求",
                    urgency,
                    reporting_helper_id: None,
                    case_number,
                    confirmed_duplicate: None,
                };
                let n = file_for(conn, &Actor::of(&vstaff), filing)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                filed += 1;
                let id = n.id;
                let none = Extras::default;
                let reason = |r: &str| json!({"reason": r});
                let policy = json!({"loop": "policy"});
                let social = json!({"loop": "social"});
                let done = json!({"outcome": "fulfilled", "resolution": "已办结"});
                let fulfilled = || Extras {
                    outcome: Some("fulfilled".into()),
                    resolution: Some("已办结".into()),
                    ..Extras::default()
                };
                let refer = || Extras {
                    department_id: Some(civil),
                    ..Extras::default()
                };
                let happy = || Extras {
                    satisfaction: Some(5),
                    ..Extras::default()
                };
                let unhappy = || Extras {
                    satisfaction: Some(2),
                    ..Extras::default()
                };
                if scenario == 0 {
                    continue; // reported
                }
                if (1..=6).contains(&scenario) || scenario == 15 || scenario == 16 {
                    demo_act(
                        conn,
                        &vstaff,
                        id,
                        Action::Register(Loop::Policy),
                        none(),
                        policy,
                    )
                    .await?;
                    if scenario == 1 {
                        continue;
                    }
                    demo_act(
                        conn,
                        &vstaff,
                        id,
                        Action::Refer,
                        refer(),
                        json!({"department_id": civil}),
                    )
                    .await?;
                    match scenario {
                        2 => {
                            // the papers the department reads before it signs for the referral
                            let papers = [
                                (
                                    Parent::Person(person.id),
                                    "残疾人证扫描件.pdf",
                                    "Disability certificate (demo scan)",
                                ),
                                (Parent::Need(id), "申请表.pdf", "Application form (demo)"),
                            ];
                            for (parent, name, title) in papers {
                                demo_attach(conn, objects, &vstaff, parent, name, &demo_pdf(title))
                                    .await?;
                            }
                            continue;
                        }
                        15 => {
                            demo_act(
                                conn,
                                &officer,
                                id,
                                Action::Return,
                                none(),
                                reason("不属于本部门职责"),
                            )
                            .await?;
                            continue;
                        }
                        16 => {
                            demo_act(
                                conn,
                                &officer,
                                id,
                                Action::Reroute,
                                none(),
                                reason("政策无法覆盖，转社会力量"),
                            )
                            .await?;
                            continue;
                        }
                        _ => {}
                    }
                    demo_act(conn, &officer, id, Action::Accept, none(), json!({})).await?;
                    if scenario == 3 {
                        continue;
                    }
                    demo_act(
                        conn,
                        &officer,
                        id,
                        Action::Resolve,
                        fulfilled(),
                        done.clone(),
                    )
                    .await?;
                    if scenario == 4 {
                        continue;
                    }
                    let (ok, extras) = if scenario == 6 {
                        (false, unhappy())
                    } else {
                        (true, happy())
                    };
                    demo_act(
                        conn,
                        &vstaff,
                        id,
                        Action::Verify { satisfied: ok },
                        extras,
                        json!({"satisfied": ok, "satisfaction": if ok { 5 } else { 2 }}),
                    )
                    .await?;
                    continue;
                }
                // the social loop
                demo_act(
                    conn,
                    &vstaff,
                    id,
                    Action::Register(Loop::Social),
                    none(),
                    social,
                )
                .await?;
                match scenario {
                    7 => continue,
                    14 => {
                        demo_act(
                            conn,
                            &vstaff,
                            id,
                            Action::Withdraw,
                            none(),
                            reason("家属已自行解决"),
                        )
                        .await?;
                        continue;
                    }
                    12 | 13 => {
                        demo_act(conn, &vstaff, id, Action::Accept, none(), json!({})).await?;
                        demo_act(
                            conn,
                            &vstaff,
                            id,
                            Action::Resolve,
                            fulfilled(),
                            done.clone(),
                        )
                        .await?;
                        if scenario == 13 {
                            demo_act(
                                conn,
                                &vstaff,
                                id,
                                Action::Verify { satisfied: true },
                                happy(),
                                json!({"satisfied": true, "satisfaction": 5}),
                            )
                            .await?;
                        }
                        continue;
                    }
                    _ => {}
                }
                demo_act(
                    conn,
                    &vstaff,
                    id,
                    Action::Escalate,
                    none(),
                    reason("村级无法解决"),
                )
                .await?;
                if scenario == 8 {
                    continue;
                }
                demo_act(conn, &town_staff, id, Action::Accept, none(), json!({})).await?;
                if scenario == 9 {
                    continue;
                }
                demo_act(
                    conn,
                    &town_staff,
                    id,
                    Action::Escalate,
                    none(),
                    reason("需要市协会动员社会力量"),
                )
                .await?;
                let (Some(president), Some(staff)) = (president.as_ref(), assoc_staff.as_ref())
                else {
                    continue;
                };
                if scenario == 10 {
                    continue;
                }
                demo_act(conn, president, id, Action::Accept, none(), json!({})).await?;
                demo_act(
                    conn,
                    staff,
                    id,
                    Action::Assign,
                    Extras {
                        site_id: Some(site),
                        ..Extras::default()
                    },
                    json!({"extension_site_id": site}),
                )
                .await?;
                // 11: in progress at the city with a site mobilised
            }
        }
    }
    Ok(filed)
}

/// The demo city's campaigns (the report's themed and special actions), donations, allocations
/// to open social needs, a volunteer team and service hours.
pub async fn demo_resources(conn: &mut AsyncPgConnection, city: &UnitOut) -> anyhow::Result<usize> {
    use crate::db::schema::{campaigns, needs, service_records, volunteer_teams};
    use crate::service::ledger::{append, lock_campaign, LedgerRow};
    use diesel_async::AsyncConnection;
    let admin: Uuid = users::table
        .filter(users::username.eq("assoc_staff"))
        .select(users::id)
        .first(conn)
        .await?;
    let list: [(&str, &str, &str, i64); 7] = [
        ("儒润童心", "themed", "education", 50000000),
        ("温暖过冬", "themed", "daily_care", 80000000),
        ("情满中秋·助力如康", "themed", "rehabilitation", 30000000),
        ("复明助残", "special", "medical", 20000000),
        ("辅具助残", "special", "assistive_device", 60000000),
        ("文化助残", "special", "culture", 10000000),
        ("教育助残", "special", "education", 30000000),
    ];
    let open: Vec<Uuid> = needs::table
        .filter(needs::city_id.eq(city.id))
        .filter(needs::loop_.eq("social"))
        .filter(needs::state.eq_any(["in_progress", "escalated"]))
        .order(needs::id)
        .select(needs::id)
        .limit(40)
        .load(conn)
        .await?;
    let mut rows = 0;
    for (i, (name, kind, category, goal)) in list.iter().enumerate() {
        let id = Uuid::now_v7();
        diesel::insert_into(campaigns::table)
            .values((
                campaigns::id.eq(id),
                campaigns::city_id.eq(city.id),
                campaigns::name.eq(*name),
                campaigns::kind.eq(*kind),
                campaigns::description.eq(format!("{name}爱心助残活动")),
                campaigns::starts_on
                    .eq(NaiveDate::from_ymd_opt(2026, 1 + i as u32, 1).unwrap_or_default()),
                campaigns::ends_on.eq(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap_or_default()),
                campaigns::target_categories.eq(vec![category.to_string()]),
                campaigns::goal_fen.eq(Some(*goal)),
                campaigns::created_by.eq(admin),
            ))
            .execute(conn)
            .await?;
        let targets: Vec<Uuid> = open.iter().skip(i * 5).take(5).copied().collect();
        let n = conn
            .transaction::<_, crate::error::Error, _>(async move |conn| {
                let c = lock_campaign(conn, id).await?;
                let mut n = 0;
                for (j, (donor, channel, fen)) in [("腾讯公益99公益日网友", "online_platform", 18652000i64), ("邹城市爱心企业", "transfer", 5000000), ("文莉爱心志愿服务中心", "offline", 1200000)].iter().enumerate() {
                    append(conn, c, LedgerRow {
                        campaign_id: id,
                        entry: "donation".into(),
                        kind: "funds".into(),
                        amount: fen / (1 + i as i64) + j as i64 * 100,
                        donation_id: Some(Uuid::now_v7()),
                        donor_name: Some(donor.to_string()),
                        channel: Some(channel.to_string()),
                        received_on: NaiveDate::from_ymd_opt(2026, 9, 1 + j as u32),
                        actor_user_id: Some(admin),
                        ..LedgerRow::default()
                    })
                    .await?;
                    n += 1;
                }
                append(conn, c, LedgerRow {
                    campaign_id: id,
                    entry: "donation".into(),
                    kind: "materials".into(),
                    item: if i == 4 { "轮椅".into() } else { "棉被".into() },
                    unit: if i == 4 { "台".into() } else { "床".into() },
                    amount: 20,
                    value_fen: Some(20 * 30000),
                    donation_id: Some(Uuid::now_v7()),
                    donor_name: Some("圆梦微公益服务中心".into()),
                    channel: Some("offline".into()),
                    received_on: NaiveDate::from_ymd_opt(2026, 10, 8),
                    actor_user_id: Some(admin),
                    ..LedgerRow::default()
                })
                .await?;
                n += 1;
                for need in targets {
                    append(conn, c, LedgerRow {
                        campaign_id: id,
                        entry: "allocation".into(),
                        kind: "funds".into(),
                        amount: -200000,
                        need_id: Some(need),
                        note: Some("资助".into()),
                        actor_user_id: Some(admin),
                        ..LedgerRow::default()
                    })
                    .await?;
                    let row: crate::db::models::needs::NeedRow = needs::table.find(need).select(crate::db::models::needs::NeedRow::as_select()).for_update().first(conn).await?;
                    let actor = crate::domain::caller::Actor { user_id: Some(admin), name: "assoc_staff".into() };
                    crate::service::events::record(conn, crate::db::models::needs::NewEvent { need: &row, action: "allocate", from: Some(row.state), actor: &actor, at: chrono::Utc::now(), payload: serde_json::json!({"campaign_id": id, "kind": "funds", "amount_fen": 200000}) }).await?;
                    n += 1;
                }
                Ok(n)
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        rows += n;
    }
    // the 管得宽 team of the first street's first village, and some hours on its needs
    let first_village: UnitRow = org_units::table
        .filter(org_units::city_id.eq(city.id))
        .filter(org_units::kind.eq("village"))
        .order(org_units::code)
        .select(UnitRow::as_select())
        .first(conn)
        .await?;
    let team = Uuid::now_v7();
    diesel::insert_into(volunteer_teams::table)
        .values((
            volunteer_teams::id.eq(team),
            volunteer_teams::name.eq("管得宽志愿服务队"),
            volunteer_teams::org_unit_id.eq(first_village.id),
            volunteer_teams::city_id.eq(city.id),
            volunteer_teams::town_id.eq(first_village.town_id),
        ))
        .execute(conn)
        .await?;
    let members: Vec<Uuid> = helpers::table
        .filter(helpers::village_id.eq(first_village.id))
        .select(helpers::id)
        .load(conn)
        .await?;
    diesel::update(helpers::table.filter(helpers::id.eq_any(&members)))
        .set(helpers::volunteer_team_id.eq(team))
        .execute(conn)
        .await?;
    let served: Vec<Uuid> = needs::table
        .filter(needs::village_id.eq(first_village.id))
        .select(needs::id)
        .load(conn)
        .await?;
    let recorder: Uuid = users::table
        .filter(users::username.eq("village_staff"))
        .select(users::id)
        .first(conn)
        .await?;
    for (k, need) in served.iter().enumerate() {
        for (m, helper) in members.iter().enumerate().take(2) {
            diesel::insert_into(service_records::table)
                .values((
                    service_records::id.eq(Uuid::now_v7()),
                    service_records::city_id.eq(city.id),
                    service_records::helper_id.eq(*helper),
                    service_records::need_id.eq(*need),
                    service_records::team_id.eq(Some(team)),
                    service_records::served_on
                        .eq(chrono::Utc::now().date_naive()
                            - Duration::days((k * 2 + m) as i64 + 1)),
                    service_records::half_hours.eq(4 + (k as i32 % 3) * 2),
                    service_records::note.eq("上门走访服务"),
                    service_records::recorded_by.eq(recorder),
                ))
                .execute(conn)
                .await?;
        }
    }
    Ok(rows)
}
