//! The step function: one event in, the next state and the commands out.
//!
//! A step moves tokens through the automatic nodes (start, condition, parallel, join, action,
//! end) until each rests where someone or something must answer: an approval's tasks, a timer,
//! an action's pending call. Decisions on tasks live in `approval.rs`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::compile::CompiledWorkflow;
use super::model::{NodeKind, Outcome};
use super::state::*;
use crate::rules::effects::Effect;
use crate::rules::{RuleError, to_dynamic};

/// Most node entries one event may cause: a loop of automatic nodes with no wait in it stops
/// here and fails its instance instead of spinning.
pub const MAX_NODE_ENTRIES: u32 = 1_000;

/// Applies `event` to `state`. A refused event (not your task, a closed task, ...) is an error
/// and changes nothing; a rule that fails fails the instance, which is a new state.
pub fn step(
    workflow: &CompiledWorkflow,
    state: &InstanceState,
    event: &Event<'_>,
) -> Result<(InstanceState, Vec<Command>), StepError> {
    let mut run = Run {
        wf: workflow,
        s: state.clone(),
        commands: Vec::new(),
        at: event.at,
        record: event.record.clone(),
        roles: event.roles,
        budget: MAX_NODE_ENTRIES,
    };
    run.apply(&event.kind)?;
    Ok((run.s, run.commands))
}

pub(crate) struct Run<'a> {
    pub wf: &'a CompiledWorkflow,
    pub s: InstanceState,
    pub commands: Vec<Command>,
    pub at: Millis,
    /// The record as rules see it: the event's, with this step's `set` values applied.
    pub record: Value,
    pub roles: &'a BTreeMap<String, Vec<String>>,
    budget: u32,
}

/// Control flow inside a step: the instance failed (already recorded) and nothing more runs.
pub(crate) struct Stop;

