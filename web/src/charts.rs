//! Every chart kind of the report engine drawn as SVG: axes, legends, tooltips (SVG
//! `<title>`), and a click on any element that names the element for drill-down.

use leptos::prelude::*;
use serde_json::{Map, Value, json};

use crate::chart_math::{Scale, label};
use crate::pages::cell;

const W: f64 = 640.0;
const H: f64 = 280.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 48.0;
const PALETTE: &[&str] = &["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#0ea5e9", "#84cc16", "#f97316"];

/// What a click on an element selects: values of the report's dimensions by name.
pub type Pick = Callback<Map<String, Value>>;

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn nums(value: &Value) -> Vec<Option<f64>> {
    value.as_array().map(|a| a.iter().map(Value::as_f64).collect()).unwrap_or_default()
}

fn texts(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

fn shown(label: &Value) -> String {
    match label {
        Value::Null => "—".to_owned(),
        other => cell(other),
    }
}

/// The point of a category (and a series, for two-dimensional charts).
fn point(dims: &[String], category: &Value, series: Option<&Value>) -> Map<String, Value> {
    let mut map = Map::new();
    if let Some(first) = dims.first() {
        map.insert(first.clone(), category.clone());
    }
    if let (Some(second), Some(series)) = (dims.get(1), series) {
        map.insert(second.clone(), series.clone());
    }
    map
}

/// A chart for a report result (`{columns, rows, chart}`).
pub fn chart(result: &Value, pick: Pick) -> AnyView {
    let dims: Vec<String> = result["columns"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["role"] == json!("dimension"))
        .filter_map(|c| c["name"].as_str().map(str::to_owned))
        .collect();
    let chart = &result["chart"];
    if let Some(error) = chart.get("error") {
        return view! { <p class="error">{error["message"].as_str().unwrap_or_default().to_owned()}</p> }.into_any();
    }
    match chart["kind"].as_str().unwrap_or("table") {
        "kpi" => kpi(chart),
        "gauge" => gauge(chart),
        "bar" | "line" | "area" => series_chart(chart, &dims, pick, false),
        "stacked_bar" | "stacked_area" => series_chart(chart, &dims, pick, true),
        "pie" => pie(chart, &dims, pick),
        "pareto" => pareto(chart, &dims, pick),
        "funnel" => funnel(chart, &dims, pick),
        "ranking" => ranking(chart, &dims, pick),
        "pivot" => pivot(chart, &dims, pick),
        "x_bar_r" | "x_bar_s" | "i_mr" | "p" | "np" | "c" | "u" => control(chart),
        _ => table(result, &dims, pick),
    }
}

fn kpi(chart: &Value) -> AnyView {
    let value = chart["value"].as_f64().map(label).unwrap_or_else(|| "—".into());
    view! { <div class="kpi" data-test="kpi-value">{value}</div> }.into_any()
}

fn gauge(chart: &Value) -> AnyView {
    let value = chart["value"].as_f64().unwrap_or(0.0);
    let (min, max) = (chart["min"].as_f64().unwrap_or(0.0), chart["max"].as_f64().unwrap_or(1.0));
    let share = ((value - min) / (max - min)).clamp(0.0, 1.0);
    let angle = std::f64::consts::PI * (1.0 - share);
    let (cx, cy, r) = (160.0, 150.0, 110.0);
    let (x, y) = (cx + r * angle.cos(), cy - r * angle.sin());
    let large = 0;
    view! {
        <svg class="chart" viewBox="0 0 320 180" role="img">
            <path d=format!("M {} {cy} A {r} {r} 0 0 1 {} {cy}", cx - r, cx + r) class="gauge-track" fill="none" stroke-width="18"/>
            <path d=format!("M {} {cy} A {r} {r} 0 {large} 1 {x:.1} {y:.1}", cx - r) fill="none" stroke=color(0) stroke-width="18">
                <title>{label(value)}</title>
            </path>
            <text x=cx y=cy - 10.0 text-anchor="middle" class="gauge-value">{label(value)}</text>
            <text x=cx - r y=cy + 20.0 text-anchor="middle" class="axis">{label(min)}</text>
            <text x=cx + r y=cy + 20.0 text-anchor="middle" class="axis">{label(max)}</text>
        </svg>
    }
    .into_any()
}

/// Y axis with grid lines, and category labels under the plot.
fn axes(scale: &Scale, categories: &[Value], band: f64) -> AnyView {
    let y_ticks = scale
        .ticks
        .iter()
        .map(|t| {
            let y = scale.at(*t, H - BOTTOM, TOP);
            view! {
                <line x1=LEFT x2=W - RIGHT y1=y y2=y class="grid"/>
                <text x=LEFT - 6.0 y=y + 4.0 text-anchor="end" class="axis">{label(*t)}</text>
            }
        })
        .collect_view();
    let step = (categories.len() / 12).max(1);
    let x_labels = categories
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0)
        .map(|(i, c)| {
            let x = LEFT + band * (i as f64 + 0.5);
            let text: String = shown(c).chars().take(10).collect();
            view! { <text x=x y=H - BOTTOM + 16.0 text-anchor="middle" class="axis">{text}</text> }
        })
        .collect_view();
    view! {
        {y_ticks}
        <line x1=LEFT x2=W - RIGHT y1=H - BOTTOM y2=H - BOTTOM class="axis-line"/>
        {x_labels}
    }
    .into_any()
}

