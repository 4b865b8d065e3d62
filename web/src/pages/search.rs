//! Full-text search over the records one may read, and the lot trace drawn as a graph whose
//! nodes link to their records.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::when;
use crate::api::ws_path;
use crate::app::ctx;
use crate::route::Page;

/// A search snippet (tantivy's HTML with `<b>` around matches, text escaped) as text and
/// highlighted parts; nothing of it is ever parsed as HTML.
pub fn snippet_parts(html: &str) -> Vec<(String, bool)> {
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&#x27;", "'")
            .replace("&amp;", "&")
    };
    let mut parts = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find("<b>") {
        if start > 0 {
            parts.push((unescape(&rest[..start]), false));
        }
        let after = &rest[start + 3..];
        let end = after.find("</b>").unwrap_or(after.len());
        parts.push((unescape(&after[..end]), true));
        rest = after.get(end + 4..).unwrap_or("");
    }
    if !rest.is_empty() {
        parts.push((unescape(rest), false));
    }
    parts
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let ctx = ctx();
    let q = RwSignal::new(String::new());
    let form = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let results = RwSignal::new(None::<Vec<Value>>);
    let search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ws = ctx.ws();
        let mut path = ws_path(&ws, &format!("/search?q={}", js_sys::encode_uri_component(&q.get_untracked())));
        for (name, value) in [("form", form), ("from", from), ("to", to)] {
            let value = value.get_untracked();
            if !value.trim().is_empty() {
                path.push_str(&format!("&{name}={}", js_sys::encode_uri_component(value.trim())));
            }
        }
        spawn_local(async move {
            match ctx.client().get(&path).await {
                Ok(body) => results.set(Some(body["items"].as_array().cloned().unwrap_or_default())),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    view! {
        <h1>{move || ctx.t("search.title")}</h1>
        <form class="filters card" on:submit=search role="search">
            <input type="search" data-test="search-q" aria-label=move || ctx.t("search.title") placeholder=move || ctx.t("search.hint")
                prop:value=move || q.get() on:input=move |ev| q.set(event_target_value(&ev))/>
            <input data-test="search-form" aria-label=move || ctx.t("dash.form") placeholder=move || ctx.t("dash.form")
                prop:value=move || form.get() on:input=move |ev| form.set(event_target_value(&ev))/>
            <input type="date" aria-label=move || ctx.t("dash.from") on:change=move |ev| from.set(event_target_value(&ev))/>
            <input type="date" aria-label=move || ctx.t("dash.to") on:change=move |ev| to.set(event_target_value(&ev))/>
            <button type="submit" class="primary" data-test="search-go">{move || ctx.t("search.go")}</button>
        </form>
        {move || results.get().map(|items| if items.is_empty() {
            view! { <p class="muted" data-test="search-empty">{move || ctx.t("search.none")}</p> }.into_any()
        } else {
            view! {
                <ul class="results" data-test="search-results">
                    {items.into_iter().map(|hit| {
                        let id = hit["record"].as_str().unwrap_or_default().to_owned();
                        let parts = snippet_parts(hit["snippet"].as_str().unwrap_or_default());
                        view! {
                            <li class="card clickable" data-test="search-hit" on:click=move |_| ctx.go(Page::Record(id.clone()))>
                                <strong>{hit["form"].as_str().unwrap_or_default().to_owned()}</strong>
                                <span class="muted">" · "{when(&hit["created_at"])}</span>
                                <p>{parts.into_iter().map(|(t, mark)| if mark { view! { <mark>{t}</mark> }.into_any() } else { view! { <span>{t}</span> }.into_any() }).collect_view()}</p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        })}
    }
}

#[component]
pub fn TracePage() -> impl IntoView {
    let ctx = ctx();
    let lot = RwSignal::new(String::new());
    let direction = RwSignal::new("backward".to_owned());
    let depth = RwSignal::new("5".to_owned());
    let trace = RwSignal::new(None::<Value>);
    let go = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ws = ctx.ws();
        let path = ws_path(
            &ws,
            &format!(
                "/trace?lot={}&direction={}&depth={}",
                js_sys::encode_uri_component(&lot.get_untracked()),
                direction.get_untracked(),
                depth.get_untracked()
            ),
        );
        spawn_local(async move {
            match ctx.client().get(&path).await {
                Ok(body) => trace.set(Some(body)),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    view! {
        <h1>{move || ctx.t("trace.title")}</h1>
        <form class="filters card" on:submit=go>
            <input data-test="trace-lot" required aria-label=move || ctx.t("trace.lot") placeholder=move || ctx.t("trace.lot")
                prop:value=move || lot.get() on:input=move |ev| lot.set(event_target_value(&ev))/>
            <select data-test="trace-direction" aria-label=move || ctx.t("trace.direction") on:change=move |ev| direction.set(event_target_value(&ev))>
                <option value="backward">{move || ctx.t("trace.backward")}</option>
                <option value="forward">{move || ctx.t("trace.forward")}</option>
            </select>
            <input type="number" min="1" max="20" aria-label=move || ctx.t("trace.depth") prop:value=move || depth.get() on:input=move |ev| depth.set(event_target_value(&ev))/>
            <button type="submit" class="primary" data-test="trace-go">{move || ctx.t("trace.go")}</button>
        </form>
        {move || trace.get().map(graph)}
    }
}

/// Nodes in columns by depth, edges as lines labelled with the linking field and lot.
fn graph(trace: Value) -> AnyView {
    let ctx = ctx();
    let nodes = trace["nodes"].as_array().cloned().unwrap_or_default();
    let edges = trace["edges"].as_array().cloned().unwrap_or_default();
    if nodes.is_empty() {
        return view! { <p class="muted" data-test="trace-empty">{move || ctx.t("trace.none")}</p> }.into_any();
    }
    let (col_w, row_h, box_w, box_h) = (220.0, 70.0, 180.0, 48.0);
    let mut per_depth: Vec<usize> = Vec::new();
    let mut place = std::collections::HashMap::new();
    for node in &nodes {
        let d = node["depth"].as_u64().unwrap_or(0) as usize;
        if per_depth.len() <= d {
            per_depth.resize(d + 1, 0);
        }
        let row = per_depth[d];
        per_depth[d] += 1;
        let id = node["record"].as_str().unwrap_or_default().to_owned();
        place.insert(id, (20.0 + col_w * d as f64, 20.0 + row_h * row as f64));
    }
    let width = 40.0 + col_w * per_depth.len() as f64;
    let height = 40.0 + row_h * per_depth.iter().copied().max().unwrap_or(1) as f64;
    let lines = edges
        .iter()
        .filter_map(|e| {
            let from = place.get(e["from"].as_str()?)?;
            let to = place.get(e["to"].as_str()?)?;
            let (x1, y1, x2, y2) = (from.0 + box_w, from.1 + box_h / 2.0, to.0, to.1 + box_h / 2.0);
            let (x1, x2, y1, y2) = if x2 >= x1 { (x1, x2, y1, y2) } else { (to.0 + box_w, from.0, y2, y1) };
            let tip =
                format!("{} · {}", e["field"].as_str().unwrap_or_default(), e["lot"].as_str().unwrap_or_default());
            Some(view! { <line x1=x1 y1=y1 x2=x2 y2=y2 class="edge"><title>{tip}</title></line> })
        })
        .collect_view();
    let boxes = nodes
        .iter()
        .map(|n| {
            let id = n["record"].as_str().unwrap_or_default().to_owned();
            let (x, y) = place.get(&id).copied().unwrap_or_default();
            let lots: Vec<String> = n["lots"].as_object().map(|o| o.values().flat_map(|v| v.as_array().cloned().unwrap_or_default()).filter_map(|v| v.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            let form = n["form"].as_str().unwrap_or_default().to_owned();
            let target = id.clone();
            view! {
                <g class="node clickable" data-test="trace-node" on:click=move |_| ctx.go(Page::Record(target.clone()))>
                    <rect x=x y=y width=box_w height=box_h rx="6"/>
                    <text x=x + 8.0 y=y + 18.0 class="node-form">{form}</text>
                    <text x=x + 8.0 y=y + 36.0 class="axis">{lots.join(", ").chars().take(26).collect::<String>()}</text>
                    <title>{id.clone()}</title>
                </g>
            }
        })
        .collect_view();
    view! {
        <div class="card table-wrap">
            <svg class="trace" viewBox=format!("0 0 {width} {height}") width=width height=height role="img">{lines}{boxes}</svg>
        </div>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::snippet_parts;

    #[test]
    fn snippets_are_text_with_marks() {
        assert_eq!(
            snippet_parts("a &lt;b&gt; <b>scratch</b> on &amp; <b>lot</b>"),
            vec![
                ("a <b> ".to_owned(), false),
                ("scratch".to_owned(), true),
                (" on & ".to_owned(), false),
                ("lot".to_owned(), true)
            ]
        );
        assert!(snippet_parts("").is_empty());
    }
}
