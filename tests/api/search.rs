//! `?q=` on needs and persons: the exact case number, a name containing the text, the exact
//! phone number (through its keyed hash, never the clear number), always within scope.

use crate::support::*;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// The ids a list answers.
async fn ids(w: &World, who: &str, path: &str) -> Vec<String> {
    let r = w.app.get(path, w.tok(who)).await;
    item_ids(r.expect(200))
}

fn q(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Registers a person with a name and phones; returns its id.
async fn person(w: &World, n: u32, name: &str, phone: &str, guardian: Option<&str>) -> String {
    let r = w
        .app
        .post(
            "/persons",
            w.tok("village_v1"),
            json!({"name": name, "id_number": id_number(n), "disability_category": "vision",
                   "disability_grade": 1, "village_id": w.unit("v1"), "phone": phone, "guardian_phone": guardian}),
        )
        .await;
    s(r.expect(201), "id")
}

#[tokio::test]
async fn needs_are_found_by_case_number_name_or_phone_within_scope() {
    let w = world().await;
    let zhang = person(&w, 1, "张三丰", "138 0000 1111", Some("137-0000-2222")).await;
    let li = person(&w, 2, "李四", "13900003333", None).await;
    let nz = w.need("village_v1", &zhang).await;
    let nl = w.need("village_v1", &li).await;
    let (nz_id, nl_id) = (s(&nz, "id"), s(&nl, "id"));
    let find = async |who: &str, text: &str| ids(&w, who, &format!("/needs?q={}", q(text))).await;
    assert_eq!(
        find("village_v1", &s(&nz, "case_number")).await,
        vec![nz_id.clone()]
    );
    assert_eq!(find("village_v1", "三丰").await, vec![nz_id.clone()]);
    assert_eq!(find("town_t1", "李").await, vec![nl_id.clone()]);
    // the exact phone however it is written, the guardian's too; a part of one finds nothing
    assert_eq!(find("village_v1", "13800001111").await, vec![nz_id.clone()]);
    assert_eq!(
        find("village_v1", "+86 138-0000-1111").await,
        vec![nz_id.clone()]
    );
    assert_eq!(find("village_v1", "13700002222").await, vec![nz_id.clone()]);
    assert!(find("village_v1", "1380000").await.is_empty());
    // with the other filters
    let both = ids(
        &w,
        "village_v1",
        &format!("/needs?q=13900003333&person_id={li}"),
    )
    .await;
    assert_eq!(both, vec![nl_id.clone()]);
    // out of scope: another village, another city, a department it was never referred to
    for who in ["village_v2", "admin_b", "officer_t1"] {
        assert!(find(who, &s(&nz, "case_number")).await.is_empty(), "{who}");
        assert!(find(who, "13800001111").await.is_empty(), "{who}");
        assert!(find(who, "张").await.is_empty(), "{who}");
    }
    // the clear phone is not what the database matches: the hash column holds no digits
    let mut db = w.app.db().await;
    use zhucan::db::schema::persons;
    let hash: Option<Vec<u8>> = persons::table
        .filter(persons::id.eq(zhang.parse::<uuid::Uuid>().expect("id")))
        .select(persons::phone_hash)
        .first(&mut db)
        .await
        .expect("hash");
    let hash = hash.expect("hashed at registration");
    assert_eq!(Some(hash), w.app.state.pii.phone_index("13800001111"));
}

#[tokio::test]
async fn persons_are_found_by_name_or_phone_and_edits_move_the_phone_hash() {
    let w = world().await;
    let wang = person(&w, 11, "王五", "13811112222", Some("13722223333")).await;
    let _zhao = person(&w, 12, "赵六", "13844445555", None).await;
    let find = async |who: &str, text: &str| ids(&w, who, &format!("/persons?q={}", q(text))).await;
    assert_eq!(find("village_v1", "王").await, vec![wang.clone()]);
    assert_eq!(find("village_v1", "13811112222").await, vec![wang.clone()]);
    assert_eq!(find("town_t1", "137 2222 3333").await, vec![wang.clone()]);
    assert_eq!(
        find("village_v1", "").await.len(),
        2,
        "a blank query filters nothing"
    );
    assert!(find("village_v2", "13811112222").await.is_empty());
    assert!(find("village_v2", "王").await.is_empty());
    // a new phone is found, the old one no longer
    let r = w
        .app
        .patch(
            &format!("/persons/{wang}"),
            w.tok("village_v1"),
            json!({"phone": "13899990000", "guardian_phone": null}),
            Some(1),
        )
        .await;
    r.expect(200);
    assert_eq!(find("village_v1", "13899990000").await, vec![wang.clone()]);
    assert!(find("village_v1", "13811112222").await.is_empty());
    assert!(find("village_v1", "13722223333").await.is_empty());
    // an import hashes too
    let csv = format!(
        "name,id_number,disability_category,disability_grade,village_code,phone\n钱七,{},physical,2,370883001001,13866667777\n",
        id_number(13)
    );
    let (ct, body) = multipart_file("file", "p.csv", csv.as_bytes());
    let r = w
        .app
        .client
        .post(format!("{}/api/v1/persons/import", w.app.base))
        .bearer_auth(w.tok("village_v1"))
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("import");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(find("village_v1", "13866667777").await.len(), 1);
}

#[tokio::test]
async fn older_rows_get_their_phone_hashes_at_start_and_a_key_rotation_rehashes_them() {
    use zhucan::db::schema::persons;
    let w = world().await;
    let id = person(&w, 21, "孙八", "13855556666", Some("13766667777")).await;
    let mut db = w.app.db().await;
    // rows written before phones were hashed
    diesel::update(persons::table)
        .set((
            persons::phone_hash.eq(None::<Vec<u8>>),
            persons::guardian_phone_hash.eq(None::<Vec<u8>>),
        ))
        .execute(&mut db)
        .await
        .expect("unhash");
    let find = async |text: &str| ids(&w, "village_v1", &format!("/persons?q={text}")).await;
    assert!(find("13855556666").await.is_empty());
    let filled = zhucan::tools::rotate_pii_key::hash_phones(&mut db, &w.app.state.pii)
        .await
        .expect("fill");
    assert_eq!(filled, 1);
    assert_eq!(find("13855556666").await, vec![id.clone()]);
    assert_eq!(find("13766667777").await, vec![id.clone()]);
    assert_eq!(
        zhucan::tools::rotate_pii_key::hash_phones(&mut db, &w.app.state.pii)
            .await
            .expect("fill"),
        0,
        "nothing left"
    );
    // a rotation rehashes the phones under the new key
    let new_key = [9u8; 32];
    let during = zhucan::domain::pii::PiiCipher::with_previous(
        &new_key,
        b"zhucan-dev-pii-key-not-for-prod!",
    );
    zhucan::tools::rotate_pii_key::rotate(&mut db, &during)
        .await
        .expect("rotate");
    let after = zhucan::domain::pii::PiiCipher::new(&new_key);
    let (phone, guardian): (Option<Vec<u8>>, Option<Vec<u8>>) = persons::table
        .filter(persons::id.eq(id.parse::<uuid::Uuid>().expect("id")))
        .select((persons::phone_hash, persons::guardian_phone_hash))
        .first(&mut db)
        .await
        .expect("hashes");
    assert_eq!(phone, after.phone_index("13855556666"));
    assert_eq!(guardian, after.phone_index("13766667777"));
}
