//! Filling a form: any definition rendered field by field, processed by the engine on every
//! change (computed values, `visible_if`/`required_if`, measurement judgement, validation),
//! errors placed on their fields, drafts kept in the browser until submitted.

use std::sync::Arc;

use engine::form::{CompiledForm, RecordContext};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;

use crate::api::ws_path;
use crate::app::{ctx, store, stored};
use crate::fields::{Binding, get_at, input};
use crate::pages::text_of;
use crate::route::Page;

/// A compiled form, compared by identity (a new compile is a change).
#[derive(Clone)]
pub struct Compiled(pub Arc<CompiledForm>);

impl PartialEq for Compiled {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The engine's verdict on the record being filled.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    pub record: Value,
    /// (pointer, message) of every problem.
    pub issues: Vec<(String, String)>,
    pub hidden: Vec<String>,
    pub required_now: Vec<String>,
}

/// Compiles `definition` whenever it changes; `Err` holds the definition's problems.
pub fn compile(definition: Signal<Value>) -> Memo<Result<Compiled, Vec<(String, String)>>> {
    let ctx = ctx();
    Memo::new(move |_| {
        let lang = ctx.lang.get();
        definition.with(|d| {
            CompiledForm::compile(d, lang)
                .map(|c| Compiled(Arc::new(c)))
                .map_err(|issues| issues.into_iter().map(|i| (i.path, i.message)).collect())
        })
    })
}

/// Everything the rendered fields share.
#[derive(Clone, Copy)]
pub struct Env {
    pub bind: Binding,
    pub verdict: Memo<Verdict>,
    pub server_errors: RwSignal<Vec<(String, String)>>,
    /// After a submit attempt every problem shows, not only those of touched fields.
    pub show_all: RwSignal<bool>,
}

impl Env {
    fn error(&self, pointer: &str, own_children: bool) -> Option<String> {
        let matches = |path: &str| path == pointer || (own_children && path.starts_with(&format!("{pointer}/")));
        if let Some((_, message)) = self.server_errors.with(|e| e.iter().find(|(p, _)| matches(p)).cloned()) {
            return Some(message);
        }
        let visible = self.show_all.get() || self.bind.touched.with(|t| t.iter().any(|p| p == pointer));
        if !visible {
            return None;
        }
        self.verdict.with(|v| v.issues.iter().find(|(p, _)| matches(p)).map(|(_, m)| m.clone()))
    }
}

/// The fields of `definition` bound to `data`.
#[component]
pub fn FormView(definition: Signal<Value>, data: RwSignal<Value>, env_out: RwSignal<Option<Env>>) -> impl IntoView {
    let ctx = ctx();
    let compiled = compile(definition);
    let verdict = Memo::new(move |_| {
        let lang = ctx.lang.get();
        compiled.with(|c| match c {
            Ok(c) => data.with(|d| {
                let outcome = c.0.process(d, &RecordContext { lang, ..Default::default() });
                Verdict {
                    record: outcome.record,
                    issues: outcome.issues.into_iter().map(|i| (i.path, i.message)).collect(),
                    hidden: outcome.hidden,
                    required_now: outcome.required_now,
                }
            }),
            Err(_) => Verdict::default(),
        })
    });
    let processed = Memo::new(move |_| verdict.with(|v| v.record.clone()));
    let env = Env {
        bind: Binding { data, processed, touched: RwSignal::new(Vec::new()) },
        verdict,
        server_errors: RwSignal::new(Vec::new()),
        show_all: RwSignal::new(false),
    };
    env_out.set(Some(env));
    // The structure is rebuilt only when the definition changes, not on every keystroke.
    let items = Memo::new(move |_| definition.with(|d| d["fields"].as_array().cloned().unwrap_or_default()));
    view! {
        <div class="form-view" data-test="form-view">
            {move || match compiled.get() {
                Err(problems) => view! {
                    <div class="error" role="alert" data-test="definition-problems">
                        {problems.into_iter().map(|(p, m)| view! { <p><code>{p}</code>" "{m}</p> }).collect_view()}
                    </div>
                }.into_any(),
                Ok(_) => render_items(&items.get(), "", env),
            }}
        </div>
    }
}

pub fn render_items(items: &[Value], base: &str, env: Env) -> AnyView {
    items.iter().map(|item| render_item(item.clone(), base.to_owned(), env)).collect_view().into_any()
}

fn label_of(item: &Value) -> impl Fn() -> String + Clone + Send + Sync + 'static {
    let label = item["label"].clone();
    let key = item["key"].as_str().unwrap_or_default().to_owned();
    move || {
        let text = text_of(&label);
        if text.is_empty() { key.clone() } else { text }
    }
}

