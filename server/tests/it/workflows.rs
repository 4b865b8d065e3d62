//! Workflows through the API: publish with checks, start on submit, the inbox and decisions,
//! actions that create records and call connectors through the outbox, retries, dead rows,
//! admin retry, timers, hostile rules, isolation, and two workers sharing one outbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};
pub(crate) use server::identity::now_ms;
use server::workflows::{outbox, timers};

use crate::forms::plant;
use crate::on_both;
use crate::support::{Session, TestApp};

const PASSWORD: &str = "correct horse battery";
pub(crate) const WS: &str = "/api/v1/workspaces/plant-a";

/// A JSON-RPC endpoint on a free loopback port that counts calls per idempotency key and
/// answers as `mode` says: `ok`, `fail_first:N` (503 N times), `business` (an error member).
#[derive(Clone, Default)]
pub(crate) struct Peer {
    pub(crate) calls: Arc<Mutex<HashMap<String, u32>>>,
    mode: Arc<Mutex<String>>,
    seen: Arc<Mutex<u32>>,
}

impl Peer {
    pub(crate) async fn start(mode: &str) -> (Peer, String) {
        let peer = Peer { mode: Arc::new(Mutex::new(mode.to_owned())), ..Peer::default() };
        let handler_peer = peer.clone();
        let app = axum::Router::new().route(
            "/rpc",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let peer = handler_peer.clone();
                async move {
                    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    let mode = peer.mode.lock().unwrap().clone();
                    let attempt = {
                        let mut seen = peer.seen.lock().unwrap();
                        *seen += 1;
                        *seen
                    };
                    if let Some(n) = mode.strip_prefix("fail_first:")
                        && attempt <= n.parse::<u32>().unwrap()
                    {
                        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, String::new());
                    }
                    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                    if mode == "business" {
                        let answer = json!({"jsonrpc": "2.0", "id": request["id"], "error": {"code": 1, "message": "not enough stock"}});
                        return (axum::http::StatusCode::OK, answer.to_string());
                    }
                    *peer.calls.lock().unwrap().entry(key.clone()).or_default() += 1;
                    let answer = json!({"jsonrpc": "2.0", "id": request["id"], "result": {"number": format!("SR-{}", key.len()), "params": request["params"]}});
                    (axum::http::StatusCode::OK, answer.to_string())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/rpc", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (peer, url)
    }

    fn total(&self) -> u32 {
        self.calls.lock().unwrap().values().sum()
    }
}

fn iqc_form() -> Value {
    json!({"key": "iqc", "name": "IQC", "fields": [
        {"key": "lot_no", "type": "lot", "required": true},
        {"key": "lot_size", "type": "number", "integer": true, "min": 1, "required": true},
        {"key": "result", "type": "select", "options": [{"value": "accept"}, {"value": "reject"}], "required": true},
        {"key": "note", "type": "text"},
        {"key": "length", "type": "number", "unit": "mm"},
        {"key": "erp_no", "type": "text"},
        {"key": "erp_error", "type": "text"}
    ]})
}

fn ncr_form() -> Value {
    json!({"key": "ncr", "name": "NCR", "fields": [
        {"key": "source", "type": "text", "required": true},
        {"key": "lot_no", "type": "text"}
    ]})
}

fn review() -> Value {
    json!({
        "key": "iqc-review", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "condition"},
            {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}, "mode": "any"},
            {"id": "mrb", "kind": "approval", "assignees": {"roles": ["mrb"]}, "mode": "all", "editable_fields": ["note"]},
            {"id": "ncr", "kind": "action", "script": "create_record(\"ncr\", #{ source: record.id, lot_no: record.lot_no })"},
            {"id": "erp_return", "kind": "action",
             "script": "call(\"erp\", \"supplier_return\", #{ lot: record.lot_no, quantity: record.lot_size })",
             "results": {"erp_no": "number"}, "error_field": "erp_error"},
            {"id": "end", "kind": "end"}
        ],
        "edges": [
            {"from": "start", "to": "route"},
            {"from": "route", "to": "qe", "when": "record.result == \"accept\""},
            {"from": "route", "to": "mrb", "default": true},
            {"from": "qe", "to": "end"},
            {"from": "mrb", "to": "ncr"}, {"from": "ncr", "to": "erp_return"}, {"from": "erp_return", "to": "end"}
        ]
    })
}

