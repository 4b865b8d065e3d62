//! An instance's state, the events that move it and the commands it asks the runner to carry
//! out. All of it is plain data (serde), stored by the server as JSON.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::Outcome;

/// Milliseconds since the Unix epoch, UTC. The engine never reads a clock: every event says
/// when it happened.
pub type Millis = i64;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub id: String,
    pub submitter: String,
    pub status: Status,
    pub tokens: Vec<Token>,
    pub tasks: Vec<Task>,
    pub timers: Vec<Timer>,
    pub calls: Vec<Call>,
    /// Arrivals at joins, per split activation: branch indexes that got there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub joins: BTreeMap<u64, JoinState>,
    /// Where each node was last entered from (its token's branch stack then), so a return can
    /// restart there.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub visited: BTreeMap<String, Vec<Branch>>,
    /// Node -> the node that returned to it and asked to be resumed at directly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resume: BTreeMap<String, String>,
    /// Whether anyone has decided anything (the submitter may withdraw only before).
    #[serde(default)]
    pub decided: bool,
    pub history: Vec<HistoryEntry>,
    /// Counter for task, timer, call, token and split ids.
    pub next_id: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Status {
    #[default]
    Running,
    /// Waiting for an administrator: an action's call failed for a business reason or was
    /// given up; `retry` or `skip` moves on.
    Blocked {
        node: String,
        call: u64,
        reason: String,
    },
    Completed {
        outcome: Outcome,
    },
    Withdrawn,
    /// A rule failed (or looped); nothing more happens to the instance.
    Failed {
        node: String,
        error: String,
    },
}

impl Status {
    pub fn is_finished(&self) -> bool {
        matches!(self, Status::Completed { .. } | Status::Withdrawn | Status::Failed { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Blocked { .. } => "blocked",
            Status::Completed { outcome: Outcome::Approved } => "approved",
            Status::Completed { outcome: Outcome::Rejected } => "rejected",
            Status::Withdrawn => "withdrawn",
            Status::Failed { .. } => "failed",
        }
    }
}

/// The branches of one split activation that reached its join, and the branch stack the
/// split itself ran in.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JoinState {
    pub arrived: Vec<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent: Vec<Branch>,
}

impl InstanceState {
    /// Ends the wait on everything: live tasks are cancelled, pending calls skipped, tokens,
    /// timers and joins gone. The caller sets the final status.
    pub fn close(&mut self) {
        for task in &mut self.tasks {
            if task.status.is_live() {
                task.status = TaskStatus::Cancelled;
            }
        }
        for call in &mut self.calls {
            if call.status == CallStatus::Pending {
                call.status = CallStatus::Skipped;
            }
        }
        self.timers.clear();
        self.tokens.clear();
        self.joins.clear();
    }

    /// Fails the instance at `node` (a rule, or a command the runner could not carry out):
    /// everything closes and the error is kept, in the status and the history.
    pub fn fail(&mut self, at: Millis, node: &str, error: String) {
        self.history.push(HistoryEntry {
            at,
            node: node.to_owned(),
            what: "failed".into(),
            by: None,
            comment: None,
            detail: Value::String(error.clone()),
        });
        self.close();
        self.status = Status::Failed { node: node.to_owned(), error };
    }
}

/// One parallel branch a token is in: the split activation and the branch index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Branch {
    pub split: u64,
    pub index: u32,
}

/// A position in the graph. Tokens rest at approvals, timers and actions waiting for calls.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Token {
    pub id: u64,
    pub node: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<Branch>,
    /// Each entry into an approval gets a new activation id; its tasks carry it.
    #[serde(default)]
    pub activation: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: u64,
    pub node: String,
    pub token: u64,
    pub activation: u64,
    /// The assignment this task fills. Usually one task per slot; a delegation or an
    /// escalation adds tasks to the same slot, and the first decision in a slot decides it.
    pub slot: u64,
    pub assignee: String,
    pub status: TaskStatus,
    /// Position among the node's signers (the order of a sequential node).
    pub order: u32,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// For a signer added before another: the slot that waits for this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<u64>,
    /// For a signer added after another: the slot whose approval counts only once this one
    /// approves too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Waiting for its assignee.
    Open,
    /// Not yet due: a later signer in sequence, or a signer waiting for those added before.
    Pending,
    Approved,
    Rejected,
    Returned,
    Delegated,
    /// Closed without a decision (another signer decided, the instance moved on or ended).
    Cancelled,
}

