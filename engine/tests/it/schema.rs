//! The compiled JSON Schema: a snapshot of the IQC example, and its behaviour as a schema.

use serde_json::json;

use crate::support::{compile, example};

#[test]
fn iqc_schema_snapshot() {
    let form = compile(&example("forms/iqc.json"));
    insta::assert_json_snapshot!("iqc_schema", form.json_schema());
}

#[test]
fn the_public_schema_is_draft_2020_12_and_validates_stored_records() {
    let form = compile(&example("forms/iqc.json"));
    let schema = form.json_schema();
    assert_eq!(schema["$schema"], json!("https://json-schema.org/draft/2020-12/schema"));
    let validator = jsonschema::options().should_validate_formats(true).build(schema).expect("valid schema");
    let mut ctx = crate::support::ctx();
    ctx.sequences.insert("inspection_no".into(), 1);
    let stored = form.process(&example("records/iqc-accept.json"), &ctx).record;
    let errors: Vec<String> = validator.iter_errors(&stored).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    // Statically required fields are listed; conditionally required ones are not.
    let required = schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("lot_no")));
    assert!(!required.contains(&json!("note")));
    assert!(!validator.is_valid(&json!({"lot_no": "x"})));
}

#[test]
fn schemas_never_resolve_outside_references() {
    // The validator is built without network or file resolution: a remote $ref fails to
    // build instead of being fetched.
    let remote = json!({"$ref": "https://example.com/schema.json"});
    assert!(jsonschema::options().build(&remote).is_err());
    let file = json!({"$ref": "file:///etc/passwd"});
    assert!(jsonschema::options().build(&file).is_err());
}
