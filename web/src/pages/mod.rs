//! One module per page; `render` picks the page of a route.

pub mod admin;
pub mod dashboards;
pub mod forms;
pub mod inbox;
pub mod records;
pub mod search;

use leptos::prelude::*;
use serde_json::Value;

use crate::app::ctx;
use crate::route::Page;

pub fn render(page: Page) -> AnyView {
    match page {
        Page::Login | Page::Forms => view! { <forms::FormList/> }.into_any(),
        Page::NewForm => view! { <forms::NewForm/> }.into_any(),
        Page::Design(key) => view! { <crate::designer::Designer key=key/> }.into_any(),
        Page::Fill(key) => view! { <crate::filler::FillPage key=key/> }.into_any(),
        Page::Records(key) => view! { <records::RecordList key=key/> }.into_any(),
        Page::Record(id) => view! { <records::RecordPage id=id/> }.into_any(),
        Page::Inbox => view! { <inbox::Inbox/> }.into_any(),
        Page::Workflows => view! { <crate::workflow::WorkflowList/> }.into_any(),
        Page::NewWorkflow => view! { <crate::workflow::NewWorkflow/> }.into_any(),
        Page::Workflow(key) => view! { <crate::workflow::WorkflowDesigner key=key/> }.into_any(),
        Page::Dashboards => view! { <dashboards::DashboardList/> }.into_any(),
        Page::NewDashboard => view! { <dashboards::NewDashboardPage/> }.into_any(),
        Page::Dashboard(key) => view! { <dashboards::DashboardPage key=key/> }.into_any(),
        Page::Search => view! { <search::SearchPage/> }.into_any(),
        Page::Trace => view! { <search::TracePage/> }.into_any(),
        Page::Admin => view! { <admin::Admin/> }.into_any(),
        Page::NotFound => {
            let ctx = ctx();
            view! { <p class="muted">{move || ctx.t("page.not_found")}</p> }.into_any()
        }
    }
}

/// A translated text object (`{"en": ..., "zh-CN": ...}`) or a plain string, in the current
/// language.
pub fn text_of(value: &Value) -> String {
    let lang = ctx().lang.get();
    match value {
        Value::String(s) => s.clone(),
        Value::Object(map) => {
            let (first, second) = if lang == engine::Lang::ZhCn { ("zh-CN", "en") } else { ("en", "zh-CN") };
            map.get(first).or_else(|| map.get(second)).and_then(Value::as_str).unwrap_or_default().to_owned()
        }
        _ => String::new(),
    }
}

/// Milliseconds since the epoch as local `YYYY-MM-DD HH:MM`.
pub fn when(ms: &Value) -> String {
    let Some(ms) = ms.as_f64() else { return String::new() };
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    )
}

/// A value as a short text for tables.
pub fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "✓" } else { "✗" }.to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(", "),
        Value::Object(map) => match map.get("result").or_else(|| map.get("name")) {
            Some(v) => cell(v),
            None => format!("{{{} …}}", map.len()),
        },
    }
}
