//! The per-process access cache (`server/src/access_cache/`): changes made through the
//! same process apply to the very next request; changes made by another process on the same
//! database apply within the configured time to live, and at once when it is 0. Also the
//! batch counters of auto-numbers (`server/src/db/counters.rs`).

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::json;
use server::db::counters::Counters;

use crate::forms::{lot_form, plant};
use crate::on_both;
use crate::support::{TestApp, bearer};

const SUBMIT: &str = "/api/v1/workspaces/plant-a/forms/lot_check/records";

/// A published lot form and a token of the designer for plant-a.
async fn setup(app: &TestApp) -> (crate::support::Session, crate::support::Session, String, String) {
    let (root, designer, _) = plant(app).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&lot_form()))).await;
    app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({})))).await;
    let (status, created) = app
        .send(designer.request("POST", "/api/v1/auth/tokens", Some(&json!({"workspace": "plant-a", "name": "sync"}))))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    (root, designer, token, id)
}

const FORMS: &str = "/api/v1/workspaces/plant-a/forms";

/// Uses `token` in `app` (so that it is cached there), then revokes it through another
/// process on the same database.
async fn revoke_elsewhere(app: &TestApp, designer: &crate::support::Session, token: &str, id: &str) {
    assert_eq!(app.send(bearer(token, "GET", FORMS, None)).await.0, StatusCode::OK);
    let revoke = designer.request("DELETE", &format!("/api/v1/auth/tokens/{id}"), None);
    assert_eq!(app.other_process().send(revoke).await.0, StatusCode::NO_CONTENT);
}

