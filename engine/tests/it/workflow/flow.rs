//! Node kinds, returns, parallel branches, timers, SLAs and actions.

use engine::workflow::*;
use serde_json::json;

use super::sim::*;

fn start() -> serde_json::Value {
    json!({"id": "start", "kind": "start"})
}

fn end() -> serde_json::Value {
    json!({"id": "end", "kind": "end"})
}

/// The DESIGN §13 IQC review, with the ERP call result written back.
fn iqc_review() -> serde_json::Value {
    json!({
        "key": "iqc-review", "form": "iqc", "trigger": {"on": "submitted"},
        "nodes": [
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "condition"},
            {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}, "mode": "any"},
            {"id": "mrb", "kind": "approval", "assignees": {"roles": ["mrb"]}, "mode": "all", "editable_fields": ["note"]},
            {"id": "ncr", "kind": "action", "script": "create_record(\"ncr\", #{ source: record.id, lot_no: record.lot_no })"},
            {"id": "erp_return", "kind": "action", "script": "call(\"erp\", \"supplier_return\", #{ lot: record.lot_no, quantity: record.lot_size })"},
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

#[test]
fn condition_picks_the_first_true_edge_else_the_default() {
    let mut sim = Sim::new(iqc_review(), json!({"result": "accept", "lot_no": "L1", "lot_size": 10}));
    sim.start();
    assert_eq!(sim.open(), ["qe1@qe", "qe2@qe"]);
    sim.approve("qe2");
    assert_eq!(sim.status(), "approved");
    assert_eq!(
        sim.trail(),
        ["start started", "route branched", "qe entered", "qe approved", "qe completed", "end approved"]
    );
    check_invariants(&sim.state, &sim.wf);

    let mut sim = Sim::new(iqc_review(), json!({"result": "reject", "lot_no": "L1", "lot_size": 10}));
    sim.start();
    assert_eq!(sim.open(), ["m1@mrb", "m2@mrb", "m3@mrb"]);
}

#[test]
fn actions_request_records_and_calls_and_wait_for_the_answer() {
    let mut sim = Sim::new(iqc_review(), json!({"result": "reject", "lot_no": "L7", "lot_size": 25}));
    sim.start().approve("m1").approve("m2");
    let commands = sim
        .send(EventKind::Decide {
            task: sim.task_of("m3"),
            by: "m3".into(),
            decision: Decision::Approve,
            comment: None,
            edits: Default::default(),
        })
        .unwrap();
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(
        commands[0],
        Command::CreateRecord { form: "ncr".into(), data: json!({"source": "rec-1", "lot_no": "L7"}) }
    );
    let Command::Call { call, connector, operation, payload, idempotency_key } = commands[1].clone() else { panic!() };
    assert_eq!((connector.as_str(), operation.as_str()), ("erp", "supplier_return"));
    assert_eq!(payload, json!({"lot": "L7", "quantity": 25}));
    assert_eq!(idempotency_key, "i1/erp_return/1/1");
    assert_eq!(sim.status(), "running");
    check_invariants(&sim.state, &sim.wf);

    // A business failure blocks the instance visibly; retry sends the same key again.
    sim.send(EventKind::CallFailed { call, error: "not enough stock".into() }).unwrap();
    assert_eq!(
        sim.state.status,
        Status::Blocked { node: "erp_return".into(), call, reason: "not enough stock".into() }
    );
    check_invariants(&sim.state, &sim.wf);
    let retried = sim.send(EventKind::Retry { by: "admin".into() }).unwrap();
    assert!(matches!(&retried[..], [Command::Call { idempotency_key, .. }] if idempotency_key == "i1/erp_return/1/1"));
    sim.send(EventKind::CallSucceeded { call, result: json!({"number": "SR-0001"}) }).unwrap();
    assert_eq!(sim.status(), "approved");
    assert!(sim.trail().contains(&"erp_return call succeeded".to_owned()));
    // A late duplicate answer is refused, not a second success.
    let done = sim.state.clone();
    assert_eq!(
        sim.send(EventKind::CallSucceeded { call, result: json!({}) }).unwrap_err().code,
        StepErrorCode::NotRunning
    );
    assert_eq!(sim.state, done);
}

#[test]
fn skip_moves_a_blocked_instance_past_its_action() {
    let mut sim = Sim::new(iqc_review(), json!({"result": "reject", "lot_no": "L7", "lot_size": 25}));
    sim.start().approve("m1").approve("m2").approve("m3");
    let call = sim.state.calls[0].id;
    sim.send(EventKind::CallFailed { call, error: "ERP refused".into() }).unwrap();
    sim.send(EventKind::Skip { by: "admin".into() }).unwrap();
    assert_eq!(sim.status(), "approved");
    assert_eq!(sim.state.calls[0].status, CallStatus::Skipped);
}

#[test]
fn set_writes_the_record_and_later_conditions_see_it() {
    let def = graph(
        json!([start(), {"id": "mark", "kind": "action", "script": "set(\"grade\", if record.score > 80 { \"A\" } else { \"B\" }); notify([\"boss\"], \"graded\")"},
               {"id": "route", "kind": "condition"}, approval("a_path", &["u1"], "any"), end()]),
        json!([["start", "mark"], ["mark", "route"], {"from": "route", "to": "a_path", "when": "record.grade == \"A\""}, {"from": "route", "to": "end", "default": true}, ["a_path", "end"]]),
    );
    let mut sim = Sim::new(def.clone(), json!({"score": 90}));
    sim.start();
    assert_eq!(sim.record["grade"], "A");
    assert_eq!(sim.open(), ["u1@a_path"]);
    assert!(sim.commands.iter().any(|c| matches!(c, Command::Notify { users, .. } if users == &["boss".to_owned()])));
    let mut sim = Sim::new(def, json!({"score": 10}));
    sim.start();
    assert_eq!(sim.status(), "approved");
}

#[test]
fn parallel_branches_meet_at_the_join() {
    let def = graph(
        json!([start(), {"id": "split", "kind": "parallel"}, approval("qa", &["u1"], "any"), approval("eng", &["u2"], "any"),
               {"id": "join", "kind": "join"}, approval("final", &["boss"], "any"), end()]),
        json!([
            ["start", "split"],
            ["split", "qa"],
            ["split", "eng"],
            ["qa", "join"],
            ["eng", "join"],
            ["join", "final"],
            ["final", "end"]
        ]),
    );
    let mut sim = Sim::new(def.clone(), json!({}));
    sim.start();
    assert_eq!(sim.open(), ["u1@qa", "u2@eng"]);
    sim.approve("u2");
    check_invariants(&sim.state, &sim.wf);
    assert_eq!(sim.open(), ["u1@qa"], "the join waits for the other branch");
    sim.approve("u1");
    assert_eq!(sim.open(), ["boss@final"]);
    assert_eq!(sim.state.tokens.len(), 1);
    assert!(sim.state.tokens[0].branches.is_empty());
    sim.approve("boss");
    assert_eq!(sim.status(), "approved");

    // Returning from a branch to before the split abandons the sibling branch.
    let mut sim = Sim::new(def, json!({}));
    sim.start();
    sim.decide("u1", Decision::Return { to: "start".into() });
    assert_eq!(sim.open(), ["sub@start"]);
    assert_eq!(sim.state.tokens.len(), 1);
    check_invariants(&sim.state, &sim.wf);
    sim.decide("sub", Decision::Resubmit);
    assert_eq!(sim.open(), ["u1@qa", "u2@eng"]);
    check_invariants(&sim.state, &sim.wf);
}

fn three_steps(on_return: &str) -> serde_json::Value {
    graph(
        json!([start(), approval("s1", &["u1"], "any"), approval("s2", &["u2"], "any"),
               {"id": "s3", "kind": "approval", "assignees": {"users": ["u3"]}, "on_return": on_return}, end()]),
        json!([["start", "s1"], ["s1", "s2"], ["s2", "s3"], ["s3", "end"]]),
    )
}

#[test]
fn return_reruns_the_path_or_resumes_at_the_returner() {
    let mut sim = Sim::new(three_steps("rerun_path"), json!({}));
    sim.start().approve("u1").approve("u2");
    sim.decide("u3", Decision::Return { to: "s1".into() });
    assert_eq!(sim.open(), ["u1@s1"]);
    sim.approve("u1");
    assert_eq!(sim.open(), ["u2@s2"], "the path in between runs again");
    sim.approve("u2").approve("u3");
    assert_eq!(sim.status(), "approved");
    assert_eq!(sim.approvals_entered(), ["s1", "s2", "s3", "s1", "s2", "s3"]);

    let mut sim = Sim::new(three_steps("resume_at_returner"), json!({}));
    sim.start().approve("u1").approve("u2");
    sim.decide("u3", Decision::Return { to: "s1".into() });
    sim.approve("u1");
    assert_eq!(sim.open(), ["u3@s3"], "straight back to the node that returned it");
    sim.approve("u3");
    assert_eq!(sim.status(), "approved");
    assert_eq!(sim.approvals_entered(), ["s1", "s2", "s3", "s1", "s3"]);
}

#[test]
fn return_to_the_submitter_and_resubmit() {
    let mut sim = Sim::new(three_steps("rerun_path"), json!({}));
    sim.start().approve("u1");
    sim.decide("u2", Decision::Return { to: "start".into() });
    assert_eq!(sim.open(), ["sub@start"]);
    // The submitter may withdraw a returned record instead of resubmitting it.
    let mut withdrawn = Sim::new(three_steps("rerun_path"), json!({}));
    withdrawn.start().approve("u1").decide("u2", Decision::Return { to: "start".into() });
    withdrawn.send(EventKind::Withdraw { by: "sub".into() }).unwrap();
    assert_eq!(withdrawn.status(), "withdrawn");
    sim.decide("sub", Decision::Resubmit);
    assert_eq!(sim.open(), ["u1@s1"]);
    // Returning to a node not yet visited is refused.
    sim.approve("u1");
    let error = sim.try_decide("u2", Decision::Return { to: "s3".into() }).unwrap_err();
    assert_eq!(error.code, StepErrorCode::InvalidReturnTarget);
}

#[test]
fn reject_ends_the_instance_or_goes_to_the_configured_node() {
    let def = graph(
        json!([start(), approval("draft_review", &["u1"], "any"),
               {"id": "mrb", "kind": "approval", "assignees": {"users": ["u2"]}, "on_reject": "rework"},
               approval("rework", &["u3"], "any"), {"id": "rejected", "kind": "end", "outcome": "rejected"}, end()]),
        json!([["start", "draft_review"], ["draft_review", "mrb"], ["mrb", "end"], ["rework", "rejected"]]),
    );
    let mut sim = Sim::new(def, json!({}));
    sim.start().approve("u1").reject("u2");
    assert_eq!(sim.open(), ["u3@rework"]);
    sim.approve("u3");
    assert_eq!(sim.status(), "rejected", "the end node says how the instance ends");
    let mut sim = Sim::new(three_steps("rerun_path"), json!({}));
    sim.start().reject("u1");
    assert_eq!(sim.status(), "rejected");
    check_invariants(&sim.state, &sim.wf);
}

fn with_sla(then: serde_json::Value) -> Sim {
    let mut sla = then;
    sla["after"] = json!("PT8H");
    let def = graph(
        json!([start(), {"id": "a", "kind": "approval", "assignees": {"users": ["u1", "u2"]}, "mode": "all", "sla": sla}, end()]),
        json!([["start", "a"], ["a", "end"]]),
    );
    let mut sim = Sim::new(def, json!({}));
    sim.start();
    sim
}

#[test]
fn sla_outcomes() {
    // Remind: the open signers are notified; nothing else changes.
    let mut sim = with_sla(json!({"then": "remind"}));
    assert_eq!(sim.state.tasks[0].due_at, Some(T0 + 8 * HOUR));
    sim.approve("u1").advance(7 * HOUR);
    assert!(sim.commands.iter().all(|c| !matches!(c, Command::Notify { .. })), "not yet due");
    sim.advance(HOUR);
    assert!(sim.commands.iter().any(|c| matches!(c, Command::Notify { users, .. } if users == &["u2".to_owned()])));
    assert_eq!(sim.open(), ["u2@a"]);
    // Escalate: the role's members may decide for the overdue signer.
    let mut sim = with_sla(json!({"then": "escalate", "role": "boss"}));
    sim.approve("u1").advance(8 * HOUR);
    assert_eq!(sim.open(), ["boss@a", "u2@a"]);
    sim.approve("boss");
    assert_eq!(sim.status(), "approved");
    // Auto-approve and auto-reject.
    let mut sim = with_sla(json!({"then": "auto_approve"}));
    sim.advance(9 * HOUR);
    assert_eq!(sim.status(), "approved");
    check_invariants(&sim.state, &sim.wf);
    let mut sim = with_sla(json!({"then": "auto_reject"}));
    sim.advance(8 * HOUR);
    assert_eq!(sim.status(), "rejected");
    // A decided node's SLA no longer fires.
    let mut sim = with_sla(json!({"then": "auto_reject"}));
    sim.approve("u1").approve("u2");
    assert!(sim.state.timers.is_empty());
    assert_eq!(sim.status(), "approved");
}

#[test]
fn timer_nodes_wait_for_a_duration_or_a_date_field() {
    let def = graph(
        json!([start(), {"id": "cool", "kind": "timer", "after": "P1D"}, {"id": "due", "kind": "timer", "until_field": "recheck_on"}, approval("a", &["u1"], "any"), end()]),
        json!([["start", "cool"], ["cool", "due"], ["due", "a"], ["a", "end"]]),
    );
    let mut sim = Sim::new(def, json!({"recheck_on": "2027-01-20"}));
    sim.start();
    assert!(sim.open().is_empty());
    check_invariants(&sim.state, &sim.wf);
    sim.advance(24 * HOUR);
    assert!(sim.open().is_empty(), "now waiting for the date");
    assert_eq!(sim.state.timers[0].due_at, parse_instant("2027-01-20").unwrap());
    sim.now = parse_instant("2027-01-20T00:00:00Z").unwrap() - 1;
    sim.advance(1);
    assert_eq!(sim.open(), ["u1@a"]);
    assert_eq!(parse_instant("2026-11-21T08:00:00+08:00"), parse_instant("2026-11-21T00:00:00Z"));
}

#[test]
fn hostile_and_broken_rules_fail_their_instance() {
    let cases = [
        ("loop { }", "max_operations"),
        ("let s = \"x\"; loop { s += s; }", "max_string_size"),
        ("let a = []; loop { a.push(1); }", "max_array_size"),
        ("record.missing.deeper", "property"),
        ("throw \"boom\"", "boom"),
    ];
    for (script, expected) in cases {
        let def = graph(
            json!([start(), {"id": "bad", "kind": "action", "script": script}, end()]),
            json!([["start", "bad"], ["bad", "end"]]),
        );
        let mut sim = Sim::new(def, json!({}));
        sim.start();
        let Status::Failed { node, error } = &sim.state.status else { panic!("{script}: {:?}", sim.state.status) };
        assert_eq!(node, "bad");
        assert!(
            error.contains("rule `bad`") && error.to_lowercase().contains(&expected.to_lowercase()),
            "{script}: {error}"
        );
        assert!(sim.commands.is_empty(), "a failing action requests nothing");
        check_invariants(&sim.state, &sim.wf);
    }
    // A loop of automatic nodes without a wait stops too.
    let def = graph(
        json!([start(), {"id": "spin", "kind": "condition"}, {"id": "noop", "kind": "action", "script": "1"}, end()]),
        json!([["start", "spin"], {"from": "spin", "to": "noop", "when": "true"}, {"from": "spin", "to": "end", "default": true}, ["noop", "spin"]]),
    );
    let mut sim = Sim::new(def, json!({}));
    sim.start();
    assert!(
        matches!(&sim.state.status, Status::Failed { error, .. } if error.contains("loop")),
        "{:?}",
        sim.state.status
    );
}

#[test]
fn effects_outside_actions_are_errors() {
    let def = graph(
        json!([start(), {"id": "c", "kind": "condition"}, end()]),
        json!([["start", "c"], {"from": "c", "to": "end", "when": "set(\"x\", 1) == ()"}, {"from": "c", "to": "end", "default": true}]),
    );
    let mut sim = Sim::new(def, json!({}));
    sim.start();
    assert!(
        matches!(&sim.state.status, Status::Failed { error, .. } if error.contains("only be used in a workflow action")),
        "{:?}",
        sim.state.status
    );
}
