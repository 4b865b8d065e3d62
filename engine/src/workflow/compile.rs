//! Checking a workflow definition and compiling it once per published version: node index,
//! outgoing edges in order, compiled rules, parsed durations and each join's split.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use super::duration::parse_duration;
use super::graph::{join_of, reach};
use super::model::{Approval, NodeKind, SlaAction, Trigger, WorkflowDefinition};
use crate::form::{Code, Issue};
use crate::rules::{Rule, Sandbox, effects};

/// What a definition may refer to in its workspace. Without a catalog only the definition's
/// own consistency is checked (the runner recompiles published versions that way).
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    /// Form key -> its top-level data field keys.
    pub forms: BTreeMap<String, Vec<String>>,
    pub roles: BTreeSet<String>,
    /// Connector name -> the operations it offers (`*`: any).
    pub connectors: BTreeMap<String, Vec<String>>,
}

/// Roles every workspace has (custom roles are any other names members are given).
pub const BUILT_IN_ROLES: &[&str] = &["admin", "designer", "member", "approver", "viewer"];

/// Variables rules see: the record (with `id`), the submitter's user id, the instance id.
pub const RULE_VARIABLES: &[&str] = &["record", "submitter", "instance"];

/// Record properties that exist on every record besides its fields.
const RECORD_META: &[&str] = &["id", "created_at", "updated_at", "created_by", "version", "form"];

pub struct CompiledWorkflow {
    pub definition: WorkflowDefinition,
    pub(crate) sandbox: Sandbox,
    pub(crate) index: HashMap<String, usize>,
    /// Per node: outgoing edges as (target, compiled `when`, is default), in definition order.
    pub(crate) outgoing: Vec<Vec<(String, Option<Rule>, bool)>>,
    /// Per node: the action script, the assignee rule.
    pub(crate) scripts: Vec<Option<Rule>>,
    pub(crate) assignee_rules: Vec<Option<Rule>>,
    /// Per node: the SLA or timer duration in milliseconds.
    pub(crate) durations: Vec<Option<i64>>,
    /// Join id -> its parallel split's id.
    pub(crate) split_of: HashMap<String, String>,
    pub(crate) start: String,
    /// A schedule trigger's interval in milliseconds and its compiled `when`.
    pub(crate) every: Option<i64>,
    pub(crate) trigger_rule: Option<Rule>,
}

impl std::fmt::Debug for CompiledWorkflow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledWorkflow").field("key", &self.definition.key).finish_non_exhaustive()
    }
}

fn is_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && key.len() <= 64
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

