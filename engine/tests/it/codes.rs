//! Every error code is produced by some input, and reads well in both languages.

use std::collections::BTreeSet;

use engine::Lang;
use engine::form::{Code, CompiledForm, Issue, RecordContext};
use serde_json::{Value, json};

use crate::support::{ctx, one_field};

/// (definition, record) pairs; each must produce the listed code. A `None` record means the
/// definition itself must fail with that code.
fn cases() -> Vec<(Code, Value, Option<Value>)> {
    let f = one_field;
    let file = |size: u64, ct: &str| json!({"id": "a", "name": "a.bin", "size": size, "content_type": ct});
    vec![
        (Code::NotAnObject, f(json!({"type": "text"})), Some(json!(1))),
        (Code::UnknownField, f(json!({"type": "text"})), Some(json!({"zz": 1}))),
        (Code::Required, f(json!({"type": "text", "required": true})), Some(json!({}))),
        (Code::WrongType, f(json!({"type": "boolean"})), Some(json!({"f": 1}))),
        (Code::NotInteger, f(json!({"type": "number", "integer": true})), Some(json!({"f": 1.5}))),
        (Code::BelowMin, f(json!({"type": "number", "min": 0})), Some(json!({"f": -1}))),
        (Code::AboveMax, f(json!({"type": "number", "max": 0})), Some(json!({"f": 1}))),
        (Code::TooManyDecimals, f(json!({"type": "number", "precision": 1})), Some(json!({"f": 1.25}))),
        (Code::TooShort, f(json!({"type": "text", "min_length": 3})), Some(json!({"f": "ab"}))),
        (Code::TooLong, f(json!({"type": "text", "max_length": 1})), Some(json!({"f": "ab"}))),
        (Code::PatternMismatch, f(json!({"type": "text", "pattern": "[0-9]+"})), Some(json!({"f": "ab"}))),
        (Code::InvalidOption, f(json!({"type": "select", "options": [{"value": "a"}]})), Some(json!({"f": "b"}))),
        (
            Code::DuplicateOption,
            f(json!({"type": "multiselect", "options": [{"value": "a"}]})),
            Some(json!({"f": ["a", "a"]})),
        ),
        (
            Code::TooFewItems,
            f(json!({"type": "multiselect", "options": [{"value": "a"}], "min_items": 1})),
            Some(json!({"f": []})),
        ),
        (
            Code::TooManyItems,
            f(json!({"type": "multiselect", "options": [{"value": "a"}, {"value": "b"}], "max_items": 1})),
            Some(json!({"f": ["a", "b"]})),
        ),
        (Code::InvalidDate, f(json!({"type": "date"})), Some(json!({"f": "2026-13-01"}))),
        (Code::InvalidDatetime, f(json!({"type": "datetime"})), Some(json!({"f": "noon"}))),
        (
            Code::TooFewRows,
            f(json!({"type": "subtable", "min_rows": 2, "fields": [{"key": "a", "type": "text"}]})),
            Some(json!({"f": [{}]})),
        ),
        (
            Code::TooManyRows,
            f(json!({"type": "subtable", "max_rows": 1, "fields": [{"key": "a", "type": "text"}]})),
            Some(json!({"f": [{}, {}]})),
        ),
        (
            Code::DuplicateValue,
            f(json!({"type": "subtable", "fields": [{"key": "a", "type": "text", "unique": true}]})),
            Some(json!({"f": [{"a": "x"}, {"a": "x"}]})),
        ),
        (
            Code::TooManyFiles,
            f(json!({"type": "attachment", "max_files": 1})),
            Some(json!({"f": [file(1, "a/b"), file(1, "a/b")]})),
        ),
        (Code::FileTooLarge, f(json!({"type": "attachment", "max_size": 1})), Some(json!({"f": [file(2, "a/b")]}))),
        (
            Code::FileTypeNotAccepted,
            f(json!({"type": "attachment", "accept": ["image/*"]})),
            Some(json!({"f": [file(1, "text/plain")]})),
        ),
        (Code::WrongSampleCount, f(json!({"type": "measurement", "samples": 2})), Some(json!({"f": [1]}))),
        (Code::RuleFailed, f(json!({"type": "text", "visible_if": "1"})), Some(json!({"f": "x"}))),
        (Code::InvalidValue, f(json!({"type": "attachment"})), Some(json!({"f": [7]}))),
        (Code::InvalidDefinition, json!({"key": "t"}), None),
        (Code::UnknownFieldType, f(json!({"type": "colour"})), None),
        (
            Code::DuplicateKey,
            json!({"key": "t", "name": "T", "fields": [{"key": "a", "type": "text"}, {"key": "a", "type": "text"}]}),
            None,
        ),
        (Code::MalformedKey, json!({"key": "t", "name": "T", "fields": [{"key": "A", "type": "text"}]}), None),
        (Code::ReservedKey, json!({"key": "t", "name": "T", "fields": [{"key": "let", "type": "text"}]}), None),
        (Code::InvalidExpression, f(json!({"type": "computed", "expr": "1 +"})), None),
        (Code::UnknownReference, f(json!({"type": "computed", "expr": "g"})), None),
        (Code::DependencyCycle, f(json!({"type": "computed", "expr": "f"})), None),
        (Code::MinGreaterThanMax, f(json!({"type": "number", "min": 1, "max": 0})), None),
        (Code::LslGreaterThanUsl, f(json!({"type": "measurement", "lsl": 1, "usl": 0})), None),
        (Code::NominalOutsideLimits, f(json!({"type": "measurement", "nominal": 5, "usl": 1})), None),
        (Code::OptionWithoutValue, f(json!({"type": "select", "options": [{}]})), None),
        (Code::DuplicateOptionValue, f(json!({"type": "select", "options": [{"value": "a"}, {"value": "a"}]})), None),
        (Code::InvalidPattern, f(json!({"type": "text", "pattern": "("})), None),
        (Code::InvalidDefault, f(json!({"type": "boolean", "default": "yes"})), None),
        (
            Code::NotAllowedHere,
            f(json!({"type": "subtable", "fields": [{"key": "s", "type": "section", "fields": []}]})),
            None,
        ),
        (Code::NotApplicable, f(json!({"type": "auto_number", "pattern": "{seq}", "default": "1"})), None),
        (Code::EmptyContainer, f(json!({"type": "subtable", "fields": []})), None),
        (
            Code::TopLevelOnly,
            f(json!({"type": "subtable", "fields": [{"key": "a", "type": "text", "access": {"read": ["qe"]}}]})),
            None,
        ),
        // The server's checks: a record whose `f` the caller may not edit, or whose unique `f`
        // another record holds (see `server_issues`).
        (Code::NotEditable, f(json!({"type": "text", "access": {"edit": ["qe"]}})), Some(json!({"f": "x"}))),
        (Code::NotUnique, f(json!({"type": "text", "unique": true})), Some(json!({"f": "x"}))),
    ]
}

