//! Every shipped pack validates: definitions and scripts compile, dashboards reference
//! existing fields, both languages are complete, dependencies resolve in order.

use engine::pack::{Kind, check};

#[test]
fn every_pack_checks_clean_against_the_library() {
    let library = templates_library::library().expect("the packs parse");
    assert!(library.len() >= 3);
    for (i, pack) in library.iter().enumerate() {
        // Dependencies must come earlier, so that installing in library order works.
        let earlier: Vec<&engine::pack::Pack> = library[..i].iter().collect();
        let issues = check(pack, &earlier);
        let shown: Vec<String> = issues.iter().map(|i| format!("{} {:?} {:?}", i.path, i.code, i.params)).collect();
        assert!(shown.is_empty(), "pack {}:\n{}", pack.manifest.key, shown.join("\n"));
    }
}

#[test]
fn keys_are_unique_across_the_library() {
    let library = templates_library::library().unwrap();
    let mut seen = std::collections::BTreeMap::new();
    for pack in &library {
        assert!(seen.insert(("pack", pack.manifest.key.clone()), ()).is_none(), "pack {}", pack.manifest.key);
        for (kind, key) in pack.contents.keys() {
            let kind = match kind {
                Kind::Form => "form",
                Kind::Workflow => "workflow",
                Kind::Dashboard => "dashboard",
            };
            assert!(seen.insert((kind, key.clone()), ()).is_none(), "{kind} {key} is in two packs");
        }
    }
}

#[test]
fn the_iqc_form_computes_its_sampling_plan_and_judgement() {
    let library = templates_library::library().unwrap();
    let iqc = library.iter().find(|p| p.manifest.key == "iqc").unwrap();
    let definition = &iqc.contents[&(Kind::Form, "iqc".to_owned())];
    let form = engine::form::CompiledForm::compile(definition, engine::Lang::En).unwrap();
    let record = serde_json::json!({
        "supplier": "Acme Steel", "part_no": "BRK-1", "lot_no": "L-1", "lot_size": 500, "received_on": "2026-11-20",
        "inspection_level": "II", "aql": "1.0", "standard": "iso2859", "severity": "normal",
        "items": [
            {"characteristic": "Length", "method": "caliper", "nominal": 10.0, "lsl": 9.9, "usl": 10.1,
             "measured": {"values": [10.0, 10.02, 9.98, 10.05, 10.0]}},
            {"characteristic": "Finish", "method": "visual", "visual_ok": true}
        ],
        "defects": 1, "defect_codes": ["scratch"]
    });
    let outcome = form.process(&record, &engine::form::RecordContext::default());
    assert!(outcome.issues.is_empty(), "{:?}", outcome.issues);
    let done = outcome.record;
    // Lot 500 at level II is H: n = 50, Ac 1, Re 2 (ISO 2859-1 Table II-A).
    assert_eq!(
        (done["code_letter"].clone(), done["sample_size"].clone(), done["ac"].clone(), done["re"].clone()),
        (serde_json::json!("H"), serde_json::json!(50), serde_json::json!(1), serde_json::json!(2))
    );
    assert_eq!(done["items"][0]["item_result"], serde_json::json!("ok"));
    assert_eq!(done["result"], serde_json::json!("accept"));
    // Two nonconforming units reach Re: reject (and then a note is required).
    let mut two = record.clone();
    two["defects"] = serde_json::json!(2);
    two["note"] = serde_json::json!("two scratched parts");
    let outcome = form.process(&two, &engine::form::RecordContext::default());
    assert!(outcome.issues.is_empty(), "{:?}", outcome.issues);
    assert_eq!(outcome.record["result"], serde_json::json!("reject"));
    // A value outside the limits makes the characteristic NG and the lot rejected.
    let mut outside = record;
    outside["items"][0]["measured"] = serde_json::json!({"values": [10.0, 10.2, 9.98, 10.05, 10.0]});
    outside["note"] = serde_json::json!("length out of tolerance");
    let outcome = form.process(&outside, &engine::form::RecordContext::default());
    assert_eq!(outcome.record["items"][0]["item_result"], serde_json::json!("ng"), "{:?}", outcome.issues);
    assert_eq!(outcome.record["result"], serde_json::json!("reject"));
}
