//! A small driver for workflow tests: holds the compiled workflow, the instance state, the
//! record and a clock; applies events like the runner would (commands that write the record
//! are applied to it) and keeps a readable history to compare.

use std::collections::BTreeMap;

use engine::workflow::*;
use serde_json::{Map, Value, json};

pub const T0: Millis = 1_800_000_000_000;
pub const HOUR: Millis = 3_600_000;

pub struct Sim {
    pub wf: CompiledWorkflow,
    pub state: InstanceState,
    pub record: Value,
    pub roles: BTreeMap<String, Vec<String>>,
    pub now: Millis,
    pub commands: Vec<Command>,
}

pub fn compile(definition: Value) -> CompiledWorkflow {
    let definition = parse_workflow(&definition).expect("definition parses");
    match CompiledWorkflow::compile(definition, None) {
        Ok(wf) => wf,
        Err(issues) => panic!("does not compile: {:?}", issues.iter().map(|i| (&i.path, i.code)).collect::<Vec<_>>()),
    }
}

/// A workflow on form `t` from a node list and edge list (edges as `[from, to]` or objects).
pub fn graph(nodes: Value, edges: Value) -> Value {
    let edges: Vec<Value> = edges
        .as_array()
        .unwrap()
        .iter()
        .map(|e| match e {
            Value::Array(pair) => json!({"from": pair[0], "to": pair[1]}),
            other => other.clone(),
        })
        .collect();
    json!({"key": "wf", "form": "t", "trigger": {"on": "submitted"}, "nodes": nodes, "edges": edges})
}

pub fn approval(id: &str, users: &[&str], mode: &str) -> Value {
    json!({"id": id, "kind": "approval", "assignees": {"users": users}, "mode": mode})
}

impl Sim {
    pub fn new(definition: Value, record: Value) -> Sim {
        let mut roles = BTreeMap::new();
        roles.insert("qe".to_owned(), vec!["qe1".to_owned(), "qe2".to_owned()]);
        roles.insert("mrb".to_owned(), vec!["m1".to_owned(), "m2".to_owned(), "m3".to_owned()]);
        roles.insert("boss".to_owned(), vec!["boss".to_owned()]);
        let mut record = record;
        record["id"] = json!("rec-1");
        Sim { wf: compile(definition), state: InstanceState::default(), record, roles, now: T0, commands: Vec::new() }
    }

    pub fn send(&mut self, kind: EventKind) -> Result<Vec<Command>, StepError> {
        let event = Event { at: self.now, record: &self.record, roles: &self.roles, kind };
        let (state, commands) = step(&self.wf, &self.state, &event)?;
        self.state = state;
        for command in &commands {
            if let Command::SetFields { values } = command {
                for (k, v) in values {
                    self.record[k] = v.clone();
                }
            }
        }
        self.commands.extend(commands.clone());
        Ok(commands)
    }

    pub fn start(&mut self) -> &mut Sim {
        self.send(EventKind::Start { instance: "i1".into(), submitter: "sub".into() }).expect("starts");
        self
    }

    /// The open task of `user` (panics when there is none or several).
    pub fn task_of(&self, user: &str) -> u64 {
        let open: Vec<&Task> =
            self.state.tasks.iter().filter(|t| t.assignee == user && t.status == TaskStatus::Open).collect();
        assert_eq!(open.len(), 1, "{user} should have one open task; tasks: {:?}", self.brief_tasks());
        open[0].id
    }

    pub fn try_decide(&mut self, user: &str, decision: Decision) -> Result<Vec<Command>, StepError> {
        let task = self
            .state
            .tasks
            .iter()
            .find(|t| t.assignee == user && t.status == TaskStatus::Open)
            .map_or(9_999, |t| t.id);
        self.send(EventKind::Decide { task, by: user.into(), decision, comment: None, edits: Map::new() })
    }

