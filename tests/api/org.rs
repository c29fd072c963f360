//! The org tree, organisations and users: creation rules and scope.

use crate::support::*;
use serde_json::json;

#[tokio::test]
async fn a_city_admin_builds_towns_and_villages_with_their_organisations() {
    let w = world().await;
    let admin = w.tok("admin_a");
    let town = w
        .app
        .post("/org-units", admin, json!({"kind": "town", "name": "峄山镇", "code": "370883101000", "parent_id": w.unit("city_a")}))
        .await;
    let town = town.expect(201).clone();
    assert_eq!(town["city_id"], w.unit("city_a").to_string());
    let village = w
        .app
        .post("/org-units", admin, json!({"kind": "village", "name": "峄阳村", "code": "370883101001", "parent_id": town["id"]}))
        .await;
    let village = village.expect(201).clone();
    let orgs = w
        .app
        .get(
            &format!(
                "/organizations?org_unit_id={}",
                town["id"].as_str().unwrap_or("")
            ),
            admin,
        )
        .await;
    let kinds: Vec<&str> = orgs.expect(200)["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, vec!["town_centre"]);
    let orgs = w
        .app
        .get(
            &format!(
                "/organizations?org_unit_id={}",
                village["id"].as_str().unwrap_or("")
            ),
            admin,
        )
        .await;
    let mut kinds: Vec<&str> = orgs.expect(200)["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["kind"].as_str()).collect())
        .unwrap_or_default();
    kinds.sort();
    assert_eq!(kinds, vec!["village_dpf", "village_station"]);
}

#[tokio::test]
async fn only_the_deployment_admin_creates_cities_and_each_city_gets_its_association_and_dpf() {
    let w = world().await;
    let body = json!({"kind": "city", "name": "曲阜市", "code": "370881000000"});
    w.app
        .post("/org-units", w.tok("admin_a"), body.clone())
        .await
        .problem(403, "forbidden");
    // 370881000000 is city B's code already
    w.app
        .post("/org-units", w.tok("root"), body)
        .await
        .problem(409, "duplicate");
    let city = w
        .app
        .post(
            "/org-units",
            w.tok("root"),
            json!({"kind": "city", "name": "曲阜市", "code": "370882000000"}),
        )
        .await;
    let id = city.expect(201)["id"].as_str().unwrap_or("").to_string();
    let orgs = w
        .app
        .get(&format!("/organizations?org_unit_id={id}"), w.tok("root"))
        .await;
    let mut kinds: Vec<&str> = orgs.expect(200)["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["kind"].as_str()).collect())
        .unwrap_or_default();
    kinds.sort();
    assert_eq!(kinds, vec!["association", "dpf"]);
}

#[tokio::test]
async fn unit_creation_is_validated_field_by_field() {
    let w = world().await;
    let admin = w.tok("admin_a");
    let r = w
        .app
        .post(
            "/org-units",
            admin,
            json!({"kind": "town", "name": "", "code": "12345", "parent_id": w.unit("city_a")}),
        )
        .await;
    r.problem(422, "validation_failed");
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["code", "name"]);
    let r = w.app.post("/org-units", admin, json!({"kind": "town", "name": "x镇", "code": "37088310100a", "parent_id": w.unit("city_a")})).await;
    assert_eq!(r.fields(), vec!["code"]);
    // a village cannot sit under a city
    let r = w.app.post("/org-units", admin, json!({"kind": "village", "name": "x村", "code": "370883001009", "parent_id": w.unit("city_a")})).await;
    assert_eq!(r.fields(), vec!["parent_id"]);
    // another city's unit is not a parent this admin can use
    let r = w.app.post("/org-units", admin, json!({"kind": "village", "name": "x村", "code": "370881100009", "parent_id": w.unit("bt")})).await;
    assert_eq!(r.fields(), vec!["parent_id"]);
    let r = w
        .app
        .post(
            "/org-units",
            admin,
            json!({"kind": "hamlet", "name": "x", "code": "370883001009"}),
        )
        .await;
    assert!(r.fields().contains(&"kind".to_string()));
    // unknown fields are refused, never applied
    let r = w.app.post("/org-units", admin, json!({"kind": "town", "name": "x镇", "code": "370883120000", "parent_id": w.unit("city_a"), "city_id": w.unit("city_b")})).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["city_id"]);
}

#[tokio::test]
async fn non_admins_cannot_shape_the_tree() {
    let w = world().await;
    for who in [
        "town_t1",
        "village_v1",
        "president_a",
        "auditor_a",
        "officer_t1",
        "site_t1",
        "assoc_a",
    ] {
        let r = w.app.post("/org-units", w.tok(who), json!({"kind": "village", "name": "x村", "code": "370883001009", "parent_id": w.unit("t1")})).await;
        r.problem(403, "forbidden");
        let r = w.app.post("/organizations", w.tok(who), json!({"kind": "department", "name": "x", "org_unit_id": w.unit("t1"), "department_type": "health"})).await;
        r.problem(403, "forbidden");
        let r = w.app.post("/users", w.tok(who), json!({"username": "newbie", "display_name": "n", "role": "village_staff", "organization_id": w.orgs["station_v1"], "password": "long-enough"})).await;
        r.problem(403, "forbidden");
    }
}

#[tokio::test]
async fn everyone_sees_exactly_their_part_of_the_tree() {
    let w = world().await;
    let ids = |r: &Resp| -> Vec<String> {
        r.body["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let v = w.app.get("/org-units", w.tok("village_v1")).await;
    assert_eq!(ids(&v), vec![w.unit("v1").to_string()]);
    let t = w.app.get("/org-units", w.tok("town_t1")).await;
    let mut got = ids(&t);
    got.sort();
    let mut want = vec![
        w.unit("t1").to_string(),
        w.unit("v1").to_string(),
        w.unit("v2").to_string(),
    ];
    want.sort();
    assert_eq!(got, want);
    let b = w.app.get("/org-units", w.tok("admin_b")).await;
    assert_eq!(ids(&b).len(), 3);
    assert!(!ids(&b).contains(&w.unit("city_a").to_string()));
    let root = w.app.get("/org-units", w.tok("root")).await;
    assert_eq!(ids(&root).len(), 9);
    // out of scope is the same 404 as missing
    let foreign = w
        .app
        .get(&format!("/org-units/{}", w.unit("v2")), w.tok("village_v1"))
        .await;
    let missing = w
        .app
        .get(
            &format!("/org-units/{}", uuid::Uuid::now_v7()),
            w.tok("village_v1"),
        )
        .await;
    foreign.problem(404, "not_found");
    assert_eq!(foreign.text, missing.text);
    w.app
        .get(
            &format!("/org-units/{}", w.unit("city_a")),
            w.tok("admin_b"),
        )
        .await
        .problem(404, "not_found");
    w.app
        .get("/org-units/not-a-uuid", w.tok("admin_b"))
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn departments_branches_and_sites_are_added_where_they_belong() {
    let w = world().await;
    let admin = w.tok("admin_a");
    let d = w.app.post("/organizations", admin, json!({"kind": "department", "name": "钢山医保办", "org_unit_id": w.unit("t1"), "department_type": "medical_insurance"})).await;
    assert_eq!(d.expect(201)["department_type"], "medical_insurance");
    let r = w.app.post("/organizations", admin, json!({"kind": "department", "name": "x", "org_unit_id": w.unit("v1"), "department_type": "health"})).await;
    assert_eq!(r.fields(), vec!["org_unit_id"]);
    let r = w
        .app
        .post(
            "/organizations",
            admin,
            json!({"kind": "department", "name": "x", "org_unit_id": w.unit("t1")}),
        )
        .await;
    assert_eq!(r.fields(), vec!["department_type"]);
    let b = w.app.post("/organizations", admin, json!({"kind": "association_branch", "name": "第一分会", "org_unit_id": w.unit("city_a")})).await;
    assert_eq!(
        b.expect(201)["parent_organization_id"],
        w.orgs["assoc_a"].to_string()
    );
    let s = w.app.post("/organizations", admin, json!({"kind": "extension_site", "name": "助残就业基地", "org_unit_id": w.unit("v3"), "site_type": "enterprise"})).await;
    s.expect(201);
    // a second town centre is not something one creates
    let r = w
        .app
        .post(
            "/organizations",
            admin,
            json!({"kind": "town_centre", "name": "x", "org_unit_id": w.unit("t1")}),
        )
        .await;
    assert_eq!(r.fields(), vec!["kind"]);
    // another city's town is not in scope
    let r = w.app.post("/organizations", admin, json!({"kind": "department", "name": "x", "org_unit_id": w.unit("bt"), "department_type": "health"})).await;
    assert_eq!(r.fields(), vec!["org_unit_id"]);
    w.app
        .get(
            &format!("/organizations/{}", w.orgs["civil_t1"]),
            w.tok("admin_b"),
        )
        .await
        .problem(404, "not_found");
}

#[tokio::test]
async fn admins_create_users_whose_role_fits_their_organisation() {
    let w = world().await;
    let admin = w.tok("admin_a");
    let r = w.app.post("/users", admin, json!({"username": "v1_second", "display_name": "二号", "role": "village_staff", "organization_id": w.orgs["station_v1"], "password": "long-enough"})).await;
    let user = r.expect(201).clone();
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());
    let r = w.app.post("/users", admin, json!({"username": "V1_SECOND", "display_name": "x", "role": "village_staff", "organization_id": w.orgs["station_v1"], "password": "long-enough"})).await;
    r.problem(409, "duplicate");
    let r = w.app.post("/users", admin, json!({"username": "bad_fit", "display_name": "x", "role": "department_officer", "organization_id": w.orgs["station_v1"], "password": "short"})).await;
    let mut f = r.fields();
    f.sort();
    assert_eq!(f, vec!["password", "role"]);
    let r = w.app.post("/users", admin, json!({"username": "foreign", "display_name": "x", "role": "village_staff", "organization_id": w.orgs["station_bv"], "password": "long-enough"})).await;
    assert_eq!(r.fields(), vec!["organization_id"]);
    // a city admin cannot make a deployment admin
    let r = w.app.post("/users", admin, json!({"username": "godmode", "display_name": "x", "role": "admin", "password": "long-enough"})).await;
    assert_eq!(r.fields(), vec!["organization_id"]);
    // lists hold only the city's users
    let list = w.app.get("/users?limit=200", w.tok("admin_b")).await;
    let names: Vec<&str> = list.expect(200)["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["username"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        names.contains(&"village_bv") && !names.contains(&"village_v1") && !names.contains(&"root")
    );
}
