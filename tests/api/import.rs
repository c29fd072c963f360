//! Importing registers: CSV and XLSX uploads, the per-row report, refusals, and templates.

use crate::support::*;
use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use zhucan::db::schema::{audit_log, helpers, persons};

const PERSONS_HEADER: &str =
    "姓名,身份证号,残疾人证号,残疾类别,残疾等级,村(社区)代码,电话,地址,监护人,监护人电话";

/// A multipart/form-data body with one file part under `field`.
fn form(field: &str, filename: &str, content: &[u8]) -> Vec<u8> {
    multipart_file(field, filename, content).1
}

/// A CSV file from lines (joined with CRLF, as Excel writes them), optionally with a BOM.
fn csv_file(bom: bool, lines: &[String]) -> Vec<u8> {
    let mut out = if bom {
        b"\xEF\xBB\xBF".to_vec()
    } else {
        Vec::new()
    };
    out.extend_from_slice(lines.join("\r\n").as_bytes());
    out.extend_from_slice(b"\r\n");
    out
}

async fn persons_count(w: &World) -> i64 {
    let mut conn = w.app.db().await;
    persons::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("count")
}

fn rows(r: &Resp) -> Vec<Value> {
    r.body["rows"].as_array().cloned().unwrap_or_default()
}

fn statuses(r: &Resp) -> Vec<(i64, String)> {
    rows(r)
        .iter()
        .map(|x| {
            (
                x["row"].as_i64().unwrap_or(0),
                x["status"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn error_fields(row: &Value) -> Vec<String> {
    row["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn masked(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

#[tokio::test]
async fn a_chinese_csv_with_a_bom_creates_persons_shown_masked() {
    let w = world().await;
    let (a, b) = (id_number(101), id_number(102));
    let file = csv_file(
        true,
        &[
            PERSONS_HEADER.to_string(),
            format!("张秀英,{a},,肢体残疾,二级,,13800000001,东关街1号,,"),
            format!("李建国,{b},{b}12,1,2,370883001001,,,李明,13900000002"),
        ],
    );
    let r = upload(&w, "/persons/import", "village_v1", "花名册.csv", &file).await;
    let report = r.expect(200).clone();
    assert_eq!(report["created"], 2, "{}", r.text);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["invalid"], 0);
    assert_eq!(
        statuses(&r),
        vec![(2, "created".into()), (3, "created".into())]
    );
    for row in rows(&r) {
        assert!(row["person_id"].is_string());
        assert_eq!(row["errors"], serde_json::json!([]));
    }
    assert!(!r.text.contains(&a), "the report never shows an ID number");

    let list = w.app.get("/persons?limit=200", w.tok("village_v1")).await;
    let items = list.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 2);
    let first = items
        .iter()
        .find(|p| p["name"] == "张秀英")
        .cloned()
        .unwrap_or_default();
    assert_eq!(first["id_number"], masked(&a));
    assert_eq!(first["disability_category"], "physical");
    assert_eq!(first["disability_grade"], 2);
    assert_eq!(first["village_id"], w.unit("v1").to_string());
    assert_eq!(first["phone"], "13800000001");
    assert_eq!(first["address"], "东关街1号");
    let second = items
        .iter()
        .find(|p| p["name"] == "李建国")
        .cloned()
        .unwrap_or_default();
    assert_eq!(second["disability_category"], "vision");
    assert_eq!(second["guardian_name"], "李明");
    assert_eq!(
        second["disability_cert_number"],
        format!("{}12", masked(&b))
    );
    assert!(!list.text.contains(&a) && !list.text.contains(&b));

    // one audit row for the whole import
    let mut conn = w.app.db().await;
    let audits: Vec<(String, Option<uuid::Uuid>, Vec<String>)> = audit_log::table
        .filter(audit_log::action.eq("import"))
        .select((audit_log::actor, audit_log::person_id, audit_log::fields))
        .load(&mut conn)
        .await
        .expect("audit");
    assert_eq!(
        audits,
        vec![("village_v1".to_string(), None, vec!["persons".to_string()])]
    );
}

#[tokio::test]
async fn english_headers_in_any_case_and_order_are_understood() {
    let w = world().await;
    let file = csv_file(
        false,
        &[
            " Village_Code ,Name,ID_Number,Disability_Category,Disability_Grade,Phone,Guardian_Name,Guardian_Phone,Address,notes".to_string(),
            format!("370883001001,王芳,{},Hearing,3,138 0000 0003,王强,13900000003,西关路2号,ignored", id_number(201)),
            format!("370883001002,赵磊,{},mental,4,,,,,", id_number(202)),
        ],
    );
    let r = upload(&w, "/persons/import", "town_t1", "register.csv", &file).await;
    assert_eq!(r.expect(200)["created"], 2, "{}", r.text);
    let id = rows(&r)[0]["person_id"].as_str().unwrap_or("").to_string();
    let p = w.app.get(&format!("/persons/{id}"), w.tok("town_t1")).await;
    let p = p.expect(200);
    assert_eq!(p["name"], "王芳");
    assert_eq!(p["disability_category"], "hearing");
    assert_eq!(p["disability_grade"], 3);
    assert_eq!(p["phone"], "138 0000 0003");
    assert_eq!(p["guardian_name"], "王强");
    assert_eq!(p["guardian_phone"], "13900000003");
    assert_eq!(p["village_id"], w.unit("v1").to_string());
    let second = rows(&r)[1]["person_id"].as_str().unwrap_or("").to_string();
    let p2 = w
        .app
        .get(&format!("/persons/{second}"), w.tok("town_t1"))
        .await;
    assert_eq!(p2.expect(200)["village_id"], w.unit("v2").to_string());
}

#[tokio::test]
async fn an_xlsx_register_imports_with_numbers_as_excel_stores_them() {
    let w = world().await;
    let ok_id = id_number(301);
    let numeric_id = id_number(302);
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    // a title row above the header, as registers often have
    sheet
        .write_string(0, 0, "东关社区残疾人花名册")
        .expect("title");
    for (c, h) in PERSONS_HEADER.split(',').enumerate() {
        sheet.write_string(1, c as u16, h).expect("header");
    }
    sheet.write_string(2, 0, "孙丽").expect("cell");
    sheet.write_string(2, 1, &ok_id).expect("cell");
    sheet.write_string(2, 3, "智力").expect("cell");
    sheet.write_number(2, 4, 3.0).expect("cell");
    sheet.write_number(2, 5, 370883001001.0).expect("cell");
    sheet.write_number(2, 6, 13800000004.0).expect("cell");
    // an ID typed as a number loses its last digits in Excel
    sheet.write_string(3, 0, "周强").expect("cell");
    sheet
        .write_number(3, 1, numeric_id.parse::<f64>().unwrap_or(0.0))
        .expect("cell");
    sheet.write_string(3, 3, "肢体").expect("cell");
    sheet.write_number(3, 4, 1.0).expect("cell");
    sheet.write_number(3, 5, 370883001001.0).expect("cell");
    // a footnote under the register, outside the known columns, is not a row to import
    sheet.write_string(5, 11, "制表人：张三").expect("cell");
    let bytes = book.save_to_buffer().expect("xlsx");

    // the name says .csv: the content decides
    let r = upload(&w, "/persons/import", "town_t1", "upload.csv", &bytes).await;
    let report = r.expect(200).clone();
    assert_eq!(report["created"], 1, "{}", r.text);
    assert_eq!(report["invalid"], 1);
    assert_eq!(
        statuses(&r),
        vec![(3, "created".into()), (4, "invalid".into())]
    );
    let bad = &rows(&r)[1];
    assert_eq!(error_fields(bad), vec!["id_number"]);
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("text"),
        "{bad}"
    );
    let id = rows(&r)[0]["person_id"].as_str().unwrap_or("").to_string();
    let p = w.app.get(&format!("/persons/{id}"), w.tok("town_t1")).await;
    let p = p.expect(200);
    assert_eq!(p["disability_grade"], 3);
    assert_eq!(p["disability_category"], "intellectual");
    assert_eq!(p["phone"], "13800000004");
    assert_eq!(p["id_number"], masked(&ok_id));
}

#[tokio::test]
async fn invalid_rows_are_reported_and_the_valid_ones_still_created() {
    let w = world().await;
    let good = id_number(401);
    let mut bad_check = id_number(402);
    let last = bad_check.pop().unwrap_or('0');
    bad_check.push(if last == '1' { '2' } else { '1' });
    let cert_other = id_number(408);
    let file = csv_file(
        true,
        &[
            PERSONS_HEADER.to_string(),
            format!("好人,{good},,肢体,2,370883001001,,,,"),
            format!("坏校验,{bad_check},,肢体,2,370883001001,,,,"),
            format!("坏等级,{},,肢体,5,370883001001,,,,", id_number(403)),
            format!("外镇,{},,肢体,2,370883100001,,,,", id_number(404)),
            format!("坏类别,{},,腿脚,2,370883001001,,,,", id_number(405)),
            format!("无此村,{},,肢体,2,370883999999,,,,", id_number(406)),
            format!("坏电话,{},,肢体,2,370883001001,abc,,,", id_number(407)),
            format!(
                "证号不符,{},{cert_other}42,肢体,2,370883001001,,,,",
                id_number(409)
            ),
            format!(",{},,肢体,2,,,,,", id_number(410)),
        ],
    );
    let before = persons_count(&w).await;
    let r = upload(&w, "/persons/import", "town_t1", "x.csv", &file).await;
    let report = r.expect(200).clone();
    assert_eq!(report["created"], 1, "{}", r.text);
    assert_eq!(report["invalid"], 8);
    assert_eq!(persons_count(&w).await, before + 1);
    let rs = rows(&r);
    assert_eq!(rs[0]["status"], "created");
    let expect: &[(usize, &[&str])] = &[
        (1, &["id_number"]),
        (2, &["disability_grade"]),
        (3, &["village_code"]),
        (4, &["disability_category"]),
        (5, &["village_code"]),
        (6, &["phone"]),
        (7, &["disability_cert_number"]),
        (8, &["name", "village_code"]),
    ];
    for (i, fields) in expect {
        assert_eq!(rs[*i]["status"], "invalid", "{}", rs[*i]);
        assert_eq!(rs[*i]["row"], (*i + 2) as i64);
        assert!(rs[*i]["person_id"].is_null());
        assert_eq!(error_fields(&rs[*i]), *fields, "{}", rs[*i]);
    }
    assert!(rs[1]["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("check digit"));
    assert!(rs[3]["errors"][0]["message"]
        .as_str()
        .unwrap_or("")
        .contains("scope"));
}

#[tokio::test]
async fn duplicates_point_at_the_registered_person_when_in_scope() {
    let w = world().await;
    let mine = w.person("village_v1", "v1", 501).await;
    let elsewhere = w
        .app
        .post(
            "/persons",
            w.tok("village_bv"),
            serde_json::json!({"name": "乙市人", "id_number": id_number(502), "disability_category": "vision", "disability_grade": 1}),
        )
        .await;
    elsewhere.expect(201);
    let file = csv_file(
        false,
        &[
            PERSONS_HEADER.to_string(),
            format!("已登记,{},,肢体,2,370883001001,,,,", id_number(501)),
            format!("外市已登记,{},,肢体,2,370883001001,,,,", id_number(502)),
            format!("新人,{},,肢体,2,370883001002,,,,", id_number(503)),
            format!("新人重复,{},,肢体,2,370883001002,,,,", id_number(503)),
            format!("已登记重复,{},,肢体,2,370883001001,,,,", id_number(501)),
        ],
    );
    let before = persons_count(&w).await;
    let r = upload(&w, "/persons/import", "town_t1", "dup.csv", &file).await;
    let report = r.expect(200).clone();
    assert_eq!(report["created"], 1, "{}", r.text);
    assert_eq!(report["duplicates"], 4);
    assert_eq!(report["invalid"], 0);
    assert_eq!(persons_count(&w).await, before + 1);
    let rs = rows(&r);
    assert_eq!(
        statuses(&r),
        vec![
            (2, "duplicate".into()),
            (3, "duplicate".into()),
            (4, "created".into()),
            (5, "duplicate".into()),
            (6, "duplicate".into()),
        ]
    );
    assert_eq!(rs[0]["person_id"], mine["id"]);
    assert!(
        rs[1]["person_id"].is_null(),
        "another city's person stays unseen"
    );
    assert!(rs[2]["person_id"].is_string());
    assert_eq!(rs[3]["person_id"], rs[2]["person_id"]);
    assert_eq!(rs[4]["person_id"], mine["id"]);

    // a village that cannot see the registered person gets no id
    let file = csv_file(
        false,
        &[
            PERSONS_HEADER.to_string(),
            format!("已登记,{},,肢体,2,,,,,", id_number(501)),
        ],
    );
    let r = upload(&w, "/persons/import", "village_v2", "dup.csv", &file).await;
    assert_eq!(r.expect(200)["duplicates"], 1, "{}", r.text);
    assert!(rows(&r)[0]["person_id"].is_null());
}

#[tokio::test]
async fn malformed_files_are_refused_and_nothing_is_written() {
    let w = world().await;
    let valid_row = format!("好人,{},,肢体,2,370883001001,,,,", id_number(601));
    let before = persons_count(&w).await;

    // a header without the id_number column names it
    let file = csv_file(
        false,
        &[
            "姓名,残疾类别,残疾等级,村(社区)代码".to_string(),
            "好人,肢体,2,370883001001".to_string(),
        ],
    );
    let r = upload(&w, "/persons/import", "town_t1", "x.csv", &file).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["id_number"]);

    // town staff must name the village
    let file = csv_file(
        false,
        &[
            "姓名,身份证号,残疾类别,残疾等级".to_string(),
            format!("好人,{},肢体,2", id_number(601)),
        ],
    );
    let r = upload(&w, "/persons/import", "town_t1", "x.csv", &file).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["village_code"]);

    let mut noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    noise[0] = 0xff;
    let png =
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
    let broken_zip = b"PK\x03\x04 this is not really a workbook".to_vec();
    for (name, content) in [
        ("random.csv", noise),
        ("image.png", png),
        ("empty.csv", Vec::new()),
        ("bom-only.csv", b"\xEF\xBB\xBF\r\n".to_vec()),
        ("broken.xlsx", broken_zip),
    ] {
        let r = upload(&w, "/persons/import", "town_t1", name, &content).await;
        r.problem(422, "validation_failed");
        assert_eq!(r.fields(), vec!["file"], "{name}: {}", r.text);
    }

    // 20 MB is over the limit, even when it starts like a valid register
    let mut huge = csv_file(false, &[PERSONS_HEADER.to_string(), valid_row.clone()]);
    huge.resize(20 * 1024 * 1024, b' ');
    let r = upload(&w, "/persons/import", "town_t1", "huge.csv", &huge).await;
    r.problem(413, "payload_too_large");

    // not multipart at all
    let file = csv_file(false, &[PERSONS_HEADER.to_string(), valid_row.clone()]);
    let r = post_raw(&w, "/persons/import", "town_t1", "text/csv", file.clone()).await;
    r.problem(415, "unsupported_media_type");
    let r = post_raw(
        &w,
        "/persons/import",
        "town_t1",
        "application/json",
        b"{}".to_vec(),
    )
    .await;
    r.problem(415, "unsupported_media_type");

    // multipart without a `file` field, or broken
    let r = post_raw(
        &w,
        "/persons/import",
        "town_t1",
        &format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
        form("attachment", "x.csv", &file),
    )
    .await;
    r.problem(400, "malformed_body");
    let r = post_raw(
        &w,
        "/persons/import",
        "town_t1",
        "multipart/form-data; boundary=another-boundary",
        form("file", "x.csv", &file),
    )
    .await;
    r.problem(400, "malformed_body");

    assert_eq!(persons_count(&w).await, before);
    // and the same row in a well-formed upload goes in
    let r = upload(&w, "/persons/import", "town_t1", "x.csv", &file).await;
    assert_eq!(r.expect(200)["created"], 1, "{}", r.text);
}

#[tokio::test]
async fn only_care_roles_import() {
    let w = world().await;
    let file = csv_file(
        false,
        &[
            PERSONS_HEADER.to_string(),
            format!("好人,{},,肢体,2,370883001001,,,,", id_number(701)),
        ],
    );
    for who in ["auditor_a", "officer_t1", "president_a", "site_t1"] {
        upload(&w, "/persons/import", who, "x.csv", &file)
            .await
            .problem(403, "forbidden");
        upload(&w, "/helpers/import", who, "x.csv", &file)
            .await
            .problem(403, "forbidden");
    }
    let res = w
        .app
        .client
        .post(format!("{}/api/v1/persons/import", w.app.base))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
        )
        .body(form("file", "x.csv", &file))
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 401);
    assert_eq!(persons_count(&w).await, 0);
    // admins of either city may
    let r = upload(&w, "/persons/import", "admin_a", "x.csv", &file).await;
    assert_eq!(r.expect(200)["created"], 1, "{}", r.text);
}

#[tokio::test]
async fn templates_download_in_both_formats_and_parse_back() {
    use calamine::{Data, Reader};
    let w = world().await;
    for (path, header, file) in [
        (
            "/persons/import/template",
            PERSONS_HEADER,
            "persons-template",
        ),
        (
            "/helpers/import/template",
            "姓名,电话,类型,村(社区)代码",
            "helpers-template",
        ),
    ] {
        // any signed-in role may download
        let (status, headers, csv) = download(&w, path, "auditor_a").await;
        assert_eq!(status, 200);
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(
            headers
                .get("content-disposition")
                .and_then(|v| v.to_str().ok()),
            Some(format!("attachment; filename=\"{file}.csv\"").as_str())
        );
        assert!(csv.starts_with(b"\xEF\xBB\xBF"), "BOM");
        let text = String::from_utf8(csv[3..].to_vec()).unwrap_or_default();
        assert_eq!(text.trim_end(), header);
        let (_, _, same) = download(&w, &format!("{path}?format=csv"), "village_v1").await;
        assert_eq!(same, csv);

        let (status, headers, bytes) =
            download(&w, &format!("{path}?format=xlsx"), "officer_t1").await;
        assert_eq!(status, 200);
        assert_eq!(
            headers.get("content-type").and_then(|v| v.to_str().ok()),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        );
        assert_eq!(
            headers
                .get("content-disposition")
                .and_then(|v| v.to_str().ok()),
            Some(format!("attachment; filename=\"{file}.xlsx\"").as_str())
        );
        let mut book: calamine::Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.clone())).expect("open");
        let range = book.worksheet_range_at(0).expect("a sheet").expect("range");
        let first: Vec<String> = range
            .rows()
            .next()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(first, header.split(',').collect::<Vec<_>>());
        assert_eq!(range.height(), 1, "just the header");

        // an untouched template uploads as an empty register
        let target = path.trim_end_matches("/template");
        let r = upload(&w, target, "village_v1", "t.xlsx", &bytes).await;
        let r = r.expect(200);
        assert_eq!(r["created"], 0);
        assert_eq!(r["rows"], serde_json::json!([]));

        let bad = w
            .app
            .get(&format!("{path}?format=pdf"), w.tok("auditor_a"))
            .await;
        bad.problem(422, "validation_failed");
        assert_eq!(bad.fields(), vec!["format"]);
    }
}