pub(crate) struct Plant {
    pub root: Session,
    pub designer: Session,
    pub member: Session,
    pub qe: Session,
    pub mrb: [Session; 2],
}

/// The plant with the IQC and NCR forms, a quality engineer, two MRB members and the `erp`
/// connector pointing at `erp_url`.
pub(crate) async fn setup(app: &TestApp, erp_url: &str) -> Plant {
    let (root, designer, member) = plant(app).await;
    for (user, roles) in
        [("qe1", json!(["member", "qe"])), ("mrb1", json!(["member", "mrb"])), ("mrb2", json!(["member", "mrb"]))]
    {
        app.create_user(user, PASSWORD, false).await;
        let (status, _) = app
            .send(root.request("PUT", &format!("{WS}/members"), Some(&json!({"username": user, "roles": roles}))))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    for form in [iqc_form(), ncr_form()] {
        let key = form["key"].as_str().unwrap().to_owned();
        let (status, body) = app.send(designer.request("POST", &format!("{WS}/forms"), Some(&form))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let (status, body) =
            app.send(designer.request("POST", &format!("{WS}/forms/{key}/publish"), Some(&json!({})))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let connector = json!({"name": "erp", "kind": "jsonrpc", "config": {"url": erp_url, "operations": ["supplier_return"]}, "secret": "s3cret-pw"});
    let (status, body) = app.send(root.request("POST", &format!("{WS}/connectors"), Some(&connector))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    Plant {
        qe: app.login("qe1", PASSWORD).await,
        mrb: [app.login("mrb1", PASSWORD).await, app.login("mrb2", PASSWORD).await],
        root,
        designer,
        member,
    }
}

pub(crate) async fn publish(app: &TestApp, designer: &Session, definition: &Value) {
    let key = definition["key"].as_str().unwrap();
    let (status, body) = app.send(designer.request("POST", &format!("{WS}/workflows"), Some(definition))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = app.send(designer.request("POST", &format!("{WS}/workflows/{key}/publish"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

pub(crate) async fn submit(app: &TestApp, who: &Session, record: Value) -> String {
    let (status, body) = app.send(who.request("POST", &format!("{WS}/forms/iqc/records"), Some(&record))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

pub(crate) async fn inbox(app: &TestApp, who: &Session) -> Vec<Value> {
    let (status, body) = app.send(who.request("GET", &format!("{WS}/tasks?assignee=me&status=open"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().unwrap().clone()
}

pub(crate) async fn decide(app: &TestApp, who: &Session, task: &str, body: Value) -> (StatusCode, Value) {
    app.send(who.request("POST", &format!("{WS}/tasks/{task}/decision"), Some(&body))).await
}

pub(crate) async fn record(app: &TestApp, who: &Session, id: &str) -> Value {
    let (status, body) = app.send(who.request("GET", &format!("{WS}/records/{id}"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub(crate) async fn instance(app: &TestApp, who: &Session, id: &str) -> Value {
    let (status, body) = app.send(who.request("GET", &format!("{WS}/workflow-instances/{id}"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Runs outbox rounds until nothing is due, for at most a few seconds.
pub(crate) async fn drain(app: &TestApp) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while outbox::deliver_due(&app.db, &app.state.runner, &app.state.http, "test-worker").await.unwrap() > 0 {
        assert!(std::time::Instant::now() < deadline, "the outbox does not drain");
    }
}

/// Makes every pending outbox row due now (as if its backoff had passed).
pub(crate) async fn time_passes(app: &TestApp) {
    use sea_orm::ConnectionTrait;
    app.db.execute_unprepared("UPDATE outbox SET next_attempt_at = 0 WHERE status = 'pending'").await.unwrap();
}

on_both!(publishing_checks_the_definition_against_the_workspace, |app: TestApp| async move {
    let (_peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    let mut bad = review();
    bad["nodes"][2]["assignees"] = json!({"roles": ["janitor"]});
    bad["nodes"][4]["script"] = json!("create_record(\"capa\", #{})");
    bad["edges"][1]["when"] = json!("record.colour == \"red\"");
    let (status, _) = app.send(p.designer.request("POST", &format!("{WS}/workflows"), Some(&bad))).await;
    assert_eq!(status, StatusCode::CREATED, "a draft may be unfinished");
    let (status, body) =
        app.send(p.designer.request("POST", &format!("{WS}/workflows/iqc-review/publish"), None)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut found: Vec<String> = body["details"]["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["path"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    found.sort();
    assert_eq!(
        found,
        ["/edges/1/when unknown_reference", "/nodes/2/assignees/roles/0 unknown_role", "/nodes/4/script unknown_form"]
    );
    // Members cannot design workflows; nothing was published.
    let (status, _) = app.send(p.member.request("PUT", &format!("{WS}/workflows/iqc-review"), Some(&review()))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, got) = app.send(p.designer.request("GET", &format!("{WS}/workflows/iqc-review"), None)).await;
    assert_eq!(got["latest_version"], Value::Null);
    let (status, _) = app.send(p.designer.request("PUT", &format!("{WS}/workflows/iqc-review"), Some(&review()))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) =
        app.send(p.designer.request("POST", &format!("{WS}/workflows/iqc-review/publish"), None)).await;
    assert_eq!((status, body["version"].clone()), (StatusCode::OK, json!(1)), "{body}");
    // The connector's secret is never shown.
    let (_, connectors) = app.send(p.root.request("GET", &format!("{WS}/connectors"), None)).await;
    assert!(!connectors.to_string().contains("s3cret-pw"));
    assert_eq!(connectors["items"][0]["has_secret"], json!(true));
});

on_both!(a_rejected_lot_goes_through_mrb_an_ncr_and_one_erp_return, |app: TestApp| async move {
    let (peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    publish(&app, &p.designer, &review()).await;

    // An accepted lot goes to QE only.
    let accepted = submit(&app, &p.member, json!({"lot_no": "L-1", "lot_size": 10, "result": "accept"})).await;
    let tasks = inbox(&app, &p.qe).await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["record"], json!(accepted));
    assert!(inbox(&app, &p.mrb[0]).await.is_empty());
    let (status, body) =
        decide(&app, &p.qe, tasks[0]["id"].as_str().unwrap(), json!({"action": "approve", "comment": "fine"})).await;
    assert_eq!((status, body["status"].clone()), (StatusCode::OK, json!("approved")), "{body}");

    // A rejected lot: both MRB members must approve (会签); one edits the note.
    let rejected = submit(&app, &p.member, json!({"lot_no": "L-2", "lot_size": 25, "result": "reject"})).await;
    // A dashboard over the fields the workflow writes, with its rollups built: the approver's
    // edit and the ERP's answer must reach them.
    let by = |field: &str| json!({"form": "iqc", "dimensions": [{"field": field}], "measures": [{"fn": "count", "as": "n"}]});
    let t = json!({"en": "w", "zh-CN": "w"});
    let dashboard = json!({"key": "lots", "name": t, "widgets": [
        {"key": "notes", "title": t, "x": 0, "y": 0, "w": 6, "h": 4, "report": by("note")},
        {"key": "erp", "title": t, "x": 6, "y": 0, "w": 6, "h": 4, "report": by("erp_no")}]});
    let (status, body) = app.send(p.root.request("POST", &format!("{WS}/dashboards"), Some(&dashboard))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    server::reports::rollups::catch_up(&app.db, &app.state.forms).await.unwrap();
    let counted = |field: &'static str| {
        let (app, root) = (&app, &p.root);
        async move {
            let (status, body) = app.send(root.request("POST", &format!("{WS}/reports/run"), Some(&by(field)))).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let mut rows: Vec<(Option<String>, f64)> = body["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r[0].as_str().map(str::to_owned), r[1].as_f64().unwrap()))
                .collect::<Vec<_>>();
            // Groups come in no promised order.
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            rows
        }
    };
    assert_eq!(counted("note").await, vec![(None, 2.0)]);
    let first = inbox(&app, &p.mrb[0]).await;
    let second = inbox(&app, &p.mrb[1]).await;
    assert_eq!((first.len(), second.len()), (1, 1));
    let instance_id = first[0]["instance"].as_str().unwrap().to_owned();
    // Someone else's task, an edit outside the node's fields, a bad return: refused, unchanged.
    let (status, _) = decide(&app, &p.qe, first[0]["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = decide(
        &app,
        &p.mrb[0],
        first[0]["id"].as_str().unwrap(),
        json!({"action": "approve", "data": {"lot_size": 1}}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        decide(&app, &p.mrb[0], first[0]["id"].as_str().unwrap(), json!({"action": "return", "to": "end"})).await;
    assert_eq!((status, body["details"]["reason"].clone()), (StatusCode::BAD_REQUEST, json!("invalid_return_target")));
    let (status, _) = decide(&app, &p.mrb[0], &format!("{instance_id}:999"), json!({"action": "approve"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.send(p.mrb[0].request("GET", &format!("{WS}/tasks?assignee=someone-else"), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = decide(
        &app,
        &p.mrb[0],
        first[0]["id"].as_str().unwrap(),
        json!({"action": "approve", "data": {"note": "sort and return"}}),
    )
    .await;
    assert_eq!((status, body["status"].clone()), (StatusCode::OK, json!("running")), "{body}");
    assert_eq!(record(&app, &p.root, &rejected).await["data"]["note"], json!("sort and return"));
    assert_eq!(counted("note").await, vec![(None, 1.0), (Some("sort and return".to_owned()), 1.0)]);
    let (status, body) = decide(&app, &p.mrb[1], second[0]["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The NCR exists; the ERP call waits in the outbox, written in the same transaction.
    let (_, ncrs) = app.send(p.root.request("GET", &format!("{WS}/forms/ncr/records"), None)).await;
    assert_eq!(ncrs["items"].as_array().unwrap().len(), 1, "{ncrs}");
    assert_eq!(ncrs["items"][0]["data"], json!({"source": rejected, "lot_no": "L-2"}));
    let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=pending"), None)).await;
    assert_eq!(rows["items"].as_array().unwrap().len(), 1, "{rows}");
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("running"));
    assert_eq!(peer.total(), 0, "nothing is called before the commit");

    drain(&app).await;
    assert_eq!(peer.total(), 1);
    let done = instance(&app, &p.root, &instance_id).await;
    assert_eq!(done["status"], json!("approved"), "{done}");
    let data = record(&app, &p.root, &rejected).await["data"].clone();
    assert!(data["erp_no"].as_str().unwrap().starts_with("SR-"), "{data}");
    assert_eq!(counted("erp_no").await, vec![(None, 1.0), (data["erp_no"].as_str().map(str::to_owned), 1.0)]);
    // Delivering again finds nothing due: exactly one call.
    drain(&app).await;
    assert_eq!(peer.total(), 1);
    let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=done"), None)).await;
    assert_eq!(rows["items"][0]["history"].as_array().unwrap().len(), 1);
    // A delivered call is not retried.
    let done_id = rows["items"][0]["id"].as_str().unwrap();
    let (status, _) = app.send(p.root.request("POST", &format!("{WS}/outbox/{done_id}/retry"), None)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // The audit chain still verifies with the workflow's entries in it.
    let (_, verify) = app.send(p.root.request("GET", &format!("{WS}/audit/verify"), None)).await;
    assert_eq!(verify["ok"], json!(true), "{verify}");
});

on_both!(a_down_erp_is_retried_and_a_business_error_blocks_until_an_admin_retries, |app: TestApp| async move {
    let (peer, url) = Peer::start("fail_first:2").await;
    let p = setup(&app, &url).await;
    publish(&app, &p.designer, &review()).await;
    let id = submit(&app, &p.member, json!({"lot_no": "L-3", "lot_size": 5, "result": "reject"})).await;
    for mrb in &p.mrb {
        let task = inbox(&app, mrb).await[0]["id"].as_str().unwrap().to_owned();
        decide(&app, mrb, &task, json!({"action": "approve"})).await;
    }
    // Down twice: each attempt is recorded and the row waits for its backoff.
    for expected in 1..=2 {
        drain(&app).await;
        let (_, rows) = app.send(p.root.request("GET", &format!("{WS}/outbox"), None)).await;
        let row = &rows["items"][0];
        assert_eq!((row["status"].clone(), row["attempts"].clone()), (json!("pending"), json!(expected)), "{row}");
        assert!(row["next_attempt_at"].as_i64().unwrap() > now_ms());
        time_passes(&app).await;
    }
    drain(&app).await;
    assert_eq!(peer.total(), 1);
    let data = record(&app, &p.root, &id).await["data"].clone();
    assert!(data["erp_no"].is_string(), "{data}");

    // A business error: the instance waits visibly, the record says why.
    *peer.mode.lock().unwrap() = "business".into();
    let id = submit(&app, &p.member, json!({"lot_no": "L-4", "lot_size": 5, "result": "reject"})).await;
    let mut instance_id = String::new();
    for mrb in &p.mrb {
        let task = inbox(&app, mrb).await[0].clone();
        instance_id = task["instance"].as_str().unwrap().to_owned();
        decide(&app, mrb, task["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    }
    drain(&app).await;
    let blocked = instance(&app, &p.root, &instance_id).await;
    assert_eq!(blocked["status"], json!("blocked"), "{blocked}");
    assert_eq!(blocked["state"]["status"]["reason"], json!("erp: not enough stock"));
    assert_eq!(record(&app, &p.root, &id).await["data"]["erp_error"], json!("erp: not enough stock"));
    // Only an administrator may retry; after the stock arrives the retry succeeds once.
    let (status, _) =
        app.send(p.member.request("POST", &format!("{WS}/workflow-instances/{instance_id}/retry"), None)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    *peer.mode.lock().unwrap() = "ok".into();
    let (status, body) =
        app.send(p.root.request("POST", &format!("{WS}/workflow-instances/{instance_id}/retry"), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    drain(&app).await;
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    let data = record(&app, &p.root, &id).await["data"].clone();
    assert!(data["erp_no"].is_string() && data.get("erp_error").is_none(), "{data}");
    assert_eq!(peer.total(), 2);
});

on_both!(calls_that_never_succeed_go_dead_and_can_be_retried, |app: TestApp| async move {
    let (peer, url) = Peer::start("fail_first:1000").await;
    let p = setup(&app, &url).await;
    publish(&app, &p.designer, &review()).await;
    submit(&app, &p.member, json!({"lot_no": "L-5", "lot_size": 5, "result": "reject"})).await;
    let mut instance_id = String::new();
    for mrb in &p.mrb {
        let task = inbox(&app, mrb).await[0].clone();
        instance_id = task["instance"].as_str().unwrap().to_owned();
        decide(&app, mrb, task["id"].as_str().unwrap(), json!({"action": "approve"})).await;
    }
    for _ in 0..8 {
        drain(&app).await;
        time_passes(&app).await;
    }
    let (_, dead) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=dead"), None)).await;
    let row = dead["items"][0].clone();
    assert_eq!(row["attempts"], json!(8), "{dead}");
    assert_eq!(row["history"].as_array().unwrap().len(), 8);
    assert!(!dead.to_string().contains("s3cret-pw"), "no secret in errors");
    let blocked = instance(&app, &p.root, &instance_id).await;
    assert_eq!(blocked["status"], json!("blocked"));
    *peer.mode.lock().unwrap() = "ok".into();
    let (status, body) =
        app.send(p.root.request("POST", &format!("{WS}/outbox/{}/retry", row["id"].as_str().unwrap()), None)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    drain(&app).await;
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    assert_eq!(peer.total(), 1);
});

on_both!(a_hostile_rule_fails_its_instance_and_nothing_else, |app: TestApp| async move {
    let (_peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    let hostile = json!({
        "key": "hostile", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [{"id": "start", "kind": "start"}, {"id": "spin", "kind": "action", "script": "let s = \"x\"; loop { s += s; }"}, {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "spin"}, {"from": "spin", "to": "end"}]
    });
    publish(&app, &p.designer, &hostile).await;
    publish(&app, &p.designer, &review()).await;
    let started = std::time::Instant::now();
    submit(&app, &p.member, json!({"lot_no": "L-6", "lot_size": 5, "result": "accept"})).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // The review started beside it and waits for QE as usual.
    assert_eq!(inbox(&app, &p.qe).await.len(), 1);
    use sea_orm::EntityTrait;
    let instances = server::db::entities::workflow_instance::Entity::find().all(&app.db).await.unwrap();
    let failed: Vec<_> = instances.iter().filter(|i| i.status == "failed").collect();
    assert_eq!(failed.len(), 1);
    let error = failed[0].state["status"]["error"].as_str().unwrap();
    assert!(error.contains("rule `spin`") && error.contains("max_string_size"), "{error}");
});

on_both!(sla_timers_fire_from_the_worker_and_other_workspaces_see_nothing, |app: TestApp| async move {
    let (_peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    let mut definition = review();
    definition["nodes"][2]["sla"] = json!({"after": "PT1H", "then": "auto_approve"});
    publish(&app, &p.designer, &definition).await;
    submit(&app, &p.member, json!({"lot_no": "L-7", "lot_size": 5, "result": "accept"})).await;
    let task = inbox(&app, &p.qe).await[0].clone();
    assert!(task["due_at"].as_i64().unwrap() > now_ms());
    let instance_id = task["instance"].as_str().unwrap().to_owned();
    assert_eq!(timers::fire_due(&app.db, &app.state.runner, now_ms()).await.unwrap(), 0, "not due yet");
    assert_eq!(timers::fire_due(&app.db, &app.state.runner, now_ms() + 3_600_001).await.unwrap(), 1);
    assert_eq!(instance(&app, &p.root, &instance_id).await["status"], json!("approved"));
    assert!(inbox(&app, &p.qe).await.is_empty());
    // Firing again finds nothing.
    assert_eq!(timers::fire_due(&app.db, &app.state.runner, now_ms() + 7_200_000).await.unwrap(), 0);

    // Another factory's admin sees neither the instance nor the tasks, the outbox or connectors.
    app.send(p.root.request("POST", "/api/v1/workspaces", Some(&json!({"slug": "plant-b", "name": "B"})))).await;
    app.create_user("other", PASSWORD, false).await;
    app.send(p.root.request(
        "PUT",
        "/api/v1/workspaces/plant-b/members",
        Some(&json!({"username": "other", "roles": ["admin"]})),
    ))
    .await;
    let other = app.login("other", PASSWORD).await;
    for path in [
        format!("{WS}/workflow-instances/{instance_id}"),
        format!("{WS}/outbox"),
        format!("{WS}/connectors"),
        format!("{WS}/tasks"),
        format!("{WS}/workflows"),
    ] {
        let (status, _) = app.send(other.request("GET", &path, None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = app
        .send(other.request("GET", &format!("/api/v1/workspaces/plant-b/workflow-instances/{instance_id}"), None))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});

on_both!(two_workers_deliver_every_row_exactly_once, |app: TestApp| async move {
    let (peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    use sea_orm::EntityTrait;
    let workspace = server::db::entities::workspace::Entity::find().all(&app.db).await.unwrap()[0].id.clone();
    // 1,000 rows written the way actions write them.
    let txn = server::db::write_txn(&app.db).await.unwrap();
    for n in 0..1000 {
        server::workflows::enqueue(
            &txn,
            &workspace,
            None,
            "erp",
            "supplier_return",
            &json!({"n": n}),
            &format!("key-{n}"),
            now_ms(),
        )
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    // A second connection pool plays the second server process.
    let second = server::db::open(&app.config.database).await.unwrap();
    let mut workers = Vec::new();
    for (name, db) in [("a", app.db.clone()), ("b", second)] {
        let state = app.state.clone();
        workers.push(tokio::spawn(async move {
            let mut delivered = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            loop {
                let n = outbox::deliver_due(&db, &state.runner, &state.http, name).await.unwrap();
                if n == 0 {
                    return delivered;
                }
                delivered += n;
                assert!(std::time::Instant::now() < deadline);
            }
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    assert_eq!(total, 1000);
    let calls = peer.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1000, "none lost");
    assert!(calls.values().all(|n| *n == 1), "none twice");
    let (_, done) = app.send(p.root.request("GET", &format!("{WS}/outbox?status=done"), None)).await;
    assert_eq!(done["items"].as_array().unwrap().len(), 500, "the list is capped at 500");
});

on_both!(bad_requests_are_refused_and_change_nothing, |app: TestApp| async move {
    let (_peer, url) = Peer::start("ok").await;
    let p = setup(&app, &url).await;
    publish(&app, &p.designer, &review()).await;
    // Connectors: unknown kind, a URL that is not HTTP, a malformed name, a duplicate.
    for (body, code) in [
        (json!({"name": "x", "kind": "ftp", "config": {"url": "http://h"}}), "bad_request"),
        (json!({"name": "x", "kind": "http", "config": {"url": "file:///etc/passwd"}}), "bad_request"),
        (json!({"name": "Bad Name", "kind": "http", "config": {"url": "http://h"}}), "bad_request"),
        (json!({"name": "erp", "kind": "http", "config": {"url": "http://h"}}), "already_exists"),
    ] {
        let (_, answer) = app.send(p.root.request("POST", &format!("{WS}/connectors"), Some(&body))).await;
        assert_eq!(answer["code"], json!(code), "{body}");
    }
    let (_, connectors) = app.send(p.root.request("GET", &format!("{WS}/connectors"), None)).await;
    assert_eq!(connectors["items"].as_array().unwrap().len(), 1);

    // Decisions: an unknown action, a return without a target, a signer without a position.
    submit(&app, &p.member, json!({"lot_no": "L-8", "lot_size": 5, "result": "accept"})).await;
    let task = inbox(&app, &p.qe).await[0].clone();
    let id = task["id"].as_str().unwrap();
    for body in
        [json!({"action": "shrug"}), json!({"action": "return"}), json!({"action": "add_signer", "users": ["x"]})]
    {
        let (status, answer) = decide(&app, &p.qe, id, body.clone()).await;
        assert_eq!((status, answer["code"].clone()), (StatusCode::BAD_REQUEST, json!("bad_request")), "{body}");
    }
    assert_eq!(inbox(&app, &p.qe).await, vec![task.clone()], "still open, unchanged");

    // Withdraw: only the submitter, only before anyone decided. The QE (a member who may not
    // read another member's record) does not even learn that the instance exists; an admin
    // may read it but is not the submitter.
    let instance_id = task["instance"].as_str().unwrap();
    let withdraw = format!("{WS}/workflow-instances/{instance_id}/withdraw");
    let (status, _) = app.send(p.qe.request("POST", &withdraw, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = app.send(p.root.request("POST", &withdraw, None)).await;
    assert_eq!((status, body["details"]["reason"].clone()), (StatusCode::FORBIDDEN, json!("not_assignee")));
    let (status, body) = app.send(p.member.request("POST", &withdraw, None)).await;
    assert_eq!((status, body["status"].clone()), (StatusCode::OK, json!("withdrawn")), "{body}");
    assert!(inbox(&app, &p.qe).await.is_empty());
    let (status, _) = app.send(p.member.request("POST", &withdraw, None)).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Retrying an outbox row that does not exist.
    let (status, _) = app.send(p.root.request("POST", &format!("{WS}/outbox/nope/retry"), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
});
