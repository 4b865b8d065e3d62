//! What the server does for the browser app: serves the built bundle (gzip where accepted,
//! a strict content security policy on the page), keeps the API's JSON 404 for everything
//! else, hands a reloaded page its CSRF token, lets the designer see what publishing would
//! do before doing it, and tells a record's page about its workflows.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::json;

use crate::on_both;
use crate::support::TestApp;

fn bundle() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("formwork-web-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dir.join("formwork.js"), "export default 1;").unwrap();
    std::fs::write(dir.join("formwork.js.gz"), b"not really gzip, but marked as such").unwrap();
    std::fs::write(dir.join("formwork.js.br"), b"not really brotli either").unwrap();
    std::fs::write(dir.join("formwork_bg.wasm"), [0u8, 97, 115, 109]).unwrap();
    dir
}

async fn body_of(response: axum::response::Response) -> Vec<u8> {
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn the_bundle_is_served_beside_the_api() {
    let mut app = TestApp::sqlite().await;
    let dir = bundle();
    app.reconfigure(|c| c.web_dir = Some(dir.clone()));

    let page = app.raw(Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["content-type"], "text/html; charset=utf-8");
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(body_of(page).await, b"<!doctype html><title>app</title>");

    let wasm = app.raw(Request::get("/formwork_bg.wasm").body(Body::empty()).unwrap()).await;
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    assert!(wasm.headers().get("content-encoding").is_none(), "no gzip copy, none sent");

    // The gzip copy goes only to clients that accept it.
    let plain = app.raw(Request::get("/formwork.js").body(Body::empty()).unwrap()).await;
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(body_of(plain).await, b"export default 1;");
    let gzip = app
        .raw(Request::get("/formwork.js").header("accept-encoding", "gzip, deflate").body(Body::empty()).unwrap())
        .await;
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(gzip.headers()["vary"], "accept-encoding");
    assert_eq!(body_of(gzip).await, b"not really gzip, but marked as such");
    let brotli = app
        .raw(
            Request::get("/formwork.js")
                .header("accept-encoding", "gzip, deflate, br, zstd")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_eq!(body_of(brotli).await, b"not really brotli either");
    let refused = app
        .raw(Request::get("/formwork.js").header("accept-encoding", "br;q=0, gzip").body(Body::empty()).unwrap())
        .await;
    assert_eq!(refused.headers()["content-encoding"], "gzip", "br;q=0 refuses brotli");

    // Everything else stays the API's: JSON 404s, also for paths that look like files.
    for path in ["/api/v1/nothing", "/nothing.js", "/formwork.js.gz", "/formwork.js.br", "/../Cargo.toml"] {
        let (status, body) = app.get(path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body["code"], "not_found", "{path}");
    }
    let (status, body) = app.send(Request::post("/").body(Body::empty()).unwrap()).await;
    assert_eq!((status, &body["code"]), (StatusCode::NOT_FOUND, &json!("not_found")));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn without_a_bundle_the_root_says_how_to_build_it() {
    let mut app = TestApp::sqlite().await;
    let empty = std::env::temp_dir().join(format!("formwork-noweb-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&empty).unwrap();
    // A directory without index.html is no app: the server starts and serves the API only.
    app.reconfigure(|c| c.web_dir = Some(empty.clone()));
    let (status, body) = app.get("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.as_str().unwrap().contains("cargo xtask web"), "{body}");
    let (status, _) = app.get("/formwork.js").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let _ = std::fs::remove_dir_all(empty);
}

on_both!(a_reloaded_page_gets_its_csrf_token_from_me, |app: TestApp| async move {
    app.create_user("ann", "correct horse battery", false).await;
    let session = app.login("ann", "correct horse battery").await;
    let (status, me) = app.send(session.request("GET", "/api/v1/me", None)).await;
    assert_eq!(status, StatusCode::OK);
    let token = me["csrf_token"].as_str().expect("a session has a CSRF token").to_owned();
    // The token from /me is the session's: a write with it goes through.
    let write = Request::patch("/api/v1/me")
        .header("content-type", "application/json")
        .header("cookie", session.cookie.clone())
        .header("x-csrf-token", token)
        .body(Body::from(json!({"display_name": "Ann"}).to_string()))
        .unwrap();
    let (status, body) = app.send(write).await;
    assert_eq!(status, StatusCode::OK, "{body}");
});

on_both!(a_dry_run_reports_what_publishing_would_do_and_changes_nothing, |app: TestApp| async move {
    let form = json!({"key": "chk", "name": "Check", "fields": [{"key": "n", "type": "number"}]});
    let root = app.workspace_with_form("plant", json!({}), &form).await;
    let base = "/api/v1/workspaces/plant/forms/chk";
    app.insert_records("chk", [json!({"n": 5}), json!({"n": 50})]).await;
    let mut draft = form.clone();
    draft["fields"][0]["max"] = json!(10);
    let (status, body) = app.send(root.request("PUT", base, Some(&draft))).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, trial) =
        app.send(root.request("POST", &format!("{base}/publish"), Some(&json!({"dry_run": true})))).await;
    assert_eq!(status, StatusCode::OK, "{trial}");
    assert_eq!(trial["dry_run"], true);
    assert_eq!(trial["version"], 2);
    assert_eq!(trial["needs_confirmation"], true, "a stored 50 exceeds the new maximum");
    assert_eq!(trial["evolution"]["compatibility"], "needs_attention");
    assert_eq!(trial["evolution"]["stored_values"].as_array().unwrap().len(), 1);

    let (_, form_now) = app.send(root.request("GET", base, None)).await;
    assert_eq!(form_now["latest_version"], 1, "nothing was published");
    let (status, _) = app.send(root.request("GET", &format!("{base}/versions/2"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, audit) = app.send(root.request("GET", "/api/v1/workspaces/plant/audit", None)).await;
    let publishes = audit["items"].as_array().unwrap().iter().filter(|e| e["action"] == "form.publish").count();
    assert_eq!(publishes, 1, "the trial left no audit entry");
});

on_both!(a_record_lists_its_workflows, |app: TestApp| async move {
    let form = json!({"key": "chk", "name": "Check", "fields": [{"key": "n", "type": "number"}]});
    let root = app.workspace_with_form("plant", json!({}), &form).await;
    let ws = "/api/v1/workspaces/plant";
    let (_, record) = app.send(root.request("POST", &format!("{ws}/forms/chk/records"), Some(&json!({"n": 1})))).await;
    let id = record["id"].as_str().unwrap().to_owned();
    let (_, plain) = app.send(root.request("GET", &format!("{ws}/records/{id}"), None)).await;
    assert_eq!(plain["workflows"], json!([]));

    let workflow = json!({
        "key": "review", "form": "chk", "trigger": {"on": "submitted"},
        "nodes": [{"id": "start", "kind": "start"}, {"id": "ok", "kind": "approval", "assignees": {"submitter": true}, "mode": "any"}, {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "ok"}, {"from": "ok", "to": "end"}],
    });
    let (status, body) = app.send(root.request("POST", &format!("{ws}/workflows"), Some(&workflow))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.send(root.request("POST", &format!("{ws}/workflows/review/publish"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (_, record) = app.send(root.request("POST", &format!("{ws}/forms/chk/records"), Some(&json!({"n": 2})))).await;
    let id = record["id"].as_str().unwrap().to_owned();
    let (_, found) = app.send(root.request("GET", &format!("{ws}/records/{id}"), None)).await;
    let workflows = found["workflows"].as_array().unwrap();
    assert_eq!(workflows.len(), 1, "{found}");
    assert_eq!(workflows[0]["status"], "running");
    assert_eq!(workflows[0]["workflow_version"], 1);
});
