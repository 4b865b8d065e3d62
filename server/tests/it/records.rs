//! Records: submit, read, edit with optimistic concurrency, delete and restore, history,
//! lists, row scope, isolation, concurrency.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};

use crate::forms::plant;
use crate::on_both;
use crate::support::{Session, TestApp};

const PASSWORD: &str = "correct horse battery";

fn ncr_form() -> Value {
    json!({"key": "ncr", "name": {"en": "Nonconformance", "zh-CN": "不合格品报告"}, "fields": [
        {"key": "no", "type": "auto_number", "pattern": "NCR-{yyyy}-{seq:4}"},
        {"key": "lot", "type": "lot", "required": true},
        {"key": "qty", "type": "number", "integer": true, "min": 1},
        {"key": "defects", "type": "number", "integer": true, "min": 0},
        {"key": "ppm", "type": "computed",
         "expr": "if type_of(qty) == \"i64\" && type_of(defects) == \"i64\" && qty > 0 { defects * 1000000 / qty } else { 0 }"},
        {"key": "severity", "type": "select", "options": [{"value": "minor"}, {"value": "major"}]},
        {"key": "urgent", "type": "boolean"}
    ]})
}

/// `plant` plus a published NCR form; returns (root, designer, member).
async fn with_ncr(app: &TestApp) -> (Session, Session, Session) {
    let (root, designer, member) = plant(app).await;
    let (status, _) = app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms", Some(&ncr_form()))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) =
        app.send(designer.request("POST", "/api/v1/workspaces/plant-a/forms/ncr/publish", Some(&json!({})))).await;
    assert_eq!(status, StatusCode::OK);
    (root, designer, member)
}

const RECORDS: &str = "/api/v1/workspaces/plant-a/forms/ncr/records";

fn record(id: &str) -> String {
    format!("/api/v1/workspaces/plant-a/records/{id}")
}