fn legend(names: &[String]) -> AnyView {
    view! {
        <div class="legend">
            {names.iter().enumerate().map(|(i, n)| view! {
                <span class="legend-item"><span class="swatch" style=format!("background:{}", color(i))></span>{n.clone()}</span>
            }).collect_view()}
        </div>
    }
    .into_any()
}

fn series_chart(chart: &Value, dims: &[String], pick: Pick, stacked: bool) -> AnyView {
    let kind = chart["kind"].as_str().unwrap_or("bar").to_owned();
    let categories = texts(&chart["categories"]);
    let series: Vec<(Value, Vec<Option<f64>>)> =
        texts(&chart["series"]).iter().map(|s| (s["name"].clone(), nums(&s["data"]))).collect();
    let n = categories.len().max(1);
    let band = (W - LEFT - RIGHT) / n as f64;
    let totals: Vec<f64> =
        (0..n).map(|i| series.iter().filter_map(|(_, d)| d.get(i).copied().flatten()).sum()).collect();
    let all: Vec<f64> =
        if stacked { totals.clone() } else { series.iter().flat_map(|(_, d)| d.iter().flatten().copied()).collect() };
    let scale = Scale::nice(all, true, 5);
    let base_y = scale.at(0.0f64.max(scale.min), H - BOTTOM, TOP);
    let bars = kind.contains("bar");
    let mut shapes = Vec::new();
    let mut stack = vec![0.0; n];
    for (s, (name, data)) in series.iter().enumerate() {
        let series_label = if stacked { Some(name) } else { None };
        if bars {
            let width = if stacked { band * 0.7 } else { band * 0.8 / series.len().max(1) as f64 };
            for (i, value) in data.iter().enumerate() {
                let Some(v) = value else { continue };
                let (from, to) = if stacked { (stack[i], stack[i] + v) } else { (0.0, *v) };
                stack[i] += if stacked { *v } else { 0.0 };
                let (y0, y1) = (scale.at(from, H - BOTTOM, TOP), scale.at(to, H - BOTTOM, TOP));
                let x = LEFT + band * i as f64 + band * 0.1 + if stacked { band * 0.05 } else { width * s as f64 };
                let p = point(dims, &categories[i], series_label);
                let tip = format!("{} · {}: {}", shown(&categories[i]), shown(name), label(*v));
                shapes.push(
                    view! {
                        <rect x=x y=y0.min(y1) width=width height=(y0 - y1).abs().max(0.5) fill=color(s) class="mark"
                            data-test="chart-mark" on:click=move |_| pick.run(p.clone())><title>{tip}</title></rect>
                    }
                    .into_any(),
                );
            }
        } else {
            let mut path = String::new();
            let mut dots = Vec::new();
            let mut first_x = None;
            let mut last_x = 0.0;
            for (i, value) in data.iter().enumerate() {
                let Some(v) = value else { continue };
                let top = if stacked { stack[i] + v } else { *v };
                if stacked {
                    stack[i] = top;
                }
                let (x, y) = (LEFT + band * (i as f64 + 0.5), scale.at(top, H - BOTTOM, TOP));
                path.push_str(&format!("{}{x:.1},{y:.1} ", if path.is_empty() { "M" } else { "L" }));
                first_x.get_or_insert(x);
                last_x = x;
                let p = point(dims, &categories[i], series_label);
                let tip = format!("{} · {}: {}", shown(&categories[i]), shown(name), label(*v));
                dots.push(
                    view! {
                        <circle cx=x cy=y r="4" fill=color(s) class="mark" data-test="chart-mark"
                            on:click=move |_| pick.run(p.clone())><title>{tip}</title></circle>
                    }
                    .into_any(),
                );
            }
            if kind.contains("area")
                && let Some(fx) = first_x
            {
                let area = format!("{path}L{last_x:.1},{base_y:.1} L{fx:.1},{base_y:.1} Z");
                shapes.push(view! { <path d=area fill=color(s) fill-opacity="0.25" stroke="none"/> }.into_any());
            }
            shapes.push(view! { <path d=path fill="none" stroke=color(s) stroke-width="2"/> }.into_any());
            shapes.extend(dots);
        }
    }
    let names: Vec<String> = series.iter().map(|(n, _)| shown(n)).collect();
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img">
            {axes(&scale, &categories, band)}
            {shapes}
        </svg>
        {legend(&names)}
    }
    .into_any()
}

