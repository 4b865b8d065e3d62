//! From the aggregated rows (one per group, as SQL returns them) to the report's result:
//! sorted, cumulative shares filled in, limited, and shaped for the chart kind.

use std::cmp::Ordering;

use serde_json::{Value, json};

use super::control::is_hidden;
use super::plan::{Aggregate, Column, Plan};
use super::spec::ChartKind;

/// One group: its dimension values (as text; None when records have no value) and its
/// measures (None when undefined, e.g. an average of nothing).
#[derive(Clone, Debug, PartialEq)]
pub struct ResultRow {
    pub dimensions: Vec<Option<String>>,
    pub measures: Vec<Option<f64>>,
}

fn compare_options<T: PartialOrd>(a: &Option<T>, b: &Option<T>) -> Ordering {
    // Groups without a value come last, whatever the direction.
    match (a, b) {
        (Some(a), Some(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// Sorts (the plan's order, then every dimension ascending so the order is total), computes
/// cumulative shares over all groups, and applies the limit.
pub fn finish(plan: &Plan, mut rows: Vec<ResultRow>) -> Vec<ResultRow> {
    let mut order = plan.sort.clone();
    for i in 0..plan.dimensions.len() {
        if !order.iter().any(|(c, _)| *c == Column::Dimension(i)) {
            order.push((Column::Dimension(i), false));
        }
    }
    let top = plan.top().map(|(dimension, _, _)| dimension);
    rows.sort_by(|a, b| {
        // The folded "others" group closes a top-N, whatever the order.
        if let Some(i) = top {
            let others = |row: &ResultRow| row.dimensions[i].as_deref() == Some(super::plan::OTHERS);
            match (others(a), others(b)) {
                (true, false) => return Ordering::Greater,
                (false, true) => return Ordering::Less,
                _ => {}
            }
        }
        for (column, descending) in &order {
            let ordering = match column {
                Column::Dimension(i) => {
                    let (x, y) = (&a.dimensions[*i], &b.dimensions[*i]);
                    directed(compare_options(x, y), *descending, x.is_none() || y.is_none())
                }
                Column::Measure(i) => {
                    let (x, y) = (&a.measures[*i], &b.measures[*i]);
                    directed(compare_options(x, y), *descending, x.is_none() || y.is_none())
                }
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    for (index, measure) in plan.measures.iter().enumerate() {
        if let Aggregate::CumulativeShare { of } = measure.aggregate {
            let total: f64 = rows.iter().filter_map(|r| r.measures[of]).sum();
            let mut running = 0.0;
            for row in &mut rows {
                running += row.measures[of].unwrap_or(0.0);
                row.measures[index] = (total != 0.0).then(|| running / total);
            }
        }
    }
    if let Some(limit) = plan.limit {
        rows.truncate(limit as usize);
    }
    rows
}

/// Keeps missing values last in both directions.
fn directed(ordering: Ordering, descending: bool, has_none: bool) -> Ordering {
    if descending && !has_none { ordering.reverse() } else { ordering }
}

fn number(value: Option<f64>) -> Value {
    value.map_or(Value::Null, |v| json!(v))
}

/// Distinct values of dimension `i` in row order.
fn distinct(rows: &[ResultRow], i: usize) -> Vec<Option<String>> {
    let mut seen: Vec<Option<String>> = Vec::new();
    for row in rows {
        if !seen.contains(&row.dimensions[i]) {
            seen.push(row.dimensions[i].clone());
        }
    }
    seen
}

/// The result: columns, rows and, for a chart, its chart-ready form.
pub fn shape(plan: &Plan, rows: &[ResultRow]) -> Value {
    // Control charts' hidden subgroup summaries are not columns.
    let shown: Vec<usize> = (0..plan.measures.len()).filter(|i| !is_hidden(&plan.measures[*i].name)).collect();
    let mut columns: Vec<Value> =
        plan.dimensions.iter().map(|d| json!({"name": d.name, "role": "dimension"})).collect();
    columns.extend(shown.iter().map(|i| json!({"name": plan.measures[*i].name, "role": "measure"})));
    let table: Vec<Value> = rows
        .iter()
        .map(|row| {
            let mut cells: Vec<Value> = row.dimensions.iter().map(|d| json!(d)).collect();
            cells.extend(shown.iter().map(|i| number(row.measures[*i])));
            Value::Array(cells)
        })
        .collect();
    let mut result = json!({"columns": columns, "rows": table});
    if let Some(chart) = &plan.chart {
        result["chart"] = chart_data(plan, chart, rows);
    }
    result
}

fn chart_data(plan: &Plan, chart: &super::spec::Chart, rows: &[ResultRow]) -> Value {
    let first = |row: &ResultRow| row.measures.first().copied().flatten();
    let label = |row: &ResultRow| json!(row.dimensions.first().cloned().flatten());
    let series = |rows: &[ResultRow]| -> Vec<Value> {
        plan.measures
            .iter()
            .enumerate()
            .map(|(i, m)| json!({"name": m.name, "data": rows.iter().map(|r| number(r.measures[i])).collect::<Vec<_>>()}))
            .collect()
    };
    let kind = json!(chart.kind);
    match chart.kind {
        ChartKind::XbarR
        | ChartKind::XbarS
        | ChartKind::IMr
        | ChartKind::P
        | ChartKind::Np
        | ChartKind::C
        | ChartKind::U => super::control::shape(plan, chart, rows),
        ChartKind::Kpi | ChartKind::Gauge => {
            let value = rows.first().and_then(first);
            json!({"kind": kind, "value": number(value), "min": chart.min, "max": chart.max, "target": chart.target})
        }
        ChartKind::Bar | ChartKind::Line | ChartKind::Area | ChartKind::Table => json!({
            "kind": kind,
            "categories": rows.iter().map(label).collect::<Vec<_>>(),
            "series": series(rows),
        }),
        ChartKind::Ranking => json!({
            "kind": kind,
            "items": rows.iter().enumerate().map(|(i, r)| {
                let mut item = json!({"rank": i + 1, "label": label(r)});
                for (m, measure) in plan.measures.iter().enumerate() {
                    item[&measure.name] = number(r.measures[m]);
                }
                item
            }).collect::<Vec<_>>(),
        }),
        ChartKind::Pie => {
            let total: f64 = rows.iter().filter_map(first).sum();
            json!({"kind": kind, "slices": rows.iter().map(|r| {
                let value = first(r);
                json!({"label": label(r), "value": number(value), "share": number(value.filter(|_| total != 0.0).map(|v| v / total))})
            }).collect::<Vec<_>>()})
        }
        ChartKind::Pareto => {
            // Bars in descending order of the first measure with the running share as a line.
            let mut sorted: Vec<&ResultRow> = rows.iter().collect();
            sorted.sort_by(|a, b| compare_options(&first(b), &first(a)));
            let total: f64 = sorted.iter().filter_map(|r| first(r)).sum();
            let mut running = 0.0;
            let cumulative: Vec<Value> = sorted
                .iter()
                .map(|r| {
                    running += first(r).unwrap_or(0.0);
                    number((total != 0.0).then(|| running / total))
                })
                .collect();
            json!({
                "kind": kind,
                "categories": sorted.iter().map(|r| label(r)).collect::<Vec<_>>(),
                "bars": sorted.iter().map(|r| number(first(r))).collect::<Vec<_>>(),
                "cumulative": cumulative,
            })
        }
        ChartKind::Funnel => {
            let head = rows.first().and_then(first);
            let mut previous: Option<f64> = None;
            let stages: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let value = first(r);
                    let ratio = |base: Option<f64>| value.zip(base.filter(|b| *b != 0.0)).map(|(v, b)| v / b);
                    let stage = json!({"label": label(r), "value": number(value), "of_previous": number(ratio(previous)), "of_first": number(ratio(head))});
                    previous = value;
                    stage
                })
                .collect();
            json!({"kind": kind, "stages": stages})
        }
        ChartKind::StackedBar | ChartKind::StackedArea | ChartKind::Pivot => {
            let (outer, inner) = (distinct(rows, 0), distinct(rows, 1));
            let cell = |o: &Option<String>, i: &Option<String>| {
                rows.iter().find(|r| &r.dimensions[0] == o && &r.dimensions[1] == i).and_then(first)
            };
            if chart.kind == ChartKind::Pivot {
                json!({
                    "kind": kind,
                    "measure": plan.measures.first().map(|m| m.name.clone()),
                    "rows": outer, "columns": inner,
                    "cells": outer.iter().map(|o| inner.iter().map(|i| number(cell(o, i))).collect::<Vec<_>>()).collect::<Vec<_>>(),
                })
            } else {
                json!({
                    "kind": kind,
                    "categories": outer,
                    "series": inner.iter().map(|i| json!({
                        "name": i,
                        "data": outer.iter().map(|o| json!(cell(o, i).unwrap_or(0.0))).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            }
        }
    }
}
