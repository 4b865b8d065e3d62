//! Packs: the three-way merge, the install/upgrade plan and the shipped-pack check.

use engine::pack::{Change, Contents, Kind, Pack, Version, check, merge, plan_upgrade, set_at};
use serde_json::{Value, json};

fn form(fields: Value) -> Value {
    json!({"key": "iqc", "name": {"en": "IQC", "zh-CN": "来料检验"}, "fields": fields})
}

fn text(key: &str, en: &str, zh: &str) -> Value {
    json!({"key": key, "type": "text", "label": {"en": en, "zh-CN": zh}})
}

/// Merges and returns the result with the conflicts' paths.
fn check_merge(base: Value, ours: Value, theirs: Value) -> (Value, Vec<String>) {
    let (merged, conflicts) = merge(Some(&base), Some(&ours), Some(&theirs));
    (merged.unwrap(), conflicts.into_iter().map(|c| c.path).collect())
}

#[test]
fn one_sided_changes_are_taken_and_the_same_change_once() {
    let base = json!({"a": 1, "b": 2, "c": 3});
    assert_eq!(
        check_merge(base.clone(), json!({"a": 9, "b": 2, "c": 3}), json!({"a": 1, "b": 8, "c": 3})),
        (json!({"a": 9, "b": 8, "c": 3}), vec![])
    );
    assert_eq!(
        check_merge(base.clone(), json!({"a": 7, "b": 2, "c": 3}), json!({"a": 7, "b": 2, "c": 3})),
        (json!({"a": 7, "b": 2, "c": 3}), vec![])
    );
    // A key deleted on one side and untouched on the other is deleted; added keys are kept.
    assert_eq!(
        check_merge(base.clone(), json!({"a": 1, "b": 2}), json!({"a": 1, "b": 2, "c": 3, "d": 4})),
        (json!({"a": 1, "b": 2, "d": 4}), vec![])
    );
}

#[test]
fn different_changes_to_one_place_conflict_and_the_factory_value_stays() {
    let base = json!({"a": 1, "b": {"x": 1}});
    let (merged, conflicts) =
        merge(Some(&base), Some(&json!({"a": 2, "b": {"x": 1}})), Some(&json!({"a": 3, "b": {"x": 1}})));
    assert_eq!(merged.unwrap(), json!({"a": 2, "b": {"x": 1}}));
    assert_eq!(conflicts.len(), 1);
    assert_eq!(
        (conflicts[0].path.as_str(), conflicts[0].base.clone(), conflicts[0].ours.clone(), conflicts[0].theirs.clone()),
        ("/a", Some(json!(1)), Some(json!(2)), Some(json!(3)))
    );
    // Deleted by the factory, changed by the pack: a conflict, still deleted.
    let (merged, paths) = check_merge(json!({"a": 1, "b": 1}), json!({"b": 1}), json!({"a": 5, "b": 1}));
    assert_eq!((merged, paths), (json!({"b": 1}), vec!["/a".to_owned()]));
}

