//! Editing a form definition as the designer does: items live in containers (the form's
//! `fields`, a subtable's or section's `fields`, each column's `fields`), addressed by the
//! JSON pointer of the container's array and an index in it.

use engine::Lang;
use engine::form::FIELD_TYPES;

use crate::i18n::type_name;
use serde_json::{Map, Value, json};

/// The form's own top-level container.
pub const ROOT: &str = "/fields";

/// The array of items at `container`.
pub fn items<'a>(definition: &'a Value, container: &str) -> Option<&'a Vec<Value>> {
    definition.pointer(container).and_then(Value::as_array)
}

fn items_mut<'a>(definition: &'a mut Value, container: &str) -> Option<&'a mut Vec<Value>> {
    definition.pointer_mut(container).and_then(Value::as_array_mut)
}

/// The item at `container`/`index`.
pub fn item<'a>(definition: &'a Value, container: &str, index: usize) -> Option<&'a Value> {
    items(definition, container)?.get(index)
}

pub fn item_mut<'a>(definition: &'a mut Value, container: &str, index: usize) -> Option<&'a mut Value> {
    items_mut(definition, container)?.get_mut(index)
}

/// The containers directly inside an item: one for subtables and sections, one per column.
pub fn inner_containers(item: &Value, pointer: &str) -> Vec<String> {
    match item.get("type").and_then(Value::as_str) {
        Some("subtable" | "section") => vec![format!("{pointer}/fields")],
        Some("columns") => {
            let count = item.get("columns").and_then(Value::as_array).map_or(0, Vec::len);
            (0..count).map(|i| format!("{pointer}/columns/{i}/fields")).collect()
        }
        _ => Vec::new(),
    }
}

/// Puts `item` at `index` of `container` (clamped to its end). False if there is no such
/// container.
pub fn insert(definition: &mut Value, container: &str, index: usize, item: Value) -> bool {
    let Some(list) = items_mut(definition, container) else { return false };
    let index = index.min(list.len());
    list.insert(index, item);
    true
}

pub fn remove(definition: &mut Value, container: &str, index: usize) -> Option<Value> {
    let list = items_mut(definition, container)?;
    (index < list.len()).then(|| list.remove(index))
}

/// Moves an item. An item cannot move into itself (a section into its own column); such a
/// move, or one to where the item already is, changes nothing and returns false.
pub fn move_item(definition: &mut Value, from: &str, from_index: usize, to: &str, to_index: usize) -> bool {
    let item_pointer = format!("{from}/{from_index}");
    if to == item_pointer || to.starts_with(&format!("{item_pointer}/")) {
        return false;
    }
    if from == to && (to_index == from_index || to_index == from_index + 1) {
        return false;
    }
    if items(definition, to).is_none() {
        return false;
    }
    let Some(moved) = remove(definition, from, from_index) else { return false };
    // Removing from the same array shifts later positions by one; and the target container
    // may itself lie after the removed item in the same array (its pointer then names the
    // wrong item), so re-address it.
    let to = shift_pointer(to, from, from_index);
    let to_index = if from == to && to_index > from_index { to_index - 1 } else { to_index };
    insert(definition, &to, to_index, moved)
}

/// `pointer` as it reads after removing item `index` of `container`.
fn shift_pointer(pointer: &str, container: &str, index: usize) -> String {
    let prefix = format!("{container}/");
    let Some(rest) = pointer.strip_prefix(&prefix) else { return pointer.to_owned() };
    let (first, tail) = rest.split_once('/').map_or((rest, ""), |(a, b)| (a, b));
    match first.parse::<usize>() {
        Ok(i) if i > index => {
            if tail.is_empty() {
                format!("{prefix}{}", i - 1)
            } else {
                format!("{prefix}{}/{tail}", i - 1)
            }
        }
        _ => pointer.to_owned(),
    }
}

/// Every key used anywhere in the definition.
pub fn all_keys(definition: &Value) -> Vec<String> {
    let mut keys = Vec::new();
    fn walk(list: &[Value], keys: &mut Vec<String>) {
        for item in list {
            if let Some(key) = item.get("key").and_then(Value::as_str) {
                keys.push(key.to_owned());
            }
            if let Some(fields) = item.get("fields").and_then(Value::as_array) {
                walk(fields, keys);
            }
            for column in item.get("columns").and_then(Value::as_array).into_iter().flatten() {
                walk(column.get("fields").and_then(Value::as_array).map_or(&[], Vec::as_slice), keys);
            }
        }
    }
    walk(items(definition, ROOT).map_or(&[], Vec::as_slice), &mut keys);
    keys
}

