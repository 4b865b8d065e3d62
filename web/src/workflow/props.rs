//! Property panels: the trigger, the selected node (by kind) and the selected edge. Every
//! change is an edit of the definition; the engine's problems for the selection show below.

use leptos::prelude::*;
use serde_json::{Value, json};

use super::{Flow, Selected};
use crate::app::ctx;
use crate::fields::set_at;

fn read(flow: Flow, pointer: &str) -> Value {
    flow.def.with(|d| d.pointer(pointer).cloned().unwrap_or(Value::Null))
}

fn text(flow: Flow, pointer: &str) -> String {
    match read(flow, pointer) {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
        _ => String::new(),
    }
}

fn write(flow: Flow, pointer: &str, value: Value) {
    let pointer = pointer.to_owned();
    flow.edit(move |d| set_at(d, &pointer, value));
}

/// A text property; `list` reads and writes comma-separated lists.
fn text_prop(flow: Flow, pointer: String, label: &'static str, list: bool, multiline: bool) -> AnyView {
    let ctx = ctx();
    let p = pointer.clone();
    let test = format!(
        "wf-prop{}",
        pointer
            .rsplit('/')
            .take(if list { 2 } else { 1 })
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(|s| format!("-{s}"))
            .collect::<String>()
    );
    let change = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        let value = if list {
            let items: Vec<Value> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| json!(s)).collect();
            if items.is_empty() { Value::Null } else { Value::Array(items) }
        } else if v.trim().is_empty() {
            Value::Null
        } else {
            json!(v)
        };
        write(flow, &p, value);
    };
    let value = move || text(flow, &pointer);
    let input = if multiline {
        view! { <textarea rows="4" data-test=test prop:value=value on:change=change></textarea> }.into_any()
    } else {
        view! { <input data-test=test prop:value=value on:change=change/> }.into_any()
    };
    view! { <label>{move || ctx.t(label)}{input}</label> }.into_any()
}

fn select_prop(flow: Flow, pointer: String, label: &'static str, options: Vec<(String, String)>) -> AnyView {
    let ctx = ctx();
    let p = pointer.clone();
    view! {
        <label>{move || ctx.t(label)}
            <select data-test=format!("wf-prop-{}", pointer.rsplit('/').next().unwrap_or_default()) on:change=move |ev| {
                let v = event_target_value(&ev);
                write(flow, &p, if v.is_empty() { Value::Null } else { json!(v) });
            }>
                {options.into_iter().map(|(value, shown)| {
                    let (v, p) = (value.clone(), pointer.clone());
                    view! { <option value=value selected=move || text(flow, &p) == v>{shown}</option> }
                }).collect_view()}
            </select>
        </label>
    }
    .into_any()
}

fn options(values: &[&str]) -> Vec<(String, String)> {
    values.iter().map(|v| ((*v).to_owned(), if v.is_empty() { "—".to_owned() } else { v.replace('_', " ") })).collect()
}

#[component]
pub fn TriggerPanel(flow: Flow) -> impl IntoView {
    let ctx = ctx();
    view! {
        <details class="card" data-test="trigger-panel">
            <summary><strong>{move || ctx.t("flow.trigger")}</strong>" · "{move || text(flow, "/trigger/on").replace('_', " ")}</summary>
            {select_prop(flow, "/trigger/on".into(), "flow.trigger_on", options(&["submitted", "field_changed", "schedule"]))}
            {move || match text(flow, "/trigger/on").as_str() {
                "field_changed" => view! {
                    {select_prop(flow, "/trigger/field".into(), "flow.field", field_options(flow))}
                    {text_prop(flow, "/trigger/to".into(), "flow.to_value", false, false)}
                }.into_any(),
                "schedule" => view! {
                    {text_prop(flow, "/trigger/every".into(), "flow.every", false, false)}
                    {text_prop(flow, "/trigger/when".into(), "flow.when", false, true)}
                }.into_any(),
                _ => ().into_any(),
            }}
        </details>
    }
}

fn field_options(flow: Flow) -> Vec<(String, String)> {
    let mut list = vec![(String::new(), "—".to_owned())];
    list.extend(flow.fields.get_untracked().into_iter().map(|f| (f.clone(), f)));
    list
}

#[component]
pub fn Properties(flow: Flow) -> impl IntoView {
    let ctx = ctx();
    view! {
        <div class="card" data-test="workflow-properties">
            <h3>{move || ctx.t("design.properties")}</h3>
            {move || match flow.selected.get() {
                None => view! { <p class="muted">{move || ctx.t("flow.select_hint")}</p> }.into_any(),
                Some(Selected::Node(i)) => node_panel(flow, i),
                Some(Selected::Edge(i)) => edge_panel(flow, i),
            }}
        </div>
    }
}

fn feedback(flow: Flow, kind: &'static str, index: usize) -> AnyView {
    let ctx = ctx();
    view! {
        <div data-test="wf-feedback">
            {move || {
                let list = flow.problems_of(kind, index);
                if list.is_empty() {
                    view! { <p class="ok-text" data-test="wf-ok">"✓ "{move || ctx.t("prop.compiles")}</p> }.into_any()
                } else {
                    list.into_iter().map(|m| view! { <p class="error" data-test="wf-problem">{m}</p> }).collect_view().into_any()
                }
            }}
        </div>
    }
    .into_any()
}