on_both!(submitting_validates_computes_and_numbers, |app: TestApp| async move {
    let (_, _, member) = with_ncr(&app).await;
    let (status, created) =
        app.send(member.request("POST", RECORDS, Some(&json!({"lot": " L-1\n", "qty": 200, "defects": 3})))).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let year = created["data"]["no"].as_str().unwrap()[4..8].to_owned();
    assert_eq!(created["data"]["no"], json!(format!("NCR-{year}-0001")));
    assert_eq!(created["data"]["lot"], json!("L-1"));
    assert_eq!(created["data"]["ppm"], json!(15000));
    assert_eq!((created["version"].clone(), created["form_version"].clone()), (json!(1), json!(1)));
    // Invalid records are refused with every problem, store nothing and use no number.
    let (status, body) = app
        .send(member.with_lang("zh-CN").request("POST", RECORDS, Some(&json!({"qty": 0, "severity": "fatal", "x": 1}))))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], json!("validation_failed"));
    let mut codes: Vec<String> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    codes.sort();
    assert_eq!(codes, vec!["/lot required", "/qty below_min", "/severity invalid_option", "/x unknown_field"]);
    assert!(body["details"]["errors"][0]["message"].as_str().unwrap().chars().any(|c| c > '\u{4e00}'));
    let (_, second) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": "L-2"})))).await;
    assert_eq!(second["data"]["no"], json!(format!("NCR-{year}-0002")));
    let (_, list) = app.send(member.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(list["total"], json!(2));
    let id = created["id"].as_str().unwrap();
    let (status, fetched) = app.send(member.request("GET", &record(id), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(fetched["data"], created["data"]);
});

on_both!(a_writer_that_cannot_reach_its_database_fails_cleanly, |app: TestApp| async move {
    let (_, _, member) = with_ncr(&app).await;
    // The group-commit writer opens its own connection; point it where none can be opened
    // (reads still go to the real database).
    let mut app = app;
    app.reconfigure(|config| {
        config.database = server::config::Database::Sqlite { path: "/proc/formwork-nowhere/formwork.sqlite".into() };
    });
    for lot in ["L-1", "L-2"] {
        let (status, body) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": lot})))).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
        assert_eq!(body["code"], json!("internal"));
        assert!(!body.to_string().contains("/proc"), "the cause stays in the log: {body}");
    }
    let (_, list) = app.send(member.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(list["total"], json!(0), "nothing was stored");
});

on_both!(edits_need_the_current_version_and_leave_history, |app: TestApp| async move {
    let (_, designer, _) = with_ncr(&app).await;
    let (_, created) =
        app.send(designer.request("POST", RECORDS, Some(&json!({"lot": "L-1", "qty": 100, "defects": 1})))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let patch = |version: Option<&str>, body: Value| {
        let mut request = designer.request("PATCH", &record(&id), Some(&body));
        if let Some(version) = version {
            request.headers_mut().insert("if-match", version.parse().unwrap());
        }
        request
    };
    let (status, body) = app.send(patch(None, json!({"data": {"defects": 2}}))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("bad_request")));
    let (status, updated) =
        app.send(patch(Some("\"1\""), json!({"data": {"defects": 2, "qty": null}, "reason": "recount"}))).await;
    assert_eq!(status, StatusCode::OK, "{updated}");
    assert_eq!(updated["version"], json!(2));
    assert_eq!(updated["data"]["ppm"], json!(0));
    assert!(updated["data"].get("qty").is_none());
    // The auto-number is kept.
    assert_eq!(updated["data"]["no"], created["data"]["no"]);
    let (status, body) = app.send(patch(Some("1"), json!({"data": {"defects": 5}}))).await;
    assert_eq!((status, body["code"].clone()), (StatusCode::CONFLICT, json!("version_conflict")));
    assert_eq!(body["details"]["current_version"], json!(2));
    let (status, body) = app.send(patch(Some("2"), json!({"data": {"defects": -1}}))).await;
    assert_eq!(
        (status, body["details"]["errors"][0]["code"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("below_min"))
    );
    let (_, history) = app.send(designer.request("GET", &format!("{}/history", record(&id)), None)).await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[1]["action"], json!("record.update"));
    assert_eq!(items[1]["reason"], json!("recount"));
    assert_eq!(items[1]["changes"]["defects"], json!({"before": 1, "after": 2}));
    assert_eq!(items[1]["changes"]["qty"], json!({"before": 100, "after": null}));
});

on_both!(two_edits_of_one_version_exactly_one_wins, |app: TestApp| async move {
    let (_, designer, _) = with_ncr(&app).await;
    let (_, created) = app.send(designer.request("POST", RECORDS, Some(&json!({"lot": "L-1"})))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    for defects in [1, 2] {
        let router = app.router.clone();
        let mut request = designer.request("PATCH", &record(&id), Some(&json!({"data": {"defects": defects}})));
        request.headers_mut().insert("if-match", "1".parse().unwrap());
        tasks.spawn(async move { tower::ServiceExt::oneshot(router, request).await.unwrap().status() });
    }
    let mut statuses = tasks.join_all().await;
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::OK, StatusCode::CONFLICT]);
    let (_, current) = app.send(designer.request("GET", &record(&id), None)).await;
    assert_eq!(current["version"], json!(2));
});

on_both!(parallel_submissions_get_distinct_gapless_numbers, |app: TestApp| async move {
    let (_, _, member) = with_ncr(&app).await;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let router = app.router.clone();
        let request = member.request("POST", RECORDS, Some(&json!({"lot": format!("L-{i}")})));
        tasks.spawn(async move {
            let response = tower::ServiceExt::oneshot(router, request).await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            body["data"]["no"].as_str().unwrap()[9..].parse::<u32>().unwrap()
        });
    }
    let mut numbers = tasks.join_all().await;
    numbers.sort();
    assert_eq!(numbers, (1..=200).collect::<Vec<u32>>());
    // They shared commits: 200 concurrent submissions never need 200 flushes.
    let request = Request::get("/metrics").header("authorization", "Bearer scrape-secret").body(Body::empty()).unwrap();
    let (_, text) = app.send(request).await;
    let text = text.as_str().unwrap();
    let metric = |name: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let (jobs, commits) = (metric("formwork_group_commit_jobs_total"), metric("formwork_group_commits_total"));
    assert!(jobs >= 200.0 && commits < jobs, "{commits} commits for {jobs} jobs");
    // The writer's time: committing is part of its busy time, and both were counted.
    let (busy, commit) =
        (metric("formwork_group_commit_busy_seconds_total"), metric("formwork_group_commit_commit_seconds_total"));
    assert!(commit > 0.0 && busy >= commit, "busy {busy} s, of which commit {commit} s");
    // Concurrent callers may have been waited for, never for longer than the writer worked.
    let waited = metric("formwork_group_commit_wave_wait_seconds_total");
    assert!((0.0..=busy).contains(&waited), "waited {waited} s, busy {busy} s");
});

