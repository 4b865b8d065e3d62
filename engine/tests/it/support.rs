//! Helpers shared by the engine tests: compile a definition, run a record, compare issues.

use std::collections::BTreeMap;

use engine::Lang;
use engine::form::{CompiledForm, Date, Issue, RecordContext};
use serde_json::{Value, json};

/// A one-field form around `field`, keyed `f`.
pub fn one_field(field: Value) -> Value {
    let mut field = field;
    field["key"] = json!("f");
    json!({"key": "t", "name": "Test", "fields": [field]})
}

pub fn compile(definition: &Value) -> CompiledForm {
    match CompiledForm::compile(definition, Lang::En) {
        Ok(form) => form,
        Err(issues) => panic!("definition does not compile: {}", brief(&issues).join(", ")),
    }
}

pub fn ctx() -> RecordContext<'static> {
    RecordContext {
        lang: Lang::En,
        previous: None,
        today: Some(Date { year: 2026, month: 11, day: 21 }),
        sequences: BTreeMap::new(),
        system: false,
    }
}

/// Issues as `path code`, the compact form tests compare.
pub fn brief(issues: &[Issue]) -> Vec<String> {
    issues.iter().map(|i| format!("{} {}", i.path, serde_json::to_value(i.code).unwrap().as_str().unwrap())).collect()
}

/// Runs `record` through `definition` and compares the issues (as `path code`, any order).
pub fn check(definition: &Value, record: Value, expected: &[&str]) {
    let form = compile(definition);
    let outcome = form.process(&record, &ctx());
    let mut got = brief(&outcome.issues);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "record {record}\nprocessed {}\nissues {:#?}", outcome.record, outcome.issues);
}

/// Runs a valid `record` and returns the processed record.
pub fn process_ok(definition: &Value, record: Value) -> Value {
    let form = compile(definition);
    let outcome = form.process(&record, &ctx());
    assert!(outcome.issues.is_empty(), "unexpected issues for {record}: {:#?}", outcome.issues);
    outcome.record
}

/// Compiles a definition that must fail, returning its issues as `path code`.
pub fn definition_issues(definition: &Value) -> Vec<String> {
    match CompiledForm::compile(definition, Lang::En) {
        Ok(_) => Vec::new(),
        Err(issues) => brief(&issues),
    }
}

/// Checks that a definition fails with exactly these issues (any order).
pub fn check_definition(definition: Value, expected: &[&str]) {
    let mut got = definition_issues(&definition);
    got.sort();
    let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "definition {definition}");
}

pub fn example(path: &str) -> Value {
    let full = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/");
    let text = std::fs::read_to_string(format!("{full}{path}")).expect("example file");
    serde_json::from_str(&text).expect("example JSON")
}