    pub fn decide(&mut self, user: &str, decision: Decision) -> &mut Sim {
        let task = self.task_of(user);
        self.send(EventKind::Decide { task, by: user.into(), decision, comment: None, edits: Map::new() })
            .unwrap_or_else(|e| panic!("{user}: {e:?}"));
        self
    }

    pub fn approve(&mut self, user: &str) -> &mut Sim {
        self.decide(user, Decision::Approve)
    }

    pub fn reject(&mut self, user: &str) -> &mut Sim {
        self.decide(user, Decision::Reject)
    }

    /// Moves the clock and fires every timer due by then, in due order.
    pub fn advance(&mut self, by: Millis) -> &mut Sim {
        self.now += by;
        loop {
            let mut due: Vec<&Timer> = self.state.timers.iter().filter(|t| t.due_at <= self.now).collect();
            due.sort_by_key(|t| (t.due_at, t.id));
            let Some(timer) = due.first().map(|t| t.id) else { break };
            self.send(EventKind::TimerFired { timer }).expect("timer fires");
        }
        self
    }

    pub fn open(&self) -> Vec<String> {
        let mut users: Vec<String> = self
            .state
            .tasks
            .iter()
            .filter(|t| t.status == TaskStatus::Open)
            .map(|t| format!("{}@{}", t.assignee, t.node))
            .collect();
        users.sort();
        users
    }

    pub fn brief_tasks(&self) -> Vec<String> {
        self.state.tasks.iter().map(|t| format!("{}:{}@{}={:?}", t.id, t.assignee, t.node, t.status)).collect()
    }

    pub fn status(&self) -> &'static str {
        self.state.status.name()
    }

    /// The history as `node what` lines.
    pub fn trail(&self) -> Vec<String> {
        self.state.history.iter().map(|h| format!("{} {}", h.node, h.what)).collect()
    }

    /// The nodes approvals were entered at, in order.
    pub fn approvals_entered(&self) -> Vec<String> {
        self.state.history.iter().filter(|h| h.what == "entered").map(|h| h.node.clone()).collect()
    }
}

/// Invariants every reachable state keeps.
pub fn check_invariants(state: &InstanceState, wf: &CompiledWorkflow) {
    let live = state.tasks.iter().filter(|t| t.status.is_live()).count();
    if state.status.is_finished() {
        assert_eq!(live, 0, "a finished instance has no live tasks");
        assert!(state.timers.is_empty() && state.tokens.is_empty(), "a finished instance waits for nothing");
        return;
    }
    // Every token waits on someone or something.
    for token in &state.tokens {
        let node = wf.node(&token.node).expect("token at a known node");
        let waits = match &node.kind {
            NodeKind::Approval(_) | NodeKind::Start => state
                .tasks
                .iter()
                .any(|t| t.token == token.id && t.activation == token.activation && t.status == TaskStatus::Open),
            NodeKind::Timer { .. } => state.timers.iter().any(|t| t.token == token.id),
            NodeKind::Action { .. } => state
                .calls
                .iter()
                .any(|c| c.token == token.id && matches!(c.status, CallStatus::Pending | CallStatus::Failed)),
            other => panic!("a token rests at a {} node", other.name()),
        };
        assert!(waits, "token at {} waits on no one: {state:#?}", token.node);
    }
    assert!(
        !state.tokens.is_empty() || matches!(state.status, Status::Blocked { .. }),
        "a running instance has tokens"
    );
    // No node is active twice on the same branch.
    for (i, a) in state.tokens.iter().enumerate() {
        for b in &state.tokens[i + 1..] {
            assert!(!(a.node == b.node && a.branches == b.branches), "node {} active twice", a.node);
        }
    }
    // Live tasks belong to a live token's current activation.
    for task in state.tasks.iter().filter(|t| t.status.is_live()) {
        assert!(
            state.tokens.iter().any(|t| t.id == task.token && t.activation == task.activation && t.node == task.node),
            "task {} is live without its token",
            task.id
        );
    }
}
