//! The form designer: a palette of every field type, a canvas the fields are dragged onto
//! (pointer events, so that mouse, touch, pen and WebDriver all drag the same way), a
//! property panel with live compile feedback from the engine, a live preview, undo/redo,
//! save, and publish after showing the server's compatibility report.

mod canvas;
mod props;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};

use crate::api::ws_path;
use crate::app::ctx;
use crate::filler::{Env, FormView, compile};
use crate::pages::text_of;

/// What is being dragged, and where it would land.
#[derive(Clone, Debug, PartialEq)]
pub struct Drag {
    pub source: Source,
    pub start: (f64, f64),
    pub at: (f64, f64),
    /// Past a few pixels a press becomes a drag (a plain click adds or selects).
    pub moved: bool,
    /// (container pointer, index) the item would be inserted at.
    pub target: Option<(String, usize)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    /// A new field of this type, from the palette.
    New(String),
    /// The item at (container, index).
    Existing(String, usize),
}

/// The designer's state, shared by its parts.
#[derive(Clone, Copy)]
pub struct Design {
    pub def: RwSignal<Value>,
    undo: RwSignal<Vec<Value>>,
    redo: RwSignal<Vec<Value>>,
    /// The selected item's pointer (`/fields/2/fields/0`).
    pub selected: RwSignal<Option<String>>,
    pub drag: RwSignal<Option<Drag>>,
    pub dirty: RwSignal<bool>,
}

impl Design {
    /// Applies an edit as one undoable step (an edit that changes nothing is no step).
    pub fn edit(&self, change: impl FnOnce(&mut Value)) {
        let before = self.def.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after != before {
            self.undo.update(|u| u.push(before));
            self.redo.update(Vec::clear);
            self.def.set(after);
            self.dirty.set(true);
        }
    }

    fn undo(&self) {
        if let Some(previous) = self.undo.try_update(Vec::pop).flatten() {
            let current = self.def.get_untracked();
            self.redo.update(|r| r.push(current));
            self.def.set(previous);
            self.dirty.set(true);
        }
    }

    fn redo(&self) {
        if let Some(next) = self.redo.try_update(Vec::pop).flatten() {
            let current = self.def.get_untracked();
            self.undo.update(|u| u.push(current));
            self.def.set(next);
            self.dirty.set(true);
        }
    }
}

/// Splits an item pointer into its container and index.
pub fn split(pointer: &str) -> Option<(String, usize)> {
    let (container, index) = pointer.rsplit_once('/')?;
    Some((container.to_owned(), index.parse().ok()?))
}

