//! A form's records (filter, sort, columns, export) and one record as filled, with its
//! workflow status, its history and its audit trail.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use super::{cell, text_of, when};
use crate::api::ws_path;
use crate::app::ctx;
use crate::filler::{Env, FormView};
use crate::route::Page;

/// Top-level data fields of a definition (layout items opened up): (key, label).
pub fn columns_of(definition: &Value) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    fn walk(list: &[Value], out: &mut Vec<(String, Value)>) {
        for item in list {
            match item["type"].as_str() {
                Some("section") => walk(item["fields"].as_array().map_or(&[], Vec::as_slice), out),
                Some("columns") => {
                    for c in item["columns"].as_array().into_iter().flatten() {
                        walk(c["fields"].as_array().map_or(&[], Vec::as_slice), out);
                    }
                }
                _ => out.push((item["key"].as_str().unwrap_or_default().to_owned(), item["label"].clone())),
            }
        }
    }
    walk(definition["fields"].as_array().map_or(&[], Vec::as_slice), &mut out);
    out
}

#[component]
pub fn RecordList(key: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let columns = RwSignal::new(Vec::<(String, Value)>::new());
    let shown = RwSignal::new(Vec::<String>::new());
    let records = RwSignal::new(Vec::<Value>::new());
    let next = RwSignal::new(None::<String>);
    let total = RwSignal::new(None::<i64>);
    let sort = RwSignal::new(None::<(String, bool)>);
    let filter_field = RwSignal::new(String::new());
    let filter_op = RwSignal::new("contains".to_owned());
    let filter_value = RwSignal::new(String::new());
    let query = move |after: Option<String>| {
        let mut q = vec!["limit=50".to_owned(), "total=true".to_owned()];
        match sort.get_untracked() {
            Some((field, desc)) => q.push(format!("sort={}{field}", if desc { "-" } else { "" })),
            None => q.push("order=desc".to_owned()),
        }
        let (f, v) = (filter_field.get_untracked(), filter_value.get_untracked());
        if !f.is_empty() && !v.is_empty() {
            q.push(format!("f.{f}:{}={}", filter_op.get_untracked(), js_sys::encode_uri_component(&v)));
        }
        if let Some(after) = after {
            q.push(format!("after={after}"));
        }
        q.join("&")
    };
    let load = {
        let (ws, key) = (ws.clone(), key.clone());
        move |after: Option<String>| {
            let append = after.is_some();
            let path = ws_path(&ws, &format!("/forms/{key}/records?{}", query(after)));
            spawn_local(async move {
                match ctx.client().get(&path).await {
                    Ok(body) => {
                        let items = body["items"].as_array().cloned().unwrap_or_default();
                        if append {
                            records.update(|r| r.extend(items))
                        } else {
                            records.set(items)
                        }
                        next.set(body["next_after"].as_str().map(str::to_owned));
                        total.set(body["total"].as_i64());
                    }
                    Err(e) => ctx.fail(e.message),
                }
            });
        }
    };
    {
        let (ws, key, load) = (ws.clone(), key.clone(), load.clone());
        spawn_local(async move {
            if let Ok(Some((_, definition))) = ctx.client().latest_definition(&ws, &key).await {
                let cols = columns_of(&definition);
                shown.set(cols.iter().take(6).map(|(k, _)| k.clone()).collect());
                columns.set(cols);
            }
            load(None);
        });
    }
    let export = {
        let (ws, key) = (ws.clone(), key.clone());
        move |format: &'static str| {
            let (ws, key) = (ws.clone(), key.clone());
            move |_| {
                let body = json!({
                    "report": {"form": key, "measures": [{"fn": "count", "as": "records"}]},
                    "format": format,
                    "records": true,
                });
                let (ws, key) = (ws.clone(), key.clone());
                spawn_local(async move {
                    match ctx.client().download(&ws_path(&ws, "/reports/export"), &body).await {
                        Ok(url) => save_as(&url, &format!("{key}.{format}")),
                        Err(e) => ctx.fail(e.message),
                    }
                });
            }
        }
    };
    let (load_filter, load_sort, load_more) = (load.clone(), load.clone(), load.clone());
    let fill_key = key.clone();
    view! {
        <div class="page-head">
            <h1>{move || ctx.t("records.title")}" · "<code>{key.clone()}</code></h1>
            <div class="toolbar">
                <button class="primary" on:click=move |_| ctx.go(Page::Fill(fill_key.clone()))>{move || ctx.t("forms.fill")}</button>
                <button data-test="export-csv" on:click=export("csv")>"CSV"</button>
                <button data-test="export-xlsx" on:click=export("xlsx")>"XLSX"</button>
            </div>
        </div>
        <form class="filters card" on:submit=move |ev| { ev.prevent_default(); load_filter(None); }>
            <select data-test="filter-field" aria-label=move || ctx.t("records.filter_field") on:change=move |ev| filter_field.set(event_target_value(&ev))>
                <option value="">{move || ctx.t("records.filter_field")}</option>
                {move || columns.get().into_iter().map(|(k, l)| view! { <option value=k.clone()>{move || text_of(&l)}" ("{k.clone()}")"</option> }).collect_view()}
            </select>
            <select aria-label=move || ctx.t("records.filter_op") on:change=move |ev| filter_op.set(event_target_value(&ev))>
                {["contains", "eq", "ne", "gt", "gte", "lt", "lte"].into_iter().map(|op| view! { <option value=op>{op}</option> }).collect_view()}
            </select>
            <input data-test="filter-value" aria-label=move || ctx.t("records.filter_value") prop:value=move || filter_value.get() on:input=move |ev| filter_value.set(event_target_value(&ev))/>
            <button type="submit" data-test="records-apply">{move || ctx.t("records.apply")}</button>
            <details class="column-chooser">
                <summary>{move || ctx.t("records.columns")}</summary>
                {move || columns.get().into_iter().map(|(k, l)| {
                    let (k1, k2) = (k.clone(), k.clone());
                    view! {
                        <label class="check"><input type="checkbox" prop:checked=move || shown.with(|s| s.contains(&k1))
                            on:change=move |ev| { let on = event_target_checked(&ev); shown.update(|s| { s.retain(|x| x != &k2); if on { s.push(k2.clone()); } }); }/>
                            {move || text_of(&l)}</label>
                    }
                }).collect_view()}
            </details>
        </form>
        <p class="muted" data-test="records-total">{move || total.get().map(|t| format!("{t} {}", ctx.t("records.count")))}</p>
        <div class="table-wrap">
            <table class="table" data-test="records-table">
                <thead><tr>
                    <th>{move || ctx.t("records.created")}</th>
                    {move || shown.get().into_iter().map(|k| {
                        let label = columns.with(|c| c.iter().find(|(ck, _)| ck == &k).map(|(_, l)| l.clone())).unwrap_or(Value::Null);
                        let (k1, k2) = (k.clone(), k.clone());
                        let load = load_sort.clone();
                        let arrow = move || sort.with(|s| match s { Some((f, d)) if f == &k1 => if *d { " ▼" } else { " ▲" }, _ => "" });
                        view! { <th class="sortable" on:click=move |_| {
                            sort.update(|s| *s = Some((k2.clone(), matches!(s, Some((f, false)) if f == &k2))));
                            load(None);
                        }>{let k = k.clone(); move || { let t = text_of(&label); if t.is_empty() { k.clone() } else { t } }}{arrow}</th> }
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    {move || records.get().into_iter().map(|r| {
                        let id = r["id"].as_str().unwrap_or_default().to_owned();
                        let data = r["data"].clone();
                        view! {
                            <tr class="clickable" data-test="record-row" on:click=move |_| ctx.go(Page::Record(id.clone()))>
                                <td>{when(&r["created_at"])}</td>
                                {shown.get().into_iter().map(|k| view! { <td>{cell(&data[&k])}</td> }).collect_view()}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {move || next.get().map(|after| { let load = load_more.clone(); view! {
            <button on:click=move |_| load(Some(after.clone()))>{move || ctx.t("records.more")}</button>
        }})}
    }
}

/// Hands a blob URL to the browser as a download.
pub fn save_as(url: &str, name: &str) {
    use wasm_bindgen::JsCast;
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    if let Some(link) = document.create_element("a").ok().and_then(|e| e.dyn_into::<web_sys::HtmlAnchorElement>().ok())
    {
        link.set_href(url);
        link.set_download(name);
        link.click();
    }
}

#[component]
pub fn RecordPage(id: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let record = RwSignal::new(None::<Value>);
    let definition = RwSignal::new(None::<Value>);
    let history = RwSignal::new(Vec::<Value>::new());
    {
        let (ws, id) = (ws.clone(), id.clone());
        spawn_local(async move {
            let client = ctx.client();
            match client.get(&ws_path(&ws, &format!("/records/{id}"))).await {
                Ok(r) => {
                    let (form, version) =
                        (r["form"].as_str().unwrap_or_default().to_owned(), r["form_version"].clone());
                    record.set(Some(r));
                    // The record renders in its own form version, whatever is published now.
                    if let Ok(v) = client.get(&ws_path(&ws, &format!("/forms/{form}/versions/{version}"))).await {
                        definition.set(Some(v["definition"].clone()));
                    }
                }
                Err(e) => return ctx.fail(e.message),
            }
            if let Ok(h) = client.get(&ws_path(&ws, &format!("/records/{id}/history"))).await {
                history.set(h["items"].as_array().cloned().unwrap_or_default());
            }
        });
    }
    let data = RwSignal::new(json!({}));
    let env = RwSignal::new(None::<Env>);
    Effect::new(move |_| {
        if let Some(r) = record.get() {
            data.set(r["data"].clone());
        }
    });
    view! {
        {move || record.get().map(|r| {
            let workflows = r["workflows"].as_array().cloned().unwrap_or_default();
            view! {
                <div class="page-head">
                    <h1>{r["form"].as_str().unwrap_or_default().to_owned()}" · "<small class="muted"><code data-test="record-id">{r["id"].as_str().unwrap_or_default().to_owned()}</code></small></h1>
                    <span class="muted">{move || ctx.t("records.form_version")}" v"{r["form_version"].to_string()}" · "{when(&r["created_at"])}</span>
                </div>
                <div class="split">
                    <div class="card readonly-form" data-test="record-data">
                        {move || definition.get().map(|d| {
                            let def = Signal::derive(move || d.clone());
                            view! { <fieldset disabled=true class="plain"><FormView definition=def data=data env_out=env/></fieldset> }
                        })}
                    </div>
                    <div class="detail-pane">
                        <div class="card" data-test="record-workflow">
                            <h3>{move || ctx.t("records.workflow")}</h3>
                            {if workflows.is_empty() {
                                view! { <p class="muted">{move || ctx.t("records.no_workflow")}</p> }.into_any()
                            } else {
                                workflows.iter().map(|w| view! {
                                    <p><span class=format!("status {}", w["status"].as_str().unwrap_or_default()) data-test="workflow-status">
                                        {w["status"].as_str().unwrap_or_default().to_owned()}</span>
                                        " · "{when(&w["updated_at"])}</p>
                                }).collect_view().into_any()
                            }}
                        </div>
                        <div class="card" data-test="record-history">
                            <h3>{move || ctx.t("records.history")}</h3>
                            <ol class="timeline">
                                {move || history.get().into_iter().map(|h| view! {
                                    <li><strong>{h["action"].as_str().unwrap_or_default().to_owned()}</strong>
                                        " · "{h["actor"].as_str().unwrap_or_default().to_owned()}" · "{when(&h["at"])}
                                        {h["reason"].as_str().map(|r| view! { <em>" — "{r.to_owned()}</em> })}
                                        <details><summary>{move || ctx.t("records.changes")}</summary><pre>{serde_json::to_string_pretty(&h["changes"]).unwrap_or_default()}</pre></details>
                                    </li>
                                }).collect_view()}
                            </ol>
                        </div>
                    </div>
                </div>
            }
        })}
    }
}
