//! Health, the error shape for unknown routes and methods, and the database set-up.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use crate::on_both;
use crate::support::TestApp;

on_both!(health_reports_the_database, |app: TestApp| async move {
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], json!("ok"));
    let backend = match app.db.get_database_backend() {
        DbBackend::Postgres => "postgres",
        _ => "sqlite",
    };
    assert_eq!(body["database"], json!(backend));
});

on_both!(unknown_routes_and_methods_get_the_error_shape, |app: TestApp| async move {
    let (status, body) = app.get("/api/v1/nothing-here").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"code": "not_found", "message": "no such route"}));
    let (status, body) = app.send(Request::delete("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["code"], json!("method_not_allowed"));
});

on_both!(every_table_of_the_schema_exists, |app: TestApp| async move {
    let backend = app.db.get_database_backend();
    for table in [
        "workspaces",
        "users",
        "memberships",
        "sessions",
        "api_tokens",
        "forms",
        "form_versions",
        "records",
        "counters",
        "audit_log",
        "audit_heads",
        "workspace_policies",
        "unique_values",
    ] {
        let count = app
            .db
            .query_one_raw(Statement::from_string(backend, format!("SELECT COUNT(*) AS n FROM {table}")))
            .await
            .unwrap_or_else(|e| panic!("{table}: {e}"));
        assert!(count.is_some(), "{table}");
    }
});

#[tokio::test]
async fn sqlite_runs_in_wal_mode_with_full_durability_and_foreign_keys() {
    let app = TestApp::sqlite().await;
    let pragma = |name: &'static str| {
        let db = app.db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, format!("PRAGMA {name}")))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<String>(0)
                .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                .unwrap()
        }
    };
    assert_eq!(pragma("journal_mode").await, "wal");
    // 2 = FULL: an acknowledged commit survives a power cut.
    assert_eq!(pragma("synchronous").await, "2");
    assert_eq!(pragma("foreign_keys").await, "1");
}

#[tokio::test]
async fn migrating_twice_changes_nothing() {
    let app = TestApp::sqlite().await;
    use migrations::MigratorTrait;
    migrations::Migrator::up(&app.db, None).await.expect("second run is a no-op");
    let pending = migrations::Migrator::get_pending_migrations(&app.db).await.unwrap();
    assert!(pending.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formwork_backup_copies_a_running_sqlite_database() {
    let app = TestApp::sqlite().await;
    app.create_user("keeper", "correct horse battery", true).await;
    let path = app.sqlite_path().unwrap();
    let target = path.with_file_name("backup.sqlite");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["backup", "--to"])
        .arg(&target)
        .arg("--database-url")
        .arg(format!("sqlite://{}", path.display()))
        .output()
        .expect("formwork runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // The copy is a working database with the same users.
    let copy = server::db::open(&server::config::Database::Sqlite { path: target.clone() }).await.unwrap();
    let found = server::identity::users::find_by_username(&copy, "keeper").await.unwrap();
    assert!(found.is_some());
    // A second backup to the same file is refused rather than overwriting it.
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_formwork"))
        .args(["backup", "--to"])
        .arg(&target)
        .arg("--database-url")
        .arg(format!("sqlite://{}", path.display()))
        .output()
        .unwrap();
    assert!(!again.status.success());
}

on_both!(metrics_count_requests_and_are_not_public, |app: TestApp| async move {
    app.get("/healthz").await;
    app.get("/nowhere").await;
    let (status, body) = app.get("/metrics").await;
    assert_eq!((status, body["code"].clone()), (StatusCode::UNAUTHORIZED, json!("unauthorized")));
    let wrong = Request::get("/metrics").header("authorization", "Bearer guess").body(Body::empty()).unwrap();
    assert_eq!(app.send(wrong).await.0, StatusCode::FORBIDDEN);
    let scrape = Request::get("/metrics").header("authorization", "Bearer scrape-secret").body(Body::empty()).unwrap();
    let response = app.raw(scrape).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains("formwork_http_requests_total{class=\"2xx\"} 1\n"), "{text}");
    assert!(text.contains("formwork_http_requests_total{class=\"4xx\"} 3\n"), "{text}");
    assert!(text.contains("formwork_records_created_total 0\n"), "{text}");
    // Installation administrators may read it with their session.
    app.create_user("ops", "correct horse battery", true).await;
    let ops = app.login("ops", "correct horse battery").await;
    assert_eq!(app.send(ops.request("GET", "/metrics", None)).await.0, StatusCode::OK);
});

on_both!(openapi_documents_every_mounted_route, |app: TestApp| async move {
    let (status, doc) = app.get("/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], json!("3.1.0"));
    let records = &doc["paths"]["/api/v1/workspaces/{ws}/forms/{form}/records"];
    assert_eq!(records["post"]["x-permission"], json!("create (on the form)"));
    assert_eq!(records["get"]["parameters"].as_array().unwrap().len(), 2);
    assert_eq!(
        records["post"]["responses"]["422"]["content"]["application/json"]["schema"]["$ref"],
        json!("#/components/schemas/Error")
    );
    // Every listed error code has its own status; only `internal` is a 500.
    for code in server::error::CODES {
        let status = server::error::status_for(code);
        assert_eq!(status == StatusCode::INTERNAL_SERVER_ERROR, *code == "internal", "{code}");
    }
    assert_eq!(doc["components"]["schemas"]["Error"]["properties"]["code"]["enum"], json!(server::error::CODES));
    let mut ids = std::collections::BTreeSet::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations += 1;
            assert!(ids.insert(operation["operationId"].as_str().unwrap().to_owned()), "{method} {path}");
            assert!(!operation["summary"].as_str().unwrap().is_empty());
            // Every documented operation is mounted: it may refuse the caller, but it exists.
            let concrete = path.replace("{ws}", "nowhere").replace(['{', '}'], "");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let (status, body) = app.send(request).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(body["message"], json!("no such route"), "{method} {path}");
        }
    }
    assert!(operations >= 33, "{operations}");
});

on_both!(health_says_unavailable_without_internals, |app: TestApp| async move {
    app.db.close_by_ref().await.expect("pool closes");
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, json!({"code": "unavailable", "message": "the database does not answer"}));
});

on_both!(slow_requests_time_out_and_change_nothing, |app: TestApp| async move {
    let mut app = app;
    let (root, designer, _) = crate::forms::plant(&app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&crate::forms::lot_form()))).await;
    let publish = "/api/v1/workspaces/plant-a/forms/lot_check/publish";
    let (status, _) = app.send(designer.request("POST", publish, Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK);
    app.reconfigure(|config| config.request_timeout = std::time::Duration::from_millis(300));
    // Another writer holds the lock the submission needs, longer than the timeout allows.
    let blocker = server::db::write_txn(&app.db).await.unwrap();
    if app.db.get_database_backend() == DbBackend::Postgres {
        blocker.execute_unprepared("SELECT id FROM workspaces FOR UPDATE").await.unwrap();
    }
    let records = "/api/v1/workspaces/plant-a/forms/lot_check/records";
    let (status, body) = app.send(designer.request("POST", records, Some(&json!({"lot": "L-1"})))).await;
    assert_eq!(
        (status, body),
        (StatusCode::REQUEST_TIMEOUT, json!({"code": "timeout", "message": "the request took too long"}))
    );
    blocker.rollback().await.unwrap();
    let (_, list) = app.send(root.request("GET", &format!("{records}?total=true"), None)).await;
    assert_eq!(list["total"], json!(0));
});