fn node_panel(flow: Flow, i: usize) -> AnyView {
    let ctx = ctx();
    let base = format!("/nodes/{i}");
    let kind = text(flow, &format!("{base}/kind"));
    let id = text(flow, &format!("{base}/id"));
    let mut parts: Vec<AnyView> = vec![
        text_prop(flow, format!("{base}/name/en"), "prop.label_en", false, false),
        text_prop(flow, format!("{base}/name/zh-CN"), "prop.label_zh", false, false),
    ];
    let node_ids: Vec<(String, String)> = std::iter::once((String::new(), "—".to_owned()))
        .chain(flow.def.with_untracked(|d| {
            d["nodes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|n| n["id"].as_str().map(|s| (s.to_owned(), s.to_owned())))
                .collect::<Vec<_>>()
        }))
        .collect();
    match kind.as_str() {
        "approval" => {
            parts.push(text_prop(flow, format!("{base}/assignees/roles"), "flow.roles", true, false));
            parts.push(text_prop(flow, format!("{base}/assignees/users"), "flow.users", true, false));
            parts.push(select_prop(flow, format!("{base}/assignees/field"), "flow.user_field", field_options(flow)));
            let p = format!("{base}/assignees/submitter");
            let p2 = p.clone();
            parts.push(view! {
                <label class="check"><input type="checkbox" data-test="wf-prop-submitter" prop:checked=move || read(flow, &p) == json!(true)
                    on:change=move |ev| write(flow, &p2, if event_target_checked(&ev) { json!(true) } else { Value::Null })/>
                    {move || ctx.t("flow.submitter")}</label>
            }.into_any());
            parts.push(select_prop(
                flow,
                format!("{base}/mode"),
                "flow.mode",
                options(&["any", "all", "sequential", "ratio"]),
            ));
            parts.push(text_prop(flow, format!("{base}/required"), "flow.required", false, false));
            parts.push(select_prop(flow, format!("{base}/on_reject"), "flow.on_reject", node_ids));
            parts.push(text_prop(flow, format!("{base}/sla/after"), "flow.sla_after", false, false));
            parts.push(select_prop(
                flow,
                format!("{base}/sla/then"),
                "flow.sla_then",
                options(&["", "remind", "escalate", "auto_approve", "auto_reject"]),
            ));
            parts.push(editable_fields(flow, format!("{base}/editable_fields")));
        }
        "action" => {
            parts.push(text_prop(flow, format!("{base}/script"), "flow.script", false, true));
            parts.push(select_prop(flow, format!("{base}/error_field"), "flow.error_field", field_options(flow)));
        }
        "timer" => {
            parts.push(text_prop(flow, format!("{base}/after"), "flow.after", false, false));
            parts.push(select_prop(flow, format!("{base}/until_field"), "flow.until_field", field_options(flow)));
        }
        "end" => {
            parts.push(select_prop(flow, format!("{base}/outcome"), "flow.outcome", options(&["approved", "rejected"])))
        }
        _ => {}
    }
    let test = format!("wf-props-{kind}");
    view! {
        <div data-test=test>
            <p class="muted"><code>{id}</code>" · "{move || ctx.t(&format!("flow.kind.{kind}"))}</p>
            {parts}
            {feedback(flow, "nodes", i)}
        </div>
    }
    .into_any()
}

/// Field permissions: which fields the approver may edit.
fn editable_fields(flow: Flow, pointer: String) -> AnyView {
    let ctx = ctx();
    view! {
        <fieldset class="plain">
            <legend>{move || ctx.t("flow.editable_fields")}</legend>
            {move || flow.fields.get().into_iter().map(|f| {
                let (p, p2, f1, f2) = (pointer.clone(), pointer.clone(), f.clone(), f.clone());
                view! {
                    <label class="check"><input type="checkbox"
                        prop:checked=move || read(flow, &p).as_array().is_some_and(|a| a.iter().any(|x| x == &json!(f1)))
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            let mut list: Vec<Value> = read(flow, &p2).as_array().cloned().unwrap_or_default();
                            list.retain(|x| x != &json!(f2));
                            if on { list.push(json!(f2)); }
                            write(flow, &p2, if list.is_empty() { Value::Null } else { Value::Array(list) });
                        }/>{f.clone()}</label>
                }
            }).collect_view()}
        </fieldset>
    }
    .into_any()
}

fn edge_panel(flow: Flow, i: usize) -> AnyView {
    let ctx = ctx();
    let base = format!("/edges/{i}");
    let (from, to) = (text(flow, &format!("{base}/from")), text(flow, &format!("{base}/to")));
    let p = format!("{base}/default");
    let p2 = p.clone();
    view! {
        <div data-test="wf-props-edge">
            <p class="muted"><code>{from}</code>" → "<code>{to}</code></p>
            {text_prop(flow, format!("{base}/when"), "flow.when", false, true)}
            <label class="check"><input type="checkbox" data-test="wf-prop-default" prop:checked=move || read(flow, &p) == json!(true)
                on:change=move |ev| write(flow, &p2, if event_target_checked(&ev) { json!(true) } else { Value::Null })/>
                {move || ctx.t("flow.otherwise")}</label>
            {feedback(flow, "edges", i)}
        </div>
    }
    .into_any()
}
