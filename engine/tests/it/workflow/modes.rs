//! Approval modes and decisions, table-driven: each case is a graph, a list of decisions and
//! the expected status and open tasks.

use engine::workflow::*;
use serde_json::json;

use super::sim::*;

/// One approval node `a` between start and end.
fn single(approval: serde_json::Value) -> Sim {
    let mut a = approval;
    a["id"] = json!("a");
    a["kind"] = json!("approval");
    let mut sim = Sim::new(
        graph(
            json!([{"id": "start", "kind": "start"}, a, {"id": "end", "kind": "end"}]),
            json!([["start", "a"], ["a", "end"]]),
        ),
        json!({}),
    );
    sim.start();
    sim
}

enum Step {
    Approve(&'static str),
    Reject(&'static str),
}

fn check(approval: serde_json::Value, steps: &[Step], status: &str, open: &[&str]) {
    let mut sim = single(approval.clone());
    for step in steps {
        match step {
            Step::Approve(user) => sim.approve(user),
            Step::Reject(user) => sim.reject(user),
        };
        check_invariants(&sim.state, &sim.wf);
    }
    assert_eq!(sim.status(), status, "{approval} after {} steps; tasks {:?}", steps.len(), sim.brief_tasks());
    let expected: Vec<String> = open.iter().map(|u| format!("{u}@a")).collect();
    assert_eq!(sim.open(), expected, "{approval}");
}

#[test]
fn approval_modes() {
    use Step::*;
    let users = json!({"users": ["u1", "u2", "u3"]});
    let any = json!({"assignees": users, "mode": "any"});
    let all = json!({"assignees": users, "mode": "all"});
    let seq = json!({"assignees": users, "mode": "sequential"});
    let ratio = json!({"assignees": users, "mode": "ratio", "required": 2});
    // 或签: everyone may decide, the first decision decides.
    check(any.clone(), &[], "running", &["u1", "u2", "u3"]);
    check(any.clone(), &[Approve("u2")], "approved", &[]);
    check(any.clone(), &[Reject("u3")], "rejected", &[]);
    // 会签: all approve; one rejection rejects.
    check(all.clone(), &[Approve("u1"), Approve("u3")], "running", &["u2"]);
    check(all.clone(), &[Approve("u1"), Approve("u2"), Approve("u3")], "approved", &[]);
    check(all.clone(), &[Approve("u1"), Reject("u2")], "rejected", &[]);
    // Sequential: one at a time in order.
    check(seq.clone(), &[], "running", &["u1"]);
    check(seq.clone(), &[Approve("u1")], "running", &["u2"]);
    check(seq.clone(), &[Approve("u1"), Approve("u2"), Approve("u3")], "approved", &[]);
    check(seq.clone(), &[Approve("u1"), Reject("u2")], "rejected", &[]);
    // 2 of 3.
    check(ratio.clone(), &[Approve("u1")], "running", &["u2", "u3"]);
    check(ratio.clone(), &[Approve("u1"), Approve("u3")], "approved", &[]);
    check(ratio.clone(), &[Reject("u1")], "running", &["u2", "u3"]);
    check(ratio.clone(), &[Reject("u1"), Approve("u2")], "running", &["u3"]);
    check(ratio.clone(), &[Reject("u1"), Reject("u2")], "rejected", &[]);
    // Roles expand to their members; the submitter and record fields name people too.
    check(json!({"assignees": {"roles": ["qe"]}, "mode": "all"}), &[Approve("qe1")], "running", &["qe2"]);
    check(json!({"assignees": {"submitter": true}}), &[], "running", &["sub"]);
}

#[test]
fn refused_decisions_change_nothing() {
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "sequential"}));
    let before = sim.state.clone();
    let u1 = sim.task_of("u1");
    let u2 = sim.state.tasks.iter().find(|t| t.assignee == "u2").unwrap().id;
    let cases: Vec<(EventKind, StepErrorCode)> = vec![
        (
            EventKind::Decide {
                task: u1,
                by: "u2".into(),
                decision: Decision::Approve,
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::NotAssignee,
        ),
        (
            EventKind::Decide {
                task: u2,
                by: "u2".into(),
                decision: Decision::Approve,
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::TaskNotOpen,
        ),
        (
            EventKind::Decide {
                task: 777,
                by: "u1".into(),
                decision: Decision::Approve,
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::UnknownTask,
        ),
        (
            EventKind::Decide {
                task: u1,
                by: "u1".into(),
                decision: Decision::Resubmit,
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::InvalidDecision,
        ),
        (
            EventKind::Decide {
                task: u1,
                by: "u1".into(),
                decision: Decision::Return { to: "end".into() },
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::InvalidReturnTarget,
        ),
        (
            EventKind::Decide {
                task: u1,
                by: "u1".into(),
                decision: Decision::Approve,
                comment: None,
                edits: serde_json::from_value(json!({"x": 1})).unwrap(),
            },
            StepErrorCode::NotEditable,
        ),
        (
            EventKind::Decide {
                task: u1,
                by: "u1".into(),
                decision: Decision::Delegate { to: "u1".into() },
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::InvalidDecision,
        ),
        (
            EventKind::Decide {
                task: u1,
                by: "u1".into(),
                decision: Decision::AddSigner { users: vec!["u2".into()], position: SignerPosition::Before },
                comment: None,
                edits: Default::default(),
            },
            StepErrorCode::InvalidDecision,
        ),
        (EventKind::Withdraw { by: "u1".into() }, StepErrorCode::NotAssignee),
        (EventKind::TimerFired { timer: 12345 }, StepErrorCode::Stale),
        (EventKind::CallSucceeded { call: 1, result: json!(null) }, StepErrorCode::Stale),
        (EventKind::Retry { by: "admin".into() }, StepErrorCode::InvalidDecision),
        (EventKind::Start { instance: "again".into(), submitter: "sub".into() }, StepErrorCode::NotRunning),
    ];
    for (event, code) in cases {
        let error = sim.send(event.clone()).expect_err(&format!("{event:?} is refused"));
        assert_eq!(error.code, code, "{event:?}: {}", error.message);
        assert_eq!(sim.state, before, "a refused event changes nothing");
    }
    sim.approve("u1").approve("u2");
    let error = sim.send(EventKind::Withdraw { by: "sub".into() }).unwrap_err();
    assert_eq!(error.code, StepErrorCode::NotRunning);
}

#[test]
fn delegate_and_transfer_hand_the_task_over() {
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "all"}));
    sim.decide("u1", Decision::Delegate { to: "d1".into() });
    assert_eq!(sim.open(), ["d1@a", "u2@a"]);
    sim.approve("d1");
    assert_eq!(sim.status(), "running");
    // The JSON name `transfer` means the same.
    let decision: Decision = serde_json::from_value(json!({"action": "transfer", "to": "t2"})).unwrap();
    sim.decide("u2", decision);
    sim.approve("t2");
    assert_eq!(sim.status(), "approved");
    let delegated = sim.state.tasks.iter().filter(|t| t.status == TaskStatus::Delegated).count();
    assert_eq!(delegated, 2);
}

#[test]
fn add_signer_before_waits_the_original_signer() {
    let mut sim = single(json!({"assignees": {"users": ["u1"]}, "mode": "any"}));
    sim.decide("u1", Decision::AddSigner { users: vec!["x1".into(), "x2".into()], position: SignerPosition::Before });
    assert_eq!(sim.open(), ["x1@a", "x2@a"], "u1 waits for the signers added before");
    sim.approve("x1");
    assert_eq!(sim.open(), ["x2@a"]);
    sim.approve("x2");
    assert_eq!(sim.open(), ["u1@a"], "u1 decides after them");
    sim.approve("u1");
    assert_eq!(sim.status(), "approved");
    // A signer added before who rejects rejects the step.
    let mut sim = single(json!({"assignees": {"users": ["u1"]}}));
    sim.decide("u1", Decision::AddSigner { users: vec!["x1".into()], position: SignerPosition::Before });
    sim.reject("x1");
    assert_eq!(sim.status(), "rejected");
}

#[test]
fn add_signer_after_must_also_approve() {
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "any"}));
    sim.decide("u1", Decision::AddSigner { users: vec!["y1".into()], position: SignerPosition::After });
    assert_eq!(sim.open(), ["u1@a", "u2@a"], "the added signer waits for u1");
    sim.approve("u1");
    assert_eq!(sim.open(), ["u2@a", "y1@a"], "u1's approval counts once y1 approves");
    sim.approve("y1");
    assert_eq!(sim.status(), "approved");
    // In a sequential node the next signer waits for the added one.
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "sequential"}));
    sim.decide("u1", Decision::AddSigner { users: vec!["y1".into()], position: SignerPosition::After });
    sim.approve("u1");
    assert_eq!(sim.open(), ["y1@a"]);
    sim.approve("y1");
    assert_eq!(sim.open(), ["u2@a"]);
}

