//! Every field type: what it accepts, what it rejects, with which code.

use serde_json::json;

use crate::support::{check, one_field, process_ok};

#[test]
fn text_and_textarea() {
    let text = one_field(json!({"type": "text", "min_length": 2, "max_length": 5, "pattern": "[A-Z]+"}));
    check(&text, json!({"f": "ABC"}), &[]);
    check(&text, json!({"f": "A"}), &["/f too_short"]);
    check(&text, json!({"f": "ABCDEF"}), &["/f too_long"]);
    check(&text, json!({"f": "AbC"}), &["/f pattern_mismatch"]);
    check(&text, json!({"f": 12}), &["/f wrong_type"]);
    // Empty text is no value: not too short, and dropped.
    assert_eq!(process_ok(&text, json!({"f": ""})), json!({}));
    // So is white space of any kind, ASCII or not; text that only starts with it is kept.
    for blank in ["   ", "\t\r\n", "\u{b}", "\u{3000}", " \u{a0}"] {
        assert_eq!(process_ok(&text, json!({"f": blank})), json!({}), "{blank:?}");
    }
    let required = one_field(json!({"type": "text", "required": true}));
    check(&required, json!({"f": "\u{3000} "}), &["/f required"]);
    check(&required, json!({"f": "\u{3000}x"}), &[]);
    check(&required, json!({"f": "\u{1f}"}), &[]);
    let area = one_field(json!({"type": "textarea", "max_length": 3}));
    check(&area, json!({"f": "a\nb"}), &[]);
    check(&area, json!({"f": "a\nbc"}), &["/f too_long"]);
}

#[test]
fn numbers() {
    let integer = one_field(json!({"type": "number", "integer": true, "min": 1, "max": 10}));
    check(&integer, json!({"f": 5}), &[]);
    check(&integer, json!({"f": 0}), &["/f below_min"]);
    check(&integer, json!({"f": 11}), &["/f above_max"]);
    check(&integer, json!({"f": 2.5}), &["/f not_integer"]);
    check(&integer, json!({"f": "5"}), &["/f wrong_type"]);
    let decimal = one_field(json!({"type": "number", "precision": 2, "unit": "mm", "min": -1.5}));
    check(&decimal, json!({"f": 1.25}), &[]);
    check(&decimal, json!({"f": 1.250}), &[]);
    check(&decimal, json!({"f": 1.255}), &["/f too_many_decimals"]);
    check(&decimal, json!({"f": -1.6}), &["/f below_min"]);
    check(&decimal, json!({"f": 7}), &[]);
}

#[test]
fn select_and_multiselect() {
    let options = json!([{"value": "a", "label": {"en": "A", "zh-CN": "甲"}}, {"value": "b"}, {"value": "c"}]);
    let select = one_field(json!({"type": "select", "options": options}));
    check(&select, json!({"f": "a"}), &[]);
    check(&select, json!({"f": "z"}), &["/f invalid_option"]);
    check(&select, json!({"f": ["a"]}), &["/f wrong_type"]);
    let multi = one_field(json!({"type": "multiselect", "options": options, "min_items": 1, "max_items": 2}));
    check(&multi, json!({"f": ["a", "b"]}), &[]);
    check(&multi, json!({"f": ["a", "z"]}), &["/f/1 invalid_option"]);
    check(&multi, json!({"f": ["a", "a"]}), &["/f duplicate_option"]);
    check(&multi, json!({"f": ["a", "b", "c"]}), &["/f too_many_items"]);
    check(&multi, json!({"f": []}), &["/f too_few_items"]);
    check(&multi, json!({"f": "a"}), &["/f wrong_type"]);
}

#[test]
fn boolean_date_datetime() {
    let boolean = one_field(json!({"type": "boolean"}));
    check(&boolean, json!({"f": false}), &[]);
    check(&boolean, json!({"f": "yes"}), &["/f wrong_type"]);
    let date = one_field(json!({"type": "date"}));
    check(&date, json!({"f": "2024-02-29"}), &[]);
    check(&date, json!({"f": "2026-02-29"}), &["/f invalid_date"]);
    check(&date, json!({"f": "21/11/2026"}), &["/f invalid_date"]);
    check(&date, json!({"f": 20261121}), &["/f wrong_type"]);
    let datetime = one_field(json!({"type": "datetime"}));
    check(&datetime, json!({"f": "2026-11-21T08:30:00+08:00"}), &[]);
    check(&datetime, json!({"f": "2026-11-21T08:30:00Z"}), &[]);
    check(&datetime, json!({"f": "2026-11-21 08:30"}), &["/f invalid_datetime"]);
}

