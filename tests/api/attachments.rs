//! Attachments (SPEC §6): JPEG, PNG and PDF on needs and persons, recognised by their bytes,
//! at most 10 MiB, downloaded byte for byte, scoped as their parent, stored once per content,
//! checked by `verify` and swept when no row names them — on the local store and, through the
//! same code, on an S3-compatible server (moto) on loopback.

use crate::support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// A small JPEG (its magic, a JFIF header and filler: recognised by the first bytes).
pub fn jpeg(tag: &str) -> Vec<u8> {
    let mut b = b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00".to_vec();
    b.extend_from_slice(tag.as_bytes());
    b.extend_from_slice(b"\xFF\xD9");
    b
}

/// A small PNG signature and filler.
pub fn png(tag: &str) -> Vec<u8> {
    let mut b = b"\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR".to_vec();
    b.extend_from_slice(tag.as_bytes());
    b
}

/// A small PDF.
pub fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

fn s(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or("").to_string()
}

/// Every file under a directory, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files_under(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// The objects of a test app's local store.
fn objects(w: &World, dir: &Path) -> Vec<PathBuf> {
    let _ = w;
    files_under(&dir.join("objects"))
}

/// A world whose app keeps attachments in a directory the test knows.
async fn world_with_store(grace_secs: u64) -> (World, PathBuf) {
    let dir = std::env::temp_dir().join(format!("zhucan-att-test-{}", uuid::Uuid::new_v4()));
    let d = dir.clone();
    let app = spawn_app_with(fresh_database().await, move |c| {
        c.attachments.dir = d;
        c.attachments.grace = std::time::Duration::from_secs(grace_secs);
    })
    .await;
    (world_in(app).await, dir)
}

async fn attachment_rows(w: &World) -> i64 {
    use diesel::QueryDsl;
    use diesel_async::RunQueryDsl;
    let mut conn = w.app.db().await;
    zhucan::db::schema::attachments::table
        .count()
        .get_result(&mut conn)
        .await
        .expect("count")
}

#[tokio::test]
async fn each_kind_is_kept_as_its_bytes_say_and_downloads_byte_for_byte() {
    let (w, _dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 1).await, "id");
    let need = w.need("village_v1", &p).await;
    let n = s(&need, "id");
    let version = need["version"].as_i64();
    let path = format!("/needs/{n}/attachments");
    // the name says nothing: a PNG called .txt is a PNG
    let files = [
        ("残疾证.jpg", jpeg("a"), "image/jpeg"),
        ("scan.txt", png("b"), "image/png"),
        ("申请表.pdf", pdf("c"), "application/pdf"),
    ];
    let mut ids = Vec::new();
    for (name, bytes, kind) in &files {
        let r = upload(&w, &path, "village_v1", name, bytes).await;
        let a = r.expect(201);
        assert_eq!(s(a, "content_type"), *kind, "{name}");
        assert_eq!(s(a, "filename"), *name);
        assert_eq!(a["size"].as_u64(), Some(bytes.len() as u64));
        assert_eq!(a["need_id"].as_str(), Some(n.as_str()));
        assert_eq!(s(a, "uploaded_by"), w.users["village_v1"].to_string());
        assert_eq!(s(a, "sha256").len(), 64);
        assert!(a["created_at"].is_string());
        let location = r.headers.get("location").and_then(|v| v.to_str().ok());
        assert_eq!(
            location,
            Some(format!("/api/v1/attachments/{}", s(a, "id")).as_str())
        );
        ids.push(s(a, "id"));
    }
    // listed oldest first
    let list = w.app.get(&path, w.tok("village_v1")).await;
    assert_eq!(item_ids(list.expect(200)), ids);
    // each an `attach` event in the history; the version did not move
    let after = w.app.get(&format!("/needs/{n}"), w.tok("village_v1")).await;
    assert_eq!(after.expect(200)["version"].as_i64(), version);
    let attach: Vec<_> = w
        .history(&n)
        .await
        .into_iter()
        .filter(|(action, _, _)| action == "attach")
        .collect();
    assert_eq!(attach.len(), 3);
    // byte for byte, as a download that a browser will not render in place
    for ((name, bytes, kind), id) in files.iter().zip(&ids) {
        let (status, headers, body) = download(&w, &format!("/attachments/{id}"), "town_t1").await;
        assert_eq!(status, 200);
        assert_eq!(&body, bytes, "{name}");
        let h = |k: &str| {
            headers
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert_eq!(h("content-type"), *kind);
        assert!(
            h("content-disposition").starts_with("attachment;"),
            "{}",
            h("content-disposition")
        );
        assert_eq!(h("x-content-type-options"), "nosniff");
    }
    // the Chinese name comes back in RFC 5987 form
    let (_, headers, _) = download(&w, &format!("/attachments/{}", ids[0]), "village_v1").await;
    let cd = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        cd.contains("filename*=UTF-8''%E6%AE%8B%E7%96%BE%E8%AF%81.jpg"),
        "{cd}"
    );
}

