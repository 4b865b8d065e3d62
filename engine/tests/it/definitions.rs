//! Definition validation: every problem a designer can make, with its precise path and code.

use serde_json::json;

use crate::support::{check_definition, definition_issues};

fn form(fields: serde_json::Value) -> serde_json::Value {
    json!({"key": "t", "name": {"en": "T", "zh-CN": "表"}, "fields": fields})
}

#[test]
fn shape_errors_name_their_place() {
    check_definition(json!([1]), &[" invalid_definition"]);
    check_definition(json!({"key": "t", "fields": []}), &["/name invalid_definition"]);
    check_definition(
        json!({"key": "t", "name": "T", "fields": {}, "colour": 1}),
        &["/colour invalid_definition", "/fields invalid_definition"],
    );
    check_definition(form(json!([{"key": "a", "type": "text", "max_lenght": 3}])), &["/fields/0 invalid_definition"]);
    check_definition(form(json!([{"key": "a", "type": "number", "min": "one"}])), &["/fields/0 invalid_definition"]);
    check_definition(form(json!([{"key": "a"}])), &["/fields/0/type invalid_definition"]);
    check_definition(form(json!([7])), &["/fields/0 invalid_definition"]);
    check_definition(form(json!([{"key": "s", "type": "subtable"}])), &["/fields/0/fields invalid_definition"]);
    check_definition(
        form(json!([{"key": "c", "type": "columns", "columns": [{"fields": [], "width": 13}]}])),
        &["/fields/0/columns/0/width invalid_definition"],
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let issues = definition_issues(&form(json!([
        {"key": "a", "type": "colour"},
        {"key": "B", "type": "text"},
        {"key": "n", "type": "number", "min": 5, "max": 1},
        {"key": "x", "type": "computed", "expr": "nope + 1"}
    ])));
    assert_eq!(
        issues,
        vec![
            "/fields/0/type unknown_field_type",
            "/fields/1/key malformed_key",
            "/fields/2/min min_greater_than_max",
            "/fields/3/expr unknown_reference"
        ]
    );
}

#[test]
fn keys() {
    check_definition(json!({"key": "Bad Form", "name": "T", "fields": []}), &["/key malformed_key"]);
    check_definition(form(json!([{"key": "1a", "type": "text"}])), &["/fields/0/key malformed_key"]);
    check_definition(form(json!([{"key": "lot-no", "type": "text"}])), &["/fields/0/key malformed_key"]);
    check_definition(form(json!([{"key": "a".repeat(65), "type": "text"}])), &["/fields/0/key malformed_key"]);
    check_definition(form(json!([{"key": "if", "type": "text"}])), &["/fields/0/key reserved_key"]);
    check_definition(form(json!([{"key": "parent", "type": "text"}])), &["/fields/0/key reserved_key"]);
    check_definition(
        form(
            json!([{"key": "a", "type": "text"}, {"key": "s", "type": "section", "fields": [{"key": "a", "type": "number"}]}]),
        ),
        &["/fields/1/fields/0/key duplicate_key"],
    );
    // Rows have their own namespace.
    check_definition(
        form(
            json!([{"key": "a", "type": "text"}, {"key": "s", "type": "subtable", "fields": [{"key": "a", "type": "text"}]}]),
        ),
        &[],
    );
    check_definition(
        form(json!([{"key": "r", "type": "relation", "form": "Supplier!"}])),
        &["/fields/0/form malformed_key"],
    );
}

#[test]
fn unknown_types() {
    check_definition(form(json!([{"key": "a", "type": "colour"}])), &["/fields/0/type unknown_field_type"]);
    check_definition(
        form(json!([{"key": "s", "type": "subtable", "fields": [{"key": "a", "type": "rich_text"}]}])),
        &["/fields/0/fields/0/type unknown_field_type"],
    );
}

#[test]
fn expressions() {
    check_definition(
        form(json!([{"key": "a", "type": "computed", "expr": "1 +"}])),
        &["/fields/0/expr invalid_expression"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "text", "visible_if": "b == 1"}])),
        &["/fields/0/visible_if unknown_reference"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "text", "required_if": "(("}])),
        &["/fields/0/required_if invalid_expression"],
    );
    check_definition(
        form(json!([{"key": "m", "type": "measurement", "samples": "lot_size"}])),
        &["/fields/0/samples unknown_reference"],
    );
    check_definition(
        form(
            json!([{"key": "s", "type": "subtable", "fields": [{"key": "a", "type": "computed", "expr": "parent.missing"}]}]),
        ),
        &["/fields/0/fields/0/expr unknown_reference"],
    );
    // `parent` exists only in rows.
    check_definition(
        form(json!([{"key": "a", "type": "computed", "expr": "parent.x"}])),
        &["/fields/0/expr unknown_reference"],
    );
    // No way out of the sandbox: eval is disabled, modules do not exist.
    check_definition(
        form(json!([{"key": "a", "type": "computed", "expr": "eval(\"1\")"}])),
        &["/fields/0/expr invalid_expression"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "computed", "expr": "import \"os\" as os; 1"}])),
        &["/fields/0/expr invalid_expression"],
    );
}