/// A new item of type `kind` with a key no other item has and the properties it needs to
/// compile (options, an expression, a pattern, columns).
pub fn new_item(definition: &Value, kind: &str) -> Value {
    let keys = all_keys(definition);
    let mut n = 1;
    let key = loop {
        let candidate = format!("{kind}_{n}");
        if !keys.contains(&candidate) {
            break candidate;
        }
        n += 1;
    };
    let label = json!({"en": type_name(Lang::En, kind), "zh-CN": type_name(Lang::ZhCn, kind)});
    let mut item = Map::new();
    item.insert("key".into(), json!(key));
    item.insert("type".into(), json!(kind));
    if !matches!(kind, "columns") {
        item.insert("label".into(), label);
    }
    let option = |value: &str, en: &str, zh: &str| json!({"value": value, "label": {"en": en, "zh-CN": zh}});
    match kind {
        "select" | "multiselect" => {
            item.insert(
                "options".into(),
                json!([option("a", "Option A", "选项 A"), option("b", "Option B", "选项 B")]),
            );
        }
        "computed" => {
            item.insert("expr".into(), json!("0"));
        }
        "auto_number" => {
            item.insert("pattern".into(), json!("NO-{yyyy}{MM}{dd}-{seq:4}"));
        }
        "measurement" => {
            item.insert("samples".into(), json!(3));
        }
        "relation" => {
            item.insert("form".into(), json!(""));
        }
        "subtable" | "section" => {
            item.insert("fields".into(), json!([]));
        }
        "columns" => {
            item.insert("columns".into(), json!([{"fields": []}, {"fields": []}]));
        }
        _ => {}
    }
    Value::Object(item)
}

/// A new empty form definition.
pub fn new_definition(key: &str, en: &str, zh: &str) -> Value {
    json!({"key": key, "name": {"en": en, "zh-CN": zh}, "fields": []})
}

/// The palette's order: every type the engine knows.
pub fn palette() -> &'static [&'static str] {
    FIELD_TYPES
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys_at(definition: &Value, container: &str) -> Vec<String> {
        items(definition, container).unwrap().iter().map(|i| i["key"].as_str().unwrap().to_owned()).collect()
    }

    fn sample() -> Value {
        json!({"key": "f", "fields": [
            {"key": "a", "type": "text"},
            {"key": "s", "type": "section", "fields": [{"key": "b", "type": "text"}]},
            {"key": "t", "type": "subtable", "fields": []},
        ]})
    }

    #[test]
    fn moves_within_and_between_containers() {
        let mut d = sample();
        assert!(move_item(&mut d, ROOT, 0, ROOT, 3));
        assert_eq!(keys_at(&d, ROOT), ["s", "t", "a"]);
        // Into the subtable, which sits after the moved item in the same array.
        let mut d = sample();
        assert!(move_item(&mut d, ROOT, 0, "/fields/2/fields", 0));
        assert_eq!(keys_at(&d, ROOT), ["s", "t"]);
        assert_eq!(keys_at(&d, "/fields/1/fields"), ["a"]);
        // Out of the section to the top.
        let mut d = sample();
        assert!(move_item(&mut d, "/fields/1/fields", 0, ROOT, 0));
        assert_eq!(keys_at(&d, ROOT), ["b", "a", "s", "t"]);
        // Not into itself, and not to where it is.
        let mut d = sample();
        assert!(!move_item(&mut d, ROOT, 1, "/fields/1/fields", 0));
        assert!(!move_item(&mut d, ROOT, 0, ROOT, 1));
        assert_eq!(d, sample());
    }

    #[test]
    fn new_items_compile_and_have_fresh_keys() {
        let mut d = json!({"key": "f", "name": {"en": "F", "zh-CN": "F"}, "fields": []});
        for type_name in palette() {
            let item = new_item(&d, type_name);
            let container = if *type_name == "relation" { None } else { Some(ROOT) };
            if let Some(container) = container {
                insert(&mut d, container, usize::MAX, item);
            }
        }
        // Containers need an entry: one text field in each.
        for i in 0..items(&d, ROOT).unwrap().len() {
            let pointer = format!("{ROOT}/{i}");
            for inner in inner_containers(&d.pointer(&pointer).unwrap().clone(), &pointer) {
                let text = new_item(&d, "text");
                assert!(insert(&mut d, &inner, 0, text));
            }
        }
        let keys = all_keys(&d);
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(keys.len(), unique.len());
        assert_eq!(keys.len(), palette().len() - 1 + 4);
        // Every new item (but a relation, which needs a target form) compiles as it is.
        let compiled = engine::form::CompiledForm::compile(&d, Lang::En);
        assert!(compiled.is_ok(), "{:?}", compiled.err());
    }
}