#[component]
pub fn Designer(key: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let design = Design {
        def: RwSignal::new(Value::Null),
        undo: RwSignal::new(Vec::new()),
        redo: RwSignal::new(Vec::new()),
        selected: RwSignal::new(None),
        drag: RwSignal::new(None),
        dirty: RwSignal::new(false),
    };
    let loaded = RwSignal::new(false);
    let latest = RwSignal::new(None::<i64>);
    let preview = RwSignal::new(false);
    let report = RwSignal::new(None::<Value>);
    let busy = RwSignal::new(false);
    {
        let (ws, key) = (ws.clone(), key.clone());
        spawn_local(async move {
            match ctx.client().get(&ws_path(&ws, &format!("/forms/{key}"))).await {
                Ok(form) => {
                    design.def.set(form["draft"].clone());
                    latest.set(form["latest_version"].as_i64());
                    loaded.set(true);
                }
                Err(e) => ctx.fail(e.message),
            }
        });
    }
    // Ctrl+Z / Ctrl+Shift+Z / Ctrl+Y, except while typing in a field.
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || !(ev.ctrl_key() || ev.meta_key()) {
            return;
        }
        match (ev.key().as_str(), ev.shift_key()) {
            ("z", false) => {
                ev.prevent_default();
                design.undo();
            }
            ("z", true) | ("y", _) => {
                ev.prevent_default();
                design.redo();
            }
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());
    canvas::listen(design);

    let def_signal = Signal::derive(move || design.def.get());
    let compiled = compile(def_signal);
    let problems = Memo::new(move |_| compiled.with(|c| c.as_ref().err().cloned().unwrap_or_default()));

    let save = {
        let (ws, key) = (ws.clone(), key.clone());
        move || {
            let (ws, key) = (ws.clone(), key.clone());
            async move {
                let body = design.def.get_untracked();
                match ctx.client().put(&ws_path(&ws, &format!("/forms/{key}")), &body).await {
                    Ok(_) => {
                        design.dirty.set(false);
                        true
                    }
                    Err(e) => {
                        ctx.fail(e.message);
                        false
                    }
                }
            }
        }
    };
    let save_click = {
        let save = save.clone();
        move |_| {
            let save = save.clone();
            busy.set(true);
            spawn_local(async move {
                if save().await {
                    ctx.ok(ctx.t("design.saved"));
                }
                busy.set(false);
            });
        }
    };
    // Publishing: save, ask the server what publishing would do, show it, then publish.
    let publish_click = {
        let (ws, key, save) = (ws.clone(), key.clone(), save.clone());
        move |_| {
            let (ws, key, save) = (ws.clone(), key.clone(), save.clone());
            busy.set(true);
            spawn_local(async move {
                if save().await {
                    let path = ws_path(&ws, &format!("/forms/{key}/publish"));
                    match ctx.client().post(&path, &json!({"dry_run": true})).await {
                        Ok(trial) => report.set(Some(trial)),
                        Err(e) => ctx.fail(e.describe()),
                    }
                }
                busy.set(false);
            });
        }
    };
    let confirm_publish = {
        let (ws, key) = (ws.clone(), key.clone());
        move |_| {
            let (ws, key) = (ws.clone(), key.clone());
            let confirm = report.with_untracked(|r| r.as_ref().is_some_and(|r| r["needs_confirmation"] == json!(true)));
            busy.set(true);
            spawn_local(async move {
                let path = ws_path(&ws, &format!("/forms/{key}/publish"));
                match ctx.client().post(&path, &json!({"confirm": confirm})).await {
                    Ok(done) => {
                        report.set(None);
                        latest.set(done["version"].as_i64());
                        ctx.ok(format!("{} v{}", ctx.t("design.published"), done["version"]));
                    }
                    Err(e) => ctx.fail(e.describe()),
                }
                busy.set(false);
            });
        }
    };
    let preview_data = RwSignal::new(json!({}));
    let preview_env = RwSignal::new(None::<Env>);
    let restore = {
        let (ws, key) = (ws.clone(), key.clone());
        move |ev: leptos::ev::Event| {
            let version = event_target_value(&ev);
            let (ws, key) = (ws.clone(), key.clone());
            if version.is_empty() {
                return;
            }
            spawn_local(async move {
                match ctx.client().get(&ws_path(&ws, &format!("/forms/{key}/versions/{version}"))).await {
                    Ok(v) => {
                        let definition = v["definition"].clone();
                        design.edit(move |d| *d = definition);
                        ctx.ok(format!("{} v{version}", ctx.t("design.restored")));
                    }
                    Err(e) => ctx.fail(e.message),
                }
            });
        }
    };

    view! {
        <Show when=move || loaded.get() fallback=move || view! { <p class="muted">{move || ctx.t("loading")}</p> }>
            <div class="page-head designer-head">
                <h1>{move || design.def.with(|d| text_of(&d["name"]))}" "<small class="muted"><code>{key.clone()}</code></small></h1>
                <div class="toolbar" role="toolbar">
                    <button data-test="undo" disabled=move || design.undo.with(Vec::is_empty) on:click=move |_| design.undo()
                        title=move || ctx.t("design.undo")>{"↶ "}{move || ctx.t("design.undo")}</button>
                    <button data-test="redo" disabled=move || design.redo.with(Vec::is_empty) on:click=move |_| design.redo()
                        title=move || ctx.t("design.redo")>{"↷ "}{move || ctx.t("design.redo")}</button>
                    <button data-test="preview-toggle" class:active=move || preview.get() on:click=move |_| preview.update(|p| *p = !*p)>
                        {move || ctx.t("design.preview")}
                    </button>
                    <select data-test="versions" aria-label=move || ctx.t("design.versions") on:change=restore.clone()>
                        <option value="">{move || ctx.t("design.versions")}</option>
                        {move || latest.get().map(|n| (1..=n).rev().map(|v| view! { <option value=v.to_string()>{format!("v{v}")}</option> }).collect_view())}
                    </select>
                    <button data-test="save-draft" disabled=move || busy.get() on:click=save_click.clone()>{move || ctx.t("design.save")}</button>
                    <button data-test="publish" class="primary" disabled=move || busy.get() || !problems.with(Vec::is_empty)
                        on:click=publish_click.clone()>{move || ctx.t("design.publish")}</button>
                </div>
                <span class="muted" data-test="design-status">
                    {move || if design.dirty.get() { ctx.t("design.unsaved") } else { ctx.t("design.all_saved") }}
                    {move || latest.get().map(|v| format!(" · v{v}"))}
                </span>
            </div>
            <div class="designer" class:previewing=move || preview.get()>
                <canvas::Palette design=design/>
                <canvas::Canvas design=design/>
                <aside class="side">
                    {move || if preview.get() {
                        view! {
                            <div class="card preview" data-test="preview">
                                <h3>{move || ctx.t("design.preview")}</h3>
                                <FormView definition=def_signal data=preview_data env_out=preview_env/>
                            </div>
                        }.into_any()
                    } else {
                        view! { <props::Properties design=design problems=problems/> }.into_any()
                    }}
                    <div class="card problems" data-test="problems">
                        <h3>{move || ctx.t("design.problems")}</h3>
                        {move || {
                            let list = problems.get();
                            if list.is_empty() {
                                view! { <p class="ok-text">{move || ctx.t("design.no_problems")}</p> }.into_any()
                            } else {
                                list.into_iter().map(|(path, message)| view! {
                                    <p class="error"><code>{path}</code>" "{message}</p>
                                }).collect_view().into_any()
                            }
                        }}
                    </div>
                </aside>
            </div>
            {let confirm_publish = confirm_publish.clone(); move || report.get().map(|r| view! { <PublishDialog report=r on_confirm=confirm_publish.clone() on_cancel=move || report.set(None)/> })}
        </Show>
    }
}