#[tokio::test]
async fn what_is_not_a_jpeg_png_or_pdf_is_refused_and_leaves_nothing_behind() {
    let (w, dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 2).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let path = format!("/needs/{n}/attachments");
    let exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xFF\xFF\x00\x00This program cannot be run in DOS mode".to_vec();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("证明.pdf", exe),
        ("photo.jpg", b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec()),
        (
            "page.png",
            b"<html><script>alert(1)</script></html>".to_vec(),
        ),
        ("empty.pdf", Vec::new()),
        ("tiny.pdf", b"%PD".to_vec()),
    ];
    for (name, bytes) in cases {
        let r = upload(&w, &path, "village_v1", name, &bytes).await;
        r.problem(415, "unsupported_media_type");
    }
    // not a form at all
    let r = post_raw(&w, &path, "village_v1", "application/pdf", pdf("raw")).await;
    r.problem(415, "unsupported_media_type");
    // a form without `file`
    let (ct, body) = multipart_file("attachment", "a.pdf", &pdf("x"));
    post_raw(&w, &path, "village_v1", &ct, body)
        .await
        .problem(400, "malformed_body");
    assert_eq!(attachment_rows(&w).await, 0);
    assert!(objects(&w, &dir).is_empty(), "{:?}", objects(&w, &dir));
    assert!(files_under(&dir.join("spool")).is_empty());
    assert!(w.history(&n).await.iter().all(|(a, _, _)| a != "attach"));
}

#[tokio::test]
async fn ten_mebibytes_are_kept_and_one_byte_more_is_413() {
    let (w, dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 3).await, "id");
    let path = format!("/persons/{p}/attachments");
    let mut big = pdf("big");
    big.resize(10 * 1024 * 1024, b' ');
    let r = upload(&w, &path, "village_v1", "big.pdf", &big).await;
    assert_eq!(r.expect(201)["size"].as_u64(), Some(10 * 1024 * 1024));
    let id = s(&r.body, "id");
    big.push(b'\n');
    upload(&w, &path, "village_v1", "bigger.pdf", &big)
        .await
        .problem(413, "payload_too_large");
    assert_eq!(attachment_rows(&w).await, 1);
    assert_eq!(objects(&w, &dir).len(), 1);
    assert!(files_under(&dir.join("spool")).is_empty());
    let (status, _, body) = download(&w, &format!("/attachments/{id}"), "village_v1").await;
    assert_eq!(status, 200);
    assert_eq!(body.len(), 10 * 1024 * 1024);
}

#[tokio::test]
async fn the_same_bytes_are_stored_once_however_often_they_are_attached() {
    let (w, dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 4).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let scan = jpeg("certificate");
    let a = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "证.jpg",
        &scan,
    )
    .await;
    let b = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "town_t1",
        "copy.jpg",
        &scan,
    )
    .await;
    let (a, b) = (a.expect(201).clone(), b.expect(201).clone());
    assert_ne!(s(&a, "id"), s(&b, "id"));
    assert_eq!(s(&a, "sha256"), s(&b, "sha256"));
    let stored = objects(&w, &dir);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].ends_with(s(&a, "sha256")));
    upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "other.png",
        &png("x"),
    )
    .await
    .expect(201);
    assert_eq!(objects(&w, &dir).len(), 2);
}