fn pie(chart: &Value, dims: &[String], pick: Pick) -> AnyView {
    let slices = texts(&chart["slices"]);
    let (cx, cy, r) = (140.0, 140.0, 120.0);
    let mut angle = -std::f64::consts::FRAC_PI_2;
    let mut shapes = Vec::new();
    let mut names = Vec::new();
    for (i, s) in slices.iter().enumerate() {
        let share = s["share"].as_f64().unwrap_or(0.0);
        if share <= 0.0 {
            continue;
        }
        let end = angle + share * std::f64::consts::TAU;
        let (x0, y0) = (cx + r * angle.cos(), cy + r * angle.sin());
        let (x1, y1) = (cx + r * end.cos(), cy + r * end.sin());
        let large = i32::from(share > 0.5);
        let d = if share >= 0.9999 {
            format!("M {cx} {} A {r} {r} 0 1 1 {cx} {} A {r} {r} 0 1 1 {cx} {} Z", cy - r, cy + r, cy - r)
        } else {
            format!("M {cx} {cy} L {x0:.1} {y0:.1} A {r} {r} 0 {large} 1 {x1:.1} {y1:.1} Z")
        };
        let p = point(dims, &s["label"], None);
        let tip =
            format!("{}: {} ({:.1}%)", shown(&s["label"]), label(s["value"].as_f64().unwrap_or(0.0)), share * 100.0);
        shapes.push(view! { <path d=d fill=color(i) class="mark" data-test="chart-mark" on:click=move |_| pick.run(p.clone())><title>{tip}</title></path> });
        names.push(shown(&s["label"]));
        angle = end;
    }
    view! {
        <svg class="chart pie" viewBox="0 0 280 280" role="img">{shapes}</svg>
        {legend(&names)}
    }
    .into_any()
}

fn pareto(chart: &Value, dims: &[String], pick: Pick) -> AnyView {
    let categories = texts(&chart["categories"]);
    let bars = nums(&chart["bars"]);
    let cumulative = nums(&chart["cumulative"]);
    let n = categories.len().max(1);
    let band = (W - LEFT - RIGHT) / n as f64;
    let scale = Scale::nice(bars.iter().flatten().copied(), true, 5);
    let mut shapes = Vec::new();
    let mut line = String::new();
    for (i, category) in categories.iter().enumerate() {
        let v = bars.get(i).copied().flatten().unwrap_or(0.0);
        let (y0, y1) = (scale.at(0.0, H - BOTTOM, TOP), scale.at(v, H - BOTTOM, TOP));
        let p = point(dims, category, None);
        let tip = format!("{}: {}", shown(category), label(v));
        shapes.push(view! {
            <rect x=LEFT + band * i as f64 + band * 0.1 y=y1 width=band * 0.8 height=(y0 - y1).max(0.5) fill=color(0)
                class="mark" data-test="chart-mark" on:click=move |_| pick.run(p.clone())><title>{tip}</title></rect>
        });
        if let Some(share) = cumulative.get(i).copied().flatten() {
            let (x, y) = (LEFT + band * (i as f64 + 0.5), TOP + (1.0 - share) * (H - BOTTOM - TOP));
            line.push_str(&format!("{}{x:.1},{y:.1} ", if line.is_empty() { "M" } else { "L" }));
        }
    }
    view! {
        <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img">
            {axes(&scale, &categories, band)}
            {shapes}
            <path d=line fill="none" stroke=color(1) stroke-width="2"/>
            <text x=W - RIGHT y=TOP + 4.0 text-anchor="end" class="axis">"100%"</text>
            <line x1=LEFT x2=W - RIGHT y1=TOP + 0.2 * (H - BOTTOM - TOP) y2=TOP + 0.2 * (H - BOTTOM - TOP) class="target" stroke-dasharray="4 4"/>
        </svg>
    }
    .into_any()
}

