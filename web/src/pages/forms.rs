//! The workspace's forms: open the designer, fill a form, list its records; create a form.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::text_of;
use crate::api::ws_path;
use crate::app::ctx;
use crate::route::Page;

#[component]
pub fn FormList() -> impl IntoView {
    let ctx = ctx();
    let forms = RwSignal::new(None::<Vec<Value>>);
    let ws = ctx.ws();
    spawn_local(async move {
        match ctx.client().get(&ws_path(&ws, "/forms")).await {
            Ok(body) => forms.set(Some(body["items"].as_array().cloned().unwrap_or_default())),
            Err(e) => ctx.fail(e.message),
        }
    });
    view! {
        <div class="page-head">
            <h1>{move || ctx.t("forms.title")}</h1>
            <button class="primary" data-test="new-form" on:click=move |_| ctx.go(Page::NewForm)>
                {move || ctx.t("forms.new")}
            </button>
        </div>
        {move || match forms.get() {
            None => view! { <p class="muted">{move || ctx.t("loading")}</p> }.into_any(),
            Some(list) if list.is_empty() => view! { <p class="muted">{move || ctx.t("forms.none")}</p> }.into_any(),
            Some(list) => view! {
                <ul class="cards" data-test="form-list">
                    {list.into_iter().map(|form| {
                        let key = form["key"].as_str().unwrap_or_default().to_owned();
                        let published = form["latest_version"].as_i64();
                        let name = text_of(&form["name"]);
                        let (k1, k2, k3) = (key.clone(), key.clone(), key.clone());
                        view! {
                            <li class="card form-card" data-test=format!("form-{key}")>
                                <h3>{name}</h3>
                                <p class="muted"><code>{key.clone()}</code>" · "
                                    {move || match published {
                                        Some(v) => format!("{} v{v}", ctx.t("forms.published")),
                                        None => ctx.t("forms.draft_only").to_owned(),
                                    }}
                                </p>
                                <div class="actions">
                                    <button data-test="form-design" on:click=move |_| ctx.go(Page::Design(k1.clone()))>{move || ctx.t("forms.design")}</button>
                                    <button data-test="form-fill" disabled=published.is_none() on:click=move |_| ctx.go(Page::Fill(k2.clone()))>{move || ctx.t("forms.fill")}</button>
                                    <button data-test="form-records" disabled=published.is_none() on:click=move |_| ctx.go(Page::Records(k3.clone()))>{move || ctx.t("forms.records")}</button>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any(),
        }}
    }
}

/// A new form: its key and names; the designer opens on the empty draft.
#[component]
pub fn NewForm() -> impl IntoView {
    let ctx = ctx();
    let key = RwSignal::new(String::new());
    let en = RwSignal::new(String::new());
    let zh = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let ws = ctx.ws();
        let k = key.get_untracked();
        let definition = crate::tree::new_definition(&k, &en.get_untracked(), &zh.get_untracked());
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, "/forms"), &definition).await {
                Ok(_) => ctx.go(Page::Design(k)),
                Err(e) => error.set(Some(e.message)),
            }
        });
    };
    view! {
        <h1>{move || ctx.t("forms.new")}</h1>
        <form class="card narrow" on:submit=create>
            <label>{move || ctx.t("forms.key")}
                <input data-test="new-form-key" required pattern="[a-z][a-z0-9_]*" prop:value=move || key.get()
                    on:input=move |ev| key.set(event_target_value(&ev))/>
                <small class="muted">{move || ctx.t("forms.key_help")}</small>
            </label>
            <label>{move || ctx.t("forms.name_en")}
                <input data-test="new-form-name-en" required prop:value=move || en.get() on:input=move |ev| en.set(event_target_value(&ev))/>
            </label>
            <label>{move || ctx.t("forms.name_zh")}
                <input data-test="new-form-name-zh" required prop:value=move || zh.get() on:input=move |ev| zh.set(event_target_value(&ev))/>
            </label>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="primary" data-test="new-form-create">{move || ctx.t("forms.create")}</button>
        </form>
    }
}