#[tokio::test]
async fn an_attachment_is_seen_and_added_only_within_its_parents_scope() {
    let (w, _dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 5).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let on_need = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "a.pdf",
        &pdf("n"),
    )
    .await;
    let on_need = s(on_need.expect(201), "id");
    let on_person = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "证.jpg",
        &jpeg("p"),
    )
    .await;
    let on_person = s(on_person.expect(201), "id");
    let missing = w
        .app
        .get(
            &format!("/attachments/{}", uuid::Uuid::new_v4()),
            w.tok("village_v2"),
        )
        .await;
    missing.problem(404, "not_found");
    // another village, another town, another city: the same 404 as a missing id
    for who in ["village_v2", "town_t2", "admin_b", "officer_t1"] {
        for id in [&on_need, &on_person] {
            let r = w.app.get(&format!("/attachments/{id}"), w.tok(who)).await;
            r.problem(404, "not_found");
            assert_eq!(r.body["detail"], missing.body["detail"], "{who}");
        }
        let r = w
            .app
            .get(&format!("/needs/{n}/attachments"), w.tok(who))
            .await;
        r.problem(404, "not_found");
        let r = upload(
            &w,
            &format!("/needs/{n}/attachments"),
            who,
            "x.pdf",
            &pdf(who),
        )
        .await;
        r.problem(404, "not_found");
    }
    // in scope but not allowed to write: the auditor; a person's papers only for those who keep them
    upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "auditor_t1",
        "x.pdf",
        &pdf("au"),
    )
    .await
    .problem(403, "forbidden");
    upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "president_a",
        "x.pdf",
        &pdf("pr"),
    )
    .await
    .problem(403, "forbidden");
    // the auditor and the association read them
    for who in ["auditor_t1", "president_a", "town_t1", "admin_a", "root"] {
        let (status, _, _) = download(&w, &format!("/attachments/{on_person}"), who).await;
        assert_eq!(status, 200, "{who}");
    }
    // a need referred to a department: its officer sees the person's certificate before signing
    w.step("vdpf_v1", &n, "register", json!({"loop": "policy"}))
        .await;
    w.step(
        "vdpf_v1",
        &n,
        "refer",
        json!({"department_id": w.orgs["civil_t1"]}),
    )
    .await;
    let (status, _, body) = download(&w, &format!("/attachments/{on_person}"), "officer_t1").await;
    assert_eq!((status, body), (200, jpeg("p")));
    let list = w
        .app
        .get(&format!("/persons/{p}/attachments"), w.tok("officer_t1"))
        .await;
    assert_eq!(item_ids(list.expect(200)), vec![on_person.clone()]);
    // and may add the delivery photo to the need, not to the person
    upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "officer_t1",
        "送达.jpg",
        &jpeg("d"),
    )
    .await
    .expect(201);
    upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "officer_t1",
        "x.jpg",
        &jpeg("e"),
    )
    .await
    .problem(403, "forbidden");
}

#[tokio::test]
async fn verify_reads_every_object_and_names_the_missing_and_the_altered() {
    let (w, dir) = world_with_store(3600).await;
    let p = s(&w.person("village_v1", "v1", 6).await, "id");
    let a = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "a.pdf",
        &pdf("a"),
    )
    .await;
    let b = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "b.png",
        &png("b"),
    )
    .await;
    let (a, b) = (s(a.expect(201), "sha256"), s(b.expect(201), "sha256"));
    let mut db = w.app.db().await;
    let store = &w.app.state.objects;
    let mut report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    zhucan::tools::verify::objects(&mut db, store, &mut report)
        .await
        .expect("objects");
    assert_eq!(report.objects, 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let path_of = |sha: &str| dir.join("objects").join("sha256").join(sha);
    std::fs::write(path_of(&a), b"%PDF-1.4 something else").expect("alter");
    std::fs::remove_file(path_of(&b)).expect("remove");
    let mut report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    zhucan::tools::verify::objects(&mut db, store, &mut report)
        .await
        .expect("objects");
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
    assert!(report
        .problems
        .iter()
        .any(|p| p.contains(&a) && p.contains("no longer match")));
    assert!(report
        .problems
        .iter()
        .any(|p| p.contains(&b) && p.contains("missing")));
}