#[test]
fn user_relation_lot_barcode() {
    let user = one_field(json!({"type": "user"}));
    check(&user, json!({"f": "u-1"}), &[]);
    check(&user, json!({"f": 1}), &["/f wrong_type"]);
    let relation = one_field(json!({"type": "relation", "form": "supplier"}));
    check(&relation, json!({"f": "rec-1"}), &[]);
    check(&relation, json!({"f": {"id": "rec-1"}}), &["/f wrong_type"]);
    let lot = one_field(json!({"type": "lot", "pattern": "L-[0-9]{4}"}));
    // Scanners append line breaks; lots are trimmed before they are checked.
    assert_eq!(process_ok(&lot, json!({"f": " L-0001\r\n"})), json!({"f": "L-0001"}));
    check(&lot, json!({"f": "X-0001"}), &["/f pattern_mismatch"]);
    check(&lot, json!({"f": "L-00011"}), &["/f pattern_mismatch"]);
    let barcode = one_field(json!({"type": "barcode", "max_length": 4}));
    check(&barcode, json!({"f": "1234"}), &[]);
    check(&barcode, json!({"f": "12345"}), &["/f too_long"]);
    check(&one_field(json!({"type": "lot"})), json!({"f": "x".repeat(129)}), &["/f too_long"]);
}

#[test]
fn attachments_and_signatures() {
    let photos =
        one_field(json!({"type": "attachment", "accept": ["image/*", ".pdf"], "max_files": 2, "max_size": 1000}));
    let file = |name: &str, size: u64, content_type: &str| json!({"id": "a", "name": name, "size": size, "content_type": content_type});
    check(&photos, json!({"f": [file("a.jpg", 10, "image/jpeg"), file("b.pdf", 10, "application/octet-stream")]}), &[]);
    check(&photos, json!({"f": [file("a.jpg", 1001, "image/jpeg")]}), &["/f/0/size file_too_large"]);
    check(&photos, json!({"f": [file("a.doc", 1, "application/msword")]}), &["/f/0 file_type_not_accepted"]);
    check(
        &photos,
        json!({"f": [file("a.jpg", 1, "image/jpeg"), file("b.jpg", 1, "image/jpeg"), file("c.jpg", 1, "image/jpeg")]}),
        &["/f too_many_files"],
    );
    check(&photos, json!({"f": [{"id": "a"}]}), &["/f/0/name required"]);
    check(&photos, json!({"f": [{"id": "a", "name": "a.jpg", "path": "/etc/passwd"}]}), &["/f/0/path unknown_field"]);
    // Without a media type the file name decides.
    check(
        &photos,
        json!({"f": [{"id": "a", "name": "scan.PDF"}, {"id": "b", "name": "notes.txt"}]}),
        &["/f/1 file_type_not_accepted"],
    );
    let signature = one_field(json!({"type": "signature"}));
    check(&signature, json!({"f": {"image": "att-9", "signer": "u-1", "signed_at": "2026-11-21T09:00:00Z"}}), &[]);
    check(&signature, json!({"f": {"signer": "u-1"}}), &["/f/image required"]);
    check(&signature, json!({"f": {"image": "att-9", "signed_at": "yesterday"}}), &["/f/signed_at invalid_datetime"]);
}

