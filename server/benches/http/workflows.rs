//! Workflow instances per second through the API: each instance is one record submission
//! that starts the workflow, then two rounds of "read my inbox, approve my task for this
//! record" — what an approver's client does — until the instance ends. The baseline is the
//! plain submission rate at the same concurrency, measured in the same run.

use serde_json::{Value, json};

use super::{CLIENTS, Http, Server, Timing, drive};

/// Instances per client (and for the single client).
const EACH: usize = 50;

/// The engine benchmark's graph, on the IQC form: start -> condition -> QE approval ->
/// manager approval -> end (large lots skip the QE).
fn definition() -> Value {
    json!({
        "key": "bench-review", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "condition"},
            {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}, "mode": "any"},
            {"id": "manager", "kind": "approval", "assignees": {"roles": ["manager"]}},
            {"id": "end", "kind": "end"}
        ],
        "edges": [
            {"from": "start", "to": "route"},
            {"from": "route", "to": "manager", "when": "record.lot_size > 100000"},
            {"from": "route", "to": "qe", "default": true},
            {"from": "qe", "to": "manager"}, {"from": "manager", "to": "end"}
        ]
    })
}

pub(crate) fn run(server: &Server, token: &str, input: &Value, one: &Timing, many: &Timing) {
    let mut http = Http::connect(server.port);
    let (status, body) = http.send(
        "PUT",
        "/api/v1/workspaces/bench/members",
        Some(token),
        Some(&json!({"username": "admin", "roles": ["admin", "qe", "manager"]}).to_string()),
    );
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        http.send("POST", "/api/v1/workspaces/bench/workflows", Some(token), Some(&definition().to_string()));
    assert_eq!(status, 201, "{body}");
    let (status, body) =
        http.send("POST", "/api/v1/workspaces/bench/workflows/bench-review/publish", Some(token), None);
    assert_eq!(status, 200, "{body}");

    let single = instances(server, token, input, 1, EACH);
    let parallel = instances(server, token, input, CLIENTS, EACH);
    println!(
        "\n| workflow instances end to end (submit + 2 x inbox + approve) | instances/s | p50 ms | p99 ms | ratio to plain submissions |"
    );
    println!("|---|---|---|---|---|");
    for (label, run, base) in [("1 client", &single, one), ("16 clients", &parallel, many)] {
        println!(
            "| HTTP, {label} | {:.0} | {:.2} | {:.2} | **{:.2}** (submissions: {:.0}/s) |",
            run.rate,
            run.p50,
            run.p99,
            run.rate / base.rate,
            base.rate
        );
    }
}

/// Runs `each` instances per client to the end; the latency is one instance's whole life.
fn instances(server: &Server, token: &str, input: &Value, clients: usize, each: usize) -> Timing {
    let body = input.to_string();
    drive(server, clients, each, |http| {
        let (status, answer) =
            http.send("POST", "/api/v1/workspaces/bench/forms/iqc/records", Some(token), Some(&body));
        assert_eq!(status, 201, "{answer}");
        let record = serde_json::from_str::<Value>(&answer).unwrap()["id"].clone();
        for _ in 0..2 {
            approve(http, token, &record);
        }
    })
}

/// Finds the open task of `record` in the inbox and approves it.
fn approve(http: &mut Http, token: &str, record: &Value) {
    let (status, inbox) = http.send("GET", "/api/v1/workspaces/bench/tasks?assignee=me&status=open", Some(token), None);
    assert_eq!(status, 200, "{inbox}");
    let inbox: Value = serde_json::from_str(&inbox).unwrap();
    let task = inbox["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| &t["record"] == record)
        .unwrap_or_else(|| panic!("no open task for {record}"))
        .clone();
    let path = format!("/api/v1/workspaces/bench/tasks/{}/decision", task["id"].as_str().unwrap());
    let (status, answer) = http.send("POST", &path, Some(token), Some(r#"{"action":"approve"}"#));
    assert_eq!(status, 200, "{answer}");
}
