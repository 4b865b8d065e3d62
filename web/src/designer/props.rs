//! The property panel of the selected item: labels in both languages, required, rules with
//! live compile feedback, options, limits, units — whatever its type has.

use leptos::prelude::*;
use serde_json::{Value, json};

use super::Design;
use crate::app::ctx;
use crate::tree;

/// Reads `property` (a pointer inside the item, like `/label/en`) as text.
fn read(design: Design, item: &str, property: &str) -> String {
    design.def.with(|d| match d.pointer(&format!("{item}{property}")) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(_)) | Some(Value::Object(_)) | Some(Value::Bool(_)) | Some(Value::Null) | None => {
            String::new()
        }
    })
}

/// Writes `value` at `property` of the item (`Null` removes it), as one undoable edit.
fn write(design: Design, item: &str, property: &str, value: Value) {
    let target = format!("{item}{property}");
    design.edit(|d| crate::fields::set_at(d, &target, value));
}

fn text_input(design: Design, item: String, property: &'static str, label: &'static str, multiline: bool) -> AnyView {
    let ctx = ctx();
    let (i1, i2) = (item.clone(), item);
    let test = format!("prop{}", property.replace('/', "-"));
    let on_change = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        write(design, &i2, property, if v.trim().is_empty() { Value::Null } else { json!(v) });
    };
    let input = if multiline {
        view! { <textarea rows="3" data-test=test prop:value=move || read(design, &i1, property) on:change=on_change></textarea> }.into_any()
    } else {
        view! { <input data-test=test prop:value=move || read(design, &i1, property) on:change=on_change/> }.into_any()
    };
    view! { <label>{move || ctx.t(label)}{input}</label> }.into_any()
}

fn number_input(design: Design, item: String, property: &'static str, label: &'static str, integer: bool) -> AnyView {
    let ctx = ctx();
    let (i1, i2) = (item.clone(), item);
    view! {
        <label>{move || ctx.t(label)}
            <input type="number" step=if integer { "1" } else { "any" } data-test=format!("prop{}", property.replace('/', "-"))
                prop:value=move || read(design, &i1, property)
                on:change=move |ev| {
                    let v = event_target_value(&ev);
                    let value = if integer { v.trim().parse::<i64>().map(|n| json!(n)).ok() } else { v.trim().parse::<f64>().ok().map(|n| json!(n)) };
                    write(design, &i2, property, value.unwrap_or(Value::Null));
                }/>
        </label>
    }
    .into_any()
}

fn bool_input(design: Design, item: String, property: &'static str, label: &'static str) -> AnyView {
    let ctx = ctx();
    let (i1, i2) = (item.clone(), item);
    view! {
        <label class="check">
            <input type="checkbox" data-test=format!("prop{}", property.replace('/', "-"))
                prop:checked=move || design.def.with(|d| d.pointer(&format!("{i1}{property}")) == Some(&json!(true)))
                on:change=move |ev| write(design, &i2, property, if event_target_checked(&ev) { json!(true) } else { Value::Null })/>
            {move || ctx.t(label)}
        </label>
    }
    .into_any()
}