#[test]
fn withdraw_only_before_anyone_decides() {
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "all"}));
    sim.send(EventKind::Withdraw { by: "sub".into() }).unwrap();
    assert_eq!(sim.status(), "withdrawn");
    check_invariants(&sim.state, &sim.wf);
    let mut sim = single(json!({"assignees": {"users": ["u1", "u2"]}, "mode": "all"}));
    sim.approve("u1");
    let error = sim.send(EventKind::Withdraw { by: "sub".into() }).unwrap_err();
    assert_eq!(error.code, StepErrorCode::AlreadyDecided);
    assert_eq!(sim.open(), ["u2@a"]);
}

#[test]
fn per_node_editable_fields_write_the_record() {
    let mut sim = single(
        json!({"assignees": {"users": ["u1"]}, "editable_fields": ["note"], "visible_fields": ["note", "result"]}),
    );
    let task = sim.task_of("u1");
    let edits = serde_json::from_value(json!({"note": "ok by QE"})).unwrap();
    let commands = sim
        .send(EventKind::Decide {
            task,
            by: "u1".into(),
            decision: Decision::Approve,
            comment: Some("fine".into()),
            edits,
        })
        .unwrap();
    assert_eq!(
        commands,
        vec![Command::SetFields { values: serde_json::from_value(json!({"note": "ok by QE"})).unwrap() }]
    );
    assert_eq!(sim.record["note"], "ok by QE");
    let decided = sim.state.tasks.iter().find(|t| t.id == task).unwrap();
    assert_eq!(decided.comment.as_deref(), Some("fine"));
    assert_eq!(
        sim.wf.approval("a").unwrap().visible_fields.as_deref(),
        Some(&["note".to_owned(), "result".to_owned()][..])
    );
}
