//! Invalid definitions and their precise errors (`path code`), with and without a catalog.

use std::collections::{BTreeMap, BTreeSet};

use engine::workflow::*;
use serde_json::{Value, json};

use super::sim::graph;

fn catalog() -> Catalog {
    Catalog {
        forms: BTreeMap::from([
            ("t".to_owned(), vec!["result".to_owned(), "note".to_owned(), "owner".to_owned(), "due".to_owned()]),
            ("ncr".to_owned(), vec!["source".to_owned()]),
        ]),
        roles: BTreeSet::from(["qe".to_owned(), "mrb".to_owned()]),
        connectors: BTreeMap::from([("erp".to_owned(), vec!["supplier_return".to_owned()])]),
    }
}

/// The issues of a definition, with messages in `lang`.
fn issues(definition: &Value, lang: engine::Lang) -> Vec<engine::form::Issue> {
    let parsed = parse_workflow(definition).unwrap_or_else(|e| panic!("{e}"));
    let mut issues = CompiledWorkflow::compile(parsed, Some(&catalog())).err().unwrap_or_default();
    engine::form::localize(&mut issues, lang);
    issues
}

#[test]
fn every_workflow_code_is_produced_with_messages_in_both_languages() {
    let a_node = |extra: Value| {
        let mut node = json!({"id": "a", "kind": "approval", "assignees": {"roles": ["qe"]}});
        for (k, v) in extra.as_object().unwrap() {
            node[k] = v.clone();
        }
        graph(json!([s(), node, e()]), json!([["start", "a"], ["a", "end"]]))
    };
    let cases = [
        graph(json!([a("a"), e()]), json!([["a", "end"]])),
        graph(json!([s(), e()]), json!([["start", "end"], ["start", "nowhere"]])),
        graph(json!([s(), a("a"), e()]), json!([["start", "a"], ["a", "end"], ["a", "start"]])),
        graph(
            json!([s(), {"id": "c", "kind": "condition"}, e()]),
            json!([["start", "c"], {"from": "c", "to": "end", "when": "true"}]),
        ),
        graph(json!([s(), a("a"), a("island"), e()]), json!([["start", "a"], ["a", "end"], ["island", "end"]])),
        graph(json!([s(), a("a"), a("b"), e()]), json!([["start", "a"], ["a", "b"], ["b", "a"], ["start", "end"]])),
        graph(
            json!([s(), a("a"), {"id": "j", "kind": "join"}, e()]),
            json!([["start", "a"], ["a", "j"], ["j", "end"]]),
        ),
        graph(
            json!([s(), {"id": "x", "kind": "action", "script": "create_record(\"capa\", #{})"}, e()]),
            json!([["start", "x"], ["x", "end"]]),
        ),
        a_node(json!({"assignees": {"roles": ["janitor"]}})),
        graph(
            json!([s(), {"id": "x", "kind": "action", "script": "call(\"sap\", \"x\", #{})"}, e()]),
            json!([["start", "x"], ["x", "end"]]),
        ),
        a_node(json!({"sla": {"after": "soon", "then": "remind"}})),
        a_node(json!({"assignees": {}})),
    ];
    let mut covered = std::collections::BTreeSet::new();
    for definition in &cases {
        let en = issues(definition, engine::Lang::En);
        let zh = issues(definition, engine::Lang::ZhCn);
        for (en, zh) in en.iter().zip(&zh) {
            covered.insert(en.code.as_str());
            assert!(!en.message.is_empty() && !en.message.contains('{'), "{:?}: {}", en.code, en.message);
            assert!(
                zh.message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                "{:?}: {}",
                zh.code,
                zh.message
            );
        }
    }
    let missing: Vec<&str> = engine::form::Code::all()
        .filter(|c| c.for_workflows())
        .map(|c| c.as_str())
        .filter(|c| !covered.contains(c))
        .collect();
    assert!(missing.is_empty(), "workflow codes no case produces: {missing:?}");
}

fn check(definition: Value, expected: &[&str]) {
    let parsed = parse_workflow(&definition).unwrap_or_else(|e| panic!("{e}"));
    let found = match CompiledWorkflow::compile(parsed, Some(&catalog())) {
        Ok(_) => Vec::new(),
        Err(issues) => issues
            .iter()
            .map(|i| format!("{} {}", i.path, serde_json::to_value(i.code).unwrap().as_str().unwrap()))
            .collect(),
    };
    let mut found = found;
    found.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected, "{definition}");
}

fn s() -> Value {
    json!({"id": "start", "kind": "start"})
}
fn e() -> Value {
    json!({"id": "end", "kind": "end"})
}
fn a(id: &str) -> Value {
    json!({"id": id, "kind": "approval", "assignees": {"roles": ["qe"]}})
}