/// What the server adds for a caller with the role `member` when another record holds `"x"`.
fn server_issues(form: &CompiledForm, record: &Value) -> Vec<Issue> {
    let Some(object) = record.as_object() else { return Vec::new() };
    let mut issues = form.field_mask(&["member".to_owned()], false).edit_issues(object, None);
    for key in form.unique_fields() {
        if record.get(key) == Some(&json!("x")) {
            issues.push(engine::form::not_unique(key, &record[key]));
        }
    }
    issues
}

fn issues_of(definition: &Value, record: Option<&Value>, lang: Lang) -> Vec<Issue> {
    match (CompiledForm::compile(definition, lang), record) {
        (Ok(form), Some(record)) => {
            let mut issues = form.process(record, &RecordContext { lang, ..ctx() }).issues;
            let mut more = server_issues(&form, record);
            engine::form::localize(&mut more, lang);
            issues.extend(more);
            issues
        }
        (Ok(_), None) => Vec::new(),
        (Err(issues), _) => issues,
    }
}

#[test]
fn every_code_is_produced_by_some_input() {
    let mut covered = BTreeSet::new();
    for (code, definition, record) in cases() {
        let issues = issues_of(&definition, record.as_ref(), Lang::En);
        assert!(
            issues.iter().any(|issue| issue.code == code),
            "{code:?} not produced by {definition} / {record:?}: {issues:#?}"
        );
        covered.insert(code.as_str());
    }
    // Workflow codes are covered by `workflow::definitions::every_workflow_code_is_produced`.
    let all: BTreeSet<&str> = Code::all().filter(|c| !c.for_workflows()).map(Code::as_str).collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "codes without a test case: {missing:?}");
}

#[test]
fn code_names_match_their_serde_names() {
    for code in Code::all() {
        assert_eq!(serde_json::to_value(code).unwrap(), json!(code.as_str()));
    }
}

#[test]
fn messages_exist_in_both_languages() {
    for (code, definition, record) in cases() {
        let en = issues_of(&definition, record.as_ref(), Lang::En);
        let zh = issues_of(&definition, record.as_ref(), Lang::ZhCn);
        let en = en.iter().find(|i| i.code == code).expect("english issue");
        let zh = zh.iter().find(|i| i.code == code).expect("chinese issue");
        assert_eq!((&en.path, &en.params), (&zh.path, &zh.params), "{code:?}: language changes only the message");
        for message in [&en.message, &zh.message] {
            assert!(!message.is_empty() && !message.contains('{'), "{code:?}: bad message {message:?}");
        }
        assert_ne!(en.message, zh.message, "{code:?}");
        assert!(zh.message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{code:?}: {}", zh.message);
    }
}

#[test]
fn messages_carry_their_parameters() {
    let form = crate::support::compile(&one_field(json!({"type": "number", "max": 10})));
    let outcome = form.process(&json!({"f": 11}), &RecordContext { lang: Lang::ZhCn, ..ctx() });
    assert_eq!(outcome.issues[0].message, "不能大于 10。");
    assert_eq!(outcome.issues[0].params["max"], json!(10));
    let outcome = form.process(&json!({"f": 11}), &ctx());
    assert_eq!(outcome.issues[0].message, "Must be at most 10.");
    let wire = serde_json::to_value(&outcome.issues[0]).unwrap();
    assert_eq!(
        wire,
        json!({"path": "/f", "code": "above_max", "params": {"max": 10}, "message": "Must be at most 10."})
    );
}

#[test]
fn languages_from_tags_and_headers() {
    let check = |input: &str, expected: Lang| assert_eq!(Lang::from_accept_language(input), expected, "{input}");
    check("zh-CN,zh;q=0.9,en;q=0.8", Lang::ZhCn);
    check("zh-Hans", Lang::ZhCn);
    check("zh", Lang::ZhCn);
    check("en-US,en;q=0.9", Lang::En);
    check("fr-FR", Lang::En);
    check("", Lang::En);
    check("*", Lang::En);
    assert_eq!(Lang::from_tag("zh_cn"), Lang::ZhCn);
    assert_eq!(Lang::ZhCn.tag(), "zh-CN");
}