fn render_item(item: Value, base: String, env: Env) -> AnyView {
    let key = item["key"].as_str().unwrap_or_default().to_owned();
    let kind = item["type"].as_str().unwrap_or_default().to_owned();
    match kind.as_str() {
        "section" => {
            let children = item["fields"].as_array().cloned().unwrap_or_default();
            view! {
                <fieldset class="section" data-test=format!("section-{key}")>
                    <legend>{label_of(&item)}</legend>
                    {render_items(&children, &base, env)}
                </fieldset>
            }
            .into_any()
        }
        "columns" => {
            let columns = item["columns"].as_array().cloned().unwrap_or_default();
            view! {
                <div class="columns">
                    {columns.iter().map(|c| {
                        let fields = c["fields"].as_array().cloned().unwrap_or_default();
                        view! { <div class="column">{render_items(&fields, &base, env)}</div> }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }
        "subtable" => subtable(item, base, env),
        _ => field(item, base, env),
    }
}

fn field(item: Value, base: String, env: Env) -> AnyView {
    let ctx = ctx();
    let key = item["key"].as_str().unwrap_or_default().to_owned();
    let pointer = format!("{base}/{key}");
    let id = format!("f{}", pointer.replace('/', "-"));
    let always = item["required"].as_bool().unwrap_or(false);
    let help = item["help"].clone();
    let p = pointer.clone();
    let hidden = Memo::new(move |_| env.verdict.with(|v| v.hidden.contains(&p)));
    let p = pointer.clone();
    let required = Memo::new(move |_| always || env.verdict.with(|v| v.required_now.contains(&p)));
    let p = pointer.clone();
    let own_children =
        matches!(item["type"].as_str(), Some("measurement" | "multiselect" | "signature" | "attachment"));
    let error = move || env.error(&p, own_children);
    let label = label_of(&item);
    let test = if base.is_empty() {
        format!("field-{key}")
    } else {
        format!("field-{}", pointer.trim_start_matches('/').replace('/', "-"))
    };
    view! {
        <Show when=move || !hidden.get()>
            <div class="field" class:invalid={ let error = error.clone(); move || error().is_some() } data-test=test.clone()>
                <label for=id.clone()>
                    {label.clone()}
                    {move || required.get().then(|| view! { <span class="req" aria-label=ctx.t("fill.required")>" *"</span> })}
                </label>
                {input(&item, pointer.clone(), id.clone(), env.bind)}
                {let help = help.clone(); move || { let h = text_of(&help); (!h.is_empty()).then(|| view! { <small class="muted">{h}</small> }) }}
                {let error = error.clone(); move || error().map(|e| view! { <p class="field-error" role="alert" data-test="field-error">{e}</p> })}
            </div>
        </Show>
    }
    .into_any()
}

fn subtable(item: Value, base: String, env: Env) -> AnyView {
    let ctx = ctx();
    let key = item["key"].as_str().unwrap_or_default().to_owned();
    let pointer = format!("{base}/{key}");
    let fields = item["fields"].as_array().cloned().unwrap_or_default();
    let p = pointer.clone();
    let rows = Memo::new(move |_| env.bind.data.with(|d| get_at(d, &p).as_array().map_or(0, Vec::len)));
    let p = pointer.clone();
    let add = move |_| {
        env.bind.data.update(|d| {
            let mut list = get_at(d, &p).as_array().cloned().unwrap_or_default();
            list.push(json!({}));
            crate::fields::set_at(d, &p, Value::Array(list));
        })
    };
    let p = pointer.clone();
    let error = move || env.error(&p, false);
    let label = label_of(&item);
    view! {
        <div class="subtable" data-test=format!("subtable-{key}")>
            <div class="subtable-head"><strong>{label}</strong></div>
            {move || (0..rows.get()).map(|i| {
                let row_base = format!("{pointer}/{i}");
                let p = pointer.clone();
                let remove = move |_| env.bind.data.update(|d| {
                    let mut list = get_at(d, &p).as_array().cloned().unwrap_or_default();
                    if i < list.len() { list.remove(i); }
                    crate::fields::set_at(d, &p, if list.is_empty() { Value::Null } else { Value::Array(list) });
                });
                view! {
                    <div class="row" data-test=format!("row-{i}")>
                        <span class="row-no">{i + 1}</span>
                        <div class="row-fields">{render_items(&fields, &row_base, env)}</div>
                        <button type="button" class="link danger" data-test="remove-row" on:click=remove>{move || ctx.t("fill.remove_row")}</button>
                    </div>
                }
            }).collect_view()}
            <button type="button" data-test=format!("add-row-{key}") on:click=add>{move || ctx.t("fill.add_row")}</button>
            {move || error().map(|e| view! { <p class="field-error" role="alert" data-test="field-error">{e}</p> })}
        </div>
    }
    .into_any()
}

/// A signature pad: drawn with a pointer (finger, pen, mouse), kept as a PNG data URL.
pub fn signature(pointer: String, id: String, bind: Binding) -> AnyView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let drawing = RwSignal::new(false);
    let context = move || -> Option<web_sys::CanvasRenderingContext2d> {
        canvas.get_untracked()?.get_context("2d").ok()??.dyn_into().ok()
    };
    let point = |ev: &web_sys::PointerEvent| (f64::from(ev.offset_x()), f64::from(ev.offset_y()));
    let p = pointer.clone();
    let finish = move || {
        drawing.set(false);
        if let Some(url) = canvas.get_untracked().and_then(|c| c.to_data_url().ok()) {
            bind.data.update(|d| crate::fields::set_at(d, &p, json!({"image": url})));
        }
    };
    let p = pointer.clone();
    let clear = move |_| {
        if let (Some(c), Some(cx)) = (canvas.get_untracked(), context()) {
            cx.clear_rect(0.0, 0.0, f64::from(c.width()), f64::from(c.height()));
        }
        bind.data.update(|d| crate::fields::set_at(d, &p, Value::Null));
    };
    let signed = move || bind.data.with(|d| !get_at(d, &pointer).is_null());
    view! {
        <div class="signature" id=id>
            <canvas node_ref=canvas width="320" height="120" style="touch-action: none"
                on:pointerdown=move |ev| {
                    if let Some(cx) = context() {
                        let (x, y) = point(&ev);
                        cx.begin_path();
                        cx.move_to(x, y);
                        drawing.set(true);
                    }
                }
                on:pointermove=move |ev| {
                    if drawing.get_untracked() && let Some(cx) = context() {
                        let (x, y) = point(&ev);
                        cx.line_to(x, y);
                        cx.stroke();
                    }
                }
                on:pointerup={ let finish = finish.clone(); move |_| finish() }
                on:pointerleave=move |_| if drawing.get_untracked() { finish() }></canvas>
            <button type="button" class="link" on:click=clear>{move || ctx().t("fill.clear")}</button>
            {move || signed().then(|| view! { <span class="judge ok">"✓"</span> })}
        </div>
    }
    .into_any()
}

/// The fill page of a published form.
#[component]
pub fn FillPage(key: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let definition = RwSignal::new(None::<(i64, Value)>);
    let draft_key = format!("formwork.draft.{ws}.{key}");
    let initial = stored(&draft_key).and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_else(|| json!({}));
    let data = RwSignal::new(initial);
    let env = RwSignal::new(None::<Env>);
    let busy = RwSignal::new(false);
    {
        let (ws, key) = (ws.clone(), key.clone());
        spawn_local(async move {
            match ctx.client().latest_definition(&ws, &key).await {
                Ok(Some(latest)) => definition.set(Some(latest)),
                Ok(None) => ctx.fail(ctx.t("fill.not_published")),
                Err(e) => ctx.fail(e.message),
            }
        });
    }
    // Drafts are saved as the user types, and survive a reload or a lost connection.
    let dk = draft_key.clone();
    Effect::new(move |first: Option<()>| {
        let text = data.with(Value::to_string);
        if first.is_some() {
            store(&dk, Some(&text));
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(env) = env.get_untracked() else { return };
        env.show_all.set(true);
        env.server_errors.set(Vec::new());
        if env.verdict.with_untracked(|v| !v.issues.is_empty()) {
            ctx.fail(ctx.t("fill.fix_errors"));
            focus_first_error();
            return;
        }
        busy.set(true);
        let (ws, key, draft_key) = (ws.clone(), key.clone(), draft_key.clone());
        let body = data.get_untracked();
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, &format!("/forms/{key}/records")), &body).await {
                Ok(record) => {
                    store(&draft_key, None);
                    data.set(json!({}));
                    env.show_all.set(false);
                    env.bind.touched.set(Vec::new());
                    let id = record["id"].as_str().unwrap_or_default().to_owned();
                    ctx.ok(format!("{} {}", ctx.t("fill.submitted"), id));
                    ctx.go(Page::Record(id));
                }
                Err(e) => {
                    let placed = e.field_errors();
                    if placed.is_empty() {
                        ctx.fail(e.message);
                    } else {
                        ctx.fail(ctx.t("fill.fix_errors"));
                        env.server_errors.set(placed);
                        focus_first_error();
                    }
                }
            }
            busy.set(false);
        });
    };
    view! {
        {move || match definition.get() {
            None => view! { <p class="muted">{move || ctx.t("loading")}</p> }.into_any(),
            Some((version, def)) => {
                let name = def["name"].clone();
                let def_signal = Signal::derive(move || def.clone());
                view! {
                    <div class="page-head">
                        <h1>{move || text_of(&name)}</h1>
                        <span class="muted">"v"{version}</span>
                    </div>
                    <form class="card fill" on:submit=submit.clone() novalidate=true data-test="fill-form">
                        <FormView definition=def_signal data=data env_out=env/>
                        <div class="actions sticky">
                            <button type="submit" class="primary" data-test="submit" disabled=move || busy.get()>{move || ctx.t("fill.submit")}</button>
                            <span class="muted">{move || ctx.t("fill.draft_saved")}</span>
                        </div>
                    </form>
                }.into_any()
            }
        }}
    }
}

fn focus_first_error() {
    // After the errors render: the next frame.
    leptos::prelude::request_animation_frame(|| {
        let element = web_sys::window().and_then(|w| w.document()).and_then(|d| {
            d.query_selector(".field.invalid input, .field.invalid select, .field.invalid textarea").ok().flatten()
        });
        if let Some(element) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = element.focus();
        }
    });
}