/// Polls `probe` until it answers `wanted`, failing after `deadline`.
async fn eventually<F, Fut>(deadline: Duration, wanted: StatusCode, mut probe: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StatusCode>,
{
    let start = Instant::now();
    loop {
        let status = probe().await;
        if status == wanted {
            return;
        }
        assert!(start.elapsed() < deadline, "still {status} after {deadline:?}, wanted {wanted}");
        tokio::task::yield_now().await;
    }
}

on_both!(changes_through_this_process_apply_to_the_next_request, |app: TestApp| async move {
    let (root, designer, token, id) = setup(&app).await;
    // Warm the cache: the token, the workspace with the caller's roles, the form.
    for n in 0..3 {
        let (status, body) = app.send(bearer(&token, "POST", SUBMIT, Some(&json!({"lot": format!("L-{n}")})))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    // A new version is used by the very next submission.
    let mut v2 = lot_form();
    v2["fields"].as_array_mut().unwrap().push(json!({"key": "note", "type": "text"}));
    app.send(designer.request("PUT", "/api/v1/workspaces/plant-a/forms/lot_check", Some(&v2))).await;
    let (status, body) = app
        .send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/lot_check/publish", Some(&json!({}))))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = app.send(bearer(&token, "POST", SUBMIT, Some(&json!({"lot": "L-9", "note": "new"})))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["form_version"], json!(2), "{body}");
    // Roles taken away apply at once: a viewer may not submit.
    let body = json!({"username": "designer", "roles": ["viewer"]});
    assert_eq!(
        app.send(root.request("PUT", "/api/v1/workspaces/plant-a/members", Some(&body))).await.0,
        StatusCode::OK
    );
    let (status, body) = app.send(bearer(&token, "POST", SUBMIT, Some(&json!({"lot": "L-10"})))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // A revoked token is refused at once.
    let (status, _) = app.send(designer.request("DELETE", &format!("/api/v1/auth/tokens/{id}"), None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = app.send(bearer(&token, "GET", "/api/v1/workspaces/plant-a/forms", None)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A session that logged out is refused at once.
    let (status, _) = app.send(root.request("GET", "/api/v1/me", None)).await;
    assert_eq!(status, StatusCode::OK);
    app.send(root.request("POST", "/api/v1/auth/logout", None)).await;
    assert_eq!(app.send(root.request("GET", "/api/v1/me", None)).await.0, StatusCode::UNAUTHORIZED);
});

on_both!(changes_by_another_process_apply_within_the_time_to_live, |app: TestApp| async move {
    let (root, designer, token, id) = setup(&app).await;
    let forms = FORMS;
    // The other process revokes the token: this one refuses it once its entry has expired
    // (1 s in the tests; on PostgreSQL as soon as it hears of it), without anything of its
    // own having changed.
    revoke_elsewhere(&app, &designer, &token, &id).await;
    eventually(Duration::from_secs(10), StatusCode::UNAUTHORIZED, || async {
        app.send(bearer(&token, "GET", forms, None)).await.0
    })
    .await;
    // The other process removes the member: this one stops answering them.
    let member = app.login("member", crate::forms::PASSWORD).await;
    assert_eq!(app.send(member.request("GET", forms, None)).await.0, StatusCode::OK);
    let (status, _) =
        app.other_process().send(root.request("DELETE", "/api/v1/workspaces/plant-a/members/member", None)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    eventually(Duration::from_secs(10), StatusCode::NOT_FOUND, || async {
        app.send(member.request("GET", forms, None)).await.0
    })
    .await;
});

on_both!(without_the_cache_other_processes_apply_at_once, |app: TestApp| async move {
    let mut app = app;
    app.reconfigure(|config| config.access_cache_ttl = Duration::ZERO);
    let (_, designer, token, id) = setup(&app).await;
    revoke_elsewhere(&app, &designer, &token, &id).await;
    assert_eq!(app.send(bearer(&token, "GET", FORMS, None)).await.0, StatusCode::UNAUTHORIZED);
});

on_both!(batch_counters_are_gapless, |app: TestApp| async move {
    let value = |app: &TestApp| {
        let db = app.db.clone();
        async move {
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT value FROM counters WHERE workspace_id = 'w' AND name = 'n'",
                ))
                .await
                .unwrap();
            row.map(|r| r.try_get_by_index::<i64>(0).unwrap())
        }
    };
    // Three draws, one of them taken back, in one transaction: the row ends at 2.
    let txn = app.db.begin().await.unwrap();
    let mut counters = Counters::default();
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 1);
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 2);
    let mark = counters.mark();
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 3);
    counters.reset(mark);
    counters.flush(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(value(&app).await, Some(2));
    // A counter first drawn by a job that failed goes back to where it was.
    let txn = app.db.begin().await.unwrap();
    let mut counters = Counters::default();
    let mark = counters.mark();
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 3);
    counters.reset(mark);
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 3, "the taken-back number is drawn again");
    assert_eq!(counters.next(&txn, "w", "n").await.unwrap(), 4);
    counters.flush(&txn).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(value(&app).await, Some(4));
    // Rolled back: nothing drawn stays.
    let txn = app.db.begin().await.unwrap();
    let mut counters = Counters::default();
    counters.next(&txn, "w", "n").await.unwrap();
    counters.next(&txn, "w", "n").await.unwrap();
    counters.flush(&txn).await.unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(value(&app).await, Some(4));
});

on_both!(postgresql_processes_hear_of_changes_before_the_time_to_live, |app: TestApp| async move {
    let mut app = app;
    // A time to live far beyond the deadline below: only the announcement can make it.
    app.reconfigure(|config| config.access_cache_ttl = Duration::from_secs(60));
    let postgres = app.db.get_database_backend() == sea_orm::DbBackend::Postgres;
    let (_, designer, token, id) = setup(&app).await;
    let forms = FORMS;
    revoke_elsewhere(&app, &designer, &token, &id).await;
    if postgres {
        eventually(Duration::from_secs(10), StatusCode::UNAUTHORIZED, || async {
            app.send(bearer(&token, "GET", forms, None)).await.0
        })
        .await;
    } else {
        // SQLite has no announcements: the entry stands until its time to live.
        assert_eq!(app.send(bearer(&token, "GET", forms, None)).await.0, StatusCode::OK);
    }
});