impl TaskStatus {
    pub fn is_live(self) -> bool {
        matches!(self, TaskStatus::Open | TaskStatus::Pending)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timer {
    pub id: u64,
    pub node: String,
    pub token: u64,
    pub due_at: Millis,
    pub purpose: TimerPurpose,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerPurpose {
    /// A timer node's wait.
    Wait,
    /// An approval's SLA.
    Sla,
}

/// An external call an action made and the instance waits for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Call {
    pub id: u64,
    pub node: String,
    pub token: u64,
    pub connector: String,
    pub operation: String,
    pub payload: Value,
    /// Stable across retries: the connector uses it to make the call effectively-once.
    pub idempotency_key: String,
    pub status: CallStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallStatus {
    Pending,
    Done,
    Failed,
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Millis,
    pub node: String,
    pub what: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub detail: Value,
}

/// Something that happened to an instance, with when and the world as it is then.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub at: Millis,
    /// The record's current data, with `id` (what rules see as `record`).
    pub record: &'a Value,
    /// Role name -> user ids, for the workspace.
    pub roles: &'a BTreeMap<String, Vec<String>>,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    Start {
        instance: String,
        submitter: String,
    },
    Decide {
        task: u64,
        by: String,
        #[serde(flatten)]
        decision: Decision,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
        /// Values for the node's editable fields.
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        edits: Map<String, Value>,
    },
    Withdraw {
        by: String,
    },
    TimerFired {
        timer: u64,
    },
    CallSucceeded {
        call: u64,
        #[serde(default)]
        result: Value,
    },
    /// The call cannot succeed as asked (a business error) or was given up after its retries.
    CallFailed {
        call: u64,
        error: String,
    },
    /// An administrator asks a blocked action to be called again.
    Retry {
        by: String,
    },
    /// An administrator moves a blocked instance past its failed action.
    Skip {
        by: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
    /// Back to an earlier node (`to`), which runs again.
    Return {
        to: String,
    },
    /// Hand the task to someone else (transfer is the same).
    #[serde(alias = "transfer")]
    Delegate {
        to: String,
    },
    AddSigner {
        users: Vec<String>,
        position: SignerPosition,
    },
    /// The submitter sends a record returned to the start back into the flow.
    Resubmit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignerPosition {
    Before,
    After,
}

/// What the runner must do after a step, in the same transaction as the new state (database
/// effects) or through the outbox (calls and notifications).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum Command {
    /// Write values into the instance's record.
    SetFields {
        values: Map<String, Value>,
    },
    /// Create a record of another form.
    CreateRecord {
        form: String,
        data: Value,
    },
    /// An external call; the answer comes back as `CallSucceeded` / `CallFailed`.
    Call {
        call: u64,
        connector: String,
        operation: String,
        payload: Value,
        idempotency_key: String,
    },
    Notify {
        users: Vec<String>,
        message: String,
        node: String,
    },
}

/// Why an event was refused. The state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepError {
    pub code: StepErrorCode,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepErrorCode {
    /// The instance is finished (or not started, or already started).
    NotRunning,
    UnknownTask,
    /// The task is closed or not yet due.
    TaskNotOpen,
    /// The caller is not the task's assignee (or not the submitter, for withdraw).
    NotAssignee,
    /// Someone already decided; the submitter can no longer withdraw.
    AlreadyDecided,
    /// The return target is not an earlier node of this path.
    InvalidReturnTarget,
    /// A field the node does not let the approver edit.
    NotEditable,
    /// A decision that does not fit (no users given, resubmit outside the start, ...).
    InvalidDecision,
    /// The timer or call is not (or no longer) one the instance waits for.
    Stale,
}

impl StepError {
    pub fn new(code: StepErrorCode, message: impl Into<String>) -> StepError {
        StepError { code, message: message.into() }
    }
}