impl Run<'_> {
    fn apply(&mut self, kind: &EventKind) -> Result<(), StepError> {
        let started = !self.s.id.is_empty();
        match kind {
            EventKind::Start { instance, submitter } => {
                if started {
                    return Err(StepError::new(StepErrorCode::NotRunning, "the instance has already started"));
                }
                self.s.id = instance.clone();
                self.s.submitter = submitter.clone();
                self.s.status = Status::Running;
                let token = self.new_token(self.wf.start.clone(), Vec::new());
                self.history(&self.wf.start.clone(), "started", Some(submitter.clone()), None, Value::Null);
                let _ = self.enter(token);
                return Ok(());
            }
            _ if !started || self.s.status.is_finished() => {
                return Err(StepError::new(StepErrorCode::NotRunning, "the instance is not running"));
            }
            EventKind::Decide { task, by, decision, comment, edits } => {
                self.decide(*task, by, decision, comment.clone(), edits)?;
            }
            EventKind::Withdraw { by } => self.withdraw(by)?,
            EventKind::TimerFired { timer } => self.timer_fired(*timer)?,
            EventKind::CallSucceeded { call, result } => self.call_succeeded(*call, result)?,
            EventKind::CallFailed { call, error } => self.call_failed(*call, error)?,
            EventKind::Retry { by } => self.retry(by)?,
            EventKind::Skip { by } => self.skip(by)?,
        }
        Ok(())
    }

    pub fn next_id(&mut self) -> u64 {
        self.s.next_id += 1;
        self.s.next_id
    }

    pub fn new_token(&mut self, node: String, branches: Vec<Branch>) -> u64 {
        let id = self.next_id();
        self.s.tokens.push(Token { id, node, branches, activation: 0 });
        id
    }

    pub fn token(&self, id: u64) -> Option<&Token> {
        self.s.tokens.iter().find(|t| t.id == id)
    }

    pub fn history(&mut self, node: &str, what: &str, by: Option<String>, comment: Option<String>, detail: Value) {
        self.s.history.push(HistoryEntry {
            at: self.at,
            node: node.to_owned(),
            what: what.to_owned(),
            by,
            comment,
            detail,
        });
    }

    /// The variables every rule sees.
    pub fn variables(&self) -> Vec<(&'static str, rhai::Dynamic)> {
        vec![
            ("record", to_dynamic(&self.record)),
            ("submitter", rhai::Dynamic::from(self.s.submitter.clone())),
            ("instance", rhai::Dynamic::from(self.s.id.clone())),
        ]
    }

    /// Fails the instance: every task and timer closes, tokens vanish, the error is kept.
    pub fn fail(&mut self, node: &str, error: String) -> Stop {
        self.s.fail(self.at, node, error);
        Stop
    }

    pub fn rule_failed(&mut self, node: &str, error: &RuleError) -> Stop {
        self.fail(node, error.to_string())
    }

    pub fn finish(&mut self, node: &str, outcome: Outcome) {
        self.s.close();
        self.s.status = Status::Completed { outcome };
        let what = match outcome {
            Outcome::Approved => "approved",
            Outcome::Rejected => "rejected",
        };
        self.history(node, what, None, None, Value::Null);
    }

    /// Moves a token into the node it points at and on through automatic nodes.
    pub fn enter(&mut self, token: u64) -> Result<(), Stop> {
        let mut token = token;
        loop {
            let Some(current) = self.token(token).cloned() else { return Ok(()) };
            if self.budget == 0 {
                return Err(self.fail(
                    &current.node,
                    format!("the flow passed {MAX_NODE_ENTRIES} nodes in one step: a loop without a wait"),
                ));
            }
            self.budget -= 1;
            let position = self.wf.position(&current.node);
            self.s.visited.insert(current.node.clone(), current.branches.clone());
            let kind = self.wf.definition.nodes[position].kind.clone();
            match kind {
                NodeKind::Start => self.leave(token, 0)?,
                NodeKind::End { outcome } => {
                    self.finish(&current.node, outcome);
                    return Ok(());
                }
                NodeKind::Condition => {
                    let mut chosen = None;
                    for (i, (_, rule, _)) in self.wf.outgoing[position].iter().enumerate() {
                        let Some(rule) = rule else {
                            continue;
                        };
                        match self.wf.sandbox.eval_bool(rule, self.variables()) {
                            Ok(true) => {
                                chosen = Some(i);
                                break;
                            }
                            Ok(false) => {}
                            Err(error) => return Err(self.rule_failed(&current.node, &error)),
                        }
                    }
                    let chosen = chosen.or_else(|| self.wf.outgoing[position].iter().position(|(_, _, d)| *d));
                    let Some(chosen) = chosen else {
                        return Err(self.fail(&current.node, "no branch applies".into()));
                    };
                    let target = self.wf.outgoing[position][chosen].0.clone();
                    self.history(&current.node, "branched", None, None, Value::String(target));
                    self.leave(token, chosen)?;
                }
                NodeKind::Parallel => {
                    let split = self.next_id();
                    self.s.tokens.retain(|t| t.id != token);
                    self.s.joins.insert(split, JoinState { arrived: Vec::new(), parent: current.branches.clone() });
                    let targets: Vec<String> = self.wf.outgoing[position].iter().map(|(t, _, _)| t.clone()).collect();
                    let mut started = Vec::new();
                    for (index, target) in targets.into_iter().enumerate() {
                        let mut branches = current.branches.clone();
                        branches.push(Branch { split, index: index as u32 });
                        started.push(self.new_token(target, branches));
                    }
                    for branch in started {
                        self.enter(branch)?;
                        if self.s.status.is_finished() {
                            return Ok(());
                        }
                    }
                    return Ok(());
                }
                NodeKind::Join => {
                    let Some(branch) = current.branches.last().copied() else {
                        return Err(self.fail(&current.node, "a token reached a join outside parallel branches".into()));
                    };
                    let split_node = self.wf.split_of.get(&current.node).cloned().unwrap_or_default();
                    let needed = self.wf.outgoing[self.wf.position(&split_node)].len();
                    self.s.tokens.retain(|t| t.id != token);
                    let join = self.s.joins.entry(branch.split).or_default();
                    if !join.arrived.contains(&branch.index) {
                        join.arrived.push(branch.index);
                    }
                    if join.arrived.len() < needed {
                        return Ok(());
                    }
                    self.s.joins.remove(&branch.split);
                    let mut branches = current.branches.clone();
                    branches.pop();
                    token = self.new_token(current.node.clone(), branches);
                    self.history(&current.node, "joined", None, None, Value::Null);
                    self.leave(token, 0)?;
                    continue;
                }
                NodeKind::Action { .. } => {
                    if self.run_action(token, position)? {
                        return Ok(());
                    }
                    self.leave(token, 0)?;
                }
                NodeKind::Timer { until_field, .. } => {
                    let due = match (self.wf.durations[position], until_field) {
                        (Some(after), _) => Some(self.at.saturating_add(after)),
                        (None, Some(field)) => self.record.get(&field).and_then(Value::as_str).and_then(parse_instant),
                        _ => None,
                    };
                    let Some(due) = due else {
                        return Err(self.fail(&current.node, "the timer's date field is empty or not a date".into()));
                    };
                    if due > self.at {
                        let id = self.next_id();
                        self.s.timers.push(Timer {
                            id,
                            node: current.node.clone(),
                            token,
                            due_at: due,
                            purpose: TimerPurpose::Wait,
                        });
                        self.history(&current.node, "waiting", None, None, Value::from(due));
                        return Ok(());
                    }
                    self.leave(token, 0)?;
                }
                NodeKind::Approval(_) => {
                    if self.open_approval(token)? {
                        return Ok(());
                    }
                    self.leave(token, 0)?;
                }
            }
            if self.token(token).is_none() || self.s.status.is_finished() {
                return Ok(());
            }
        }
    }

    /// Points the token at the node's `edge`-th successor (or back at the node that asked to
    /// be resumed at, after a return).
    pub fn leave(&mut self, token: u64, edge: usize) -> Result<(), Stop> {
        let Some(node) = self.token(token).map(|t| t.node.clone()) else { return Ok(()) };
        self.s.timers.retain(|t| t.token != token);
        let target = match self.s.resume.remove(&node) {
            Some(returner) => returner,
            None => self.wf.outgoing[self.wf.position(&node)][edge].0.clone(),
        };
        if let Some(t) = self.s.tokens.iter_mut().find(|t| t.id == token) {
            t.node = target;
        }
        Ok(())
    }

    /// Runs an action's script; true when it made calls the token now waits for.
    fn run_action(&mut self, token: u64, position: usize) -> Result<bool, Stop> {
        let node = self.wf.definition.nodes[position].id.clone();
        let Some(rule) = &self.wf.scripts[position] else { return Ok(false) };
        let effects = match self.wf.sandbox.run_effects(rule, self.variables()) {
            Ok(effects) => effects,
            Err(error) => return Err(self.rule_failed(&node, &error)),
        };
        let visit = self.s.history.iter().filter(|h| h.node == node && h.what == "action").count();
        let mut waits = false;
        let mut summary = Vec::new();
        for (n, effect) in effects.into_iter().enumerate() {
            match effect {
                Effect::Set { field, value } => {
                    summary.push(serde_json::json!({"set": field}));
                    self.set_fields(Map::from_iter([(field, value)]));
                }
                Effect::CreateRecord { form, data } => {
                    summary.push(serde_json::json!({"create_record": form}));
                    self.commands.push(Command::CreateRecord { form, data });
                }
                Effect::Notify { users, message } => {
                    summary.push(serde_json::json!({"notify": users}));
                    self.commands.push(Command::Notify { users, message, node: node.clone() });
                }
                Effect::Call { connector, operation, payload } => {
                    let id = self.next_id();
                    let idempotency_key = format!("{}/{}/{}/{}", self.s.id, node, visit + 1, n + 1);
                    summary
                        .push(serde_json::json!({"call": format!("{connector}.{operation}"), "key": idempotency_key}));
                    self.s.calls.push(Call {
                        id,
                        node: node.clone(),
                        token,
                        connector: connector.clone(),
                        operation: operation.clone(),
                        payload: payload.clone(),
                        idempotency_key: idempotency_key.clone(),
                        status: CallStatus::Pending,
                        result: None,
                        error: None,
                    });
                    self.commands.push(Command::Call { call: id, connector, operation, payload, idempotency_key });
                    waits = true;
                }
            }
        }
        self.history(&node, "action", None, None, Value::Array(summary));
        Ok(waits)
    }

    fn withdraw(&mut self, by: &str) -> Result<(), StepError> {
        if by != self.s.submitter {
            return Err(StepError::new(StepErrorCode::NotAssignee, "only the submitter can withdraw"));
        }
        let at_start = !self.s.tokens.is_empty() && self.s.tokens.iter().all(|t| t.node == self.wf.start);
        if self.s.decided && !at_start {
            return Err(StepError::new(
                StepErrorCode::AlreadyDecided,
                "someone has already decided; it can no longer be withdrawn",
            ));
        }
        self.s.close();
        self.s.status = Status::Withdrawn;
        self.history(&self.wf.start.clone(), "withdrawn", Some(by.to_owned()), None, Value::Null);
        Ok(())
    }

    fn timer_fired(&mut self, id: u64) -> Result<(), StepError> {
        let Some(timer) = self.s.timers.iter().find(|t| t.id == id).cloned() else {
            return Err(StepError::new(StepErrorCode::Stale, "the timer is no longer set"));
        };
        self.s.timers.retain(|t| t.id != id);
        match timer.purpose {
            TimerPurpose::Wait => {
                self.history(&timer.node, "timer fired", None, None, Value::Null);
                if self.leave(timer.token, 0).is_ok() {
                    let _ = self.enter(timer.token);
                }
            }
            TimerPurpose::Sla => {
                let _ = self.sla_due(&timer);
            }
        }
        Ok(())
    }

    fn pending_call(&self, id: u64) -> Result<Call, StepError> {
        self.s
            .calls
            .iter()
            .find(|c| c.id == id && c.status == CallStatus::Pending)
            .cloned()
            .ok_or_else(|| StepError::new(StepErrorCode::Stale, "the instance is not waiting for this call"))
    }

    fn call_succeeded(&mut self, id: u64, result: &Value) -> Result<(), StepError> {
        let call = self.pending_call(id)?;
        if let Some(c) = self.s.calls.iter_mut().find(|c| c.id == id) {
            c.status = CallStatus::Done;
            c.result = Some(result.clone());
            c.error = None;
        }
        self.history(&call.node, "call succeeded", None, None, serde_json::json!({"call": id, "result": result}));
        if let Some(NodeKind::Action { results, error_field, .. }) = self.wf.node(&call.node).map(|n| &n.kind) {
            let mut values = Map::new();
            for (field, path) in results {
                let value = path.split('.').filter(|p| !p.is_empty()).try_fold(result, |v, key| v.get(key));
                values.insert(field.clone(), value.cloned().unwrap_or(Value::Null));
            }
            if let Some(field) = error_field {
                values.insert(field.clone(), Value::Null);
            }
            self.set_fields(values);
        }
        self.continue_after_calls(&call);
        Ok(())
    }

    fn call_failed(&mut self, id: u64, error: &str) -> Result<(), StepError> {
        let call = self.pending_call(id)?;
        if let Some(c) = self.s.calls.iter_mut().find(|c| c.id == id) {
            c.status = CallStatus::Failed;
            c.error = Some(error.to_owned());
        }
        self.history(&call.node, "call failed", None, None, serde_json::json!({"call": id, "error": error}));
        if let Some(NodeKind::Action { error_field: Some(field), .. }) = self.wf.node(&call.node).map(|n| &n.kind) {
            self.set_fields(Map::from_iter([(field.clone(), Value::String(error.to_owned()))]));
        }
        self.s.status = Status::Blocked { node: call.node.clone(), call: id, reason: error.to_owned() };
        Ok(())
    }

    /// Writes values into the record (for later rules in this step) and asks the runner to.
    pub fn set_fields(&mut self, values: Map<String, Value>) {
        if values.is_empty() {
            return;
        }
        if let Some(record) = self.record.as_object_mut() {
            record.extend(values.clone());
        }
        self.commands.push(Command::SetFields { values });
    }

    fn blocked_call(&self) -> Result<u64, StepError> {
        match &self.s.status {
            Status::Blocked { call, .. } => Ok(*call),
            _ => Err(StepError::new(StepErrorCode::InvalidDecision, "the instance is not blocked")),
        }
    }

    fn retry(&mut self, by: &str) -> Result<(), StepError> {
        let id = self.blocked_call()?;
        let Some(call) = self.s.calls.iter_mut().find(|c| c.id == id) else {
            return Err(StepError::new(StepErrorCode::Stale, "the failed call is gone"));
        };
        call.status = CallStatus::Pending;
        call.error = None;
        let call = call.clone();
        self.s.status = Status::Running;
        self.history(&call.node, "retried", Some(by.to_owned()), None, serde_json::json!({"call": id}));
        self.commands.push(Command::Call {
            call: id,
            connector: call.connector,
            operation: call.operation,
            payload: call.payload,
            idempotency_key: call.idempotency_key,
        });
        Ok(())
    }

    fn skip(&mut self, by: &str) -> Result<(), StepError> {
        let id = self.blocked_call()?;
        let Some(call) = self.s.calls.iter_mut().find(|c| c.id == id) else {
            return Err(StepError::new(StepErrorCode::Stale, "the failed call is gone"));
        };
        call.status = CallStatus::Skipped;
        let call = call.clone();
        self.s.status = Status::Running;
        self.history(&call.node, "skipped", Some(by.to_owned()), None, serde_json::json!({"call": id}));
        self.continue_after_calls(&call);
        Ok(())
    }

    /// Once none of the node's calls is pending (and none failed), the token moves on.
    fn continue_after_calls(&mut self, call: &Call) {
        let open = self.s.calls.iter().any(|c| {
            c.token == call.token && c.node == call.node && matches!(c.status, CallStatus::Pending | CallStatus::Failed)
        });
        if open || self.token(call.token).is_none_or(|t| t.node != call.node) {
            return;
        }
        if self.leave(call.token, 0).is_ok() {
            let _ = self.enter(call.token);
        }
    }
}

/// Parses a date (`2026-11-21`, midnight UTC) or an RFC 3339 date-time into milliseconds.
pub fn parse_instant(text: &str) -> Option<Millis> {
    let date = text.get(..10)?;
    let mut parts = date.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let mut millis = days * 86_400_000;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(millis);
    }
    let rest = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
    let hour: i64 = rest.get(0..2)?.parse().ok()?;
    let minute: i64 = rest.get(3..5)?.parse().ok()?;
    let second: i64 = rest.get(6..8)?.parse().ok()?;
    millis += (hour * 3600 + minute * 60 + second) * 1000;
    let zone = rest[8..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    match zone {
        "" | "Z" | "z" => Some(millis),
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let hours: i64 = zone.get(1..3)?.parse().ok()?;
            let minutes: i64 = zone.get(4..6)?.parse().ok()?;
            Some(millis - sign * (hours * 3600 + minutes * 60) * 1000)
        }
    }
}
