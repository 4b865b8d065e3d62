//! The test harness: an in-process app on its own database, driven with `oneshot`.
//!
//! SQLite tests get a new file in a temporary directory; PostgreSQL tests get a new schema in
//! the database at `FORMWORK_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/postgres`),
//! dropped afterwards. Without a reachable PostgreSQL the PostgreSQL half is skipped with a
//! loud message, unless `FORMWORK_REQUIRE_POSTGRES=1` (CI) makes that a failure.

use std::path::PathBuf;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde_json::Value;
use server::app::{AppState, app};
use server::config::{Config, Database};
use tower::ServiceExt;

pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    /// The state behind the router, for driving the workers from tests.
    pub state: AppState,
    pub config: Config,
    cleanup: Cleanup,
}

enum Cleanup {
    Directory(PathBuf),
    Schema { url: String, schema: String, dir: PathBuf },
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::Directory(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema, dir } => {
                let _ = std::fs::remove_dir_all(dir);
                // Drop runs outside async code: use a private runtime on its own thread.
                let (url, schema) = (url.clone(), schema.clone());
                let _ = std::thread::spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    runtime.block_on(async {
                        let db = sea_orm::Database::connect(url).await.ok()?;
                        db.execute_unprepared(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await.ok()
                    })
                })
                .join();
            }
        }
    }
}

pub fn test_config(database: Database, data_dir: PathBuf) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir,
        database,
        body_limit: 64 * 1024,
        request_timeout: Duration::from_secs(30),
        admin_password: None,
        metrics_token: Some("scrape-secret".to_owned()),
        demo: false,
        web_dir: None,
        access_cache_ttl: Duration::from_millis(1000),
    }
}

fn unique() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let dir = std::env::temp_dir().join(format!("formwork-test-{}", unique()));
        let database = Database::Sqlite { path: dir.join("formwork.sqlite") };
        let db = server::db::open(&database).await.expect("sqlite opens");
        let config = test_config(database, dir.clone());
        TestApp::with(db, config, Cleanup::Directory(dir))
    }

    pub async fn postgres() -> Option<TestApp> {
        let url = std::env::var("FORMWORK_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin = match sea_orm::Database::connect(url.clone()).await {
            Ok(db) => db,
            Err(error) => {
                if std::env::var("FORMWORK_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                    panic!("PostgreSQL is required (FORMWORK_REQUIRE_POSTGRES=1) but unreachable: {error}");
                }
                eprintln!(
                    "!!! PostgreSQL at {url} is unreachable ({error}): the PostgreSQL half of this test was SKIPPED"
                );
                return None;
            }
        };
        let schema = format!("fwt_{}", unique());
        admin.execute_unprepared(&format!("CREATE SCHEMA {schema}")).await.expect("create schema");
        let database = Database::Postgres { url: url.clone(), schema: Some(schema.clone()) };
        let db = server::db::open(&database).await.expect("postgres opens");
        // Its own data directory (search indexes), removed with the schema.
        let dir = std::env::temp_dir().join(format!("formwork-test-{}", unique()));
        let config = test_config(database, dir.clone());
        Some(TestApp::with(db, config, Cleanup::Schema { url, schema, dir }))
    }

    fn with(db: DatabaseConnection, config: Config, cleanup: Cleanup) -> TestApp {
        let state = AppState::new(db.clone(), config.clone());
        TestApp { router: app(state.clone()), state, db, config, cleanup }
    }

    /// The same database behind an app with a changed configuration.
    pub fn reconfigure(&mut self, change: impl FnOnce(&mut Config)) {
        change(&mut self.config);
        self.state = AppState::new(self.db.clone(), self.config.clone());
        self.router = app(self.state.clone());
    }

    /// The SQLite file of a SQLite test app.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.cleanup {
            Cleanup::Directory(dir) => Some(dir.join("formwork.sqlite")),
            Cleanup::Schema { .. } => None,
        }
    }

    /// Sends a request and returns the status and the body as JSON (`Null` when empty).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        send_to(&self.router, request).await
    }

    /// A second server process on the same database, with its own caches and writer.
    pub fn other_process(&self) -> OtherProcess {
        OtherProcess { router: app(AppState::new(self.db.clone(), self.config.clone())) }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    /// Sends a request and returns the raw response (for headers).
    pub async fn raw(&self, request: Request<Body>) -> axum::response::Response {
        self.router.clone().oneshot(request).await.expect("infallible")
    }

    pub async fn create_user(&self, username: &str, password: &str, admin: bool) {
        server::identity::users::create(&self.db, username, "", password, admin).await.expect("user created");
    }

    /// Logs in and returns the session.
    pub async fn login(&self, username: &str, password: &str) -> Session {
        let response = self
            .raw(json_request(
                "POST",
                "/api/v1/auth/login",
                &serde_json::json!({"username": username, "password": password}),
            ))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "login of {username}");
        let cookie = response
            .headers()
            .get(axum::http::header::SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        Session { cookie, csrf: body["csrf_token"].as_str().unwrap().to_owned(), lang: None }
    }
}

