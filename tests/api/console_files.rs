//! The console's attachments (the 附件 section of a need's and a person's page, its upload form
//! and the download) and the helper's phone page (我的帮扶对象, 记录走访, 反映诉求), over HTTP.

use crate::attachments::{jpeg, pdf};
use crate::console::{signed_in, Browser};
use crate::support::*;
use serde_json::{json, Value};

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// The console's upload form as a browser sends it: the CSRF token, then the file.
fn upload_form(csrf: &str, filename: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!("--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{MULTIPART_BOUNDARY}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
        body,
    )
}

async fn send_file(
    b: &mut Browser,
    page: &str,
    action: &str,
    name: &str,
    bytes: &[u8],
) -> crate::console::Page {
    let csrf = b.get(page).await.hidden("csrf");
    let (ct, body) = upload_form(&csrf, name, bytes);
    b.post_raw(action, &ct, body).await
}

#[tokio::test]
async fn a_file_uploaded_on_a_need_page_is_listed_there_and_downloads_as_the_api_serves_it() {
    let w = world().await;
    let p = s(&w.person("village_v1", "v1", 1).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let page = format!("/needs/{n}");
    let mut b = signed_in(&w, "village_v1").await;
    let shown = b.get(&page).await;
    shown.expect(200);
    assert!(shown.text.contains("附件") && shown.text.contains("还没有附件"));
    assert!(shown
        .text
        .contains(&format!("action=\"/needs/{n}/attachments\"")));
    assert!(shown.text.contains("enctype=\"multipart/form-data\""));
    let r = send_file(
        &mut b,
        &page,
        &format!("/needs/{n}/attachments"),
        "申请表.pdf",
        &pdf("console"),
    )
    .await;
    r.expect(303);
    assert_eq!(r.location(), format!("/needs/{n}?done=attach"));
    let after = b.get(r.location()).await;
    assert!(after.text.contains("附件已上传"));
    assert!(after.text.contains("申请表.pdf"));
    // the same row the API lists, with the `attach` event in the history
    let list = w
        .app
        .get(&format!("/needs/{n}/attachments"), w.tok("village_v1"))
        .await;
    let items = list.expect(200)["items"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(items.len(), 1);
    let id = s(&items[0], "id");
    assert_eq!(
        s(&items[0], "uploaded_by"),
        w.users["village_v1"].to_string()
    );
    assert!(after.text.contains(&format!("href=\"/attachments/{id}\"")));
    assert!(w.history(&n).await.iter().any(|(a, _, _)| a == "attach"));
    // the download through the session: the bytes, as an attachment, never rendered in place
    let file = b.get(&format!("/attachments/{id}")).await;
    file.expect(200);
    assert_eq!(file.text.as_bytes(), pdf("console").as_slice());
    let h = |k: &str| {
        file.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert!(h("content-disposition").starts_with("attachment;"));
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert!(h("content-security-policy").contains("sandbox"));
    // another village's worker: the page and the file are not there
    let mut other = signed_in(&w, "village_v2").await;
    other.get(&format!("/attachments/{id}")).await.expect(404);
    let refused = send_file(
        &mut other,
        "/",
        &format!("/needs/{n}/attachments"),
        "x.pdf",
        &pdf("x"),
    )
    .await;
    refused.expect(404);
    assert_eq!(
        w.app
            .get(&format!("/needs/{n}/attachments"), w.tok("village_v1"))
            .await
            .body["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn a_refused_file_says_why_in_chinese_and_a_form_without_its_token_keeps_nothing() {
    let w = world().await;
    let p = s(&w.person("village_v1", "v1", 2).await, "id");
    let page = format!("/persons/{p}");
    let action = format!("/persons/{p}/attachments");
    let mut b = signed_in(&w, "village_v1").await;
    let r = send_file(
        &mut b,
        &page,
        &action,
        "证明.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00 not a pdf",
    )
    .await;
    r.expect(415);
    assert!(
        r.text.contains("只能上传 JPEG、PNG 图片或 PDF 文件"),
        "{}",
        r.text
    );
    assert!(r.text.contains("role=\"alert\""));
    let mut big = pdf("big");
    big.resize(10 * 1024 * 1024 + 1, b' ');
    let r = send_file(&mut b, &page, &action, "big.pdf", &big).await;
    r.expect(413);
    assert!(r.text.contains("文件超过 10 MB"));
    // without the session's token (another site's form): 403 before a byte is kept
    let (ct, body) = upload_form("forged", "证.jpg", &jpeg("forged"));
    b.post_raw(&action, &ct, body).await.expect(403);
    let list = w
        .app
        .get(&format!("/persons/{p}/attachments"), w.tok("village_v1"))
        .await;
    assert_eq!(list.expect(200)["items"].as_array().map(Vec::len), Some(0));
    // and a good one lands on the person's page
    let r = send_file(&mut b, &page, &action, "残疾证.jpg", &jpeg("ok")).await;
    r.expect(303);
    let shown = b.get(r.location()).await;
    assert!(shown.text.contains("残疾证.jpg") && shown.text.contains("JPEG 图片"));
}

#[tokio::test]
async fn roles_that_may_not_attach_see_the_files_and_no_upload_form() {
    let w = world().await;
    let p = s(&w.person("village_v1", "v1", 3).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let r = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "a.pdf",
        &pdf("seen"),
    )
    .await;
    r.expect(201);
    for who in ["auditor_t1", "president_a"] {
        let mut b = signed_in(&w, who).await;
        let need = b.get(&format!("/needs/{n}")).await;
        need.expect(200);
        assert!(need.text.contains("a.pdf"), "{who}");
        let person = b.get(&format!("/persons/{p}")).await;
        assert!(
            !person
                .text
                .contains(&format!("action=\"/persons/{p}/attachments\"")),
            "{who}"
        );
    }
    let mut auditor = signed_in(&w, "auditor_t1").await;
    let need = auditor.get(&format!("/needs/{n}")).await;
    assert!(!need.text.contains("enctype=\"multipart/form-data\""));
    let r = send_file(
        &mut auditor,
        &format!("/needs/{n}"),
        &format!("/needs/{n}/attachments"),
        "x.pdf",
        &pdf("x"),
    )
    .await;
    r.expect(403);
}

#[tokio::test]
async fn a_helper_on_a_phone_sees_its_persons_records_a_visit_and_reports_a_need() {
    let w = world().await;
    let me = w.helper_record("helper_v1").await;
    let others = [
        w.helper("village_v1", "v1", "组员一").await,
        w.helper("village_v1", "v1", "组员二").await,
    ];
    let mine = w.person("village_v1", "v1", 4).await;
    let p = s(&mine, "id");
    w.app
        .put(
            &format!("/persons/{p}/contact-group"),
            w.tok("village_v1"),
            json!({"helper_ids": [me, others[0], others[1]]}),
        )
        .await
        .expect(200);
    let stranger = w.person("village_v1", "v1", 5).await;
    let mut b = signed_in(&w, "helper_v1").await;
    // its start page is its persons, not a desk
    let start = b.get("/").await;
    start.expect(303);
    assert_eq!(start.location(), "/my");
    let page = b.get("/my").await;
    page.expect(200);
    assert!(page.text.contains("我的帮扶对象"));
    assert!(page.text.contains(&s(&mine, "name")));
    assert!(
        !page.text.contains(&s(&stranger, "name")),
        "only its own groups"
    );
    assert!(page
        .text
        .contains(&format!("href=\"/persons/{p}/needs/new\"")));
    assert!(
        !page.text.contains("href=\"/reports/coverage\""),
        "no reports for a helper"
    );
    // another person is not there at all
    b.get(&format!("/persons/{}", s(&stranger, "id")))
        .await
        .expect(404);
    // 记录走访: the helper is the visitor, with no one to choose
    let person = b.get(&format!("/persons/{p}")).await;
    person.expect(200);
    assert!(person.text.contains("记录走访"));
    assert!(!person.text.contains("name=\"helper_id\""));
    assert!(!person
        .text
        .contains(&format!("action=\"/persons/{p}/group\"")));
    let csrf = person.hidden("csrf");
    let r = b
        .post(
            &format!("/persons/{p}/visits"),
            &[("csrf", &csrf), ("notes", "上门看望，轮椅坏了")],
        )
        .await;
    r.expect(303);
    let visits = w
        .app
        .get(&format!("/persons/{p}/visits"), w.tok("village_v1"))
        .await;
    let v = &visits.expect(200)["items"][0];
    assert_eq!(s(v, "helper_id"), me.to_string());
    assert_eq!(s(v, "recorded_by"), w.users["helper_v1"].to_string());
    // 反映诉求: filed as reported by the helper itself
    let form = b.get(&format!("/persons/{p}/needs/new")).await;
    form.expect(200);
    let r = b
        .post(
            &format!("/persons/{p}/needs/new"),
            &[
                ("csrf", &form.hidden("csrf")),
                ("idempotency_key", &form.hidden("idempotency_key")),
                ("category", "assistive_device"),
                ("description", "轮椅坏了，需要维修"),
            ],
        )
        .await;
    r.expect(303);
    let need_id = r
        .location()
        .trim_start_matches("/needs/")
        .split('?')
        .next()
        .unwrap_or("")
        .to_string();
    let need = w
        .app
        .get(&format!("/needs/{need_id}"), w.tok("village_v1"))
        .await;
    let need = need.expect(200);
    assert_eq!(s(need, "reporting_helper_id"), me.to_string());
    assert_eq!(s(need, "state"), "reported");
    // and reads what becomes of it, without a form it may not use
    let shown = b.get(&format!("/needs/{need_id}")).await;
    shown.expect(200);
    assert!(
        !shown.text.contains("enctype=\"multipart/form-data\""),
        "a helper attaches nothing"
    );
}

#[tokio::test]
async fn a_department_officer_reads_the_persons_certificate_on_the_need_before_signing_for_it() {
    let w = world().await;
    let p = s(&w.person("village_v1", "v1", 6).await, "id");
    let scan = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "残疾证.jpg",
        &jpeg("cert"),
    )
    .await;
    let scan = s(scan.expect(201), "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    w.step("vdpf_v1", &n, "register", json!({"loop": "policy"}))
        .await;
    let mut officer = signed_in(&w, "officer_t1").await;
    // not yet referred: the need is not the officer's
    officer.get(&format!("/needs/{n}")).await.expect(404);
    w.step(
        "vdpf_v1",
        &n,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    let page = officer.get(&format!("/needs/{n}")).await;
    page.expect(200);
    assert!(page.text.contains("残疾人的材料"), "{}", page.text);
    assert!(page.text.contains(&format!("href=\"/attachments/{scan}\"")));
    assert!(page.text.contains("签收"), "and the form to sign for it");
    let file = officer.get(&format!("/attachments/{scan}")).await;
    file.expect(200);
    let h = |k: &str| {
        file.headers
            .get(k)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    assert_eq!(h("content-type"), "image/jpeg");
    assert_eq!(h("content-length"), jpeg("cert").len().to_string());
}