#[tokio::test]
async fn the_sweep_removes_only_objects_no_row_names_once_they_are_past_the_grace_period() {
    // no grace: every object no row names is an orphan at once
    let (w, dir) = world_with_store(0).await;
    let p = s(&w.person("village_v1", "v1", 7).await, "id");
    let kept = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "a.pdf",
        &pdf("kept"),
    )
    .await;
    let kept = s(kept.expect(201), "sha256");
    // an object whose row was never written (a crash between the two)
    let store = &w.app.state.objects;
    let mut spool = store.spool().await.expect("spool");
    spool.write(&png("orphan")).await.expect("write");
    let orphan = spool.finish().await.expect("finish");
    store.keep(&orphan).await.expect("keep");
    assert_eq!(objects(&w, &dir).len(), 2);
    let mut db = w.app.db().await;
    let deleted = store
        .sweep(&mut db, chrono::Utc::now())
        .await
        .expect("sweep");
    assert_eq!(deleted, 1);
    let left = objects(&w, &dir);
    assert_eq!(left.len(), 1);
    assert!(left[0].ends_with(&kept));
    // with the default grace, a young orphan stays
    let (w2, dir2) = world_with_store(3600).await;
    let store2 = &w2.app.state.objects;
    let mut spool = store2.spool().await.expect("spool");
    spool.write(&png("young")).await.expect("write");
    store2
        .keep(&spool.finish().await.expect("finish"))
        .await
        .expect("keep");
    let mut db2 = w2.app.db().await;
    assert_eq!(
        store2
            .sweep(&mut db2, chrono::Utc::now())
            .await
            .expect("sweep"),
        0
    );
    assert_eq!(objects(&w2, &dir2).len(), 1);
}

#[tokio::test]
async fn a_helper_reads_its_persons_attachments_and_attaches_nothing() {
    let (w, _dir) = world_with_store(3600).await;
    let helper = w.helper_record("helper_v1").await;
    let p = s(&w.person("village_v1", "v1", 8).await, "id");
    let others = [
        w.helper("village_v1", "v1", "组员一").await,
        w.helper("village_v1", "v1", "组员二").await,
    ];
    w.app
        .put(
            &format!("/persons/{p}/contact-group"),
            w.tok("village_v1"),
            json!({"helper_ids": [helper, others[0], others[1]]}),
        )
        .await
        .expect(200);
    let n = s(&w.need("village_v1", &p).await, "id");
    let a = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "a.jpg",
        &jpeg("h"),
    )
    .await;
    let a = s(a.expect(201), "id");
    let (status, _, _) = download(&w, &format!("/attachments/{a}"), "helper_v1").await;
    assert_eq!(status, 200);
    w.app
        .get(&format!("/needs/{n}/attachments"), w.tok("helper_v1"))
        .await
        .expect(200);
    upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "helper_v1",
        "b.jpg",
        &jpeg("i"),
    )
    .await
    .problem(403, "forbidden");
    upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "helper_v1",
        "b.jpg",
        &jpeg("j"),
    )
    .await
    .problem(403, "forbidden");
    // a person outside its groups is not there at all
    let other = s(&w.person("village_v1", "v1", 9).await, "id");
    let b = upload(
        &w,
        &format!("/persons/{other}/attachments"),
        "village_v1",
        "c.jpg",
        &jpeg("k"),
    )
    .await;
    let b = s(b.expect(201), "id");
    w.app
        .get(&format!("/attachments/{b}"), w.tok("helper_v1"))
        .await
        .problem(404, "not_found");
}

/// moto's S3 server on a free loopback port, stopped when dropped. `moto_server` comes from the
/// PATH, or is installed from PyPI into `target/moto-venv` the first time.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_binary() -> PathBuf {
    let on_path = std::process::Command::new("moto_server")
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if on_path {
        return PathBuf::from("moto_server");
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/moto-venv");
    let bin = venv.join("bin/moto_server");
    if !bin.exists() {
        let ok = std::process::Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && std::process::Command::new(venv.join("bin/pip"))
                .args([
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "moto[server]==5.2.1",
                ])
                .status()
                .is_ok_and(|s| s.success());
        assert!(
            ok,
            "could not install moto[server] from PyPI into {}",
            venv.display()
        );
    }
    bin
}