/// A logged-in browser: its cookie, CSRF token and language.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
    pub lang: Option<String>,
}

impl Session {
    /// The same session asking for answers in `lang`.
    pub fn with_lang(&self, lang: &str) -> Session {
        Session { lang: Some(lang.to_owned()), ..self.clone() }
    }

    /// A request carrying the session cookie and, for writes, the CSRF header.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Request<Body> {
        let mut builder = Request::builder().method(method).uri(path).header("cookie", &self.cookie);
        if let Some(lang) = &self.lang {
            builder = builder.header("accept-language", lang);
        }
        if method != "GET" {
            builder = builder.header("x-csrf-token", &self.csrf);
        }
        match body {
            Some(body) => {
                builder.header("content-type", "application/json").body(Body::from(body.to_string())).unwrap()
            }
            None => builder.body(Body::empty()).unwrap(),
        }
    }
}

/// A small deterministic generator (xorshift64) for generated test data.
pub struct Xorshift(pub u64);

impl Xorshift {
    /// The next value in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

impl TestApp {
    /// An administrator `root`, the workspace `slug` (created with `extra` fields) and `form`
    /// published in it; returns root's session.
    pub async fn workspace_with_form(&self, slug: &str, extra: Value, form: &Value) -> Session {
        self.create_user("root", "correct horse battery", true).await;
        let root = self.login("root", "correct horse battery").await;
        let mut workspace = serde_json::json!({"slug": slug, "name": slug});
        if let (Some(target), Some(extra)) = (workspace.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        let (status, body) = self.send(root.request("POST", "/api/v1/workspaces", Some(&workspace))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let base = format!("/api/v1/workspaces/{slug}/forms");
        let (status, body) = self.send(root.request("POST", &base, Some(form))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let key = form["key"].as_str().expect("the form has a key");
        let publish = format!("{base}/{key}/publish");
        let (status, body) = self.send(root.request("POST", &publish, Some(&serde_json::json!({})))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        root
    }

    /// Inserts records of the published form `form_key` straight into the table (version 1,
    /// created by "seed" at a fixed time): volume without the API's cost. Returns their ids.
    pub async fn insert_records(&self, form_key: &str, data: impl IntoIterator<Item = Value>) -> Vec<String> {
        use sea_orm::{ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
        use server::db::entities::{form, record};
        let form = form::Entity::find().filter(form::Column::Key.eq(form_key)).one(&self.db).await.unwrap().unwrap();
        let models: Vec<record::ActiveModel> = data
            .into_iter()
            .map(|data| record::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                workspace_id: Set(form.workspace_id.clone()),
                form_id: Set(form.id.clone()),
                form_version: Set(1),
                data: Set(data),
                version: Set(1),
                created_by: Set("seed".into()),
                created_at: Set(1_790_000_000_000),
                updated_at: Set(1_790_000_000_000),
                deleted_at: Set(None),
            })
            .collect();
        let ids = models.iter().map(|m| m.id.clone().unwrap()).collect();
        for chunk in models.chunks(500) {
            record::Entity::insert_many(chunk.to_vec()).exec(&self.db).await.unwrap();
        }
        ids
    }
}

/// Another server on the same database (see [`TestApp::other_process`]).
pub struct OtherProcess {
    router: Router,
}

impl OtherProcess {
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        send_to(&self.router, request).await
    }
}

async fn send_to(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = response.into_body().collect().await.expect("body").to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    (status, body)
}

/// A request with an API token (`Authorization: Bearer ...`), JSON body if any.
pub fn bearer(token: &str, method: &str, path: &str, body: Option<&Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path).header("authorization", format!("Bearer {token}"));
    match body {
        Some(body) => builder.header("content-type", "application/json").body(Body::from(body.to_string())).unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

pub fn json_request(method: &str, path: &str, body: &Value) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

/// Defines a test that runs `$body(app)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::support::TestApp::sqlite().await;
                ($body)(app).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(app) = $crate::support::TestApp::postgres().await {
                    ($body)(app).await;
                }
            }
        }
    };
}
