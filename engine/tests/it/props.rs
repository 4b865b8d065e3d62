//! Property tests: no input panics the engine.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::support::{compile, ctx, example};

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-zA-Z0-9 _./:-]{0,12}".prop_map(Value::String),
        prop_oneof![Just("2026-11-21"), Just("L-0001"), Just("a"), Just("II"), Just("1.0"), Just("文本")]
            .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..8)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Keys drawn mostly from the IQC form, so that records reach deep into the pipeline.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "supplier",
            "part_no",
            "lot_no",
            "lot_size",
            "received_on",
            "inspection_level",
            "aql",
            "sample_size",
            "ac",
            "items",
            "characteristic",
            "method",
            "measure",
            "values",
            "defects",
            "defect_codes",
            "result",
            "disposition",
            "note",
            "photos",
            "id",
            "name",
            "size",
            "content_type",
            "urgent",
            "inspector",
            "signature",
            "image",
            "inspection_no",
            "type",
            "key",
            "fields",
            "options",
            "value",
            "expr",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,6}",
    ]
}

/// A record shaped like the IQC form with arbitrary values.
fn iqc_like_record() -> impl Strategy<Value = Value> {
    prop::collection::vec((key(), arbitrary_json()), 0..20)
        .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>()))
}

fn field_type() -> impl Strategy<Value = String> {
    prop::sample::select(engine::form::FIELD_TYPES.to_vec()).prop_map(str::to_owned)
}

/// A definition built from plausible pieces and arbitrary values.
fn arbitrary_definition() -> impl Strategy<Value = Value> {
    let field =
        (key(), field_type(), prop::collection::vec((key(), arbitrary_json()), 0..4)).prop_map(|(key, kind, extra)| {
            let mut field = Map::new();
            field.insert("key".into(), json!(key));
            field.insert("type".into(), json!(kind));
            for (k, v) in extra {
                field.insert(k, v);
            }
            Value::Object(field)
        });
    prop::collection::vec(field, 0..8).prop_map(|fields| json!({"key": "t", "name": "T", "fields": fields}))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_records_never_panic_the_validator(record in prop_oneof![arbitrary_json(), iqc_like_record()]) {
        let form = compile(&example("forms/iqc.json"));
        let outcome = form.process(&record, &ctx());
        // Whatever came in, what goes out is an object, and invalid input says why.
        prop_assert!(outcome.record.is_object());
        for issue in &outcome.issues {
            prop_assert!(issue.path.is_empty() || issue.path.starts_with('/'));
            prop_assert!(!issue.message.is_empty());
        }
    }

    #[test]
    fn arbitrary_definitions_compile_or_return_errors(definition in prop_oneof![arbitrary_definition(), arbitrary_json()]) {
        match engine::form::CompiledForm::compile(&definition, engine::Lang::En) {
            Ok(form) => {
                // A definition that compiles validates an empty record without panicking.
                let _ = form.process(&json!({}), &ctx());
            }
            Err(issues) => {
                prop_assert!(!issues.is_empty());
                for issue in issues {
                    prop_assert!(!issue.message.is_empty());
                }
            }
        }
    }
}