#[component]
fn PublishDialog(
    report: Value,
    on_confirm: impl Fn(leptos::ev::MouseEvent) + 'static,
    on_cancel: impl Fn() + Send + Sync + Copy + 'static,
) -> impl IntoView {
    let ctx = ctx();
    let evolution = report["evolution"].clone();
    let changes = evolution["changes"].as_array().cloned().unwrap_or_default();
    let stored = evolution["stored_values"].as_array().cloned().unwrap_or_default();
    let compatible = evolution.is_null() || evolution["compatibility"] == json!("compatible");
    let version = report["version"].as_i64().unwrap_or(1);
    view! {
        <div class="dialog-backdrop">
            <div class="dialog card" role="dialog" aria-modal="true" data-test="publish-dialog">
                <h2>{move || ctx.t("design.publish")}" v"{version}</h2>
                <p data-test="compatibility" class=if compatible { "ok-text" } else { "warn-text" }>
                    {move || if evolution.is_null() { ctx.t("design.first_version") }
                        else if compatible { ctx.t("design.compatible") } else { ctx.t("design.needs_attention") }}
                </p>
                {(!changes.is_empty()).then(|| view! {
                    <table class="table">
                        <thead><tr><th>{move || ctx.t("design.change_path")}</th><th>{move || ctx.t("design.change_kind")}</th><th></th></tr></thead>
                        <tbody>
                            {changes.iter().map(|c| view! {
                                <tr>
                                    <td><code>{c["path"].as_str().unwrap_or_default().to_owned()}</code></td>
                                    <td>{c["kind"].as_str().unwrap_or_default().replace('_', " ")}</td>
                                    <td class=if c["compatibility"] == json!("compatible") { "ok-text" } else { "warn-text" }>
                                        {c["compatibility"].as_str().unwrap_or_default().replace('_', " ")}
                                    </td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                })}
                {(!stored.is_empty()).then(|| view! {
                    <p class="warn-text" data-test="stored-problems">{format!("{} ", stored.len())}{move || ctx.t("design.stored_problems")}</p>
                })}
                <div class="actions">
                    <button on:click=move |_| on_cancel()>{move || ctx.t("cancel")}</button>
                    <button class="primary" data-test="confirm-publish" on:click=on_confirm>{move || ctx.t("design.confirm_publish")}</button>
                </div>
            </div>
        </div>
    }
}
