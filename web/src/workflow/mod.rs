//! The workflow designer: the graph drawn as SVG (laid out from the graph itself), nodes
//! added, connected and removed, property panels per node and edge with compile feedback (the
//! draft saves itself after each pause in editing and the server's engine answers with its
//! problems — the workflow compiler stays out of the browser's download), problems shown on the nodes and edges they concern, save and publish (the
//! server's checks against the workspace come back the same way).

mod graph;
pub mod layout;
mod props;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::api::ws_path;
use crate::app::ctx;
use crate::pages::text_of;
use crate::route::Page;

/// What is selected on the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selected {
    Node(usize),
    Edge(usize),
}

/// The designer's shared state.
#[derive(Clone, Copy)]
pub struct Flow {
    pub def: RwSignal<Value>,
    pub selected: RwSignal<Option<Selected>>,
    /// In connect mode: the node an edge starts from, once clicked.
    pub connecting: RwSignal<Option<Option<usize>>>,
    /// Problems: (pointer, message) of the draft, from the engine on the server (drafts are
    /// saved as they are edited), and those only publishing finds (roles, connectors, forms
    /// of the workspace).
    pub problems: RwSignal<Vec<(String, String)>>,
    pub server_problems: RwSignal<Vec<(String, String)>>,
    /// Counts edits, so that a pause in editing saves the draft once.
    pub edits: RwSignal<u64>,
    /// The form's top-level field keys (for field permissions and timers).
    pub fields: RwSignal<Vec<String>>,
    pub dirty: RwSignal<bool>,
}

impl Flow {
    pub fn edit(&self, change: impl FnOnce(&mut Value)) {
        let before = self.def.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            self.def.set(after);
            self.dirty.set(true);
            self.server_problems.set(Vec::new());
            self.edits.update(|n| *n += 1);
        }
    }

    /// Every problem concerning `(kind, index)`.
    pub fn problems_of(&self, kind: &str, index: usize) -> Vec<String> {
        let mine = |(p, m): &(String, String)| {
            (layout::issue_target(p) == Some((kind_static(kind), index))).then(|| m.clone())
        };
        let mut list: Vec<String> = self.problems.with(|l| l.iter().filter_map(mine).collect());
        list.extend(self.server_problems.with(|l| l.iter().filter_map(mine).collect::<Vec<_>>()));
        list
    }
}

fn kind_static(kind: &str) -> &'static str {
    if kind == "edges" { "edges" } else { "nodes" }
}

/// The draft's problems as the server's engine reports them (`issues` of a workflow answer).
fn issues_of(body: &Value) -> Vec<(String, String)> {
    body["issues"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            let text = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
            (text("path"), text("message"))
        })
        .collect()
}