#[test]
fn cycles() {
    check_definition(
        form(json!([
            {"key": "a", "type": "computed", "expr": "b + 1"},
            {"key": "b", "type": "computed", "expr": "c + 1"},
            {"key": "c", "type": "computed", "expr": "a + 1"},
            {"key": "d", "type": "computed", "expr": "a"}
        ])),
        &["/fields/0 dependency_cycle"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "text", "visible_if": "a == \"x\""}])),
        &["/fields/0 dependency_cycle"],
    );
    // A row reading a parent total that sums the rows is a cycle too.
    check_definition(
        form(json!([
            {"key": "rows", "type": "subtable", "fields": [{"key": "share", "type": "computed", "expr": "parent.total"}]},
            {"key": "total", "type": "computed", "expr": "rows.len()"}
        ])),
        &["/fields/0 dependency_cycle"],
    );
    let issues = crate::support::brief(
        &engine::form::CompiledForm::compile(
            &form(
                json!([{"key": "a", "type": "computed", "expr": "b"}, {"key": "b", "type": "computed", "expr": "a"}]),
            ),
            engine::Lang::En,
        )
        .unwrap_err(),
    );
    assert_eq!(issues, vec!["/fields/0 dependency_cycle"]);
}

#[test]
fn cycle_message_names_the_fields() {
    let issues = engine::form::CompiledForm::compile(
        &form(json!([{"key": "a", "type": "computed", "expr": "b"}, {"key": "b", "type": "computed", "expr": "a"}])),
        engine::Lang::En,
    )
    .unwrap_err();
    assert_eq!(issues[0].params["cycle"], json!("a → b → a"));
}

#[test]
fn impossible_limits() {
    check_definition(
        form(json!([{"key": "a", "type": "number", "min": 10, "max": 1}])),
        &["/fields/0/min min_greater_than_max"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "text", "min_length": 10, "max_length": 1}])),
        &["/fields/0/min_length min_greater_than_max"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "multiselect", "options": [{"value": "x"}], "min_items": 2, "max_items": 1}])),
        &["/fields/0/min_items min_greater_than_max"],
    );
    check_definition(
        form(
            json!([{"key": "s", "type": "subtable", "min_rows": 3, "max_rows": 2, "fields": [{"key": "a", "type": "text"}]}]),
        ),
        &["/fields/0/min_rows min_greater_than_max"],
    );
    check_definition(
        form(json!([{"key": "m", "type": "measurement", "lsl": 2.1, "usl": 1.9}])),
        &["/fields/0/lsl lsl_greater_than_usl"],
    );
    check_definition(
        form(json!([{"key": "m", "type": "measurement", "nominal": 3, "lsl": 1.9, "usl": 2.1}])),
        &["/fields/0/nominal nominal_outside_limits"],
    );
    check_definition(
        form(json!([{"key": "m", "type": "measurement", "samples": 0}])),
        &["/fields/0/samples invalid_definition"],
    );
}

#[test]
fn options() {
    check_definition(
        form(json!([{"key": "a", "type": "select", "options": [{"label": "No value"}]}])),
        &["/fields/0/options/0 option_without_value"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "select", "options": [{"value": ""}]}])),
        &["/fields/0/options/0 option_without_value"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "multiselect", "options": [{"value": "x"}, {"value": "x"}]}])),
        &["/fields/0/options/1/value duplicate_option_value"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "select", "options": []}])),
        &["/fields/0/options empty_container"],
    );
}

#[test]
fn patterns_and_defaults() {
    check_definition(
        form(json!([{"key": "a", "type": "text", "pattern": "[a-"}])),
        &["/fields/0/pattern invalid_pattern"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "lot", "pattern": "(x"}])),
        &["/fields/0/pattern invalid_pattern"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "auto_number", "pattern": "NCR-{yyyy}"}])),
        &["/fields/0/pattern invalid_pattern"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "auto_number", "pattern": "NCR-{week}-{seq}"}])),
        &["/fields/0/pattern invalid_pattern"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "number", "max": 5, "default": 9}])),
        &["/fields/0/default invalid_default"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "select", "options": [{"value": "x"}], "default": "y"}])),
        &["/fields/0/default invalid_default"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "date", "default": "tomorrow"}])),
        &["/fields/0/default invalid_default"],
    );
    // Processing leaves judgements to the engine; a default must still hold valid ones.
    check_definition(
        form(json!([{"key": "a", "type": "measurement", "default": {"values": [1], "judgements": 7}}])),
        &["/fields/0/default invalid_default"],
    );
}

#[test]
fn placement() {
    let nested = json!({"key": "inner", "type": "subtable", "fields": [{"key": "x", "type": "text"}]});
    check_definition(
        form(json!([{"key": "s", "type": "subtable", "fields": [nested]}])),
        &["/fields/0/fields/0 not_allowed_here"],
    );
    check_definition(
        form(
            json!([{"key": "s", "type": "subtable", "fields": [{"key": "no", "type": "auto_number", "pattern": "{seq}"}]}]),
        ),
        &["/fields/0/fields/0 not_allowed_here"],
    );
    check_definition(
        form(json!([{"key": "s", "type": "subtable", "fields": []}])),
        &["/fields/0/fields empty_container"],
    );
    check_definition(
        form(json!([{"key": "c", "type": "columns", "columns": []}])),
        &["/fields/0/columns empty_container"],
    );
    check_definition(
        form(json!([{"key": "c", "type": "computed", "expr": "1", "required": true}])),
        &["/fields/0/required not_applicable"],
    );
    check_definition(
        form(json!([{"key": "s", "type": "section", "fields": [], "default": 1}])),
        &["/fields/0/default not_applicable"],
    );
    check_definition(
        form(json!([{"key": "a", "type": "attachment", "unique": true}])),
        &["/fields/0/unique not_applicable"],
    );
}

#[test]
fn definitions_round_trip_through_serde() {
    let definition = crate::support::example("forms/iqc.json");
    let parsed = engine::form::parse_definition(&definition).expect("parses");
    let written = serde_json::to_value(&parsed).unwrap();
    let reparsed = engine::form::parse_definition(&written).expect("re-parses");
    assert_eq!(parsed, reparsed);
}