fn funnel(chart: &Value, dims: &[String], pick: Pick) -> AnyView {
    let stages = texts(&chart["stages"]);
    let top = stages.iter().filter_map(|s| s["value"].as_f64()).fold(0.0, f64::max).max(1.0);
    let row = 40.0;
    let height = row * stages.len().max(1) as f64 + 8.0;
    let shapes = stages
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let v = s["value"].as_f64().unwrap_or(0.0);
            let width = (W - 200.0) * v / top;
            let x = 160.0 + (W - 200.0 - width) / 2.0;
            let y = 4.0 + row * i as f64;
            let p = point(dims, &s["label"], None);
            let share = s["of_first"].as_f64().map(|r| format!(" ({:.1}%)", r * 100.0)).unwrap_or_default();
            let tip = format!("{}: {}{share}", shown(&s["label"]), label(v));
            view! {
                <text x="150" y=y + row / 2.0 + 4.0 text-anchor="end" class="axis">{shown(&s["label"])}</text>
                <rect x=x y=y width=width.max(1.0) height=row - 6.0 fill=color(i) class="mark" data-test="chart-mark"
                    on:click=move |_| pick.run(p.clone())><title>{tip.clone()}</title></rect>
                <text x=W - 30.0 y=y + row / 2.0 + 4.0 text-anchor="end" class="axis">{label(v)}{share}</text>
            }
        })
        .collect_view();
    view! { <svg class="chart" viewBox=format!("0 0 {W} {height}") role="img">{shapes}</svg> }.into_any()
}