#[tokio::test]
async fn helpers_import_with_kinds_in_chinese_and_duplicates() {
    let w = world().await;
    let file = csv_file(
        true,
        &[
            "姓名,电话,类型,村(社区)代码".to_string(),
            "刘志愿,13800000011,志愿者,370883001001".to_string(),
            "陈书记,13800000012,村干部,370883001002".to_string(),
            "郑某,,party_member,370883001001".to_string(),
            "王厨师,13800000013,厨师,370883001001".to_string(),
            "刘志愿,13800000011,志愿者,370883001001".to_string(),
            "马网格,13800000014,网格员,370883100001".to_string(),
        ],
    );
    let r = upload(&w, "/helpers/import", "town_t1", "helpers.csv", &file).await;
    let report = r.expect(200).clone();
    assert_eq!(report["created"], 3, "{}", r.text);
    assert_eq!(report["duplicates"], 1);
    assert_eq!(report["invalid"], 2);
    let rs = rows(&r);
    assert_eq!(
        statuses(&r),
        vec![
            (2, "created".into()),
            (3, "created".into()),
            (4, "created".into()),
            (5, "invalid".into()),
            (6, "duplicate".into()),
            (7, "invalid".into()),
        ]
    );
    assert_eq!(error_fields(&rs[3]), vec!["kind"]);
    assert_eq!(error_fields(&rs[5]), vec!["village_code"]);
    assert_eq!(rs[4]["helper_id"], rs[0]["helper_id"]);
    let id = rs[1]["helper_id"].as_str().unwrap_or("").to_string();
    let h = w.app.get(&format!("/helpers/{id}"), w.tok("town_t1")).await;
    let h = h.expect(200);
    assert_eq!(h["kind"], "village_cadre");
    assert_eq!(h["village_id"], w.unit("v2").to_string());
    assert_eq!(h["phone"], "13800000012");

    // importing the same file again creates nothing new
    let again = upload(&w, "/helpers/import", "town_t1", "helpers.csv", &file).await;
    let again_report = again.expect(200).clone();
    assert_eq!(again_report["created"], 0, "{}", again.text);
    assert_eq!(again_report["duplicates"], 4);
    assert_eq!(rows(&again)[0]["helper_id"], rs[0]["helper_id"]);
    let mut conn = w.app.db().await;
    // (the fixture's own signed-in helper, helper_v1's record, is not one of them)
    let n: i64 = helpers::table
        .filter(helpers::user_id.is_null())
        .count()
        .get_result(&mut conn)
        .await
        .expect("count");
    assert_eq!(n, 3);

    // village staff may leave the village out: their own
    let file = csv_file(
        false,
        &["name,kind".to_string(), "本村亲属,家属".to_string()],
    );
    let r = upload(&w, "/helpers/import", "village_v3", "h.csv", &file).await;
    let id = rows(&r)[0]["helper_id"].as_str().unwrap_or("").to_string();
    assert_eq!(r.expect(200)["created"], 1, "{}", r.text);
    let h = w
        .app
        .get(&format!("/helpers/{id}"), w.tok("village_v3"))
        .await;
    assert_eq!(h.expect(200)["village_id"], w.unit("v3").to_string());
    assert_eq!(h.body["kind"], "family");
}

