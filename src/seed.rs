//! Seeding: the demo city (邹城市, 4 streets + 12 towns, 614 villages) and single users.

use chrono::{Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::auth::password;
use crate::config::Config;
use crate::db::schema::{contact_group_members, helpers, org_units, organizations, persons, users};
use crate::domain::resident_id::{make_valid, DisabilityCategory, ResidentId};
use crate::domain::roles::{DepartmentType, OrgKind, Role, UnitKind};
use crate::http::api::org_units::{insert_unit, UnitOut};
use crate::http::api::persons::{insert_person, NewPerson};
use crate::pii::PiiCipher;

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
    let pii = PiiCipher::new(&config.pii_key_bytes());
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
    create_user(conn, "city_admin", "市残联管理员", "admin", Some(dpf), &pw).await?;
    create_user(
        conn,
        "president1",
        "轮值会长甲",
        "president",
        Some(association),
        &pw,
    )
    .await?;
    create_user(
        conn,
        "president2",
        "轮值会长乙",
        "president",
        Some(association),
        &pw,
    )
    .await?;
    create_user(
        conn,
        "assoc_staff",
        "协会秘书处",
        "association_staff",
        Some(association),
        &pw,
    )
    .await?;
    create_user(conn, "auditor", "市级督查员", "auditor", Some(dpf), &pw).await?;

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
                    village: village.clone(),
                };
                let row = match insert_person(conn, &pii, &new).await {
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
            let visited = Utc::now() - Duration::days(rng.below(50) as i64);
            diesel::update(persons::table.filter(persons::village_id.eq(village.id)))
                .set(persons::last_visited_at.eq(Some(visited)))
                .execute(conn)
                .await?;
        }
    }
    Ok(format!(
        "seeded 邹城市 in {:.1}s: 16 towns, {villages_total} villages, {persons_total} persons ({covered_total} with complete contact groups), {helpers_total} helpers; \
         logins admin, city_admin, president1, president2, assoc_staff, auditor, town_staff, town_auditor, dept_officer, site_staff, village_staff, village_dpf (password {pw})",
        started.elapsed().as_secs_f64()
    ))
}