// A submission's record and audit changes are written out as JSON before the writer draws
// its number and adds it to both: what is stored, what history shows and what the chain
// hashed must all agree with the answer.
on_both!(submissions_store_their_numbers_where_the_answer_and_the_audit_chain_say, |app: TestApp| async move {
    let (root, _, member) = with_ncr(&app).await;
    for (lot, qty) in [("L-\"quoted\" 批次", 200), ("L-2", 1)] {
        let body = json!({"lot": lot, "qty": qty, "defects": 1, "severity": "major"});
        let (status, created) = app.send(member.request("POST", RECORDS, Some(&body))).await;
        assert_eq!(status, StatusCode::CREATED);
        let id = created["id"].as_str().unwrap();
        let number = created["data"]["no"].as_str().unwrap().to_owned();
        assert!(number.starts_with("NCR-"), "{created}");
        let (_, stored) = app.send(member.request("GET", &record(id), None)).await;
        assert_eq!(stored["data"], created["data"]);
        let (_, history) = app.send(root.request("GET", &format!("{}/history", record(id)), None)).await;
        let changes = &history["items"][0]["changes"];
        let fields = created["data"].as_object().unwrap();
        assert_eq!(changes.as_object().unwrap().len(), fields.len(), "{changes}");
        for (key, value) in fields {
            assert_eq!(changes[key], json!({"before": null, "after": value}), "{key}");
        }
    }
    let (_, verification) = app.send(root.request("GET", "/api/v1/workspaces/plant-a/audit/verify", None)).await;
    assert_eq!(verification["ok"], json!(true), "{verification}");
});

/// The group-commit writer's SQLite connection leaves checkpoints (copying the log into the
/// database file, two more flushes) to a task beside it, so no submission waits for one:
/// that task must keep the log copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_log_is_checkpointed_beside_the_writer() {
    let app = TestApp::sqlite().await;
    let (_, _, member) = with_ncr(&app).await;
    for i in 0..20 {
        let (status, _) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": format!("L-{i}")})))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let request =
            Request::get("/metrics").header("authorization", "Bearer scrape-secret").body(Body::empty()).unwrap();
        let (_, text) = app.send(request).await;
        let text = text.as_str().unwrap().to_owned();
        let metric = |name: &str| -> u64 {
            let line = text.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
            line.rsplit(' ').next().unwrap().parse().unwrap()
        };
        let (frames, copied) =
            (metric("formwork_sqlite_wal_frames"), metric("formwork_sqlite_wal_checkpointed_frames"));
        // Some checkpoint found the writer's frames in the log and copied all of them.
        if frames > 0 && copied == frames {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "log not checkpointed: {copied} of {frames} frames");
        tokio::task::yield_now().await;
    }
}