#[test]
fn identified_lists_merge_item_by_item() {
    let base = form(json!([text("supplier", "Supplier", "供应商"), text("lot", "Lot", "批次")]));
    // The factory relabels `lot` and adds its own field; the pack adds `part` and a max length
    // to `supplier`.
    let ours = form(json!([
        text("supplier", "Supplier", "供应商"),
        text("lot", "Lot no.", "批号"),
        text("line", "Line", "产线")
    ]));
    let mut supplier = text("supplier", "Supplier", "供应商");
    supplier["max_length"] = json!(64);
    let theirs = form(json!([supplier, text("part", "Part", "物料"), text("lot", "Lot", "批次")]));
    let (merged, conflicts) = check_merge(base, ours, theirs);
    assert!(conflicts.is_empty(), "{conflicts:?}");
    let keys: Vec<&str> = merged["fields"].as_array().unwrap().iter().map(|f| f["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["supplier", "part", "lot", "line"], "the pack's order, the factory's own after");
    assert_eq!(merged["fields"][0]["max_length"], json!(64));
    assert_eq!(merged["fields"][2]["label"]["zh-CN"], json!("批号"));
    // Both relabel the same field differently: the conflict names the field by key.
    let (_, conflicts) = check_merge(
        form(json!([text("lot", "Lot", "批次")])),
        form(json!([text("lot", "Lot no.", "批次")])),
        form(json!([text("lot", "Batch", "批次")])),
    );
    assert_eq!(conflicts, ["/fields/lot/label/en"]);
}

#[test]
fn resolving_a_conflict_with_the_packs_value() {
    let mut merged = form(json!([text("lot", "Lot no.", "批次")]));
    assert!(set_at(&mut merged, "/fields/lot/label/en", Some(json!("Batch"))));
    assert_eq!(merged["fields"][0]["label"]["en"], json!("Batch"));
    assert!(set_at(&mut merged, "/fields/lot", None));
    assert_eq!(merged["fields"], json!([]));
    assert!(!set_at(&mut merged, "/nope/deeper", Some(json!(1))));
}

fn contents(items: &[(Kind, &str, Value)]) -> Contents {
    items.iter().map(|(k, key, v)| ((*k, key.to_string()), v.clone())).collect()
}

#[test]
fn the_upgrade_plan_says_what_happens_to_each_object() {
    let v1 = contents(&[
        (Kind::Form, "iqc", json!({"key": "iqc", "a": 1})),
        (Kind::Form, "old", json!({"key": "old"})),
        (Kind::Form, "kept", json!({"key": "kept", "x": 1})),
        (Kind::Dashboard, "gone", json!({"key": "gone"})),
    ]);
    let current = contents(&[
        (Kind::Form, "iqc", json!({"key": "iqc", "a": 1, "local": true})),
        (Kind::Form, "old", json!({"key": "old"})),
        (Kind::Form, "kept", json!({"key": "kept", "x": 2})),
    ]);
    let v2 = contents(&[
        (Kind::Form, "iqc", json!({"key": "iqc", "a": 2})),
        (Kind::Form, "kept", json!({"key": "kept", "x": 1})),
        (Kind::Workflow, "review", json!({"key": "review"})),
        (Kind::Dashboard, "gone", json!({"key": "gone", "changed": 1})),
    ]);
    let steps = plan_upgrade(Some(&v1), &current, &v2);
    let summary: Vec<(Kind, &str, &str)> = steps
        .iter()
        .map(|s| {
            let action = match &s.change {
                Change::Create { .. } => "create",
                Change::Update { .. } => "update",
                Change::Unchanged => "unchanged",
                Change::Remove => "remove",
                Change::KeepLocal { .. } => "keep_local",
            };
            (s.kind, s.key.as_str(), action)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (Kind::Form, "iqc", "update"),
            (Kind::Form, "kept", "unchanged"),
            (Kind::Form, "old", "remove"),
            (Kind::Workflow, "review", "create"),
            (Kind::Dashboard, "gone", "keep_local"),
        ]
    );
    match &steps[0].change {
        Change::Update { value, conflicts } => {
            assert_eq!(value, &json!({"key": "iqc", "a": 2, "local": true}));
            assert!(conflicts.is_empty());
        }
        other => panic!("{other:?}"),
    }
    // Installing the same version again changes nothing.
    let again = plan_upgrade(Some(&v2), &v2, &v2);
    assert!(again.iter().all(|s| s.change == Change::Unchanged), "{again:?}");
}

#[test]
fn versions_parse_strictly() {
    assert_eq!(Version::parse("1.2.3"), Some(Version(1, 2, 3)));
    assert!(Version::parse("1.10.0") > Version::parse("1.9.9"));
    for bad in ["1.2", "1.2.3.4", "01.2.3", "1.x.3", ""] {
        assert_eq!(Version::parse(bad), None, "{bad}");
    }
}

fn manifest(key: &str) -> Value {
    json!({"key": key, "version": "1.0.0", "name": {"en": "Test", "zh-CN": "测试"}, "description": {"en": "A test pack", "zh-CN": "测试包"},
           "roles": [{"key": "qe", "name": {"en": "Quality engineer", "zh-CN": "质量工程师"}}]})
}

#[test]
fn a_pack_is_checked_as_a_whole() {
    let good_form = form(json!([text("supplier", "Supplier", "供应商"),
        {"key": "result", "type": "select", "label": {"en": "Result", "zh-CN": "结果"},
         "options": [{"value": "accept", "label": {"en": "Accept", "zh-CN": "接收"}}, {"value": "reject", "label": {"en": "Reject", "zh-CN": "拒收"}}]}]));
    let workflow = json!({"key": "review", "form": "iqc", "name": {"en": "Review", "zh-CN": "审核"}, "trigger": {"on": "submitted"},
        "nodes": [{"id": "start", "kind": "start"}, {"id": "qe", "kind": "approval", "assignees": {"roles": ["qe"]}}, {"id": "end", "kind": "end"}],
        "edges": [{"from": "start", "to": "qe"}, {"from": "qe", "to": "end"}]});
    let dashboard = json!({"key": "board", "name": {"en": "Board", "zh-CN": "看板"}, "widgets": [
        {"key": "n", "title": {"en": "Lots", "zh-CN": "批数"}, "x": 0, "y": 0, "w": 6, "h": 3,
         "report": {"form": "iqc", "dimensions": [{"field": "supplier"}], "measures": [{"fn": "count", "as": "n"}]}}]});
    let pack = Pack::new(
        &manifest("test"),
        [(Kind::Form, good_form.clone()), (Kind::Workflow, workflow.clone()), (Kind::Dashboard, dashboard.clone())],
    )
    .unwrap();
    assert_eq!(check(&pack, &[]), vec![], "a complete pack has no issues");

    // Missing Chinese, an unknown role, a widget over an unknown field, an unknown dependency.
    let mut bad_form = good_form;
    bad_form["fields"][0]["label"] = json!({"en": "Supplier"});
    let mut bad_workflow = workflow;
    bad_workflow["nodes"][1]["assignees"]["roles"] = json!(["mrb"]);
    let mut bad_dashboard = dashboard;
    bad_dashboard["widgets"][0]["report"]["dimensions"][0]["field"] = json!("vendor");
    let mut bad_manifest = manifest("test");
    bad_manifest["depends"] = json!([{"key": "ncr", "version": "1.0.0"}]);
    let pack = Pack::new(
        &bad_manifest,
        [(Kind::Form, bad_form), (Kind::Workflow, bad_workflow), (Kind::Dashboard, bad_dashboard)],
    )
    .unwrap();
    let paths: Vec<String> = check(&pack, &[])
        .iter()
        .map(|i| format!("{} {}", i.path, serde_json::to_value(i.code).unwrap().as_str().unwrap()))
        .collect();
    assert!(paths.contains(&"/forms/iqc/fields/0/label required".to_owned()), "{paths:?}");
    assert!(
        paths.contains(&"/dashboards/board/widgets/0/report/dimensions/0/field unknown_field".to_owned()),
        "{paths:?}"
    );
    assert!(paths.contains(&"/pack.json/depends/0 unknown_reference".to_owned()), "{paths:?}");
    assert!(paths.iter().any(|p| p.starts_with("/workflows/review/nodes/1")), "{paths:?}");
}
