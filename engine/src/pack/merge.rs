//! Three-way merge of JSON definitions: `base` (the pack version the workspace installed),
//! `ours` (the workspace's current object, with the factory's changes) and `theirs` (the new
//! pack version).
//!
//! A change made on one side only is taken; the same change on both sides is taken once; two
//! different changes to the same place are a conflict, for which the factory's value stays
//! until someone resolves it. Objects merge key by key. Lists whose items are objects with an
//! identity (`key`, `id` or `value`: fields, options, widgets, nodes) merge item by item, in
//! the new pack's order with the factory's own items after; other lists are single values.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value};

/// Two different changes to one place. `None` means "absent" (deleted or never there).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Conflict {
    /// JSON pointer into the object.
    pub path: String,
    pub base: Option<Value>,
    pub ours: Option<Value>,
    pub theirs: Option<Value>,
}

/// The merged value (absent if both sides removed it) and the conflicts, in document order.
pub fn merge(base: Option<&Value>, ours: Option<&Value>, theirs: Option<&Value>) -> (Option<Value>, Vec<Conflict>) {
    let mut conflicts = Vec::new();
    let merged = merge_at("", base, ours, theirs, &mut conflicts);
    (merged, conflicts)
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn merge_at(
    path: &str,
    base: Option<&Value>,
    ours: Option<&Value>,
    theirs: Option<&Value>,
    conflicts: &mut Vec<Conflict>,
) -> Option<Value> {
    if ours == theirs {
        return ours.cloned();
    }
    if ours == base {
        return theirs.cloned();
    }
    if theirs == base {
        return ours.cloned();
    }
    match (ours, theirs) {
        (Some(Value::Object(o)), Some(Value::Object(t))) => {
            let b = base.and_then(Value::as_object);
            Some(Value::Object(merge_objects(path, b, o, t, conflicts)))
        }
        (Some(Value::Array(o)), Some(Value::Array(t)))
            if identity(o).is_some()
                && identity(o) == identity(t)
                && base.is_none_or(|b| matches_identity(b, identity(o))) =>
        {
            let id = identity(o).expect("checked above");
            let empty = Vec::new();
            let b = base.and_then(Value::as_array).unwrap_or(&empty);
            Some(Value::Array(merge_lists(path, id, b, o, t, conflicts)))
        }
        _ => {
            conflicts.push(Conflict {
                path: path.to_owned(),
                base: base.cloned(),
                ours: ours.cloned(),
                theirs: theirs.cloned(),
            });
            ours.cloned()
        }
    }
}

fn merge_objects(
    path: &str,
    base: Option<&Map<String, Value>>,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
    conflicts: &mut Vec<Conflict>,
) -> Map<String, Value> {
    let mut keys: Vec<&String> = theirs.keys().collect();
    keys.extend(ours.keys().filter(|k| !theirs.contains_key(*k)));
    if let Some(base) = base {
        keys.extend(base.keys().filter(|k| !theirs.contains_key(*k) && !ours.contains_key(*k)));
    }
    let mut out = Map::new();
    for key in keys {
        let at = format!("{path}/{}", escape(key));
        if let Some(value) = merge_at(&at, base.and_then(|b| b.get(key)), ours.get(key), theirs.get(key), conflicts) {
            out.insert(key.clone(), value);
        }
    }
    out
}

const IDENTITIES: [&str; 3] = ["key", "id", "value"];

/// The identity key every item of a list carries (a non-empty list of objects).
fn identity(items: &[Value]) -> Option<&'static str> {
    IDENTITIES.into_iter().find(|id| {
        !items.is_empty() && items.iter().all(|item| item.get(id).is_some_and(|v| v.is_string() || v.is_number()))
    })
}

fn matches_identity(base: &Value, id: Option<&str>) -> bool {
    match (base.as_array(), id) {
        (Some(items), Some(id)) => items.is_empty() || identity(items) == Some(id),
        _ => false,
    }
}

fn find<'a>(items: &'a [Value], id: &str, value: &Value) -> Option<&'a Value> {
    items.iter().find(|item| item.get(id) == Some(value))
}

fn merge_lists(
    path: &str,
    id: &str,
    base: &[Value],
    ours: &[Value],
    theirs: &[Value],
    conflicts: &mut Vec<Conflict>,
) -> Vec<Value> {
    let mut order: Vec<&Value> = theirs.iter().filter_map(|item| item.get(id)).collect();
    for item in ours {
        let value = &item[id];
        if !order.contains(&value) {
            order.push(value);
        }
    }
    // Items both sides dropped stay dropped; items dropped on one side are decided below.
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for value in order {
        if !seen.insert(value.to_string()) {
            continue;
        }
        let label = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
        let at = format!("{path}/{}", escape(&label));
        let merged = merge_at(&at, find(base, id, value), find(ours, id, value), find(theirs, id, value), conflicts);
        out.extend(merged);
    }
    out
}

/// Sets (or, with `None`, removes) the value at `path` as [`merge`] names places: object keys
/// and, in identified lists, item identities. Used to apply "theirs" to a resolved conflict.
pub fn set_at(target: &mut Value, path: &str, value: Option<Value>) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        match value {
            Some(value) => *target = value,
            None => *target = Value::Null,
        }
        return true;
    };
    let (head, tail) = rest.split_once('/').map_or((rest, None), |(h, t)| (h, Some(t)));
    let head = head.replace("~1", "/").replace("~0", "~");
    match target {
        Value::Object(map) => match tail {
            None => {
                match value {
                    Some(value) => {
                        map.insert(head, value);
                    }
                    None => {
                        map.remove(&head);
                    }
                }
                true
            }
            Some(tail) => map.get_mut(&head).is_some_and(|inner| set_at(inner, &format!("/{tail}"), value)),
        },
        Value::Array(items) => {
            let Some(id) = identity(items) else { return false };
            let position = items.iter().position(|item| {
                item.get(id).is_some_and(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned) == head)
            });
            match (tail, position) {
                (None, Some(i)) => {
                    match value {
                        Some(value) => items[i] = value,
                        None => {
                            items.remove(i);
                        }
                    }
                    true
                }
                (None, None) => {
                    if let Some(value) = value {
                        items.push(value);
                    }
                    true
                }
                (Some(tail), Some(i)) => set_at(&mut items[i], &format!("/{tail}"), value),
                (Some(_), None) => false,
            }
        }
        _ => false,
    }
}
