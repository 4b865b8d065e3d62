//! Two `formwork serve` processes on one PostgreSQL database share the outbox: 1,000 rows
//! reach a counting endpoint exactly once each (leases with `FOR UPDATE SKIP LOCKED`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::support::TestApp;
use crate::workflows::{Peer, now_ms, setup};

/// Kills the process when the test ends, also when it fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_processes_deliver_every_outbox_row_exactly_once() {
    let Some(app) = TestApp::postgres().await else { return };
    let (peer, url) = Peer::start("ok").await;
    setup(&app, &url).await;
    let server::config::Database::Postgres { url: database_url, schema: Some(schema) } = &app.config.database else {
        unreachable!("a PostgreSQL test app has its own schema")
    };
    let workspace = server::db::entities::workspace::Entity::find().all(&app.db).await.unwrap()[0].id.clone();
    let txn = server::db::write_txn(&app.db).await.unwrap();
    for n in 0..1000 {
        let key = format!("key-{n}");
        server::workflows::enqueue(&txn, &workspace, None, "erp", "supplier_return", &json!({"n": n}), &key, now_ms())
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();

    // The schema travels in the URL (libpq's `options`), as a deployment into a schema would.
    let separator = if database_url.contains('?') { '&' } else { '?' };
    let database_url = format!("{database_url}{separator}options=-c%20search_path%3D{schema}");
    let start = |n: u32| {
        let dir = std::env::temp_dir().join(format!("formwork-proc-{schema}-{n}"));
        let child = Command::new(env!("CARGO_BIN_EXE_formwork"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(&dir)
            .env("DATABASE_URL", &database_url)
            .env("FORMWORK_ADMIN_PASSWORD", "not-used-here-1234")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("formwork serve starts");
        Server(child)
    };
    let servers = [start(1), start(2)];

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = server::db::entities::outbox::Entity::find()
            .filter(server::db::entities::outbox::Column::Status.eq("done"))
            .count(&app.db)
            .await
            .unwrap();
        if done == 1000 {
            break;
        }
        assert!(Instant::now() < deadline, "only {done} of 1000 rows delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(servers);

    let calls = peer.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1000, "none lost");
    assert!(
        calls.values().all(|n| *n == 1),
        "none twice: {:?}",
        calls.iter().filter(|(_, n)| **n > 1).collect::<Vec<_>>()
    );
    let attempts = server::db::entities::outbox_attempt::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(attempts.len(), 1000, "one attempt per row");
    let mut workers = std::collections::BTreeMap::<&str, usize>::new();
    for attempt in &attempts {
        *workers.entry(attempt.worker.as_str()).or_default() += 1;
    }
    eprintln!("rows delivered per process: {workers:?}");
    assert!(!workers.is_empty() && workers.len() <= 2, "{workers:?}");
    for n in 1..=2 {
        let _ = std::fs::remove_dir_all(std::env::temp_dir().join(format!("formwork-proc-{schema}-{n}")));
    }
}