on_both!(deleted_records_disappear_and_can_be_restored, |app: TestApp| async move {
    let (_, designer, member) = with_ncr(&app).await;
    let (_, created) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": "L-1"})))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    // Members do not delete; designers do not either (default policies); admins do.
    assert_eq!(app.send(member.request("DELETE", &record(&id), None)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(app.send(designer.request("DELETE", &record(&id), None)).await.0, StatusCode::FORBIDDEN);
    let root = app.login("root", PASSWORD).await;
    assert_eq!(app.send(root.request("DELETE", &record(&id), None)).await.0, StatusCode::NO_CONTENT);
    assert_eq!(app.send(root.request("GET", &record(&id), None)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(app.send(root.request("DELETE", &record(&id), None)).await.0, StatusCode::NOT_FOUND);
    let (_, list) = app.send(root.request("GET", RECORDS, None)).await;
    assert_eq!(list["items"], json!([]));
    let (status, restored) = app.send(root.request("POST", &format!("{}/restore", record(&id)), None)).await;
    assert_eq!(status, StatusCode::OK, "{restored}");
    assert_eq!(app.send(root.request("GET", &record(&id), None)).await.0, StatusCode::OK);
    let (_, history) = app.send(root.request("GET", &format!("{}/history", record(&id)), None)).await;
    let actions: Vec<_> = history["items"].as_array().unwrap().iter().map(|e| e["action"].clone()).collect();
    assert_eq!(actions, vec![json!("record.create"), json!("record.delete"), json!("record.restore")]);
});

on_both!(members_see_only_their_own_records, |app: TestApp| async move {
    let (root, designer, member) = with_ncr(&app).await;
    app.create_user("member2", PASSWORD, false).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-a/members",
        Some(&json!({"username": "member2", "roles": ["member"]})),
    ))
    .await;
    let other = app.login("member2", PASSWORD).await;
    let (_, mine) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": "MINE"})))).await;
    let (_, theirs) = app.send(other.request("POST", RECORDS, Some(&json!({"lot": "THEIRS"})))).await;
    let theirs_id = theirs["id"].as_str().unwrap();
    let (_, list) = app.send(member.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["id"], mine["id"]);
    assert_eq!(list["total"], json!(1));
    for (method, path, body) in [
        ("GET", record(theirs_id), None),
        ("PATCH", record(theirs_id), Some(json!({"data": {"lot": "X"}, "version": 1}))),
        ("GET", format!("{}/history", record(theirs_id)), None),
    ] {
        assert_eq!(
            app.send(member.request(method, &path, body.as_ref())).await.0,
            StatusCode::NOT_FOUND,
            "{method} {path}"
        );
    }
    let (_, all) = app.send(designer.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(all["total"], json!(2));
});

on_both!(lists_filter_page_and_select_fields, |app: TestApp| async move {
    let (_, designer, _) = with_ncr(&app).await;
    for i in 0..7 {
        let severity = if i % 2 == 0 { "major" } else { "minor" };
        let body = json!({"lot": format!("L-{i}"), "qty": 10 + i, "severity": severity, "urgent": i == 3});
        app.send(designer.request("POST", RECORDS, Some(&body))).await;
    }
    let (_, page1) = app.send(designer.request("GET", &format!("{RECORDS}?limit=3&fields=lot"), None)).await;
    let lots = |page: &Value| -> Vec<Value> {
        page["items"].as_array().unwrap().iter().map(|r| r["data"]["lot"].clone()).collect()
    };
    assert_eq!(lots(&page1), vec![json!("L-0"), json!("L-1"), json!("L-2")]);
    assert_eq!(page1["items"][0]["data"], json!({"lot": "L-0"}));
    let after = page1["next_after"].as_str().unwrap();
    let (_, page2) = app.send(designer.request("GET", &format!("{RECORDS}?limit=3&after={after}"), None)).await;
    assert_eq!(lots(&page2), vec![json!("L-3"), json!("L-4"), json!("L-5")]);
    let (_, last) = app
        .send(designer.request(
            "GET",
            &format!("{RECORDS}?limit=3&after={}", page2["next_after"].as_str().unwrap()),
            None,
        ))
        .await;
    assert_eq!(lots(&last), vec![json!("L-6")]);
    assert_eq!(last["next_after"], Value::Null);
    let (_, majors) = app.send(designer.request("GET", &format!("{RECORDS}?f.severity=major&total=true"), None)).await;
    assert_eq!(majors["total"], json!(4));
    let (_, by_qty) = app.send(designer.request("GET", &format!("{RECORDS}?f.qty=13"), None)).await;
    assert_eq!(lots(&by_qty), vec![json!("L-3")]);
    let (_, urgent) = app.send(designer.request("GET", &format!("{RECORDS}?f.urgent=true"), None)).await;
    assert_eq!(lots(&urgent), vec![json!("L-3")]);
    let (_, newest) = app.send(designer.request("GET", &format!("{RECORDS}?order=desc&limit=1"), None)).await;
    assert_eq!(lots(&newest), vec![json!("L-6")]);
    // SQL in filter values is data: it matches nothing and changes nothing.
    for hostile in ["x' OR '1'='1", "\"; DROP TABLE records; --", "%' --"] {
        let path = format!("{RECORDS}?f.lot={}", urlencode(hostile));
        let (status, found) = app.send(designer.request("GET", &path, None)).await;
        assert_eq!((status, found["items"].clone()), (StatusCode::OK, json!([])), "{hostile}");
    }
    let (_, still) = app.send(designer.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(still["total"], json!(7));
    // Unknown or hostile field names and bad parameters are refused.
    for query in [
        "f.nope=1",
        "f.lot')--=1",
        "fields=lot,secret",
        "limit=0",
        "limit=abc",
        "order=sideways",
        "sort=nope",
        "sort=ppm",
        "f.qty=many",
        "f.urgent=maybe",
    ] {
        let (status, body) = app.send(designer.request("GET", &format!("{RECORDS}?{query}"), None)).await;
        assert_eq!((status, body["code"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_query")), "{query}");
    }
});

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

on_both!(records_of_another_workspace_are_unreachable, |app: TestApp| async move {
    let (root, _, member) = with_ncr(&app).await;
    let (_, created) = app.send(member.request("POST", RECORDS, Some(&json!({"lot": "SECRET"})))).await;
    let id = created["id"].as_str().unwrap().to_owned();
    app.send(root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    app.create_user("spy", PASSWORD, false).await;
    app.send(root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "spy", "roles": ["admin"]})),
    ))
    .await;
    let spy = app.login("spy", PASSWORD).await;
    // Through its own workspace, by id guessing: not found.
    for (method, path, body) in [
        ("GET", format!("/api/v1/workspaces/plant-b/records/{id}"), None),
        (
            "PATCH",
            format!("/api/v1/workspaces/plant-b/records/{id}"),
            Some(json!({"data": {"lot": "X"}, "version": 1})),
        ),
        ("DELETE", format!("/api/v1/workspaces/plant-b/records/{id}"), None),
        ("POST", format!("/api/v1/workspaces/plant-b/records/{id}/restore"), None),
        ("GET", format!("/api/v1/workspaces/plant-b/records/{id}/history"), None),
        ("GET", "/api/v1/workspaces/plant-b/forms/ncr/records".to_owned(), None),
        ("POST", "/api/v1/workspaces/plant-b/forms/ncr/records".to_owned(), Some(json!({"lot": "X"}))),
        // Through the other workspace's paths: not found either.
        ("GET", record(&id), None),
        ("GET", RECORDS.to_owned(), None),
        ("POST", RECORDS.to_owned(), Some(json!({"lot": "X"}))),
    ] {
        let (status, body) = app.send(spy.request(method, &path, body.as_ref())).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    let (_, unchanged) = app.send(member.request("GET", &record(&id), None)).await;
    assert_eq!((unchanged["version"].clone(), unchanged["data"]["lot"].clone()), (json!(1), json!("SECRET")));
});

on_both!(record_bodies_are_checked, |app: TestApp| async move {
    let (_, designer, _) = with_ncr(&app).await;
    let post = |body: Body| {
        let mut request = Request::post(RECORDS).header("content-type", "application/json").body(body).unwrap();
        request.headers_mut().insert("cookie", designer.cookie.parse().unwrap());
        request.headers_mut().insert("x-csrf-token", designer.csrf.parse().unwrap());
        request
    };
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    for (body, code) in [
        (Body::from("{\"lot\": "), "malformed_json"),
        (Body::from(deep), "malformed_json"),
        (Body::from(vec![b'"', 0xC3, 0x28, b'"']), "malformed_json"),
        (Body::from("[1, 2]"), "validation_failed"),
        (Body::from(format!("{{\"lot\": \"{}\"}}", "x".repeat(70 * 1024))), "payload_too_large"),
    ] {
        let (_, response) = app.send(post(body)).await;
        assert_eq!(response["code"], json!(code), "{response}");
    }
    let (_, list) = app.send(designer.request("GET", &format!("{RECORDS}?total=true"), None)).await;
    assert_eq!(list["total"], json!(0));
});
