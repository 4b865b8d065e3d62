//! Random decision sequences on a graph that uses every node kind: the invariants hold after
//! every event, refused events change nothing, and driving long enough always finishes.

use engine::workflow::*;
use proptest::prelude::*;
use serde_json::json;

use super::sim::*;

fn rich() -> serde_json::Value {
    graph(
        json!([
            {"id": "start", "kind": "start"},
            {"id": "route", "kind": "condition"},
            {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}, "mode": "any", "sla": {"after": "PT8H", "then": "escalate", "role": "boss"}},
            {"id": "split", "kind": "parallel"},
            {"id": "mrb", "kind": "approval", "assignees": {"roles": ["mrb"]}, "mode": "ratio", "required": 2, "on_return": "resume_at_returner"},
            {"id": "eng", "kind": "approval", "assignees": {"users": ["e1", "e2"]}, "mode": "sequential", "sla": {"after": "P1D", "then": "auto_approve"}},
            {"id": "join", "kind": "join"},
            {"id": "cool", "kind": "timer", "after": "PT2H"},
            {"id": "erp", "kind": "action", "script": "set(\"stage\", \"erp\"); call(\"erp\", \"supplier_return\", #{ lot: record.lot })"},
            {"id": "final", "kind": "approval", "assignees": {"users": ["boss", "qe1"]}, "mode": "all", "on_reject": "qe", "sla": {"after": "PT4H", "then": "remind"}},
            {"id": "end", "kind": "end"}
        ]),
        json!([
            ["start", "route"],
            {"from": "route", "to": "qe", "when": "record.severity > 2"},
            {"from": "route", "to": "split", "default": true},
            ["qe", "split"],
            ["split", "mrb"], ["split", "eng"], ["mrb", "join"], ["eng", "join"],
            ["join", "cool"], ["cool", "erp"], ["erp", "final"], ["final", "end"]
        ]),
    )
}

#[derive(Clone, Debug)]
enum Move {
    Decide { pick: usize, kind: u8, target: usize },
    Advance { hours: u8 },
    Withdraw,
    CallAnswer { ok: bool },
    Admin { retry: bool },
    Stale { pick: usize },
}

fn moves() -> impl Strategy<Value = Move> {
    prop_oneof![
        6 => (any::<usize>(), 0u8..8, any::<usize>()).prop_map(|(pick, kind, target)| Move::Decide { pick, kind, target }),
        1 => (1u8..30).prop_map(|hours| Move::Advance { hours }),
        1 => Just(Move::Withdraw),
        1 => any::<bool>().prop_map(|ok| Move::CallAnswer { ok }),
        1 => any::<bool>().prop_map(|retry| Move::Admin { retry }),
        1 => any::<usize>().prop_map(|pick| Move::Stale { pick }),
    ]
}

const TARGETS: [&str; 6] = ["start", "qe", "mrb", "eng", "final", "end"];

fn play(sim: &mut Sim, m: &Move) {
    let before = sim.state.clone();
    let result = match m {
        Move::Decide { pick, kind, target } => {
            let open: Vec<Task> = sim.state.tasks.iter().filter(|t| t.status == TaskStatus::Open).cloned().collect();
            if open.is_empty() {
                return;
            }
            let task = &open[pick % open.len()];
            let decision = match kind {
                0..=2 => Decision::Approve,
                3 => Decision::Reject,
                4 => Decision::Return { to: TARGETS[target % TARGETS.len()].into() },
                5 => Decision::Delegate { to: format!("d{}", target % 3) },
                6 => Decision::AddSigner {
                    users: vec![format!("x{}", target % 4)],
                    position: if target % 2 == 0 { SignerPosition::Before } else { SignerPosition::After },
                },
                _ => Decision::Resubmit,
            };
            // At the start only resubmitting makes sense; elsewhere everything but it.
            let decision = if task.node == "start" {
                Decision::Resubmit
            } else if decision == Decision::Resubmit {
                Decision::Approve
            } else {
                decision
            };
            sim.send(EventKind::Decide {
                task: task.id,
                by: task.assignee.clone(),
                decision,
                comment: None,
                edits: Default::default(),
            })
        }
        Move::Advance { hours } => {
            sim.advance(*hours as i64 * HOUR);
            Ok(Vec::new())
        }
        Move::Withdraw => sim.send(EventKind::Withdraw { by: "sub".into() }),
        Move::CallAnswer { ok } => {
            let Some(call) = sim.state.calls.iter().find(|c| c.status == CallStatus::Pending).map(|c| c.id) else {
                return;
            };
            if *ok {
                sim.send(EventKind::CallSucceeded { call, result: json!({"number": "SR1"}) })
            } else {
                sim.send(EventKind::CallFailed { call, error: "no stock".into() })
            }
        }
        Move::Admin { retry } => {
            if *retry {
                sim.send(EventKind::Retry { by: "admin".into() })
            } else {
                sim.send(EventKind::Skip { by: "admin".into() })
            }
        }
        Move::Stale { pick } => {
            // A decision by the wrong person, or on a closed task, is refused.
            let Some(task) = sim.state.tasks.get(pick % sim.state.tasks.len().max(1)).cloned() else { return };
            sim.send(EventKind::Decide {
                task: task.id,
                by: "intruder".into(),
                decision: Decision::Approve,
                comment: None,
                edits: Default::default(),
            })
        }
    };
    if result.is_err() {
        assert_eq!(sim.state, before, "a refused event changed the state: {m:?}");
    }
    check_invariants(&sim.state, &sim.wf);
}

/// Approves everything, answers calls, skips blocks and lets time pass until the instance
/// finishes; it must within a bounded number of moves.
fn drive_to_end(sim: &mut Sim) {
    for _ in 0..500 {
        if sim.state.status.is_finished() {
            return;
        }
        if matches!(sim.state.status, Status::Blocked { .. }) {
            sim.send(EventKind::Skip { by: "admin".into() }).unwrap();
        } else if let Some(task) = sim.state.tasks.iter().find(|t| t.status == TaskStatus::Open).cloned() {
            let decision = if task.node == "start" { Decision::Resubmit } else { Decision::Approve };
            sim.send(EventKind::Decide {
                task: task.id,
                by: task.assignee,
                decision,
                comment: None,
                edits: Default::default(),
            })
            .unwrap();
        } else if let Some(call) = sim.state.calls.iter().find(|c| c.status == CallStatus::Pending).map(|c| c.id) {
            sim.send(EventKind::CallSucceeded { call, result: json!({}) }).unwrap();
        } else {
            assert!(!sim.state.timers.is_empty(), "nothing to wait on: {:#?}", sim.state);
            sim.advance(24 * HOUR);
        }
        check_invariants(&sim.state, &sim.wf);
    }
    panic!("the instance did not finish: {:#?}", sim.state.status);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_decisions_keep_the_invariants(severity in 0i64..5, script in prop::collection::vec(moves(), 0..40)) {
        let mut sim = Sim::new(rich(), json!({"severity": severity, "lot": "L1"}));
        sim.start();
        check_invariants(&sim.state, &sim.wf);
        for m in &script {
            play(&mut sim, m);
        }
        // The state survives a round trip through JSON (the server stores it so).
        let stored = serde_json::to_value(&sim.state).unwrap();
        prop_assert_eq!(serde_json::from_value::<InstanceState>(stored).unwrap(), sim.state.clone());
        drive_to_end(&mut sim);
        prop_assert!(sim.state.status.is_finished());
    }
}
