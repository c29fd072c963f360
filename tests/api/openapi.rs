//! The OpenAPI document is complete and true to the routes served; operational endpoints answer.

use crate::support::*;
use reqwest::Method;

#[tokio::test]
async fn the_document_lists_exactly_the_routes_the_app_serves() {
    let app = spawn_app().await;
    let doc = app
        .call(Method::GET, "/api/v1/openapi.json", None, None)
        .await;
    let doc = doc.expect(200).clone();
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        for method in item
            .as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
        {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                documented.push(format!("{method} {path}"));
            }
        }
    }
    let mut served: Vec<String> = zhucan::http::routes::ROUTE_TABLE
        .iter()
        .map(|(m, p)| format!("{m} {p}"))
        .collect();
    documented.sort();
    served.sort();
    assert_eq!(documented, served);
    // and every served route is really there (not the 404 fallback)
    for (method, path) in zhucan::http::routes::ROUTE_TABLE {
        let path = path.replace("{id}", &uuid::Uuid::now_v7().to_string());
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap_or(Method::GET);
        let r = app.call(m, &path, None, None).await;
        let protected = path.starts_with("/api/v1/")
            && !path.contains("openapi.json")
            && !path.contains("/auth/login")
            && !path.contains("/auth/refresh");
        if protected {
            assert_eq!(
                r.status.as_u16(),
                401,
                "{method} {path} should ask for a token"
            );
        } else {
            assert_ne!(r.status.as_u16(), 404, "{method} {path}");
        }
    }
}

#[tokio::test]
async fn health_readiness_metrics_and_docs_answer() {
    let app = spawn_app().await;
    app.call(Method::GET, "/healthz", None, None)
        .await
        .expect(200);
    app.call(Method::GET, "/readyz", None, None)
        .await
        .expect(200);
    let m = app.call(Method::GET, "/metrics", None, None).await;
    assert!(m.text.contains("zhucan_http_requests_total"));
    // per-route latency histograms, labelled by the route's pattern (never the id in the path)
    let w = world_in(spawn_app().await).await;
    let p = w.person("village_v1", "v1", 1).await;
    let id = p["id"].as_str().unwrap_or("").to_string();
    w.app
        .get(&format!("/persons/{id}"), w.tok("village_v1"))
        .await
        .expect(200);
    let m = w.app.call(Method::GET, "/metrics", None, None).await;
    assert!(
        m.text
            .contains("zhucan_http_request_duration_seconds_bucket"),
        "{}",
        m.text
    );
    assert!(
        m.text.contains(r#"route="/api/v1/persons/{id}""#),
        "{}",
        m.text
    );
    assert!(!m.text.contains(&id), "a path's id never becomes a label");
    assert!(m.text.contains("zhucan_db_pool_wait_seconds"));
    assert!(m
        .text
        .contains(r#"zhucan_db_pool_connections{state="max"}"#));
    let d = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(d.status.as_u16(), 200);
    assert!(d.text.contains("openapi.json"));
    let nf = app
        .call(Method::GET, "/api/v1/no-such-thing", None, None)
        .await;
    nf.problem(404, "not_found");
    // the label is the route the request was routed to, for the console too; a request no route
    // serves is counted as `unrouted`
    let page = reqwest::get(format!("{}/login", w.app.base))
        .await
        .expect("the sign-in page");
    assert_eq!(page.status().as_u16(), 200);
    let m = app.call(Method::GET, "/metrics", None, None).await;
    assert!(
        m.text.contains(r#"route="unrouted",status="4xx""#),
        "{}",
        m.text
    );
    let m = w.app.call(Method::GET, "/metrics", None, None).await;
    assert!(m.text.contains(r#"route="/login""#), "{}", m.text);
    // a made-up method is counted as `other`: no request adds a label value of its own
    let odd = reqwest::Client::new()
        .request(
            Method::from_bytes(b"ZHUCANFOO").expect("a method"),
            format!("{}/api/v1/persons", w.app.base),
        )
        .send()
        .await
        .expect("send");
    assert!(odd.status().is_client_error(), "{}", odd.status());
    let m = w.app.call(Method::GET, "/metrics", None, None).await;
    assert!(m.text.contains(r#"method="other""#), "{}", m.text);
    assert!(!m.text.contains("ZHUCANFOO"), "{}", m.text);
}

/// The OpenAPI document is a contract: any change to it shows up here as a diff against the
/// committed snapshot (`UPDATE_SNAPSHOTS=1` rewrites it, to be reviewed and committed).
#[test]
fn openapi_document_matches_its_snapshot() {
    let doc = serde_json::to_string_pretty(&zhucan::http::openapi::document()).expect("serialize");
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, format!("{doc}\n")).expect("write snapshot");
    }
    let want = std::fs::read_to_string(&path)
        .expect("tests/snapshots/openapi.json (UPDATE_SNAPSHOTS=1 writes it)");
    assert!(
        want.trim_end() == doc,
        "the OpenAPI document changed; review it, then UPDATE_SNAPSHOTS=1 to accept"
    );
}
