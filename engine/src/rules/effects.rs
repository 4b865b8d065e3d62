//! Effect requests of workflow action scripts: `set(field, value)`, `create_record(form,
//! data)`, `call(connector, operation, payload)` and `notify(users, message)` (DESIGN §5).
//!
//! The functions do nothing but append a request to the run's effect list, which rides in
//! rhai's per-run custom state (the "tag") so that one shared engine serves concurrent runs.
//! Outside an action run there is no list and the functions fail with a clear message.
//!
//! `call` is a rhai keyword (it calls function pointers), so an action's source has each
//! `call(` that starts a connector call rewritten to [`CALL_FN`] before compiling; the name
//! has the same length, so error positions stay right.

use rhai::{Array, Dynamic, Engine, EvalAltResult, ImmutableString, Map, NativeCallContext, Position};
use serde_json::Value;

use super::to_json;

/// The registered name `call(` is rewritten to.
pub const CALL_FN: &str = "c_ll";

/// Most requests one run may make: a loop that keeps asking is a bug, not a workflow.
pub const MAX_EFFECTS: usize = 100;

/// One request an action made.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Set { field: String, value: Value },
    CreateRecord { form: String, data: Value },
    Call { connector: String, operation: String, payload: Value },
    Notify { users: Vec<String>, message: String },
}

pub fn register(engine: &mut Engine) {
    engine.register_fn("set", |ctx: NativeCallContext, field: ImmutableString, value: Dynamic| {
        push(&ctx, "set", Effect::Set { field: field.to_string(), value: to_json(&value) })
    });
    engine.register_fn("create_record", |ctx: NativeCallContext, form: ImmutableString, data: Map| {
        push(
            &ctx,
            "create_record",
            Effect::CreateRecord { form: form.to_string(), data: to_json(&Dynamic::from_map(data)) },
        )
    });
    engine.register_fn(
        CALL_FN,
        |ctx: NativeCallContext, connector: ImmutableString, operation: ImmutableString, payload: Map| {
            push(
                &ctx,
                "call",
                Effect::Call {
                    connector: connector.to_string(),
                    operation: operation.to_string(),
                    payload: to_json(&Dynamic::from_map(payload)),
                },
            )
        },
    );
    engine.register_fn("notify", |ctx: NativeCallContext, users: Array, message: ImmutableString| {
        push(
            &ctx,
            "notify",
            Effect::Notify { users: users.iter().map(|u| u.to_string()).collect(), message: message.to_string() },
        )
    });
    engine.register_fn("notify", |ctx: NativeCallContext, user: ImmutableString, message: ImmutableString| {
        push(&ctx, "notify", Effect::Notify { users: vec![user.to_string()], message: message.to_string() })
    });
}

/// The list lives in the tag as a shared array of opaque `Effect` values.
fn push(ctx: &NativeCallContext, name: &str, effect: Effect) -> Result<(), Box<EvalAltResult>> {
    let outside = || -> Box<EvalAltResult> {
        EvalAltResult::ErrorRuntime(format!("{name}() can only be used in a workflow action").into(), Position::NONE)
            .into()
    };
    let tag = ctx.tag().ok_or_else(outside)?;
    if !tag.is_shared() {
        return Err(outside());
    }
    // A clone of a shared value shares its cell, so writing through it fills the run's list.
    let mut shared = tag.clone();
    let mut list = shared.write_lock::<Array>().ok_or_else(outside)?;
    if list.len() >= MAX_EFFECTS {
        return Err(EvalAltResult::ErrorDataTooLarge("effects".into(), Position::NONE).into());
    }
    list.push(Dynamic::from(effect));
    Ok(())
}

/// Rewrites each `call(` that is a function call in code (not a method `.call(`, not inside a
/// string or comment) to [`CALL_FN`].
pub fn rewrite_calls(source: &str) -> String {
    let bytes = source.as_bytes();
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let mut last = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'`' | b'\'' => {
                let quote = bytes[i];
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < bytes.len() && !(bytes[i] == b'*' && bytes[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                let before = source[..start].trim_end().as_bytes().last().copied();
                let after = source[i..].trim_start().as_bytes().first().copied();
                if &source[start..i] == "call" && before != Some(b'.') && after == Some(b'(') {
                    out.push_str(&source[last..start]);
                    out.push_str(CALL_FN);
                    last = i;
                }
            }
            _ => i += 1,
        }
    }
    out.push_str(&source[last.min(source.len())..]);
    out
}

/// String literals passed as the first (and second) argument of effect calls, for checking
/// that the fields, forms and connectors they name exist: (function, first, second).
pub fn literal_targets(source: &str) -> Vec<(String, String, Option<String>)> {
    let mut found = Vec::new();
    for name in ["set", "create_record", "call"] {
        let mut rest = source;
        while let Some(position) = rest.find(name) {
            let before = rest[..position].chars().next_back();
            let tail = &rest[position + name.len()..];
            rest = tail;
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let Some(args) = tail.trim_start().strip_prefix('(') else { continue };
            let Some((first, after_first)) = string_literal(args) else { continue };
            let second = after_first.trim_start().strip_prefix(',').and_then(string_literal).map(|(s, _)| s);
            found.push((name.to_owned(), first, second));
        }
    }
    found
}

fn string_literal(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start().strip_prefix('"')?;
    let end = text.find('"')?;
    Some((text[..end].to_owned(), &text[end + 1..]))
}
