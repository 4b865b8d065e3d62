//! The palette and the canvas, and dragging between them.
//!
//! Dragging is built on pointer events rather than HTML5 drag and drop: it works the same
//! with a finger on a phone, a pen, a mouse and a WebDriver action chain (which does not fire
//! HTML5 drag events in Chromium). A press that does not move is a click: on the palette it
//! adds the field to the selected container (or the end of the form).

use leptos::prelude::*;
use serde_json::Value;

use super::{Design, Drag, Source, split};
use crate::app::ctx;
use crate::i18n::type_name;
use crate::pages::text_of;
use crate::tree::{self, ROOT};

const DRAG_THRESHOLD: f64 = 5.0;

/// Follows the pointer while something is dragged, and drops it on release.
pub fn listen(design: Design) {
    let moving = window_event_listener(leptos::ev::pointermove, move |ev| {
        if design.drag.with_untracked(Option::is_none) {
            return;
        }
        let at = (f64::from(ev.client_x()), f64::from(ev.client_y()));
        let target = drop_target(at);
        design.drag.update(|d| {
            if let Some(d) = d {
                let (dx, dy) = (at.0 - d.start.0, at.1 - d.start.1);
                d.moved |= dx.hypot(dy) > DRAG_THRESHOLD;
                d.at = at;
                d.target = if d.moved { target } else { None };
            }
        });
    });
    let up = window_event_listener(leptos::ev::pointerup, move |_| {
        let Some(drag) = design.drag.get_untracked() else { return };
        design.drag.set(None);
        match (&drag.source, drag.moved, drag.target) {
            (Source::New(kind), true, Some((container, index))) => add(design, kind, &container, index),
            (Source::New(kind), false, _) => {
                let container = click_container(design);
                add(design, kind, &container, usize::MAX);
            }
            (Source::Existing(from, from_index), true, Some((to, to_index))) => {
                let (from, from_index) = (from.clone(), *from_index);
                let mut landed = None;
                design.edit(|d| {
                    if tree::move_item(d, &from, from_index, &to, to_index) {
                        landed = find_key(d, &key_of(&design, &from, from_index));
                    }
                });
                design.selected.set(landed.or_else(|| design.selected.get_untracked()));
            }
            _ => {}
        }
    });
    let cancel = window_event_listener(leptos::ev::pointercancel, move |_| design.drag.set(None));
    on_cleanup(move || {
        moving.remove();
        up.remove();
        cancel.remove();
    });
}

fn key_of(design: &Design, container: &str, index: usize) -> String {
    design.def.with_untracked(|d| {
        tree::item(d, container, index).and_then(|i| i["key"].as_str()).unwrap_or_default().to_owned()
    })
}

/// The pointer of the item with `key`.
fn find_key(definition: &Value, key: &str) -> Option<String> {
    fn walk(definition: &Value, container: &str, key: &str) -> Option<String> {
        for (i, item) in tree::items(definition, container)?.iter().enumerate() {
            let pointer = format!("{container}/{i}");
            if item["key"].as_str() == Some(key) {
                return Some(pointer);
            }
            for inner in tree::inner_containers(item, &pointer) {
                if let Some(found) = walk(definition, &inner, key) {
                    return Some(found);
                }
            }
        }
        None
    }
    walk(definition, ROOT, key)
}

fn add(design: Design, kind: &str, container: &str, index: usize) {
    let mut added = None;
    design.edit(|d| {
        let item = tree::new_item(d, kind);
        let key = item["key"].as_str().unwrap_or_default().to_owned();
        if tree::insert(d, container, index, item) {
            added = find_key(d, &key);
        }
    });
    if added.is_some() {
        design.selected.set(added);
    }
}

/// Where a clicked palette item goes: into the selected subtable or section (the first
/// column of selected columns), else to the end of the form.
fn click_container(design: Design) -> String {
    let Some(selected) = design.selected.get_untracked() else { return ROOT.to_owned() };
    design.def.with_untracked(|d| {
        d.pointer(&selected)
            .map(|item| tree::inner_containers(item, &selected))
            .and_then(|inner| inner.into_iter().next())
            .unwrap_or_else(|| ROOT.to_owned())
    })
}

/// The (container, index) under the pointer: before or after the item under it, or the end
/// of an empty container.
fn drop_target((x, y): (f64, f64)) -> Option<(String, usize)> {
    let document = web_sys::window()?.document()?;
    let element = document.element_from_point(x as f32, y as f32)?;
    let hit = element.closest("[data-index], [data-drop]").ok()??;
    if let Some(container) = hit.get_attribute("data-drop") {
        let count = hit.get_attribute("data-count").and_then(|c| c.parse().ok()).unwrap_or(0);
        return Some((container, count));
    }
    let container = hit.get_attribute("data-container")?;
    let index: usize = hit.get_attribute("data-index")?.parse().ok()?;
    let rect = hit.get_bounding_client_rect();
    let after = y > rect.top() + rect.height() / 2.0;
    Some((container, if after { index + 1 } else { index }))
}