async fn start_moto() -> Moto {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let child = std::process::Command::new(moto_binary())
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start moto_server");
    let endpoint = format!("http://127.0.0.1:{port}");
    let moto = Moto { child, endpoint };
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if client.get(&moto.endpoint).send().await.is_ok() {
            return moto;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("moto_server did not start on {}", moto.endpoint);
}

/// The keys under a prefix of a moto bucket.
async fn s3_keys(moto: &Moto, bucket: &str, prefix: &str) -> Vec<String> {
    let xml = reqwest::get(format!(
        "{}/{bucket}?list-type=2&prefix={prefix}",
        moto.endpoint
    ))
    .await
    .expect("list")
    .text()
    .await
    .expect("xml");
    xml.split("<Key>")
        .skip(1)
        .filter_map(|k| k.split("</Key>").next())
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn on_an_s3_compatible_store_the_same_code_keeps_checks_and_sweeps_the_files() {
    let moto = start_moto().await;
    let bucket = "zhucan-attachments";
    reqwest::Client::new()
        .put(format!("{}/{bucket}", moto.endpoint))
        .send()
        .await
        .expect("create bucket")
        .error_for_status()
        .expect("bucket created");
    // the standard AWS variables the object_store client reads (this test is its own process)
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT", moto.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
    ] {
        std::env::set_var(k, v);
    }
    let dir = std::env::temp_dir().join(format!("zhucan-att-s3-{}", uuid::Uuid::new_v4()));
    let d = dir.clone();
    let url = format!("s3://{bucket}/city-a");
    let app = spawn_app_with(fresh_database().await, move |c| {
        c.attachments.dir = d;
        c.attachments.url = Some(url);
        c.attachments.grace = std::time::Duration::ZERO;
    })
    .await;
    let w = world_in(app).await;
    let p = s(&w.person("village_v1", "v1", 10).await, "id");
    let n = s(&w.need("village_v1", &p).await, "id");
    let scan = jpeg("s3 certificate");
    let a = upload(
        &w,
        &format!("/persons/{p}/attachments"),
        "village_v1",
        "证.jpg",
        &scan,
    )
    .await;
    let b = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "copy.jpg",
        &scan,
    )
    .await;
    let (a, b) = (a.expect(201).clone(), b.expect(201).clone());
    assert_eq!(s(&a, "sha256"), s(&b, "sha256"));
    // larger than one S3 part: the multipart path
    let mut big = pdf("s3 big");
    big.resize(10 * 1024 * 1024, b'.');
    let c = upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "town_t1",
        "big.pdf",
        &big,
    )
    .await;
    let c = c.expect(201).clone();
    upload(
        &w,
        &format!("/needs/{n}/attachments"),
        "village_v1",
        "x.exe",
        b"MZ\x90\x00\x03\x00\x00\x00",
    )
    .await
    .problem(415, "unsupported_media_type");
    let keys = s3_keys(&moto, bucket, "city-a/").await;
    assert_eq!(
        keys.iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>(),
        [s(&a, "sha256"), s(&c, "sha256")]
            .iter()
            .map(|h| format!("city-a/sha256/{h}"))
            .collect::<std::collections::BTreeSet<_>>(),
        "one object per content, under the prefix"
    );
    assert!(
        files_under(&dir.join("objects")).is_empty(),
        "nothing kept locally"
    );
    assert!(files_under(&dir.join("spool")).is_empty());
    for (row, bytes) in [(&a, &scan), (&b, &scan), (&c, &big)] {
        let (status, _, body) =
            download(&w, &format!("/attachments/{}", s(row, "id")), "town_t1").await;
        assert_eq!(status, 200);
        assert!(&body == bytes, "{} differs", s(row, "filename"));
    }
    // verify reads the objects back from S3
    let mut db = w.app.db().await;
    let store = &w.app.state.objects;
    let mut report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    zhucan::tools::verify::objects(&mut db, store, &mut report)
        .await
        .expect("objects");
    assert_eq!(report.objects, 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // an object no row names goes with the sweep; the named stay
    let mut spool = store.spool().await.expect("spool");
    spool.write(&png("s3 orphan")).await.expect("write");
    store
        .keep(&spool.finish().await.expect("finish"))
        .await
        .expect("keep");
    assert_eq!(s3_keys(&moto, bucket, "city-a/").await.len(), 3);
    assert_eq!(
        store
            .sweep(&mut db, chrono::Utc::now())
            .await
            .expect("sweep"),
        1
    );
    assert_eq!(s3_keys(&moto, bucket, "city-a/").await.len(), 2);
    // the object of a row deleted behind our back is named by verify
    reqwest::Client::new()
        .delete(format!(
            "{}/{bucket}/city-a/sha256/{}",
            moto.endpoint,
            s(&c, "sha256")
        ))
        .send()
        .await
        .expect("delete");
    let mut report = zhucan::tools::verify::run(&mut db).await.expect("verify");
    zhucan::tools::verify::objects(&mut db, store, &mut report)
        .await
        .expect("objects");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert!(report.problems[0].contains("missing"));
}
