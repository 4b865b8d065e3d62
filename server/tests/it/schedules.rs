//! Schedule triggers: rounds start one instance per picked record, skip records whose
//! instance is still open, run once per interval across callers, and resume after a crash.

use axum::http::StatusCode;
use sea_orm::{ConnectionTrait, EntityTrait};
use serde_json::{Value, json};
use server::workflows::schedules;

use crate::on_both;
use crate::support::TestApp;
use crate::workflows::{WS, decide, inbox, now_ms, publish, setup, submit};

const DAY: i64 = 86_400_000;

fn weekly_review() -> Value {
    json!({
        "key": "reject-follow-up", "form": "iqc",
        "trigger": {"on": "schedule", "every": "P1D", "when": "record.result == \"reject\""},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}, "mode": "any"},
            {"id": "end", "kind": "end"}
        ],
        "edges": [{"from": "start", "to": "qe"}, {"from": "qe", "to": "end"}]
    })
}

on_both!(scheduled_rounds_start_one_instance_per_picked_record, |app: TestApp| async move {
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    publish(&app, &p.designer, &weekly_review()).await;
    let published = now_ms();
    let mut rejected = Vec::new();
    for (lot, result) in [("L-1", "reject"), ("L-2", "accept"), ("L-3", "reject")] {
        let id = submit(&app, &p.member, json!({"lot_no": lot, "lot_size": 5, "result": result})).await;
        if result == "reject" {
            rejected.push(id);
        }
    }
    assert!(inbox(&app, &p.qe).await.is_empty(), "a submission does not start a scheduled workflow");
    let fire = |at: i64| {
        let app = &app;
        async move { schedules::fire_due(&app.db, &app.state.runner, at).await.unwrap() }
    };
    assert_eq!(fire(published + DAY / 2).await, 0, "not due yet");
    assert_eq!(fire(published + DAY + 1_000).await, 2, "the two rejected records");
    let mut tasks: Vec<String> =
        inbox(&app, &p.qe).await.iter().map(|t| t["record"].as_str().unwrap().to_owned()).collect();
    tasks.sort();
    rejected.sort();
    assert_eq!(tasks, rejected);
    assert_eq!(fire(published + DAY + 2_000).await, 0, "one round per interval");

    // Next day: both instances are still open, so nothing new; after one is approved, the
    // following round starts that record again.
    assert_eq!(fire(published + 2 * DAY + 1_000).await, 0);
    let task = inbox(&app, &p.qe).await[0].clone();
    let (status, body) = decide(&app, &p.qe, task["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Missed rounds (days 3-5 with the server down) collapse into one.
    assert_eq!(fire(published + 5 * DAY + 1_000).await, 1);
    assert_eq!(fire(published + 5 * DAY + 2_000).await, 0);

    // A round cut short after its first record resumes after it: only records past the
    // cursor get instances.
    for lot in ["L-4", "L-5"] {
        rejected.push(submit(&app, &p.member, json!({"lot_no": lot, "lot_size": 5, "result": "reject"})).await);
    }
    for task in inbox(&app, &p.qe).await {
        decide(&app, &p.qe, task["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    }
    let mut ids = rejected.clone();
    ids.sort();
    let schedule = server::db::entities::workflow_schedule::Entity::find().one(&app.db).await.unwrap().unwrap();
    let sql = format!("UPDATE workflow_schedules SET cursor = '{}'", ids[1]);
    app.db.execute_unprepared(&sql).await.unwrap();
    assert_eq!(fire(schedule.next_at + 1).await, ids.len() - 2, "records after the cursor");
    let after = server::db::entities::workflow_schedule::Entity::find().one(&app.db).await.unwrap().unwrap();
    assert_eq!(after.cursor, None);
    assert!(after.next_at > schedule.next_at);

    // Unpublishing the schedule (a new version with another trigger) stops the rounds.
    let mut submitted = weekly_review();
    submitted["trigger"] = json!({"on": "submitted"});
    let (status, _) =
        app.send(p.designer.request("PUT", &format!("{WS}/workflows/reject-follow-up"), Some(&submitted))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) =
        app.send(p.designer.request("POST", &format!("{WS}/workflows/reject-follow-up/publish"), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(server::db::entities::workflow_schedule::Entity::find().one(&app.db).await.unwrap().is_none());
    assert_eq!(fire(published + 30 * DAY).await, 0);
});

on_both!(a_schedule_must_have_a_valid_interval_and_rule, |app: TestApp| async move {
    let p = setup(&app, "http://127.0.0.1:9/unused").await;
    let mut bad = weekly_review();
    bad["trigger"] = json!({"on": "schedule", "every": "P0D", "when": "record.colour == 1"});
    let (status, _) = app.send(p.designer.request("POST", &format!("{WS}/workflows"), Some(&bad))).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        app.send(p.designer.request("POST", &format!("{WS}/workflows/reject-follow-up/publish"), None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut found: Vec<String> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    found.sort();
    assert_eq!(found, ["/trigger/every invalid_duration", "/trigger/when unknown_reference"]);
    assert!(server::db::entities::workflow_schedule::Entity::find().one(&app.db).await.unwrap().is_none());
});