#[test]
fn measurements_are_judged() {
    let def =
        one_field(json!({"type": "measurement", "nominal": 2.0, "lsl": 1.9, "usl": 2.1, "unit": "mm", "samples": 3}));
    let record = process_ok(&def, json!({"f": [1.95, 2.0, 2.15]}));
    assert_eq!(record["f"]["judgements"], json!(["ok", "ok", "ng"]));
    assert_eq!(record["f"]["result"], json!("ng"));
    let ok = process_ok(&def, json!({"f": {"values": [1.9, 2.0, 2.1], "result": "ng"}}));
    // Limits are inclusive, and a client's judgement is replaced by the engine's.
    assert_eq!(ok["f"]["result"], json!("ok"));
    check(&def, json!({"f": [2.0, 2.0]}), &["/f/values wrong_sample_count"]);
    check(&def, json!({"f": [2.0, "x", 2.0]}), &["/f/values/1 wrong_type"]);
    check(&def, json!({"f": {"values": [2.0, 2.0, 2.0], "operator": "x"}}), &["/f/operator unknown_field"]);
    // Whatever a client sends as judgements is dropped, even when the values cannot be judged.
    let sent = json!({"f": {"values": [2.0, "x", 2.0], "judgements": 5, "result": "maybe"}});
    check(&def, sent.clone(), &["/f/values/1 wrong_type"]);
    let outcome = crate::support::compile(&def).process(&sent, &crate::support::ctx());
    assert_eq!(outcome.record["f"], json!({"values": [2.0, "x", 2.0]}));
    // A bare list that cannot be judged keeps only its values too.
    let outcome = crate::support::compile(&def).process(&json!({"f": [2.0, "x"]}), &crate::support::ctx());
    assert_eq!(outcome.record["f"], json!({"values": [2.0, "x"]}));
    let outcome = crate::support::compile(&def).process(&json!({"f": []}), &crate::support::ctx());
    assert_eq!(outcome.record["f"], json!({"values": []}));
    // One-sided limits: flatness has only an upper limit.
    let flatness = one_field(json!({"type": "measurement", "usl": 0.05, "precision": 3}));
    assert_eq!(process_ok(&flatness, json!({"f": 0.01}))["f"]["result"], json!("ok"));
    assert_eq!(process_ok(&flatness, json!({"f": [0.01, 0.06]}))["f"]["judgements"], json!(["ok", "ng"]));
    check(&flatness, json!({"f": [0.0101]}), &["/f/values/0 too_many_decimals"]);
    // Without limits values are recorded but not judged.
    let free = one_field(json!({"type": "measurement"}));
    let record = process_ok(&free, json!({"f": [3, 4]}));
    assert_eq!(record["f"], json!({"values": [3, 4]}));
}

#[test]
fn measurement_sample_count_from_a_rule() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "lot_size", "type": "number", "integer": true},
        {"key": "m", "type": "measurement", "lsl": 0, "usl": 10,
         "samples": "if lot_size < 3 { lot_size } else { 3 }"}
    ]});
    check(&def, json!({"lot_size": 2, "m": [1, 2]}), &[]);
    check(&def, json!({"lot_size": 100, "m": [1, 2]}), &["/m/values wrong_sample_count"]);
    let wrong = json!({"key": "t", "name": "T", "fields": [
        {"key": "m", "type": "measurement", "samples": "\"five\""}
    ]});
    check(&wrong, json!({"m": [1]}), &["/m rule_failed"]);
}

#[test]
fn computed_and_auto_number_are_server_owned() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "no", "type": "auto_number", "pattern": "NCR-{yyyy}-{seq:4}"},
        {"key": "a", "type": "number"},
        {"key": "double", "type": "computed", "expr": "a * 2"}
    ]});
    let form = crate::support::compile(&def);
    let mut ctx = crate::support::ctx();
    ctx.sequences.insert("no".into(), 7);
    let outcome = form.process(&json!({"no": "FAKE-1", "a": 21, "double": 1}), &ctx);
    assert!(outcome.issues.is_empty(), "{:?}", outcome.issues);
    assert_eq!(outcome.record, json!({"no": "NCR-2026-0007", "a": 21, "double": 42}));
    // On update the stored number stays, whatever the client sends.
    let previous = outcome.record.clone();
    ctx.previous = Some(&previous);
    ctx.sequences.insert("no".into(), 8);
    let updated = form.process(&json!({"no": "X", "a": 1}), &ctx);
    assert_eq!(updated.record, json!({"no": "NCR-2026-0007", "a": 1, "double": 2}));
}

#[test]
fn read_only_and_defaults() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "status", "type": "select", "read_only": true, "default": "open",
         "options": [{"value": "open"}, {"value": "closed"}]},
        {"key": "qty", "type": "number", "default": 1},
        {"key": "note", "type": "text"}
    ]});
    // New record: defaults fill what is missing; a read-only value from the client is ignored.
    assert_eq!(process_ok(&def, json!({"status": "closed"})), json!({"status": "open", "qty": 1}));
    // Update: read-only keeps the stored value; defaults do not come back for cleared fields.
    let form = crate::support::compile(&def);
    let stored = json!({"status": "closed", "qty": 5});
    let mut ctx = crate::support::ctx();
    ctx.previous = Some(&stored);
    let outcome = form.process(&json!({"status": "open", "note": "x"}), &ctx);
    assert_eq!(outcome.record, json!({"status": "closed", "note": "x"}));
    // The system itself (a workflow action) may write read-only fields.
    ctx.system = true;
    let outcome = form.process(&json!({"status": "open", "qty": 5}), &ctx);
    assert_eq!(outcome.record, json!({"status": "open", "qty": 5}));
}

