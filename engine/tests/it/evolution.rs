//! Schema evolution: classify changes, find stored values the new version would reject.

use engine::form::{ChangeKind, Compatibility, compare, parse_definition};
use serde_json::{Value, json};

use crate::support::{compile, ctx};

fn v1() -> Value {
    json!({"key": "t", "name": "T", "fields": [
        {"key": "lot", "type": "lot"},
        {"key": "qty", "type": "number", "integer": true, "min": 0, "max": 1000},
        {"key": "grade", "type": "select", "options": [{"value": "a"}, {"value": "b"}, {"value": "c"}]},
        {"key": "note", "type": "text"},
        {"key": "m", "type": "measurement", "lsl": 1, "usl": 2}
    ]})
}

fn kinds(report: &engine::form::EvolutionReport) -> Vec<(String, ChangeKind, Compatibility)> {
    report.changes.iter().map(|c| (c.path.clone(), c.kind, c.compatibility)).collect()
}

#[test]
fn relabelling_and_relaxing_are_compatible() {
    let mut v2 = v1();
    v2["fields"][1]["max"] = json!(5000);
    v2["fields"][1]["label"] = json!({"en": "Quantity", "zh-CN": "数量"});
    v2["fields"][2]["options"].as_array_mut().unwrap().push(json!({"value": "d"}));
    v2["fields"].as_array_mut().unwrap().push(json!({"key": "extra", "type": "text"}));
    let old = parse_definition(&v1()).unwrap();
    let report = compare(&old, &compile(&v2), [("r1", &json!({"qty": 900, "grade": "a"}))], &ctx());
    assert_eq!(report.compatibility, Compatibility::Compatible, "{report:#?}");
    assert_eq!(
        kinds(&report),
        vec![
            ("/qty".into(), ChangeKind::PresentationChanged, Compatibility::Compatible),
            ("/qty".into(), ChangeKind::ConstraintRelaxed, Compatibility::Compatible),
            ("/grade".into(), ChangeKind::OptionAdded, Compatibility::Compatible),
            ("/extra".into(), ChangeKind::FieldAdded, Compatibility::Compatible),
        ]
    );
    assert!(report.stored_values.is_empty());
}

#[test]
fn tightening_lists_the_stored_values_that_no_longer_validate() {
    let mut v2 = v1();
    v2["fields"][1]["max"] = json!(100);
    v2["fields"][2]["options"] = json!([{"value": "a"}, {"value": "b"}]);
    v2["fields"][3] = json!({"key": "note", "type": "number"});
    v2["fields"][4]["usl"] = json!(1.5);
    v2["fields"].as_array_mut().unwrap().remove(0);
    v2["fields"].as_array_mut().unwrap().push(json!({"key": "owner", "type": "user", "required": true}));
    let old = parse_definition(&v1()).unwrap();
    let stored =
        [json!({"lot": "L1", "qty": 50, "grade": "a"}), json!({"lot": "L2", "qty": 500, "grade": "c", "note": "bent"})];
    let report = compare(&old, &compile(&v2), [("r1", &stored[0]), ("r2", &stored[1])], &ctx());
    assert_eq!(report.compatibility, Compatibility::NeedsAttention);
    assert_eq!(
        kinds(&report),
        vec![
            ("/lot".into(), ChangeKind::FieldRemoved, Compatibility::NeedsAttention),
            ("/qty".into(), ChangeKind::ConstraintTightened, Compatibility::NeedsAttention),
            ("/grade".into(), ChangeKind::OptionRemoved, Compatibility::NeedsAttention),
            ("/note".into(), ChangeKind::TypeChanged, Compatibility::NeedsAttention),
            ("/m".into(), ChangeKind::LimitsChanged, Compatibility::NeedsAttention),
            ("/owner".into(), ChangeKind::FieldAdded, Compatibility::NeedsAttention),
        ]
    );
    let mut problems: Vec<(String, String, &str)> =
        report.stored_values.iter().map(|p| (p.record.clone(), p.issue.path.clone(), p.issue.code.as_str())).collect();
    problems.sort();
    assert_eq!(
        problems,
        vec![
            ("r1".into(), "/lot".into(), "unknown_field"),
            ("r1".into(), "/owner".into(), "required"),
            ("r2".into(), "/grade".into(), "invalid_option"),
            ("r2".into(), "/lot".into(), "unknown_field"),
            ("r2".into(), "/note".into(), "wrong_type"),
            ("r2".into(), "/owner".into(), "required"),
            ("r2".into(), "/qty".into(), "above_max"),
        ]
    );
    // The report is wire-ready.
    let wire = serde_json::to_value(&report).unwrap();
    assert_eq!(wire["compatibility"], json!("needs_attention"));
    let above_max = wire["stored_values"].as_array().unwrap().iter().find(|p| p["code"] == "above_max").unwrap();
    assert_eq!(above_max["message"], json!("Must be at most 100."));
}

#[test]
fn subtable_columns_are_compared_too() {
    let old = json!({"key": "t", "name": "T", "fields": [
        {"key": "rows", "type": "subtable", "fields": [{"key": "a", "type": "text", "max_length": 10}]}
    ]});
    let mut new = old.clone();
    new["fields"][0]["fields"][0]["max_length"] = json!(3);
    let report =
        compare(&parse_definition(&old).unwrap(), &compile(&new), [("r", &json!({"rows": [{"a": "abcdef"}]}))], &ctx());
    assert_eq!(
        kinds(&report),
        vec![("/rows/a".into(), ChangeKind::ConstraintTightened, Compatibility::NeedsAttention)]
    );
    assert_eq!(report.stored_values[0].issue.path, "/rows/0/a");
}

#[test]
fn text_to_textarea_is_compatible_but_other_type_changes_are_not() {
    let old = json!({"key": "t", "name": "T", "fields": [{"key": "a", "type": "text"}, {"key": "b", "type": "text"}]});
    let new =
        json!({"key": "t", "name": "T", "fields": [{"key": "a", "type": "textarea"}, {"key": "b", "type": "date"}]});
    let report = compare(&parse_definition(&old).unwrap(), &compile(&new), [], &ctx());
    assert_eq!(
        kinds(&report),
        vec![
            ("/a".into(), ChangeKind::TypeChanged, Compatibility::Compatible),
            ("/b".into(), ChangeKind::TypeChanged, Compatibility::NeedsAttention),
        ]
    );
}