#[test]
fn valid_definitions_compile() {
    check(graph(json!([s(), a("a"), e()]), json!([["start", "a"], ["a", "end"]])), &[]);
    check(
        graph(
            json!([s(), {"id": "p", "kind": "parallel"}, {"id": "q", "kind": "parallel"}, a("a"), a("b"), a("c"),
                   {"id": "jq", "kind": "join"}, {"id": "jp", "kind": "join"}, e()]),
            json!([
                ["start", "p"],
                ["p", "q"],
                ["p", "c"],
                ["q", "a"],
                ["q", "b"],
                ["a", "jq"],
                ["b", "jq"],
                ["jq", "jp"],
                ["c", "jp"],
                ["jp", "end"]
            ]),
        ),
        &[],
    );
}

#[test]
fn graph_errors() {
    // No start, two starts.
    check(graph(json!([a("a"), e()]), json!([["a", "end"]])), &["/nodes start_count"]);
    check(
        graph(json!([s(), {"id": "start2", "kind": "start"}, e()]), json!([["start", "end"], ["start2", "end"]])),
        &["/nodes start_count"],
    );
    // Duplicate ids, malformed ids, edges to unknown nodes.
    check(
        graph(json!([s(), a("a"), a("a"), e()]), json!([["start", "a"], ["a", "end"]])),
        &["/nodes/2/id duplicate_key"],
    );
    check(
        graph(json!([s(), a("Bad Id"), e()]), json!([["start", "Bad Id"], ["Bad Id", "end"]])),
        &["/nodes/1/id malformed_key"],
    );
    check(graph(json!([s(), e()]), json!([["start", "end"], ["start", "nowhere"]])), &["/edges/1/to unknown_node"]);
    // Unreachable node; a node with no way to an end.
    check(
        graph(json!([s(), a("a"), a("island"), e()]), json!([["start", "a"], ["a", "end"], ["island", "end"]])),
        &["/nodes/2 unreachable"],
    );
    check(
        graph(json!([s(), a("a"), a("b"), e()]), json!([["start", "a"], ["a", "b"], ["b", "a"], ["start", "end"]])),
        &["/nodes/0 edge_count", "/nodes/1 no_path_to_end", "/nodes/2 no_path_to_end"],
    );
    // Wrong edge counts.
    check(
        graph(json!([s(), a("a"), e()]), json!([["start", "a"], ["a", "end"], ["a", "start"]])),
        &["/nodes/0 edge_count", "/nodes/1 edge_count"],
    );
    check(
        graph(
            json!([s(), {"id": "p", "kind": "parallel"}, {"id": "j", "kind": "join"}, e()]),
            json!([["start", "p"], ["p", "j"], ["j", "end"]]),
        ),
        &["/nodes/1 edge_count"],
    );
}

#[test]
fn condition_errors() {
    let nodes = json!([s(), {"id": "c", "kind": "condition"}, a("a"), e()]);
    // No default edge; an edge without a rule; two defaults.
    check(
        graph(
            nodes.clone(),
            json!([["start", "c"], {"from": "c", "to": "a", "when": "record.result == \"ok\""}, ["a", "end"]]),
        ),
        &["/nodes/1 missing_default"],
    );
    check(
        graph(
            nodes.clone(),
            json!([["start", "c"], ["c", "a"], {"from": "c", "to": "end", "default": true}, ["a", "end"]]),
        ),
        &["/edges/1 required"],
    );
    check(
        graph(
            nodes.clone(),
            json!([["start", "c"], {"from": "c", "to": "a", "default": true}, {"from": "c", "to": "end", "default": true}, ["a", "end"]]),
        ),
        &["/nodes/1 missing_default"],
    );
    // Rules that do not compile, or read fields the form lacks.
    check(
        graph(
            nodes.clone(),
            json!([["start", "c"], {"from": "c", "to": "a", "when": "record.result =="}, {"from": "c", "to": "end", "default": true}, ["a", "end"]]),
        ),
        &["/edges/1/when invalid_expression"],
    );
    check(
        graph(
            nodes.clone(),
            json!([["start", "c"], {"from": "c", "to": "a", "when": "record.colour == \"red\""}, {"from": "c", "to": "end", "default": true}, ["a", "end"]]),
        ),
        &["/edges/1/when unknown_reference"],
    );
    check(
        graph(
            nodes,
            json!([["start", "c"], {"from": "c", "to": "a", "when": "weather == 1"}, {"from": "c", "to": "end", "default": true}, ["a", "end"]]),
        ),
        &["/edges/1/when invalid_expression"],
    );
    // `when` on an edge that does not leave a condition.
    check(
        graph(json!([s(), a("a"), e()]), json!([["start", "a"], {"from": "a", "to": "end", "when": "true"}])),
        &["/edges/1 not_applicable"],
    );
}

#[test]
fn parallel_errors() {
    // Branches that reach different joins, a branch that ends before joining, a lone join.
    check(
        graph(
            json!([s(), {"id": "p", "kind": "parallel"}, a("a"), a("b"), {"id": "j1", "kind": "join"}, {"id": "j2", "kind": "join"}, e()]),
            json!([["start", "p"], ["p", "a"], ["p", "b"], ["a", "j1"], ["b", "j2"], ["j1", "end"], ["j2", "end"]]),
        ),
        &["/nodes/1 unmatched_join"],
    );
    check(
        graph(
            json!([s(), {"id": "p", "kind": "parallel"}, a("a"), a("b"), {"id": "j", "kind": "join"}, e()]),
            json!([["start", "p"], ["p", "a"], ["p", "b"], ["a", "j"], ["b", "end"], ["j", "end"]]),
        ),
        &["/nodes/1 unmatched_join"],
    );
    check(
        graph(
            json!([s(), a("a"), {"id": "j", "kind": "join"}, e()]),
            json!([["start", "a"], ["a", "j"], ["j", "end"]]),
        ),
        &["/nodes/2 unmatched_join"],
    );
}

