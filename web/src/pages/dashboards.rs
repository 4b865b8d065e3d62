//! Dashboards: the list, a dashboard with its shared filters and widgets drawn as charts,
//! drill-down from any chart element to the records behind it (with export), and an editor
//! that adds widgets through a small report builder.

use engine::report::parse_dashboard;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Map, Value, json};

use super::records::{columns_of, save_as};
use super::{cell, text_of, when};
use crate::api::ws_path;
use crate::app::ctx;
use crate::charts::chart;
use crate::route::Page;

#[component]
pub fn DashboardList() -> impl IntoView {
    let ctx = ctx();
    let items = RwSignal::new(None::<Vec<Value>>);
    let ws = ctx.ws();
    spawn_local(async move {
        match ctx.client().get(&ws_path(&ws, "/dashboards")).await {
            Ok(body) => items.set(Some(body["items"].as_array().cloned().unwrap_or_default())),
            Err(e) => ctx.fail(e.message),
        }
    });
    view! {
        <div class="page-head">
            <h1>{move || ctx.t("dash.title")}</h1>
            <button class="primary" data-test="new-dashboard" on:click=move |_| ctx.go(Page::NewDashboard)>{move || ctx.t("dash.new")}</button>
        </div>
        {move || items.get().map(|list| if list.is_empty() {
            view! { <p class="muted">{move || ctx.t("dash.none")}</p> }.into_any()
        } else {
            view! {
                <ul class="cards" data-test="dashboard-list">
                    {list.into_iter().map(|d| {
                        let key = d["key"].as_str().unwrap_or_default().to_owned();
                        let name = d["definition"]["name"].clone();
                        let k = key.clone();
                        view! {
                            <li class="card clickable" data-test=format!("dashboard-{key}") on:click=move |_| ctx.go(Page::Dashboard(k.clone()))>
                                <h3>{move || text_of(&name)}</h3>
                                <p class="muted"><code>{key.clone()}</code></p>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        })}
    }
}

/// Which records a drill-down shows.
#[derive(Clone, Debug, PartialEq)]
struct Drill {
    title: String,
    report: Value,
    point: Map<String, Value>,
}

#[component]
pub fn DashboardPage(key: String) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let definition = RwSignal::new(None::<Value>);
    let result = RwSignal::new(None::<Value>);
    let filters = RwSignal::new(Map::<String, Value>::new());
    let drill = RwSignal::new(None::<Drill>);
    let editing = RwSignal::new(false);
    let run = {
        let (ws, key) = (ws.clone(), key.clone());
        move || {
            let (ws, key) = (ws.clone(), key.clone());
            let body = json!({"filters": filters.get_untracked()});
            spawn_local(async move {
                match ctx.client().post(&ws_path(&ws, &format!("/dashboards/{key}/run")), &body).await {
                    Ok(r) => result.set(Some(r)),
                    Err(e) => ctx.fail(e.message),
                }
            });
        }
    };
    let load = {
        let (ws, key, run) = (ws.clone(), key.clone(), run.clone());
        move || {
            let (ws, key, run) = (ws.clone(), key.clone(), run.clone());
            spawn_local(async move {
                match ctx.client().get(&ws_path(&ws, &format!("/dashboards/{key}"))).await {
                    Ok(d) => {
                        definition.set(Some(d["definition"].clone()));
                        run();
                    }
                    Err(e) => ctx.fail(e.message),
                }
            });
        }
    };
    load();
    // A click on a chart element: the widget's report with the shared filters applied (the
    // engine does this the same way as the server), narrowed to the element.
    // A widget's table as CSV, with the shared filters applied (single-report widgets).
    let export_widget = move |widget_key: String| {
        let Some(def) = definition.get_untracked() else { return };
        let Ok(dashboard) = parse_dashboard(&def) else { return };
        let Some(widget) = dashboard.widgets.iter().find(|w| w.key == widget_key) else { return };
        let Some(spec) =
            dashboard.widget_reports(widget, &filters.get_untracked()).ok().and_then(|s| s.into_iter().next())
        else {
            return;
        };
        let body = json!({"report": spec, "format": "csv"});
        let ws = ctx.ws();
        spawn_local(async move {
            match ctx.client().download(&ws_path(&ws, "/reports/export"), &body).await {
                Ok(url) => save_as(&url, &format!("{widget_key}.csv")),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    let pick_for = move |widget_key: String| {
        Callback::new(move |point: Map<String, Value>| {
            let Some(def) = definition.get_untracked() else { return };
            let Ok(dashboard) = parse_dashboard(&def) else { return };
            let Some(widget) = dashboard.widgets.iter().find(|w| w.key == widget_key) else { return };
            let Ok(specs) = dashboard.widget_reports(widget, &filters.get_untracked()) else { return };
            let lang = ctx.lang.get_untracked();
            let (spec, point) = if widget.stages.is_empty() {
                (specs.into_iter().next(), point)
            } else {
                // A funnel across forms: the stage's own records.
                let picked = point.values().next().and_then(Value::as_str).unwrap_or_default().to_owned();
                let index = widget.stages.iter().position(|s| s.label.get(lang) == Some(picked.as_str()));
                (index.and_then(|i| specs.into_iter().nth(i)), Map::new())
            };
            let Some(spec) = spec else { return };
            let title = format!(
                "{} — {}",
                widget.title.get(lang).unwrap_or_default(),
                point.values().map(cell).collect::<Vec<_>>().join(" · ")
            );
            drill.set(Some(Drill { title, report: serde_json::to_value(&spec).unwrap_or_default(), point }));
        })
    };
    let run_filters = run.clone();
    view! {
        {move || definition.get().map(|def| {
            let shared = def["filters"].as_array().cloned().unwrap_or_default();
            let run_filters = run_filters.clone();
            view! {
                <div class="page-head">
                    <h1>{let n = def["name"].clone(); move || text_of(&n)}</h1>
                    <button data-test="edit-dashboard" on:click=move |_| editing.update(|e| *e = !*e)>{move || ctx.t("dash.add_widget")}</button>
                </div>
                <form class="filters card" data-test="dashboard-filters" on:submit=move |ev| { ev.prevent_default(); run_filters(); }>
                    {shared.into_iter().map(|f| filter_input(f, filters)).collect_view()}
                    <button type="submit" data-test="apply-filters">{move || ctx.t("records.apply")}</button>
                </form>
            }
        })}
        {
            let (ws, key, load) = (ws.clone(), key.clone(), load.clone());
            move || editing.get().then(|| view! { <WidgetBuilder ws=ws.clone() key=key.clone() definition=definition on_saved={
                let load = load.clone();
                move || { editing.set(false); load(); }
            }/> })
        }
        <div class="grid" data-test="widgets">
            {move || result.get().map(|r| r["widgets"].as_array().cloned().unwrap_or_default().into_iter().map(|w| {
                let key = w["key"].as_str().unwrap_or_default().to_owned();
                let style = format!(
                    "--x:{};--y:{};--w:{};--h:{}",
                    w["x"].as_u64().unwrap_or(0) + 1, w["y"].as_u64().unwrap_or(0) + 1,
                    w["w"].as_u64().unwrap_or(6), w["h"].as_u64().unwrap_or(4)
                );
                let body = match (&w["result"], &w["error"]) {
                    (result, _) if !result.is_null() => chart(result, pick_for(key.clone())),
                    (_, error) => view! { <p class="error">{error["message"].as_str().unwrap_or_default().to_owned()}</p> }.into_any(),
                };
                let export_key = key.clone();
                view! {
                    <section class="card widget" style=style data-test=format!("widget-{key}")>
                        <div class="widget-head">
                            <h3>{w["title"].as_str().unwrap_or_default().to_owned()}</h3>
                            <button class="link" data-test="widget-export" aria-label=move || ctx.t("dash.export")
                                on:click=move |_| export_widget(export_key.clone())>"CSV"</button>
                        </div>
                        {body}
                    </section>
                }
            }).collect_view())}
        </div>
        {move || drill.get().map(|d| view! { <DrillPanel drill=d on_close=move || drill.set(None)/> })}
    }
}

fn filter_input(filter: Value, values: RwSignal<Map<String, Value>>) -> AnyView {
    let ctx = ctx();
    let key = filter["key"].as_str().unwrap_or_default().to_owned();
    let label = filter["label"].clone();
    if filter["kind"] == json!("date_range") {
        let set = move |part: &'static str, key: String| {
            move |ev: leptos::ev::Event| {
                let v = event_target_value(&ev);
                values.update(|m| {
                    let mut range = m.get(&key).cloned().unwrap_or_else(|| json!({}));
                    if v.is_empty() {
                        range.as_object_mut().map(|o| o.remove(part));
                    } else {
                        range[part] = json!(v);
                    }
                    if range.as_object().is_some_and(Map::is_empty) {
                        m.remove(&key);
                    } else {
                        m.insert(key.clone(), range);
                    }
                });
            }
        };
        view! {
            <fieldset class="inline">
                <legend>{move || text_of(&label)}</legend>
                <input type="date" aria-label=move || ctx.t("dash.from") data-test=format!("filter-{key}-from") on:change=set("from", key.clone())/>
                <input type="date" aria-label=move || ctx.t("dash.to") data-test=format!("filter-{key}-to") on:change=set("to", key.clone())/>
            </fieldset>
        }
        .into_any()
    } else {
        let k = key.clone();
        view! {
            <label class="inline">{move || text_of(&label)}
                <input data-test=format!("filter-{key}") placeholder=move || ctx.t("dash.values_hint") on:change=move |ev| {
                    let list: Vec<Value> = event_target_value(&ev).split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| json!(s)).collect();
                    values.update(|m| { if list.is_empty() { m.remove(&k); } else { m.insert(k.clone(), Value::Array(list)); } });
                }/>
            </label>
        }
        .into_any()
    }
}

#[component]
fn DrillPanel(drill: Drill, on_close: impl Fn() + Send + Sync + Copy + 'static) -> impl IntoView {
    let ctx = ctx();
    let ws = ctx.ws();
    let records = RwSignal::new(None::<Vec<Value>>);
    let body = json!({"report": drill.report, "point": drill.point, "limit": 100});
    {
        let (ws, body) = (ws.clone(), body.clone());
        spawn_local(async move {
            match ctx.client().post(&ws_path(&ws, "/reports/records"), &body).await {
                Ok(r) => records.set(Some(r["items"].as_array().cloned().unwrap_or_default())),
                Err(e) => ctx.fail(e.message),
            }
        });
    }
    let export = move |_| {
        let ws = ws.clone();
        let mut body = body.clone();
        body["format"] = json!("csv");
        body["records"] = json!(true);
        if let Some(o) = body.as_object_mut() {
            o.remove("limit");
        }
        spawn_local(async move {
            match ctx.client().download(&ws_path(&ws, "/reports/export"), &body).await {
                Ok(url) => save_as(&url, "drill-down.csv"),
                Err(e) => ctx.fail(e.message),
            }
        });
    };
    view! {
        <div class="dialog-backdrop" on:click=move |_| on_close()>
            <div class="dialog card wide" role="dialog" aria-modal="true" data-test="drill" on:click=|ev| ev.stop_propagation()>
                <div class="page-head">
                    <h2>{drill.title.clone()}</h2>
                    <div class="toolbar">
                        <button data-test="drill-export" on:click=export>"CSV"</button>
                        <button data-test="drill-close" on:click=move |_| on_close()>{move || ctx.t("close")}</button>
                    </div>
                </div>
                {move || match records.get() {
                    None => view! { <p class="muted">{move || ctx.t("loading")}</p> }.into_any(),
                    Some(list) => {
                        let keys: Vec<String> = list.first().and_then(|r| r["data"].as_object()).map(|o| o.keys().take(6).cloned().collect()).unwrap_or_default();
                        view! {
                            <p class="muted" data-test="drill-count">{list.len()}" "{move || ctx.t("records.count")}</p>
                            <div class="table-wrap"><table class="table" data-test="drill-records">
                                <thead><tr><th>{move || ctx.t("records.created")}</th>{keys.iter().map(|k| view! { <th>{k.clone()}</th> }).collect_view()}</tr></thead>
                                <tbody>
                                    {list.into_iter().map(|r| {
                                        let id = r["id"].as_str().unwrap_or_default().to_owned();
                                        view! {
                                            <tr class="clickable" data-test="drill-record" on:click=move |_| ctx.go(Page::Record(id.clone()))>
                                                <td>{when(&r["created_at"])}</td>
                                                {keys.iter().map(|k| view! { <td>{cell(&r["data"][k])}</td> }).collect_view()}
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table></div>
                        }.into_any()
                    }
                }}
            </div>
        </div>
    }
}

const CHART_KINDS: &[&str] = &[
    "bar",
    "stacked_bar",
    "line",
    "area",
    "stacked_area",
    "pie",
    "pareto",
    "funnel",
    "kpi",
    "gauge",
    "ranking",
    "pivot",
    "table",
];

/// The key and names of a dashboard being created with its first widget.
#[derive(Clone, Copy)]
pub struct NewDashboard {
    key: RwSignal<String>,
    en: RwSignal<String>,
    zh: RwSignal<String>,
}

/// A new dashboard: its key and names, and the first widget (a dashboard has at least one).
#[component]
pub fn NewDashboardPage() -> impl IntoView {
    let ctx = ctx();
    let new = NewDashboard {
        key: RwSignal::new(String::new()),
        en: RwSignal::new(String::new()),
        zh: RwSignal::new(String::new()),
    };
    let input = move |signal: RwSignal<String>, label: &'static str, test: &'static str| {
        view! {
            <label>{move || ctx.t(label)}<input required data-test=test prop:value=move || signal.get() on:input=move |ev| signal.set(event_target_value(&ev))/></label>
        }
    };
    view! {
        <h1>{move || ctx.t("dash.new")}</h1>
        <div class="card narrow">
            {input(new.key, "forms.key", "new-dashboard-key")}
            {input(new.en, "forms.name_en", "new-dashboard-name-en")}
            {input(new.zh, "forms.name_zh", "new-dashboard-name-zh")}
        </div>
        <WidgetBuilder ws=ctx.ws() key=String::new() definition=RwSignal::new(None) new=new
            on_saved=move || ctx.go(Page::Dashboard(new.key.get_untracked()))/>
    }
}

/// Adds a widget: a form, a dimension (optionally bucketed by time), a measure, a chart kind.
/// With `new`, it creates the dashboard with this first widget.
#[component]
fn WidgetBuilder(
    ws: String,
    key: String,
    definition: RwSignal<Option<Value>>,
    on_saved: impl Fn() + Send + Sync + Clone + 'static,
    #[prop(optional)] new: Option<NewDashboard>,
) -> impl IntoView {
    let ctx = ctx();
    let forms = RwSignal::new(Vec::<Value>::new());
    let fields = RwSignal::new(Vec::<(String, Value)>::new());
    let form = RwSignal::new(String::new());
    let title_en = RwSignal::new(String::new());
    let title_zh = RwSignal::new(String::new());
    let dimension = RwSignal::new(String::new());
    let bucket = RwSignal::new(String::new());
    let second = RwSignal::new(String::new());
    let function = RwSignal::new("count".to_owned());
    let measure_field = RwSignal::new(String::new());
    let kind = RwSignal::new("bar".to_owned());
    let error = RwSignal::new(None::<String>);
    {
        let ws = ws.clone();
        spawn_local(async move {
            if let Ok(body) = ctx.client().get(&ws_path(&ws, "/forms")).await {
                forms.set(
                    body["items"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|f| !f["latest_version"].is_null())
                        .collect(),
                );
            }
        });
    }
    let pick_form = {
        let ws = ws.clone();
        move |ev: leptos::ev::Event| {
            let key = event_target_value(&ev);
            form.set(key.clone());
            let ws = ws.clone();
            spawn_local(async move {
                if let Ok(Some((_, definition))) = ctx.client().latest_definition(&ws, &key).await {
                    fields.set(columns_of(&definition));
                }
            });
        }
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (mut def, creating) = match (definition.get_untracked(), new) {
            (Some(def), _) => (def, false),
            (None, Some(new)) => (
                json!({"key": new.key.get_untracked(), "name": {"en": new.en.get_untracked(), "zh-CN": new.zh.get_untracked()}, "widgets": []}),
                true,
            ),
            (None, None) => return,
        };
        let widgets = def["widgets"].as_array().cloned().unwrap_or_default();
        let bottom =
            widgets.iter().map(|w| w["y"].as_u64().unwrap_or(0) + w["h"].as_u64().unwrap_or(0)).max().unwrap_or(0);
        let mut dims = Vec::new();
        if !dimension.get_untracked().is_empty() {
            let mut d = json!({"field": dimension.get_untracked()});
            if !bucket.get_untracked().is_empty() {
                d["bucket"] = json!(bucket.get_untracked());
            }
            dims.push(d);
        }
        if !second.get_untracked().is_empty() {
            dims.push(json!({"field": second.get_untracked()}));
        }
        let mut measure = json!({"fn": function.get_untracked(), "as": function.get_untracked()});
        if !measure_field.get_untracked().is_empty() && function.get_untracked() != "count" {
            measure["field"] = json!(measure_field.get_untracked());
        }
        let n = widgets.len() + 1;
        let widget = json!({
            "key": format!("widget_{n}_{}", js_sys::Date::now() as u64 % 100_000),
            "title": {"en": title_en.get_untracked(), "zh-CN": title_zh.get_untracked()},
            "x": 0, "y": bottom, "w": 6, "h": 6,
            "report": {"form": form.get_untracked(), "dimensions": dims, "measures": [measure], "chart": {"kind": kind.get_untracked()}},
        });
        if let Some(list) = def["widgets"].as_array_mut() {
            list.push(widget);
        }
        let (ws, key, on_saved) = (ws.clone(), key.clone(), on_saved.clone());
        spawn_local(async move {
            let client = ctx.client();
            let saved = if creating {
                client.post(&ws_path(&ws, "/dashboards"), &def).await
            } else {
                client.put(&ws_path(&ws, &format!("/dashboards/{key}")), &def).await
            };
            match saved {
                Ok(_) => {
                    ctx.ok(ctx.t("dash.widget_added"));
                    on_saved();
                }
                Err(e) => error.set(Some(e.describe())),
            }
        });
    };
    let field_options = move || {
        fields
            .get()
            .into_iter()
            .map(|(k, l)| view! { <option value=k.clone()>{move || text_of(&l)}" ("{k.clone()}")"</option> })
            .collect_view()
    };
    view! {
        <form class="card builder" data-test="widget-builder" on:submit=save>
            <h3>{move || ctx.t("dash.add_widget")}</h3>
            <div class="form-grid">
                <label>{move || ctx.t("dash.title_en")}<input required data-test="widget-title-en" on:input=move |ev| title_en.set(event_target_value(&ev))/></label>
                <label>{move || ctx.t("dash.title_zh")}<input required data-test="widget-title-zh" on:input=move |ev| title_zh.set(event_target_value(&ev))/></label>
                <label>{move || ctx.t("dash.form")}
                    <select required data-test="widget-form" on:change=pick_form>
                        <option value="">"—"</option>
                        {move || forms.get().into_iter().map(|f| { let k = f["key"].as_str().unwrap_or_default().to_owned(); let n = f["name"].clone(); view! { <option value=k.clone()>{move || text_of(&n)}</option> } }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("dash.dimension")}
                    <select data-test="widget-dimension" on:change=move |ev| dimension.set(event_target_value(&ev))><option value="">"—"</option>{field_options}</select>
                </label>
                <label>{move || ctx.t("dash.bucket")}
                    <select on:change=move |ev| bucket.set(event_target_value(&ev))>
                        {["", "day", "week", "month", "quarter", "year"].into_iter().map(|b| view! { <option value=b>{if b.is_empty() { "—" } else { b }}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("dash.series")}
                    <select on:change=move |ev| second.set(event_target_value(&ev))><option value="">"—"</option>{field_options}</select>
                </label>
                <label>{move || ctx.t("dash.measure")}
                    <select data-test="widget-measure" on:change=move |ev| function.set(event_target_value(&ev))>
                        {["count", "count_distinct", "sum", "avg", "min", "max"].into_iter().map(|f| view! { <option value=f>{f}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || ctx.t("dash.measure_field")}
                    <select on:change=move |ev| measure_field.set(event_target_value(&ev))><option value="">"—"</option>{field_options}</select>
                </label>
                <label>{move || ctx.t("dash.chart")}
                    <select data-test="widget-chart" on:change=move |ev| kind.set(event_target_value(&ev))>
                        {CHART_KINDS.iter().map(|k| view! { <option value=*k>{k.replace('_', " ")}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <button type="submit" class="primary" data-test="widget-save">{move || ctx.t("save")}</button>
        </form>
    }
}
