//! What scripts/schemathesis.sh found, each pinned by a test that fails without its fix.

use crate::support::*;
use reqwest::Method;
use serde_json::json;

/// U+0000 reached PostgreSQL (which cannot store it in text) and came back as a 500: a login
/// name, any JSON field, any query parameter. Now a 422 naming the field.
#[tokio::test]
async fn nul_characters_are_refused_with_422_naming_the_field_not_500() {
    let w = world().await;
    let r = w
        .app
        .call(
            Method::POST,
            "/auth/login",
            None,
            Some(json!({"username": "vil\u{0}lage_v1", "password": "x"})),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["username"]);

    let p = w.person("village_v1", "v1", 1).await;
    let r = w
        .app
        .patch(
            &format!("/persons/{}", p["id"].as_str().unwrap_or("")),
            w.tok("village_v1"),
            json!({"address": "东关\u{0}街"}),
            Some(1),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["address"]);

    let r = w
        .app
        .post(
            "/needs",
            w.tok("village_v1"),
            json!({"person_id": p["id"], "category": "medical", "description": "轮椅\u{0}"}),
        )
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["description"]);

    let r = w.app.get("/persons?name=%00", w.tok("village_v1")).await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["name"]);
    let r = w
        .app
        .get("/needs?category=a%00b", w.tok("village_v1"))
        .await;
    r.problem(422, "validation_failed");
    assert_eq!(r.fields(), vec!["category"]);

    // nothing was stored, and the person is as it was
    let again = w
        .app
        .get(
            &format!("/persons/{}", p["id"].as_str().unwrap_or("")),
            w.tok("village_v1"),
        )
        .await;
    assert_eq!(again.expect(200)["version"], 1);
}

/// A method the path does not serve was answered 404 (as if the path did not exist); it is
/// 405 with `Allow` naming the methods it does serve, as problem+json.
#[tokio::test]
async fn a_method_the_path_does_not_serve_is_405_with_allow() {
    let app = spawn_app().await;
    let r = app.call(Method::DELETE, "/readyz", None, None).await;
    r.problem(405, "method_not_allowed");
    assert_eq!(
        r.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );
    let r = app.call(Method::PUT, "/api/v1/persons", None, None).await;
    r.problem(405, "method_not_allowed");
    assert_eq!(
        r.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("GET, POST")
    );
    let id = uuid::Uuid::now_v7();
    let r = app
        .call(Method::DELETE, &format!("/api/v1/needs/{id}"), None, None)
        .await;
    r.problem(405, "method_not_allowed");
    // a concrete path wins over `{id}`: PATCH /persons/import is not "person import"
    let r = app
        .call(Method::PATCH, "/api/v1/persons/import", None, None)
        .await;
    r.problem(405, "method_not_allowed");
    assert_eq!(
        r.headers.get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let r = app
        .call(Method::PATCH, "/api/v1/duty-roster/current", None, None)
        .await;
    r.problem(405, "method_not_allowed");
    // an id that is not a UUID is still simply not found, and unknown paths too
    let r = app
        .call(Method::GET, "/api/v1/persons/abc", None, None)
        .await;
    r.problem(404, "not_found");
    let r = app
        .call(Method::GET, "/api/v1/nothing-here", None, None)
        .await;
    r.problem(404, "not_found");
}

/// The document says the logout body is optional (nullable); `null` was a 422.
#[tokio::test]
async fn logout_accepts_a_null_body() {
    let w = world().await;
    let r = w
        .app
        .call(
            Method::POST,
            "/auth/logout",
            Some(w.tok("village_v1")),
            Some(serde_json::Value::Null),
        )
        .await;
    r.expect(204);
}

/// An import form with parts other than `file` (which the document does not allow) is
/// refused as malformed, whatever the other parts' names.
#[tokio::test]
async fn an_import_form_holds_only_the_file_field() {
    let w = world().await;
    let boundary = "fuzzboundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.csv\"\r\n\r\n\
         name,id_number,disability_category,disability_grade\r\n--{boundary}--\r\n"
    );
    let res = w
        .app
        .client
        .post(format!("{}/api/v1/persons/import", w.app.base))
        .bearer_auth(w.tok("village_v1"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(res.status().as_u16(), 400);
    let problem: serde_json::Value = res.json().await.unwrap_or_default();
    assert_eq!(problem["code"], "malformed_body");
}

/// Every 4xx/5xx answer in the document is declared as application/problem+json, and every
/// protected operation declares its 401.
#[tokio::test]
async fn the_document_declares_problem_json_for_every_refusal() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let doc = doc.expect(200).clone();
    let paths = doc["paths"].as_object().cloned().unwrap_or_default();
    let mut checked = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().cloned().unwrap_or_default() {
            let responses = op["responses"].as_object().cloned().unwrap_or_default();
            for (status, response) in &responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().cloned().unwrap_or_default();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        vec!["application/problem+json"],
                        "{method} {path} {status}"
                    );
                    checked += 1;
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} declares no 401"
                );
            }
        }
    }
    assert!(checked > 100);
}
