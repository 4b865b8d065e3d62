//! Conditions and computed values: dependency order, hidden fields, conditional requirements.

use serde_json::json;

use crate::support::{check, process_ok};

#[test]
fn computed_fields_run_in_dependency_order_not_definition_order() {
    // c needs b, b needs a; defined backwards.
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "c", "type": "computed", "expr": "b + 1"},
        {"key": "b", "type": "computed", "expr": "a * 2"},
        {"key": "a", "type": "number", "integer": true}
    ]});
    assert_eq!(process_ok(&def, json!({"a": 5})), json!({"a": 5, "b": 10, "c": 11}));
    // What the client sends for computed fields is overwritten.
    assert_eq!(process_ok(&def, json!({"a": 1, "b": 100, "c": 100})), json!({"a": 1, "b": 2, "c": 3}));
}

#[test]
fn computed_values_of_every_json_kind() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "a", "type": "number"},
        {"key": "text", "type": "computed", "expr": "`a=${a}`"},
        {"key": "flag", "type": "computed", "expr": "a > 1"},
        {"key": "ratio", "type": "computed", "expr": "a / 4.0"},
        {"key": "list", "type": "computed", "expr": "[a, a + 1]"},
        {"key": "plan", "type": "computed", "expr": "#{ n: 5, ac: 0 }"},
        {"key": "nothing", "type": "computed", "expr": "()"}
    ]});
    let record = process_ok(&def, json!({"a": 2}));
    assert_eq!(
        record,
        json!({"a": 2, "text": "a=2", "flag": true, "ratio": 0.5, "list": [2, 3], "plan": {"n": 5, "ac": 0}})
    );
}

#[test]
fn hidden_fields_are_never_required_and_their_values_are_dropped() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "result", "type": "select", "required": true, "options": [{"value": "accept"}, {"value": "reject"}]},
        {"key": "reason", "type": "text", "required": true, "visible_if": "result == \"reject\""},
        {"key": "grp", "type": "section", "visible_if": "result == \"reject\"", "fields": [
            {"key": "owner", "type": "user", "required": true}
        ]}
    ]});
    assert_eq!(
        process_ok(&def, json!({"result": "accept", "reason": "typo", "owner": "u1"})),
        json!({"result": "accept"})
    );
    check(&def, json!({"result": "reject"}), &["/reason required", "/owner required"]);
    check(&def, json!({"result": "reject", "reason": "bent", "owner": "u1"}), &[]);
}

#[test]
fn required_if_follows_the_record() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "defects", "type": "number", "integer": true, "min": 0},
        {"key": "codes", "type": "multiselect", "required_if": "defects > 0", "options": [{"value": "a"}]},
        {"key": "result", "type": "computed", "expr": "if defects > 0 { \"reject\" } else { \"accept\" }"},
        {"key": "note", "type": "textarea", "required_if": "result == \"reject\""}
    ]});
    check(&def, json!({"defects": 0}), &[]);
    check(&def, json!({"defects": 2}), &["/codes required", "/note required"]);
    // Blank text is no answer.
    check(&def, json!({"defects": 2, "codes": [], "note": "  "}), &["/codes required", "/note required"]);
    check(&def, json!({"defects": 2, "codes": ["a"], "note": "scratches"}), &[]);
}

#[test]
fn a_wrong_input_is_reported_once_not_again_by_the_rules_that_read_it() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "n", "type": "number", "required": true},
        {"key": "double", "type": "computed", "expr": "n * 2"},
        {"key": "note", "type": "text", "visible_if": "n > 3"}
    ]});
    check(&def, json!({"n": "seven"}), &["/n wrong_type"]);
    check(&def, json!({}), &["/n required"]);
}

#[test]
fn a_failing_rule_is_reported_with_its_name() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "n", "type": "number"},
        {"key": "bad", "type": "computed", "expr": "n.len()"},
        {"key": "shown", "type": "text", "visible_if": "n"}
    ]});
    let form = crate::support::compile(&def);
    let outcome = form.process(&json!({"n": 1, "shown": "kept"}), &crate::support::ctx());
    let issues = crate::support::brief(&outcome.issues);
    assert_eq!(issues, vec!["/bad rule_failed", "/shown rule_failed"]);
    assert_eq!(outcome.issues[0].params["rule"], json!("t.bad.expr"));
    assert_eq!(outcome.issues[1].params["rule"], json!("t.shown.visible_if"));
    assert!(outcome.issues[1].message.contains("bool"), "{}", outcome.issues[1].message);
    // A condition that fails keeps the field rather than dropping data.
    assert_eq!(outcome.record["shown"], json!("kept"));
}

#[test]
fn row_rules_see_their_row_and_the_parent() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "mode", "type": "select", "options": [{"value": "full"}, {"value": "quick"}]},
        {"key": "rows", "type": "subtable", "fields": [
            {"key": "kind", "type": "select", "options": [{"value": "visual"}, {"value": "gauge"}]},
            {"key": "reading", "type": "number", "visible_if": "kind == \"gauge\"", "required_if": "parent.mode == \"full\""}
        ]}
    ]});
    check(
        &def,
        json!({"mode": "full", "rows": [{"kind": "gauge"}, {"kind": "visual", "reading": 3}]}),
        &["/rows/0/reading required"],
    );
    let record =
        process_ok(&def, json!({"mode": "quick", "rows": [{"kind": "gauge"}, {"kind": "visual", "reading": 3}]}));
    assert_eq!(record["rows"], json!([{"kind": "gauge"}, {"kind": "visual"}]));
}