impl CompiledWorkflow {
    /// Checks and compiles `definition`. Every problem is reported (with a JSON pointer into
    /// the definition), not only the first.
    pub fn compile(definition: WorkflowDefinition, catalog: Option<&Catalog>) -> Result<CompiledWorkflow, Vec<Issue>> {
        let mut issues = Vec::new();
        let sandbox = Sandbox::default();
        let def = &definition;
        if !is_key(&def.key) {
            issues.push(Issue::new("/key", Code::MalformedKey).param("key", def.key.as_str()));
        }
        let form_fields: Option<&Vec<String>> = catalog.and_then(|c| c.forms.get(&def.form));
        if let Some(catalog) = catalog
            && !catalog.forms.contains_key(&def.form)
        {
            issues.push(Issue::new("/form", Code::UnknownForm).param("form", def.form.as_str()));
        }
        let field_exists = |field: &str| form_fields.is_none_or(|fields| fields.iter().any(|f| f == field));

        // Nodes: ids, one start.
        let mut index = HashMap::new();
        for (i, node) in def.nodes.iter().enumerate() {
            if !is_key(&node.id) {
                issues.push(Issue::new(format!("/nodes/{i}/id"), Code::MalformedKey).param("key", node.id.as_str()));
            }
            if let Some(first) = index.insert(node.id.clone(), i) {
                issues.push(
                    Issue::new(format!("/nodes/{i}/id"), Code::DuplicateKey)
                        .param("key", node.id.as_str())
                        .param("first", format!("/nodes/{first}")),
                );
            }
        }
        if issues.iter().any(|i| i.code == Code::DuplicateKey) {
            // The graph checks below would only repeat the confusion about which node is meant.
            return Err(issues);
        }
        let starts: Vec<usize> =
            def.nodes.iter().enumerate().filter(|(_, n)| n.kind == NodeKind::Start).map(|(i, _)| i).collect();
        if starts.len() != 1 {
            issues.push(Issue::new("/nodes", Code::StartCount).param("count", starts.len()));
        }
        if !def.nodes.iter().any(|n| matches!(n.kind, NodeKind::End { .. })) {
            issues.push(Issue::new("/nodes", Code::NoPathToEnd).param("node", "start"));
        }

        // Edges.
        let mut outgoing_ids: Vec<Vec<(usize, usize)>> = vec![Vec::new(); def.nodes.len()];
        let mut incoming: Vec<usize> = vec![0; def.nodes.len()];
        for (e, edge) in def.edges.iter().enumerate() {
            let from = index.get(&edge.from).copied();
            let to = index.get(&edge.to).copied();
            if from.is_none() {
                issues
                    .push(Issue::new(format!("/edges/{e}/from"), Code::UnknownNode).param("node", edge.from.as_str()));
            }
            if to.is_none() {
                issues.push(Issue::new(format!("/edges/{e}/to"), Code::UnknownNode).param("node", edge.to.as_str()));
            }
            if let (Some(from), Some(to)) = (from, to) {
                outgoing_ids[from].push((e, to));
                incoming[to] += 1;
                let conditional = def.nodes[from].kind == NodeKind::Condition;
                if !conditional && (edge.when.is_some() || edge.default) {
                    issues.push(
                        Issue::new(format!("/edges/{e}"), Code::NotApplicable)
                            .param("property", if edge.default { "default" } else { "when" })
                            .param("type", def.nodes[from].kind.name()),
                    );
                }
                if conditional && edge.when.is_some() && edge.default {
                    issues.push(
                        Issue::new(format!("/edges/{e}"), Code::NotApplicable)
                            .param("property", "when")
                            .param("type", "default edge"),
                    );
                }
            }
        }
        for (i, node) in def.nodes.iter().enumerate() {
            let out = outgoing_ids[i].len();
            let path = format!("/nodes/{i}");
            let expected = match &node.kind {
                NodeKind::Start => {
                    if incoming[i] > 0 {
                        issues.push(
                            Issue::new(path.clone(), Code::EdgeCount)
                                .param("node", node.id.as_str())
                                .param("expected", "no incoming edges")
                                .param("actual", incoming[i]),
                        );
                    }
                    Some((1, 1))
                }
                NodeKind::End { .. } => Some((0, 0)),
                NodeKind::Approval(_) | NodeKind::Action { .. } | NodeKind::Timer { .. } | NodeKind::Join => {
                    Some((1, 1))
                }
                NodeKind::Parallel => Some((2, usize::MAX)),
                NodeKind::Condition => {
                    let defaults = outgoing_ids[i].iter().filter(|(e, _)| def.edges[*e].default).count();
                    if defaults != 1 {
                        issues.push(
                            Issue::new(path.clone(), Code::MissingDefault)
                                .param("node", node.id.as_str())
                                .param("count", defaults),
                        );
                    }
                    for (e, _) in &outgoing_ids[i] {
                        let edge = &def.edges[*e];
                        if edge.when.is_none() && !edge.default {
                            issues.push(Issue::new(format!("/edges/{e}"), Code::Required).param("property", "when"));
                        }
                    }
                    Some((1, usize::MAX))
                }
            };
            if let Some((min, max)) = expected
                && (out < min || out > max)
            {
                let wanted = if min == max {
                    min.to_string()
                } else if max == usize::MAX {
                    format!("at least {min}")
                } else {
                    format!("{min}..{max}")
                };
                issues.push(
                    Issue::new(path, Code::EdgeCount)
                        .param("node", node.id.as_str())
                        .param("expected", wanted)
                        .param("actual", out),
                );
            }
        }

        // Reachability both ways (only meaningful on a well-formed graph).
        if starts.len() == 1 {
            // A rejection's target is reached without an edge.
            let on_reject = |n: usize| match &def.nodes[n].kind {
                NodeKind::Approval(a) => a.on_reject.as_ref().and_then(|t| index.get(t).copied()),
                _ => None,
            };
            let forward = reach(starts[0], |n| outgoing_ids[n].iter().map(|(_, to)| *to).chain(on_reject(n)).collect());
            for (i, node) in def.nodes.iter().enumerate() {
                if !forward.contains(&i) {
                    issues.push(Issue::new(format!("/nodes/{i}"), Code::Unreachable).param("node", node.id.as_str()));
                }
            }
        }
        let mut reverse: Vec<Vec<usize>> = vec![Vec::new(); def.nodes.len()];
        for (from, outs) in outgoing_ids.iter().enumerate() {
            for (_, to) in outs {
                reverse[*to].push(from);
            }
        }
        let mut reaches_end = BTreeSet::new();
        for (i, node) in def.nodes.iter().enumerate() {
            if matches!(node.kind, NodeKind::End { .. }) {
                reaches_end.extend(reach(i, |n| reverse[n].clone()));
            }
        }
        for (i, node) in def.nodes.iter().enumerate() {
            if !reaches_end.contains(&i) && !matches!(node.kind, NodeKind::End { .. }) {
                issues.push(Issue::new(format!("/nodes/{i}"), Code::NoPathToEnd).param("node", node.id.as_str()));
            }
        }

        // Parallel splits and their joins.
        let mut split_of = HashMap::new();
        let mut memo = HashMap::new();
        for (i, node) in def.nodes.iter().enumerate() {
            if node.kind == NodeKind::Parallel {
                match join_of(def, &outgoing_ids, i, &mut memo, &mut Vec::new()) {
                    Ok(join) => {
                        let join_id = def.nodes[join].id.clone();
                        if let Some(other) = split_of.insert(join_id.clone(), node.id.clone()) {
                            issues.push(
                                Issue::new(format!("/nodes/{join}"), Code::UnmatchedJoin)
                                    .param("node", join_id)
                                    .param("detail", format!("joins both “{other}” and “{}”", node.id)),
                            );
                        }
                    }
                    Err(detail) => issues.push(
                        Issue::new(format!("/nodes/{i}"), Code::UnmatchedJoin)
                            .param("node", node.id.as_str())
                            .param("detail", detail),
                    ),
                }
            }
        }
        for (i, node) in def.nodes.iter().enumerate() {
            if node.kind == NodeKind::Join
                && !split_of.contains_key(&node.id)
                && !issues.iter().any(|x| x.code == Code::UnmatchedJoin)
            {
                issues.push(
                    Issue::new(format!("/nodes/{i}"), Code::UnmatchedJoin)
                        .param("node", node.id.as_str())
                        .param("detail", "no parallel split leads here on every branch"),
                );
            }
        }

        // Rules and references.
        let check_rule =
            |path: String, name: String, source: &str, action: bool, issues: &mut Vec<Issue>| -> Option<Rule> {
                let compiled = if action {
                    sandbox.compile_action(&name, source, RULE_VARIABLES)
                } else {
                    sandbox.compile(&name, source, RULE_VARIABLES)
                };
                match compiled {
                    Ok(rule) => {
                        for reference in rule.references() {
                            if reference.name == "record"
                                && let Some(member) = &reference.member
                                && !RECORD_META.contains(&member.as_str())
                                && !field_exists(member)
                            {
                                issues.push(
                                    Issue::new(path.clone(), Code::UnknownReference)
                                        .param("name", format!("record.{member}")),
                                );
                            }
                        }
                        Some(rule)
                    }
                    Err(error) => {
                        issues.push(Issue::new(path, Code::InvalidExpression).param("detail", error.to_string()));
                        None
                    }
                }
            };
        let mut outgoing = vec![Vec::new(); def.nodes.len()];
        for (i, outs) in outgoing_ids.iter().enumerate() {
            for (e, to) in outs {
                let edge = &def.edges[*e];
                let rule = edge.when.as_deref().and_then(|when| {
                    check_rule(
                        format!("/edges/{e}/when"),
                        format!("{}->{}", edge.from, edge.to),
                        when,
                        false,
                        &mut issues,
                    )
                });
                outgoing[i].push((def.nodes[*to].id.clone(), rule, edge.default));
            }
        }
        let mut scripts = vec![None; def.nodes.len()];
        let mut assignee_rules = vec![None; def.nodes.len()];
        let mut durations = vec![None; def.nodes.len()];
        let duration = |path: String, text: &str, issues: &mut Vec<Issue>| match parse_duration(text) {
            Ok(ms) if ms > 0 => Some(ms),
            Ok(_) => {
                issues.push(Issue::new(path, Code::InvalidDuration).param("detail", format!("“{text}” is zero")));
                None
            }
            Err(detail) => {
                issues.push(Issue::new(path, Code::InvalidDuration).param("detail", detail));
                None
            }
        };
        for (i, node) in def.nodes.iter().enumerate() {
            let path = format!("/nodes/{i}");
            match &node.kind {
                NodeKind::Action { script, results, error_field } => {
                    scripts[i] = check_rule(format!("{path}/script"), node.id.clone(), script, true, &mut issues);
                    for field in results.keys().chain(error_field) {
                        if !field_exists(field) {
                            issues.push(
                                Issue::new(format!("{path}/results"), Code::UnknownField)
                                    .param("field", field.as_str()),
                            );
                        }
                    }
                    for (function, first, second) in effects::literal_targets(script) {
                        match function.as_str() {
                            "set" if !field_exists(&first) => issues
                                .push(Issue::new(format!("{path}/script"), Code::UnknownField).param("field", first)),
                            "create_record" if catalog.is_some_and(|c| !c.forms.contains_key(&first)) => issues
                                .push(Issue::new(format!("{path}/script"), Code::UnknownForm).param("form", first)),
                            "call" => {
                                if let Some(catalog) = catalog {
                                    match catalog.connectors.get(&first) {
                                        None => issues.push(
                                            Issue::new(format!("{path}/script"), Code::UnknownConnector)
                                                .param("connector", first),
                                        ),
                                        Some(operations) => {
                                            if let Some(operation) = second
                                                && !operations.iter().any(|o| *o == operation || o == "*")
                                            {
                                                issues.push(
                                                    Issue::new(format!("{path}/script"), Code::UnknownConnector)
                                                        .param("connector", format!("{first}.{operation}")),
                                                );
                                            }
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    }
                }
                NodeKind::Timer { after, until_field } => match (after, until_field) {
                    (Some(after), None) => durations[i] = duration(format!("{path}/after"), after, &mut issues),
                    (None, Some(field)) => {
                        if !field_exists(field) {
                            issues.push(
                                Issue::new(format!("{path}/until_field"), Code::UnknownField)
                                    .param("field", field.as_str()),
                            );
                        }
                    }
                    _ => issues.push(
                        Issue::new(path, Code::InvalidDefinition)
                            .param("detail", "a timer needs exactly one of `after` and `until_field`"),
                    ),
                },
                NodeKind::Approval(approval) => {
                    assignee_rules[i] = check_approval(
                        approval,
                        &path,
                        node.id.as_str(),
                        catalog,
                        &field_exists,
                        &index,
                        &mut issues,
                        &mut |p, n, s, issues| check_rule(p, n, s, false, issues),
                    );
                    if let Some(sla) = &approval.sla {
                        durations[i] = duration(format!("{path}/sla/after"), &sla.after, &mut issues);
                    }
                }
                _ => {}
            }
        }
        let (mut every_ms, mut trigger_rule) = (None, None);
        match &def.trigger {
            Trigger::FieldChanged { field, .. } if !field_exists(field) => {
                issues.push(Issue::new("/trigger/field", Code::UnknownField).param("field", field.as_str()));
            }
            Trigger::Schedule { every, when } => {
                every_ms = duration("/trigger/every".into(), every, &mut issues);
                if let Some(when) = when {
                    trigger_rule = check_rule("/trigger/when".into(), "trigger".into(), when, false, &mut issues);
                }
            }
            _ => {}
        }
        if !issues.is_empty() {
            return Err(issues);
        }
        let start = def.nodes[starts[0]].id.clone();
        Ok(CompiledWorkflow {
            definition,
            sandbox,
            index,
            outgoing,
            scripts,
            assignee_rules,
            durations,
            split_of,
            start,
            every: every_ms,
            trigger_rule,
        })
    }

    /// A schedule trigger's interval in milliseconds (None for other triggers).
    pub fn schedule_every(&self) -> Option<i64> {
        self.every
    }

    /// Whether a scheduled round starts an instance on `record` (its `when`, if any; a rule
    /// that fails counts as no, with the error for the caller to log).
    pub fn scheduled_for(&self, record: &Value) -> Result<bool, crate::rules::RuleError> {
        let Some(rule) = &self.trigger_rule else { return Ok(true) };
        let variables = vec![
            ("record", crate::rules::to_dynamic(record)),
            ("submitter", rhai::Dynamic::from(String::new())),
            ("instance", rhai::Dynamic::from(String::new())),
        ];
        self.sandbox.eval_bool(rule, variables)
    }

    pub fn node(&self, id: &str) -> Option<&super::model::Node> {
        self.index.get(id).map(|i| &self.definition.nodes[*i])
    }

    pub(crate) fn position(&self, id: &str) -> usize {
        self.index[id]
    }

    /// The approval settings of a node, if it is one.
    pub fn approval(&self, id: &str) -> Option<&Approval> {
        match &self.node(id)?.kind {
            NodeKind::Approval(approval) => Some(approval),
            _ => None,
        }
    }
}

/// Compiles a rule at a path under a name, reporting problems (see `compile`).
type RuleCheck<'a> = dyn FnMut(String, String, &str, &mut Vec<Issue>) -> Option<Rule> + 'a;

#[allow(clippy::too_many_arguments)]
fn check_approval(
    approval: &Approval,
    path: &str,
    node: &str,
    catalog: Option<&Catalog>,
    field_exists: &dyn Fn(&str) -> bool,
    index: &HashMap<String, usize>,
    issues: &mut Vec<Issue>,
    check_rule: &mut RuleCheck<'_>,
) -> Option<Rule> {
    let a = &approval.assignees;
    if a.users.is_empty() && a.roles.is_empty() && a.field.is_none() && a.rule.is_none() && !a.submitter {
        issues.push(Issue::new(format!("{path}/assignees"), Code::NoAssignees).param("node", node));
    }
    let role_exists = |role: &str| catalog.is_none_or(|c| c.roles.contains(role));
    for (r, role) in a.roles.iter().enumerate() {
        if !role_exists(role) {
            issues.push(
                Issue::new(format!("{path}/assignees/roles/{r}"), Code::UnknownRole).param("role", role.as_str()),
            );
        }
    }
    if let Some(SlaAction::Escalate { role }) = approval.sla.as_ref().map(|s| &s.then)
        && !role_exists(role)
    {
        issues.push(Issue::new(format!("{path}/sla/role"), Code::UnknownRole).param("role", role.as_str()));
    }
    if let Some(field) = &a.field
        && !field_exists(field)
    {
        issues.push(Issue::new(format!("{path}/assignees/field"), Code::UnknownField).param("field", field.as_str()));
    }
    for (list, name) in [
        (approval.visible_fields.as_deref().unwrap_or_default(), "visible_fields"),
        (&approval.editable_fields[..], "editable_fields"),
    ] {
        for (f, field) in list.iter().enumerate() {
            if !field_exists(field) {
                issues
                    .push(Issue::new(format!("{path}/{name}/{f}"), Code::UnknownField).param("field", field.as_str()));
            }
        }
    }
    if let Some(target) = &approval.on_reject
        && !index.contains_key(target)
    {
        issues.push(Issue::new(format!("{path}/on_reject"), Code::UnknownNode).param("node", target.as_str()));
    }
    match (approval.mode, approval.required) {
        (super::model::Mode::Ratio, None | Some(0)) => issues.push(
            Issue::new(format!("{path}/required"), Code::InvalidDefinition)
                .param("detail", "ratio mode needs `required` (k of n), at least 1"),
        ),
        (super::model::Mode::Ratio, Some(k))
            if !a.users.is_empty()
                && a.roles.is_empty()
                && a.field.is_none()
                && a.rule.is_none()
                && !a.submitter
                && k as usize > a.users.len() =>
        {
            issues.push(
                Issue::new(format!("{path}/required"), Code::InvalidDefinition)
                    .param("detail", format!("{k} approvals required of {} assignees", a.users.len())),
            )
        }
        (mode, Some(_)) if mode != super::model::Mode::Ratio => issues.push(
            Issue::new(format!("{path}/required"), Code::NotApplicable)
                .param("property", "required")
                .param("type", "non-ratio approval"),
        ),
        _ => {}
    }
    a.rule
        .as_deref()
        .and_then(|rule| check_rule(format!("{path}/assignees/rule"), format!("{node}.assignees"), rule, issues))
}