/// Options as lines of `value | English | 中文`.
fn options_input(design: Design, item: String) -> AnyView {
    let ctx = ctx();
    let (i1, i2) = (item.clone(), item);
    let text = move || {
        design.def.with(|d| {
            d.pointer(&format!("{i1}/options"))
                .and_then(Value::as_array)
                .map(|list| {
                    list.iter()
                        .map(|o| {
                            let s = |p: &str| o.pointer(p).and_then(Value::as_str).unwrap_or_default().to_owned();
                            format!("{} | {} | {}", s("/value"), s("/label/en"), s("/label/zh-CN"))
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_default()
        })
    };
    view! {
        <label>{move || ctx.t("prop.options")}
            <textarea rows="4" data-test="prop-options" prop:value=text on:change=move |ev| {
                let options: Vec<Value> = event_target_value(&ev).lines().filter(|l| !l.trim().is_empty()).map(|line| {
                    let mut parts = line.split('|').map(str::trim);
                    let value = parts.next().unwrap_or_default();
                    let en = parts.next().filter(|s| !s.is_empty()).unwrap_or(value);
                    let zh = parts.next().filter(|s| !s.is_empty()).unwrap_or(en);
                    json!({"value": value, "label": {"en": en, "zh-CN": zh}})
                }).collect();
                write(design, &i2, "/options", Value::Array(options));
            }></textarea>
            <small class="muted">{move || ctx.t("prop.options_help")}</small>
        </label>
    }
    .into_any()
}

/// What a lot field means for traceability: the record produces, consumes or only refers to
/// the lot (nothing: not traced).
fn trace_input(design: Design, item: String) -> AnyView {
    let ctx = ctx();
    let (i1, i2) = (item.clone(), item);
    view! {
        <label>{move || ctx.t("prop.trace")}
            <select data-test="prop-trace" on:change=move |ev| {
                let v = event_target_value(&ev);
                write(design, &i2, "/trace", if v.is_empty() { Value::Null } else { json!(v) });
            }>
                {[("", "prop.trace_none"), ("produces", "prop.trace_produces"), ("consumes", "prop.trace_consumes"), ("refers", "prop.trace_refers")]
                    .into_iter()
                    .map(|(value, label)| {
                        let i = i1.clone();
                        view! { <option value=value selected=move || read(design, &i, "/trace") == value>{move || ctx.t(label)}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
    .into_any()
}

/// Renames the item; a key must be new and of `a-z0-9_`.
fn key_input(design: Design, item: String) -> AnyView {
    let ctx = ctx();
    let error = RwSignal::new(None::<&'static str>);
    let (i1, i2) = (item.clone(), item);
    view! {
        <label>{move || ctx.t("prop.key")}
            <input data-test="prop-key" prop:value=move || read(design, &i1, "/key") on:change=move |ev| {
                let key = event_target_value(&ev);
                let current = read(design, &i2, "/key");
                if key == current { return; }
                let valid = key.len() <= 64
                    && key.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    error.set(Some("prop.key_invalid"));
                } else if design.def.with_untracked(|d| tree::all_keys(d).contains(&key)) {
                    error.set(Some("prop.key_taken"));
                } else {
                    error.set(None);
                    write(design, &i2, "/key", json!(key));
                }
            }/>
            {move || error.get().map(|e| view! { <small class="error">{ctx.t(e)}</small> })}
        </label>
    }
    .into_any()
}

#[component]
pub fn Properties(design: Design, problems: Memo<Vec<(String, String)>>) -> impl IntoView {
    let ctx = ctx();
    view! {
        <div class="card properties" data-test="properties">
            <h3>{move || ctx.t("design.properties")}</h3>
            {move || match design.selected.get() {
                None => view! { <p class="muted">{move || ctx.t("design.select_hint")}</p> }.into_any(),
                Some(pointer) => panel(design, pointer, problems),
            }}
        </div>
    }
}

fn panel(design: Design, item: String, problems: Memo<Vec<(String, String)>>) -> AnyView {
    let ctx = ctx();
    let kind = design
        .def
        .with_untracked(|d| d.pointer(&format!("{item}/type")).and_then(Value::as_str).unwrap_or_default().to_owned());
    let layout = matches!(kind.as_str(), "section" | "columns");
    let mut parts: Vec<AnyView> = vec![key_input(design, item.clone())];
    if kind != "columns" {
        parts.push(text_input(design, item.clone(), "/label/en", "prop.label_en", false));
        parts.push(text_input(design, item.clone(), "/label/zh-CN", "prop.label_zh", false));
    }
    if !layout {
        parts.push(text_input(design, item.clone(), "/help/en", "prop.help_en", false));
        parts.push(text_input(design, item.clone(), "/help/zh-CN", "prop.help_zh", false));
        parts.push(bool_input(design, item.clone(), "/required", "prop.required"));
        parts.push(bool_input(design, item.clone(), "/read_only", "prop.read_only"));
    }
    match kind.as_str() {
        "text" | "textarea" => {
            parts.push(number_input(design, item.clone(), "/max_length", "prop.max_length", true));
            parts.push(text_input(design, item.clone(), "/pattern", "prop.pattern", false));
        }
        "number" => {
            parts.push(bool_input(design, item.clone(), "/integer", "prop.integer"));
            parts.push(number_input(design, item.clone(), "/min", "prop.min", false));
            parts.push(number_input(design, item.clone(), "/max", "prop.max", false));
            parts.push(number_input(design, item.clone(), "/precision", "prop.precision", true));
            parts.push(text_input(design, item.clone(), "/unit", "prop.unit", false));
        }
        "select" | "multiselect" => parts.push(options_input(design, item.clone())),
        "measurement" => {
            parts.push(number_input(design, item.clone(), "/nominal", "prop.nominal", false));
            parts.push(number_input(design, item.clone(), "/lsl", "prop.lsl", false));
            parts.push(number_input(design, item.clone(), "/usl", "prop.usl", false));
            parts.push(text_input(design, item.clone(), "/unit", "prop.unit", false));
            parts.push(number_input(design, item.clone(), "/samples", "prop.samples", true));
            parts.push(number_input(design, item.clone(), "/precision", "prop.precision", true));
        }
        "computed" => parts.push(text_input(design, item.clone(), "/expr", "prop.expr", true)),
        "auto_number" => parts.push(text_input(design, item.clone(), "/pattern", "prop.number_pattern", false)),
        "relation" => parts.push(text_input(design, item.clone(), "/form", "prop.target_form", false)),
        "subtable" => {
            parts.push(number_input(design, item.clone(), "/min_rows", "prop.min_rows", true));
            parts.push(number_input(design, item.clone(), "/max_rows", "prop.max_rows", true));
        }
        "attachment" => parts.push(number_input(design, item.clone(), "/max_files", "prop.max_files", true)),
        "lot" | "barcode" => parts.push(trace_input(design, item.clone())),
        _ => {}
    }
    if !layout {
        parts.push(text_input(design, item.clone(), "/visible_if", "prop.visible_if", false));
        parts.push(text_input(design, item.clone(), "/required_if", "prop.required_if", false));
    }
    let own = item.clone();
    let mine = move || {
        problems.with(|list| {
            list.iter()
                .filter(|(p, _)| p == &own || p.starts_with(&format!("{own}/")))
                .map(|(p, m)| format!("{} {m}", p.trim_start_matches(&own)))
                .collect::<Vec<_>>()
        })
    };
    view! {
        <div class="props" data-test=format!("props-{kind}")>
            {parts}
            <div data-test="prop-feedback">
                {move || {
                    let list = mine();
                    if list.is_empty() {
                        view! { <p class="ok-text" data-test="prop-ok">"✓ "{move || ctx.t("prop.compiles")}</p> }.into_any()
                    } else {
                        list.into_iter().map(|m| view! { <p class="error" data-test="prop-problem">{m}</p> }).collect_view().into_any()
                    }
                }}
            </div>
        </div>
    }
    .into_any()
}
