//! What processing does to single values after the rules: measurement judgement, and the
//! checks JSON Schema cannot express (decimal places, accepted file types).

use serde_json::{Map, Value};

use super::compile::Slot;
use super::issue::{Code, Issue};
use super::tracked::Base;
use super::{FieldKind, MeasurementSpec};
use crate::rules::fast::member;

/// A measurement's object with its keys in place (`values` first) and no values, built once
/// per level and copied for each measurement sent as a bare list: copying a map copies its
/// hash table, where inserting the keys would hash each with SipHash (`serde_json`'s maps).
pub(super) fn measurement_template() -> Map<String, Value> {
    ["values", "judgements", "result"].iter().map(|key| ((*key).to_owned(), Value::Null)).collect()
}

/// A copy of the template with `values` in place; its judgements and result stay `null`
/// until [`judge`] fills them in or drops them (row rules that read the parent before then
/// get a copy [`without_places`]).
pub(super) fn measurement_of(template: &Map<String, Value>, values: Vec<Value>) -> Value {
    let mut object = template.clone();
    if let Some(slot) = object.values_mut().next() {
        *slot = Value::Array(values);
    }
    Value::Object(object)
}

/// Whether a member is one of the template's places still empty.
fn empty_place(key: &str, value: &Value) -> bool {
    value.is_null() && matches!(key, "judgements" | "result")
}

/// A copy of a measurement without its empty places: what it looks like before it is judged.
pub(super) fn without_places(object: &Map<String, Value>) -> Map<String, Value> {
    object
        .iter()
        .filter(|(key, value)| !empty_place(key, value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// Adds per-value and overall OK/NG to a measurement and checks the number of values.
/// Statistics (mean, range, Cp/Cpk) are computed by reports from the values, not stored.
/// Values that are not numbers are left to the schema.
pub(super) fn judge(
    spec: &MeasurementSpec,
    value: &mut Value,
    expected: Option<u64>,
    base: Base<'_>,
    key: &str,
    issues: &mut Vec<Issue>,
) {
    let Some(object) = value.as_object_mut() else { return };
    match judgements(spec, object, expected, base, key, issues) {
        Some((judgements, all_ok)) => {
            put(object, "judgements", Value::Array(judgements));
            put(object, "result", Value::from(if all_ok { "ok" } else { "ng" }));
        }
        // Not judged: the template's empty places go.
        None => object.retain(|key, value| !empty_place(key, value)),
    }
}

/// Each value's judgement and whether all are OK, unless the measurement is not judged.
fn judgements(
    spec: &MeasurementSpec,
    object: &Map<String, Value>,
    expected: Option<u64>,
    base: Base<'_>,
    key: &str,
    issues: &mut Vec<Issue>,
) -> Option<(Vec<Value>, bool)> {
    let Some(Value::Array(values)) = member(object, "values") else { return None };
    let count = values.len();
    if let Some(expected) = expected
        && count as u64 != expected
        && count > 0
    {
        issues.push(
            Issue::new(format!("{}/values", base.pointer(key)), Code::WrongSampleCount)
                .param("expected", expected)
                .param("actual", count as u64),
        );
    }
    if count == 0 || !values.iter().all(Value::is_number) {
        return None;
    }
    if spec.lsl.is_none() && spec.usl.is_none() {
        return None; // Recorded, not judged.
    }
    let mut all_ok = true;
    let judgements = values
        .iter()
        .map(|value| {
            let x = value.as_f64().unwrap_or(f64::NAN);
            let ok = spec.lsl.is_none_or(|lsl| x >= lsl) && spec.usl.is_none_or(|usl| x <= usl);
            all_ok &= ok;
            Value::from(if ok { "ok" } else { "ng" })
        })
        .collect();
    Some((judgements, all_ok))
}

/// Sets a member of a small object, in its place when it has one (found without hashing).
fn put(object: &mut Map<String, Value>, key: &str, value: Value) {
    match object.iter_mut().find(|(k, _)| *k == key) {
        Some((_, slot)) => *slot = value,
        None => {
            object.insert(key.to_owned(), value);
        }
    }
}

/// Checks JSON Schema cannot express: decimal places and accepted file types.
pub(super) fn extra_checks(slot: &Slot, value: &Value, base: Base<'_>, issues: &mut Vec<Issue>) {
    let path = || base.pointer(slot.key());
    match &slot.field.kind {
        FieldKind::Number(spec) => {
            if let (Some(precision), Value::Number(n)) = (spec.precision, value)
                && too_many_decimals(n, precision)
            {
                issues.push(Issue::new(path(), Code::TooManyDecimals).param("precision", precision));
            }
        }
        FieldKind::Measurement(spec) => {
            let values = value.as_object().and_then(|object| member(object, "values")).and_then(Value::as_array);
            if let (Some(precision), Some(values)) = (spec.precision, values) {
                for (index, v) in values.iter().enumerate() {
                    if let Value::Number(n) = v
                        && too_many_decimals(n, precision)
                    {
                        issues.push(
                            Issue::new(format!("{}/values/{index}", path()), Code::TooManyDecimals)
                                .param("precision", precision),
                        );
                    }
                }
            }
        }
        FieldKind::Attachment(spec) if !spec.accept.is_empty() => {
            let Some(files) = value.as_array() else { return };
            for (index, file) in files.iter().enumerate() {
                let Some(file) = file.as_object() else { continue };
                let content_type = member(file, "content_type").and_then(Value::as_str).unwrap_or_default();
                let name = member(file, "name").and_then(Value::as_str).unwrap_or_default();
                let described = !content_type.is_empty() || !name.is_empty();
                if described && !accepts(&spec.accept, content_type, name) {
                    issues.push(
                        Issue::new(format!("{}/{index}", path()), Code::FileTypeNotAccepted)
                            .param("accept", spec.accept.clone()),
                    );
                }
            }
        }
        _ => {}
    }
}

fn accepts(accept: &[String], content_type: &str, name: &str) -> bool {
    // Compared without regard to ASCII case, without making lowercase copies.
    let content_type = if content_type.is_empty() { guess_content_type(name) } else { content_type };
    accept.iter().any(|pattern| {
        let pattern = pattern.trim();
        if let Some(ending) = pattern.strip_prefix('.') {
            let (name, ending) = (name.as_bytes(), ending.as_bytes());
            name.len() > ending.len()
                && name[name.len() - ending.len() - 1] == b'.'
                && name[name.len() - ending.len()..].eq_ignore_ascii_case(ending)
        } else if let Some(major) = pattern.strip_suffix("/*") {
            content_type.split_once('/').is_some_and(|(given, _)| given.eq_ignore_ascii_case(major))
        } else {
            content_type.eq_ignore_ascii_case(pattern)
        }
    })
}

/// A media type from a file name, for uploads that did not say (phones often do not).
fn guess_content_type(name: &str) -> &'static str {
    let extension = name.rsplit_once('.').map_or("", |(_, e)| e).to_ascii_lowercase();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" => "image/heic",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "pdf" => "application/pdf",
        _ => "",
    }
}

/// Whether a number has more decimal places than `precision` allows. Scaling and rounding
/// checks what the shortest decimal form (`1.25`, not `1.2499999999999999`) shows, without
/// formatting the number as text.
fn too_many_decimals(number: &serde_json::Number, precision: u32) -> bool {
    if number.is_i64() || number.is_u64() {
        return false;
    }
    let Some(value) = number.as_f64() else { return false };
    let scaled = value * 10f64.powi(precision as i32);
    (scaled - scaled.round()).abs() > 1e-9 * scaled.abs().max(1.0)
}
