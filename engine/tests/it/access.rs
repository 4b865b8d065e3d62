//! Field-level access: masks computed from roles, redaction and the edit check.

use serde_json::{Value, json};

use crate::support::{brief, check_definition, compile};

fn form() -> engine::form::CompiledForm {
    compile(&json!({"key": "t", "name": "T", "fields": [
        {"key": "open", "type": "text"},
        {"key": "cost", "type": "number", "access": {"read": ["qe", "finance"], "edit": ["finance"]}},
        {"key": "s", "type": "section", "fields": [
            {"key": "note", "type": "text", "access": {"edit": ["qe"]}}
        ]}
    ]}))
}

/// For a caller with `roles`: (hidden fields, fields they may not edit).
fn check(roles: &[&str], unrestricted: bool, hidden: &[&str], locked: &[&str]) {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let mask = form().field_mask(&roles, unrestricted);
    assert_eq!(mask.hidden().collect::<Vec<_>>(), hidden, "{roles:?}");
    let got: Vec<&str> = ["open", "cost", "note"].into_iter().filter(|k| !mask.can_edit(k)).collect();
    assert_eq!(got, locked, "{roles:?}");
}

#[test]
fn masks_follow_roles() {
    check(&["member"], false, &["cost"], &["cost", "note"]);
    check(&["qe"], false, &[], &["cost"]);
    check(&["finance"], false, &[], &["note"]);
    check(&["qe", "finance"], false, &[], &[]);
    check(&["member"], true, &[], &[]);
}

#[test]
fn redaction_and_edit_issues() {
    let mask = form().field_mask(&["member".to_owned()], false);
    let mut data = json!({"open": "a", "cost": 5, "note": "n"});
    mask.redact(&mut data);
    assert_eq!(data, json!({"open": "a", "note": "n"}));

    let submitted = |v: Value| v.as_object().cloned().unwrap();
    // A new record: any value of a locked field is refused; leaving it out is fine.
    assert_eq!(brief(&mask.edit_issues(&submitted(json!({"open": "a", "note": "x"})), None)), ["/note not_editable"]);
    assert!(mask.edit_issues(&submitted(json!({"open": "a", "note": null})), None).is_empty());
    // An edit: sending the stored value back is no change; a different value or removal is.
    let stored = submitted(json!({"note": "n", "cost": 5}));
    assert!(mask.edit_issues(&submitted(json!({"note": "n"})), Some(&stored)).is_empty());
    assert_eq!(brief(&mask.edit_issues(&submitted(json!({"cost": null})), Some(&stored))), ["/cost not_editable"]);
    assert_eq!(brief(&mask.edit_issues(&submitted(json!({"note": "m"})), Some(&stored))), ["/note not_editable"]);
}

#[test]
fn access_is_checked_in_definitions() {
    check_definition(
        json!({"key": "t", "name": "T", "fields": [{"key": "s", "type": "section", "access": {}, "fields": [
            {"key": "a", "type": "text"}
        ]}]}),
        &["/fields/0/access not_applicable"],
    );
    check_definition(
        json!({"key": "t", "name": "T", "fields": [{"key": "a", "type": "text", "access": {"write": ["x"]}}]}),
        &["/fields/0 invalid_definition"],
    );
}