#[tokio::test]
async fn ten_thousand_rows_import_in_one_request() {
    let w = world().await;
    let villages = ["370883001001", "370883001002", "370883100001"];
    let categories = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"];
    let start = chrono::NaiveDate::from_ymd_opt(1940, 1, 1).expect("date");
    let mut lines = vec![PERSONS_HEADER.to_string()];
    for i in 0..10_000u32 {
        let birth = start + chrono::Duration::days(i64::from(i / 7) * 3);
        let id = zhucan::domain::resident_id::make_valid("370883", birth, (i % 7 * 100) as u16);
        lines.push(format!(
            "批量{i},{id},,{},{},{},1380000{:04},幸福路{i}号,,",
            categories[(i % 7) as usize],
            i % 4 + 1,
            villages[(i % 3) as usize],
            i % 10_000,
        ));
    }
    let file = csv_file(true, &lines);
    let started = std::time::Instant::now();
    let r = upload(&w, "/persons/import", "admin_a", "bulk.csv", &file).await;
    let elapsed = started.elapsed();
    eprintln!("imported 10,000 persons in {elapsed:?}");
    let report = r.expect(200);
    assert_eq!(
        report["created"],
        10_000,
        "{}",
        &r.text[..r.text.len().min(2000)]
    );
    assert_eq!(report["invalid"], 0);
    assert_eq!(persons_count(&w).await, 10_000);

    // the same register again, as a workbook: every row is now a duplicate in scope
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (r, line) in lines.iter().enumerate() {
        for (c, v) in line.split(',').enumerate() {
            sheet.write_string(r as u32, c as u16, v).expect("cell");
        }
    }
    let bytes = book.save_to_buffer().expect("xlsx");
    let started = std::time::Instant::now();
    let r = upload(&w, "/persons/import", "admin_a", "bulk.xlsx", &bytes).await;
    eprintln!(
        "re-imported 10,000 persons from XLSX (all duplicates) in {:?}",
        started.elapsed()
    );
    let report = r.expect(200);
    assert_eq!(report["duplicates"], 10_000);
    assert_eq!(report["created"], 0);
    assert!(rows(&r).iter().all(|x| x["person_id"].is_string()));
    assert_eq!(persons_count(&w).await, 10_000);
}

#[tokio::test]
async fn a_streamed_body_without_a_length_is_cut_off_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = world().await;
    let addr = w.app.base.trim_start_matches("http://").to_string();
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let head = format!(
        "POST /api/v1/persons/import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: multipart/form-data; boundary={MULTIPART_BOUNDARY}\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        w.tok("town_t1")
    );
    let writer = tokio::spawn(async move {
        wr.write_all(head.as_bytes()).await?;
        let preamble = format!(
            "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n{PERSONS_HEADER}\r\n"
        );
        let block = vec![b' '; 1 << 20];
        for chunk in std::iter::once(preamble.into_bytes()).chain(std::iter::repeat_n(block, 24)) {
            wr.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            wr.write_all(&chunk).await?;
            wr.write_all(b"\r\n").await?;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        rd.read_to_end(&mut answer),
    )
    .await;
    assert!(
        read.is_ok(),
        "the server answers without waiting for the end"
    );
    writer.abort();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("payload_too_large"), "{text}");
    assert_eq!(persons_count(&w).await, 0);
}