#[test]
fn reference_errors() {
    let approval = |extra: Value| {
        let mut node = json!({"id": "a", "kind": "approval", "assignees": {"roles": ["qe"]}});
        for (k, v) in extra.as_object().unwrap() {
            node[k] = v.clone();
        }
        graph(json!([s(), node, e()]), json!([["start", "a"], ["a", "end"]]))
    };
    check(approval(json!({"assignees": {"roles": ["janitor"]}})), &["/nodes/1/assignees/roles/0 unknown_role"]);
    check(approval(json!({"assignees": {}})), &["/nodes/1/assignees no_assignees"]);
    check(approval(json!({"assignees": {"field": "nobody"}})), &["/nodes/1/assignees/field unknown_field"]);
    check(approval(json!({"assignees": {"rule": "record.owner"}})), &[]);
    check(approval(json!({"assignees": {"rule": "record.ghost"}})), &["/nodes/1/assignees/rule unknown_reference"]);
    check(approval(json!({"editable_fields": ["note", "secret"]})), &["/nodes/1/editable_fields/1 unknown_field"]);
    check(approval(json!({"sla": {"after": "P1M", "then": "remind"}})), &["/nodes/1/sla/after invalid_duration"]);
    check(
        approval(json!({"sla": {"after": "PT4H", "then": "escalate", "role": "ceo"}})),
        &["/nodes/1/sla/role unknown_role"],
    );
    check(approval(json!({"mode": "ratio"})), &["/nodes/1/required invalid_definition"]);
    check(
        approval(json!({"mode": "ratio", "required": 3, "assignees": {"users": ["a", "b"]}})),
        &["/nodes/1/required invalid_definition"],
    );
    check(approval(json!({"on_reject": "nowhere"})), &["/nodes/1/on_reject unknown_node"]);

    let action = |script: &str| {
        graph(json!([s(), {"id": "x", "kind": "action", "script": script}, e()]), json!([["start", "x"], ["x", "end"]]))
    };
    check(action("set(\"note\", \"checked\"); create_record(\"ncr\", #{ source: record.id })"), &[]);
    check(action("call(\"erp\", \"supplier_return\", #{ lot: record.result })"), &[]);
    check(action("set(\"colour\", 1)"), &["/nodes/1/script unknown_field"]);
    check(action("create_record(\"capa\", #{})"), &["/nodes/1/script unknown_form"]);
    check(action("call(\"sap\", \"anything\", #{})"), &["/nodes/1/script unknown_connector"]);
    check(action("call(\"erp\", \"delete_everything\", #{})"), &["/nodes/1/script unknown_connector"]);
    check(action("let x = ;"), &["/nodes/1/script invalid_expression"]);

    let mut wrong_form = graph(json!([s(), e()]), json!([["start", "end"]]));
    wrong_form["form"] = json!("nope");
    check(wrong_form, &["/form unknown_form"]);
    let mut trigger = graph(json!([s(), e()]), json!([["start", "end"]]));
    trigger["trigger"] = json!({"on": "field_changed", "field": "colour", "to": "red"});
    check(trigger.clone(), &["/trigger/field unknown_field"]);
    trigger["trigger"] = json!({"on": "schedule", "every": "soon"});
    check(trigger, &["/trigger/every invalid_duration"]);
    check(
        graph(json!([s(), {"id": "w", "kind": "timer"}, e()]), json!([["start", "w"], ["w", "end"]])),
        &["/nodes/1 invalid_definition"],
    );
}

#[test]
fn unknown_properties_and_kinds_are_refused() {
    assert!(
        parse_workflow(
            &json!({"key": "k", "form": "t", "trigger": {"on": "submitted"}, "nodes": [], "edges": [], "colour": 1})
        )
        .is_err()
    );
    assert!(parse_workflow(&graph(json!([{"id": "x", "kind": "teleport"}]), json!([]))).is_err());
    assert!(
        parse_workflow(&graph(json!([{"id": "a", "kind": "approval", "assignees": {}, "mode": "most"}]), json!([])))
            .is_err()
    );
}

#[test]
fn durations() {
    for (text, ms) in [
        ("PT8H", 8 * 3_600_000),
        ("P2D", 2 * 86_400_000),
        ("P1DT12H", 36 * 3_600_000),
        ("PT30M", 1_800_000),
        ("P1W", 7 * 86_400_000),
        ("PT45S", 45_000),
    ] {
        assert_eq!(parse_duration(text), Ok(ms), "{text}");
    }
    for bad in ["8h", "P", "PT", "P1M", "P1Y", "PT5", "P-1D", "PTH"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}