fn ranking(chart: &Value, dims: &[String], pick: Pick) -> AnyView {
    let items = texts(&chart["items"]);
    let measures: Vec<String> = items
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().filter(|k| *k != "rank" && *k != "label").cloned().collect())
        .unwrap_or_default();
    view! {
        <table class="table ranking">
            <thead><tr><th>"#"</th><th></th>{measures.iter().map(|m| view! { <th>{m.clone()}</th> }).collect_view()}</tr></thead>
            <tbody>
                {items.iter().map(|item| {
                    let p = point(dims, &item["label"], None);
                    view! {
                        <tr class="clickable mark" data-test="chart-mark" on:click=move |_| pick.run(p.clone())>
                            <td>{item["rank"].to_string()}</td>
                            <td>{shown(&item["label"])}</td>
                            {measures.iter().map(|m| view! { <td>{item[m].as_f64().map(label).unwrap_or_default()}</td> }).collect_view()}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

fn pivot(chart: &Value, dims: &[String], pick: Pick) -> AnyView {
    let rows = texts(&chart["rows"]);
    let columns = texts(&chart["columns"]);
    let cells = chart["cells"].as_array().cloned().unwrap_or_default();
    view! {
        <div class="table-wrap"><table class="table pivot">
            <thead><tr><th></th>{columns.iter().map(|c| view! { <th>{shown(c)}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.iter().enumerate().map(|(r, row)| view! {
                    <tr>
                        <th>{shown(row)}</th>
                        {columns.iter().enumerate().map(|(c, column)| {
                            let v = cells.get(r).and_then(|x| x.get(c)).and_then(Value::as_f64);
                            let p = point(dims, row, Some(column));
                            view! { <td class="clickable mark" data-test="chart-mark" on:click=move |_| pick.run(p.clone())>{v.map(label).unwrap_or_default()}</td> }
                        }).collect_view()}
                    </tr>
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}

/// Control charts: each chart's points with centre line and limits; points that break a
/// run rule are red, with the rule in their tooltip.
fn control(chart: &Value) -> AnyView {
    let categories = texts(&chart["categories"]);
    let charts = texts(&chart["charts"]);
    let capability = chart["capability"].clone();
    let views = charts
        .iter()
        .map(|c| {
            let points = nums(&c["points"]);
            let ucl = nums(&c["ucl"]);
            let lcl = nums(&c["lcl"]);
            let center = c["center"].as_f64().unwrap_or(0.0);
            let flagged: Vec<(usize, String)> = texts(&c["violations"])
                .iter()
                .filter_map(|v| Some((v["point"].as_u64()? as usize, format!("{} {}", v["set"].as_str().unwrap_or_default(), v["rule"]))))
                .collect();
            let all = points.iter().chain(&ucl).chain(&lcl).flatten().copied().chain([center]);
            let scale = Scale::nice(all, false, 5);
            let n = points.len().max(1);
            let band = (W - LEFT - RIGHT) / n as f64;
            let x = |i: usize| LEFT + band * (i as f64 + 0.5);
            let y = |v: f64| scale.at(v, H - BOTTOM, TOP);
            let limit_path = |values: &[Option<f64>]| {
                values
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| v.map(|v| format!("{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, x(i), y(v))))
                    .collect::<String>()
            };
            let line: String = points
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| format!("{}{:.1},{:.1} ", if i == 0 { "M" } else { "L" }, x(i), y(v))))
                .collect();
            let dots = points
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.map(|v| (i, v)))
                .map(|(i, v)| {
                    let rules: Vec<String> = flagged.iter().filter(|(p, _)| *p == i).map(|(_, r)| r.clone()).collect();
                    let bad = !rules.is_empty();
                    let tip = format!("{}: {}{}", shown(categories.get(i).unwrap_or(&Value::Null)), label(v),
                        if bad { format!(" — {}", rules.join(", ")) } else { String::new() });
                    view! { <circle cx=x(i) cy=y(v) r="3.5" class=if bad { "point flagged" } else { "point" }><title>{tip}</title></circle> }
                })
                .collect_view();
            let kind = c["kind"].as_str().unwrap_or_default().to_uppercase();
            view! {
                <svg class="chart" viewBox=format!("0 0 {W} {H}") role="img">
                    {axes(&scale, &categories, band)}
                    <path d=limit_path(&ucl) class="limit" fill="none"/>
                    <path d=limit_path(&lcl) class="limit" fill="none"/>
                    <line x1=LEFT x2=W - RIGHT y1=y(center) y2=y(center) class="center"/>
                    <path d=line fill="none" stroke=color(0) stroke-width="1.5"/>
                    {dots}
                    <text x=W - RIGHT y=TOP + 10.0 text-anchor="end" class="axis">{kind}</text>
                </svg>
            }
        })
        .collect_view();
    let capability = capability.as_object().map(|c| {
        let text = ["cp", "cpk", "pp", "ppk"]
            .iter()
            .filter_map(|k| c.get(*k).and_then(Value::as_f64).map(|v| format!("{} {:.2}", k.to_uppercase(), v)))
            .collect::<Vec<_>>()
            .join(" · ");
        view! { <p class="muted">{text}</p> }
    });
    view! { {views}{capability} }.into_any()
}

fn table(result: &Value, dims: &[String], pick: Pick) -> AnyView {
    let columns = texts(&result["columns"]);
    let rows = texts(&result["rows"]);
    let dim_count = dims.len();
    view! {
        <div class="table-wrap"><table class="table">
            <thead><tr>{columns.iter().map(|c| view! { <th>{c["name"].as_str().unwrap_or_default().to_owned()}</th> }).collect_view()}</tr></thead>
            <tbody>
                {rows.iter().map(|row| {
                    let cells = texts(row);
                    let mut p = Map::new();
                    for (i, d) in dims.iter().enumerate().take(dim_count) {
                        p.insert(d.clone(), cells.get(i).cloned().unwrap_or(Value::Null));
                    }
                    view! {
                        <tr class="clickable mark" data-test="chart-mark" on:click=move |_| pick.run(p.clone())>
                            {cells.iter().map(|c| view! { <td>{match c { Value::Number(n) => n.as_f64().map(label).unwrap_or_default(), other => shown(other) }}</td> }).collect_view()}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table></div>
    }
    .into_any()
}