#[test]
fn subtables() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "qty", "type": "number", "integer": true},
        {"key": "rows", "type": "subtable", "min_rows": 1, "max_rows": 3, "required": true, "fields": [
            {"key": "code", "type": "text", "required": true, "unique": true},
            {"key": "n", "type": "number", "integer": true, "min": 0},
            {"key": "share", "type": "computed", "expr": "if parent.qty > 0 && n != () { n * 100 / parent.qty } else { 0 }"}
        ]},
        {"key": "total", "type": "computed", "expr": "let t = 0; for r in rows { t += r.n ?? 0; } t"}
    ]});
    let record = process_ok(&def, json!({"qty": 10, "rows": [{"code": "A", "n": 2}, {"code": "B", "n": 3}]}));
    assert_eq!(record["rows"][0]["share"], json!(20));
    assert_eq!(record["rows"][1]["share"], json!(30));
    assert_eq!(record["total"], json!(5));
    check(&def, json!({"qty": 1, "rows": []}), &["/rows required"]);
    check(&def, json!({"qty": 1}), &["/rows required"]);
    let four: Vec<_> = (0..4).map(|i| json!({"code": format!("C{i}")})).collect();
    check(&def, json!({"qty": 1, "rows": four}), &["/rows too_many_rows"]);
    // Rows past the maximum are neither evaluated nor checked.
    let many: Vec<_> = (0..1000).map(|_| json!({"n": -1})).collect();
    let form = crate::support::compile(&def);
    let outcome = form.process(&json!({"qty": 1, "rows": many}), &crate::support::ctx());
    assert_eq!(crate::support::brief(&outcome.issues).iter().filter(|i| i.starts_with("/rows/")).count(), 6);
    assert!(crate::support::brief(&outcome.issues).contains(&"/rows too_many_rows".to_owned()));
    assert!(outcome.record["rows"][2].get("share").is_some());
    check(
        &def,
        json!({"qty": 1, "rows": [{"code": "A", "n": -1}, {"n": 1}, {"code": "A", "x": 1}]}),
        &["/rows/0/n below_min", "/rows/1/code required", "/rows/2/code duplicate_value", "/rows/2/x unknown_field"],
    );
    check(&def, json!({"qty": 1, "rows": [7]}), &["/rows/0 wrong_type"]);
    check(&def, json!({"qty": 1, "rows": {"code": "A"}}), &["/rows wrong_type"]);
}

#[test]
fn rows_reading_the_whole_parent_see_a_measurement_not_judged_yet_without_empty_places() {
    // `parent["m"]` names no member, so the rows read the whole parent and do not wait for
    // the measurement, which comes later and is judged after them.
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "items", "type": "subtable", "fields": [
            {"key": "c", "type": "computed", "expr": "parent[\"m\"]"},
            {"key": "n", "type": "computed", "expr": "parent[\"m\"].len()"}
        ]},
        {"key": "m", "type": "measurement", "usl": 10}
    ]});
    let record = process_ok(&def, json!({"items": [{}], "m": [1]}));
    assert_eq!(record["items"][0], json!({"c": {"values": [1]}, "n": 1}));
    assert_eq!(record["m"], json!({"values": [1], "judgements": ["ok"], "result": "ok"}));
}

#[test]
fn layout_items_carry_no_data() {
    let def = json!({"key": "t", "name": "T", "fields": [
        {"key": "head", "type": "section", "label": {"en": "Head", "zh-CN": "表头"}, "fields": [
            {"key": "cols", "type": "columns", "columns": [
                {"width": 2, "fields": [{"key": "a", "type": "text", "required": true}]},
                {"fields": [{"key": "b", "type": "number"}]}
            ]}
        ]}
    ]});
    assert_eq!(process_ok(&def, json!({"a": "x", "b": 1})), json!({"a": "x", "b": 1}));
    check(&def, json!({"b": 1, "head": {}}), &["/a required", "/head unknown_field"]);
}

#[test]
fn unknown_fields_and_non_objects() {
    let def = one_field(json!({"type": "text"}));
    check(&def, json!({"f": "x", "g": 1, "h": null}), &["/g unknown_field", "/h unknown_field"]);
    check(&def, json!([1, 2]), &[" not_an_object"]);
    check(&def, json!("text"), &[" not_an_object"]);
}
