//! The graph as SVG: nodes as boxes (shape by kind), edges as arrows labelled with their
//! condition, problems outlined in red with their messages as tooltips. Clicks select; in
//! connect mode two clicks draw an edge.

use leptos::prelude::*;
use serde_json::{Value, json};

use super::layout::{NODE_H, NODE_W, layout};
use super::{Flow, Selected};
use crate::app::ctx;
use crate::pages::text_of;

#[component]
pub fn Graph(flow: Flow) -> impl IntoView {
    let ctx = ctx();
    let click_node = move |i: usize| match flow.connecting.get_untracked() {
        Some(None) => flow.connecting.set(Some(Some(i))),
        Some(Some(from)) => {
            flow.edit(|d| {
                let id = |k: usize| d["nodes"][k]["id"].clone();
                let edge = json!({"from": id(from), "to": id(i)});
                let exists = d["edges"]
                    .as_array()
                    .is_some_and(|e| e.iter().any(|x| x["from"] == edge["from"] && x["to"] == edge["to"]));
                if !exists
                    && from != i
                    && let Some(edges) = d["edges"].as_array_mut()
                {
                    edges.push(edge);
                }
            });
            flow.connecting.set(None);
        }
        None => flow.selected.set(Some(Selected::Node(i))),
    };
    view! {
        <div class="card graph-wrap" data-test="workflow-graph">
            {move || {
                let def = flow.def.get();
                let l = layout(&def);
                let nodes = def["nodes"].as_array().cloned().unwrap_or_default();
                let edges = def["edges"].as_array().cloned().unwrap_or_default();
                let index_of = |id: &Value| nodes.iter().position(|n| &n["id"] == id);
                let edge_views = edges.iter().enumerate().filter_map(|(e, edge)| {
                    let (from, to) = (index_of(&edge["from"])?, index_of(&edge["to"])?);
                    let (fx, fy) = l.at[from];
                    let (tx, ty) = l.at[to];
                    let (x1, y1) = (fx + NODE_W, fy + NODE_H / 2.0);
                    let (x2, y2) = (tx, ty + NODE_H / 2.0);
                    // Forward edges are straight; an edge back to an earlier column loops below.
                    let d = if x2 > x1 {
                        format!("M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}", x1 + 40.0, x2 - 40.0)
                    } else {
                        let low = fy.max(ty) + NODE_H + 28.0;
                        format!("M{},{} C{},{low} {},{low} {},{}", fx + NODE_W / 2.0, fy + NODE_H, fx + NODE_W / 2.0, tx + NODE_W / 2.0, tx + NODE_W / 2.0, ty + NODE_H)
                    };
                    let (ax, ay, back) = if x2 > x1 { (x2, y2, false) } else { (tx + NODE_W / 2.0, ty + NODE_H, true) };
                    let arrow = if back {
                        format!("{ax},{ay} {},{} {},{}", ax - 5.0, ay + 9.0, ax + 5.0, ay + 9.0)
                    } else {
                        format!("{ax},{ay} {},{} {},{}", ax - 9.0, ay - 5.0, ax - 9.0, ay + 5.0)
                    };
                    let label = match (edge["when"].as_str(), edge["default"].as_bool()) {
                        (Some(w), _) => w.chars().take(28).collect::<String>(),
                        (None, Some(true)) => ctx.t("flow.otherwise").to_owned(),
                        _ => String::new(),
                    };
                    let (lx, ly) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 6.0);
                    let problems = flow.problems_of("edges", e);
                    let bad = !problems.is_empty();
                    let selected = move || flow.selected.get() == Some(Selected::Edge(e));
                    Some(view! {
                        <g class="edge" class:bad=bad class:selected=selected data-test=format!("edge-{}-{}", edge["from"].as_str().unwrap_or_default(), edge["to"].as_str().unwrap_or_default())
                            on:click=move |ev| { ev.stop_propagation(); flow.selected.set(Some(Selected::Edge(e))); }>
                            <path d=d.clone() class="edge-hit"/>
                            <path d=d class="edge-line"/>
                            <polygon points=arrow class="edge-arrow"/>
                            <text x=lx y=ly text-anchor="middle" class="edge-label">{label}</text>
                            <title>{problems.join("\n")}</title>
                        </g>
                    })
                }).collect_view();
                let node_views = nodes.iter().enumerate().map(|(i, node)| {
                    let (x, y) = l.at[i];
                    let kind = node["kind"].as_str().unwrap_or_default().to_owned();
                    let id = node["id"].as_str().unwrap_or_default().to_owned();
                    let name = node["name"].clone();
                    let problems = flow.problems_of("nodes", i);
                    let bad = !problems.is_empty();
                    let selected = move || flow.selected.get() == Some(Selected::Node(i))
                        || flow.connecting.get() == Some(Some(i));
                    let shape = match kind.as_str() {
                        "start" | "end" => view! { <rect x=x y=y width=NODE_W height=NODE_H rx="26" class="node-shape"/> }.into_any(),
                        "condition" => view! { <polygon class="node-shape" points=format!("{},{y} {},{} {},{} {x},{}", x + NODE_W / 2.0, x + NODE_W, y + NODE_H / 2.0, x + NODE_W / 2.0, y + NODE_H, y + NODE_H / 2.0)/> }.into_any(),
                        _ => view! { <rect x=x y=y width=NODE_W height=NODE_H rx="6" class="node-shape"/> }.into_any(),
                    };
                    let title = { let id = id.clone(); move || { let t = text_of(&name); if t.is_empty() { id.clone() } else { t } } };
                    let kind_label = kind.clone();
                    view! {
                        <g class=format!("wf-node kind-{kind}") class:bad=bad class:selected=selected data-test=format!("node-{id}")
                            on:click=move |ev| { ev.stop_propagation(); click_node(i); }>
                            {shape}
                            <text x=x + NODE_W / 2.0 y=y + 22.0 text-anchor="middle" class="node-title">{move || title().chars().take(20).collect::<String>()}</text>
                            <text x=x + NODE_W / 2.0 y=y + 38.0 text-anchor="middle" class="node-kind">{move || ctx.t(&format!("flow.kind.{kind_label}"))}</text>
                            <title>{problems.join("\n")}</title>
                        </g>
                    }
                }).collect_view();
                view! {
                    <svg class="flow" viewBox=format!("0 0 {} {}", l.width, l.height) width=l.width height=l.height role="img"
                        on:click=move |_| flow.selected.set(None)>
                        {edge_views}
                        {node_views}
                    </svg>
                }
            }}
        </div>
    }
}