#[test]
fn the_iqc_example_accepts_and_rejects() {
    let def = crate::support::example("forms/iqc.json");
    let form = crate::support::compile(&def);
    let mut ctx = crate::support::ctx();
    ctx.sequences.insert("inspection_no".into(), 12);
    let accepted = form.process(&crate::support::example("records/iqc-accept.json"), &ctx);
    assert!(accepted.issues.is_empty(), "{:#?}", accepted.issues);
    assert_eq!(accepted.record["result"], json!("accept"));
    assert_eq!(accepted.record["inspection_no"], json!("IQC-202611-0012"));
    assert_eq!(accepted.record["lot_no"], json!("L-20261121-01"));
    assert_eq!(accepted.record["inspection_level"], json!("II"));

    let rejected = form.process(&crate::support::example("records/iqc-invalid.json"), &ctx);
    let mut issues = crate::support::brief(&rejected.issues);
    issues.sort();
    assert_eq!(
        issues,
        vec![
            "/aql invalid_option",
            "/colour unknown_field",
            "/defect_codes required",
            "/disposition required",
            "/items/2/characteristic duplicate_value",
            "/lot_size below_min",
            "/note required",
            "/photos/0 file_type_not_accepted",
            "/received_on invalid_date",
        ]
    );
    // One characteristic out of tolerance turns the lot into a reject.
    assert_eq!(rejected.record["items"][1]["item_result"], json!("ng"));
    assert_eq!(rejected.record["result"], json!("reject"));
}

#[test]
fn the_outcome_says_which_fields_are_hidden_and_which_became_required() {
    // A form filler shows and marks fields from these lists, row fields included.
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "defects", "type": "number", "integer": true},
        {"key": "codes", "type": "text", "visible_if": "defects > 0", "required_if": "defects > 2"},
        {"key": "items", "type": "subtable", "fields": [
            {"key": "method", "type": "text"},
            {"key": "reading", "type": "number", "visible_if": "method != \"visual\""}
        ]}
    ]});
    let form = engine::form::CompiledForm::compile(&def, engine::Lang::En).unwrap();
    let check = |record: serde_json::Value, hidden: &[&str], required: &[&str]| {
        let outcome = form.process(&record, &engine::form::RecordContext::default());
        assert_eq!(outcome.hidden, hidden, "{record}");
        assert_eq!(outcome.required_now, required, "{record}");
    };
    check(json!({"defects": 0}), &["/codes"], &[]);
    check(json!({"defects": 1}), &[], &[]);
    check(json!({"defects": 3, "codes": "x"}), &[], &["/codes"]);
    check(
        json!({"defects": 0, "items": [{"method": "visual"}, {"method": "caliper", "reading": 1}]}),
        &["/codes", "/items/0/reading"],
        &[],
    );
}

#[test]
fn rows_never_see_hidden_parent_fields_and_the_record_keeps_the_order_sent() {
    // `"note" in parent` reads the whole parent record (through rhai, not the fast path).
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "a", "type": "number", "integer": true},
        {"key": "note", "type": "text", "visible_if": "a > 1"},
        {"key": "b", "type": "text"},
        {"key": "total", "type": "computed", "expr": "a * 2"},
        {"key": "empty", "type": "computed", "expr": "()"},
        {"key": "rows", "type": "subtable", "fields": [
            {"key": "x", "type": "number"},
            {"key": "seen", "type": "computed", "expr": "if \"note\" in parent { \"yes\" } else { \"no\" }"},
            {"key": "gone", "type": "computed", "expr": "if \"empty\" in parent { 1 } else { () }"}
        ]}
    ]});
    let submitted = json!({"b": "x", "note": "n", "a": 1, "rows": [{"x": 1}], "empty": 5});
    let record = process_ok(&def, submitted.clone());
    // Hidden and valueless fields leave no gap and no trace; new values come after those sent.
    assert_eq!(record.to_string(), r#"{"b":"x","a":1,"rows":[{"x":1,"seen":"no"}],"total":2}"#);
    let mut shown = submitted;
    shown["a"] = json!(2);
    assert_eq!(process_ok(&def, shown)["rows"], json!([{"x": 1, "seen": "yes"}]));
}

#[test]
fn a_row_rule_reading_only_the_parent_answers_every_row() {
    // Such a rule runs once per subtable; its answer, or its failure, still reaches each row.
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "t", "type": "text"},
        {"key": "n", "type": "number", "integer": true},
        {"key": "rows", "type": "subtable", "fields": [
            {"key": "x", "type": "number"},
            {"key": "double", "type": "computed", "expr": "parent.n * 2"},
            {"key": "broken", "type": "computed", "expr": "parent.t * 2"},
            {"key": "note", "type": "text", "visible_if": "parent.n > 1"}
        ]}
    ]});
    check(
        &def,
        json!({"t": "a", "n": 2, "rows": [{"x": 1}, {"x": 2}]}),
        &["/rows/0/broken rule_failed", "/rows/1/broken rule_failed"],
    );
    let form = crate::support::compile(&def);
    let outcome =
        form.process(&json!({"n": 1, "rows": [{"x": 1, "note": "a"}, {"note": "b"}]}), &crate::support::ctx());
    assert_eq!(outcome.record["rows"], json!([{"x": 1, "double": 2}, {"double": 2}]));
    assert_eq!(outcome.hidden, vec!["/rows/0/note", "/rows/1/note"]);
}
