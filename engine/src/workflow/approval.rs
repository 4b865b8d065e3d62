//! Approval nodes: opening tasks, decisions (approve, reject, return, delegate, add signer,
//! resubmit), the approval modes, and SLAs.
//!
//! Tasks fill slots. Which tasks are open is recomputed after every change ([`Run::refresh`]):
//! a slot is open when it is due (any slot of a parallel mode; the first unfinished one of a
//! sequential node; a signer added before someone when that someone is due; a signer added
//! after someone once that someone approved) and no signer added before it is still undecided.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::model::{Mode, NodeKind, Outcome, SlaAction, WhenEmpty};
use super::state::*;
use super::step::{Run, Stop};
use crate::rules::to_json;

impl Run<'_> {
    /// Opens an approval for the token; false when it passes at once (no one assigned and the
    /// node says to approve then).
    pub(crate) fn open_approval(&mut self, token: u64) -> Result<bool, Stop> {
        let node = self.token(token).map(|t| t.node.clone()).unwrap_or_default();
        let position = self.wf.position(&node);
        let Some(approval) = self.wf.approval(&node).cloned() else {
            return Err(self.fail(&node, format!("“{node}” is not an approval")));
        };
        let users = self.assignees(&node, position, &approval.assignees)?;
        if users.is_empty() {
            return match approval.when_empty {
                WhenEmpty::Approve => {
                    self.history(&node, "passed", None, None, json!("no one is assigned"));
                    Ok(false)
                }
                WhenEmpty::Fail => Err(self.fail(&node, format!("no one is assigned to the approval “{node}”"))),
            };
        }
        let activation = self.next_id();
        if let Some(t) = self.s.tokens.iter_mut().find(|t| t.id == token) {
            t.activation = activation;
        }
        let due_at = self.wf.durations[position].map(|after| self.at.saturating_add(after));
        for (order, user) in users.iter().enumerate() {
            let id = self.next_id();
            self.s.tasks.push(Task {
                id,
                node: node.clone(),
                token,
                activation,
                slot: id,
                assignee: user.clone(),
                status: TaskStatus::Pending,
                order: order as u32,
                created_at: self.at,
                due_at,
                decided_at: None,
                decided_by: None,
                comment: None,
                before: None,
                after: None,
            });
        }
        if let Some(due_at) = due_at {
            let id = self.next_id();
            self.s.timers.push(Timer { id, node: node.clone(), token, due_at, purpose: TimerPurpose::Sla });
        }
        self.history(&node, "entered", None, None, json!({ "assignees": users }));
        self.refresh(token);
        Ok(true)
    }

    fn assignees(&mut self, node: &str, position: usize, spec: &super::model::Assignees) -> Result<Vec<String>, Stop> {
        let mut users: Vec<String> = Vec::new();
        let add = |user: &str, users: &mut Vec<String>| {
            if !user.is_empty() && !users.iter().any(|u| u == user) {
                users.push(user.to_owned());
            }
        };
        for user in &spec.users {
            add(user, &mut users);
        }
        for role in &spec.roles {
            for user in self.roles.get(role).map(Vec::as_slice).unwrap_or_default() {
                add(user, &mut users);
            }
        }
        if let Some(field) = &spec.field {
            match self.record.get(field) {
                Some(Value::String(user)) => add(user, &mut users),
                Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).for_each(|u| add(u, &mut users)),
                _ => {}
            }
        }
        if spec.submitter {
            let submitter = self.s.submitter.clone();
            add(&submitter, &mut users);
        }
        if let Some(rule) = &self.wf.assignee_rules[position] {
            match self.wf.sandbox.eval(rule, self.variables()) {
                Ok(value) => match to_json(&value) {
                    Value::String(user) => add(&user, &mut users),
                    Value::Array(list) => list.iter().filter_map(Value::as_str).for_each(|u| add(u, &mut users)),
                    Value::Null => {}
                    other => {
                        return Err(
                            self.fail(node, format!("the assignee rule of “{node}” returned {other}, not user ids"))
                        );
                    }
                },
                Err(error) => return Err(self.rule_failed(node, &error)),
            }
        }
        Ok(users)
    }

    /// Tasks of the token's current approval activation.
    fn activation_tasks(&self, token: u64) -> Vec<Task> {
        let activation = self.token(token).map_or(0, |t| t.activation);
        self.s.tasks.iter().filter(|t| t.token == token && t.activation == activation).cloned().collect()
    }

    /// Recomputes which live tasks of the token's approval are open and which wait.
    pub(crate) fn refresh(&mut self, token: u64) {
        let Some(node) = self.token(token).map(|t| t.node.clone()) else { return };
        let sequential = self.wf.approval(&node).is_some_and(|a| a.mode == Mode::Sequential);
        let tasks = self.activation_tasks(token);
        let slots: BTreeSet<u64> = tasks.iter().map(|t| t.slot).collect();
        let info = |slot: u64| tasks.iter().find(|t| t.slot == slot);
        let decided = |slot: u64, status: TaskStatus| tasks.iter().any(|t| t.slot == slot && t.status == status);
        let settled = |slot: u64| {
            tasks.iter().any(|t| {
                t.slot == slot && matches!(t.status, TaskStatus::Approved | TaskStatus::Rejected | TaskStatus::Returned)
            })
        };
        let first_unfinished = {
            let mut top: Vec<&Task> = tasks.iter().filter(|t| t.before.is_none() && t.after.is_none()).collect();
            top.sort_by_key(|t| (t.order, t.slot));
            top.into_iter().map(|t| t.slot).find(|slot| !self.fully_approved(&tasks, *slot))
        };
        let due = |slot: u64| -> bool {
            let mut slot = slot;
            for _ in 0..64 {
                let Some(task) = info(slot) else { return false };
                match (task.before, task.after) {
                    (Some(waiting), _) => slot = waiting,
                    (None, Some(target)) => return decided(target, TaskStatus::Approved),
                    (None, None) => return !sequential || first_unfinished == Some(slot),
                }
            }
            false
        };
        let mut open = BTreeSet::new();
        for slot in &slots {
            let waiting = tasks.iter().any(|t| t.before == Some(*slot) && !settled(t.slot));
            if !settled(*slot) && due(*slot) && !waiting {
                open.insert(*slot);
            }
        }
        for task in &mut self.s.tasks {
            if task.token == token && task.status.is_live() && tasks.iter().any(|t| t.id == task.id) {
                task.status = if open.contains(&task.slot) { TaskStatus::Open } else { TaskStatus::Pending };
            }
        }
    }

    /// A slot counts as approved once one of its tasks approved and every signer added after
    /// it approved as well.
    fn fully_approved(&self, tasks: &[Task], slot: u64) -> bool {
        fn go(tasks: &[Task], slot: u64, depth: u32) -> bool {
            depth < 64
                && tasks.iter().any(|t| t.slot == slot && t.status == TaskStatus::Approved)
                && tasks.iter().filter(|t| t.after == Some(slot)).all(|t| go(tasks, t.slot, depth + 1))
        }
        go(tasks, slot, 0)
    }

    pub(crate) fn decide(
        &mut self,
        task_id: u64,
        by: &str,
        decision: &Decision,
        comment: Option<String>,
        edits: &Map<String, Value>,
    ) -> Result<(), StepError> {
        let Some(task) = self.s.tasks.iter().find(|t| t.id == task_id).cloned() else {
            return Err(StepError::new(StepErrorCode::UnknownTask, format!("there is no task {task_id}")));
        };
        if task.status != TaskStatus::Open {
            return Err(StepError::new(StepErrorCode::TaskNotOpen, "the task is not open"));
        }
        if task.assignee != by {
            return Err(StepError::new(StepErrorCode::NotAssignee, "the task is assigned to someone else"));
        }
        let at_start = task.node == self.wf.start;
        match (at_start, decision) {
            (true, Decision::Resubmit) | (false, Decision::Approve | Decision::Reject | Decision::Return { .. }) => {}
            (false, Decision::Delegate { .. } | Decision::AddSigner { .. }) => {}
            _ => {
                return Err(StepError::new(
                    StepErrorCode::InvalidDecision,
                    "this decision does not apply to this task",
                ));
            }
        }
        if !edits.is_empty() {
            let editable = self.wf.approval(&task.node).map(|a| a.editable_fields.clone()).unwrap_or_default();
            if let Some(field) = edits.keys().find(|k| !editable.contains(k)) {
                return Err(StepError::new(
                    StepErrorCode::NotEditable,
                    format!("“{field}” is not editable at this step"),
                ));
            }
        }
        let by = Some(by.to_owned());
        match decision {
            Decision::Delegate { to } => {
                if *to == task.assignee || to.is_empty() {
                    return Err(StepError::new(StepErrorCode::InvalidDecision, "delegate to someone else"));
                }
                let id = self.next_id();
                self.close_task(task_id, TaskStatus::Delegated, &by, comment.clone());
                self.s.tasks.push(Task {
                    id,
                    assignee: to.clone(),
                    created_at: self.at,
                    status: TaskStatus::Open,
                    ..task.clone()
                });
                self.history(&task.node, "delegated", by, comment, json!({ "task": task_id, "to": to }));
                return Ok(());
            }
            Decision::AddSigner { users, position } => {
                let live: Vec<String> = self
                    .activation_tasks(task.token)
                    .into_iter()
                    .filter(|t| t.status.is_live())
                    .map(|t| t.assignee)
                    .collect();
                let mut seen = BTreeSet::new();
                if users.is_empty() || users.iter().any(|u| u.is_empty() || live.contains(u) || !seen.insert(u.clone()))
                {
                    return Err(StepError::new(
                        StepErrorCode::InvalidDecision,
                        "add one or more people who are not already signing this step",
                    ));
                }
                for user in users {
                    let id = self.next_id();
                    let (before, after) = match position {
                        SignerPosition::Before => (Some(task.slot), None),
                        SignerPosition::After => (None, Some(task.slot)),
                    };
                    self.s.tasks.push(Task {
                        id,
                        slot: id,
                        assignee: user.clone(),
                        status: TaskStatus::Pending,
                        created_at: self.at,
                        before,
                        after,
                        decided_at: None,
                        decided_by: None,
                        comment: None,
                        ..task.clone()
                    });
                }
                self.history(&task.node, "signers added", by, comment, json!({ "users": users, "position": position }));
                self.refresh(task.token);
                return Ok(());
            }
            _ => {}
        }
        self.set_fields(edits.clone());
        self.s.decided = true;
        match decision {
            Decision::Resubmit => {
                self.close_task(task_id, TaskStatus::Approved, &by, comment.clone());
                self.history(&task.node, "resubmitted", by, comment, Value::Null);
                if self.leave(task.token, 0).is_ok() {
                    let _ = self.enter(task.token);
                }
            }
            Decision::Approve => {
                self.close_task(task_id, TaskStatus::Approved, &by, comment.clone());
                self.history(&task.node, "approved", by, comment, json!({ "task": task_id }));
                self.settle(task.token);
            }
            Decision::Reject => {
                self.close_task(task_id, TaskStatus::Rejected, &by, comment.clone());
                self.history(&task.node, "rejected", by, comment, json!({ "task": task_id }));
                self.settle(task.token);
            }
            Decision::Return { to } => {
                let target_branches = self.return_target(&task, to)?;
                self.close_task(task_id, TaskStatus::Returned, &by, comment.clone());
                self.history(&task.node, "returned", by, comment, json!({ "task": task_id, "to": to }));
                self.return_to(&task, to, target_branches);
            }
            Decision::Delegate { .. } | Decision::AddSigner { .. } => {}
        }
        Ok(())
    }

    /// Closes a task with a decision; the other live tasks of its slot close without one.
    fn close_task(&mut self, id: u64, status: TaskStatus, by: &Option<String>, comment: Option<String>) {
        let Some(slot) = self.s.tasks.iter().find(|t| t.id == id).map(|t| (t.slot, t.activation)) else { return };
        for task in &mut self.s.tasks {
            if task.id == id {
                task.status = status;
                task.decided_at = Some(self.at);
                task.decided_by = by.clone();
                task.comment = comment.clone();
            } else if (task.slot, task.activation) == slot && task.status.is_live() {
                task.status = TaskStatus::Cancelled;
            }
        }
    }

    fn cancel_live(&mut self, token: u64) {
        for task in &mut self.s.tasks {
            if task.token == token && task.status.is_live() {
                task.status = TaskStatus::Cancelled;
            }
        }
    }

    /// After a decision: complete or reject the node when the mode says so, else reopen what
    /// is due.
    fn settle(&mut self, token: u64) {
        let Some(node) = self.token(token).map(|t| t.node.clone()) else { return };
        let Some(approval) = self.wf.approval(&node).cloned() else { return };
        let tasks = self.activation_tasks(token);
        let top: BTreeSet<u64> =
            tasks.iter().filter(|t| t.before.is_none() && t.after.is_none()).map(|t| t.slot).collect();
        let approved = top.iter().filter(|slot| self.fully_approved(&tasks, **slot)).count();
        let rejected_top = top
            .iter()
            .filter(|slot| tasks.iter().any(|t| t.slot == **slot && t.status == TaskStatus::Rejected))
            .count();
        let rejected_added =
            tasks.iter().any(|t| (t.before.is_some() || t.after.is_some()) && t.status == TaskStatus::Rejected);
        let n = top.len();
        let (complete, rejected) = match approval.mode {
            Mode::Any => (approved >= 1, rejected_top > 0 || rejected_added),
            Mode::All | Mode::Sequential => (approved == n, rejected_top > 0 || rejected_added),
            Mode::Ratio => {
                let k = approval.required.unwrap_or(1) as usize;
                (approved >= k, rejected_added || n.saturating_sub(rejected_top) < k)
            }
        };
        if rejected {
            self.reject_node(token, &node);
        } else if complete {
            self.complete_node(token, &node);
        } else {
            self.refresh(token);
        }
    }

    fn complete_node(&mut self, token: u64, node: &str) {
        self.cancel_live(token);
        self.history(node, "completed", None, None, Value::Null);
        if self.leave(token, 0).is_ok() {
            let _ = self.enter(token);
        }
    }

    fn reject_node(&mut self, token: u64, node: &str) {
        self.cancel_live(token);
        match self.wf.approval(node).and_then(|a| a.on_reject.clone()) {
            Some(target) => {
                self.s.timers.retain(|t| t.token != token);
                if let Some(t) = self.s.tokens.iter_mut().find(|t| t.id == token) {
                    t.node = target;
                }
                let _ = self.enter(token);
            }
            None => self.finish(node, Outcome::Rejected),
        }
    }

    /// Checks a return target: an approval (or the start) this token's path went through
    /// before, and returns the branch stack to restart it with.
    fn return_target(&self, task: &Task, to: &str) -> Result<Vec<Branch>, StepError> {
        let invalid = |why: &str| {
            Err(StepError::new(StepErrorCode::InvalidReturnTarget, format!("cannot return to “{to}”: {why}")))
        };
        let Some(node) = self.wf.node(to) else { return invalid("there is no such node") };
        if to == task.node {
            return invalid("it is the current step");
        }
        if !matches!(node.kind, NodeKind::Approval(_) | NodeKind::Start) {
            return invalid("only approvals and the start can be returned to");
        }
        let Some(branches) = self.s.visited.get(to) else { return invalid("the instance has not been there") };
        let own = self.token(task.token).map(|t| t.branches.clone()).unwrap_or_default();
        if branches.len() > own.len() || own[..branches.len()] != branches[..] {
            return invalid("it lies on another parallel branch");
        }
        Ok(branches.clone())
    }

    fn return_to(&mut self, task: &Task, to: &str, branches: Vec<Branch>) {
        let token = task.token;
        self.cancel_live(token);
        self.s.timers.retain(|t| t.token != token);
        let own = self.token(token).map(|t| t.branches.clone()).unwrap_or_default();
        // Leaving parallel branches: every token of the split being left goes, with its
        // tasks, timers and the split's join.
        if let Some(left) = own.get(branches.len()).map(|b| b.split) {
            let gone: Vec<u64> = self
                .s
                .tokens
                .iter()
                .filter(|t| t.id != token && t.branches.iter().any(|b| b.split == left))
                .map(|t| t.id)
                .collect();
            for id in &gone {
                self.cancel_live(*id);
            }
            self.s.tokens.retain(|t| !gone.contains(&t.id));
            self.s.timers.retain(|t| !gone.contains(&t.token));
            for call in &mut self.s.calls {
                if gone.contains(&call.token) && call.status == CallStatus::Pending {
                    call.status = CallStatus::Skipped;
                }
            }
            self.s.joins.retain(|split, join| *split != left && !join.parent.iter().any(|b| b.split == left));
        }
        if self.wf.approval(&task.node).is_some_and(|a| a.on_return == super::model::OnReturn::ResumeAtReturner) {
            self.s.resume.insert(to.to_owned(), task.node.clone());
        }
        if let Some(t) = self.s.tokens.iter_mut().find(|t| t.id == token) {
            t.node = to.to_owned();
            t.branches = branches;
        }
        if to == self.wf.start {
            // Back to the submitter, who reworks the record and resubmits.
            let activation = self.next_id();
            let id = self.next_id();
            if let Some(t) = self.s.tokens.iter_mut().find(|t| t.id == token) {
                t.activation = activation;
            }
            self.s.visited.insert(to.to_owned(), Vec::new());
            self.s.tasks.push(Task {
                id,
                node: to.to_owned(),
                token,
                activation,
                slot: id,
                assignee: self.s.submitter.clone(),
                status: TaskStatus::Open,
                order: 0,
                created_at: self.at,
                due_at: None,
                decided_at: None,
                decided_by: None,
                comment: None,
                before: None,
                after: None,
            });
        } else {
            let _ = self.enter(token);
        }
    }

    /// An approval's SLA ran out.
    pub(crate) fn sla_due(&mut self, timer: &Timer) -> Result<(), Stop> {
        let token = timer.token;
        if self.token(token).is_none_or(|t| t.node != timer.node) {
            return Ok(());
        }
        let Some(sla) = self.wf.approval(&timer.node).and_then(|a| a.sla.clone()) else { return Ok(()) };
        let open: Vec<Task> =
            self.activation_tasks(token).into_iter().filter(|t| t.status == TaskStatus::Open).collect();
        match sla.then {
            SlaAction::Remind => {
                let users: Vec<String> = open.iter().map(|t| t.assignee.clone()).collect();
                self.history(&timer.node, "reminded", None, None, json!({ "users": users }));
                self.commands.push(Command::Notify {
                    users,
                    message: format!("The step “{}” is overdue.", timer.node),
                    node: timer.node.clone(),
                });
            }
            SlaAction::Escalate { role } => {
                let members = self.roles.get(&role).cloned().unwrap_or_default();
                let mut added = Vec::new();
                for task in &open {
                    for user in &members {
                        let in_slot = self.s.tasks.iter().any(|t| {
                            t.slot == task.slot
                                && t.activation == task.activation
                                && t.assignee == *user
                                && t.status.is_live()
                        });
                        if !in_slot {
                            let id = self.next_id();
                            self.s.tasks.push(Task {
                                id,
                                assignee: user.clone(),
                                created_at: self.at,
                                due_at: None,
                                ..task.clone()
                            });
                            added.push(user.clone());
                        }
                    }
                }
                self.history(&timer.node, "escalated", None, None, json!({ "role": role, "users": added }));
                if !added.is_empty() {
                    self.commands.push(Command::Notify {
                        users: added,
                        message: format!("The overdue step “{}” was escalated to you.", timer.node),
                        node: timer.node.clone(),
                    });
                }
            }
            SlaAction::AutoApprove => {
                self.history(&timer.node, "auto-approved", None, None, Value::Null);
                self.s.decided = true;
                self.complete_node(token, &timer.node.clone());
            }
            SlaAction::AutoReject => {
                self.history(&timer.node, "auto-rejected", None, None, Value::Null);
                self.s.decided = true;
                self.reject_node(token, &timer.node.clone());
            }
        }
        Ok(())
    }
}
