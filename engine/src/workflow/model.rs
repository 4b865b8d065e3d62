//! The workflow definition as designers write it (DESIGN §5, §13): a graph of nodes and edges
//! bound to a form and a trigger. Serde reads it strictly (unknown properties are errors).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::i18n::I18nText;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDefinition {
    pub key: String,
    #[serde(default, skip_serializing_if = "I18nText::is_empty")]
    pub name: I18nText,
    /// The form whose records the workflow runs on.
    pub form: String,
    pub trigger: Trigger,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// What starts an instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "on", rename_all = "snake_case", deny_unknown_fields)]
pub enum Trigger {
    /// A record of the form is submitted.
    Submitted,
    /// A field of a record changes; with `to`, only when it changes to that value.
    FieldChanged {
        field: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Value>,
    },
    /// On a schedule: every `every` (an ISO 8601 duration), one instance per matching
    /// record (the `when` rule, if any, picks them).
    Schedule {
        every: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        when: Option<String>,
    },
}

/// Serde cannot refuse unknown properties of a flattened, tagged node, so [`parse_workflow`]
/// checks them against [`node_properties`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: String,
    #[serde(default, skip_serializing_if = "I18nText::is_empty")]
    pub name: I18nText,
    #[serde(flatten)]
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NodeKind {
    Start,
    End {
        /// How the instance ends when it gets here (`approved` unless said otherwise).
        #[serde(default)]
        outcome: Outcome,
    },
    Approval(Box<Approval>),
    /// Exclusive branches: the first outgoing edge whose `when` is true, else the default.
    Condition,
    /// Every outgoing edge starts a branch; the matching `join` waits for all of them.
    Parallel,
    Join,
    /// A script whose only effects are the commands it requests.
    Action {
        script: String,
        /// Where a call's answer goes: record field -> dotted path into the answer (e.g.
        /// `{"erp_return_no": "number"}`).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        results: BTreeMap<String, String>,
        /// The record field that shows a call's error (cleared when the call succeeds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error_field: Option<String>,
    },
    /// Waits for a duration, or until the date(time) in a record field.
    Timer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until_field: Option<String>,
    },
}

impl NodeKind {
    pub fn name(&self) -> &'static str {
        match self {
            NodeKind::Start => "start",
            NodeKind::End { .. } => "end",
            NodeKind::Approval(_) => "approval",
            NodeKind::Condition => "condition",
            NodeKind::Parallel => "parallel",
            NodeKind::Join => "join",
            NodeKind::Action { .. } => "action",
            NodeKind::Timer { .. } => "timer",
        }
    }
}

/// How an instance finished.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    #[default]
    Approved,
    Rejected,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub assignees: Assignees,
    #[serde(default)]
    pub mode: Mode,
    /// For `ratio`: how many approvals complete the node (k of n).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub required: Option<u32>,
    /// Where a rejection goes; without it the instance ends as rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_reject: Option<String>,
    /// After this node returns an instance to an earlier node and that node completes again:
    /// come straight back here, or run the path in between again.
    #[serde(default)]
    pub on_return: OnReturn,
    /// When no one is assigned: fail the instance (the default) or pass the node.
    #[serde(default)]
    pub when_empty: WhenEmpty,
    /// Fields the approver sees (all readable fields when absent) and may edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_fields: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editable_fields: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sla: Option<Sla>,
}

/// Who decides. The union of every list; `field` names a user (or list of users) field of the
/// record, `rule` a script returning a user id or a list of them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Assignees {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The person who submitted the record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub submitter: bool,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// 或签: the first decision decides.
    #[default]
    Any,
    /// 会签: everyone approves; one rejection rejects.
    All,
    /// One after another, in the order assigned; each must approve.
    Sequential,
    /// k of n approvals (`required`); rejected once k can no longer be reached.
    Ratio,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnReturn {
    #[default]
    RerunPath,
    ResumeAtReturner,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenEmpty {
    #[default]
    Fail,
    Approve,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    /// ISO 8601 duration after the node's tasks open, e.g. `PT8H`, `P2D`.
    pub after: String,
    #[serde(flatten)]
    pub then: SlaAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "then", rename_all = "snake_case")]
pub enum SlaAction {
    Remind,
    Escalate { role: String },
    AutoApprove,
    AutoReject,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Edge {
    pub from: String,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default: bool,
}

/// Reads a definition from JSON; the message names the property serde stumbled on.
pub fn parse_workflow(value: &Value) -> Result<WorkflowDefinition, String> {
    let definition: WorkflowDefinition = serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
    let raw_nodes = value.get("nodes").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (raw, node) in raw_nodes.iter().zip(&definition.nodes) {
        let allowed = node_properties(&node.kind);
        if let Some(unknown) = raw.as_object().and_then(|o| o.keys().find(|k| !allowed.contains(&k.as_str()))) {
            return Err(format!("unknown property `{unknown}` on the {} node `{}`", node.kind.name(), node.id));
        }
        let sla = raw.get("sla").and_then(Value::as_object);
        if let Some(unknown) = sla.and_then(|o| o.keys().find(|k| !["after", "then", "role"].contains(&k.as_str()))) {
            return Err(format!("unknown property `{unknown}` in the SLA of `{}`", node.id));
        }
    }
    Ok(definition)
}

/// The properties a node of each kind may have.
pub fn node_properties(kind: &NodeKind) -> &'static [&'static str] {
    match kind {
        NodeKind::Start | NodeKind::Condition | NodeKind::Parallel | NodeKind::Join => &["id", "name", "kind"],
        NodeKind::End { .. } => &["id", "name", "kind", "outcome"],
        NodeKind::Action { .. } => &["id", "name", "kind", "script", "results", "error_field"],
        NodeKind::Timer { .. } => &["id", "name", "kind", "after", "until_field"],
        NodeKind::Approval(_) => &[
            "id",
            "name",
            "kind",
            "assignees",
            "mode",
            "required",
            "on_reject",
            "on_return",
            "when_empty",
            "visible_fields",
            "editable_fields",
            "sla",
        ],
    }
}