fn start(design: Design, source: Source, ev: &web_sys::PointerEvent) {
    if ev.button() != 0 {
        return;
    }
    ev.prevent_default();
    let at = (f64::from(ev.client_x()), f64::from(ev.client_y()));
    design.drag.set(Some(Drag { source, start: at, at, moved: false, target: None }));
}

#[component]
pub fn Palette(design: Design) -> impl IntoView {
    let ctx = ctx();
    view! {
        <aside class="palette card" aria-label=move || ctx.t("design.palette") data-test="palette">
            <h3>{move || ctx.t("design.palette")}</h3>
            <div class="palette-items">
                {tree::palette().iter().map(|kind| {
                    let kind = (*kind).to_owned();
                    let k = kind.clone();
                    let test = format!("palette-{kind}");
                    view! {
                        <button type="button" class="palette-item" data-test=test
                            on:pointerdown=move |ev| start(design, Source::New(k.clone()), &ev)>
                            {move || type_name(ctx.lang.get(), &kind).to_owned()}
                        </button>
                    }
                }).collect_view()}
            </div>
        </aside>
    }
}

#[component]
pub fn Canvas(design: Design) -> impl IntoView {
    let ctx = ctx();
    let ghost = move || {
        design.drag.get().filter(|d| d.moved).map(|d| {
            let label = match &d.source {
                Source::New(kind) => type_name(ctx.lang.get(), kind).to_owned(),
                Source::Existing(c, i) => key_of(&design, c, *i),
            };
            view! { <div class="ghost" style=format!("left:{}px;top:{}px", d.at.0 + 8.0, d.at.1 + 8.0)>{label}</div> }
        })
    };
    view! {
        <section class="canvas card" data-test="canvas" class:dragging=move || design.drag.with(|d| d.as_ref().is_some_and(|d| d.moved))
            aria-label=move || ctx.t("design.canvas")>
            {move || {
                let definition = design.def.get();
                list(design, &definition, ROOT.to_owned())
            }}
            {ghost}
        </section>
    }
}

/// The items of one container, and the place to drop at its end.
fn list(design: Design, definition: &Value, container: String) -> AnyView {
    let ctx = ctx();
    let items = tree::items(definition, &container).cloned().unwrap_or_default();
    let count = items.len();
    let c = container.clone();
    let target_end =
        move || design.drag.with(|d| d.as_ref().and_then(|d| d.target.clone()) == Some((c.clone(), count)));
    view! {
        <div class="drop-list" data-drop=container.clone() data-count=count.to_string() class:drop-end=target_end
            data-test=format!("drop{}", container.replace('/', "-"))>
            {items.into_iter().enumerate().map(|(i, item)| render_item(design, definition, &container, i, item)).collect_view()}
            {(count == 0).then(|| view! { <p class="drop-hint">{move || ctx.t("design.drop_here")}</p> })}
        </div>
    }
    .into_any()
}

fn render_item(design: Design, definition: &Value, container: &str, index: usize, item: Value) -> AnyView {
    let ctx = ctx();
    let pointer = format!("{container}/{index}");
    let key = item["key"].as_str().unwrap_or_default().to_owned();
    let kind = item["type"].as_str().unwrap_or_default().to_owned();
    let label = item["label"].clone();
    let (c, p) = (container.to_owned(), pointer.clone());
    let drop_before =
        move || design.drag.with(|d| d.as_ref().and_then(|d| d.target.clone()) == Some((c.clone(), index)));
    let selected = move || design.selected.with(|s| s.as_deref() == Some(p.as_str()));
    let inner: Vec<String> = tree::inner_containers(&item, &pointer);
    let (p_select, p_remove) = (pointer.clone(), pointer.clone());
    let c_move = container.to_owned();
    let required = item["required"].as_bool().unwrap_or(false);
    let kind_label = kind.clone();
    let has_inner = !inner.is_empty();
    let test = format!("item-{key}");
    view! {
        <div class="item" class:selected=selected class:drop-before=drop_before class:layout=has_inner
            data-container=container.to_owned() data-index=index.to_string() data-test=test
            on:click=move |ev| { ev.stop_propagation(); design.selected.set(Some(p_select.clone())); }>
            <div class="item-head">
                <span class="handle" data-test="handle" title=move || ctx.t("design.drag")
                    on:pointerdown=move |ev| start(design, Source::Existing(c_move.clone(), index), &ev)>"⠿"</span>
                <span class="item-label">{move || { let t = text_of(&label); if t.is_empty() { key.clone() } else { t } }}
                    {required.then_some(" *")}</span>
                <span class="item-type muted">{move || type_name(ctx.lang.get(), &kind_label).to_owned()}</span>
                <button type="button" class="link danger" data-test="remove-item" aria-label=move || ctx.t("design.remove")
                    on:click=move |ev| {
                        ev.stop_propagation();
                        if let Some((c, i)) = split(&p_remove) {
                            design.edit(|d| { tree::remove(d, &c, i); });
                            design.selected.set(None);
                        }
                    }>"✕"</button>
            </div>
            {has_inner.then(|| {
                let columns = inner.len() > 1;
                view! {
                    <div class="inner" class:columns=columns>
                        {inner.into_iter().map(|c| list(design, definition, c)).collect_view()}
                    </div>
                }
            })}
        </div>
    }
    .into_any()
}