#[component]
pub fn WorkflowList() -> impl IntoView {
    let ctx = ctx();
    let items = RwSignal::new(None::<Vec<Value>>);
    let ws = ctx.ws();
    spawn_local(async move {
        match ctx.client().get(&ws_path(&ws, "/workflows")).await {
            Ok(body) => items.set(Some(body["items"].as_array().cloned().unwrap_or_default())),
            Err(e) => ctx.fail(e.message),
        }
    });
    view! {
        <div class="page-head">
            <h1>{move || ctx.t("flow.title")}</h1>
            <button class="primary" data-test="new-workflow" on:click=move |_| ctx.go(Page::NewWorkflow)>{move || ctx.t("flow.new")}</button>
        </div>
        {move || items.get().map(|list| view! {
            <ul class="cards" data-test="workflow-list">
                {list.into_iter().map(|w| {
                    let key = w["key"].as_str().unwrap_or_default().to_owned();
                    let name = w["draft"]["name"].clone();
                    let k = key.clone();
                    view! {
                        <li class="card clickable" data-test=format!("workflow-{key}") on:click=move |_| ctx.go(Page::Workflow(k.clone()))>
                            <h3>{move || text_of(&name)}</h3>
                            <p class="muted"><code>{key.clone()}</code>" · "{w["form"].as_str().unwrap_or_default().to_owned()}
                                {w["latest_version"].as_i64().map(|v| format!(" · v{v}"))}</p>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
}

#[component]
pub fn NewWorkflow() -> impl IntoView {
    let ctx = ctx();
    let forms = RwSignal::new(Vec::<Value>::new());
    let key = RwSignal::new(String::new());
    let form = RwSignal::new(String::new());
    let en = RwSignal::new(String::new());
    let zh = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let ws = ctx.ws();
    {
        let ws = ws.clone();
        spawn_local(async move {
            if let Ok(body) = ctx.client().get(&ws_path(&ws, "/forms")).await {
                forms.set(body["items"].as_array().cloned().unwrap_or_default());
            }
        });
    }
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let definition = json!({
            "key": key.get_untracked(), "form": form.get_untracked(),
            "name": {"en": en.get_untracked(), "zh-CN": zh.get_untracked()},
            "trigger": {"on": "submitted"},
            "nodes": [{"id": "start", "kind": "start"}, {"id": "end", "kind": "end"}],
            "edges": [{"from": "start", "to": "end"}],
        });
        let (ws, k) = (ws.clone(), key.get_untracked());
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, "/workflows"), &definition).await {
                Ok(_) => ctx.go(Page::Workflow(k)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <h1>{move || ctx.t("flow.new")}</h1>
        <form class="card narrow" on:submit=create>
            <label>{move || ctx.t("forms.key")}<input required data-test="new-workflow-key" on:input=move |ev| key.set(event_target_value(&ev))/></label>
            <label>{move || ctx.t("dash.form")}
                <select required data-test="new-workflow-form" on:change=move |ev| form.set(event_target_value(&ev))>
                    <option value="">"—"</option>
                    {move || forms.get().into_iter().map(|f| { let k = f["key"].as_str().unwrap_or_default().to_owned(); let n = f["name"].clone(); view! { <option value=k.clone()>{move || text_of(&n)}" ("{k.clone()}")"</option> } }).collect_view()}
                </select>
            </label>
            <label>{move || ctx.t("forms.name_en")}<input required data-test="new-workflow-name-en" on:input=move |ev| en.set(event_target_value(&ev))/></label>
            <label>{move || ctx.t("forms.name_zh")}<input required data-test="new-workflow-name-zh" on:input=move |ev| zh.set(event_target_value(&ev))/></label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="primary" data-test="new-workflow-create">{move || ctx.t("forms.create")}</button>
        </form>
    }
}

const NODE_KINDS: &[&str] = &["approval", "condition", "action", "parallel", "join", "timer", "end"];

/// A new node of `kind` with an unused id and what it needs to be valid.
pub fn new_node(definition: &Value, kind: &str) -> Value {
    let used: Vec<&str> =
        definition["nodes"].as_array().into_iter().flatten().filter_map(|n| n["id"].as_str()).collect();
    let id = (1..).map(|n| format!("{kind}_{n}")).find(|id| !used.contains(&id.as_str())).unwrap_or_default();
    let mut node = json!({"id": id, "kind": kind});
    match kind {
        "approval" => {
            node["assignees"] = json!({"roles": ["approver"]});
            node["mode"] = json!("any");
        }
        "action" => node["script"] = json!("()"),
        "timer" => node["after"] = json!("PT1H"),
        _ => {}
    }
    node
}

#[component]
pub fn WorkflowDesigner(key: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let def = RwSignal::new(Value::Null);
    let loaded = RwSignal::new(false);
    let latest = RwSignal::new(None::<i64>);
    let problems = RwSignal::new(Vec::new());
    let flow = Flow {
        def,
        selected: RwSignal::new(None),
        connecting: RwSignal::new(None),
        problems,
        server_problems: RwSignal::new(Vec::new()),
        edits: RwSignal::new(0),
        fields: RwSignal::new(Vec::new()),
        dirty: RwSignal::new(false),
    };
    {
        let (ws, key) = (ws.clone(), key.clone());
        spawn_local(async move {
            let client = ctx.client();
            match client.get(&ws_path(&ws, &format!("/workflows/{key}"))).await {
                Ok(w) => {
                    def.set(w["draft"].clone());
                    problems.set(issues_of(&w));
                    latest.set(w["latest_version"].as_i64());
                    loaded.set(true);
                    let form = w["form"].as_str().unwrap_or_default().to_owned();
                    if let Ok(Some((_, definition))) = client.latest_definition(&ws, &form).await {
                        flow.fields
                            .set(crate::pages::records::columns_of(&definition).into_iter().map(|(k, _)| k).collect());
                    }
                }
                Err(e) => ctx.fail(e.message),
            }
        });
    }
    let kind = RwSignal::new("approval".to_owned());
    let add = move |_| {
        let k = kind.get_untracked();
        let mut added = None;
        flow.edit(|d| {
            let node = new_node(d, &k);
            if let Some(nodes) = d["nodes"].as_array_mut() {
                nodes.push(node);
                added = Some(nodes.len() - 1);
            }
        });
        flow.selected.set(added.map(Selected::Node));
    };
    let remove = move |_| match flow.selected.get_untracked() {
        Some(Selected::Node(i)) => {
            flow.edit(|d| {
                let id = d["nodes"][i]["id"].as_str().unwrap_or_default().to_owned();
                if let Some(nodes) = d["nodes"].as_array_mut()
                    && i < nodes.len()
                {
                    nodes.remove(i);
                }
                if let Some(edges) = d["edges"].as_array_mut() {
                    edges.retain(|e| e["from"].as_str() != Some(&id) && e["to"].as_str() != Some(&id));
                }
            });
            flow.selected.set(None);
        }
        Some(Selected::Edge(i)) => {
            flow.edit(|d| {
                if let Some(edges) = d["edges"].as_array_mut()
                    && i < edges.len()
                {
                    edges.remove(i);
                }
            });
            flow.selected.set(None);
        }
        None => {}
    };
    let save = {
        let (ws, key) = (ws.clone(), key.clone());
        move || {
            let (ws, key) = (ws.clone(), key.clone());
            async move {
                // The designer may be gone by the time a pause ends (signals disposed).
                let Some(body) = def.try_get_untracked() else { return false };
                match ctx.client().put(&ws_path(&ws, &format!("/workflows/{key}")), &body).await {
                    Ok(saved) => {
                        // Edited again meanwhile: those edits save on their own pause.
                        if def.try_with_untracked(|d| d == &body) == Some(true) {
                            flow.dirty.set(false);
                        }
                        problems.set(issues_of(&saved));
                        true
                    }
                    Err(e) => {
                        ctx.fail(e.describe());
                        false
                    }
                }
            }
        }
    };
    // Compile feedback: a pause of 400 ms in editing saves the draft, and the answer carries
    // the engine's problems (rules compiled, graph checked) for the panels and the graph.
    {
        let save = save.clone();
        Effect::new(move |_| {
            let n = flow.edits.get();
            if n == 0 {
                return;
            }
            let save = save.clone();
            set_timeout(
                move || {
                    if flow.edits.try_get_untracked() == Some(n) {
                        spawn_local(async move {
                            save().await;
                        });
                    }
                },
                std::time::Duration::from_millis(400),
            );
        });
    }
    let save_click = {
        let save = save.clone();
        move |_| {
            let save = save.clone();
            spawn_local(async move {
                if save().await {
                    ctx.ok(ctx.t("design.saved"));
                }
            });
        }
    };
    let publish = {
        let (ws, key, save) = (ws.clone(), key.clone(), save.clone());
        move |_| {
            let (ws, key, save) = (ws.clone(), key.clone(), save.clone());
            spawn_local(async move {
                if !save().await {
                    return;
                }
                match ctx.client().post(&ws_path(&ws, &format!("/workflows/{key}/publish")), &json!({})).await {
                    Ok(done) => {
                        latest.set(done["version"].as_i64());
                        ctx.ok(format!("{} v{}", ctx.t("design.published"), done["version"]));
                    }
                    Err(e) => {
                        let placed = e.field_errors();
                        ctx.fail(e.message.clone());
                        flow.server_problems.set(placed);
                    }
                }
            });
        }
    };
    view! {
        <Show when=move || loaded.get() fallback=move || view! { <p class="muted">{move || ctx.t("loading")}</p> }>
            <div class="page-head">
                <h1>{move || def.with(|d| text_of(&d["name"]))}" "<small class="muted"><code>{key.clone()}</code></small></h1>
                <div class="toolbar">
                    <select data-test="node-kind" aria-label=move || ctx.t("flow.node_kind") on:change=move |ev| kind.set(event_target_value(&ev))>
                        {NODE_KINDS.iter().map(|k| view! { <option value=*k>{move || ctx.t(&format!("flow.kind.{k}"))}</option> }).collect_view()}
                    </select>
                    <button data-test="add-node" on:click=add>{move || ctx.t("flow.add_node")}</button>
                    <button data-test="connect" class:active=move || flow.connecting.get().is_some()
                        on:click=move |_| flow.connecting.update(|c| *c = if c.is_some() { None } else { Some(None) })>
                        {move || ctx.t("flow.connect")}
                    </button>
                    <button data-test="remove-selected" disabled=move || flow.selected.get().is_none() on:click=remove>{move || ctx.t("design.remove")}</button>
                    <button data-test="save-workflow" on:click=save_click.clone()>{move || ctx.t("design.save")}</button>
                    <button class="primary" data-test="publish-workflow" disabled=move || !problems.with(Vec::is_empty) on:click=publish.clone()>{move || ctx.t("design.publish")}</button>
                </div>
                <span class="muted" data-test="workflow-status">
                    {move || if flow.dirty.get() { ctx.t("design.unsaved") } else { ctx.t("design.all_saved") }}
                    {move || latest.get().map(|v| format!(" · v{v}"))}
                </span>
            </div>
            {move || flow.connecting.get().map(|from| view! {
                <p class="notice ok" data-test="connect-hint">{move || if from.is_some() { ctx.t("flow.connect_to") } else { ctx.t("flow.connect_from") }}</p>
            })}
            <div class="flow-designer">
                <graph::Graph flow=flow/>
                <aside>
                    <props::TriggerPanel flow=flow/>
                    <props::Properties flow=flow/>
                    <div class="card" data-test="workflow-problems">
                        <h3>{move || ctx.t("design.problems")}</h3>
                        {move || {
                            let mut list = problems.get();
                            list.extend(flow.server_problems.get());
                            if list.is_empty() {
                                view! { <p class="ok-text">{move || ctx.t("flow.valid")}</p> }.into_any()
                            } else {
                                list.into_iter().map(|(p, m)| view! { <p class="error" data-test="workflow-problem"><code>{p}</code>" "{m}</p> }).collect_view().into_any()
                            }
                        }}
                    </div>
                </aside>
            </div>
        </Show>
    }
}
